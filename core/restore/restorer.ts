// Restore: recovery point → trees → blobs (verified against their IDs) → files written with positional
// writes. Never writes outside the target: names from the point are checked, and nothing is reached
// through a symbolic link restore did not create. Folders are walked by handle (dir-handle.ts), so a
// hostile or damaged point, or a local user swapping folders for links while root restores their home,
// cannot make restore write, chmod or chown anything outside the tree.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { chmodSync, closeSync, constants as FS, fchmodSync, fchownSync, fstatSync, ftruncateSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, open as openCb, openSync, readSync, rename as renameCb, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, write as writeCb, writeSync, type BigIntStats, type Stats } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import type { RecoveryPoint, ServerRepo } from '../repo/server.js';
import { displayBytes, displayName, isSafeEntryName, nodeNameBytes, nodeTargetBytes, type TreeNode } from '../repo/tree.js';
import { forEachLimit } from '../repo/server.js';
import { BlobFetcher } from './blob-fetcher.js';
import { findTool, writeXattrs, XATTR_NODE_LIMIT, type XattrWrite } from '../fs/xattr.js';
import { makeDirs } from '../fs/make-dirs.js';
import { plannedNames, rootPlacement, windowsName } from '../fs/winpath.js';
import { BY_HANDLE, DirChangedError, DirHandles, joinPath, linkInTheWay, type DirHandle } from './dir-handle.js';
import { isTreeDamaged, readTree } from './tree-reader.js';
import { checkRestoreSpace } from './space.js';

/** What to do when the destination already exists (MARS default: CreateCopy). */
/**
 * What to do with an item that exists already. A file whose content is the backed-up content (same size
 * and modification time, and the same digest) is left as it is under CreateCopy and OverwriteIfChanged:
 * no "name (1)" copy of an identical file. OverwriteIfChanged replaces the files that differ.
 */
export type ConflictAction = 'Overwrite' | 'OverwriteIfChanged' | 'Skip' | 'CreateCopy';

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
  /** Keep the setuid and setgid bits of files. Otherwise they are cleared: a restored copy must not hand out privileges. */
  preserveSetuid?: boolean;
  /** Restore even when the destination has less free space than the files need (--ignore-free-space, -Force). */
  ignoreFreeSpace?: boolean;
  /** Set security.selinux labels from the point too (FORMAT.md §9); off, they are left to the system's policy. */
  restoreSelinuxLabels?: boolean;
  /** Tests only: runs after the files are written and before the folders' metadata pass. */
  beforeFolderMetadata?: () => Promise<void>;
}

/**
 * Counters of a restore. `verified`: files whose restored bytes matched their digest (FORMAT.md §9);
 * `unverified`: files of format-1 points, which carry no digest; `verifyFailed`: files whose bytes did
 * not match and were therefore not put in place.
 */
export interface RestoreStats {
  files: number; dirs: number; symlinks: number; bytes: number; skipped: number; copies: number; verified: number; unverified: number; verifyFailed: number; durationMs: number;
  /** Files already there with the backed-up content, left as they were. */
  unchanged: number;
  /** Distinct packs the restore read from the vault (data and trees): what a partial restore had to fetch. */
  packsRead: number;
}

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
const SETUID_SETGID = 0o6000;
/** O_PATH (Linux): a handle to the entry itself, a link included, that reads nothing. Node has no constant. */
const O_PATH = 0o10000000;
/** Entries given extended attributes by one setfattr (their folders stay open meanwhile). */
const XATTR_BATCH = 64;

/**
 * The attributes of a node that this restore sets, checked (a damaged or hostile tree may hold
 * anything): a string naming what is wrong, or the entries with counts of those left out.
 */
export function xattrsToSet(node: TreeNode, o: { isRoot: boolean; selinux: boolean }): string | { entries: { name: Buffer; value: Buffer }[]; privileged: number; selinux: number } {
  const list = node.xattrs as unknown;
  if (!Array.isArray(list)) return 'the extended attributes are not a list';
  const entries: { name: Buffer; value: Buffer }[] = [];
  let privileged = 0;
  let selinux = 0;
  let bytes = 0;
  const seen = new Set<string>();
  for (const x of list as unknown[]) {
    const e = x as { name?: unknown; nameB64?: unknown; value?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.value !== 'string' || (typeof e.name !== 'string' && typeof e.nameB64 !== 'string')) return 'an extended attribute is malformed';
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : Buffer.from(e.nameB64 as string, 'base64');
    const value = Buffer.from(e.value, 'base64');
    if (value.toString('base64') !== e.value) return 'an extended attribute value is not base64';
    if (name.length === 0 || name.length > 255 || name.includes(0) || !name.includes(0x2e)) return 'an extended attribute name is malformed';
    if (seen.has(name.toString('hex'))) return 'an extended attribute name appears twice';
    seen.add(name.toString('hex'));
    bytes += name.length + value.length;
    if (bytes > XATTR_NODE_LIMIT) return `the extended attributes exceed ${XATTR_NODE_LIMIT} bytes`;
    const text = name.toString('latin1');
    if (text === 'security.selinux' && !o.selinux) { selinux++; continue; }
    if (!o.isRoot && (text.startsWith('trusted.') || text.startsWith('security.'))) { privileged++; continue; }
    if (node.type === 'symlink' && text.startsWith('user.')) continue; // Linux allows none on links
    entries.push({ name, value });
  }
  return { entries, privileged, selinux };
}

/**
 * An entry to give extended attributes: a folder (its own handle), or a file or link `name` in `dir`
 * that restore `made` (device and inode, taken on the handle it wrote or right after it made the link).
 */
interface XattrJob { dir: DirHandle; name?: Buffer; node: TreeNode; made?: { dev: bigint; ino: bigint } }

/**
 * Sets the extended attributes of restored entries in batches; reports what it could not set, once each.
 * Each entry is reached by a handle this process holds (/proc/<pid>/fd/<fd>, which the kernel resolves
 * to that very inode): a file or link that a local user renamed away, or replaced by their own, after
 * restore put it in place is never given the point's attributes (a file capability, say).
 */
