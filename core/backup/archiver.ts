// One backup run: source → scan → chunker → blob saver (packs) → trees → index → recovery point.
// Unchanged files cost one lstat (file cache); unreadable files are skipped and reported, never silently.
import { createHash, type KeyObject } from 'node:crypto';
import { lstat, readlink, statfs } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { crc32 } from 'node:zlib';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { rootNameOf } from '../fs/winpath.js';
import { chunkStream, gearTable } from '../chunker/fastcdc.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { type PointManifest, type PointStats, type ServerRepo } from '../repo/server.js';
import { encodeTree, nameFields, type TreeNode, type XattrEntry } from '../repo/tree.js';
import { findTool, readXattrs, XATTR_NODE_LIMIT, xattrBytes } from '../fs/xattr.js';
import { BlobSaver } from './blob-saver.js';
import { FileCache, type CachedFile } from './file-cache.js';
import { IndexCache } from '../repo/index-cache.js';
import { now } from '../clock.js';
import type { SnapshotMode, SourceRead } from '../snapshot/snapshots.js';
import { bytesOf, recordedPath, ScanDir, scanSources, showPath, type ScanEntry, type ScanOptions, type ScanResult, type Skipped } from './scanner.js';
import type { ChunkJobEvent } from './file-chunks.js';
import { ReaderPool } from './reader-pool.js';
import { importTar } from './tar-import.js';
import { SKIP_CODES, SkipReport, skippedFor, type SkipSummary } from './skip-report.js';

/** What to back up and how. */
export interface BackupOptions {
  sources: string[];
  excludes: string[];
  /** Folder of this server's cache (metadata database). */
  cacheDir: string;
  signingKey: KeyObject;
  tags: string[];
  /** The policy this backup runs for: its retention expires the point. */
  policy?: string;
  /** A backup without a policy: when its point may be expired (ISO time); absent, never by retention. */
  retainUntil?: string;
  /** The protection group and data source this backup runs for: its points are that data source's series. */
  protection?: { group: string; dataSource: string };
  /** Sub-folders of these sources are left out (non-recursive file specs). */
  shallow?: ReadonlySet<string>;
  /** --exclude-caches and --one-file-system. */
  scanOptions?: ScanOptions;
  stdin?: { stream: AsyncIterable<Uint8Array>; name: string };
  /** A tar stream imported as the tree below `root` (core/backup/tar-import.ts), instead of a walk. */
  tar?: { stream: AsyncIterable<Uint8Array>; root: string };
  /** The walk of `sources`, when the caller started it early (see startScan). */
  scan?: Promise<ScanResult>;
  /** Where skipped paths go (the job's skipped.txt); without one, only warnings name them. */
  skipReport?: SkipReport;
  /** How each source was read (snapshots, core/snapshot/) and under which mode: recorded in the point. */
  reads?: SourceRead[];
  snapshotMode?: SnapshotMode;
  /** The backup lock, checked before each index file and before the recovery point is written. */
  lock?: { assertHeld(): Promise<void> };
  signal: AbortSignal;
  sink: EventSink;
}

/** Result of a backup run. */
export interface BackupResult {
  pointId: string; manifest: PointManifest;
  /** What was left out: counts, and the file that lists every path. */
  skipped: SkipSummary;
  /** Mount points whose contents --one-file-system left out. */
  otherFileSystems: string[];
}

/** Files started ahead of the tree walk: enough to keep every read worker busy. */
export const FILES_AHEAD = 64;

/** Reads of a file that keeps changing while it is read, before it is kept as read with AZB_FILE_CHANGED. */
export const FILE_READ_ATTEMPTS = 3;

/**
 * Checks the cache location has free space for at least 10% of the data set, and for `stagingBytes`
 * (the packs a backup stages there at most at once: the larger need for small data sets).
 */
