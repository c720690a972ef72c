// Verified restore (FORMAT.md §9, format 2): every file node carries the SHA-256 of its content as read;
// restore and `check --read-data` rebuild files from their chunk lists and compare. Includes the
// reproduction of the large-file defect (chunks hashed from an overwritten buffer) and a recovery point
// rewritten with its chunks out of order.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import type { PointManifest } from '../../core/repo/points.js';
import { decodeTree, encodeTree, type TreeNode } from '../../core/repo/tree.js';
import { fsTime } from '../../core/restore/restorer.js';

const MIB = 1024 * 1024;

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Writes `bytes` of random data in 4 MiB pieces (no 100 MiB buffer at once). */
function writeRandom(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  for (let done = 0; done < bytes;) {
    const piece = randomBytes(Math.min(4 * MIB, bytes - done));
    writeSync(fd, piece);
    done += piece.length;
  }
  closeSync(fd);
}

function warningsOf(run: EngineRun, code: string) {
  return run.events.filter((e) => e.type === 'warning' && e.code === code) as Extract<EngineRun['events'][number], { type: 'warning' }>[];
}

/** Rewrites the newest point with `edit` applied to the file node `name` of its single source folder. */
async function rewritePoint(fx: VaultFixture, name: string, edit: (n: TreeNode) => TreeNode, version: 1 | 2 = 2): Promise<string> {
  const { repo, key, saver } = await craftingPoints(fx);
  const points = await repo.readAllPoints();
  const point = points[points.length - 1]!;
  const roots = decodeTree(await repo.readBlob(Buffer.from(point.manifest.tree, 'hex'), 'tree'));
  const source = roots[0]!;
  const nodes = decodeTree(await repo.readBlob(Buffer.from(source.subtree!, 'hex'), 'tree')).map((n) => (n.name === name ? edit(n) : n));
  const subtree = await saver.save('tree', encodeTree(nodes));
  const root = await saver.save('tree', encodeTree([{ ...source, subtree: subtree.toString('hex') }]));
  await saver.finish(true);
  const manifest: PointManifest = { ...point.manifest, version, time: new Date().toISOString(), tree: root.toString('hex') };
  return repo.savePoint(manifest, key);
}