async function restoreXattrs(jobs: XattrJob[], o: { isRoot: boolean; selinux: boolean; sink: EventSink }): Promise<void> {
  if (jobs.length === 0) return;
  const { sink } = o;
  const setfattr = findTool('setfattr');
  if (!setfattr) {
    const why = process.platform === 'linux' ? 'setfattr is not installed (Debian package attr)' : 'they are set on Linux only';
    sink.warning('AZB_XATTR_TOOLS_MISSING', `${jobs.length} restored entr${jobs.length === 1 ? 'y has' : 'ies have'} extended attributes in the recovery point that were not restored: ${why}.`, 'setfattr');
    return;
  }
  const failures: string[] = [];
  let privileged = 0;
  let privilegedEntries = 0;
  let selinux = 0;
  for (let i = 0; i < jobs.length; i += XATTR_BATCH) {
    const batch = jobs.slice(i, i + XATTR_BATCH);
    const held: DirHandle[] = [];
    const opened: number[] = [];
    const writable: { path: Buffer; shown: string; mode: number }[] = [];
    try {
      const writes: XattrWrite[] = [];
      for (const { dir, name, node, made } of batch) {
        const shown = showPath(name === undefined ? dir.path : dir.shown(name));
        const plan = xattrsToSet(node, o);
        if (typeof plan === 'string') { failures.push(`${shown}: ${plan}`); continue; }
        privileged += plan.privileged;
        if (plan.privileged > 0) privilegedEntries++;
        selinux += plan.selinux;
        if (plan.entries.length === 0) continue;
        let path: Buffer;
        try {
          dir.acquire();
          held.push(dir);
          if (!BY_HANDLE) {
            path = name === undefined ? dir.path : dir.at(name); // not hardened, as the rest of this fallback
          } else if (name === undefined) {
            path = Buffer.from(`/proc/${process.pid}/fd/${dir.handle()!}`);
          } else {
            const fd = openSync(dir.at(name), O_PATH | (FS.O_NOFOLLOW ?? 0));
            opened.push(fd);
            const st = fstatSync(fd, { bigint: true });
            if (!made || st.dev !== made.dev || st.ino !== made.ino) { failures.push(`${shown}: it was replaced while the restore ran; its attributes were not set`); continue; }
            path = Buffer.from(`/proc/${process.pid}/fd/${fd}`);
          }
          // Not root: user.* needs write permission, which the entry's final mode may not give its
          // owner (0444); it gets it for the moment of the write (its mode is put back right after).
          if (!o.isRoot && BY_HANDLE && node.type !== 'symlink' && plan.entries.some((e) => e.name.toString('latin1').startsWith('user.'))) {
            const mode = Number(statSync(path).mode) & 0o7777;
            if ((mode & 0o200) === 0) { chmodSync(path, mode | 0o200); writable.push({ path, shown, mode }); }
          }
        } catch (err) {
          failures.push(`${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          continue;
        }
        writes.push({ path, shown, entries: plan.entries });
      }
      // By handle, the /proc link is followed to the entry itself; by path, the last link is not.
      failures.push(...await writeXattrs(setfattr, writes, { followLast: BY_HANDLE }));
    } finally {
      for (const { path, shown, mode } of writable) { try { chmodSync(path, mode); } catch (err) { failures.push(`${shown}: its mode could not be put back (${(err as NodeJS.ErrnoException).code})`); } }
      for (const fd of opened) closeSync(fd);
      for (const d of held) d.release();
    }
  }
  if (privileged > 0) {
    sink.warning('AZB_RESTORE_XATTR_SKIPPED', `${privileged} extended attribute(s) of ${privilegedEntries} entr${privilegedEntries === 1 ? 'y' : 'ies'} (trusted.*, security.*: file capabilities and the like) were not restored: setting them needs root.`, String(privileged));
  }
  if (selinux > 0) sink.log(`${selinux} SELinux label(s) (security.selinux) were left to the system's policy; restore with --restore-selinux-labels (-RestoreSELinuxLabel) to set them from the recovery point.`);
  if (failures.length > 0) {
    sink.warning('AZB_RESTORE_XATTR_FAILED', `The extended attributes of ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} could not all be restored: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; ...' : ''}`, failures[0]);
  }
}

/** Splits a point path into components (empty components and "." dropped). */
export function splitPointPath(path: string, platform: NodeJS.Platform = process.platform): Buffer[] {
  // On Windows "\" separates too, and a drive letter is recorded upper case (FORMAT.md §9, "Windows
  // paths"), so c:\data finds C:/data; on Linux "\" is an ordinary character of a name.
  return (platform === 'win32' ? path.replace(/\\/g, '/').replace(/^[a-z]:(?=\/|$)/, (d) => d.toUpperCase()) : path).split('/').filter((c) => c !== '' && c !== '.').map((c) => Buffer.from(c, 'utf8'));
}

/** A path for messages: every name as `ls` shows it (control characters and bytes that are not UTF-8 as \xNN). */
export function showPath(path: Buffer): string {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) { parts.push(displayBytes(path.subarray(start, i))); start = i + 1; }
  }
  return parts.join('/');
}

/**
 * What "already there" compares besides the content: the mode (`modes`, not on Windows, whose modes
 * are not the point's), and the owner (`owners`: a restore as root, the only one that sets owners).
 */
interface MetaCheck { modes: boolean; owners: boolean; preserveSetuid: boolean }

/** The permission bits a restored file gets: the point's, without setuid/setgid unless kept. */
function restoredMode(node: TreeNode, preserveSetuid: boolean): number {
  const mode = node.mode & 0o7777;
  return preserveSetuid ? mode : mode & ~SETUID_SETGID;
}

/**
 * Whether the regular file `name` in `dir` (in use) is the file node `node` restored: the same size
 * and modification time (to within the microsecond restore sets), mode and owner (MetaCheck), and the
 * same digest, read without following a link. A node without a digest (format 1) can never be shown to
 * match. `st`: its lstat (existingEntry), undefined when there is none.
 */
function holdsContent(dir: DirHandle, name: Buffer, node: TreeNode, st: BigIntStats | undefined, meta: MetaCheck): boolean {
  if (node.digest === undefined || st === undefined || !looksRestored(st, node, meta)) return false;
  let fd: number;
  // O_NONBLOCK: a FIFO put in its place since the lstat would otherwise block the restore on open.
  try { fd = openSync(dir.at(name), FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0)); } catch { return false; }
  try {
    // What was opened must be what was looked at: another file renamed into its place meanwhile is not it.
    const opened = fstatSync(fd, { bigint: true });
    if (opened.dev !== st.dev || opened.ino !== st.ino || !looksRestored(opened, node, meta)) return false;
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
    return hash.digest('hex') === node.digest;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `st` has what restore gives file node `node`: a regular file of its size and modification
 * time (restore sets times through a microsecond interface from a floating-point second, which can
 * land one microsecond off), mode and owner (MetaCheck). The same bytes under another mode or owner are
 * not the backed-up file: a copy someone else made (in a folder others can write) would keep their
 * ownership and could be changed by them after the restore.
 */
function looksRestored(st: BigIntStats, node: TreeNode, meta: MetaCheck): boolean {
  const apartUs = st.mtimeNs / 1000n - BigInt(node.mtimeNs) / 1000n;
  if (!st.isFile() || st.size !== BigInt(node.size ?? 0) || apartUs > 1n || apartUs < -1n) return false;
  if (meta.modes && Number(st.mode & 0o7777n) !== restoredMode(node, meta.preserveSetuid)) return false;
  if (meta.owners && node.uid !== undefined && (st.uid !== BigInt(node.uid) || st.gid !== BigInt(node.gid ?? 0))) return false;
  return true;
}

/**
 * A file before its reads are planned: already there with its content, or partly written before
 * (`resume`: its good chunks, and the partial file's identity, which the writer checks again), or its
 * partial name is taken by something that is not a partial file of ours (`partialTaken`: it is left
 * alone and the file is written under a temp name).
 */
interface Prepared { unchanged: boolean; resume?: { chunks: number; bytes: number; hash: Hash; dev: bigint; ino: bigint }; partialTaken?: boolean }

const PARTIAL_PREFIX = Buffer.from('.azb-partial-');
/** Bytes of a file's name kept whole in its partial name (which must stay within the 255 bytes a name may have). */
const PARTIAL_WHOLE_NAME_BYTES = 83;

/**
 * The name a file with a digest is written under until it is complete and verified: in its folder,
 * `.azb-partial-` and the first 16 hex digits of its digest, then its name. A name longer than 83
 * bytes keeps its first 83 and ends in `~` and 16 hex digits of its SHA-256 (100 bytes, never a whole
 * name), so names that differ only further on still get partial names of their own. A restore cut off
 * from the vault leaves the partial file there; a restore run again finds it by this name.
 */
export function partialName(name: Buffer, digest: string): Buffer {
  const prefix = Buffer.from(`.azb-partial-${digest.slice(0, 16)}-`);
  if (name.length <= PARTIAL_WHOLE_NAME_BYTES) return Buffer.concat([prefix, name]);
  const tail = Buffer.from(`~${createHash('sha256').update(name).digest('hex').slice(0, 16)}`);
  return Buffer.concat([prefix, name.subarray(0, PARTIAL_WHOLE_NAME_BYTES), tail]);
}

/** A file's identity on this machine, as a key. */
function inodeKey(st: { dev: bigint; ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}

/** A partial file restore made: a regular file of this user, owner-only, with no other name (not on Windows: FileJob). */
function isOwnPartial(st: BigIntStats): boolean {
  return st.isFile() && st.nlink === 1n && (st.mode & 0o077n) === 0n && process.getuid !== undefined && st.uid === BigInt(process.getuid());
}

/**
 * Whether file `job` is already there with its content (the same-content check of CreateCopy and
 * OverwriteIfChanged), else how much of its partial file is good: the partial file is read chunk by
 * chunk against the point's chunk list (each chunk's keyed ID recomputed here; lengths from the index,
 * no vault read) up to the first chunk that differs or is missing; the writer cuts off the rest. What
 * is under the partial name and is not a partial file of ours is never read, written or removed: it may
 * be anybody's. `job.dir` is in use.
 */
function prepareFile(repo: ServerRepo, job: FileJob, conflict: RestoreOptions['conflict'], meta: MetaCheck): Prepared {
  const { dir, name, node, partial } = job;
  if ((conflict === 'CreateCopy' || conflict === 'OverwriteIfChanged') && holdsContent(dir, name, node, existingEntry(dir, name), meta)) return { unchanged: true };
  if (partial === undefined) return { unchanged: false };
  const at = dir.at(partial);
  // Looked for without an exception: in most restores there is none, and an exception per file is costly.
  let found: BigIntStats | undefined;
  try { found = lstatSync(at, { bigint: true, throwIfNoEntry: false }); } catch { return { unchanged: false, partialTaken: true }; }
  if (found === undefined) return { unchanged: false };
  if (!isOwnPartial(found)) return { unchanged: false, partialTaken: true };
  let fd: number;
  // O_NOFOLLOW and O_NONBLOCK: a link or a FIFO renamed in since the lstat is neither followed nor waited on.
  try { fd = openSync(at, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0)); } catch { return { unchanged: false, partialTaken: true }; }
  const hash = createHash('sha256');
  let chunks = 0;
  let bytes = 0;
  try {
    const opened = fstatSync(fd, { bigint: true });
    if (!isOwnPartial(opened) || opened.dev !== found.dev || opened.ino !== found.ino) return { unchanged: false, partialTaken: true };
    const ids = node.content ?? [];
    try {
      for (; chunks < ids.length; chunks++) {
        const loc = repo.index.get(Buffer.from(ids[chunks]!, 'hex'));
        if (!loc) break;
        const chunk = Buffer.allocUnsafe(loc.rawLength);
        let got = 0;
        for (let n; got < chunk.length && (n = readSync(fd, chunk, got, chunk.length - got, bytes + got)) > 0;) got += n;
        if (got < chunk.length || !repo.blobId(chunk, 'data').equals(Buffer.from(ids[chunks]!, 'hex'))) break;
        hash.update(chunk);
        bytes += chunk.length;
      }
    } catch {
      chunks = 0;
      bytes = 0;
    }
    // Ours even with no good chunk: the writer reuses it from the start.
    return { unchanged: false, resume: { chunks, bytes, hash: chunks === 0 ? createHash('sha256') : hash, dev: opened.dev, ino: opened.ino } };
  } finally {
    closeSync(fd);
  }
}

/**
 * What is at `name` in `dir` (in use), by lstat; undefined when nothing is. Asked without an exception
 * for "not there" (the common case in a restore to a new folder, and an exception per file is costly);
 * any other error is a write error.
 */
function existingEntry(dir: DirHandle, name: Buffer): BigIntStats | undefined {
  try { return lstatSync(dir.at(name), { bigint: true, throwIfNoEntry: false }); } catch (err) { throw writeError(err, dir.shown(name)); }
}

/**
 * An item found in a point: its node, the components of its path, and the node of each component where
 * the point has one; the name of the root node it lies in, which makes its first `rootCount` components.
 */
export interface ResolvedItem { node: TreeNode; components: Buffer[]; nodes: (TreeNode | undefined)[]; rootName: string; rootCount: number }

/**
 * The node at a point path; throws AZB_ITEM_NOT_FOUND, or AZB_TREE_DAMAGED naming the folder on the way
 * whose tree cannot be read.
 */
export async function resolveItem(repo: ServerRepo, point: RecoveryPoint, item: string): Promise<ResolvedItem> {
  const want = splitPointPath(item);
  const roots = await readTree(repo, point.manifest.tree);
  const startsWant = (parts: Buffer[]) => parts.length <= want.length && parts.every((p, i) => p.equals(want[i]!));
  for (const root of roots) {
    const rootParts = splitPointPath(displayNameOf(root));
    // By its bytes, or as `ls` shows it (\xNN for bytes that are not UTF-8 and control characters).
    if (!startsWant(rootParts) && !startsWant(splitPointPath(displayName(root)))) continue;
    let node: TreeNode | undefined = root;
    const components = [...rootParts];
    const nodes: (TreeNode | undefined)[] = rootParts.map((_, i) => (i === rootParts.length - 1 ? root : undefined));
    for (let i = rootParts.length; i < want.length; i++) {
      if (node.type !== 'dir' || !node.subtree) { node = undefined; break; }
      let children: TreeNode[];
      try {
        children = await readTree(repo, node.subtree);
      } catch (err) {
        if (!isTreeDamaged(err)) throw err;
        const where = '/' + components.map(displayBytes).join('/');
        throw new AzbError('AZB_TREE_DAMAGED', `${where}: ${err.message}.`, { target: where, hint: err.hint });
      }
      const next: TreeNode | undefined = children.find((c) => nodeNameBytes(c).equals(want[i]!)) ?? children.find((c) => displayName(c) === want[i]!.toString('utf8'));
      if (!next) { node = undefined; break; }
      node = next;
      components.push(nodeNameBytes(next));
      nodes.push(next);
    }
    if (node) return { node, components, nodes, rootName: displayNameOf(root), rootCount: rootParts.length };
  }
  throw new AzbError('AZB_ITEM_NOT_FOUND', `'${item}' is not in recovery point ${point.id.slice(0, 12)}….`, {
    target: item, hint: "List the point's items with 'azbackup ls' / Get-AzRecoverableItem.",
  });
}

function displayNameOf(n: TreeNode): string {
  return n.name ?? nodeNameBytes(n).toString('utf8');
}

/** A reason to leave one item out and go on: reported as a warning with its own code. */
class ItemSkipped extends Error {
  constructor(readonly code: string, message: string, readonly target: string) { super(message); }
}

/** `partial`: the name it is written under until verified (partialName), or none: a temp name. */
interface FileJob { dir: DirHandle; name: Buffer; node: TreeNode; partial?: Buffer | undefined }

/** Restores items of a recovery point. The caller has loaded the index (ServerRepo.loadIndexForReading). */
export async function runRestore(repo: ServerRepo, opts: RestoreOptions): Promise<RestoreStats> {
  const dirs = new DirHandles();
  const progress: RestoreProgress = {};
  // Blobs are opened (decrypted, decompressed, checked against their IDs) on worker threads while this
  // thread reads packs and writes files (core/repo/decode-pool.ts).
  repo.startDecodeWorkers();
  try {
    return await restoreWith(repo, opts, dirs, progress);
  } catch (err) {
    // A restore that stops half-way leaves no folder owner-only (0700 while it ran), and says what it
    // had restored by then.
    progress.finishFolders?.();
    if (progress.stats) opts.sink.log(`Restored before the failure: ${progress.stats.files} file(s), ${progress.stats.dirs} folder(s), ${progress.stats.symlinks} link(s).`);
    throw err;
  } finally {
    dirs.closeAll();
    await repo.stopDecodeWorkers();
  }
}

/** What a restore that fails leaves for its caller: its counts so far, and how to finish its folders. */
interface RestoreProgress { stats?: RestoreStats; finishFolders?: () => void }

async function restoreWith(repo: ServerRepo, opts: RestoreOptions, dirs: DirHandles, progress: RestoreProgress): Promise<RestoreStats> {
  const started = Date.now();
  const { sink, signal } = opts;
  const stats: RestoreStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, copies: 0, verified: 0, unverified: 0, verifyFailed: 0, durationMs: 0, unchanged: 0, packsRead: 0 };
  // Format 2 points carry a digest on every file node; one that lacks it there is damage, not age.
  const digestsRequired = opts.point.manifest.version >= 2;
  /** Restored files and folders that repair marked damaged (shown paths). */
  const damagedItems: string[] = [];
  const verifyFailures: string[] = [];
  const isRoot = process.platform !== 'win32' && process.getuid?.() === 0;
  const metaCheck: MetaCheck = { modes: process.platform !== 'win32', owners: isRoot, preserveSetuid: opts.preserveSetuid === true };
  /** Files open for writing (inodeKey): a partial file is resumed only when no other writer has it. */
  const inUse = new Set<string>();
  const hardlinks = new Map<string, { dir: DirHandle; name: Buffer }>(); // hard-link key → the name written for it
  const writerOf = new Map<string, FileJob>(); // key → the job that writes it
  // Folders whose owner, mode and times are set last (children change a folder's mtime), deepest first.
  const dirMeta: { dir: DirHandle; node: TreeNode }[] = [];
  // Folders restore made that the point has no metadata for (the target, parents above a source root):
  // owner-only while the restore runs, then the mode mkdir would have given them.
  const madePlain: DirHandle[] = [];
  const fileJobs: FileJob[] = [];
  // The parent folders of the items, walked once each (many items share them).
  const parentsWalked = new Map<string, DirHandle>();
  // Entries given extended attributes once everything else is in place (FORMAT.md §9): a folder as "."
  // inside its own handle, a file or link by name inside its folder.
  const xattrJobs: XattrJob[] = [];
  let setuidCleared = 0;
  let total = 0;
  progress.stats = stats;
  // Folder owners, modes and times last, deepest first, each on the folder's own handle: a link put in
  // its place meanwhile is never followed. Once, at the end or when the restore fails.
  let foldersFinished = false;
  const finishFolders = () => {
    if (foldersFinished) return;
    foldersFinished = true;
    for (const { dir, node } of [...dirMeta].reverse()) {
      try {
        dir.use(() => setFolderMetadata(dir, node, isRoot));
      } catch (err) {
        const shown = showPath(dir.path);
        sink.warning('AZB_RESTORE_METADATA', `Could not set owner, mode or time of ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, shown);
      }
    }
    const plainMode = 0o777 & ~process.umask();
    for (const dir of madePlain) {
      try {
        dir.use(() => { const fd = dir.handle(); if (fd !== undefined) fchmodSync(fd, plainMode); else chmodSync(dir.path, plainMode); });
      } catch (err) {
        const shown = showPath(dir.path);
        sink.warning('AZB_RESTORE_METADATA', `Could not set the mode of ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, shown);
      }
    }
  };
  progress.finishFolders = finishFolders;

  const fetcher = new BlobFetcher(repo);
  /** What prepareFile found for each file to write, before any read was planned. */
  const prepared = new Map<FileJob, Prepared>();

  const skip = (code: string, message: string, target: string) => {
    stats.skipped++;
    sink.warning(code, message, target);
  };
  const warnUnsafe = (where: string, why: string) => skip('AZB_RESTORE_UNSAFE_ENTRY', `Not restored: ${where} (${why}).`, where);
  // An error putting an item under its name: something put there while the restore ran (a folder, a
  // name that appeared) fails that item only; anything else is a write error.
  const placeError = (err: unknown, dir: DirHandle, name: Buffer): Error => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') return writeError(err, dir.shown(name));
    const shown = showPath(dir.shown(name));
    return new ItemSkipped('AZB_RESTORE_UNSAFE_ENTRY', `Not restored: ${shown} (something was put in its place while the restore ran: ${code}).`, shown);
  };

  // Reports an error that fails one item only; false for errors that fail the restore.
  function skippedItem(err: unknown, shown: Buffer): boolean {
    if (err instanceof ItemSkipped) { skip(err.code, err.message, err.target); return true; }
    if (err instanceof DirChangedError) { warnUnsafe(showPath(err.path), 'it was replaced by a link or another folder while the restore ran'); return true; }
    if (isTreeDamaged(err)) { skip('AZB_TREE_DAMAGED', `Not restored: ${showPath(shown)}: its ${err.message}.`, showPath(shown)); return true; }
    return false;
  }

  // Walks a node into folder `dir` under `name`.
  // `reserved`: names in the same folder of the point that look like partial names (hex); a file whose
  // partial name is one of them is written under a temp name instead, or the two would meet.
  async function visit(node: TreeNode, dir: DirHandle, name: Buffer, reserved?: ReadonlySet<string>): Promise<void> {
    if (signal.aborted) throw cancelled();
    try {
      if (node.type === 'dir') {
        await visitFolder(node, dir, name);
      } else if (node.type === 'file') {
        // Not on Windows: there the engine cannot tell a partial file of its own from another user's (no
        // owner, and modes that say nothing), so a file cut off is removed and read whole next time.
        const partial = node.digest === undefined || process.platform === 'win32' ? undefined : partialName(name, node.digest);
        fileJobs.push({ dir, name, node, partial: partial && reserved?.has(partial.toString('hex')) ? undefined : partial });
        total += node.size ?? 0;
      } else {
        dir.use(() => restoreSymlink(node, dir, name));
      }
    } catch (err) {
      if (!skippedItem(err, dir.shown(name))) throw err;
    }
  }

  async function visitFolder(node: TreeNode, parent: DirHandle, name: Buffer): Promise<void> {
    // The tree first: a folder whose tree cannot be read is neither created nor walked.
    const children = node.subtree ? await readTree(repo, node.subtree) : [];
    const shown = parent.shown(name);
    let entered: ReturnType<DirHandle['child']>;
    try { entered = parent.use(() => parent.child(name, { create: true })); } catch (err) { throw writeError(err, shown); }
    if (!entered) return warnUnsafe(showPath(shown), 'a link or a non-directory is in the way');
    if (entered.created) stats.dirs++;
    if (node.damage?.lostTree) damagedItems.push(`${showPath(shown)}/`);
    // A folder that is already there keeps its owner, mode and times unless Overwrite was asked for:
    // Skip and CreateCopy leave existing items alone (an admin may have tightened its permissions).
    if (entered.created || opts.conflict === 'Overwrite') dirMeta.push({ dir: entered.dir, node });
    await fillFolder(children, entered.dir);
  }

  async function fillFolder(children: TreeNode[], dir: DirHandle): Promise<void> {
    const seen = new Set<string>();
    // Duplicates (by bytes) first, so a duplicate never takes a name from a real entry on Windows.
    const unique = children.filter((c) => {
      const key = nodeNameBytes(c).toString('hex');
      if (!seen.has(key)) { seen.add(key); return true; }
      warnUnsafe(`${showPath(dir.path)}/${displayName(c)}`, 'duplicate name');
      return false;
    });
    // On Windows names are mapped and made unique ignoring case (FORMAT.md §9, "Windows paths").
    const planned = plannedNames(unique.map(nodeNameBytes), process.platform);
    let reserved: Set<string> | undefined;
    for (const plan of planned) {
      if (!('unsafe' in plan) && plan.name.subarray(0, PARTIAL_PREFIX.length).equals(PARTIAL_PREFIX)) (reserved ??= new Set()).add(plan.name.toString('hex'));
    }
    dir.acquire(); // open while its entries are walked
    try {
      for (const [i, c] of unique.entries()) {
        const plan = planned[i]!;
        const where = `${showPath(dir.path)}/${displayName(c)}`;
        if ('unsafe' in plan) { warnUnsafe(where, 'unsafe name'); continue; }
        if (plan.collidesWith !== undefined) sink.warning('AZB_RESTORE_NAME_COLLISION', `${where} was restored as ${plan.mapped}: its name differs from ${plan.collidesWith} only in case, and the file system ignores case.`, where);
        else if (plan.mapped !== undefined) sink.warning('AZB_RESTORE_NAME_MAPPED', `${where} was restored as ${plan.mapped}: Windows does not allow that name (FORMAT.md "Names Windows forbids").`, where);
        await visit(c, dir, plan.name, reserved);
      }
    } finally {
      dir.release();
    }
  }

  // `dir` is in use.
  function restoreSymlink(node: TreeNode, dir: DirHandle, name: Buffer): void {
    const final = resolveConflict(dir, name);
    if (!final) return;
    const tmp = tempName(final);
    try {
      symlinkSync(nodeTargetBytes(node), dir.at(tmp));
      // lchown and lutimes act on the link itself, never on what it points to.
      if (isRoot && node.uid !== undefined) { try { lchownSync(dir.at(tmp), node.uid, node.gid ?? 0); } catch { /* kept as made */ } }
      const t = fsTime(node.mtimeNs);
      try { lutimesSync(dir.at(tmp), t, t); } catch { /* kept as made */ }
      if (node.xattrs !== undefined) { const st = lstatSync(dir.at(tmp), { bigint: true }); xattrJobs.push({ dir, name: final, node, made: { dev: st.dev, ino: st.ino } }); }
      try { renameSync(dir.at(tmp), dir.at(final)); } catch (err) { throw placeError(err, dir, final); }
    } catch (err) {
      try { unlinkSync(dir.at(tmp)); } catch { /* not made */ }
      throw err instanceof ItemSkipped ? err : writeError(err, dir.shown(final));
    }
    stats.symlinks++;
  }

  // Decides the final name for an entry that may already exist in `dir` (in use); undefined means skip it.
  // `existing`: what existingEntry() found at `name` (it is looked at once per file).
  function resolveConflict(dir: DirHandle, name: Buffer, existing: BigIntStats | undefined = existingEntry(dir, name)): Buffer | undefined {
    if (!existing) return name;
    if (opts.conflict === 'Overwrite' || opts.conflict === 'OverwriteIfChanged') {
      // Overwrite replaces files and links, never a whole directory that sits where a file was.
      if (!existing.isDirectory()) return name;
      const shown = showPath(dir.shown(name));
      skip('AZB_RESTORE_TYPE_CONFLICT', `Not restored: ${shown} (a directory is in the way; Overwrite replaces files and links only).`, shown);
      return undefined;
    }
    if (opts.conflict === 'Skip') { stats.skipped++; return undefined; }
    for (let n = 1; ; n++) {
      const candidate = copyName(name, n);
      if (!existingEntry(dir, candidate)) { stats.copies++; return candidate; }
    }
  }

  let bytesDone = 0;
  let lastProgress = 0;
  async function restoreFile(job: FileJob): Promise<void> {
    if (signal.aborted) throw cancelled();
    job.dir.acquire();
    try {
      await restoreFileIn(job);
    } finally {
      job.dir.release();
    }
  }

  // `job.dir` is in use.
  async function restoreFileIn(job: FileJob): Promise<void> {
    const { dir, name, node } = job;
    // Another name of a hard-linked file: linked to the name written for it. When none was (a conflict
    // said Skip, or it was damaged), this one is written instead if it carries the content (FORMAT.md §9);
    // in points older than that rule only the first name does.
    if (node.hardlink && writerOf.get(node.hardlink) !== job && (hardlinks.has(node.hardlink) || !node.content)) {
      const written = hardlinks.get(node.hardlink);
      if (!written) {
        const shown = showPath(dir.shown(name));
        skip('AZB_RESTORE_LINK_SKIPPED', `Not restored: ${shown} is a hard link to a file that was not restored.`, shown);
        return;
      }
      const final = resolveConflict(dir, name);
      if (!final) return;
      if (final.equals(name) && opts.conflict === 'Overwrite') { try { unlinkSync(dir.at(final)); } catch { /* not there */ } }
      try { written.dir.use(() => linkSync(written.dir.at(written.name), dir.at(final))); } catch (err) { throw placeError(err, dir, final); }
      stats.files++;
      return;
    }
    // A file already there with this very content is left as it is (no copy of an identical file).
    const prep = prepared.get(job);
    const existing = prep?.unchanged === true ? undefined : existingEntry(dir, name);
    if (prep ? prep.unchanged : (opts.conflict === 'CreateCopy' || opts.conflict === 'OverwriteIfChanged') && holdsContent(dir, name, node, existing, metaCheck)) {
      stats.unchanged++;
      return;
    }
    const final = resolveConflict(dir, name, existing);
    if (!final) return;
    // Made only when a message needs it: turning the path into text costs more than a small file's write.
    let shownCache: string | undefined;
    const shownFinal = () => (shownCache ??= showPath(dir.shown(final)));
    // A file with a digest is written under its partial name (kept when the vault is cut off, so a run
    // again resumes it); others, and one whose partial name is taken by something not ours, under a new
    // temp name.
    let tmp = job.partial !== undefined && !prep?.partialTaken ? job.partial : tempName(final);
    let atPartial = tmp === job.partial;
    let resume = prep?.resume;
    // Creating, writing and renaming run on libuv's threads (FILES_IN_FLIGHT at once): making a file
    // costs 0.1–0.5 ms of kernel time on a busy ext4, which on this thread was the largest cost of a
    // restore (profiles in README "Restore performance"), while this thread opens blobs meanwhile. The
    // cheap calls that follow (fchmod, futimes, close) stay synchronous: a promise costs more than they do.
    // O_NOFOLLOW|O_EXCL: the temp name is new and never a link; rename() then replaces the final name itself.
    // Opens the file to write and says which file it is: the name it ends up under must still be this one.
    const openTarget = async (): Promise<{ fd: number; made: BigIntStats }> => {
      let fd: number | undefined;
      if (resume) {
        // The partial file prepareFile checked, and no other: the same inode, still ours. Anything else
        // found there now is left alone and the file is written whole under a temp name.
        try {
          fd = openSync(dir.at(tmp), FS.O_WRONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
          const opened = fstatSync(fd, { bigint: true });
          // Not one another writer has open: a user moving one file between two partial names would
          // have two writers write into it.
          if (isOwnPartial(opened) && opened.dev === resume.dev && opened.ino === resume.ino && !inUse.has(inodeKey(opened))) {
            ftruncateSync(fd, resume.bytes);
            inUse.add(inodeKey(opened));
            return { fd, made: opened };
          }
          closeSync(fd);
          fd = undefined;
        } catch {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
        }
        resume = undefined;
        tmp = tempName(final);
        atPartial = false;
      }
      try {
        fd = await openAsync(dir.at(tmp), FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | (FS.O_NOFOLLOW ?? 0), 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !atPartial) throw err;
        // Its partial name was taken since prepareFile looked (or it did not look): a temp name then.
        tmp = tempName(final);
        atPartial = false;
        fd = await openAsync(dir.at(tmp), FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | (FS.O_NOFOLLOW ?? 0), 0o600);
      }
      const made = fstatSync(fd, { bigint: true });
      inUse.add(inodeKey(made));
      return { fd, made };
    };
    let fd: number;
    let written: BigIntStats;
    try { ({ fd, made: written } = await openTarget()); } catch (err) { throw writeError(err, dir.shown(tmp)); }
    let ok = false;
    let keepPartial = false;
    let clearedBits = false;
    const digest = resume?.hash ?? (node.digest !== undefined || digestsRequired ? createHash('sha256') : undefined);
    try {
      let pos = resume?.bytes ?? 0;
      bytesDone += pos;
      const ids = node.content ?? [];
      const first = resume?.chunks ?? 0;
      // One blob ahead: the next read and decrypt overlap with this write. The file's digest proves its
      // bytes, so its blobs are not each checked against their IDs too (FORMAT.md section 9).
      const idCheck = node.digest === undefined;
      const fetch = (i: number) => { const p = fetcher.blob(ids[i]!, { idCheck }); p.catch(() => undefined); return p; };
      let next = ids.length > first ? fetch(first) : undefined;
      for (let i = first; i < ids.length; i++) {
        if (signal.aborted) throw cancelled();
        const chunk = await next!;
        next = i + 1 < ids.length ? fetch(i + 1) : undefined;
        digest?.update(chunk);
        if (node.sparse) writeSparse(fd, chunk, pos); else await writeAllAsync(fd, chunk, pos);
        pos += chunk.length;
        bytesDone += chunk.length;
        if (Date.now() - lastProgress > 250) {
          lastProgress = Date.now();
          sink.progress('Restore', `${stats.files}/${fileJobs.length} files, ${bytesDone}/${total} bytes`, total > 0 ? Math.min(99, (bytesDone / total) * 100) : 0, shownFinal());
        }
      }
      if (pos !== (node.size ?? 0)) {
        throw new AzbError('AZB_OBJECT_DAMAGED', `${shownFinal()}: the recovery point has ${pos} bytes for a file of ${node.size} bytes.`, { target: shownFinal(), hint: "Run 'azbackup check --read-data'." });
      }
      // The bytes written must be the bytes backed up: a wrong chunk list (content, order, a chunk
      // missing) is caught here, and the file is never put in place under its name.
      if (digest) {
        const got = digest.digest('hex');
        if (got !== node.digest) {
          throw new AzbError('AZB_RESTORE_VERIFY_FAILED', node.digest === undefined
            ? `${shownFinal()}: the recovery point has no content digest for this file, so its bytes cannot be verified; it was not restored.`
            : `${shownFinal()}: the restored bytes do not match the file's digest in the recovery point (SHA-256 ${got.slice(0, 12)}…, expected ${node.digest.slice(0, 12)}…); it was not restored.`, {
            target: shownFinal(), hint: "Run 'azbackup check --read-data' and restore the file from another recovery point.",
          });
        }
      }
      if (node.sparse) ftruncateSync(fd, pos); // holes at the end are not written
      if (isRoot && node.uid !== undefined) fchownSync(fd, node.uid, node.gid ?? 0);
      const mode = restoredMode(node, opts.preserveSetuid === true);
      if (mode !== (node.mode & 0o7777)) clearedBits = true;
      fchmodSync(fd, mode);
      const t = fsTime(node.mtimeNs);
      futimesSync(fd, t, t);
      ok = true;
    } catch (err) {
      // Cut off from the vault, or cancelled: what is written is kept under the partial name, and a
      // restore run again continues from it (prepareFile). Any other failure removes it.
      keepPartial = atPartial && err instanceof AzbError && (err.code === 'AZB_VAULT_UNREACHABLE' || err.code === 'AZB_CANCELLED');
      if (err instanceof AzbError) throw err;
      throw writeError(err, dir.shown(final));
    } finally {
      closeSync(fd);
      inUse.delete(inodeKey(written));
      if (!ok && !keepPartial) { try { unlinkSync(dir.at(tmp)); } catch { /* already gone */ } }
    }
    // rename() moves a name, not the file written: what is under the temp name must still be that file
    // (a point's own file of the same name, or another user in a folder they can write, could have put
    // something else there), or other bytes would take the name unverified.
    let there: BigIntStats | undefined;
    try { there = lstatSync(dir.at(tmp), { bigint: true, throwIfNoEntry: false }); } catch (err) { throw writeError(err, dir.shown(tmp)); }
    if (there === undefined || there.dev !== written.dev || there.ino !== written.ino) {
      throw new ItemSkipped('AZB_RESTORE_UNSAFE_ENTRY', `Not restored: ${shownFinal()} (the file it was written to was replaced while the restore wrote it).`, shownFinal());
    }
    try { await renameAsync(dir.at(tmp), dir.at(final)); } catch (err) { try { unlinkSync(dir.at(tmp)); } catch { /* already gone */ } throw placeError(err, dir, final); }
    if (node.hardlink) hardlinks.set(node.hardlink, { dir, name: final });
    if (node.xattrs !== undefined) xattrJobs.push({ dir, name: final, node, made: { dev: written.dev, ino: written.ino } });
    if (clearedBits) setuidCleared++;
    stats.files++;
    stats.bytes += node.size ?? 0;
    if (digest) stats.verified++; else stats.unverified++;
    if (node.damage) damagedItems.push(shownFinal());
  }

  const items = opts.items.length > 0 ? opts.items : [];
  const selected: ResolvedItem[] = [];
  if (items.length === 0) {
    for (const root of await readTree(repo, opts.point.manifest.tree)) {
      const components = splitPointPath(displayNameOf(root));
      selected.push({ node: root, components, nodes: components.map((_, i) => (i === components.length - 1 ? root : undefined)), rootName: displayNameOf(root), rootCount: components.length });
    }
  } else {
    // An item inside another selected item (or given twice) would be restored twice: keep the outermost.
    const parts = [...new Set(items.map((i) => splitPointPath(i).map((c) => c.toString('hex')).join('/')))].sort();
    const outer = parts.filter((p, i) => !parts.slice(0, i).some((q) => p.startsWith(q + '/')));
    const keep = items.filter((i, n) => {
      const key = splitPointPath(i).map((c) => c.toString('hex')).join('/');
      return outer.includes(key) && items.findIndex((j) => splitPointPath(j).map((c) => c.toString('hex')).join('/') === key) === n;
    });
    for (const item of keep) {
      try {
        selected.push(await resolveItem(repo, opts.point, item));
      } catch (err) {
        // A folder on the way cannot be read: this item fails, the others go on.
        if (!isTreeDamaged(err)) throw err;
        skip('AZB_TREE_DAMAGED', `Not restored: ${showPath(Buffer.from(item))}: the folder ${err.message}`, err.target ?? showPath(Buffer.from(item)));
      }
    }
  }

  // Where each item goes (FORMAT.md §9, "Windows paths"): its root's place (a drive, a share, a POSIX
  // path; under the target or at the original location), then its own components.
  const placed: (ResolvedItem & { base: string | undefined })[] = [];
  for (const item of selected) {
    const place = rootPlacement(item.rootName, opts.point.manifest.pathStyle, { platform: process.platform, ...(opts.target !== undefined ? { target: opts.target } : {}) });
    if ('error' in place) {
      if (place.error === 'needs-target') {
        throw new AzbError('AZB_RESTORE_TARGET_REQUIRED', `${displayBytes(Buffer.from(item.rootName))} in recovery point ${opts.point.id.slice(0, 12)}… cannot go back to its original location: ${place.why}.`, {
          target: item.rootName, hint: 'Give a folder to restore into with -Target / --target (a drive C:\\… becomes <target>/C/…, a share \\\\srv\\share becomes <target>/UNC/srv/share).',
        });
      }
      warnUnsafe(displayBytes(Buffer.from(item.rootName)), place.why);
      continue;
    }
    const head = place.parts.map((p) => Buffer.from(p, 'utf8'));
    const rootNode = item.nodes[item.rootCount - 1];
    placed.push({
      ...item, base: place.base,
      components: [...head, ...item.components.slice(item.rootCount)],
      nodes: [...head.map((_, i) => (i === head.length - 1 ? rootNode : undefined)), ...item.nodes.slice(item.rootCount)],
    });
  }
  // Before anything is written, not even the target folder: is there room for the files?
  if (!opts.ignoreFreeSpace) {
    await checkRestoreSpace(repo, placed.map(({ node, components, base }) => ({
      node, path: components.length === 0 ? (base ?? '/') : `${(base ?? '').replace(/\/+$/, '')}/${components.map((c) => c.toString('utf8')).join('/')}`,
    })), opts.conflict);
  }
  const targetDir = opts.target !== undefined ? await openTarget(dirs, opts.target, madePlain) : undefined;

  for (const { node, components, nodes, base } of placed) {
    // A base of its own: a drive or share at the original location (Windows only, where folders go by path).
    const baseDir = targetDir ?? (base !== undefined ? dirs.pathFolder(Buffer.from(base, 'utf8')) : undefined);
    if (components.length === 0 && node.type === 'dir') {
      // A backup of "/" itself (or of a whole drive): its content goes into the target (or back there).
      const into = baseDir ?? (BY_HANDLE ? dirs.systemRoot() : dirs.pathFolder(Buffer.from('/')));
      try {
        const children = node.subtree ? await readTree(repo, node.subtree) : [];
        if (opts.conflict === 'Overwrite') dirMeta.push({ dir: into, node });
        await fillFolder(children, into);
      } catch (err) {
        if (!skippedItem(err, into.path)) throw err;
      }
      continue;
    }
    // On Windows each component is mapped as in a folder (FORMAT.md §9); the checks then apply to what is written.
    const written = process.platform === 'win32' ? components.map((c) => { const w = windowsName(c); return w ? Buffer.from(w.name, 'utf8') : c; }) : components;
    if (written.length === 0 || !written.every((c) => isSafeEntryName(c))) { warnUnsafe(components.map((c) => displayBytes(c)).join('/'), 'unsafe path'); continue; }
    if (written.some((w, i) => !w.equals(components[i]!))) {
      const where = components.map((c) => displayBytes(c)).join('/');
      sink.warning('AZB_RESTORE_NAME_MAPPED', `${where} was restored as ${written.map((c) => displayBytes(c)).join('/')}: Windows does not allow that name (FORMAT.md "Names Windows forbids").`, where);
    }
    const parentParts = written.slice(0, -1);
    let parent: DirHandle | undefined;
    try {
      parent = await enterItemParents(parentParts, nodes, baseDir);
    } catch (err) {
      if (skippedItem(err, written.reduce(joinPath, baseDir?.path ?? Buffer.from('/')))) continue;
      throw err;
    }
    if (!parent) continue; // warned
    await visit(node, parent, written[written.length - 1]!);
  }

  function enterParents(start: DirHandle, parts: Buffer[], nodes: (TreeNode | undefined)[], o: { followTrustedLinks: boolean }): DirHandle | undefined {
    let cur = start;
    let key = '';
    for (const [i, c] of parts.entries()) {
      key += `/${c.toString('hex')}`;
      const known = parentsWalked.get(key);
      if (known) { cur = known; continue; }
      const at = cur;
      let next: ReturnType<DirHandle['child']>;
      // Pinned when links may be followed: such a folder cannot be reopened from its parent by name.
      try { next = at.use(() => at.child(c, { create: true, followTrustedLinks: o.followTrustedLinks, pinned: o.followTrustedLinks })); } catch (err) { throw writeError(err, at.shown(c)); }
      if (!next) { warnUnsafe(showPath(at.shown(c)), o.followTrustedLinks ? 'a link that restore does not follow, or a non-directory, is in the way' : 'a non-directory or link is in the way'); return undefined; }
      madeOnTheWay(next, nodes[i]);
      parentsWalked.set(key, next.dir);
      cur = next.dir;
    }
    return cur;
  }

  // Alternate location: every component below the target must be a real folder, never a link.
  // Original location: the parent path comes from the point and is walked by handle from "/", created
  // where missing; a link on it is followed only when no other user could have placed it (isTrustedLink).
  async function enterItemParents(parts: Buffer[], nodes: (TreeNode | undefined)[], baseDir: DirHandle | undefined): Promise<DirHandle | undefined> {
    if (targetDir) return enterParents(targetDir, parts, nodes, { followTrustedLinks: false });
    if (!BY_HANDLE) {
      // Not hardened: plain paths, created as needed (the admin's own path; on Windows from the drive or share).
      let parent: Buffer = baseDir?.path ?? Buffer.from(process.platform === 'win32' ? '' : '/');
      for (const c of parts) parent = joinPath(parent, c);
      try { await makeDirs(parent); } catch (err) { throw writeError(err, parent); }
      return dirs.pathFolder(parent);
    }
    return enterParents(dirs.systemRoot(), parts, nodes, { followTrustedLinks: true });
  }

  function madeOnTheWay(entered: { dir: DirHandle; created: boolean }, node: TreeNode | undefined): void {
    if (!entered.created) return;
    stats.dirs++;
    if (node) dirMeta.push({ dir: entered.dir, node }); else madePlain.push(entered.dir);
  }

  // Hard links: one name per key is written (the first with content), every other name of that key is
  // linked to it afterwards. Points since FORMAT.md §9's change carry the content on every name, so any
  // one of them can be restored alone; older ones only on the first.
  const firsts: FileJob[] = [];
  const links: FileJob[] = [];
  for (const j of fileJobs) {
    const key = j.node.hardlink;
    if (key === undefined) { firsts.push(j); continue; }
    if (j.node.content && !writerOf.has(key)) { writerOf.set(key, j); firsts.push(j); } else links.push(j);
  }
  // Before the reads are planned: a file already there with its content is left alone, and one a
  // restore cut off left partly written is checked chunk by chunk; neither is read from the vault again.
  const resumedInodes = new Map<string, FileJob | undefined>();
  for (const j of firsts) {
    if (signal.aborted) throw cancelled();
    try {
      const p = j.dir.use(() => prepareFile(repo, j, opts.conflict, metaCheck));
      // One partial file found under two partial names (moved between the looks) is resumed by neither.
      const key = p.resume ? inodeKey(p.resume) : undefined;
      if (key !== undefined && resumedInodes.has(key)) {
        prepared.set(j, { unchanged: false, partialTaken: true });
        const other = resumedInodes.get(key)!;
        if (other) { prepared.set(other, { unchanged: false, partialTaken: true }); resumedInodes.set(key, undefined); }
      } else {
        if (key !== undefined) resumedInodes.set(key, j);
        prepared.set(j, p);
      }
    } catch { /* restoreFile meets the problem and reports it */ }
  }
  // Restore files in the order their data lies in the packs, so a segment is read once and its blobs
  // are used while it is in memory.
  const where = new Map(firsts.map((j) => {
    const id = j.node.content?.[0];
    const loc = id ? repo.index.get(Buffer.from(id, 'hex')) : undefined;
    return [j, loc ? `${loc.packId}:${String(loc.offset).padStart(12, '0')}` : ''] as const;
  }));
  firsts.sort((a, b) => (where.get(a)! < where.get(b)! ? -1 : where.get(a)! > where.get(b)! ? 1 : 0));
  // Plan the reads (segments per pack) in the order the blobs will be used: FILES_IN_FLIGHT files are
  // written at once at about the same pace, so a chunk is used about when the bytes before it in its
  // file, and those of the files written before on the same worker, are done. The read-ahead follows it.
  const workers = new Array<number>(FILES_IN_FLIGHT).fill(0);
  const useAt: { id: string; t: number }[] = [];
  for (const j of firsts) {
    const p = prepared.get(j);
    if (p?.unchanged) continue;
    const w = workers.indexOf(Math.min(...workers));
    let t = workers[w]!;
    for (const id of (j.node.content ?? []).slice(p?.resume?.chunks ?? 0)) {
      useAt.push({ id, t });
      t += repo.index.get(Buffer.from(id, 'hex'))?.rawLength ?? 0;
    }
    workers[w] = t + 1; // an empty file still takes its turn
  }
  fetcher.plan(useAt.sort((a, b) => a.t - b.t).map((u) => u.id));
  // A damaged file is reported and skipped; the rest of the restore goes on.
  const restoreOrReport = async (job: FileJob) => {
    const shown = () => showPath(job.dir.shown(job.name));
    try {
      await restoreFile(job);
    } catch (err) {
      if (err instanceof AzbError && err.code === 'AZB_RESTORE_VERIFY_FAILED') {
        stats.skipped++;
        stats.verifyFailed++;
        verifyFailures.push(shown());
        sink.warning('AZB_RESTORE_VERIFY_FAILED', err.message, shown());
        return;
      }
      if (skippedItem(err, job.dir.shown(job.name))) return;
      if (!(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      skip('AZB_RESTORE_FILE_DAMAGED', `Not restored: ${shown()}: ${err.message}`, shown());
    }
  };
  // A failure that stops the restore (out of space, say) lets the files in flight end, each complete or
  // removed, and starts no other, before it is reported.
  let stopped: { err: unknown } | undefined;
  await forEachLimit(firsts, FILES_IN_FLIGHT, async (job) => {
    if (stopped) return;
    try { await restoreOrReport(job); } catch (err) { stopped ??= { err }; }
  });
  if (stopped) throw stopped.err;
  for (const j of links) await restoreOrReport(j);

  await opts.beforeFolderMetadata?.();
  finishFolders();
  // Extended attributes last: after content, owner (chown clears security.capability) and modes; they
  // change no mtime. Folders' come after the folders' final modes, so none is opened early by an ACL.
  for (const { dir, node } of dirMeta) if (node.xattrs !== undefined) xattrJobs.push({ dir, node });
  await restoreXattrs(xattrJobs, { isRoot, selinux: opts.restoreSelinuxLabels === true, sink });
  if (setuidCleared > 0) sink.log(`Cleared the setuid/setgid bits of ${setuidCleared} file(s); restore with --preserve-setuid (-PreserveSetuid) to keep them.`);
  stats.durationMs = Date.now() - started;
  stats.packsRead = new Set([...fetcher.packsRead, ...repo.trees.packsRead]).size;
  // Files repair marked (FORMAT.md section 10): what remains was restored and verified, but it is not
  // the whole file that was backed up, and a restore never says so silently.
  if (damagedItems.length > 0) {
    sink.warning('AZB_RESTORE_FILE_DAMAGED', `${damagedItems.length} item(s) lost data to vault damage before repair rewrote recovery point ${opts.point.id.slice(0, 12)}…: ${damagedItems.slice(0, 5).join(', ')}${damagedItems.length > 5 ? ', …' : ''}. What remained was restored (a folder ending in / came back empty); restore these from another point or from the source.`, damagedItems[0]!);
  }
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

// `dir` is in use. Folders keep setgid and sticky bits: they grant no privileges.
function setFolderMetadata(dir: DirHandle, node: TreeNode, isRoot: boolean): void {
  const t = fsTime(node.mtimeNs);
  const fd = dir.handle();
  if (fd !== undefined) {
    if (isRoot && node.uid !== undefined) fchownSync(fd, node.uid, node.gid ?? 0);
    fchmodSync(fd, node.mode & 0o7777);
    futimesSync(fd, t, t);
    return;
  }
  // Path-based fallback (not hardened).
  if (isRoot && node.uid !== undefined) lchownSync(dir.path, node.uid, node.gid ?? 0);
  chmodSync(dir.path, node.mode & 0o7777);
  utimesSync(dir.path, t, t);
}

/** The target folder, pinned by handle; missing folders of its path are made owner-only. */
async function openTarget(dirs: DirHandles, target: string, madePlain: DirHandle[]): Promise<DirHandle> {
  if (!BY_HANDLE) {
    // Not hardened: a link at the target is refused, the rest is path-based as before.
    let st: Stats | undefined;
    try { st = lstatSync(target); } catch { /* made below */ }
    if (st?.isSymbolicLink()) throw linkInTheWay(Buffer.from(target));
    await ensureTargetWritable(target);
    return dirs.pathFolder(Buffer.from(target, 'utf8'));
  }
  const notWritable = (why: string) => new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `The restore target ${target} is not writable: ${why}.`, {
    target, hint: 'Give a folder this account can create files in.',
  });
  const parts = splitPointPath(target);
  let cur = dirs.systemRoot();
  for (const [i, part] of parts.entries()) {
    const at = cur;
    const last = i === parts.length - 1;
    let next: ReturnType<DirHandle['child']>;
    try {
      next = at.use(() => at.child(part, { create: true, followTrustedLinks: !last, pinned: true }));
    } catch (err) {
      throw notWritable((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    if (!next) {
      let isLink = false;
      try { isLink = at.use(() => lstatSync(at.at(part)).isSymbolicLink()); } catch { /* gone */ }
      if (isLink) { const e = linkInTheWay(at.shown(part)); throw new AzbError(e.code, e.message, { target, hint: e.hint! }); }
      throw new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `The restore target ${target} is a file (or lies below one), not a folder.`, { target, hint: 'Give a folder to restore into.' });
    }
    if (next.created) madePlain.push(next.dir);
    cur = next.dir;
  }
  // Can this account create files there?
  const dir = cur;
  const probe = Buffer.from(`.azb-write-test-${randomBytes(4).toString('hex')}`);
  try {
    dir.use(() => {
      closeSync(openSync(dir.at(probe), FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | (FS.O_NOFOLLOW ?? 0), 0o600));
      unlinkSync(dir.at(probe));
    });
  } catch (err) {
    throw notWritable((err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  return dir;
}

const openAsync = promisify(openCb);
const renameAsync = promisify(renameCb);
const writeAsync = promisify(writeCb);

async function writeAllAsync(fd: number, data: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await writeAsync(fd, data, off, data.length - off, position + off)).bytesWritten;
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
  return new AzbError('AZB_CANCELLED', 'The restore was cancelled; files restored so far are complete, the rest were not written (a file cut off in the middle is kept as .azb-partial-… beside its name).', { hint: 'Run the restore again to the same place to finish it: files already restored, and the written part of a file cut off, are not read from the vault again.' });
}

function writeError(err: unknown, path: Buffer): Error {
  if (err instanceof AzbError || err instanceof ItemSkipped || err instanceof DirChangedError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  // One name too long for the file system fails that item only.
  if (code === 'ENAMETOOLONG') return new ItemSkipped('AZB_RESTORE_NAME_TOO_LONG', `Not restored: ${showPath(path)} (the name is too long for the file system).`, showPath(path));
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AzbError('AZB_RESTORE_NO_SPACE', `The file system ran out of space (${code}) while writing ${showPath(path)}; that file was not restored (nothing of it is left); the files restored so far are complete and verified.`, {
      target: showPath(path), hint: 'Free space there, or restore fewer items (-Item) or to another -Target with room; run the restore again with -Conflict Skip to finish it.',
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `Cannot write ${showPath(path)}: ${code}.`, { target: showPath(path), hint: 'Restore to a location this account can write, or run with more rights.' });
  }
  return new AzbError('AZB_IO', `Cannot write ${showPath(path)}: ${code ?? (err as Error).message}.`, { target: showPath(path) });
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
