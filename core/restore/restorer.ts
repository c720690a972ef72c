// Restore: recovery point → trees → blobs (verified against their IDs) → files written with positional
// writes. Never writes outside the target: names from the point are checked, and nothing below the
// target root is reached through a symbolic link, even when the recovery point is hostile or damaged.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants as FS, fchmodSync, fchownSync, ftruncateSync, futimesSync, lstatSync, openSync, renameSync, unlinkSync, writeSync, type BigIntStats, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, mkdir, open, rename, symlink, unlink, utimes, lutimes } from 'node:fs/promises';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import type { RecoveryPoint, ServerRepo } from '../repo/server.js';
import { decodeTree, displayName, isSafeEntryName, nodeNameBytes, nodeTargetBytes, type TreeNode } from '../repo/tree.js';
import { forEachLimit } from '../repo/server.js';
import { BlobFetcher } from './blob-fetcher.js';
import { makeDirs } from '../fs/make-dirs.js';

/** What to do when the destination already exists (MARS default: CreateCopy). */
export type ConflictAction = 'Overwrite' | 'Skip' | 'CreateCopy';

/** What to restore and where. */
export interface RestoreOptions {
  point: RecoveryPoint;
  /** Alternate location; undefined restores to the original location. */
  target?: string;
  /** Paths inside the point ("/data/docs/a.txt"); empty restores the whole point. */
  items: string[];
  conflict: ConflictAction;
  signal: AbortSignal;
  sink: EventSink;
}

/** Counters of a restore. */
/**
 * Counters of a restore. `verified`: files whose restored bytes matched their digest (FORMAT.md §9);
 * `unverified`: files of format-1 points, which carry no digest; `verifyFailed`: files whose bytes did
 * not match and were therefore not put in place.
 */
export interface RestoreStats { files: number; dirs: number; symlinks: number; bytes: number; skipped: number; copies: number; verified: number; unverified: number; verifyFailed: number; durationMs: number }

/**
 * A time for Node's utimes family, in seconds with microseconds, from nanoseconds since the epoch.
 * A decimal string, because Node turns a negative number (a time before 1970) into "now".
 */
export function fsTime(mtimeNs: string): string {
  const ns = BigInt(mtimeNs);
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  const us = floorDiv(ns, 1000n);
  const sec = floorDiv(us, 1_000_000n);
  const frac = us - sec * 1_000_000n; // 0 … 999 999
  if (sec >= 0n || frac === 0n) return `${sec}.${frac.toString().padStart(6, '0')}`;
  return `-${-sec - 1n}.${(1_000_000n - frac).toString().padStart(6, '0')}`;
}

const SLASH = 0x2f;
const ZERO_BLOCK = 4096;
/** Files written at once. */
const FILES_IN_FLIGHT = 8;

function bytesJoin(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === SLASH ? Buffer.concat([dir, name]) : Buffer.concat([dir, Buffer.from('/'), name]);
}

/** Splits a point path into components (empty components and "." dropped). */
export function splitPointPath(path: string): Buffer[] {
  // On Windows "\" separates too; on Linux it is an ordinary character of a name.
  return (process.platform === 'win32' ? path.replace(/\\/g, '/') : path).split('/').filter((c) => c !== '' && c !== '.').map((c) => Buffer.from(c, 'utf8'));
}

