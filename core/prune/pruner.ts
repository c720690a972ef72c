// Prune (FORMAT.md section 10): under an exclusive lock, keep every pack that holds a blob reachable
// from a recovery point, write one index for them superseding all others, then delete the rest —
// index files first, packs last, so no index ever names a deleted pack.
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { isTreeDamaged, readTree } from '../restore/tree-reader.js';
import type { IndexedPack, ServerRepo } from '../repo/server.js';
import { planPurge, purgeDeletedPoints, readPointStates, SOFT_DELETE_DAYS } from '../repo/point-states.js';
import { vaultError } from '../repo/storage-errors.js';
import { copyBlobs, DEFAULT_MAX_UNUSED_PERCENT, planRepack } from './repack.js';

/** What prune did (or would do, with dryRun). */
export interface PruneStats {
  points: number; packsKept: number; packsDeleted: number; bytesFreed: number; indexFilesDeleted: number; tempFilesDeleted: number; dryRun: boolean;
  /** Partly used packs rewritten (their used blobs copied into new packs), and the bytes copied. */
  packsRepacked: number; bytesRepacked: number;
  /** Soft-deleted points deleted for good (their 14 days were over), and those still recoverable (data kept). */
  pointsPurged: number; pointsRecoverable: number;
}

export interface PruneOptions {
  dryRun: boolean; sink: EventSink; signal: AbortSignal; lock?: { assertHeld(): Promise<void> };
  /** Repack when the unused share of the kept packs exceeds this (percent; default 5; 100: never). */
  maxUnusedPercent?: number;
  /** Rewrite at most this many bytes of packs in one prune (default: no limit). */
  maxRepackBytes?: number;
}

/** Temp files of unfinished puts are swept once this old (a put never takes an hour to write). */
const TEMP_FILE_AGE_MS = 60 * 60 * 1000;

/** A tree a recovery point references that cannot be read: what it references is unknown. */
export interface UnreadableTree { pointId: string; treeId: string; reason: string }

/**
 * Blob IDs (hex) reachable from every recovery point but those in `skip` (soft-deleted points whose 14
 * days are over: prune deletes them). Soft-deleted points still recoverable count like live ones. A tree that cannot be read is reported (warning
 * AZB_TREE_DAMAGED naming the point and the tree) and listed in `unreadable`, and the walk goes on, so
 * every damaged point is named at once; the caller must then delete nothing.
 */
