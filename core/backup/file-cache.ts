// The file-metadata cache (node:sqlite): path → (dev, inode, size, mtime, ctime) → content blob IDs, so an
// unchanged file costs one lstat. Losing it costs time only: it is rebuilt by the next backup.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AzbError } from '../protocol/errors.js';

/** What the cache remembers about a file at the last backup. */
export interface CachedFile { dev: string; ino: string; size: number; mtimeNs: string; ctimeNs: string; content: string[]; sparse: boolean }

/** One database per server namespace and cache location. */
export class FileCache {
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly putStmt: StatementSync;
  private pending = 0;

  constructor(path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new DatabaseSync(path);
      this.db.exec('PRAGMA busy_timeout = 10000');
      // One backup of a server at a time holds the vault lock, so its cache needs no lock per query
      // (two fcntl calls and an fstat for each file otherwise).
      this.db.exec('PRAGMA locking_mode = EXCLUSIVE');
      this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, dev TEXT, ino TEXT, size INTEGER, mtime_ns TEXT, ctime_ns TEXT, content TEXT, sparse INTEGER) WITHOUT ROWID;`);
    } catch (err) {
      throw new AzbError('AZB_CACHE_UNUSABLE', `The metadata cache ${path} cannot be opened: ${(err as Error).message}.`, {
        target: path, hint: 'Delete the file (it is rebuilt on the next backup) or give another --cache-dir.',
      });
    }
    this.getStmt = this.db.prepare('SELECT dev, ino, size, mtime_ns, ctime_ns, content, sparse FROM files WHERE path = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO files (path, dev, ino, size, mtime_ns, ctime_ns, content, sparse) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** The cached entry for an absolute path (raw bytes), if any. */
  get(path: Buffer): CachedFile | undefined {
    const row = this.getStmt.get(path) as { dev: string; ino: string; size: number; mtime_ns: string; ctime_ns: string; content: string; sparse: number } | undefined;
    if (!row) return undefined;
    try {
      return { dev: row.dev, ino: row.ino, size: Number(row.size), mtimeNs: row.mtime_ns, ctimeNs: row.ctime_ns, content: JSON.parse(row.content) as string[], sparse: row.sparse === 1 };
    } catch {
      return undefined; // a damaged row is a cache miss, never an error
    }
  }

  /** Records a file after it was backed up. Writes are batched in transactions. */
  put(path: Buffer, f: CachedFile): void {
    if (this.pending === 0) this.db.exec('BEGIN');
    this.putStmt.run(path, f.dev, f.ino, f.size, f.mtimeNs, f.ctimeNs, JSON.stringify(f.content), f.sparse ? 1 : 0);
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