describe('verified restore', () => {
  it('restores files across every size of the large-file defect bit-identical, times before 1970 included, and check verifies them', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    // A 1.5 MiB file read first leaves the read worker's buffer at an unaligned size (the defect then hit
    // files from ~17 MiB); the sizes are those of the report.
    writeRandom(join(src, 'a-first-1.5m.bin'), 1.5 * MIB);
    for (const s of [20, 31, 33, 40, 64, 100]) writeRandom(join(src, `r${s}.bin`), s * MIB);
    const lines: string[] = [];
    for (let i = 0; i < 2_500_000; i++) lines.push(`line ${i} ${Math.random()}\n`);
    const text = join(src, 'text80.txt');
    const fd = openSync(text, 'w');
    for (let i = 0; i < lines.length; i += 100_000) writeSync(fd, lines.slice(i, i + 100_000).join(''));
    closeSync(fd);
    const old = new Date('1960-05-01T00:00:00.250Z');
    utimesSync(join(src, 'r20.bin'), old, old);
    symlinkSync('r20.bin', join(src, 'old-link'));
    const expected = new Map(readdirSync(src).filter((n) => n !== 'old-link').map((n) => [n, sha256File(join(src, n))]));

    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    const restored = join(target, src);
    for (const [n, sum] of expected) expect(sha256File(join(restored, n)), n).toBe(sum);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ verified: expected.size, unverified: 0, verifyFailed: 0 });
    expect(lstatSync(join(restored, 'r20.bin')).mtime.toISOString()).toBe(old.toISOString());
    expect(lstatSync(join(restored, 'r20.bin')).mtime.getTime()).toBeLessThan(0);

    // A single item is verified too.
    const one = await fx.az(['restore', 'latest', join(src, 'r64.bin'), '--target', join(fx.root, 'one')]);
    expect(one.code, one.stdout).toBe(0);
    expect(sha256File(join(fx.root, 'one', src, 'r64.bin'))).toBe(expected.get('r64.bin'));
    expect(resultOf(one, 'RestoreResult')).toMatchObject({ verified: 1 });

    const c = await fx.az(['check', '--read-data']);
    expect(c.code, c.stdout).toBe(0);
    expect(resultOf(c, 'CheckResult')).toMatchObject({ problems: 0, filesVerified: expected.size, pointsUnverifiable: 0 });
  }, 300_000);

  it('verifies a stream backup (stdin) of 40 MiB across the chunker and pack limits', async () => {
    const fx = await registeredServer();
    const data = Buffer.concat([randomBytes(25 * MIB), Buffer.alloc(7 * MIB), randomBytes(8 * MIB + 3)]);
    const b = await fx.az(['backup', '--stdin', '--stdin-name', 'dump.bin'], { stdin: data });
    expect(b.code, b.stdout).toBe(0);
    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, verified: 1 });
    expect(sha256File(join(target, 'dump.bin'))).toBe(createHash('sha256').update(data).digest('hex'));
  }, 120_000);

  it('refuses to put a file in place when its chunks are out of order in the point, and check --read-data names the point and the file', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeRandom(join(src, 'big.bin'), 5 * MIB); // several chunks of 0.5–8 MiB
    writeRandom(join(src, 'small.bin'), 1000);
    expect((await fx.az(['backup', src])).code).toBe(0);
    let chunks = 0;
    const pointId = await rewritePoint(fx, 'big.bin', (n) => {
      chunks = n.content!.length;
      return { ...n, content: [...n.content!].reverse() };
    });
    expect(chunks).toBeGreaterThan(1);

    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code).toBe(1);
    const err = onlyError(r);
    expect(err.code).toBe('AZB_RESTORE_VERIFY_FAILED');
    expect(err.message).toContain('big.bin');
    expect(warningsOf(r, 'AZB_RESTORE_VERIFY_FAILED').map((w) => w.target)).toEqual([join(target, src, 'big.bin')]);
    // The wrong bytes never land under the file's name (nor in a temp name); the good file does.
    expect(readdirSync(join(target, src))).toEqual(['small.bin']);

    // Overwrite never replaces a good file with wrong bytes.
    const inPlace = await fx.az(['restore', 'latest', '--conflict', 'Overwrite']);
    expect(onlyError(inPlace).code).toBe('AZB_RESTORE_VERIFY_FAILED');

    const cheap = await fx.az(['check']);
    expect(resultOf(cheap, 'CheckResult')['problems']).toBe(0); // lengths still add up: only a rebuild sees it
    const c = await fx.az(['check', '--read-data']);
    expect(c.code).toBe(4); // damage found
    const problems = c.events.filter((e) => e.type === 'item' && e.kind === 'CheckProblem').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ affectedPoints: [pointId], affectedFiles: [`${src}/big.bin`] });
    expect(String(problems[0]!['problem'])).toMatch(/does not rebuild its content/);
  }, 120_000);

  it('finds a chunk list that does not cover the file without reading data, and a format-2 file node without a digest', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeRandom(join(src, 'big.bin'), 3 * MIB);
    writeRandom(join(src, 'other.bin'), 2000);
    expect((await fx.az(['backup', src])).code).toBe(0);
    await rewritePoint(fx, 'big.bin', (n) => ({ ...n, content: n.content!.slice(1) }));
    const dropped = await rewritePoint(fx, 'other.bin', (n) => { const { digest: _, ...rest } = n; return rest; });
    const c = await fx.az(['check']);
    expect(c.code).toBe(4); // damage found
    const problems = c.events.filter((e) => e.type === 'item' && e.kind === 'CheckProblem').map((e) => String((e as { data: Record<string, unknown> }).data['problem']));
    expect(problems.some((p) => /big\.bin: its chunks hold \d+ bytes, its size is 3145728/.test(p))).toBe(true);
    expect(problems.some((p) => /other\.bin: no content digest/.test(p))).toBe(true);
    // Restore of that point: the digest-less file is refused, not restored unverified.
    const r = await fx.az(['restore', dropped, join(src, 'other.bin'), '--target', join(fx.root, 'r')]);
    expect(onlyError(r).code).toBe('AZB_RESTORE_VERIFY_FAILED');
    expect(existsSync(join(fx.root, 'r', src, 'other.bin'))).toBe(false);
  }, 120_000);

  it('restores a format-1 point (no digests) with a warning that it could not be verified; check says so too', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeRandom(join(src, 'a.bin'), 4000);
    expect((await fx.az(['backup', src])).code).toBe(0);
    const v1 = await rewritePoint(fx, 'a.bin', (n) => { const { digest: _, ...rest } = n; return rest; }, 1);
    const r = await fx.az(['restore', v1, '--target', join(fx.root, 'r')]);
    expect(r.code).toBe(3);
    expect(warningsOf(r, 'AZB_RESTORE_UNVERIFIED')).toHaveLength(1);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, verified: 0, unverified: 1 });
    expect(readFileSync(join(fx.root, 'r', src, 'a.bin'))).toEqual(readFileSync(join(src, 'a.bin')));
    const c = await fx.az(['check', '--read-data']);
    expect(warningsOf(c, 'AZB_POINT_UNVERIFIABLE').map((w) => w.target)).toEqual([expect.stringContaining(v1)]);
    expect(resultOf(c, 'CheckResult')).toMatchObject({ problems: 0, pointsUnverifiable: 1, filesVerified: 1 });
  }, 120_000);
});

describe('fsTime', () => {
  it('gives seconds with microseconds as text, before and after 1970', () => {
    expect(fsTime('0')).toBe('0.000000');
    expect(fsTime('1500000000123456789')).toBe('1500000000.123456');
    expect(fsTime('-1')).toBe('-0.000001'); // floor to the microsecond below
    expect(fsTime('-1000')).toBe('-0.000001');
    expect(fsTime('-1500000')).toBe('-0.001500');
    expect(fsTime('-2000000000')).toBe('-2.000000');
    expect(fsTime('-303868800000000000')).toBe('-303868800.000000');
    expect(Number(fsTime('-2500000000'))).toBe(-2.5);
  });
});
