// Local copies of a namespace's index files (FORMAT.md section 11), so a backup does not read again
// the index files it read or wrote before. An index file is named by the SHA-256 of its bytes and never
// changes, so a copy whose bytes hash to its name is that object as written; which index files exist,
// and whether the vault's object still has those bytes (size and MD5 in the listing), is decided by the
// vault's listing each time, never by the cache. Best effort: a copy that cannot be
// read or written costs a read from the vault, never an error.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { storageId } from '../crypto/seal.js';
import { writePrivate } from '../config/home.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Copies of index files in one folder of the cache location, one file per index ID. */
export class IndexCache {
  /** Copies used instead of a read from the vault (counted by the reader), and copies written, since this object was made. */
  hits = 0;
  stored = 0;

  constructor(readonly dir: string) {}

  /** The bytes of index file `id`, when a copy is here and hashes to its name (else undefined; a bad copy is removed). */
  async read(id: string): Promise<Buffer | undefined> {
    if (!HEX64.test(id)) return undefined;
    let data: Buffer;
    try { data = await readFile(join(this.dir, id)); } catch { return undefined; }
    if (storageId(data) !== id) { await unlink(join(this.dir, id)).catch(() => undefined); return undefined; }
    return data;
  }

  /** Keeps a copy of index file `id` (bytes already checked against the name by the caller). */
  async write(id: string, data: Buffer): Promise<void> {
    if (!HEX64.test(id)) return;
    try {
      await writePrivate(join(this.dir, id), data);
      this.stored++;
    } catch { /* a read from the vault next time */ }
  }

  /** Removes the copies of index files no longer in the vault (superseded and deleted), and stray temp files. */
  async retain(listed: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try { names = await readdir(this.dir); } catch { return; }
    for (const n of names) if (!listed.has(n)) await unlink(join(this.dir, n)).catch(() => undefined);
  }
}
