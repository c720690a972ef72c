// The source walk: lstat of every entry under the sources, names kept as raw bytes (Linux names need
// not be UTF-8). One pass gives the tree to back up and the totals for progress and the space check.
import { compileGlobs, type GlobMatcher } from '../fs/glob.js';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { constants as FS, type BigIntStats } from 'node:fs';

/** The part of lstat a backup needs, kept compact: a scan of millions of files holds one per entry. */
export interface EntryStat {
  mode: number; uid: number; gid: number; size: number; nlink: number; sparse: boolean;
  mtimeNs: string; ctimeNs: string; dev: string; ino: string;
}

/**
 * `devAlias`: a source read from a snapshot has the snapshot's st_dev, another each time; its entries
 * carry the st_dev of the original instead, so that the metadata cache (keyed by path, checked by dev,
 * inode, size and times) knows them from one backup to the next, snapshot or not.
 */
function compact(st: BigIntStats, devAlias?: { from: bigint; to: bigint }): EntryStat {
  const dev = devAlias && st.dev === devAlias.from ? devAlias.to : st.dev;
  return {
    mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), nlink: Number(st.nlink),
    sparse: st.blocks * 512n < st.size, mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), dev: dev.toString(), ino: st.ino.toString(),
  };
}
import { AzbError } from '../protocol/errors.js';
import { escapeSkipped, skippedFor, skippedSpecial } from './skip-report.js';
import { NESTED_SUBVOLUME_INO, SNAPSHOT_FOLDER, SUBVOLUME_ROOT_INO } from '../snapshot/btrfs.js';

/**
 * One entry found by the scan. `children` is set for directories that could be listed. Names and paths
 * are the raw bytes as latin1 strings (one char per byte, lossless, and far smaller than Buffers);
 * `bytesOf` turns them back into the bytes the file system wants.
 */
export interface ScanEntry {
  name: string;
  path: string;
  st: EntryStat;
  kind: 'file' | 'dir' | 'symlink';
  children?: ScanEntry[];
}

const KIND_CODES = { file: 0, dir: 1, symlink: 2 } as const;
const KINDS = ['file', 'dir', 'symlink'] as const;
const SPARSE_BIT = 4;

/**
 * A scanned folder. Its files and links are kept packed (names in one string, numbers in typed arrays:
 * about 70 bytes an entry instead of about 360 as objects), and become ScanEntry objects only when
 * `children` is read: the backup reads a folder's children when it reaches it and drops them
 * (`children = undefined`) when the folder is done, so a scan of millions of files is held in a fraction
 * of the memory. Reading `children` twice gives the same objects until they are dropped.
 */
export class ScanDir implements ScanEntry {
  /** Entries made from packed folders and not yet dropped, in this process, and the most at once (tests). */
  static readonly unpacked = { now: 0, peak: 0 };
  readonly kind = 'dir' as const;
  private packed: PackedEntries | undefined;
  private unpacked: ScanEntry[] | undefined;

  constructor(readonly name: string, readonly path: string, readonly st: EntryStat, children: { name: string; st: BigIntStats; kind: ScanEntry['kind']; dir?: ScanEntry }[], devAlias?: { from: bigint; to: bigint }) {
    this.packed = children.length > 0 ? packEntries(children, devAlias) : undefined;
  }

  get children(): ScanEntry[] | undefined {
    if (this.unpacked === undefined && this.packed !== undefined) {
      this.unpacked = unpackEntries(this.packed, this.path);
      ScanDir.unpacked.now += this.unpacked.length;
      ScanDir.unpacked.peak = Math.max(ScanDir.unpacked.peak, ScanDir.unpacked.now);
    }
    return this.unpacked ?? (this.packed === undefined && !this.dropped ? [] : undefined);
  }

  /** Dropped (undefined): the folder is done with and its entries can go. */
  set children(list: ScanEntry[] | undefined) {
    if (this.packed !== undefined && this.unpacked !== undefined) ScanDir.unpacked.now -= this.unpacked.length;
    this.unpacked = list;
    this.packed = undefined;
    this.dropped = list === undefined;
  }
  private dropped = false;

