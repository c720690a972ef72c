// Partial files (FORMAT.md §9): a file is written under `.azb-partial-<digest16>-<name>` until it is
// complete and verified, and a restore run again resumes a partial file it left, after checking its
// prefix chunk by chunk. What is found under that name may also be somebody else's: a restore as root
// into a folder a user can write must then neither trust it, nor follow it, nor block on it, nor remove
// it; the file is written under a temp name instead. And a file "already there" must be the backed-up
// file, mode and owner included, not a user's copy of its bytes. (Races: partial-races.test.ts.)
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../core/backup/archiver.js';
import { JsonSink } from '../../core/protocol/events.js';
import type { TreeNode } from '../../core/repo/tree.js';
import type { ServerRepo } from '../../core/repo/server.js';
import { partialName, runRestore, type RestoreStats } from '../../core/restore/restorer.js';
import { readTree } from '../../core/restore/tree-reader.js';
import { memoryServer } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const isRoot = process.getuid?.() === 0;

let repo: ServerRepo;
let src: string;
let pointId: string;
const big = randomBytes(12 * MIB);
const shared = randomBytes(300 * 1024);
// Two names that differ only after their first 100 bytes, holding the same bytes (the same digest).
const longA = `${'l'.repeat(110)}-a.bin`;
const longB = `${'l'.repeat(110)}-b.bin`;
let bigNode: TreeNode;
/** Pack bytes a full restore reads. */
let fullRead = 0;

/** Pack bytes read from the vault from now on (a counter to read later). */
function countPackBytes(): { bytes: number } {
  const store = repo.vault.store;
  const counter = { bytes: 0 };
  const realGet = store.get.bind(store);
  store.get = async (name, range) => {
    const data = await realGet(name, range);
    if (name.includes('/packs/')) counter.bytes += data.length;
    return data;
  };
  return counter;
}

