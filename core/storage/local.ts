// The vault as a local (or mounted network) folder: one file per object, `/` in a name becomes a
// folder level. Create-only puts write a temp file next to the target and hard-link it into place,
// because link() fails with EEXIST instead of replacing (rename() would silently overwrite).
//
// Whoever can write into the folder must not be able to steer the engine out of it: below the root,
// no link is ever followed (each folder on the way is lstat'ed, the object itself opened O_NOFOLLOW),
// and only regular files and real folders are used. Anything else — a symbolic link, a FIFO (an open
// would block for ever), a device, a socket — is refused as `unsafe`, named, and never read, written
// through or deleted. What the store creates is private to its owner (folders 0700, files 0600): key
// files are all an attacker needs to guess the passphrase offline.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  StorageError, checkObjectName, checkObjectPrefix, isStorageError,
  type ByteRange, type ObjectInfo, type ObjectStore, type StorageErrorKind,
} from './storage.js';
import { checkObjectSize } from './limits.js';

/** Name start of in-flight temp files; such files are never objects and list() never reports them. */
export const TEMP_PREFIX = '.tmp-';

/** link() failures that mean "no hard link here" (not "name taken"): putFile copies instead. */
const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** How many lstat() calls list() has in flight at once (a pack folder may hold thousands of files). */
const STAT_BATCH = 64;

/** Modes of what the store creates: owner only, whatever the umask (which can only take bits away). */
export const VAULT_FOLDER_MODE = 0o700;
export const VAULT_FILE_MODE = 0o600;

// O_NOFOLLOW: a link as the last segment fails (ELOOP) instead of being followed. O_NONBLOCK: a FIFO
// opens at once (and is then refused) instead of waiting for a writer. Windows has neither; there the
// object is lstat'ed before it is opened.
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fsConstants.O_NONBLOCK ?? 0;
const READ_FLAGS = fsConstants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;

/** What the folders on the way to a name are: all there, one missing, or a file where a folder should be. */
type FolderWalk = 'present' | 'missing' | 'blocked';

/** Opens the vault folder `root`: `unavailable` when it does not exist or is not a folder. */
export async function openLocalFolderStore(root: string): Promise<LocalFolderStore> {
  const location = resolve(root);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(location)).isDirectory();
  } catch (err) {
    const code = errnoOf(err);
    const kind: StorageErrorKind = code === 'EACCES' || code === 'EPERM' ? 'denied' : 'unavailable';
    throw new StorageError(kind, '', `Cannot open vault folder ${location}: ${code ?? String(err)}`, { cause: err });
  }
  if (!isDirectory) throw new StorageError('unavailable', '', `Vault path ${location} is not a folder`);
  return new LocalFolderStore(location);
}

/** An open handle for ranged reads, shared by concurrent reads of one object. */
interface Reader { fh: FileHandle; size: number; users: number; retired: boolean }

/** ObjectStore over a folder. Use openLocalFolderStore, which checks the folder first. */
export class LocalFolderStore implements ObjectStore {
  /** `location` must be the absolute path of an existing folder. */
  constructor(readonly location: string) {}