  /** Number of entries held (packed or not). */
  get childCount(): number {
    return this.unpacked?.length ?? this.packed?.kinds.length ?? 0;
  }

  /** Paths of the children (sub-folders as their entries), without making or keeping ScanEntry objects. */
  *childPaths(): Generator<{ path: string; dir?: ScanEntry }> {
    if (this.unpacked !== undefined) {
      for (const c of this.unpacked) yield c.kind === 'dir' ? { path: c.path, dir: c } : { path: c.path };
      return;
    }
    const p = this.packed;
    if (p === undefined) return;
    const prefix = this.path === '/' ? '/' : `${this.path}/`;
    let pos = 0;
    for (let i = 0; i < p.kinds.length; i++) {
      const end = p.names.indexOf('/', pos);
      const dir = p.dirs.get(i);
      if (dir !== undefined) yield { path: dir.path, dir };
      else yield { path: prefix + p.names.slice(pos, end) };
      pos = end + 1;
    }
  }
}

/** A folder's entries in typed arrays; sub-folders (and entries read elsewhere) are ScanEntry objects of their own (`dirs`, by position). */
interface PackedEntries {
  /** Every name followed by "/" (no name holds one). */
  names: string;
  /** KIND_CODES, with SPARSE_BIT. */
  kinds: Uint8Array;
  /** mode, uid, gid, nlink of each entry. */
  ints: Uint32Array;
  sizes: Float64Array;
  /** mtime and ctime (ns) of each entry. */
  times: BigInt64Array;
  /** st_dev and inode of each entry. */
  ids: BigUint64Array;
  dirs: Map<number, ScanEntry>;
}

function packEntries(children: { name: string; st: BigIntStats; kind: ScanEntry['kind']; dir?: ScanEntry }[], devAlias?: { from: bigint; to: bigint }): PackedEntries {
  const n = children.length;
  const p: PackedEntries = { names: '', kinds: new Uint8Array(n), ints: new Uint32Array(4 * n), sizes: new Float64Array(n), times: new BigInt64Array(2 * n), ids: new BigUint64Array(2 * n), dirs: new Map() };
  const names: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const c = children[i]!;
    names[i] = c.name;
    p.kinds[i] = KIND_CODES[c.kind];
    if (c.dir !== undefined) { p.dirs.set(i, c.dir); continue; }
    const st = c.st;
    if (st.blocks * 512n < st.size) p.kinds[i]! |= SPARSE_BIT;
    p.ints[4 * i] = Number(st.mode); p.ints[4 * i + 1] = Number(st.uid); p.ints[4 * i + 2] = Number(st.gid); p.ints[4 * i + 3] = Number(st.nlink);
    p.sizes[i] = Number(st.size);
    p.times[2 * i] = st.mtimeNs; p.times[2 * i + 1] = st.ctimeNs;
    p.ids[2 * i] = devAlias && st.dev === devAlias.from ? devAlias.to : st.dev; p.ids[2 * i + 1] = st.ino;
  }
  p.names = names.length > 0 ? `${names.join('/')}/` : '';
  return p;
}

function unpackEntries(p: PackedEntries, path: string): ScanEntry[] {
  const prefix = path === '/' ? '/' : `${path}/`;
  const out: ScanEntry[] = new Array(p.kinds.length);
  let pos = 0;
  let devText = '';
  let devOf = -1n;
  for (let i = 0; i < p.kinds.length; i++) {
    const end = p.names.indexOf('/', pos);
    const name = p.names.slice(pos, end);
    pos = end + 1;
    const dir = p.dirs.get(i);
    if (dir !== undefined) { out[i] = dir; continue; }
    const dev = p.ids[2 * i]!;
    if (dev !== devOf) { devOf = dev; devText = dev.toString(); } // one string for the many entries of one device
    out[i] = {
      name, path: prefix + name, kind: KINDS[p.kinds[i]! & 3]!,
      st: {
        mode: p.ints[4 * i]!, uid: p.ints[4 * i + 1]!, gid: p.ints[4 * i + 2]!, nlink: p.ints[4 * i + 3]!, size: p.sizes[i]!, sparse: (p.kinds[i]! & SPARSE_BIT) !== 0,
        mtimeNs: p.times[2 * i]!.toString(), ctimeNs: p.times[2 * i + 1]!.toString(), dev: devText, ino: p.ids[2 * i + 1]!.toString(),
      },
    };
  }
  return out;
}

