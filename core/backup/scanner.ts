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

function compact(st: BigIntStats): EntryStat {
  return {
    mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), nlink: Number(st.nlink),
    sparse: st.blocks * 512n < st.size, mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), dev: st.dev.toString(), ino: st.ino.toString(),
  };
}
import { AzbError } from '../protocol/errors.js';
import { escapeSkipped, skippedFor, skippedSpecial } from './skip-report.js';

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
}

function appliesTo(option: boolean | ReadonlySet<string> | undefined, source: string): boolean {
  return option === true || (typeof option === 'object' && option.has(source));
}

/**
 * The rules of one source's walk. `dev`: the file system of the source (--one-file-system stays on it).
 * `root` and `canonicalRoot`: the source as walked and with its links resolved, to name the mount points met.
 */
interface SourceRules { dev: bigint; excludeCaches: boolean; oneFileSystem: boolean; root: string; canonicalRoot: string }

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
async function requireReadableFile(path: string): Promise<void> {
  try {
    const fh = await open(bytesOf(path), FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
    await fh.close();
  } catch (err) {
    throw unreadableSource(path, err);
  }
}

/**
 * Walks the sources (absolute paths). A missing source, or one this account cannot read at all, is an
 * error; entries below it that cannot be read are skipped (ScanResult.skipped says why). Of a
 * `shallow` source (a non-recursive file spec) only the entries directly in it are taken, without its
 * sub-folders.
 */
export async function scanSources(sources: string[], excludes: string[], onEntry?: (files: number, bytes: number) => void, shallow: ReadonlySet<string> = new Set(), options: ScanOptions = {}): Promise<ScanResult> {
  const result: ScanResult = { roots: [], files: 0, dirs: 0, bytes: 0, skipped: [], excluded: 0, cacheFolders: [], otherFileSystems: [] };
  // Excludes match the path's last components at any depth (core/fs/glob.ts, README "Globs").
  const globs = excludes.length > 0 ? compileGlobs(excludes) : undefined;

  async function visit(path: string, name: string, st: BigIntStats, flat: boolean, rules: SourceRules, isRoot = false): Promise<ScanEntry | undefined> {
    const kind = kindOf(st);
    if (!kind) {
      result.skipped.push(skippedSpecial(path, st));
      return undefined;
    }
    const entry: ScanEntry = { name, path, st: compact(st), kind };
    if (kind === 'file') {
      result.files++;
      result.bytes += entry.st.size;
      if (result.files % 1000 === 0) onEntry?.(result.files, result.bytes);
    } else if (kind === 'dir') {
      result.dirs++;
      let names: string[];
      try {
        names = await readdir(bytesOf(path), { encoding: 'latin1' });
      } catch (err) {
        if (isRoot) throw unreadableSource(path, err);
        result.skipped.push(skippedFor(path, err, 'folder'));
        return undefined;
      }
      if (rules.excludeCaches && names.includes(CACHEDIR_TAG) && await isCacheTag(`${path === '/' ? '' : path}/${CACHEDIR_TAG}`)) {
        result.excluded += names.length - 1;
        result.cacheFolders.push(showPath(path));
        names = [CACHEDIR_TAG];
      }
      const children: ScanEntry[] = [];
      // lstat a directory's entries concurrently: on large trees this is where the time goes.
      const stats = await Promise.all(names.map(async (n) => {
        const childPath = path === '/' ? `/${n}` : `${path}/${n}`;
        if (excluded(childPath, globs)) { result.excluded++; return undefined; }
        const gate = options.mountGate;
        if (gate) {
          // Judged before it is touched: a dead network mount would hang the lstat.
          const canonical = (rules.canonicalRoot === '/' ? '' : rules.canonicalRoot) + childPath.slice(rules.root === '/' ? 0 : rules.root.length);
          const refusal = gate.points.has(canonical) ? await gate.judge(canonical) : undefined;
          if (refusal && rules.oneFileSystem) {
            // Not crossed anyway: as any other file system, its folder stays without contents. A network
            // or offline mount is not even looked at (its lstat could hang).
            if (refusal.reason === 'Network' || refusal.reason === 'Offline') { result.otherFileSystems.push(showPath(childPath)); result.excluded++; return undefined; }
          } else if (refusal) {
            result.skipped.push({ path: escapeSkipped(childPath), code: refusal.code ?? 'AZB_SOURCE_REFUSED', reason: refusal.message });
            return undefined;
          }
        }
        try {
          const childSt = await lstat(bytesOf(childPath), { bigint: true });
          if (flat && childSt.isDirectory()) { result.excluded++; return undefined; }
          if (rules.oneFileSystem && childSt.dev !== rules.dev) {
            // As restic: a folder where another file system is mounted stays, without its contents; any
            // other entry of another file system (a file bind-mounted here) is left out.
            result.otherFileSystems.push(showPath(childPath));
            if (!childSt.isDirectory()) { result.excluded++; return undefined; }
            return { n, childPath, st: childSt, mountPoint: true };
          }
          return { n, childPath, st: childSt };
        } catch (err) {
          // Gone since its folder was listed, unreachable, or a path longer than PATH_MAX: each is named.
          result.skipped.push(skippedFor(childPath, err, 'entry'));
          return undefined;
        }
      }));
      for (const s of stats) {
        if (!s) continue;
        if ('mountPoint' in s) {
          result.dirs++;
          children.push({ name: s.n, path: s.childPath, st: compact(s.st), kind: 'dir', children: [] });
          continue;
        }
        const child = await visit(s.childPath, s.n, s.st, false, rules);
        if (child) children.push(child);
      }
      entry.children = children;
    }
    return entry;
  }

  for (const source of sources) {
    const path = Buffer.from(source, 'utf8').toString('latin1');
    let st: BigIntStats;
    try {
      st = await lstat(bytesOf(path), { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AzbError('AZB_SOURCE_NOT_FOUND', code === 'ENOENT' ? `Source not found: ${source}` : `Source cannot be read: ${source} (${code}).`, {
        target: source, hint: 'Check the path; give existing files or folders to back up.',
      });
    }
    const expected = options.expectedDev?.get(source);
    if (expected !== undefined && expected !== st.dev.toString()) {
      throw new AzbError('AZB_SOURCE_OFFLINE', `The file system of ${source} changed since it was checked (it was unmounted or replaced); nothing was read from it.`, {
        target: source, hint: 'Mount the file system again and check the path with Test-AzBackupSource, then run the backup again.',
      });
    }
    let canonicalRoot = path;
    if (options.mountGate && kindOf(st) === 'dir') {
      try { canonicalRoot = (await realpath(bytesOf(path), { encoding: 'buffer' })).toString('latin1'); } catch { /* unreadable: the walk reports it */ }
    }
    const rules = { dev: st.dev, excludeCaches: appliesTo(options.excludeCaches, source), oneFileSystem: appliesTo(options.oneFileSystem, source), root: path, canonicalRoot };
    if (!kindOf(st)) throw new AzbError('AZB_SOURCE_NOT_FOUND', `${source} is not a file, folder or symbolic link.`, { target: source, hint: 'Only file data is backed up.' });
    if (kindOf(st) === 'file') await requireReadableFile(path);
    const entry = await visit(path, path, st, shallow.has(source), rules, true);
    if (entry) result.roots.push({ source, entry });
  }
  return result;
}