  async put(name: string, data: Uint8Array): Promise<void> {
    checkName(name);
    await this.putViaTemp(name, async (tmp) => {
      const fh = await open(tmp, CREATE_FLAGS, VAULT_FILE_MODE);
      try {
        await fh.writeFile(data);
        await fh.sync(); // the data must be on disk before the name points at it
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * put() of a staged file without reading it: the file is flushed to disk, then hard-linked under the
   * object's name (create-only, like put). Where a link cannot be made (another file system, or one
   * without hard links) it is copied in the kernel to a temp file, the way put() writes one.
   */
  async putFile(name: string, source: string): Promise<void> {
    checkName(name);
    const path = this.pathOf(name);
    try {
      await this.prepareFolders(name);
      await flushStaged(source);
    } catch (err) {
      throw nativeError(err, name, 'write', 'io');
    }
    try {
      await this.linkCreateOnly(name, source, path);
    } catch (err) {
      // Only link() failing for want of hard links falls back to a copy; its folders exist by now.
      if (err instanceof StorageError || !CANNOT_LINK.has(errnoOf(err) ?? '')) throw nativeError(err, name, 'write', 'io');
      await this.putViaTemp(name, async (tmp) => {
        await copyFile(source, tmp, fsConstants.COPYFILE_EXCL);
        const fh = await open(tmp, fsConstants.O_RDWR | O_NOFOLLOW);
        try {
          await fh.chmod(VAULT_FILE_MODE); // a copy takes the staged file's mode
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      return;
    }
    await syncFolder(dirname(path));
  }

  // The create-only write of both puts: `write` creates and fills a temp file in the object's folder
  // (link() cannot cross file systems) and flushes it; the temp file is hard-linked to the name (which
  // fails when it is taken, where rename() would replace) and removed.
  private async putViaTemp(name: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const dir = dirname(this.pathOf(name));
    const tmp = join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    try {
      await this.prepareFolders(name);
      await write(tmp);
      await this.linkCreateOnly(name, tmp, this.pathOf(name));
    } catch (err) {
      // ENOENT while writing means the store vanished underneath us, not a missing object.
      throw nativeError(err, name, 'write', 'io');
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await syncFolder(dir);
  }

  // link() into the object's folder (prepareFolders made it), reporting a taken name as `exists`. link()
  // never follows a link at the new name: one planted there makes it fail, and is then named as unsafe.
  private async linkCreateOnly(name: string, from: string, path: string): Promise<void> {
    try {
      await link(from, path);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      const taken = await lstat(path).catch(() => undefined);
      if (taken && !taken.isFile() && !taken.isDirectory()) throw this.unsafe(name, describeStats(taken));
      throw new StorageError('exists', name, `Object already exists: ${name}`, { cause: err });
    }
  }

  // Ranged reads (restore reads blob after blob from the same packs) keep a few handles open: objects
  // never change, so a handle and its size stay valid until the object is deleted here. A handle that
  // leaves the cache is closed when the last read using it has finished.
  private readonly readers = new Map<string, Promise<Reader>>();
  private static readonly MAX_READERS = 16;

  private reader(name: string): Promise<Reader> {
    let r = this.readers.get(name);
    if (r) {
      this.readers.delete(name); // re-insert: most recently used last
      this.readers.set(name, r);
      return r;
    }
    r = this.openObject(name).then(({ fh, size }) => ({ fh, size, users: 0, retired: false }));
    r.catch(() => { if (this.readers.get(name) === r) this.readers.delete(name); });
    this.readers.set(name, r);
    while (this.readers.size > LocalFolderStore.MAX_READERS) this.evict(this.readers.keys().next().value!);
    return r;
  }

  private evict(name: string): void {
    const r = this.readers.get(name);
    if (!r) return;
    this.readers.delete(name);
    void r.then((h) => { h.retired = true; if (h.users === 0) return h.fh.close(); return undefined; }, () => undefined);
  }

  async get(name: string, range?: ByteRange): Promise<Buffer> {
    checkName(name);
    if (range !== undefined) return this.getRange(name, range);
    const { fh, size } = await this.openObject(name);
    try {
      // Exactly the size fstat gave (and checked): an object never grows, so more is never read.
      checkObjectSize(name, size);
      const buf = Buffer.allocUnsafe(size);
      for (let done = 0; done < size;) {
        const { bytesRead } = await fh.read(buf, done, size - done, done);
        if (bytesRead === 0) throw new StorageError('io', name, `Object ${name} ended early while reading`);
        done += bytesRead;
      }
      return buf;
    } catch (err) {
      throw nativeError(err, name, 'read');
    } finally {
      await fh.close();
    }
  }

  /**
   * Opens object `name` for reading: reached through real folders only, not a link itself, and a
   * regular file (checked on the open handle, so it cannot be swapped after the check).
   */
  private async openObject(name: string): Promise<{ fh: FileHandle; size: number }> {
    let fh: FileHandle;
    try {
      await this.requireFolders(name, 'read');
      if (O_NOFOLLOW === 0) await this.refuseLink(name);
      fh = await open(this.pathOf(name), READ_FLAGS);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') throw this.unsafe(name, 'a symbolic link');
      // ENOENT is `not-found` only while the root is there: a gone root (unplugged disk) is `unavailable`.
      if (errnoOf(err) === 'ENOENT') await this.ensureRoot(name);
      // A socket (ENXIO) or a device cannot even be opened: named like any other special file.
      const st = err instanceof StorageError ? undefined : await lstat(this.pathOf(name)).catch(() => undefined);
      if (st && !st.isFile() && !st.isDirectory()) throw this.unsafe(name, describeStats(st));
      throw nativeError(err, name, 'read');
    }
    try {
      const st = await fh.stat();
      if (st.isFile()) return { fh, size: st.size };
      throw st.isDirectory() ? new StorageError('io', name, `Not a file: ${this.pathOf(name)}`) : this.unsafe(name, describeStats(st));
    } catch (err) {
      await fh.close();
      throw nativeError(err, name, 'read');
    }
  }

  private async getRange(name: string, range: ByteRange): Promise<Buffer> {
    const h = await this.reader(name);
    checkRange(name, range, h.size);
    checkObjectSize(name, range.length, 'range');
    const buf = Buffer.allocUnsafe(range.length);
    let done = 0;
    h.users++;
    try {
      while (done < range.length) {
        const { bytesRead } = await h.fh.read(buf, done, range.length - done, range.offset + done);
        // Objects are never rewritten, so a short read means the file was damaged under us.
        if (bytesRead === 0) throw new StorageError('io', name, `Object ${name} ended early while reading`);
        done += bytesRead;
      }
    } catch (err) {
      this.evict(name);
      throw nativeError(err, name, 'read');
    } finally {
      if (--h.users === 0 && h.retired) await h.fh.close().catch(() => undefined);
    }
    return buf;
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    checkName(name);
    try {
      await this.requireFolders(name, 'stat');
      const st = await lstat(this.pathOf(name));
      if (st.isFile()) return { name, size: st.size, modified: st.mtimeMs };
      throw st.isDirectory() ? new StorageError('io', name, `Not a file: ${this.pathOf(name)}`) : this.unsafe(name, describeStats(st));
    } catch (err) {
      if (isStorageError(err, 'not-found')) return undefined;
      if (errnoOf(err) === 'ENOENT') {
        await this.ensureRoot(name);
        return undefined;
      }
      throw nativeError(err, name, 'stat');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkObjectPrefix(prefix);
    // Only the folder the prefix points into is read; `partial` filters its entries, and below
    // them every entry matches.
    const cut = prefix.lastIndexOf('/') + 1;
    const base = prefix.slice(0, cut);
    const partial = prefix.slice(cut);
    // The folders down to the one the prefix points into are checked like an object's; below it,
    // readdir tells each entry's type without following it.
    let walk: FolderWalk;
    try {
      walk = await this.walkFolders(base);
    } catch (err) {
      throw nativeError(err, prefix, 'list');
    }
    if (walk !== 'present') {
      // Nothing under the prefix (`blocked`: an object sits where the folder would be).
      if (walk === 'missing') await this.ensureRoot(prefix);
      return;
    }
    const pending = [base];
    for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
      const dir = this.pathOf(rel);
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = errnoOf(err);
        // Gone since its parent was read (or, for the base, since it was checked).
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          if (rel === base) await this.ensureRoot(prefix);
          continue;
        }
        throw nativeError(err, prefix, 'list');
      }
      const files: string[] = [];
      for (const e of entries) {
        const n = e.name;
        if ((rel === base && !n.startsWith(partial)) || !isValidSegment(n)) continue;
        if (e.isDirectory()) pending.push(`${rel}${n}/`);
        else if (n.startsWith(TEMP_PREFIX)) continue; // a put in flight, or one a killed process left (prune sweeps those)
        else if (e.isFile()) files.push(n);
        else throw this.unsafe(rel + n, describeStats(e));
      }
      for (let i = 0; i < files.length; i += STAT_BATCH) {
        const batch = files.slice(i, i + STAT_BATCH);
        const stats = await Promise.all(batch.map((n) => lstat(join(dir, n)).catch((err: unknown) => {
          if (errnoOf(err) === 'ENOENT') return undefined; // deleted while we listed
          throw nativeError(err, rel + n, 'list');
        })));
        for (const [j, n] of batch.entries()) {
          const st = stats[j];
          if (st === undefined) continue;
          if (!st.isFile()) throw this.unsafe(rel + n, describeStats(st)); // replaced since readdir
          yield { name: rel + n, size: st.size, modified: st.mtimeMs };
        }
      }
    }
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    this.evict(name);
    try {
      // Only a regular file reached through real folders is removed: through a planted link, a delete
      // would remove a file elsewhere on the server (any lock, any 64-hex name).
      await this.requireFolders(name, 'delete');
      const st = await lstat(this.pathOf(name));
      if (st.isDirectory()) throw new StorageError('io', name, `Cannot delete object: ${name} is a folder`);
      if (!st.isFile()) throw this.unsafe(name, describeStats(st));
      await unlink(this.pathOf(name));
    } catch (err) {
      if (isStorageError(err, 'not-found')) return;
      if (errnoOf(err) === 'ENOENT') return this.ensureRoot(name);
      throw nativeError(err, name, 'delete');
    }
  }

  async close(): Promise<void> {
    const handles = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(handles.map((r) => r.then((h) => { h.retired = true; return h.users === 0 ? h.fh.close() : undefined; }, () => undefined)));
  }

  /**
   * Removes temp files of puts that never finished (a killed process leaves its `.tmp-*` behind) under
   * `prefix`, when older than `olderThanMs`: a younger one may belong to a put still running. Returns
   * how many were removed. Called by prune, which holds the exclusive lock of the prefix.
   */
  async sweepTemporary(prefix: string, olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    // Best effort, like the sweep itself: a prefix reached through a link (refused by every other
    // operation) is not swept, and links below it are neither followed nor removed.
    const reachable = await this.walkFolders(prefix.endsWith('/') ? prefix : `${prefix}/`).then((w) => w === 'present', () => false);
    if (!reachable) return 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile() && e.name.startsWith(TEMP_PREFIX)) {
          const st = await lstat(path).catch(() => undefined);
          if (st?.isFile() && st.mtimeMs < cutoff && (await unlink(path).then(() => true, () => false))) removed++;
        }
      }
    };
    await walk(this.pathOf(prefix));
    return removed;
  }

  /**
   * Checks the folders on the way to `name` (every segment but the last; all of them for a name that
   * ends in `/`): each must be a real folder. A link or special file there is `unsafe`.
   */
  private async walkFolders(name: string): Promise<FolderWalk> {
    const segments = name.split('/');
    segments.pop(); // the object itself, or the empty segment after a trailing '/'
    let rel = '';
    for (const segment of segments) {
      rel = rel === '' ? segment : `${rel}/${segment}`;
      const st = await lstat(this.pathOf(rel)).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (st === undefined) return 'missing';
      if (st.isDirectory()) continue;
      if (st.isFile()) return 'blocked';
      throw this.unsafe(rel, describeStats(st));
    }
    return 'present';
  }

  /** walkFolders for an object that must be there: a missing folder is a missing object (`not-found`). */
  private async requireFolders(name: string, action: string): Promise<void> {
    const walk = await this.walkFolders(name);
    if (walk === 'blocked') throw new StorageError('io', name, `Cannot ${action} object: ${name} (a file stands where a folder of its name should be)`);
    if (walk === 'missing') {
      await this.ensureRoot(name); // a gone root (unplugged disk) is `unavailable`, not a missing object
      throw new StorageError('not-found', name, `Object not found: ${name}`);
    }
  }

  /**
   * walkFolders, creating the missing folders (owner-only) — but never the root: recreating the root
   * of an unplugged disk would write the vault onto the mount point. mkdir() fails on an existing
   * name, so a link planted meanwhile is never written through; it is found and named next round.
   */
  private async prepareFolders(name: string): Promise<void> {
    for (;;) {
      const walk = await this.walkFolders(name);
      if (walk === 'present') return;
      if (walk === 'blocked') throw new StorageError('io', name, `Cannot write object: ${name} (a file stands where a folder of its name should be)`);
      let rel = '';
      for (const segment of name.split('/').slice(0, -1)) {
        rel = rel === '' ? segment : `${rel}/${segment}`;
        try {
          await mkdir(this.pathOf(rel), { mode: VAULT_FOLDER_MODE });
        } catch (err) {
          const code = errnoOf(err);
          if (code === 'EEXIST') continue; // checked by the next walk
          if (code === 'ENOENT') await this.ensureRoot(name);
          throw err;
        }
      }
    }
  }

  /** Throws `unsafe` when the object's own name is a link (only where open() cannot refuse one). */
  private async refuseLink(name: string): Promise<void> {
    const st = await lstat(this.pathOf(name)).catch(() => undefined);
    if (st?.isSymbolicLink()) throw this.unsafe(name, 'a symbolic link');
  }

  /** The refusal of something that is neither a regular file nor a real folder, naming it. */
  private unsafe(rel: string, what: string): StorageError {
    return new StorageError('unsafe', rel, `${this.pathOf(rel)} is ${what}. A vault folder holds only regular files and folders; AzBackup follows no links in it and left this untouched`);
  }

  /** File path of an object name, or folder path of a `/`-terminated prefix. */
  private pathOf(name: string): string {
    return join(this.location, ...name.split('/').filter((s) => s !== ''));
  }

  /** Throws `unavailable` unless the root folder is still there. */
  private async ensureRoot(name: string): Promise<void> {
    const ok = await stat(this.location).then((st) => st.isDirectory(), () => false);
    if (!ok) throw new StorageError('unavailable', name, `Vault folder ${this.location} is no longer available`);
  }
}

/** What a file-system entry is, for messages. */
function describeStats(st: Stats | Dirent): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  return st.isFile() ? 'a file' : 'neither a file nor a folder';
}

/** checkObjectName, plus the temp-file names: reading one could return a partly written object. */
function checkName(name: string): void {
  checkObjectName(name);
  if (name.slice(name.lastIndexOf('/') + 1).startsWith(TEMP_PREFIX)) {
    throw new StorageError('invalid-name', name, `Object names ending in a '${TEMP_PREFIX}…' segment are reserved: '${name}'`);
  }
}

/** A folder entry can be (part of) an object name only if it is a valid name segment. */
function isValidSegment(segment: string): boolean {
  try {
    checkObjectName(segment);
    return true;
  } catch {
    return false;
  }
}

/** Throws `bad-range` unless `range` is whole numbers lying inside an object of `size` bytes. */
function checkRange(name: string, { offset, length }: ByteRange, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new StorageError('bad-range', name, `Range ${offset}+${length} lies outside object ${name} (${size} bytes)`);
  }
}