/** The raw bytes of a scan name or path. */
export function bytesOf(latin1: string): Buffer {
  return Buffer.from(latin1, 'latin1');
}

/**
 * A path the backup left out: `path` as escapeSkipped writes it (core/backup/skip-report.ts: unambiguous
 * for newlines and bytes that are not UTF-8), a stable `code` (SKIP_CODES, AZB_SOURCE_* for a refused
 * mount) and the `reason` in words.
 */
export interface Skipped { path: string; code: string; reason: string }

/** Result of a scan. */
export interface ScanResult {
  roots: { source: string; entry: ScanEntry }[]; files: number; dirs: number; bytes: number;
  /** What the walk left out, sockets, FIFOs and devices included (AZB_SKIP_SPECIAL), in the order met. */
  skipped: Skipped[];
  /** Entries the exclude patterns left out (a folder counts once). */
  excluded: number;
  /** Folders whose contents --exclude-caches left out (each keeps its CACHEDIR.TAG). */
  cacheFolders: string[];
  /** Mount points below a source whose contents --one-file-system left out (each kept as an empty folder). */
  otherFileSystems: string[];
  /** Sources read from a snapshot: the path read and the source recorded (raw bytes as latin1); see recordedPath. */
  readRoots: { read: string; recorded: string }[];
  /** Mounts and nested subvolumes below a snapshotted source, which are not in its snapshot: read live. */
  notInSnapshot: string[];
}

/**
 * The path a scanned path (raw bytes as latin1) stands for: below a source read from a snapshot, the
 * original path; else the path itself. Points, the metadata cache and messages use this one.
 */
export function recordedPath(readRoots: ScanResult['readRoots'], path: string): string {
  for (const r of readRoots) if (path === r.read || path.startsWith(`${r.read}/`)) return r.recorded + path.slice(r.read.length);
  return path;
}

/**
 * How the walk treats cache folders and other file systems (restic's options of the same names): for
 * every source (true), or for the sources in the set (a policy's file specs each say their own).
 */
export interface ScanOptions {
  /** Leave out what is in a folder that holds a valid CACHEDIR.TAG, except the tag itself (as restic). */
  excludeCaches?: boolean | ReadonlySet<string>;
  /** Do not cross into another file system below a source: its mount point stays, empty (as restic). */
  oneFileSystem?: boolean | ReadonlySet<string>;
  /**
   * The mount points the walk may meet (canonical paths, raw bytes as latin1) and their check
   * (core/source/eligibility.ts mountPointGate): a refused mount is not entered, but reported.
   */
  mountGate?: { points: ReadonlySet<string>; judge(path: string): Promise<{ code: string | null; message: string; reason: string } | undefined> };
  /** st_dev of each source when its eligibility was checked: another one now means it was unmounted since. */
  expectedDev?: ReadonlyMap<string, string>;
  /**
   * Sources to read from another path (a snapshot, core/snapshot/): source → path. The walk reads the
   * path, and the result names the source (recordedPath).
   */
  readFrom?: ReadonlyMap<string, string>;
}

function appliesTo(option: boolean | ReadonlySet<string> | undefined, source: string): boolean {
  return option === true || (typeof option === 'object' && option.has(source));
}

/**
 * The rules of one source's walk. `dev`: the file system of the source (--one-file-system stays on it).
 * `root` and `canonicalRoot`: the source as walked and with its links resolved, to name the mount points met.
 */
interface SourceRules {
  dev: bigint; excludeCaches: boolean; oneFileSystem: boolean; root: string; canonicalRoot: string;
  /** Below a snapshot: the source `root` stands for (else `root`), and the dev its entries record. */
  recordedRoot: string; devAlias?: { from: bigint; to: bigint }; inSnapshot: boolean;
}