/** The node at a point path, with the root-relative components leading to it; throws AZB_ITEM_NOT_FOUND. */
export async function resolveItem(repo: ServerRepo, point: RecoveryPoint, item: string): Promise<{ node: TreeNode; components: Buffer[] }> {
  const want = splitPointPath(item);
  const roots = decodeTree(await repo.readBlob(Buffer.from(point.manifest.tree, 'hex'), 'tree'));
  for (const root of roots) {
    const rootParts = splitPointPath(displayNameOf(root));
    if (rootParts.length > want.length || !rootParts.every((p, i) => p.equals(want[i]!))) continue;
    let node = root;
    // The components as the point has them: a name given in its \xNN form is restored with its bytes.
    const components = want.slice(0, rootParts.length);
    for (let i = rootParts.length; i < want.length; i++) {
      if (node.type !== 'dir' || !node.subtree) { node = undefined as unknown as TreeNode; break; }
      const children = decodeTree(await repo.readBlob(Buffer.from(node.subtree, 'hex'), 'tree'));
      // By its bytes, or as `ls` shows a name that is not UTF-8 (bytes as \xNN): what a user can type.
      const next = children.find((c) => nodeNameBytes(c).equals(want[i]!)) ?? children.find((c) => c.name === undefined && displayName(c) === want[i]!.toString('utf8'));
      if (!next) { node = undefined as unknown as TreeNode; break; }
      node = next;
      components.push(nodeNameBytes(next));
    }
    if (node) return { node, components };
  }
  throw new AzbError('AZB_ITEM_NOT_FOUND', `'${item}' is not in recovery point ${point.id.slice(0, 12)}….`, {
    target: item, hint: "List the point's items with 'azbackup ls' / Get-AzRecoverableItem.",
  });
}

function displayNameOf(n: TreeNode): string {
  return n.name ?? nodeNameBytes(n).toString('utf8');
}

