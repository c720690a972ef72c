// Snapshot-consistent reads on a real loop-mounted btrfs (README "Snapshot-consistent reads"): a backup
// with --snapshot required, taken while a process keeps rewriting files, restores one moment; the
// snapshot is removed afterwards, also when the backup is stopped; nested subvolumes are read live with
// a warning; the metadata cache knows the files again from one snapshot to the next.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, startEngine } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';
import { loopMount, subvolume, subvolumes, unmountAll } from './mounts.js';

const FOLDERS = 8;
const FILES = 40;
const BYTES = 16 * 1024;
/** A file that does not change, in the middle of the tree: reading it takes a while, so a live read of the
 * folders after it is later than of those before it (what lets the test tell the two apart). */
const STATIC_BYTES = 64 * 1024 * 1024;

/** The content rewriter.mjs writes to file `i` of folder `f` at generation `g`. */
function content(f: number, i: number, g: number): string {
  const line = `folder ${f} file ${i} generation ${g}\n`;
  return line.repeat(Math.ceil(BYTES / line.length)).slice(0, BYTES);
}

/**
 * What is wrong with a tree of rewriter.mjs files as one moment: a file that is no complete version,
 * or generations that are not g…g, g-1…g-1 in writer order. Empty when it is one moment.
 */
export function momentProblems(root: string): string[] {
  const problems: string[] = [];
  const gens: number[] = [];
  for (let f = 0; f < FOLDERS; f++) {
    for (let i = 0; i < FILES; i++) {
      const path = join(root, `f${f}`, `file-${i}`);
      if (!existsSync(path)) { problems.push(`${path}: missing`); continue; }
      const text = readFileSync(path, 'utf8');
      const g = Number(/^folder \d+ file \d+ generation (\d+)\n/.exec(text)?.[1] ?? NaN);
      if (!(g >= 1) || text !== content(f, i, g)) problems.push(`f${f}/file-${i}: not a complete version`);
      gens.push(g);
    }
  }
  for (let k = 1; k < gens.length; k++) {
    if (gens[k]! > gens[k - 1]!) problems.push(`file ${k} in writer order has generation ${gens[k]} after ${gens[k - 1]}: read at two moments`);
  }
  if (Math.max(...gens) - Math.min(...gens) > 1) problems.push(`generations ${Math.min(...gens)} to ${Math.max(...gens)}: read across more than one round`);
  // All files of a folder carry one generation, but for the one folder the writer was in at that moment.
  const mixed = Array.from({ length: FOLDERS }, (_, f) => new Set(gens.slice(f * FILES, (f + 1) * FILES)).size > 1).filter(Boolean).length;
  if (mixed > 1) problems.push(`${mixed} folders hold files of two generations`);
  return problems;
}

/** Starts rewriter.mjs on `root` and resolves when its first round is written. */
async function startRewriter(root: string, staging: string): Promise<ChildProcess> {
  const ready = join(staging, '..', 'rewriter.ready');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'rewriter.mjs'), root, staging, String(FOLDERS), String(FILES), String(BYTES), ready], { stdio: 'ignore' });
  while (!existsSync(ready)) {
    if (child.exitCode !== null) throw new Error(`rewriter.mjs ended with ${child.exitCode}`);
    await sleep(20);
  }
  return child;
}

async function stopRewriter(child: ChildProcess): Promise<void> {
  const ended = new Promise((r) => child.once('close', r));
  child.kill('SIGTERM');
  await ended;
}

let mnt: string;
beforeAll(() => { mnt = loopMount('btrfs', 600); });
afterAll(() => unmountAll());

/** No snapshot of AzBackup's is left on the file system. */
function expectNoSnapshotLeft(): void {
  expect(subvolumes(mnt).filter((s) => s.includes('azbackup'))).toEqual([]);
  for (const s of subvolumes(mnt)) expect(existsSync(join(mnt, s, '.azbackup-snapshots')), s).toBe(false);
}

