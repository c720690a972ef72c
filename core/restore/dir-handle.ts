// Folders reached by handle, so that a restore never resolves a path through a link it did not create,
// even when a local user swaps folders for links while it runs (root restoring a user's home in place).
//
// Linux: every folder is opened with O_DIRECTORY|O_NOFOLLOW, and a name inside it is reached as
// /proc/self/fd/<fd>/<name>. The kernel resolves /proc/self/fd/<fd> to the opened folder itself (not to
// its path, which may have changed since), and looks up only <name> inside it. Together with calls that
// do not follow a final link (open with O_NOFOLLOW, lstat, lchown, lutimes, mkdir, symlink, link, rename,
// unlink) nothing is reached through a link: this is openat() for Node, which has none. Metadata of a
// folder is set on its handle (fchown, fchmod, futimes).
//
// Elsewhere (Windows, or no /proc): plain paths, checked with lstat as they are walked. That is NOT
// hardened against links swapped in while a restore runs.
import { closeSync, constants as FS, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { AzbError } from '../protocol/errors.js';

const SLASH = 0x2f;
const O_DIR_NOFOLLOW = FS.O_RDONLY | FS.O_DIRECTORY | (FS.O_NOFOLLOW ?? 0);
/** Folders whose handles stay open while unused; more are closed (oldest use first) and reopened by name. */
const IDLE_HANDLES_KEPT = 256;
/** Links followed in one path, as the kernel's limit (ELOOP). */
const MAX_LINK_HOPS = 40;

/** True where folders are reached by handle (Linux with /proc); false: path-based, not hardened. */
export const BY_HANDLE: boolean = process.platform === 'linux' && procFdWorks();

function procFdWorks(): boolean {
  try {
    const fd = openSync('/', O_DIR_NOFOLLOW);
    try {
      const viaFd = statSync(`/proc/self/fd/${fd}/.`);
      const root = statSync('/');
      return viaFd.ino === root.ino && viaFd.dev === root.dev;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export function joinPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === SLASH ? Buffer.concat([dir, name]) : Buffer.concat([dir, Buffer.from('/'), name]);
}

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** A folder that is not the one restore created or walked: a link or another folder was put in its place. */
export class DirChangedError extends Error {
  constructor(readonly path: Buffer) {
    super(`${path.toString('utf8')} was replaced while the restore ran`);
  }
}

/**
 * One folder of a restore. Use it between acquire() and release(): while in use its handle stays open,
 * so at(name) keeps reaching this very folder. An unused handle may be closed; acquire() reopens it from
 * its parent by name, without following a link, and checks it is still the same folder (device, inode).
 */
export class DirHandle {
  private fd: number | undefined;
  private users = 0;

  constructor(
    private readonly table: DirHandles,
    /** The folder's path, for messages (and the path used where folders are not reached by handle). */
    readonly path: Buffer,
    /** Where it was reached from: reopened from there by name. Undefined: pinned (kept open throughout). */
    private readonly parent: DirHandle | undefined,
    private readonly name: Buffer,
    fd: number | undefined,
    private readonly dev: bigint,
    private readonly ino: bigint,
  ) {
    this.fd = fd;
  }

  /** Pinned folders (the target, the path to it, the parents of an original location) are never closed. */
  get pinned(): boolean { return this.parent === undefined; }

  /** The path of `name` inside this folder that reaches no link on the way; valid while in use. */
  at(name: Buffer): Buffer {
    if (!BY_HANDLE) return joinPath(this.path, name);
    if (this.fd === undefined) throw new Error(`internal: ${this.path.toString('utf8')} used without acquire()`);
    return Buffer.concat([Buffer.from(`/proc/self/fd/${this.fd}/`), name]);
  }

  /** The path of `name` inside this folder, for messages. */
  shown(name: Buffer): Buffer { return joinPath(this.path, name); }

  /** The open handle (Linux), for fchmod, futimes and fchown. */
  handle(): number | undefined { return this.fd; }

  acquire(): void {
    if (BY_HANDLE && this.fd === undefined) this.reopen();
    this.users++;
    this.table.inUse(this);
  }

  release(): void {
    this.users--;
    if (this.users === 0) this.table.idle(this);
  }

  /** Runs `work` with this folder in use. */
  use<T>(work: () => T): T {
    this.acquire();
    try { return work(); } finally { this.release(); }
  }

  /** Closes the handle if unused (the table calls this); returns whether it did. */
  closeIfUnused(): boolean {
    if (this.users > 0 || this.pinned || this.fd === undefined) return false;
    closeSync(this.fd);
    this.fd = undefined;
    return true;
  }

  /** Closes the handle whatever its use (at the end of a restore). */
  close(): void {
    if (this.fd !== undefined) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = undefined; }
  }

  // The closed folders between this one and the nearest open one are reopened from the top down, in a
  // loop: a restore may be thousands of folders deep, too deep to recurse up the chain.
  private reopen(): void {
    const chain: DirHandle[] = [];
    for (let d: DirHandle | undefined = this; d !== undefined && d.fd === undefined && !d.pinned; d = d.parent) chain.push(d);
    for (let i = chain.length - 1; i >= 0; i--) chain[i]!.openFromParent();
  }

  /** Opens this folder from its parent, which has a handle; checks it is still the same folder. */
  private openFromParent(): void {
    const parent = this.parent!;
    parent.acquire();
    try {
      let fd: number;
      try { fd = openSync(parent.at(this.name), O_DIR_NOFOLLOW); } catch { throw new DirChangedError(this.path); }
      const st = fstatSync(fd, { bigint: true });
      if (st.dev !== this.dev || st.ino !== this.ino) { closeSync(fd); throw new DirChangedError(this.path); }
      this.fd = fd;
    } finally {
      parent.release();
    }
  }

  /**
   * The folder `name` inside this one (in use), created owner-only (0700) when missing and `create` is set.
   * Undefined when something else is there: a file, a link (never followed, unless `followTrustedLinks`
   * and the link is trusted, see isTrustedLink), or, right after mkdir, a folder restore did not make.
   */
  child(name: Buffer, o: { create: boolean; followTrustedLinks?: boolean; pinned?: boolean }): { dir: DirHandle; created: boolean } | undefined {
    return BY_HANDLE ? this.childByHandle(name, o, 0) : this.childByPath(name, o);
  }

  private childByHandle(name: Buffer, o: { create: boolean; followTrustedLinks?: boolean; pinned?: boolean }, hops: number): { dir: DirHandle; created: boolean } | undefined {
    let created = false;
    if (o.create) {
      try {
        mkdirSync(this.at(name), { mode: 0o700 });
        created = true;
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
    }
    let fd: number;
    try {
      fd = openSync(this.at(name), O_DIR_NOFOLLOW);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' && !o.create) return undefined;
      // A link gives ELOOP, or ENOTDIR with O_DIRECTORY: followTrustedLink looks at what is there.
      if ((code === 'ELOOP' || code === 'ENOTDIR') && o.followTrustedLinks && !created) {
        const dir = this.followTrustedLink(name, hops);
        return dir ? { dir, created: false } : undefined;
      }
      if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') return undefined;
      throw err;
    }
    const st = fstatSync(fd, { bigint: true });
    // A folder made a moment ago must be the one made: another put in its place (renamed in by a user
    // who can write here) is refused.
    if (!st.isDirectory() || (created && st.uid !== BigInt(process.geteuid?.() ?? -1))) { closeSync(fd); return undefined; }
    const dir = new DirHandle(this.table, this.shown(name), o.pinned ? undefined : this, name, fd, st.dev, st.ino);
    this.table.opened(dir);
    return { dir, created };
  }

  /** The folder a trusted link at `name` leads to, walked by handle from here (or from "/"); undefined if not trusted. */
  private followTrustedLink(name: Buffer, hops: number): DirHandle | undefined {
    if (hops >= MAX_LINK_HOPS) return undefined;
    const link = lstatSync(this.at(name));
    if (!link.isSymbolicLink() || !isTrustedLink(link, fstatSync(this.fd!))) return undefined;
    const target = readlinkSync(this.at(name), { encoding: 'buffer' });
    let cur: DirHandle = target[0] === SLASH ? this.table.systemRoot() : this;
    const parts = splitBytes(target);
    for (const part of parts) {
      if (part.equals(DOT)) continue;
      // ".." is the real parent of the folder reached so far, never a link.
      const next = cur.use(() => cur.childByHandle(part, { create: false, followTrustedLinks: true, pinned: true }, hops + 1));
      if (!next) return undefined;
      cur = next.dir;
    }
    return cur;
  }

  // Path-based fallback: lstat, then mkdir; a link found is never followed (not hardened against a swap).
  private childByPath(name: Buffer, o: { create: boolean; pinned?: boolean }): { dir: DirHandle; created: boolean } | undefined {
    const path = joinPath(this.path, name);
    let st: Stats | undefined;
    try { st = lstatSync(path); } catch (err) { if (errnoOf(err) !== 'ENOENT') throw err; }
    let created = false;
    if (!st) {
      if (!o.create) return undefined;
      mkdirSync(path, { mode: 0o700 });
      created = true;
    } else if (!st.isDirectory()) {
      return undefined;
    }
    return { dir: new DirHandle(this.table, path, o.pinned ? undefined : this, name, undefined, 0n, 0n), created };
  }
}

const DOT = Buffer.from('.');

function splitBytes(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) parts.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/**
 * A link in the path to a restore's target or original location is followed only when no other user
 * could have put it there: it and the folder holding it belong to root (or to the restoring user), and
 * that folder is writable by its owner only (so not /tmp). Links such as /lib → usr/lib qualify.
 */
export function isTrustedLink(link: Stats, folder: Stats): boolean {
  const trusted = (uid: number) => uid === 0 || uid === process.geteuid?.();
  return trusted(link.uid) && trusted(folder.uid) && (folder.mode & 0o022) === 0;
}

/** Every folder handle of one restore: pins the top ones, keeps a bounded number of unused ones open. */
export class DirHandles {
  private readonly idleOpen = new Set<DirHandle>(); // unused, handle open; oldest use first
  private readonly all: DirHandle[] = [];
  private root: DirHandle | undefined;

  /** "/" (Linux), opened once. */
  systemRoot(): DirHandle {
    if (!this.root) this.root = this.openPinned(Buffer.from('/'));
    return this.root;
  }

  /** A pinned folder at an absolute path that is not walked by this table (the start of a walk). */
  private openPinned(path: Buffer): DirHandle {
    if (!BY_HANDLE) return new DirHandle(this, path, undefined, Buffer.alloc(0), undefined, 0n, 0n);
    const fd = openSync(path, O_DIR_NOFOLLOW);
    const st = fstatSync(fd, { bigint: true });
    const dir = new DirHandle(this, path, undefined, Buffer.alloc(0), fd, st.dev, st.ino);
    this.all.push(dir);
    return dir;
  }

  /** A folder reached by a path that was walked without this table (the path-based fallback only). */
  pathFolder(path: Buffer): DirHandle {
    return new DirHandle(this, path, undefined, Buffer.alloc(0), undefined, 0n, 0n);
  }

  opened(dir: DirHandle): void {
    this.all.push(dir);
    if (!dir.pinned) this.idle(dir);
  }

  inUse(dir: DirHandle): void { this.idleOpen.delete(dir); }

  idle(dir: DirHandle): void {
    if (dir.pinned || dir.handle() === undefined) return;
    this.idleOpen.delete(dir);
    this.idleOpen.add(dir);
    for (const old of this.idleOpen) {
      if (this.idleOpen.size <= IDLE_HANDLES_KEPT) break;
      this.idleOpen.delete(old);
      old.closeIfUnused();
    }
  }

  closeAll(): void {
    for (const d of this.all) d.close();
    this.idleOpen.clear();
  }
}

/** Raised for a path that restore refuses to go through; the caller words it for the target or an item. */
export function linkInTheWay(path: Buffer): AzbError {
  return new AzbError('AZB_RESTORE_TARGET_LINK', `${path.toString('utf8')} is a symbolic link, or lies below one that another user could have placed; restore does not follow it.`, {
    target: path.toString('utf8'), hint: 'Give the real path of the folder (without links), or remove the link.',
  });
}
