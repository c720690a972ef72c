// Prune (FORMAT.md section 10): under an exclusive lock, keep every pack that holds a blob reachable
// from a recovery point, write one index for them superseding all others, then delete the rest —
// index files first, packs last, so no index ever names a deleted pack.
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { decodeTree } from '../repo/tree.js';
import type { IndexedPack, ServerRepo } from '../repo/server.js';
import { vaultError } from '../repo/storage-errors.js';

/** What prune did (or would do, with dryRun). */
export interface PruneStats { points: number; packsKept: number; packsDeleted: number; bytesFreed: number; indexFilesDeleted: number; tempFilesDeleted: number; dryRun: boolean }

/** Temp files of unfinished puts are swept once this old (a put never takes an hour to write). */
const TEMP_FILE_AGE_MS = 60 * 60 * 1000;

/** Blob IDs (hex) reachable from every recovery point. A tree that cannot be read stops the prune. */
export async function reachableBlobs(repo: ServerRepo, signal: AbortSignal): Promise<{ blobs: Set<string>; points: number }> {
  const points = await repo.readAllPoints();
  const blobs = new Set<string>();
  const stack = points.map((p) => p.manifest.tree);
  while (stack.length > 0) {
    if (signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled before deleting anything.');
    const id = stack.pop()!;
    if (blobs.has(id)) continue;
    blobs.add(id);
    for (const n of decodeTree(await repo.readBlob(Buffer.from(id, 'hex'), 'tree'))) {
      for (const c of n.content ?? []) blobs.add(c);
      if (n.subtree && !blobs.has(n.subtree)) stack.push(n.subtree);
    }
  }
  return { blobs, points: points.length };
}

/** Removes data no recovery point needs. The caller holds the exclusive lock. */
export async function runPrune(repo: ServerRepo, o: { dryRun: boolean; sink: EventSink; signal: AbortSignal; lock?: { assertHeld(): Promise<void> } }): Promise<PruneStats> {
  o.sink.progress('Prune', 'Reading the index', 0);
  // A damaged index file is skipped: its packs are judged from their footers below, and it is deleted
  // with the other old index files once the new index (which lists the packs still needed) is written.
  const { files, damaged: damagedIndexes } = await repo.loadIndexSkippingDamaged((code, message, target) => o.sink.warning(code, message, target));
  const superseded = new Set<string>();
  for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
  const indexed = new Map<string, IndexedPack>();
  for (const [id, f] of files) if (!superseded.has(id)) for (const p of f.packs) indexed.set(p.id, p);

  // Packs in no index: mostly left by interrupted backups, but a lost index file leaves packs that points
  // still use. Their footers say what they hold, so they are judged like indexed ones.
  const listed = await repo.listPackIds();
  const unreadable: string[] = [];
  const recovered = await repo.readUnindexedPacks((id) => unreadable.push(id), listed);
  for (const p of recovered) {
    repo.addPackToIndex(p);
    indexed.set(p.id, p);
  }

  o.sink.progress('Prune', 'Finding the data recovery points use', 20);
  const { blobs, points } = await reachableBlobs(repo, o.signal);
  // Every blob a point uses must lie in a pack that is kept; otherwise deleting anything could make the
  // damage worse (an unreadable pack may still hold the missing data), so prune stops here.
  let missing = 0;
  for (const id of blobs) {
    const loc = repo.index.get(Buffer.from(id, 'hex'));
    if (!loc || !listed.has(loc.packId)) missing++;
  }
  if (missing > 0) {
    throw new AzbError('AZB_PRUNE_DATA_MISSING', `Recovery points use ${missing} blob(s) that are in no readable pack; prune deleted nothing.`, {
      target: repo.prefix, hint: "Run 'azbackup check --read-data' (Test-AzBackupVault -ReadData) to see which points and files are affected, and remove those points first.",
    });
  }
  const keep: IndexedPack[] = [];
  const drop: string[] = [];
  let bytesFreed = 0;
  for (const [id, p] of indexed) {
    if (p.blobs.some((b) => blobs.has(b.id))) keep.push(p);
    else { drop.push(id); bytesFreed += listed.get(id) ?? 0; }
  }
  // Packs that cannot be read and hold nothing any point needs (checked above): killed uploads.
  for (const id of unreadable) { drop.push(id); bytesFreed += listed.get(id) ?? 0; }
  const stats: PruneStats = { points, packsKept: keep.length, packsDeleted: drop.length, bytesFreed, indexFilesDeleted: files.size + damagedIndexes.length, tempFilesDeleted: 0, dryRun: o.dryRun };
  // Folder vaults: temp files that killed backups left in this server's part of the vault.
  const store = repo.vault.store as { sweepTemporary?: (prefix: string, olderThanMs: number) => Promise<number> };
  if (!o.dryRun && typeof store.sweepTemporary === 'function') stats.tempFilesDeleted = await store.sweepTemporary(repo.prefix, TEMP_FILE_AGE_MS);
  if (o.dryRun || (drop.length === 0 && recovered.length === 0 && damagedIndexes.length === 0 && files.size <= 1 && superseded.size === 0)) {
    if (!o.dryRun) stats.indexFilesDeleted = 0;
    return stats;
  }
  if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled before deleting anything.');

  await o.lock?.assertHeld();
  o.sink.progress('Prune', `Writing the new index (${keep.length} packs)`, 60);
  const old = [...files.keys(), ...damagedIndexes];
  const newIndex = await repo.saveIndex(keep, old);
  o.sink.progress('Prune', `Deleting ${old.length} old index file(s) and ${drop.length} pack(s)`, 70);
  try {
    for (const id of old) if (id !== newIndex) await repo.vault.store.delete(repo.indexObject(id));
    for (const id of drop) await repo.vault.store.delete(repo.packObject(id));
  } catch (err) {
    throw vaultError(err, repo.location, 'prune deletions');
  }
  stats.indexFilesDeleted = old.filter((id) => id !== newIndex).length;
  o.sink.progress('Prune', 'Done', 100);
  return stats;
}
