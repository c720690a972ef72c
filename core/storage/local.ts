// The vault as a local (or mounted network) folder: one file per object, `/` in a name becomes a
// folder level. Create-only puts write a temp file next to the target and hard-link it into place,
// because link() fails with EEXIST instead of replacing (rename() would silently overwrite).
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, lstat, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  StorageError, checkObjectName, checkObjectPrefix,
  type ByteRange, type ObjectInfo, type ObjectStore, type StorageErrorKind,
} from './storage.js';
import { makeDirs } from '../fs/make-dirs.js';

/** Name start of in-flight temp files; such files are never objects and list() never reports them. */
export const TEMP_PREFIX = '.tmp-';

/** link() failures that mean "no hard link here" (not "name taken"): putFile copies instead. */
const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** How many lstat() calls list() has in flight at once (a pack folder may hold thousands of files). */
const STAT_BATCH = 64;

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

/** ObjectStore over a folder. Use openLocalFolderStore, which checks the folder first. */
/** An open handle for ranged reads, shared by concurrent reads of one object. */
interface Reader { fh: FileHandle; size: number; users: number; retired: boolean }

export class LocalFolderStore implements ObjectStore {
  /** `location` must be the absolute path of an existing folder. */
  constructor(readonly location: string) {}

  async put(name: string, data: Uint8Array): Promise<void> {
    checkName(name);
    await this.putViaTemp(name, async (tmp) => {
      const fh = await this.createTemp(name, tmp);
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
      const src = await open(source, 'r');
      try { await src.sync(); } finally { await src.close(); } // on disk before the name points at it
      await this.linkCreateOnly(name, source, path);
    } catch (err) {
      if (!CANNOT_LINK.has(errnoOf(err) ?? '') || err instanceof StorageError) throw nativeError(err, name, 'write', 'io');
      // The object's folder exists now (linkCreateOnly made it): the temp file goes there.
      await this.putViaTemp(name, async (tmp) => {
        await copyFile(source, tmp, fsConstants.COPYFILE_EXCL);
        const fh = await open(tmp, 'r+');
        try { await fh.sync(); } finally { await fh.close(); }
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

  // link() that creates the object's folder when missing and reports a taken name as `exists`.
  private async linkCreateOnly(name: string, from: string, path: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(from, path);
        return;
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'EEXIST') throw new StorageError('exists', name, `Object already exists: ${name}`, { cause: err });
        if (code !== 'ENOENT' || attempt > 0) throw err;
      }
      await this.ensureRoot(name);
      await makeDirs(dirname(path));
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
    r = (async () => {
      const fh = await open(this.pathOf(name), 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new StorageError('io', name, `Not a file: ${this.pathOf(name)}`);
        return { fh, size: st.size, users: 0, retired: false };
      } catch (err) {
        await fh.close();
        throw err;
      }
    })();
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
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(name), 'r');
    } catch (err) {
      // ENOENT is `not-found` only while the root is there: a gone root (unplugged disk) is `unavailable`.
      if (errnoOf(err) === 'ENOENT') await this.ensureRoot(name);
      throw nativeError(err, name, 'read');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new StorageError('io', name, `Not a file: ${this.pathOf(name)}`);
      return await fh.readFile();
    } catch (err) {
      throw nativeError(err, name, 'read');
    } finally {
      await fh.close();
    }
  }

  private async getRange(name: string, range: ByteRange): Promise<Buffer> {
    let h: Reader;
    try {
      h = await this.reader(name);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (errnoOf(err) === 'ENOENT') await this.ensureRoot(name);
      throw nativeError(err, name, 'read');
    }
    checkRange(name, range, h.size);
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
      const st = await stat(this.pathOf(name));
      if (!st.isFile()) throw new StorageError('io', name, `Not a file: ${this.pathOf(name)}`);
      return { name, size: st.size, modified: st.mtimeMs };
    } catch (err) {
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
    const pending = [base];
    for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
      const dir = this.pathOf(rel);
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (err) {
        const code = errnoOf(err);
        // Nothing under the prefix (ENOTDIR: an object sits where the folder would be).
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          if (rel === base) await this.ensureRoot(prefix);
          continue;
        }
        throw nativeError(err, prefix, 'list');
      }
      const names = entries.filter((n) => (rel !== base || n.startsWith(partial)) && isValidSegment(n));
      for (let i = 0; i < names.length; i += STAT_BATCH) {
        const batch = names.slice(i, i + STAT_BATCH);
        const stats = await Promise.all(batch.map((n) => lstat(join(dir, n)).catch((err: unknown) => {
          if (errnoOf(err) === 'ENOENT') return undefined; // deleted while we listed
          throw nativeError(err, rel + n, 'list');
        })));
        for (const [j, n] of batch.entries()) {
          const st = stats[j];
          // Symlinks are skipped: a store never creates them, and following them could loop.
          if (st?.isDirectory()) pending.push(`${rel}${n}/`);
          else if (st?.isFile() && !n.startsWith(TEMP_PREFIX)) yield { name: rel + n, size: st.size, modified: st.mtimeMs };
        }
      }
    }
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    this.evict(name);
    try {
      await unlink(this.pathOf(name));
    } catch (err) {
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
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile() && e.name.startsWith(TEMP_PREFIX)) {
          const st = await lstat(path).catch(() => undefined);
          if (st && st.mtimeMs < cutoff && (await unlink(path).then(() => true, () => false))) removed++;
        }
      }
    };
    await walk(this.pathOf(prefix));
    return removed;
  }

  /** Creates the temp file, and its folders when missing, but never the root: recreating the root of
   * an unplugged disk would write the vault onto the mount point. */
  private async createTemp(name: string, tmp: string): Promise<FileHandle> {
    try {
      return await open(tmp, 'wx');
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    await this.ensureRoot(name);
    await makeDirs(dirname(tmp));
    return open(tmp, 'wx');
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