async function restore(target: string, conflict: 'CreateCopy' | 'OverwriteIfChanged' | 'Overwrite' = 'CreateCopy'): Promise<{ stats: RestoreStats; read: number }> {
  const store = repo.vault.store;
  const realGet = store.get;
  const counter = countPackBytes();
  try {
    const stats = await runRestore(repo, { point: await repo.readPoint(pointId), items: [], target, conflict, signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
    return { stats, read: counter.bytes };
  } finally {
    store.get = realGet;
  }
}

async function findNode(treeId: string, name: string): Promise<TreeNode | undefined> {
  for (const n of await readTree(repo, treeId)) {
    if (n.name === name) return n;
    if (n.subtree) { const found = await findNode(n.subtree, name); if (found) return found; }
  }
  return undefined;
}

/** Where the restore puts the source folder's files under `target`, made ready for planting. */
function restoredDir(target: string): string {
  const dir = join(target, src);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const partialOf = (name: string, data: Buffer) => partialName(Buffer.from(name), sha(data)).toString();

/** Bytes of the chunks of big.bin that lie wholly within its first `n` bytes. */
function wholeChunkBytes(n: number): number {
  let at = 0;
  for (const id of bigNode.content ?? []) {
    const len = repo.index.get(Buffer.from(id, 'hex'))!.rawLength;
    if (at + len > n) break;
    at += len;
  }
  return at;
}

/** Every file restored with its bytes, and no partial or temp file left but those in `foreign`. */
function expectAllRestored(dir: string, foreign: string[] = []): void {
  expect(sha(readFileSync(join(dir, 'big.bin')))).toBe(sha(big));
  expect(sha(readFileSync(join(dir, longA)))).toBe(sha(shared));
  expect(sha(readFileSync(join(dir, longB)))).toBe(sha(shared));
  expect(readdirSync(dir).filter((n) => n.startsWith('.azb-')).sort()).toEqual(foreign.slice().sort());
}

beforeAll(async () => {
  const fx = await memoryServer();
  repo = fx.repo;
  const root = tempDir();
  src = join(root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'big.bin'), big);
  writeFileSync(join(src, longA), shared);
  writeFileSync(join(src, longB), shared);
  mkdirSync(join(root, 'cache'));
  pointId = (await runBackup(repo, { sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: fx.privateKey, tags: [], signal: new AbortController().signal, sink: new JsonSink(() => undefined) })).pointId;
  await repo.loadIndex();
  bigNode = (await findNode((await repo.readPoint(pointId)).manifest.tree, 'big.bin'))!;
  expect(bigNode.content!.length).toBeGreaterThanOrEqual(4); // several chunks, so a prefix can be part of them
  const full = await restore(tempDir());
  fullRead = full.read;
  expect(fullRead).toBeGreaterThan(12 * MIB);
}, 120_000);

describe('partial names', () => {
  it('keep a name of up to 83 bytes whole, and give names that differ only further on names of their own', () => {
    const digest = sha(shared);
    expect(partialName(Buffer.from('big.bin'), digest).toString()).toBe(`.azb-partial-${digest.slice(0, 16)}-big.bin`);
    const a = partialName(Buffer.from(longA), digest);
    const b = partialName(Buffer.from(longB), digest);
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(`.azb-partial-${digest.slice(0, 16)}-`.length + 100);
    expect(partialName(Buffer.from('n'.repeat(255)), digest).length).toBeLessThanOrEqual(255);
    expect(a.toString()).toMatch(/^\.azb-partial-[0-9a-f]{16}-l{83}~[0-9a-f]{16}$/);
    // 83 bytes are kept whole, 84 are hashed: a hashed form (100 bytes) is never a name kept whole, so a
    // name made to look like another's hashed form still gets a partial name of its own.
    expect(partialName(Buffer.from('y'.repeat(83)), digest).toString()).toBe(`.azb-partial-${digest.slice(0, 16)}-${'y'.repeat(83)}`);
    expect(partialName(Buffer.from('y'.repeat(84)), digest).toString()).toMatch(/^\.azb-partial-[0-9a-f]{16}-y{83}~[0-9a-f]{16}$/);
    const lookalike = a.subarray(`.azb-partial-${digest.slice(0, 16)}-`.length);
    expect(partialName(lookalike, digest).equals(a)).toBe(false);
  });
});

describe('resuming a partial file', () => {
  it('keeps the whole chunks of a good prefix and reads only the rest', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    writeFileSync(join(dir, partialOf('big.bin', big)), big.subarray(0, 7 * MIB), { mode: 0o600 });
    const kept = wholeChunkBytes(7 * MIB);
    expect(kept).toBeGreaterThan(MIB);
    const { stats, read } = await restore(target);
    expectAllRestored(dir);
    expect(stats.verified).toBe(3);
    // The kept chunks are not read again (the same pack segment, begun later; its header read alone).
    expect(read).toBeLessThanOrEqual(fullRead - kept + 64 * 1024);
    expect(read).toBeGreaterThanOrEqual(fullRead - kept - 64 * 1024);
  });

  it('keeps the chunks before one that differs and writes the rest from the vault', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const prefix = Buffer.from(big.subarray(0, 7 * MIB));
    const firstChunk = wholeChunkBytes(1);
    const firstLen = repo.index.get(Buffer.from(bigNode.content![0]!, 'hex'))!.rawLength;
    expect(firstChunk).toBe(0);
    prefix.writeUInt8(prefix.readUInt8(firstLen + 10) ^ 0xff, firstLen + 10); // in the second chunk
    writeFileSync(join(dir, partialOf('big.bin', big)), prefix, { mode: 0o600 });
    const { read } = await restore(target);
    expectAllRestored(dir);
    expect(read).toBeGreaterThanOrEqual(fullRead - firstLen - 64 * 1024);
    expect(read).toBeLessThanOrEqual(fullRead - firstLen + 64 * 1024);
  });

  it('does not trust or remove a file others could read or write under the partial name: the file is read whole', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const name = join(dir, partialOf('big.bin', big));
    writeFileSync(name, big.subarray(0, 7 * MIB));
    chmodSync(name, 0o644);
    const { read } = await restore(target);
    expectAllRestored(dir, [partialOf('big.bin', big)]);
    expect(sha(readFileSync(name))).toBe(sha(big.subarray(0, 7 * MIB)));
    expect(read).toBeGreaterThanOrEqual(fullRead - 64 * 1024);
  });

  it('leaves a folder under the partial name alone and restores the file beside it', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    mkdirSync(join(dir, partialOf(longA, shared)));
    const { stats } = await restore(target);
    expectAllRestored(dir, [partialOf(longA, shared)]);
    expect(stats.verified).toBe(3);
  });

  it('does not write through a partial name that is a hard link: the other name keeps its bytes', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const elsewhere = join(target, 'victim');
    writeFileSync(elsewhere, big.subarray(0, 7 * MIB), { mode: 0o600 });
    linkSync(elsewhere, join(dir, partialOf('big.bin', big)));
    const { read } = await restore(target);
    expectAllRestored(dir, [partialOf('big.bin', big)]);
    expect(sha(readFileSync(elsewhere))).toBe(sha(big.subarray(0, 7 * MIB)));
    expect(statSync(elsewhere).nlink).toBe(2);
    expect(read).toBeGreaterThanOrEqual(fullRead - 64 * 1024);
  });

  it('does not follow a partial name that is a symbolic link: the file it points to is untouched', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const elsewhere = join(target, 'victim');
    writeFileSync(elsewhere, 'not yours', { mode: 0o600 });
    symlinkSync(elsewhere, join(dir, partialOf('big.bin', big)));
    await restore(target);
    expectAllRestored(dir, [partialOf('big.bin', big)]);
    expect(readFileSync(elsewhere, 'utf8')).toBe('not yours');
  });

  it('is not stopped by a FIFO under the partial name (an open would wait for a writer)', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    execFileSync('mkfifo', ['-m', '600', join(dir, partialOf('big.bin', big))]);
    await restore(target);
    expectAllRestored(dir, [partialOf('big.bin', big)]);
    expect(lstatSync(join(dir, partialOf('big.bin', big))).isFIFO()).toBe(true);
  });

  it('resumes each of two names that differ only after 100 bytes from its own partial file', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const a = join(dir, partialOf(longA, shared));
    const b = join(dir, partialOf(longB, shared));
    expect(a).not.toBe(b);
    writeFileSync(a, shared.subarray(0, 200 * 1024), { mode: 0o600 });
    writeFileSync(b, shared.subarray(0, 100 * 1024), { mode: 0o600 });
    const { stats } = await restore(target);
    expectAllRestored(dir);
    expect(stats.verified).toBe(3);
  });
});