describe('btrfs snapshots', () => {
  it('backs up one moment of files that are rewritten all the time, and the cache knows them again from the next snapshot', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'app'));
    const src = join(data, 'tree');
    const writer = await startRewriter(src, join(data, 'staging'));
    writeFileSync(join(src, `f${FOLDERS / 2}`, 'static.bin'), randomBytes(STATIC_BYTES));
    let run;
    try {
      run = await fx.az(['backup', src, '--snapshot', 'required']);
    } finally {
      await stopRewriter(writer);
    }
    expect(run.code, run.stdout.slice(-1500)).toBe(0);
    const point = resultOf(run, 'RecoveryPoint');
    expect(point).toMatchObject({ sources: [src], snapshotMode: 'Required', reads: [{ source: src, method: 'btrfs' }], filesNew: FOLDERS * FILES + 1 });
    expect(run.events.filter((e) => e.type === 'warning')).toEqual([]);
    expectNoSnapshotLeft();

    const target = join(fx.root, 'restored');
    const restored = await fx.az(['restore', 'latest', '--target', target]);
    expect(restored.code, restored.stdout.slice(-800)).toBe(0);
    // The point holds the original paths: the restore lays the files out under the source's path.
    expect(readdirSync(join(target, src)).sort()).toEqual(Array.from({ length: FOLDERS }, (_, f) => `f${f}`).sort());
    expect(momentProblems(join(target, src))).toEqual([]);

    // Two snapshots have two st_dev numbers; the files are the same, and the cache knows it.
    const again = resultOf(await fx.az(['backup', src, '--snapshot', 'required']), 'RecoveryPoint');
    const third = resultOf(await fx.az(['backup', src, '--snapshot', 'required']), 'RecoveryPoint');
    expect(third).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: FOLDERS * FILES + 1, bytesRead: 0 });
    expect(again['filesUnchanged'] as number + (again['filesChanged'] as number)).toBe(FOLDERS * FILES + 1);
    // And a live read of the same files too (the snapshot's entries carry the original's st_dev).
    const live = await fx.az(['backup', src, '--snapshot', 'none']);
    expect(resultOf(live, 'RecoveryPoint')).toMatchObject({ filesUnchanged: FOLDERS * FILES + 1, bytesRead: 0, snapshotMode: 'None', reads: [{ source: src, method: 'live', note: 'snapshot mode None' }] });
    expectNoSnapshotLeft();
  }, 180_000);

  it('snapshots one subvolume once for two sources in it, and reads a nested subvolume live with a warning', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'nest'));
    mkdirSync(join(data, 'a'));
    mkdirSync(join(data, 'b'));
    writeFileSync(join(data, 'a', 'one.txt'), 'one');
    writeFileSync(join(data, 'b', 'two.txt'), 'two');
    subvolume(join(data, 'a', 'inner'));
    writeFileSync(join(data, 'a', 'inner', 'deep.txt'), 'deep');
    const run = await fx.az(['backup', join(data, 'a'), join(data, 'b')]);
    expect(run.code, run.stdout.slice(-1500)).toBe(3);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ snapshotMode: 'Auto', reads: [{ source: join(data, 'a'), method: 'btrfs' }, { source: join(data, 'b'), method: 'btrfs' }], filesNew: 3 });
    const warnings = run.events.filter((e) => e.type === 'warning') as { code: string; target?: string }[];
    expect(warnings.map((w) => [w.code, w.target])).toEqual([['AZB_SNAPSHOT_PARTIAL', join(data, 'a', 'inner')]]);
    expect(run.stdout.match(/btrfs snapshot of the subvolume/g)).toHaveLength(1);
    const target = join(fx.root, 'r');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    expect(readFileSync(join(target, data, 'a', 'inner', 'deep.txt'), 'utf8')).toBe('deep');
    expect(readFileSync(join(target, data, 'b', 'two.txt'), 'utf8')).toBe('two');
    // With --one-file-system the nested subvolume is not crossed: kept empty, no warning.
    const x = await fx.az(['backup', join(data, 'a'), '--one-file-system']);
    expect(x.code, x.stdout.slice(-800)).toBe(0);
    expect(resultOf(x, 'RecoveryPoint')).toMatchObject({ otherFileSystems: [join(data, 'a', 'inner')] });
    expectNoSnapshotLeft();
  }, 120_000);

  it('removes the snapshot when the backup is stopped while it reads (SIGTERM → Cancelled)', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'big'));
    // Enough data that the read is still going when the test has seen it start.
    for (let i = 0; i < 12; i++) writeFileSync(join(data, `blob-${i}.bin`), randomBytes(16 * 1024 * 1024));
    const live = startEngine(['backup', data, '--snapshot', 'required', '--json'], fx.env);
    // The snapshot exists and the read has begun (a progress line of the read phase).
    while (!/"status":"\d+\/\d+ files/.test(live.stdout()) && live.child.exitCode === null) await sleep(10);
    expect(existsSync(join(data, '.azbackup-snapshots'))).toBe(true);
    live.child.kill('SIGTERM');
    const end = await live.done;
    expect(end.code, end.stdout.slice(-800)).toBe(5);
    expect(end.stdout).toContain('AZB_CANCELLED');
    expect(end.stdout).toMatch(/Removed the snapshot/);
    expectNoSnapshotLeft();
  }, 120_000);

  it('makes no snapshot where another account could swap it: a snapshot folder that is a link or not ours, a root others may write', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'guarded'));
    writeFileSync(join(data, 'f.txt'), 'real data');
    const decoy = join(mnt, 'decoy');
    mkdirSync(decoy, { recursive: true });
    const folder = join(data, '.azbackup-snapshots');
    const cases: [string, () => void, RegExp][] = [
      ['a link', () => { symlinkSync(decoy, folder); }, /not AzBackup's snapshot folder \(a link\)/],
      ['another owner', () => { mkdirSync(folder, { mode: 0o700 }); chownSync(folder, 65534, 65534); }, /not AzBackup's snapshot folder \(owned by uid 65534/],
      ['open to all', () => { mkdirSync(folder, { mode: 0o700 }); chmodSync(folder, 0o777); }, /not AzBackup's snapshot folder \(owned by uid 0, mode 777/],
      ['a root others may write', () => { chmodSync(data, 0o777); }, /can be written by other accounts \(mode 777\)/],
    ];
    for (const [what, arrange, said] of cases) {
      arrange();
      try {
        const required = await fx.az(['backup', data, '--snapshot', 'required']);
        const err = onlyError(required);
        expect(err.code, what).toBe('AZB_SNAPSHOT_FAILED');
        expect(err.message, what).toMatch(said);
        // Auto reads live, said with a warning; nothing is read from the decoy.
        const auto = await fx.az(['backup', data]);
        expect(auto.code, what).toBe(3);
        expect(resultOf(auto, 'RecoveryPoint')['reads'], what).toEqual([expect.objectContaining({ source: data, method: 'live' })]);
      } finally {
        rmSync(folder, { recursive: true, force: true });
        chmodSync(data, 0o755);
      }
    }
    expect(readdirSync(decoy)).toEqual([]);
  }, 120_000);

  it('backs up a file source from the snapshot of its subvolume', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'onefile'));
    mkdirSync(join(data, 'etc'));
    const file = join(data, 'etc', 'app.conf');
    writeFileSync(file, 'setting = 1\n');
    const run = await fx.az(['backup', file, '--snapshot', 'required']);
    expect(run.code, run.stdout.slice(-800)).toBe(0);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ sources: [file], reads: [{ source: file, method: 'btrfs' }], filesNew: 1 });
    const target = join(fx.root, 'r');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    expect(readFileSync(join(target, file), 'utf8')).toBe('setting = 1\n');
    expectNoSnapshotLeft();
  }, 60_000);

  it('refuses --read-from that names no source, --read-from with --snapshot none, a bad mode, and required for a stream', async () => {
    const fx = await registeredServer();
    const data = subvolume(join(mnt, 'args'));
    writeFileSync(join(data, 'f'), 'x');
    const stray = await fx.az(['backup', data, '--read-from', `/elsewhere=${data}`]);
    expect(onlyError(stray)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'readFrom' });
    const none = await fx.az(['backup', data, '--snapshot', 'none', '--read-from', `${data}=${data}`]);
    expect(onlyError(none)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'readFrom' });
    const bad = await fx.az(['backup', data, '--snapshot', 'sometimes']);
    expect(onlyError(bad).code).toBe('AZB_USAGE');
    const stream = await fx.az(['backup', '--stdin', '--stdin-name', 'x.sql', '--snapshot', 'required'], { stdin: 'data' });
    expect(onlyError(stream)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'snapshot' });
  }, 60_000);
});
