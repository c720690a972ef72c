// The index files of a namespace (FORMAT.md section 8): loading them into the in-memory index
// (skipping damaged ones when asked), writing new ones, and indexing packs no index names
// ("unindexed packs", left by an interrupted backup or a lost index file) from their own footers.
import { AzbError } from '../protocol/errors.js';
import { createHash } from 'node:crypto';
import type { ObjectInfo } from '../storage/storage.js';
import { BlobIndex } from './blob-index.js';
import { readDamage } from './damage.js';
import { forEachLimit } from './for-each-limit.js';
import { openSealedBytes } from './sealed-objects.js';
import { listPackIds, readPackBlobs } from './pack-objects.js';
import type { PackedBlob } from './pack.js';
import type { ServerRepo, Warn } from './server.js';

/** One pack as listed in an index file. */
export interface IndexedPack { id: string; size: number; blobs: PackedBlob[] }

/** Contents of a sealed index file. */
export interface IndexFile { version: 1; supersedes: string[]; packs: IndexedPack[] }

/** IDs of every index file. */
export async function listIndexIds(repo: ServerRepo): Promise<string[]> {
  return repo.listObjectIds('index/');
}

/**
 * Loads every index file into the in-memory index (superseded files that still exist are skipped).
 * A damaged index file stops the load, unless `unreadable` is given: then it is passed there and left
 * out (its packs are then in no index, and can be indexed from their footers, see readUnindexedPacks).
 */
export async function loadIndex(repo: ServerRepo, unreadable?: (indexId: string, err: AzbError) => void): Promise<Map<string, IndexFile>> {
  // Damage a check recorded is left out (FORMAT.md section 10): no reader or backup uses those copies.
  repo.damage = (await readDamage(repo)).set;
  const listed = await repo.listObjects('index/');
  const ids = [...listed.keys()].sort();
  // Copies of index files that are gone from the vault (superseded, pruned) are not kept.
  await repo.indexCache?.retain(new Set(ids));
  const files = new Map<string, IndexFile>();
  await forEachLimit(ids, 8, async (id) => {
    try {
      files.set(id, await readIndexFile(repo, id, listed.get(id)!));
    } catch (err) {
      // Gone since the listing: a backup running alongside replaced its partial index files.
      if (err instanceof AzbError && (await repo.vault.store.stat(repo.indexObject(id)).catch(() => null)) === undefined) return;
      if (!unreadable || !(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      unreadable(id, err);
    }
  });
  const superseded = new Set<string>();
  for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
  let total = 0;
  for (const [id, f] of files) if (!superseded.has(id)) for (const p of f.packs) total += p.blobs.length;
  repo.index = new BlobIndex(Math.max(1024, total));
  repo.trees.reset();
  repo.indexFiles = [];
  for (const [id, f] of files) {
    if (superseded.has(id)) continue;
    repo.indexFiles.push(id);
    for (const p of f.packs) addPackToIndex(repo, p);
  }
  return files;
}

/**
 * One index file, from the local copy when the repo has an index cache holding it, its bytes hash to
 * its name, and the listing shows the vault's object with the same size and MD5 (as the store recorded
 * it at the put: so a damaged or replaced object in the vault is read, and reported, as before); else
 * from the vault (then copied there). A store whose listing gives no MD5 (a folder) is always read.
 */
async function readIndexFile(repo: ServerRepo, id: string, listed: ObjectInfo): Promise<IndexFile> {
  const cache = repo.indexCache;
  const cached = listed.md5 !== undefined ? await cache?.read(id) : undefined;
  if (cached && cached.length === listed.size && createHash('md5').update(cached).digest('base64') === listed.md5) {
    cache!.hits++;
    return openSealedBytes<IndexFile>(repo.keys.seal, 'index', repo.indexObject(id), id, cached);
  }
  return repo.readSealed<IndexFile>('index', repo.indexObject(id), id, cache ? (data) => cache.write(id, data) : undefined);
}

/** Adds a pack's blobs to the in-memory index, except copies recorded damaged. */
export function addPackToIndex(repo: ServerRepo, p: IndexedPack): void {
  for (const b of p.blobs) {
    if (repo.damage.excludes(p.id, b.id)) { repo.damage.noteLeftOut(b.id); continue; }
    repo.index.add(Buffer.from(b.id, 'hex'), { packId: p.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength });
    if (b.type === 'tree') repo.trees.note(p.id, b.offset, b.length);
  }
}

/**
 * Packs in the vault that no loaded index names (a crashed backup uploaded them, or an index file was
 * lost), read from their own footers. Unreadable ones are passed to `unreadable` and left out.
 * `listed`: the pack listing, when the caller has one already.
 */
export async function readUnindexedPacks(repo: ServerRepo, unreadable: (packId: string, err: Error) => void, listed?: Map<string, number>): Promise<IndexedPack[]> {
  listed ??= await listPackIds(repo);
  const indexed = new Set(repo.index.packIds());
  const packs: IndexedPack[] = [];
  for (const id of listed.keys()) {
    // A pack recorded damaged as a whole is not unindexed: its index entries were left out on purpose.
    if (indexed.has(id) || repo.damage.wholePack(id)) continue;
    try {
      packs.push(await readPackBlobs(repo, id));
    } catch (err) {
      if (!(err instanceof AzbError)) throw err;
      unreadable(id, err);
    }
  }
  return packs;
}

/**
 * The index for a reader (restore, ls, check): a damaged index file is reported through `warn` and
 * skipped, and the packs no readable index names are indexed in memory from their own footers, so
 * intact data stays reachable. Nothing is written (the next backup or prune writes a new index).
 */
export async function loadIndexForReading(repo: ServerRepo, warn: Warn): Promise<void> {
  const { damaged } = await loadIndexSkippingDamaged(repo, warn);
  if (damaged.length === 0) return;
  for (const p of await readUnindexedPacks(repo, (id, err) => warn('AZB_PACK_UNREADABLE', `Pack ${id.slice(0, 12)}… is in no readable index and cannot be read: ${err.message}`, repo.packObject(id)))) {
    addPackToIndex(repo, p);
  }
}

/**
 * loadIndex that skips damaged index files with warning AZB_INDEX_DAMAGED (FORMAT.md section 10):
 * their packs are then in no index, and each caller reads them from their footers.
 */
export async function loadIndexSkippingDamaged(repo: ServerRepo, warn: Warn): Promise<{ files: Map<string, IndexFile>; damaged: string[] }> {
  const damaged: string[] = [];
  const files = await loadIndex(repo, (id, err) => {
    damaged.push(id);
    warn('AZB_INDEX_DAMAGED', `Index file ${id.slice(0, 12)}… is damaged and is ignored (${err.message}); the packs it listed are read from their own footers.`, repo.indexObject(id));
  });
  return { files, damaged };
}

/** Writes an index file for packs (and superseding older files); returns its ID. */
export async function saveIndex(repo: ServerRepo, packs: IndexedPack[], supersedes: string[] = []): Promise<string> {
  const file: IndexFile = { version: 1, supersedes, packs };
  const cache = repo.indexCache;
  const id = await repo.writeSealed('index', file, (i) => repo.indexObject(i), cache ? (i, data) => cache.write(i, data) : undefined);
  repo.indexFiles.push(id);
  return id;
}