describe('names in the point that look like partial names', () => {
  it('a point file named like the partial name of another is restored, and so is the other, each with its own bytes', async () => {
    // A folder backed up after a restore was cut off there holds partial files of its own.
    const fx = await memoryServer();
    const root = tempDir();
    const folder = join(root, 'src');
    mkdirSync(folder);
    const f = randomBytes(3 * MIB);
    const lookalike = partialOf('f.bin', f);
    writeFileSync(join(folder, 'f.bin'), f);
    writeFileSync(join(folder, lookalike), 'a file of its own\n');
    mkdirSync(join(root, 'cache'));
    const point = (await runBackup(fx.repo, { sources: [folder], excludes: [], cacheDir: join(root, 'cache'), signingKey: fx.privateKey, tags: [], signal: new AbortController().signal, sink: new JsonSink(() => undefined) })).pointId;
    await fx.repo.loadIndex();
    const target = tempDir();
    const stats = await runRestore(fx.repo, { point: await fx.repo.readPoint(point), items: [], target, conflict: 'CreateCopy', signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
    expect(stats.verified).toBe(2);
    expect(sha(readFileSync(join(target, folder, 'f.bin')))).toBe(sha(f));
    expect(readFileSync(join(target, folder, lookalike), 'utf8')).toBe('a file of its own\n');
  });

  it('restoring one file leaves an unrelated file under its partial name as it was', async () => {
    const target = tempDir();
    const dir = restoredDir(target);
    const other = join(dir, partialOf('big.bin', big));
    writeFileSync(other, 'not a partial file', { mode: 0o644 });
    const stats = await runRestore(repo, { point: await repo.readPoint(pointId), items: [join(src, 'big.bin')], target, conflict: 'CreateCopy', signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
    expect(stats.verified).toBe(1);
    expect(readFileSync(other, 'utf8')).toBe('not a partial file');
    expect(sha(readFileSync(join(dir, 'big.bin')))).toBe(sha(big));
  });
});

describe('a file already there', () => {
  it('is left as it is only with the backed-up mode: a copy with the same bytes and another mode is replaced', async () => {
    const target = tempDir();
    await restore(target);
    const dir = join(target, src);
    const mode = lstatSync(join(dir, 'big.bin')).mode & 0o7777;
    chmodSync(join(dir, longA), 0o666);
    const again = await restore(target, 'OverwriteIfChanged');
    expect(again.stats.unchanged).toBe(2);
    expect(again.stats.files).toBe(1);
    expect(lstatSync(join(dir, longA)).mode & 0o7777).toBe(mode);
    expect(sha(readFileSync(join(dir, longA)))).toBe(sha(shared));
    // Under CreateCopy it is a file that differs, so it stays and the backed-up one is put beside it.
    chmodSync(join(dir, longB), 0o640);
    const copy = await restore(target, 'CreateCopy');
    expect(copy.stats.unchanged).toBe(2);
    expect(copy.stats.copies).toBe(1);
  });

  it.runIf(isRoot)('is left as it is only with the backed-up owner when restored by root', async () => {
    const target = tempDir();
    await restore(target);
    const dir = join(target, src);
    const owner = lstatSync(join(dir, longA));
    chownSync(join(dir, longA), 4321, 4321);
    const again = await restore(target, 'OverwriteIfChanged');
    expect(again.stats.unchanged).toBe(2);
    const after = lstatSync(join(dir, longA));
    expect([after.uid, after.gid]).toEqual([owner.uid, owner.gid]);
    expect(sha(readFileSync(join(dir, longA)))).toBe(sha(shared));
  });
});
