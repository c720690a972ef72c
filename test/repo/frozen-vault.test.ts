// Every build must read the frozen vaults of earlier format versions (test/fixtures/).
import { cpSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultOf, runEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';

/** A copy of test/fixtures/vault-v<version> in a temp folder, and the engine run against it. */
function frozenVault(version: number) {
  const root = tempDir('azb-frozen-');
  const vault = join(root, `vault-v${version}`);
  cpSync(join(import.meta.dirname, '..', 'fixtures', `vault-v${version}`), vault, { recursive: true });
  const env = { AZBACKUP_HOME: join(root, 'home'), AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_PASSPHRASE: `frozen fixture passphrase v${version}` };
  const az = (args: string[]) => runEngine([...args, '--vault', vault, '--server', 'fixture', '--json'], { env });
  return { root, az };
}

describe('frozen vault, format version 1', () => {
  const { root, az } = frozenVault(1);

  it('lists its recovery point and passes a full check', async () => {
    const points = (await az(['points'])).events.filter((e) => e.type === 'item');
    expect(points).toHaveLength(1);
    expect((points[0] as unknown as { data: Record<string, unknown> }).data).toMatchObject({ hostname: 'fixture', tags: ['fixture'], sources: ['/tmp/azb-fixture-src'] });
    const check = await az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    expect(resultOf(check, 'CheckResult')).toMatchObject({ problems: 0, points: 1, pointsUnverifiable: 1, filesVerified: 0 });
    expect(check.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toEqual(['AZB_POINT_UNVERIFIABLE']);
  });

  it('restores its files byte for byte, with names, links and times', async () => {
    const target = join(root, 'restored');
    const r = await az(['restore', 'latest', '--target', target]);
    // Format 1 has no content digests: restored as stored, with a warning that nothing could be verified.
    expect(r.code, r.stdout).toBe(3);
    expect(r.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toEqual(['AZB_RESTORE_UNVERIFIED']);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 3, verified: 0, unverified: 3 });
    const base = join(target, 'tmp', 'azb-fixture-src');
    expect(readFileSync(join(base, 'hello.txt'), 'utf8')).toBe('hello from format version 1\n');
    expect(readFileSync(join(base, 'docs', 'note.md'), 'utf8')).toBe('second\n');
    expect(readFileSync(Buffer.concat([Buffer.from(join(base, 'docs') + '/'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('.txt')])).toString()).toBe('bytes\n');
    expect(readlinkSync(join(base, 'link'))).toBe('hello.txt');
    expect(statSync(join(base, 'hello.txt')).mtime.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});

describe('frozen vault, format version 2', () => {
  const { root, az } = frozenVault(2);

  it('passes a full check that rebuilds and verifies every file', async () => {
    const check = await az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    expect(resultOf(check, 'CheckResult')).toMatchObject({ problems: 0, points: 1, pointsUnverifiable: 0, filesVerified: 5 });
  });

  it('restores and verifies its files byte for byte, with names, links, hard links and times before 1970', async () => {
    const target = join(root, 'restored');
    const r = await az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 6, verified: 5, unverified: 0, verifyFailed: 0 });
    const base = join(target, 'tmp', 'azb-fixture-src-v2');
    expect(readFileSync(join(base, 'hello.txt'), 'utf8')).toBe('hello from format version 2\n');
    expect(readFileSync(join(base, 'docs', 'note.md'), 'utf8')).toBe('second\n');
    expect(readFileSync(Buffer.concat([Buffer.from(join(base, 'docs') + '/'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('.txt')])).toString()).toBe('bytes\n');
    expect(readlinkSync(join(base, 'link'))).toBe('hello.txt');
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`).join('');
    expect(readFileSync(join(base, 'lines.txt'), 'utf8')).toBe(lines);
    expect(statSync(join(base, 'docs', 'lines-link.txt')).ino).toBe(statSync(join(base, 'lines.txt')).ino);
    expect(statSync(join(base, 'hello.txt')).mtime.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(statSync(join(base, 'old.txt')).mtime.toISOString()).toBe('1960-05-01T00:00:00.250Z');
  });
});
