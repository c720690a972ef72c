// A user who can write the folder a restore (as root) writes into races it: between the restore's look
// at a name and its use of it, they rename another file into its place (what a renameat2 exchange loop
// does). node:fs's openSync and lstatSync are wrapped so the rename happens at that exact moment, every
// run: the restore must notice that the file it opened or wrote is not the one it looked at.
import { createHash, randomBytes } from 'node:crypto';
import * as realFs from 'node:fs';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConflictAction } from '../../core/restore/restorer.js';

/** Called before each openSync / lstatSync of the restore with the path (latin1) and the open flags. */
const hook: { open?: (path: string, flags: number) => void; lstat?: (path: string) => void } = {};
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const name = (p: unknown) => (Buffer.isBuffer(p) ? p.toString('latin1') : String(p));
  const openSync = ((p: realFs.PathLike, flags?: realFs.OpenMode, mode?: realFs.Mode) => { hook.open?.(name(p), typeof flags === 'number' ? flags : 0); return fs.openSync(p, flags ?? 'r', mode); }) as typeof fs.openSync;
  const lstatSync = ((p: realFs.PathLike, o?: realFs.StatSyncOptions) => { hook.lstat?.(name(p)); return fs.lstatSync(p, o); }) as typeof fs.lstatSync;
  return { ...fs, default: { ...fs, openSync, lstatSync }, openSync, lstatSync };
});

const { runBackup } = await import('../../core/backup/archiver.js');
const { JsonSink } = await import('../../core/protocol/events.js');
const { partialName, runRestore } = await import('../../core/restore/restorer.js');
const { memoryServer } = await import('../helpers/memory-server.js');
const { tempDir } = await import('../helpers/tmp.js');

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const C = realFs.constants;
const isRoot = process.getuid?.() === 0;

async function backedUp(files: Record<string, Buffer>) {
  const fx = await memoryServer();
  const root = tempDir();
  const src = join(root, 'src');
  mkdirSync(src);
  for (const [n, d] of Object.entries(files)) writeFileSync(join(src, n), d, { mode: 0o644 });
  mkdirSync(join(root, 'cache'));
  const pointId = (await runBackup(fx.repo, { sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: fx.privateKey, tags: [], signal: new AbortController().signal, sink: new JsonSink(() => undefined) })).pointId;
  await fx.repo.loadIndex();
  const warnings: { code: string; target?: string }[] = [];
  const restore = async (target: string, conflict: ConflictAction = 'CreateCopy') =>
    runRestore(fx.repo, { point: await fx.repo.readPoint(pointId), items: [], target, conflict, signal: new AbortController().signal, sink: new JsonSink((line) => { const e = JSON.parse(line) as { type: string; code: string; target?: string }; if (e.type === 'warning') warnings.push(e); }) });
  return { src, restore, warnings };
}

afterEach(() => { hook.open = undefined; hook.lstat = undefined; });