export async function reachableBlobs(repo: ServerRepo, signal: AbortSignal, sink?: EventSink, skip: ReadonlySet<string> = new Set()): Promise<{ blobs: Set<string>; points: number; unreadable: UnreadableTree[] }> {
  const points = (await repo.readAllPoints()).filter((p) => !skip.has(p.id));
  const blobs = new Set<string>();
  // Trees walked, apart from blobs marked: a subtree ID that is also some file's data blob (a damaged or
  // crafted point) must still be read as a tree, or what it should reference would go unmarked.
  const treesWalked = new Set<string>();
  const unreadable: UnreadableTree[] = [];
  for (const point of points) {
    const stack = [point.manifest.tree];
    while (stack.length > 0) {
      if (signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled before deleting anything.');
      const id = stack.pop()!;
      if (treesWalked.has(id)) continue;
      treesWalked.add(id);
      blobs.add(id);
      let nodes;
      try {
        nodes = await readTree(repo, id);
      } catch (err) {
        if (!isTreeDamaged(err)) throw err;
        unreadable.push({ pointId: point.id, treeId: id, reason: err.message });
        sink?.warning('AZB_TREE_DAMAGED', `Recovery point ${point.id}: its ${err.message}; what that folder references is unknown.`, repo.pointObject(point.id));
        continue;
      }
      for (const n of nodes) {
        for (const c of n.content ?? []) blobs.add(c);
        if (n.subtree && !treesWalked.has(n.subtree)) stack.push(n.subtree);
      }
    }
  }
  return { blobs, points: points.length, unreadable };
}

/** Removes data no recovery point needs. The caller holds the exclusive lock. */
export async function runPrune(repo: ServerRepo, o: PruneOptions): Promise<PruneStats> {
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

  // Soft-deleted points keep their data for 14 days; after that they go with this prune (FORMAT.md §10).
  const pointStates = await readPointStates(repo, (code, message, target) => o.sink.warning(code, message, target));
  const purge = planPurge(pointStates.states, await repo.listPointIds());
  o.sink.progress('Prune', 'Finding the data recovery points use', 20);
  const { blobs, points, unreadable: unreadableTrees } = await reachableBlobs(repo, o.signal, o.sink, new Set(purge.expired.map((s) => s.pointId)));
  // A tree that cannot be read may reference any blob of any pack: nothing can be deleted safely (not
  // even in part), so prune names every such tree (warnings above) and stops before deleting anything.
  if (unreadableTrees.length > 0) {
    const first = unreadableTrees[0]!;
    const pointsAffected = new Set(unreadableTrees.map((t) => t.pointId)).size;
    throw new AzbError('AZB_PRUNE_TREE_DAMAGED', `Prune deleted nothing: ${unreadableTrees.length} folder tree(s) of ${pointsAffected} recovery point(s) cannot be read, so the data they reference is unknown (first: tree ${first.treeId.slice(0, 12)}… of recovery point ${first.pointId.slice(0, 12)}…).`, {
      target: repo.pointObject(first.pointId), hint: "Run 'azbackup check' (Test-AzBackupVault) to see the damage, remove the damaged recovery points ('azbackup forget', Remove-AzRecoveryPoint), then prune again.",
    });
  }
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
  // The first deletion: points whose soft delete has run out, before any pack their data is in.
  if (!o.dryRun && (purge.expired.length > 0 || purge.stray.length > 0)) {
    if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled before deleting anything.');
    await purgeDeletedPoints(repo, purge, o.lock ?? { assertHeld: async () => undefined });
    for (const s of purge.expired) o.sink.log(`Recovery point ${s.pointId.slice(0, 12)}… is deleted for good: it was deleted on ${s.time} (${s.reason}), more than ${SOFT_DELETE_DAYS} days ago.`);
  }
  let keep: IndexedPack[] = [];
  const drop: string[] = [];
  let bytesFreed = 0;
  for (const [id, p] of indexed) {
    if (p.blobs.some((b) => blobs.has(b.id))) keep.push(p);
    else { drop.push(id); bytesFreed += listed.get(id) ?? 0; }
  }
  // Packs that cannot be read and hold nothing any point needs (checked above): killed uploads.
  for (const id of unreadable) { drop.push(id); bytesFreed += listed.get(id) ?? 0; }
  // Partly used packs: rewritten when too much of what is kept is unused. The new packs are uploaded
  // and indexed (in their own index file) before the old ones are dropped below.
  const plan = planRepack(keep, blobs, (id) => repo.index.get(Buffer.from(id, 'hex'))?.packId, {
    maxUnusedPercent: o.maxUnusedPercent ?? DEFAULT_MAX_UNUSED_PERCENT, maxRepackBytes: o.maxRepackBytes ?? Number.MAX_SAFE_INTEGER,
  });
  let bytesRepacked = plan.copy.reduce((n, b) => n + (repo.index.get(Buffer.from(b.id, 'hex'))?.length ?? 0), 0);
  if (plan.packs.length > 0 && !o.dryRun) {
    if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled before deleting anything.');
    await o.lock?.assertHeld();
    o.sink.progress('Prune', `Repacking ${plan.packs.length} partly used pack(s): ${plan.copy.length} blobs still used`, 40);
    const written = await copyBlobs(repo, plan, o);
    bytesRepacked = written.reduce((n, p) => n + p.size, 0);
    const rewritten = new Set(plan.packs.map((p) => p.id));
    keep = keep.filter((p) => !rewritten.has(p.id));
    for (const p of plan.packs) { drop.push(p.id); bytesFreed += listed.get(p.id) ?? p.size; }
    bytesFreed = Math.max(0, bytesFreed - bytesRepacked);
  } else if (plan.packs.length > 0) {
    // A dry run says what repacking would give back: the old packs, less what their used blobs take.
    for (const p of plan.packs) bytesFreed += listed.get(p.id) ?? p.size;
    bytesFreed = Math.max(0, bytesFreed - bytesRepacked);
  }
  const stats: PruneStats = {
    points, packsKept: keep.length, packsDeleted: drop.length + (o.dryRun ? plan.packs.length : 0), bytesFreed, indexFilesDeleted: files.size + damagedIndexes.length, tempFilesDeleted: 0, dryRun: o.dryRun,
    packsRepacked: plan.packs.length, bytesRepacked, pointsPurged: purge.expired.length, pointsRecoverable: purge.recoverable.length,
  };
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