/** Flushes a folder's entries (the new link) to disk. Best effort: Windows cannot open a folder for fsync. */
// Flushes a staged file before the object's name points at it. Opened for writing: Windows flushes only
// through a handle with write access (FlushFileBuffers; a read-only one fails with EPERM).
async function flushStaged(source: string): Promise<void> {
  const fh = await open(source, fsConstants.O_RDWR | O_NOFOLLOW);
  try {
    // The object will be this very file (a second name of it): it must be as private as put()'s.
    if (process.platform !== 'win32' && ((await fh.stat()).mode & 0o077) !== 0) await fh.chmod(VAULT_FILE_MODE);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Some file systems (network mounts) refuse fsync on a folder; the object is written regardless.
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Maps a Node fs error to a StorageError; only ENOENT becomes `notFound`, so nothing else looks absent. */
function nativeError(err: unknown, name: string, action: string, notFound: StorageErrorKind = 'not-found'): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoOf(err);
  const kind: StorageErrorKind = code === 'ENOENT' ? notFound : code === 'EACCES' || code === 'EPERM' ? 'denied' : 'io';
  const what = kind === 'not-found' ? 'Object not found' : `Cannot ${action} object`;
  return new StorageError(kind, name, `${what}: ${name} (${code ?? (err as Error)?.message ?? String(err)})`, { cause: err });
}