export async function checkCacheSpace(cacheDir: string, dataBytes: number, stagingBytes = 0): Promise<void> {
  let free: number;
  try {
    const s = await statfs(cacheDir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch (err) {
    throw new AzbError('AZB_CACHE_UNUSABLE', `The cache location ${cacheDir} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
      target: cacheDir, hint: 'Give a writable --cache-dir (or AZBACKUP_CACHE).',
    });
  }
  const tenth = Math.ceil(dataBytes * 0.1);
  const forStaging = stagingBytes > tenth;
  const needed = forStaging ? stagingBytes : tenth;
  if (free < needed) {
    const why = forStaging ? 'room for the packs staged there before their upload' : `10% of ${formatBytes(dataBytes)}`;
    throw new AzbError('AZB_CACHE_FULL', `The cache location ${cacheDir} has ${formatBytes(free)} free; this backup needs at least ${formatBytes(needed)} (${why}).`, {
      target: cacheDir,
      hint: forStaging ? 'Free space there, move the cache with --cache-dir / AZBACKUP_CACHE, or lower the upload concurrency (Set-AzBackupMachineSetting -UploadConcurrency).'
        : 'Free space there, or move the cache with --cache-dir / AZBACKUP_CACHE.',
    });
  }
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Recovers packs a crashed backup uploaded but never indexed: reads their footers and indexes them. */
export async function indexOrphanPacks(repo: ServerRepo, sink: EventSink): Promise<number> {
  const packs = await repo.readUnindexedPacks((id, err) => {
    sink.warning('AZB_PACK_UNREADABLE', `Pack ${id.slice(0, 12)}… left by an interrupted backup cannot be read and is ignored: ${err.message}`, repo.packObject(id));
  });
  if (packs.length === 0) return 0;
  for (const p of packs) repo.addPackToIndex(p);
  await repo.saveIndex(packs);
  sink.log(`Indexed ${packs.length} pack(s) left by an interrupted backup; their data is not uploaded again.`);
  return packs.length;
}

/** Ends a source when the signal fires, even while it waits for data (a stream producer may be idle). */
async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new AzbError('AZB_CANCELLED', 'The backup was cancelled; no recovery point was written.', { hint: 'Run the backup again when ready.' }));
    if (signal.aborted) fail(); else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  for (;;) {
    const next = await Promise.race([it.next(), aborted]);
    if (next.done) return;
    yield next.value;
  }
}

function checkCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new AzbError('AZB_CANCELLED', 'The backup was cancelled; no recovery point was written. Data already uploaded is reused by the next backup.', { hint: 'Run the backup again when ready.' });
}

function baseNode(name: Buffer, e: ScanEntry, type: TreeNode['type'], xattrs: ReadonlyMap<string, XattrEntry[]>): TreeNode {
  const node: TreeNode = { ...nameFields(name), type, mode: e.st.mode & 0o7777, mtimeNs: e.st.mtimeNs };
  if (process.platform !== 'win32') { node.uid = e.st.uid; node.gid = e.st.gid; }
  const attrs = xattrs.get(e.path);
  if (attrs) node.xattrs = attrs;
  return node;
}

/**
 * Every path of the scan (latin1 of its bytes): files, folders and links, the roots included. With a
 * stack of its own, not recursion: trees may be thousands of levels deep.
 */
function* scanPaths(entries: ScanEntry[]): Generator<string> {
  // Folders' entries are read packed (ScanDir.childPaths): listing the paths makes no entry objects.
  const stack: ScanEntry[] = [...entries].reverse();
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    yield e.path;
    if (!(e instanceof ScanDir)) continue;
    const dirs: ScanEntry[] = [];
    for (const c of e.childPaths()) {
      if (c.dir === undefined) yield c.path;
      else dirs.push(c.dir);
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]!);
  }
}

/**
 * The extended attributes of every scanned entry (FORMAT.md §9), read in batches before the walk. Read
 * fresh each backup, not kept in the metadata cache: a change of attributes alone (same mtime, new
 * ctime) is in the next point. Entries over XATTR_NODE_LIMIT are stored without them, with a warning.
 */
async function scanXattrs(scan: ScanResult, sink: EventSink, signal: AbortSignal): Promise<Map<string, XattrEntry[]>> {
  if (process.platform !== 'linux' || scan.roots.length === 0) return new Map();
  const getfattr = findTool('getfattr');
  if (!getfattr) {
    sink.warning('AZB_XATTR_TOOLS_MISSING', 'getfattr is not installed: this recovery point holds no extended attributes (POSIX ACLs, file capabilities, SELinux labels, user.* attributes).', 'getfattr');
    return new Map();
  }
  const { byPath, failures } = await readXattrs(getfattr, scanPaths(scan.roots.map((r) => r.entry)), signal);
  if (failures.length > 0) {
    sink.warning('AZB_XATTR_UNREADABLE', `The extended attributes of ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} could not be read; they are backed up without them: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; ...' : ''}`, failures[0]);
  }
  for (const [path, list] of byPath) {
    const bytes = xattrBytes(list);
    if (bytes <= XATTR_NODE_LIMIT) continue;
    byPath.delete(path);
    sink.warning('AZB_XATTR_TOO_LARGE', `${showPath(path)}: its extended attributes hold ${bytes} bytes, more than the ${XATTR_NODE_LIMIT} a recovery point keeps per entry; it is backed up without them.`, showPath(path));
  }
  return byPath;
}

/**
 * Starts the walk of the sources. The backup command starts it before the passphrase's key derivation,
 * which runs on the thread pool for a tenth of a second or more: the walk is mostly file system waits, so
 * the two overlap, and an unchanged re-run finishes that much sooner. A rejected walk is only reported
 * when awaited.
 */
export function startScan(sources: string[], excludes: string[], sink: EventSink, shallow?: ReadonlySet<string>, options?: ScanOptions): Promise<ScanResult> {
  const scan = scanSources(sources, excludes, (files, bytes) => sink.progress('Backup', `Scanning: ${files} files, ${formatBytes(bytes)}`, 0), shallow, options);
  scan.catch(() => undefined);
  return scan;
}

/** Runs one backup of the sources (or of stdin) and writes a recovery point. */
export async function runBackup(repo: ServerRepo, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const { sink, signal } = opts;
  const gear = gearTable(repo.keys.chunker);
  const params = repo.config.chunker;

  // A config taken from the local copy must have been proved the vault's (ServerRepo.listNamespace) before anything is written.
  if (repo.configUnproved) throw new AzbError('AZB_INTERNAL_INVARIANT', 'The backup started before the config copy it opened with was proved to be the vault\'s; nothing was written.');
  sink.progress('Backup', 'Reading the vault index', 0);
  repo.indexCache ??= new IndexCache(join(opts.cacheDir, 'index'));
  // A damaged index file is skipped; its packs are then in no index, and indexOrphanPacks below indexes
  // them anew from their footers (a new index file), so their data is neither lost nor uploaded again.
  await repo.loadIndexSkippingDamaged((code, message, target) => sink.warning(code, message, target));
  await indexOrphanPacks(repo, sink);
  checkCancelled(signal);

  const scan = opts.stdin || opts.tar
    ? { roots: [], files: 1, dirs: 0, bytes: 0, skipped: [] as Skipped[], excluded: 0, cacheFolders: [] as string[], otherFileSystems: [] as string[], readRoots: [], notInSnapshot: [] as string[] }
    : await (opts.scan ?? startScan(opts.sources, opts.excludes, sink, opts.shallow, opts.scanOptions));
  checkCancelled(signal);
  await checkCacheSpace(opts.cacheDir, scan.bytes, BlobSaver.stagingBound(repo));
  const xattrs = await scanXattrs(scan, sink, signal);
  checkCancelled(signal);

  const report = opts.skipReport ?? new SkipReport(undefined, sink);
  // filesSkipped (in the point) counts what could not be backed up; sockets, FIFOs and devices are left
  // out by rule, so they are listed in the report but not counted there.
  const specialPaths = scan.skipped.filter((s) => s.code === SKIP_CODES.special).map((s) => s.path);
  const specials = specialPaths.length;
  const stats: PointStats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: scan.skipped.length - specials, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 };
  for (const s of scan.skipped) report.add(s);
  scan.skipped.length = 0; // in the report now
  if (scan.files === 0 && scan.excluded > 0) {
    const by = opts.excludes.length > 0 ? `The exclude patterns (${opts.excludes.join(', ')})` : 'The exclude options';
    sink.warning('AZB_EVERYTHING_EXCLUDED', `${by} leave no file to back up; ${scan.excluded} entries were left out.`, opts.excludes[0] ?? opts.sources[0]);
  }
  // Asked for, so logged rather than warned; named, so nothing is left out unseen.
  if (scan.cacheFolders.length > 0) {
    sink.log(`--exclude-caches: the contents of ${scan.cacheFolders.length} cache folder(s) marked by CACHEDIR.TAG were left out (each folder and its tag are kept): ${scan.cacheFolders.slice(0, 10).join(', ')}${scan.cacheFolders.length > 10 ? ', …' : ''}.`);
  }
  if (scan.otherFileSystems.length > 0) {
    sink.log(`--one-file-system: ${scan.otherFileSystems.length} other file system(s) below the sources were not crossed (a mount point is kept as an empty folder): ${scan.otherFileSystems.join(', ')}.`);
  }
  // Not in the snapshot, so not from its moment: read live, and warned (README "Snapshot-consistent reads").
  for (const p of scan.notInSnapshot) {
    sink.warning('AZB_SNAPSHOT_PARTIAL', `${p} is another file system or a nested btrfs subvolume, so it is not in the snapshot of its source; it was read live (not from the snapshot's moment). Back it up as a source of its own to snapshot it, or leave it out with -OneFileSystem.`, p);
  }
  // Not a warning: leaving them out is the rule (as MARS does), but each is listed in the report.
  if (specials > 0) sink.log(`${specials} socket(s), FIFO(s) or device(s) left out (only file data is backed up), e.g. ${specialPaths.slice(0, 5).join(', ')}; the skipped-files report lists each.`);

  const saver = new BlobSaver(repo, join(opts.cacheDir, 'packs'), opts.lock);
  await saver.prepare();
  const cache = new FileCache(`${opts.cacheDir}/files.db`, (movedTo, reason) => sink.warning('AZB_CACHE_REBUILT',
    `The metadata cache was damaged (${reason}); it was moved to ${movedTo} and is rebuilt by this backup, which reads every file once more.`, movedTo));
  // Started at the first file that must be read: an unchanged re-run reads none and starts no thread.
  let pool: ReaderPool | undefined;
  const readerPool = () => (pool ??= new ReaderPool({ params, chunkerKey: repo.keys.chunker, blobIdKey: repo.keys.blobId }));
  // Hard-link key → content of the first name, once read (every later name carries it too, FORMAT.md
  // §9). Set before the first read starts: files are started ahead, and the other names must wait for
  // that read rather than read the same data again. Undefined when the first read failed.
  const hardlinks = new Map<string, Promise<{ content: string[]; sparse: boolean; size: number; digest: string } | undefined>>();
  let filesDone = 0;
  let bytesDone = 0;
  let lastProgress = 0;
  // `current`: the path shown, or the entry whose path it is (made into text only when an event is sent).
  const progress = (current: string | ScanEntry) => {
    const now = Date.now();
    if (now - lastProgress < 250) return;
    lastProgress = now;
    const elapsed = (now - started) / 1000;
    const rate = bytesDone / Math.max(elapsed, 0.001);
    const left = Math.max(scan.bytes - bytesDone, 0);
    const pct = scan.bytes > 0 ? (bytesDone / scan.bytes) * 100 : (scan.files > 0 ? (filesDone / scan.files) * 100 : 0);
    const secondsLeft = rate > 0 && scan.bytes > 0 ? Math.ceil(left / rate) : undefined;
    const eta = secondsLeft !== undefined ? ` ETA ${secondsLeft} s` : '';
    const shown = typeof current === 'string' ? current : showPath(recordedPath(scan.readRoots, current.path));
    sink.progress('Backup', `${filesDone}/${scan.files} files, ${formatBytes(bytesDone)}/${formatBytes(scan.bytes)} at ${formatBytes(rate)}/s${eta}`, Math.min(pct, 99), shown, secondsLeft);
  };

  // A stream's content, with the digest of its bytes as they came (before the chunker saw them) and the
  // same proof as chunkFile's that the chunks are exactly those bytes.
  async function contentOf(source: AsyncIterable<Uint8Array>, current: string): Promise<{ content: string[]; size: number; digest: string }> {
    const content: string[] = [];
    const digest = createHash('sha256');
    let inBytes = 0;
    let inCrc = 0;
    let chunkBytes = 0;
    let chunkCrc = 0;
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const piece of source) {
        digest.update(piece);
        inCrc = crc32(piece, inCrc);
        inBytes += piece.length;
        yield piece;
      }
    }
    for await (const chunk of chunkStream(hashed(), params, gear)) {
      checkCancelled(signal);
      chunkBytes += chunk.length;
      chunkCrc = crc32(chunk, chunkCrc);
      const id = await saver.save('data', chunk);
      content.push(id.toString('hex'));
      stats.bytesRead += chunk.length;
      bytesDone += chunk.length;
      progress(current);
    }
    if (chunkBytes !== inBytes || chunkCrc !== inCrc) {
      throw new AzbError('AZB_INTERNAL_INVARIANT', `${current}: the chunks hold ${chunkBytes} bytes that differ from the ${inBytes} bytes read; no recovery point was written.`, {
        target: current, hint: 'This is an engine defect: report it with the engine version (azbackup --version).',
      });
    }
    return { content, size: inBytes, digest: digest.digest('hex') };
  }

  // FORMAT.md §9's invariant of a file node, checked before it goes into a tree: its chunks cover
  // exactly [0, size) (their plain lengths add up to the size) and it carries a digest. Undefined when
  // it holds, else what is wrong.
  function fileNodeFault(node: TreeNode, rawLengths?: readonly number[]): string | undefined {
    return contentFault(node.size, node.digest, node.content ?? [], rawLengths);
  }
  function contentFault(size: number | undefined, digest: string | undefined, content: readonly string[], rawLengths?: readonly number[]): string | undefined {
    if (!Number.isSafeInteger(size) || size! < 0) return `size ${String(size)} is not a byte count`;
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) return 'no content digest';
    let sum = 0;
    for (let i = 0; i < content.length; i++) {
      const len = rawLengths?.[i] ?? saver.rawLengthOf(Buffer.from(content[i]!, 'hex'));
      if (len === undefined || len <= 0) return `chunk ${i} (${content[i]!.slice(0, 12)}…) is not stored`;
      sum += len;
    }
    if (rawLengths && rawLengths.length !== content.length) return `${content.length} chunk IDs for ${rawLengths.length} chunk lengths`;
    if (sum !== size) return `chunks cover ${sum} bytes of a ${size}-byte file`;
    return undefined;
  }

  // A file whose chunks cannot be proved to be its content is left out of the point, loudly: an engine
  // defect must never be stored as if it were the file.
  // The metadata cache's answer for the entry unchangedFile last found changed (one at a time: saveFile
  // follows it in the same turn).
  let lookedUp: { e: ScanEntry; cached: CachedFile | undefined } | undefined;

  // Whether the cache's record of a file still describes it (same device, inode, size and times) and its
  // chunks are all stored and add up to its size (contentFault), so it need not be read.
  function isUnchanged(e: ScanEntry, cached: CachedFile | undefined): cached is CachedFile {
    return cached !== undefined && cached.dev === e.st.dev && cached.ino === e.st.ino && cached.size === e.st.size
      && cached.mtimeNs === e.st.mtimeNs && cached.ctimeNs === e.st.ctimeNs
      && contentFault(e.st.size, cached.digest, cached.content) === undefined;
  }

  /**
   * The node of a file the metadata cache shows unchanged, made without a promise (an unchanged re-run
   * of many small files is mostly this); undefined when the file must go through saveFile (changed, not
   * cached, or one of several hard links, which wait for each other there).
   */
  function unchangedFile(e: ScanEntry, name: Buffer): TreeNode | undefined {
    if (e.st.nlink > 1) return undefined;
    const cached = cache.get(bytesOf(recordedPath(scan.readRoots, e.path)));
    if (!isUnchanged(e, cached)) {
      lookedUp = { e, cached }; // saveFileContent, called next for this entry, needs not look again
      return undefined;
    }
    const node = baseNode(name, e, 'file', xattrs);
    node.size = e.st.size;
    node.content = cached.content;
    node.digest = cached.digest;
    if (cached.sparse) node.sparse = true;
    stats.filesUnchanged++;
    filesDone++;
    bytesDone += e.st.size;
    progress(e);
    return node;
  }

  function invariantFault(shown: string, detail: string): void {
    sink.warning('AZB_INTERNAL_INVARIANT', `Not backed up: ${shown}: its chunks do not prove its content (${detail}). This is an engine defect; the file is left out of this recovery point.`, shown);
  }

  async function saveFile(e: ScanEntry, name: Buffer): Promise<TreeNode | undefined> {
    const node = baseNode(name, e, 'file', xattrs);
    node.size = e.st.size;
    // Read from where the scan found it (a snapshot, perhaps); cached and reported by the path it stands for.
    const original = recordedPath(scan.readRoots, e.path);
    const shown = showPath(original);
    const pathBytes = bytesOf(original);
    const readBytes = bytesOf(e.path);
    const linkKey = e.st.nlink > 1 ? `${e.st.dev}:${e.st.ino}` : undefined;
    let firstOfLink: ((read: { content: string[]; sparse: boolean; size: number; digest: string } | undefined) => void) | undefined;
    if (linkKey !== undefined) {
      node.hardlink = linkKey;
      const first = hardlinks.get(linkKey);
      const read = first ? await first : undefined;
      if (read) {
        // Read once; this name gets the same content list, so it can be restored on its own.
        node.content = read.content;
        node.size = read.size;
        node.digest = read.digest;
        if (read.sparse) node.sparse = true;
        filesDone++;
        stats.filesUnchanged++;
        return node;
      }
      if (!first) hardlinks.set(linkKey, new Promise((resolve) => { firstOfLink = resolve; }));
    }
    try {
      const saved = await saveFileContent(e, node, shown, pathBytes, readBytes);
      firstOfLink?.(saved ? { content: saved.content!, sparse: saved.sparse === true, size: saved.size!, digest: saved.digest! } : undefined);
      return saved;
    } catch (err) {
      firstOfLink?.(undefined);
      throw err;
    }
  }

  // Reads (or takes from the metadata cache) the content of one file into `node`; undefined when skipped.
  async function saveFileContent(e: ScanEntry, node: TreeNode, shown: string, pathBytes: Buffer, readBytes: Buffer): Promise<TreeNode | undefined> {
    const sparse = e.st.sparse;
    const cached = lookedUp?.e === e ? lookedUp.cached : cache.get(pathBytes);
    lookedUp = undefined;
    const unchanged = isUnchanged(e, cached);
    if (unchanged) {
      node.content = cached.content;
      node.digest = cached.digest;
      if (cached.sparse) node.sparse = true;
      stats.filesUnchanged++;
    } else {
      // Read, chunked, hashed and compressed on a read worker; deduplicated, encrypted and packed here.
      let content: string[] = [];
      let rawLengths: number[] = [];
      let outcome: Exclude<ChunkJobEvent, { kind: 'chunks' }> | undefined;
      // A file that changes while it is read (a log being written) is read again, against its new stat,
      // up to FILE_READ_ATTEMPTS times in all; then what was read last is kept, with a warning.
      let expected = { size: e.st.size, mtimeNs: e.st.mtimeNs };
      let attempt = 1;
      for (;; attempt++) {
        content = []; rawLengths = []; outcome = undefined;
        let attemptBytes = 0;
        for await (const ev of readerPool().read({ path: readBytes, size: expected.size, mtimeNs: expected.mtimeNs })) {
          if (ev.kind !== 'chunks') { outcome = ev; continue; }
          checkCancelled(signal);
          for (let i = 0; i < ev.bodies.length; i++) {
            const id = Buffer.from(ev.ids.buffer, ev.ids.byteOffset + 32 * i, 32);
            const rawLength = ev.rawLengths[i]!;
            await saver.saveEncoded('data', id, { flag: ev.flags[i]!, body: ev.bodies[i]! }, rawLength);
            content.push(id.toString('hex'));
            rawLengths.push(rawLength);
            stats.bytesRead += rawLength;
            bytesDone += rawLength;
            attemptBytes += rawLength;
          }
          progress(shown);
        }
        if (outcome?.kind !== 'done' || !outcome.changed || attempt >= FILE_READ_ATTEMPTS) break;
        let now: BigIntStats;
        try { now = await lstat(readBytes, { bigint: true }); } catch { break; } // gone or unreachable now: keep what was read
        // Another file now (replaced by a rename): not read again under this node's metadata and links.
        if (!now.isFile() || now.ino.toString() !== e.st.ino) break;
        expected = { size: Number(now.size), mtimeNs: now.mtimeNs.toString() };
        bytesDone -= attemptBytes;
        sink.log(`${shown} changed while it was read; reading it again (read ${attempt + 1} of ${FILE_READ_ATTEMPTS}).`);
      }
      if (!outcome || outcome.kind === 'failed') {
        const code = outcome?.kind === 'failed' ? outcome.code : 'EIO';
        stats.filesSkipped++;
        if (outcome?.kind === 'failed' && outcome.stage === 'invariant') {
          report.add({ ...skippedFor(pathBytes.toString('latin1'), code, 'file'), code: 'AZB_INTERNAL_INVARIANT', reason: `its chunks do not prove its content (${outcome.detail ?? code})` });
          invariantFault(shown, outcome.detail ?? code);
          return undefined;
        }
        const entry = skippedFor(pathBytes.toString('latin1'), code, 'file');
        report.add(outcome?.kind === 'failed' && outcome.stage === 'read' ? { ...entry, code: SKIP_CODES.readError, reason: `read error ${code}` } : entry);
        return undefined;
      }
      if (outcome.kind === 'done' && outcome.changed) {
        sink.warning('AZB_FILE_CHANGED', expected.size < params.minSize
          ? `${shown} changed size while it was read, ${attempt} time(s); the recovery point holds what was read last.`
          : `${shown} changed while it was read, ${attempt} time(s); the recovery point may hold a mix of old and new content.`, shown);
      }
      // After a read again, the node has the stat that read was checked against.
      if (attempt > 1) node.mtimeNs = expected.mtimeNs;
      node.content = content;
      // The node describes what was read: a file that grew or shrank while it was read has that size.
      node.size = outcome.bytesRead;
      node.digest = outcome.digest;
      if (sparse) node.sparse = true;
      const fault = fileNodeFault(node, rawLengths);
      if (fault !== undefined) {
        report.add({ ...skippedFor(pathBytes.toString('latin1'), 'AZB_INTERNAL_INVARIANT', 'file'), code: 'AZB_INTERNAL_INVARIANT', reason: `its chunks do not prove its content (${fault})` });
        stats.filesSkipped++;
        invariantFault(shown, fault);
        return undefined;
      }
      if (cached) stats.filesChanged++; else stats.filesNew++;
      // Cached only when what was read is what the scan saw: a file that changed while it was read is read again.
      if (!outcome.changed && attempt === 1) cache.put(pathBytes, { dev: e.st.dev, ino: e.st.ino, size: e.st.size, mtimeNs: e.st.mtimeNs, ctimeNs: e.st.ctimeNs, content: node.content, sparse, digest: outcome.digest });
    }
    filesDone++;
    if (unchanged) bytesDone += e.st.size; // read files were counted chunk by chunk
    progress(shown);
    return node;
  }

  async function saveEntry(e: ScanEntry, name: Buffer): Promise<TreeNode | undefined> {
    checkCancelled(signal);
    if (e.kind === 'file') return saveFile(e, name);
    if (e.kind === 'symlink') {
      const node = baseNode(name, e, 'symlink', xattrs);
      try {
        const target = await readlink(bytesOf(e.path), { encoding: 'buffer' });
        const text = nameFields(target);
        if (text.name !== undefined) node.target = text.name; else node.targetB64 = text.nameB64;
      } catch (err) {
        report.add(skippedFor(recordedPath(scan.readRoots, e.path), err, 'link'));
        stats.filesSkipped++;
        return undefined;
      }
      return node;
    }
    const node = baseNode(name, e, 'dir', xattrs);
    node.subtree = await saveDir(e.children ?? []);
    e.children = undefined; // done with this folder: let its entries go
    stats.dirs++;
    return node;
  }

  // Files are started ahead of the tree walk, in the order it will ask for them (up to FILES_AHEAD not
  // yet taken), so the read workers stay busy across folder boundaries; the walk itself goes folder by
  // folder and writes each folder's tree when its entries are done.
  const startedFiles = new Map<ScanEntry, TreeNode | Promise<TreeNode | undefined>>();
  // Each folder's files, then its sub-folders' (depth first), with a stack of its own: no recursion.
  // A folder's children are made into entries (ScanDir) only when this walk reaches it.
  function* fileOrder(entries: ScanEntry[]): Generator<ScanEntry> {
    const stack: (ScanEntry | ScanEntry[])[] = [entries];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const level = Array.isArray(next) ? next : next.children ?? [];
      for (const c of level) if (c.kind !== 'dir') yield c;
      for (let i = level.length - 1; i >= 0; i--) if (level[i]!.kind === 'dir') stack.push(level[i]!);
    }
  }
  const ahead = fileOrder(scan.roots.flatMap((r) => (r.entry.kind === 'dir' ? r.entry.children ?? [] : [])));
  // Entries already started (by the walk ahead or by take): never started twice.
  const begun = new WeakSet<ScanEntry>();
  function start(c: ScanEntry): TreeNode | Promise<TreeNode | undefined> {
    begun.add(c);
    if (c.kind === 'file' && !signal.aborted) {
      const node = unchangedFile(c, bytesOf(c.name));
      if (node !== undefined) return node;
    }
    const p = saveEntry(c, bytesOf(c.name));
    p.catch(() => undefined); // reported when taken
    return p;
  }
  function take(c: ScanEntry): TreeNode | Promise<TreeNode | undefined> {
    // Refilled in halves, so files are started (and sent to the workers) in batches, not one by one.
    if (startedFiles.size < FILES_AHEAD / 2 || !startedFiles.has(c)) while (startedFiles.size < FILES_AHEAD && !signal.aborted) {
      const next = ahead.next();
      if (next.done) break;
      if (!begun.has(next.value)) startedFiles.set(next.value, start(next.value));
    }
    const p = startedFiles.get(c) ?? start(c);
    startedFiles.delete(c);
    return p;
  }

  async function saveDir(children: ScanEntry[]): Promise<string> {
    const nodes: (TreeNode | undefined)[] = new Array(children.length);
    for (let i = 0; i < children.length; i++) {
      if (children[i]!.kind === 'dir') continue;
      const taken = take(children[i]!);
      nodes[i] = taken instanceof Promise ? await taken : taken;
    }
    for (let i = 0; i < children.length; i++) if (children[i]!.kind === 'dir') nodes[i] = await saveEntry(children[i]!, bytesOf(children[i]!.name));
    return (await saver.save('tree', encodeTree(nodes.filter((n): n is TreeNode => n !== undefined)))).toString('hex');
  }

  let complete = false;
  let reportClosed = false;
  try {
    const rootNodes: TreeNode[] = [];
    if (opts.stdin) {
      const now = BigInt(Date.now()) * 1_000_000n;
      const { content, size, digest } = await contentOf(abortable(opts.stdin.stream, signal), opts.stdin.name);
      rootNodes.push({ name: opts.stdin.name, type: 'file', mode: 0o600, mtimeNs: now.toString(), size, content, digest, ...(process.platform !== 'win32' ? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } : {}) });
      stats.filesNew++;
    } else if (opts.tar) {
      // The same write path as a walk: content through contentOf, nodes checked by fileNodeFault.
      const imported = await importTar(abortable(opts.tar.stream, signal), opts.tar.root, {
        saveContent: (source, shown) => contentOf(source, shown),
        fileNodeFault: (node) => fileNodeFault(node),
        saveTree: async (nodes) => (await saver.save('tree', encodeTree(nodes))).toString('hex'),
        skipped: (s) => report.add(s),
        sink, signal,
      });
      rootNodes.push(imported.root);
      stats.filesNew += imported.files;
      stats.dirs += imported.dirs;
      if (imported.specials > 0) sink.log(`${imported.specials} FIFO(s) or device(s) in the tar stream left out (only file data is backed up); the skipped-files report lists each.`);
    } else {
      for (const r of scan.roots) {
        // Root nodes are named by the source's path: as it is on Linux ("\\" is part of a name there), in the
        // recorded Windows form on Windows (FORMAT.md §9, "Windows paths").
        const n = await saveEntry(r.entry, Buffer.from(rootNameOf(r.source, process.platform), 'utf8'));
        if (n) rootNodes.push(n);
      }
    }
    const rootTree = (await saver.save('tree', encodeTree(rootNodes))).toString('hex');
    reportClosed = true;
    const skipped = await report.close();
    await saver.finish(true);
    complete = true;
    Object.assign(stats, { bytesAdded: saver.stats.bytesAdded, bytesStored: saver.stats.bytesStored, blobsAdded: saver.stats.blobsAdded, durationMs: Date.now() - started });
    const manifest: PointManifest = {
      version: 2, serverId: repo.serverId, hostname: repo.record.hostname || hostname(), time: now().toISOString(),
      sources: opts.stdin ? [opts.stdin.name] : opts.tar ? [opts.tar.root] : opts.sources, tree: rootTree, parent: null, tags: opts.tags, stats,
      ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.retainUntil ? { retainUntil: opts.retainUntil } : {}),
      ...(opts.protection ? { protectionGroup: opts.protection.group, dataSource: opts.protection.dataSource } : {}),
      ...(process.platform === 'win32' && !opts.stdin && !opts.tar ? { pathStyle: 'windows' as const } : {}),
      ...(opts.reads && !opts.stdin && !opts.tar ? { snapshotMode: opts.snapshotMode ?? 'Auto', reads: opts.reads } : {}),
    };
    checkCancelled(signal);
    // A lock that lapsed (vault unreachable, machine suspended) may have let a prune delete packs this
    // point needs: then no point is written.
    await opts.lock?.assertHeld();
    const pointId = await repo.savePoint(manifest, opts.signingKey);
    sink.progress('Backup', 'Done', 100);
    return { pointId, manifest, skipped, otherFileSystems: scan.otherFileSystems };
  } finally {
    // A failed backup still leaves the list of what it had skipped by then.
    if (!reportClosed) await report.close().catch(() => undefined);
    // Files started ahead and not taken (after a failure or cancel) end before the saver does.
    await Promise.allSettled(startedFiles.values());
    if (!complete) await saver.finish(false).catch(() => undefined);
    await pool?.close();
    cache.close();
  }
}