/** The path a walked path stands for (see recordedPath). */
function recorded(path: string, rules: SourceRules): string {
  return rules.root === rules.recordedRoot ? path : rules.recordedRoot + path.slice(rules.root.length);
}

/** The name and first bytes of a cache folder's tag (https://bford.info/cachedir/). */
export const CACHEDIR_TAG = 'CACHEDIR.TAG';
export const CACHEDIR_SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';

/**
 * Whether `path` (raw bytes as latin1) is a regular file that starts with the CACHEDIR.TAG signature.
 * Not followed when it is a link, and opened without blocking (a fifo of that name is no tag).
 */
async function isCacheTag(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(bytesOf(path), FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    if (!(await fh.stat()).isFile()) return false;
    const buf = Buffer.alloc(CACHEDIR_SIGNATURE.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.toString('latin1') === CACHEDIR_SIGNATURE;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}


/** Readable form of a raw path (bytes, or latin1 string of bytes) for messages. */
export function showPath(p: Buffer | string): string {
  return (typeof p === 'string' ? bytesOf(p) : p).toString('utf8');
}

function kindOf(st: BigIntStats): ScanEntry['kind'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return undefined; // sockets, fifos, devices: only file data is backed up
}

function excluded(path: string, matches: GlobMatcher | undefined): boolean {
  return matches !== undefined && matches(showPath(path));
}

/** A source the account running the backup cannot read at all: the backup stops, as for a missing one. */
function unreadableSource(path: string, err: unknown): AzbError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  const shown = showPath(path);
  if (code === 'EACCES' || code === 'EPERM') {
    return new AzbError('AZB_SOURCE_ACCESS_DENIED', `The source ${shown} cannot be read by this account (${code}); nothing was backed up.`, {
      target: shown, hint: 'Run the backup as an account that can read the source (root for system files), or give it read permission.',
    });
  }
  return new AzbError('AZB_SOURCE_NOT_FOUND', `The source ${shown} cannot be read (${code}); nothing was backed up.`, { target: shown, hint: 'Check the path; give existing files or folders to back up.' });
}

/** A file given as a source must open for reading (without following a link, without blocking). */
async function requireReadableFile(path: string, shown: string): Promise<void> {
  try {
    const fh = await open(bytesOf(path), FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
    await fh.close();
  } catch (err) {
    throw unreadableSource(shown, err);
  }
}

/**
 * Walks the sources (absolute paths). A missing source, or one this account cannot read at all, is an
 * error; entries below it that cannot be read are skipped (ScanResult.skipped says why). Of a
 * `shallow` source (a non-recursive file spec) only the entries directly in it are taken, without its
 * sub-folders.
 */
export async function scanSources(sources: string[], excludes: string[], onEntry?: (files: number, bytes: number) => void, shallow: ReadonlySet<string> = new Set(), options: ScanOptions = {}): Promise<ScanResult> {
  const result: ScanResult = { roots: [], files: 0, dirs: 0, bytes: 0, skipped: [], excluded: 0, cacheFolders: [], otherFileSystems: [], readRoots: [], notInSnapshot: [] };
  // Excludes match the path's last components at any depth (core/fs/glob.ts, README "Globs").
  const globs = excludes.length > 0 ? compileGlobs(excludes) : undefined;

  async function visit(path: string, name: string, st: BigIntStats, flat: boolean, rules: SourceRules, isRoot = false): Promise<ScanEntry | undefined> {
    const kind = kindOf(st);
    if (!kind) {
      result.skipped.push(skippedSpecial(recorded(path, rules), st));
      return undefined;
    }
    if (kind !== 'dir') {
      countLeaf(kind, st);
      return { name, path, st: compact(st, rules.devAlias), kind };
    }
    {
      result.dirs++;
      let names: string[];
      try {
        names = await readdir(bytesOf(path), { encoding: 'latin1' });
      } catch (err) {
        if (isRoot) throw unreadableSource(recorded(path, rules), err);
        result.skipped.push(skippedFor(recorded(path, rules), err, 'folder'));
        return undefined;
      }
      if (rules.excludeCaches && names.includes(CACHEDIR_TAG) && await isCacheTag(`${path === '/' ? '' : path}/${CACHEDIR_TAG}`)) {
        result.excluded += names.length - 1;
        result.cacheFolders.push(showPath(recorded(path, rules)));
        names = [CACHEDIR_TAG];
      }
      const children: { name: string; st: BigIntStats; kind: ScanEntry['kind']; dir?: ScanEntry }[] = [];
      // lstat a directory's entries concurrently: on large trees this is where the time goes.
      const stats = await Promise.all(names.map(async (n) => {
        const childPath = path === '/' ? `/${n}` : `${path}/${n}`;
        // Excludes match the path the entry stands for, not where a snapshot has it.
        if (excluded(recorded(childPath, rules), globs)) { result.excluded++; return undefined; }
        // AzBackup's own btrfs snapshots, at the root of a subvolume (core/snapshot/btrfs.ts): never walked.
        if (n === SNAPSHOT_FOLDER && st.ino === SUBVOLUME_ROOT_INO) return undefined;
        const gate = options.mountGate;
        const canonical = (rules.canonicalRoot === '/' ? '' : rules.canonicalRoot) + childPath.slice(rules.root === '/' ? 0 : rules.root.length);
        if (gate) {
          // Judged before it is touched: a dead network mount would hang the lstat.
          const refusal = gate.points.has(canonical) ? await gate.judge(canonical) : undefined;
          if (refusal && rules.oneFileSystem) {
            // Not crossed anyway: as any other file system, its folder stays without contents. A network
            // or offline mount is not even looked at (its lstat could hang).
            if (refusal.reason === 'Network' || refusal.reason === 'Offline') { result.otherFileSystems.push(showPath(recorded(childPath, rules))); result.excluded++; return undefined; }
          } else if (refusal) {
            result.skipped.push({ path: escapeSkipped(recorded(childPath, rules)), code: refusal.code ?? 'AZB_SOURCE_REFUSED', reason: refusal.message });
            return undefined;
          }
        }
        try {
          const childSt = await lstat(bytesOf(childPath), { bigint: true });
          if (flat && childSt.isDirectory()) { result.excluded++; return undefined; }
          // A snapshot holds one file system: a mount below the source, or a nested btrfs subvolume (an
          // empty folder of inode 2 in the snapshot), is not in it. Read live, and said (README).
          const notInSnapshot = rules.inSnapshot && childSt.isDirectory()
            && (gate?.points.has(canonical) === true || (childSt.ino === NESTED_SUBVOLUME_INO && childSt.dev !== rules.dev));
          if (notInSnapshot && !rules.oneFileSystem) {
            const livePath = recorded(childPath, rules);
            return { n, childPath: livePath, st: await lstat(bytesOf(livePath), { bigint: true }), live: canonical };
          }
          if ((rules.oneFileSystem && childSt.dev !== rules.dev) || notInSnapshot) {
            // As restic: a folder where another file system is mounted stays, without its contents; any
            // other entry of another file system (a file bind-mounted here) is left out.
            result.otherFileSystems.push(showPath(recorded(childPath, rules)));
            if (!childSt.isDirectory()) { result.excluded++; return undefined; }
            return { n, childPath, st: childSt, mountPoint: true };
          }
          return { n, childPath, st: childSt };
        } catch (err) {
          // Gone since its folder was listed, unreachable, or a path longer than PATH_MAX: each is named.
          result.skipped.push(skippedFor(recorded(childPath, rules), err, 'entry'));
          return undefined;
        }
      }));
      for (const s of stats) {
        if (!s) continue;
        if ('mountPoint' in s) {
          result.dirs++;
          children.push({ name: s.n, st: s.st, kind: 'dir', dir: new ScanDir(s.n, s.childPath, compact(s.st, rules.devAlias), []) });
          continue;
        }
        if ('live' in s && s.live !== undefined) {
          result.notInSnapshot.push(showPath(s.childPath));
          const liveRules: SourceRules = { ...rules, dev: s.st.dev, root: s.childPath, recordedRoot: s.childPath, canonicalRoot: s.live, inSnapshot: false };
          delete liveRules.devAlias;
          const child = await visit(s.childPath, s.n, s.st, false, liveRules);
          if (child) children.push({ name: s.n, st: s.st, kind: child.kind, dir: child });
          continue;
        }
        const childKind = kindOf(s.st);
        if (childKind === 'dir') {
          const child = await visit(s.childPath, s.n, s.st, false, rules);
          if (child) children.push({ name: s.n, st: s.st, kind: 'dir', dir: child });
        } else if (childKind === undefined) {
          result.skipped.push(skippedSpecial(recorded(s.childPath, rules), s.st));
        } else {
          // Files and links are kept packed in their folder (ScanDir), not as objects of their own.
          countLeaf(childKind, s.st);
          children.push({ name: s.n, st: s.st, kind: childKind });
        }
      }
      return new ScanDir(name, path, compact(st, rules.devAlias), children, rules.devAlias);
    }
  }

  function countLeaf(kind: ScanEntry['kind'], st: BigIntStats): void {
    if (kind !== 'file') return;
    result.files++;
    result.bytes += Number(st.size);
    if (result.files % 1000 === 0) onEntry?.(result.files, result.bytes);
  }

  for (const source of sources) {
    const original = Buffer.from(source, 'utf8').toString('latin1');
    const from = options.readFrom?.get(source);
    const path = from !== undefined ? Buffer.from(from, 'utf8').toString('latin1') : original;
    let st: BigIntStats;
    let liveSt: BigIntStats;
    try {
      liveSt = await lstat(bytesOf(original), { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AzbError('AZB_SOURCE_NOT_FOUND', code === 'ENOENT' ? `Source not found: ${source}` : `Source cannot be read: ${source} (${code}).`, {
        target: source, hint: 'Check the path; give existing files or folders to back up.',
      });
    }
    try {
      st = from !== undefined ? await lstat(bytesOf(path), { bigint: true }) : liveSt;
    } catch (err) {
      throw new AzbError('AZB_SNAPSHOT_FAILED', `The snapshot of ${source} cannot be read at ${from} (${(err as NodeJS.ErrnoException).code}); nothing was read.`, {
        target: source, hint: 'Check the snapshot method (README "Snapshot-consistent reads"), or back up with -Snapshot None.',
      });
    }
    const expected = options.expectedDev?.get(source);
    if (expected !== undefined && expected !== liveSt.dev.toString()) {
      throw new AzbError('AZB_SOURCE_OFFLINE', `The file system of ${source} changed since it was checked (it was unmounted or replaced); nothing was read from it.`, {
        target: source, hint: 'Mount the file system again and check the path with Test-AzBackupSource, then run the backup again.',
      });
    }
    // Canonical paths are those of the original: the mount points met are named by them.
    let canonicalRoot = original;
    if (options.mountGate && kindOf(liveSt) === 'dir') {
      try { canonicalRoot = (await realpath(bytesOf(original), { encoding: 'buffer' })).toString('latin1'); } catch { /* unreadable: the walk reports it */ }
    }
    const rules: SourceRules = {
      dev: st.dev, excludeCaches: appliesTo(options.excludeCaches, source), oneFileSystem: appliesTo(options.oneFileSystem, source), root: path, canonicalRoot,
      recordedRoot: original, inSnapshot: from !== undefined, ...(from !== undefined ? { devAlias: { from: st.dev, to: liveSt.dev } } : {}),
    };
    if (!kindOf(st)) throw new AzbError('AZB_SOURCE_NOT_FOUND', `${source} is not a file, folder or symbolic link.`, { target: source, hint: 'Only file data is backed up.' });
    if (from !== undefined) result.readRoots.push({ read: path, recorded: original });
    if (kindOf(st) === 'file') await requireReadableFile(path, original);
    const entry = await visit(path, path, st, shallow.has(source), rules, true);
    if (entry) result.roots.push({ source, entry });
  }
  return result;
}
