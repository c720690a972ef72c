// The backup command's --exclude-file, --files-from, --exclude-caches and --one-file-system through the
// built engine: what lands in the recovery point, what the result names, and the coded refusals of bad
// lists (nothing is written to the vault then). The one-file-system case mounts a real tmpfs (root), a
// file system AzBackup refuses: with --one-file-system it is left as an empty folder, without it skipped.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CACHEDIR_SIGNATURE } from '../../core/backup/scanner.js';
import { onlyError, resultOf } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

async function pathsIn(fx: VaultFixture, point: string): Promise<string[]> {
  const ls = await fx.az(['ls', point, '--recurse']);
  expect(ls.code, ls.stdout).toBe(0);
  return ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path'])).sort();
}

function write(root: string, files: Record<string, string>): void {
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), content);
  }
}

const vaultContent = (fx: VaultFixture) => listTree(fx.vault).filter((f) => !f.includes('/locks/'));

describe('backup --exclude-file / --files-from / --exclude-caches / --one-file-system', () => {
  it('backs up what the lists name, leaves out what the exclude file and the cache tags say, and does not cross a mount', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    write(src, {
      'docs/a.txt': 'a', 'docs/b.tmp': 'b', 'build/cache/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'build/cache/blob': 'cached', 'build/out.bin': 'o',
      'other/not-listed.txt': 'n',
    });
    const mnt = join(src, 'docs', 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'azb-select', mnt]);
    // Registered after the fixture's folder removal, so it runs first (vitest runs these hooks last-in first-out).
    onTestFinished(() => { execFileSync('umount', [mnt]); });
    writeFileSync(join(mnt, 'elsewhere.txt'), 'on the tmpfs');
    const list = join(fx.root, 'files.txt');
    writeFileSync(list, `# sources\n${src}/docs\n${src}/bu*\n`);
    const excludes = join(fx.root, 'excludes.txt');
    writeFileSync(excludes, '# temporary files\n  *.tmp  \n');
    const run = await fx.az(['backup', '--files-from', list, '--exclude-file', excludes, '--exclude-caches', '--one-file-system']);
    expect(run.code, run.stdout).toBe(0);
    const point = resultOf(run, 'RecoveryPoint');
    expect(point['sources']).toEqual([`${src}/docs`, `${src}/build`]);
    expect(point['otherFileSystems']).toEqual([mnt]);
    const logs = run.events.filter((e) => e.type === 'log').map((e) => String((e as { message?: string }).message));
    expect(logs.some((l) => l.includes('--one-file-system') && l.includes(mnt))).toBe(true);
    expect(logs.some((l) => l.includes('--exclude-caches') && l.includes(`${src}/build/cache`))).toBe(true);
    expect(await pathsIn(fx, String(point['pointId']))).toEqual([
      `${src}/build`, `${src}/build/cache`, `${src}/build/cache/CACHEDIR.TAG`, `${src}/build/out.bin`, `${src}/docs`, `${src}/docs/a.txt`, mnt,
    ]);
    // Without the options the same sources are taken whole, but for the tmpfs: a mount AzBackup refuses
    // is never entered, and the backup says so (exit 3, warnings).
    const plain = await fx.az(['backup', '--files-from', list]);
    expect(plain.code, plain.stdout).toBe(3);
    expect(plain.events.filter((e) => e.type === 'warning').map((e) => [(e as { code?: string }).code, (e as { target?: string }).target])).toContainEqual(['AZB_MOUNT_SKIPPED', mnt]);
    expect(resultOf(plain, 'RecoveryPoint')['otherFileSystems']).toBeUndefined();
    const all = await pathsIn(fx, String(resultOf(plain, 'RecoveryPoint')['pointId']));
    expect(all).not.toContain(`${mnt}/elsewhere.txt`);
    expect(all).toContain(`${src}/build/cache/blob`);
    expect(all).toContain(`${src}/docs/b.tmp`);
  });

  it("applies a policy file spec's excludeCaches and oneFileSystem to that spec's path only", async () => {
    const fx = await registeredServer();
    const env = { AZBACKUP_UNIT_ROOT: join(fx.root, 'units'), AZBACKUP_SCHEDULER: 'cron' };
    const strict = join(fx.root, 'strict');
    const loose = join(fx.root, 'loose');
    for (const dir of [strict, loose]) write(dir, { 'cache/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'cache/blob': 'cached', 'keep.txt': 'k' });
    const mnt = join(strict, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'azb-select-policy', mnt]);
    onTestFinished(() => { execFileSync('umount', [mnt]); });
    writeFileSync(join(mnt, 'elsewhere.txt'), 'on the tmpfs');
    const policy = join(fx.root, 'policy.json');
    writeFileSync(policy, JSON.stringify({
      name: 'select', fileSpecs: [{ path: strict, excludeCaches: true, oneFileSystem: true }, { path: loose }],
      schedule: { daysOfWeek: ['Monday'], timesOfDay: ['09:00'], weeklyFrequency: 1 }, retention: { days: 3 },
    }));
    const set = await fx.az(['policy', 'set', policy, '--store-passphrase'], { env });
    expect(set.code, set.stdout).toBe(0);
    expect((resultOf(set, 'Policy')['fileSpecs'] as unknown[])[0]).toEqual({ path: strict, excludeCaches: true, oneFileSystem: true });
    const run = await fx.az(['policy', 'run', 'select'], { env });
    expect(run.code, run.stdout).toBe(0);
    const point = run.events.find((e) => e.type === 'item' && (e as { kind?: string }).kind === 'RecoveryPoint') as { data: Record<string, unknown> } | undefined;
    expect(point?.data['otherFileSystems']).toEqual([mnt]);
    const paths = await pathsIn(fx, String(point?.data['pointId']));
    expect(paths).toContain(`${strict}/cache/CACHEDIR.TAG`);
    expect(paths).not.toContain(`${strict}/cache/blob`);
    expect(paths).toContain(mnt);
    expect(paths).not.toContain(`${mnt}/elsewhere.txt`);
    expect(paths).toContain(`${loose}/cache/blob`);
  });

  it('warns about a list line that matches nothing and backs up the rest (exit 3)', async () => {
    const fx = await registeredServer();
    write(fx.root, { 'src/a.txt': 'a' });
    const list = join(fx.root, 'files.txt');
    writeFileSync(list, `${fx.root}/src\n${fx.root}/gone/*\n`);
    const run = await fx.az(['backup', '--files-from', list]);
    expect(run.code, run.stdout).toBe(3);
    const warnings = run.events.filter((e) => e.type === 'warning') as { code: string; target?: string }[];
    expect(warnings).toEqual([expect.objectContaining({ code: 'AZB_FILES_FROM_NO_MATCH', target: `${list}:2` })]);
    expect(resultOf(run, 'RecoveryPoint')['sources']).toEqual([`${fx.root}/src`]);
  });

  it('refuses bad lists with a code that names the file, and writes nothing', async () => {
    const fx = await registeredServer();
    write(fx.root, { 'src/a.txt': 'a' });
    const src = join(fx.root, 'src');
    const before = vaultContent(fx);

    const missing = join(fx.root, 'no-such-list.txt');
    expect(onlyError(await fx.az(['backup', src, '--exclude-file', missing]))).toMatchObject({ code: 'AZB_FILE_NOT_FOUND', target: missing });
    expect(onlyError(await fx.az(['backup', '--files-from', missing]))).toMatchObject({ code: 'AZB_FILE_NOT_FOUND', target: missing });
    expect(onlyError(await fx.az(['backup', src, '--exclude-file', fx.root]))).toMatchObject({ code: 'AZB_PATH_IS_DIRECTORY', target: fx.root });

    const badGlob = join(fx.root, 'bad-excludes.txt');
    writeFileSync(badGlob, '*.tmp\n\n!keep.me\n');
    const refused = onlyError(await fx.az(['backup', src, '--exclude-file', badGlob]));
    expect(refused).toMatchObject({ code: 'AZB_ARGS_INVALID', target: `${badGlob}:3` });
    expect(refused.message).toContain('line 3');

    const nothing = join(fx.root, 'nothing.txt');
    writeFileSync(nothing, `# none of these exist\n${fx.root}/gone\n${fx.root}/also-gone/*\n`);
    const none = await fx.az(['backup', '--files-from', nothing]);
    expect(onlyError(none)).toMatchObject({ code: 'AZB_SOURCE_NOT_FOUND', target: nothing });
    expect(none.code).not.toBe(0);
    const comments = join(fx.root, 'comments.txt');
    writeFileSync(comments, '# only a comment\n\n');
    expect(onlyError(await fx.az(['backup', '--files-from', comments]))).toMatchObject({ code: 'AZB_SOURCE_NOT_FOUND', target: comments });

    expect(onlyError(await fx.az(['backup', '--stdin', '--files-from', nothing], { stdin: 'x' }))).toMatchObject({ code: 'AZB_ARGS_INVALID' });
    expect(vaultContent(fx)).toEqual(before);
  });
});