describe('a restore raced by a user who can write its folder', () => {
  it.runIf(isRoot)('a copy of a file renamed in after its lstat is not taken for the restored file', async () => {
    const v = randomBytes(50_000);
    const { src, restore } = await backedUp({ 'victim.txt': v });
    const target = tempDir();
    await restore(target);
    const dir = join(target, src);
    const victim = join(dir, 'victim.txt');
    const before = statSync(victim);
    // The same bytes, mode and time, owned by the user.
    const copy = join(dir, 'mine');
    writeFileSync(copy, v, { mode: before.mode & 0o7777 });
    chownSync(copy, 4321, 4321);
    utimesSync(copy, before.atime, before.mtime);
    let raced = false;
    hook.open = (p, flags) => {
      if (raced || !p.endsWith('/victim.txt') || (flags & C.O_WRONLY) !== 0) return;
      raced = true;
      renameSync(victim, join(dir, 'away'));
      renameSync(copy, victim);
    };
    const again = await restore(target, 'OverwriteIfChanged');
    expect(raced).toBe(true);
    expect(again.unchanged).toBe(0);
    expect(lstatSync(victim).uid).toBe(before.uid);
    expect(sha(readFileSync(victim))).toBe(sha(v));
  });

  it('a partial file swapped for another after it was checked is not resumed: each file gets its own bytes', async () => {
    const f = randomBytes(12 * MIB);
    const g = randomBytes(12 * MIB);
    const { src, restore } = await backedUp({ 'f.bin': f, 'g.bin': g });
    const target = tempDir();
    const dir = join(target, src);
    mkdirSync(dir, { recursive: true });
    const pf = join(dir, partialName(Buffer.from('f.bin'), sha(f)).toString());
    const pg = join(dir, partialName(Buffer.from('g.bin'), sha(g)).toString());
    writeFileSync(pf, f.subarray(0, 7 * MIB), { mode: 0o600 });
    writeFileSync(pg, g.subarray(0, 7 * MIB), { mode: 0o600 });
    let raced = false;
    // When the writer reopens a partial file to resume it, the two have just been exchanged.
    hook.open = (p, flags) => {
      if (raced || (flags & C.O_WRONLY) === 0 || (flags & C.O_CREAT) !== 0 || !p.includes('.azb-partial-')) return;
      raced = true;
      renameSync(pf, `${pf}.x`);
      renameSync(pg, pf);
      renameSync(`${pf}.x`, pg);
    };
    const stats = await restore(target);
    expect(raced).toBe(true);
    expect(stats.verified).toBe(2);
    expect(sha(readFileSync(join(dir, 'f.bin')))).toBe(sha(f));
    expect(sha(readFileSync(join(dir, 'g.bin')))).toBe(sha(g));
  });

  it('one partial file moved between two partial names while they are looked at is resumed by neither', async () => {
    const a = randomBytes(MIB);
    const b = randomBytes(20 * MIB);
    const { src, restore } = await backedUp({ 'a.bin': a, 'b.bin': b });
    const target = tempDir();
    const dir = join(target, src);
    mkdirSync(dir, { recursive: true });
    const pa = join(dir, partialName(Buffer.from('a.bin'), sha(a)).toString());
    const pb = join(dir, partialName(Buffer.from('b.bin'), sha(b)).toString());
    // A root-owned, owner-only file with one name (a partial file left by a cut-off restore, or any
    // restored 0600 file), which the user moves to whichever partial name the restore looks at or opens.
    writeFileSync(pa, randomBytes(1000), { mode: 0o600 });
    let at = pa;
    const moveTo = (to: string) => { if (at !== to) { renameSync(at, to); at = to; } };
    const which = (p: string) => [pa, pb].find((q) => p.endsWith(q.slice(q.lastIndexOf('/'))));
    hook.lstat = (p) => { const n = which(p); if (n) moveTo(n); };
    hook.open = (p, flags) => { const n = which(p); if (n && (flags & C.O_WRONLY) !== 0 && (flags & C.O_CREAT) === 0) moveTo(n); };
    const stats = await restore(target);
    hook.lstat = undefined;
    hook.open = undefined;
    expect(stats.verified).toBe(2);
    expect(sha(readFileSync(join(dir, 'a.bin')))).toBe(sha(a));
    expect(sha(readFileSync(join(dir, 'b.bin')))).toBe(sha(b));
    expect(statSync(at).size).toBe(1000); // left as it was
  });

  it('a folder put at the name of a file being written fails that file only', async () => {
    const f = randomBytes(2 * MIB);
    const files: Record<string, Buffer> = { 'f.bin': f };
    for (let i = 0; i < 5; i++) files[`z${i}.txt`] = randomBytes(1000);
    const { src, restore, warnings } = await backedUp(files);
    const target = tempDir();
    const dir = join(target, src);
    mkdirSync(dir, { recursive: true });
    const pf = partialName(Buffer.from('f.bin'), sha(f)).toString();
    let looks = 0;
    // The second look at its partial name is the check just before the rename.
    hook.lstat = (p) => { if (p.endsWith(`/${pf}`) && ++looks === 2) mkdirSync(join(dir, 'f.bin')); };
    const stats = await restore(target);
    expect(looks).toBe(2);
    expect(stats.files).toBe(5);
    expect(lstatSync(join(dir, 'f.bin')).isDirectory()).toBe(true);
    expect(warnings.find((w) => w.code === 'AZB_RESTORE_UNSAFE_ENTRY')?.target).toContain('f.bin');
    expect(existsSync(join(dir, pf))).toBe(false); // its partial file is not left behind
  });

  it('a file written, then replaced under its temporary name before the rename, is not put in place', async () => {
    const f = randomBytes(2 * MIB);
    const { src, restore, warnings } = await backedUp({ 'f.bin': f, 'other.txt': Buffer.from('other') });
    const target = tempDir();
    const dir = join(target, src);
    mkdirSync(dir, { recursive: true });
    const pf = join(dir, partialName(Buffer.from('f.bin'), sha(f)).toString());
    const planted = join(dir, 'planted');
    writeFileSync(planted, 'the user\'s bytes');
    let looks = 0;
    // The first lstat of the partial name is the restore's look for a partial file to resume; the next is
    // its check before the rename, just after the user renamed their own file over it.
    hook.lstat = (p) => {
      if (!p.endsWith(pf.slice(pf.lastIndexOf('/')))) return;
      if (++looks === 2) renameSync(planted, pf);
    };
    const stats = await restore(target);
    expect(looks).toBe(2);
    expect(existsSync(join(dir, 'f.bin'))).toBe(false);
    expect(readFileSync(pf, 'utf8')).toBe('the user\'s bytes');
    expect(stats.files).toBe(1);
    expect(warnings.map((w) => w.code)).toContain('AZB_RESTORE_UNSAFE_ENTRY');
  });
});