/** Restores items of a recovery point. The caller has loaded the index (ServerRepo.loadIndexForReading). */
export async function runRestore(repo: ServerRepo, opts: RestoreOptions): Promise<RestoreStats> {
  const started = Date.now();
  const { sink, signal } = opts;
  const stats: RestoreStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, copies: 0, verified: 0, unverified: 0, verifyFailed: 0, durationMs: 0 };
  // Format 2 points carry a digest on every file node; one that lacks it there is damage, not age.
  const digestsRequired = opts.point.manifest.version >= 2;
  const verifyFailures: string[] = [];
  const isRoot = process.platform !== 'win32' && process.getuid?.() === 0;
  const hardlinks = new Map<string, Buffer>(); // hard-link key → the path written for it
  const writerOf = new Map<string, { path: Buffer; node: TreeNode }>(); // key → the job that writes it
  const dirMeta: { path: Buffer; node: TreeNode }[] = [];
  const fileJobs: { path: Buffer; node: TreeNode }[] = [];
  let total = 0;

  const fetcher = new BlobFetcher(repo);
  const targetRoot = opts.target !== undefined ? Buffer.from(opts.target, 'utf8') : undefined;
  if (targetRoot) await ensureTargetWritable(opts.target!);

  const warnUnsafe = (where: string, why: string) => {
    stats.skipped++;
    sink.warning('AZB_RESTORE_UNSAFE_ENTRY', `Not restored: ${where} (${why}).`, where);
  };

  // Makes sure `dir` is a real directory (never a symlink) and creates it when missing.
  async function realDir(dir: Buffer, node?: TreeNode): Promise<boolean> {
    let st: BigIntStats | undefined;
    try { st = await lstat(dir, { bigint: true }); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(err, dir); }
    if (!st) {
      try { await mkdir(dir, { mode: 0o700 }); } catch (err) { throw writeError(err, dir); }
      stats.dirs++;
      if (node) dirMeta.push({ path: dir, node });
      return true;
    }
    if (!st.isDirectory()) return false;
    // A folder that is already there keeps its owner, mode and times unless Overwrite was asked for:
    // Skip and CreateCopy leave existing items alone (an admin may have tightened its permissions).
    if (node && opts.conflict === 'Overwrite') dirMeta.push({ path: dir, node });
    return true;
  }

  // Walks a node into `dest` (whose parent directory is already verified).
  async function visit(node: TreeNode, dest: Buffer): Promise<void> {
    if (signal.aborted) throw cancelled();
    if (node.type === 'dir') {
      if (!(await realDir(dest, node))) return warnUnsafe(dest.toString('utf8'), 'a non-directory is in the way');
      const children = node.subtree ? decodeTree(await repo.readBlob(Buffer.from(node.subtree, 'hex'), 'tree')) : [];
      const seen = new Set<string>();
      for (const c of children) {
        const name = nodeNameBytes(c);
        const key = name.toString('hex');
        if (!isSafeEntryName(name)) { warnUnsafe(`${dest.toString('utf8')}/${displayName(c)}`, 'unsafe name'); continue; }
        if (seen.has(key)) { warnUnsafe(`${dest.toString('utf8')}/${displayName(c)}`, 'duplicate name'); continue; }
        seen.add(key);
        await visit(c, bytesJoin(dest, name));
      }
    } else if (node.type === 'file') {
      fileJobs.push({ path: dest, node });
      total += node.size ?? 0;
    } else {
      await restoreSymlink(node, dest);
    }
  }

  async function restoreSymlink(node: TreeNode, dest: Buffer): Promise<void> {
    const final = await resolveConflict(dest);
    if (!final) return;
    const tmp = tempName(final);
    try {
      await symlink(nodeTargetBytes(node), tmp);
      if (isRoot && node.uid !== undefined) await lchown(tmp, node.uid, node.gid ?? 0).catch(() => undefined);
      const t = fsTime(node.mtimeNs);
      await lutimes(tmp, t, t).catch(() => undefined);
      await rename(tmp, final);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw writeError(err, final);
    }
    stats.symlinks++;
  }

  // Decides the final name for an entry that may already exist; undefined means skip it.
  async function resolveConflict(dest: Buffer): Promise<Buffer | undefined> {
    let existing: Stats | undefined;
    try { existing = lstatSync(dest); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(err, dest); }
    if (!existing) return dest;
    if (opts.conflict === 'Overwrite') {
      // Overwrite replaces files and links, never a whole directory that sits where a file was.
      if (!existing.isDirectory()) return dest;
      stats.skipped++;
      sink.warning('AZB_RESTORE_TYPE_CONFLICT', `Not restored: ${dest.toString('utf8')} (a directory is in the way; Overwrite replaces files and links only).`, dest.toString('utf8'));
      return undefined;
    }
    if (opts.conflict === 'Skip') { stats.skipped++; return undefined; }
    for (let n = 1; ; n++) {
      const candidate = copyName(dest, n);
      try { await lstat(candidate); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') { stats.copies++; return candidate; }
        throw writeError(err, candidate);
      }
    }
  }

  let bytesDone = 0;
  let lastProgress = 0;
  async function restoreFile(job: { path: Buffer; node: TreeNode }): Promise<void> {
    if (signal.aborted) throw cancelled();
    const { node } = job;
    // Another name of a hard-linked file: linked to the name written for it. When none was (a conflict
    // said Skip, or it was damaged), this one is written instead if it carries the content (FORMAT.md §9);
    // in points older than that rule only the first name does.
    if (node.hardlink && writerOf.get(node.hardlink) !== job && (hardlinks.has(node.hardlink) || !node.content)) {
      if (!hardlinks.has(node.hardlink)) {
        stats.skipped++;
        sink.warning('AZB_RESTORE_LINK_SKIPPED', `Not restored: ${job.path.toString('utf8')} is a hard link to a file that was not restored.`, job.path.toString('utf8'));
        return;
      }
      const final = await resolveConflict(job.path);
      if (!final) return;
      if (final.equals(job.path) && opts.conflict === 'Overwrite') await unlink(final).catch(() => undefined);
      try { await link(hardlinks.get(node.hardlink)!, final); } catch (err) { throw writeError(err, final); }
      stats.files++;
      return;
    }
    const final = await resolveConflict(job.path);
    if (!final) return;
    const tmp = tempName(final);
    // File system calls here are synchronous on purpose: they hit the page cache, and each async call
    // costs more in promise overhead than the work (ten thousand files made that the restore's cost).
    // O_NOFOLLOW|O_EXCL: the temp name is new and never a link; rename() then replaces the final name itself.
    let fd: number;
    try {
      fd = openSync(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | (FS.O_NOFOLLOW ?? 0), 0o600);
    } catch (err) {
      throw writeError(err, tmp);
    }
    let ok = false;
    const digest = node.digest !== undefined || digestsRequired ? createHash('sha256') : undefined;
    try {
      let pos = 0;
      const ids = node.content ?? [];
      // One blob ahead: the next read and decrypt overlap with this write.
      const fetch = (i: number) => { const p = fetcher.blob(ids[i]!); p.catch(() => undefined); return p; };
      let next = ids.length > 0 ? fetch(0) : undefined;
      for (let i = 0; i < ids.length; i++) {
        if (signal.aborted) throw cancelled();
        const chunk = await next!;
        next = i + 1 < ids.length ? fetch(i + 1) : undefined;
        digest?.update(chunk);
        if (node.sparse) writeSparse(fd, chunk, pos); else writeAll(fd, chunk, pos);
        pos += chunk.length;
        bytesDone += chunk.length;
        if (Date.now() - lastProgress > 250) {
          lastProgress = Date.now();
          sink.progress('Restore', `${stats.files}/${fileJobs.length} files, ${bytesDone}/${total} bytes`, total > 0 ? Math.min(99, (bytesDone / total) * 100) : 0, final.toString('utf8'));
        }
      }
      if (pos !== (node.size ?? 0)) {
        throw new AzbError('AZB_OBJECT_DAMAGED', `${final.toString('utf8')}: the recovery point has ${pos} bytes for a file of ${node.size} bytes.`, { target: final.toString('utf8'), hint: "Run 'azbackup check --read-data'." });
      }
      // The bytes written must be the bytes backed up: a wrong chunk list (content, order, a chunk
      // missing) is caught here, and the file is never put in place under its name.
      if (digest) {
        const got = digest.digest('hex');
        if (got !== node.digest) {
          throw new AzbError('AZB_RESTORE_VERIFY_FAILED', node.digest === undefined
            ? `${final.toString('utf8')}: the recovery point has no content digest for this file, so its bytes cannot be verified; it was not restored.`
            : `${final.toString('utf8')}: the restored bytes do not match the file's digest in the recovery point (SHA-256 ${got.slice(0, 12)}…, expected ${node.digest.slice(0, 12)}…); it was not restored.`, {
            target: final.toString('utf8'), hint: "Run 'azbackup check --read-data' and restore the file from another recovery point.",
          });
        }
      }
      if (node.sparse) ftruncateSync(fd, pos); // holes at the end are not written
      if (isRoot && node.uid !== undefined) fchownSync(fd, node.uid, node.gid ?? 0);
      fchmodSync(fd, node.mode & 0o7777);
      const t = fsTime(node.mtimeNs);
      futimesSync(fd, t, t);
      ok = true;
    } catch (err) {
      if (err instanceof AzbError) throw err;
      throw writeError(err, final);
    } finally {
      closeSync(fd);
      if (!ok) { try { unlinkSync(tmp); } catch { /* already gone */ } }
    }
    try { renameSync(tmp, final); } catch (err) { try { unlinkSync(tmp); } catch { /* already gone */ } throw writeError(err, final); }
    if (node.hardlink) hardlinks.set(node.hardlink, final);
    stats.files++;
    stats.bytes += node.size ?? 0;
    if (digest) stats.verified++; else stats.unverified++;
  }

  const items = opts.items.length > 0 ? opts.items : [];
  const selected: { node: TreeNode; components: Buffer[] }[] = [];
  if (items.length === 0) {
    for (const root of decodeTree(await repo.readBlob(Buffer.from(opts.point.manifest.tree, 'hex'), 'tree'))) {
      selected.push({ node: root, components: splitPointPath(displayNameOf(root)) });
    }
  } else {
    // An item inside another selected item (or given twice) would be restored twice: keep the outermost.
    const parts = [...new Set(items.map((i) => splitPointPath(i).map((c) => c.toString('hex')).join('/')))].sort();
    const outer = parts.filter((p, i) => !parts.slice(0, i).some((q) => p.startsWith(q + '/')));
    const keep = items.filter((i, n) => {
      const key = splitPointPath(i).map((c) => c.toString('hex')).join('/');
      return outer.includes(key) && items.findIndex((j) => splitPointPath(j).map((c) => c.toString('hex')).join('/') === key) === n;
    });
    for (const item of keep) selected.push(await resolveItem(repo, opts.point, item));
  }

  for (const { node, components } of selected) {
    if (components.length === 0 && node.type === 'dir') {
      // A backup of "/" itself: its content goes into the target (or back into "/").
      await visit(node, targetRoot ?? Buffer.from('/'));
      continue;
    }
    if (components.length === 0 || !components.every(isSafeEntryName)) { warnUnsafe(components.map((c) => c.toString('utf8')).join('/'), 'unsafe path'); continue; }
    // Original location: the parent path is the admin's own path and is created as needed.
    // Alternate location: every component below the target must be a real directory.
    let parent: Buffer;
    if (targetRoot) {
      parent = targetRoot;
      let safe = true;
      for (const c of components.slice(0, -1)) {
        parent = bytesJoin(parent, c);
        if (!(await realDir(parent))) { safe = false; break; }
      }
      if (!safe) { warnUnsafe(parent.toString('utf8'), 'a non-directory or link is in the way'); continue; }
    } else {
      parent = Buffer.from(process.platform === 'win32' ? '' : '/');
      for (const c of components.slice(0, -1)) parent = bytesJoin(parent, c);
      try { await makeDirs(parent); } catch (err) { throw writeError(err, parent); }
    }
    await visit(node, bytesJoin(parent, components[components.length - 1]!));
  }

  // Hard links: one name per key is written (the first with content), every other name of that key is
  // linked to it afterwards. Points since FORMAT.md §9's change carry the content on every name, so any
  // one of them can be restored alone; older ones only on the first.
  const firsts: { path: Buffer; node: TreeNode }[] = [];
  const links: { path: Buffer; node: TreeNode }[] = [];
  for (const j of fileJobs) {
    const key = j.node.hardlink;
    if (key === undefined) { firsts.push(j); continue; }
    if (j.node.content && !writerOf.has(key)) { writerOf.set(key, j); firsts.push(j); } else links.push(j);
  }
  // Plan the reads (segments per pack), and restore files in the order their data lies in the packs,
  // so a segment is read once and its blobs are used while it is in memory.
  fetcher.plan(firsts.flatMap((j) => j.node.content ?? []));
  const where = new Map(firsts.map((j) => {
    const id = j.node.content?.[0];
    const loc = id ? repo.index.get(Buffer.from(id, 'hex')) : undefined;
    return [j, loc ? `${loc.packId}:${String(loc.offset).padStart(12, '0')}` : ''] as const;
  }));
  firsts.sort((a, b) => (where.get(a)! < where.get(b)! ? -1 : where.get(a)! > where.get(b)! ? 1 : 0));
  // A damaged file is reported and skipped; the rest of the restore goes on.
  const restoreOrReport = async (job: { path: Buffer; node: TreeNode }) => {
    try {
      await restoreFile(job);
    } catch (err) {
      if (err instanceof AzbError && err.code === 'AZB_RESTORE_VERIFY_FAILED') {
        stats.skipped++;
        stats.verifyFailed++;
        verifyFailures.push(job.path.toString('utf8'));
        sink.warning('AZB_RESTORE_VERIFY_FAILED', err.message, job.path.toString('utf8'));
        return;
      }
      if (!(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      stats.skipped++;
      sink.warning('AZB_RESTORE_FILE_DAMAGED', `Not restored: ${job.path.toString('utf8')}: ${err.message}`, job.path.toString('utf8'));
    }
  };
  await forEachLimit(firsts, FILES_IN_FLIGHT, restoreOrReport);
  for (const j of links) await restoreOrReport(j);

  // Directory times and modes last (children change a directory's mtime), deepest first.
  for (const { path, node } of dirMeta.reverse()) {
    try {
      if (isRoot && node.uid !== undefined) await lchown(path, node.uid, node.gid ?? 0);
      await chmod(path, node.mode & 0o7777);
      const t = fsTime(node.mtimeNs);
      await utimes(path, t, t);
    } catch (err) {
      sink.warning('AZB_RESTORE_METADATA', `Could not set owner, mode or time of ${path.toString('utf8')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path.toString('utf8'));
    }
  }
  stats.durationMs = Date.now() - started;
  if (stats.unverified > 0) {
    sink.warning('AZB_RESTORE_UNVERIFIED', `${stats.unverified} file(s) come from recovery point ${opts.point.id.slice(0, 12)}…, written before format 2: it holds no content digests, so their bytes could not be verified. Points written since then are verified.`, opts.point.id);
  }
  if (verifyFailures.length > 0) {
    throw new AzbError('AZB_RESTORE_VERIFY_FAILED', `${verifyFailures.length} file(s) failed verification and were not restored: ${verifyFailures.slice(0, 5).join(', ')}${verifyFailures.length > 5 ? ', …' : ''}. The other ${stats.files} file(s) were restored and verified.`, {
      target: verifyFailures[0], hint: "Run 'azbackup check --read-data' to see which recovery points are affected, and restore these files from another point.",
    });
  }
  sink.progress('Restore', 'Done', 100);
  return stats;
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, position + off);
}

// Writes only the non-zero 4 KiB blocks, so holes stay holes (the final truncate sets the size).
function writeSparse(fd: number, data: Buffer, position: number): void {
  let runStart = -1;
  for (let off = 0; off < data.length; off += ZERO_BLOCK) {
    const end = Math.min(off + ZERO_BLOCK, data.length);
    const zero = isZero(data, off, end);
    if (!zero && runStart < 0) runStart = off;
    if (zero && runStart >= 0) { writeAll(fd, data.subarray(runStart, off), position + runStart); runStart = -1; }
  }
  if (runStart >= 0) writeAll(fd, data.subarray(runStart), position + runStart);
}

function isZero(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

// Temp names: one random part per process and a counter (O_EXCL still refuses a name that exists),
// instead of a call into the random generator for each of thousands of files.
const tempRun = randomBytes(6).toString('hex');
let tempCount = 0;
function tempName(final: Buffer): Buffer {
  const slash = final.lastIndexOf(SLASH);
  return Buffer.concat([final.subarray(0, slash + 1), Buffer.from(`.azb-restore-${tempRun}-${(tempCount++).toString(36)}-`), final.subarray(slash + 1, slash + 1 + 100)]);
}

/** "report.txt" → "report (1).txt"; names without a dot get " (1)" appended. */
export function copyName(dest: Buffer, n: number): Buffer {
  const slash = dest.lastIndexOf(SLASH);
  const dir = dest.subarray(0, slash + 1);
  const name = dest.subarray(slash + 1);
  const dot = name.lastIndexOf(0x2e);
  const stem = dot > 0 ? name.subarray(0, dot) : name;
  const ext = dot > 0 ? name.subarray(dot) : Buffer.alloc(0);
  return Buffer.concat([dir, stem, Buffer.from(` (${n})`), ext]);
}

function cancelled(): AzbError {
  return new AzbError('AZB_CANCELLED', 'The restore was cancelled; files restored so far are complete, the rest were not written.', { hint: 'Run the restore again with -Conflict Skip to finish it.' });
}

function writeError(err: unknown, path: Buffer): AzbError {
  if (err instanceof AzbError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `Cannot write ${path.toString('utf8')}: ${code}.`, { target: path.toString('utf8'), hint: 'Restore to a location this account can write, or run with more rights.' });
  }
  return new AzbError('AZB_IO', `Cannot write ${path.toString('utf8')}: ${code ?? (err as Error).message}.`, { target: path.toString('utf8') });
}

async function ensureTargetWritable(target: string): Promise<void> {
  try {
    await makeDirs(target);
    const probe = `${target}/.azb-write-test-${randomBytes(4).toString('hex')}`;
    const fh = await open(probe, 'wx');
    await fh.close();
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `The restore target ${target} is a file (or lies below one), not a folder.`, { target, hint: 'Give a folder to restore into.' });
    }
    throw new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `The restore target ${target} is not writable: ${code ?? (err as Error).message}.`, {
      target, hint: 'Give a folder this account can create files in.',
    });
  }
}
