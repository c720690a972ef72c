// The file-metadata cache (node:sqlite): path → (dev, inode, size, mtime, ctime) → content blob IDs, so an
// unchanged file costs one lstat. Losing it costs time only: it is rebuilt by the next backup.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { makeDirsSync } from '../fs/make-dirs.js';

/** What the cache remembers about a file at the last backup. */
export interface CachedFile { dev: string; ino: string; size: number; mtimeNs: string; ctimeNs: string; content: string[]; sparse: boolean; digest: string }

const HEX64 = /^[0-9a-f]{64}$/;

function openCache(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    // One backup of a server at a time holds the vault lock, so its cache needs no lock per query
    // (two fcntl calls and an fstat for each file otherwise).
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS files_v2 (path BLOB PRIMARY KEY, dev TEXT, ino TEXT, size INTEGER, mtime_ns TEXT, ctime_ns TEXT, content TEXT, sparse INTEGER, digest TEXT NOT NULL) WITHOUT ROWID;`);
    // Table \`files\` (engines before format 2) holds chunk lists that engine could get wrong for files over
    // ~17 MiB, and no digests: it is dropped, so the first backup after the upgrade reads every file again.
    db.exec('DROP TABLE IF EXISTS files');
    // A damaged page elsewhere in the file shows up here rather than halfway through a backup (it reads
    // the whole file: ~50 ms for 200,000 files, pages the lookups read anyway).
    const check = db.prepare('PRAGMA quick_check').get() as Record<string, unknown> | undefined;
    if (check && Object.values(check)[0] !== 'ok') throw Object.assign(new Error(`integrity check: ${String(Object.values(check)[0])}`), { code: 'ERR_SQLITE_ERROR', errcode: 11 });
    return db;
  } catch (err) {
    try { db.close(); } catch { /* not open */ }
    throw err;
  }
}

/** SQLITE_CORRUPT (11) and SQLITE_NOTADB (26): the file is damaged, not merely unreachable. */
function isDamage(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string };
  return e?.errcode === 11 || e?.errcode === 26 || /not a database|malformed|corrupt/i.test(e?.message ?? '');
}

function unusable(path: string, err: unknown): AzbError {
  return new AzbError('AZB_CACHE_UNUSABLE', `The metadata cache ${path} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
    target: path, hint: 'Give a writable --cache-dir (or AZBACKUP_CACHE); the cache is rebuilt by the next backup.',
  });
}

/** One database per server namespace and cache location. */
export class FileCache {
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly putStmt: StatementSync;
  private pending = 0;

  /**
   * Opens (or creates) the cache at `path`. A damaged cache is only a cache: it is moved aside as
   * files.db.damaged-<time> and a new one is started (the backup then reads every file once more);
   * `onRebuilt` is told so it can warn. A cache that cannot be written at all is AZB_CACHE_UNUSABLE.
   */
  constructor(path: string, onRebuilt: (movedTo: string, reason: string) => void = () => undefined) {
    try {
      makeDirsSync(dirname(path), 0o700);
    } catch (err) {
      throw unusable(path, err);
    }
    let db: DatabaseSync;
    try {
      db = openCache(path);
    } catch (err) {
      if (!isDamage(err)) throw unusable(path, err);
      const movedTo = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        renameSync(path, movedTo);
        for (const side of ['-wal', '-shm']) rmSync(path + side, { force: true });
        db = openCache(path);
      } catch (again) {
        throw unusable(path, again);
      }
      onRebuilt(movedTo, (err as Error).message);
    }
    // Owner-only whatever the umask: it names every file backed up (FORMAT.md §11, like the home's files).
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      try { chmodSync(file, 0o600); } catch { /* -wal/-shm come and go */ }
    }
    this.db = db;
    this.getStmt = this.db.prepare('SELECT dev, ino, size, mtime_ns, ctime_ns, content, sparse, digest FROM files_v2 WHERE path = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO files_v2 (path, dev, ino, size, mtime_ns, ctime_ns, content, sparse, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** The cached entry for an absolute path (raw bytes), if any. */
  get(path: Buffer): CachedFile | undefined {
    const row = this.getStmt.get(path) as { dev: string; ino: string; size: number; mtime_ns: string; ctime_ns: string; content: string; sparse: number; digest: string } | undefined;
    if (!row) return undefined;
    try {
      const content = JSON.parse(row.content) as unknown;
      // A row that breaks the invariants a file node must meet is a miss: the file is read again.
      if (!Array.isArray(content) || !content.every((id) => typeof id === 'string' && HEX64.test(id)) || !HEX64.test(row.digest)) return undefined;
      return { dev: row.dev, ino: row.ino, size: Number(row.size), mtimeNs: row.mtime_ns, ctimeNs: row.ctime_ns, content: content as string[], sparse: row.sparse === 1, digest: row.digest };
    } catch {
      return undefined; // a damaged row is a cache miss, never an error
    }
  }

  /** Records a file after it was backed up. Writes are batched in transactions. */
  put(path: Buffer, f: CachedFile): void {
    if (this.pending === 0) this.db.exec('BEGIN');
    this.putStmt.run(path, f.dev, f.ino, f.size, f.mtimeNs, f.ctimeNs, JSON.stringify(f.content), f.sparse ? 1 : 0, f.digest);
    if (++this.pending >= 5000) this.commit();
  }

  /** Commits batched writes. */
  commit(): void {
    if (this.pending > 0) { this.db.exec('COMMIT'); this.pending = 0; }
  }

  /** Commits and closes. */
  close(): void {
    this.commit();
    this.db.close();
  }
}
