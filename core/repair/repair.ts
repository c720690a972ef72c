// Repair (FORMAT.md section 10, "Damage records and repair"), modelled on restic's `repair`: rebuild
// the index from the packs' footers; salvage the readable blobs of damaged packs into new packs; rewrite
// the recovery points whose files lost data, marking those files. The caller holds the exclusive lock.
import { createHash, type KeyObject } from 'node:crypto';
import { BlobSaver } from '../backup/blob-saver.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { damageObject, deleteDamageRecords, readDamage, recordDamage, warnUnreadableDamage, type DamagedPack } from '../repo/damage.js';
import { openBlob, packKeyFromHeader, readPackFooter } from '../repo/pack.js';
import { readPointStates, setPointState } from '../repo/point-states.js';
import { storageId } from '../crypto/seal.js';
import type { BlobType } from '../repo/blob-index.js';
import type { IndexedPack, PointManifest, RecoveryPoint, ServerRepo } from '../repo/server.js';
import { forEachLimit } from '../repo/server.js';
import { vaultError } from '../repo/storage-errors.js';
import { displayName, encodeTree, type TreeNode } from '../repo/tree.js';
import { isTreeDamaged, readTree } from '../restore/tree-reader.js';

export type RepairPart = 'index' | 'packs' | 'points';

export interface RepairOptions {
  dryRun: boolean; sink: EventSink; signal: AbortSignal; lock: { assertHeld(): Promise<void> };
}

/** What repair did (or would do, with dryRun). */
export interface RepairStats {
  dryRun: boolean;
  /** index: packs listed in the rebuilt index, packs whose footer cannot be read, index files replaced. */
  packsIndexed: number; packsUnreadable: number; indexFilesReplaced: number;
  /** packs: damaged packs handled, blobs copied out of them, blobs lost (no readable copy), packs deleted. */
  packsRepaired: number; blobsSalvaged: number; blobsLost: number; packsDeleted: number;
  /** points: points rewritten, files in them that lost data, bytes lost, folders whose tree was lost. */
  pointsRepaired: number; filesDamaged: number; bytesLost: number; treesLost: number;
}

export function emptyStats(dryRun: boolean): RepairStats {
  return { dryRun, packsIndexed: 0, packsUnreadable: 0, indexFilesReplaced: 0, packsRepaired: 0, blobsSalvaged: 0, blobsLost: 0, packsDeleted: 0, pointsRepaired: 0, filesDamaged: 0, bytesLost: 0, treesLost: 0 };
}

function cancelled(what: string): AzbError {
  return new AzbError('AZB_CANCELLED', `Repair was cancelled ${what}.`);
}

/** Reads a pack's bytes as stored (no storage-ID check: repair wants what is left of a damaged one). */
async function readRawPack(repo: ServerRepo, packId: string): Promise<Buffer | undefined> {
  try {
    return await repo.vault.store.get(repo.packObject(packId));
  } catch (err) {
    const e = vaultError(err, repo.location, `pack ${packId.slice(0, 12)}`);
    if (e.code === 'AZB_OBJECT_DAMAGED') return undefined; // missing, or larger than any pack
    throw e;
  }
}

/** The blobs of a pack's bytes that open and match their IDs (and the IDs of those that do not). */
function verifyBlobs(repo: ServerRepo, data: Buffer, blobs: IndexedPack['blobs']): { good: Map<string, Buffer>; bad: string[] } {
  const good = new Map<string, Buffer>();
  const bad: string[] = [];
  let key: KeyObject | undefined;
  try { key = packKeyFromHeader(repo.keys, data); } catch { key = undefined; }
  for (const b of blobs) {
    try {
      if (!key || b.offset + b.length > data.length) throw new Error('short');
      const plain = openBlob(key, Buffer.from(b.id, 'hex'), data.subarray(b.offset, b.offset + b.length), b.rawLength);
      if (!repo.blobMatchesId(plain, Buffer.from(b.id, 'hex'), b.type)) throw new Error('id');
      good.set(b.id, plain);
    } catch {
      bad.push(b.id);
    }
  }
  return { good, bad };
}

/**
 * index: one index file for every pack whose footer can be read, superseding every index file. A pack
 * whose bytes do not match its name has its blobs checked; those that fail, and packs whose footer
 * cannot be read, are recorded damaged for `packs`.
 */
export async function repairIndex(repo: ServerRepo, o: RepairOptions, stats: RepairStats): Promise<void> {
  const oldIndexes = await repo.listIndexIds();
  const listed = await repo.listPackIds();
  const packs: IndexedPack[] = [];
  const damaged: DamagedPack[] = [];
  let done = 0;
  await forEachLimit([...listed.keys()].sort(), 4, async (id) => {
    if (o.signal.aborted) throw cancelled('before it changed anything');
    const data = await readRawPack(repo, id);
    if (++done % 50 === 0) o.sink.progress('Repair', `Index: reading pack footers (${done} of ${listed.size})`, Math.floor((30 * done) / listed.size));
    if (!data) { damaged.push({ id, blobs: 'all', reason: 'pack cannot be read' }); return; }
    let blobs: IndexedPack['blobs'];
    try {
      blobs = readPackFooter(repo.keys, data);
    } catch (err) {
      damaged.push({ id, blobs: 'all', reason: `pack footer cannot be read: ${(err as Error).message}` });
      return;
    }
    packs.push({ id, size: data.length, blobs });
    if (storageId(data) !== id) {
      const { bad } = verifyBlobs(repo, data, blobs);
      damaged.push({ id, blobs: bad, reason: bad.length > 0 ? `${bad.length} blob(s) fail authentication or do not match their IDs` : 'pack content does not match its name (a byte outside the blobs was altered)' });
    }
  });
  packs.sort((a, b) => (a.id < b.id ? -1 : 1));
  stats.packsIndexed = packs.length;
  stats.packsUnreadable = damaged.filter((d) => d.blobs === 'all').length;
  stats.indexFilesReplaced = oldIndexes.length;
  for (const d of damaged) o.sink.warning('AZB_PACK_DAMAGED', `Pack ${d.id.slice(0, 12)}… is damaged (${d.reason}); ${o.dryRun ? 'it would be' : 'it is'} recorded for 'repair packs'.`, repo.packObject(d.id));
  if (o.dryRun) return;
  await o.lock.assertHeld();
  const { set } = await readDamage(repo, warnUnreadableDamage(repo, (c, m, t) => o.sink.warning(c, m, t)));
  await recordDamage(repo, set, damaged);
  const newIndex = await repo.saveIndex(packs, oldIndexes);
  try {
    for (const id of oldIndexes) if (id !== newIndex) await repo.vault.store.delete(repo.indexObject(id));
  } catch (err) {
    throw vaultError(err, repo.location, 'old index files');
  }
  await repo.loadIndex();
}

/**
 * packs: for every pack a damage record names, copies the blobs that still open, match their IDs and
 * have no copy elsewhere into new packs; then an index without the damaged packs supersedes the old
 * ones, and the old index files, the damaged packs and the records are deleted, in that order.
 */
export async function repairPacks(repo: ServerRepo, o: RepairOptions, stats: RepairStats): Promise<void> {
  const warn = (c: string, m: string, t: string) => o.sink.warning(c, m, t);
  const { files, damaged: damagedIndexes } = await repo.loadIndexSkippingDamaged(warn);
  const { set: damage, recordIds } = await readDamage(repo, warnUnreadableDamage(repo, warn));
  const damagedPacks = damage.list();
  if (damagedPacks.length === 0) { o.sink.log('No damaged packs are recorded: run a check with read-data (Test-AzBackupVault -ReadData) to find damage.'); return; }
  const superseded = new Set<string>();
  for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
  const indexed = new Map<string, IndexedPack>();
  for (const [id, f] of files) if (!superseded.has(id)) for (const p of f.packs) indexed.set(p.id, p);
  const damagedIds = new Set(damagedPacks.map((d) => d.id));
  const listed = await repo.listPackIds();

  const saver = o.dryRun ? undefined : new BlobSaver(repo, undefined, o.lock, { rewrite: true });
  const salvaged: { id: string; type: BlobType }[] = [];
  try {
    let n = 0;
    for (const d of damagedPacks) {
      if (o.signal.aborted) throw cancelled('before it deleted anything');
      o.sink.progress('Repair', `Packs: salvaging pack ${++n} of ${damagedPacks.length}`, 30 + Math.floor((30 * n) / damagedPacks.length));
      stats.packsRepaired++;
      const data = listed.has(d.id) ? await readRawPack(repo, d.id) : undefined;
      let blobs = indexed.get(d.id)?.blobs;
      if (!blobs && data) { try { blobs = readPackFooter(repo.keys, data); } catch { blobs = undefined; } }
      const good = data && blobs ? verifyBlobs(repo, data, blobs).good : new Map<string, Buffer>();
      let lost = 0;
      for (const b of blobs ?? []) {
        // A copy elsewhere (a later backup stored it again) serves the points: nothing to salvage.
        const loc = repo.index.get(Buffer.from(b.id, 'hex'));
        if (loc && !damagedIds.has(loc.packId)) continue;
        const plain = good.get(b.id);
        if (!plain) { lost++; continue; }
        salvaged.push({ id: b.id, type: b.type });
        await saver?.save(b.type, plain, Buffer.from(b.id, 'hex'));
      }
      stats.blobsLost += lost;
      o.sink.log(`Pack ${d.id.slice(0, 12)}… (${d.reason}): ${good.size} blob(s) readable, ${lost} lost${blobs ? '' : ' (its blob list is unknown: no index names it and its footer cannot be read)'}.`);
    }
    stats.blobsSalvaged = salvaged.length;
    await saver?.finish(true);
  } catch (err) {
    await saver?.finish(false).catch(() => undefined);
    throw err;
  }
  if (!saver) { stats.packsDeleted = damagedPacks.filter((d) => listed.has(d.id)).length; return; }
  // Every salvaged blob must be in a new pack before any damaged pack goes: checked, loudly.
  const present = new Set<string>();
  for (const p of saver.packsWritten) for (const b of p.blobs) present.add(b.id);
  const missing = salvaged.filter((b) => !present.has(b.id));
  if (missing.length > 0) {
    throw new AzbError('AZB_INTERNAL_INVARIANT', `Repair copied ${salvaged.length - missing.length} of ${salvaged.length} salvaged blobs (first missing: ${missing[0]!.id.slice(0, 12)}…); nothing was deleted.`, {
      target: repo.prefix, hint: 'Run repair again; report this if it persists.',
    });
  }
  await o.lock.assertHeld();
  const keep = [...indexed.values()].filter((p) => !damagedIds.has(p.id));
  const old = [...files.keys(), ...damagedIndexes];
  const newIndex = await repo.saveIndex(keep, old);
  try {
    for (const id of old) if (id !== newIndex) await repo.vault.store.delete(repo.indexObject(id));
    for (const d of damagedPacks) if (listed.has(d.id)) { await repo.vault.store.delete(repo.packObject(d.id)); stats.packsDeleted++; }
  } catch (err) {
    throw vaultError(err, repo.location, 'repair deletions');
  }
  await deleteDamageRecords(repo, recordIds);
  for (const id of recordIds) o.sink.log(`Damage record ${damageObject(repo, id)} is resolved and deleted.`);
  await repo.loadIndex();
}

/** A tree rewritten by repair: its new ID and whether it differs. */
interface FixedTree { id: string; changed: boolean }

/**
 * points: every live point that references a blob in no index is written again with its damaged files
 * marked (`damage`), then the old point is deleted. `signingKey` signs the new points.
 */
export async function repairPoints(repo: ServerRepo, o: RepairOptions & { signingKey: KeyObject }, stats: RepairStats): Promise<void> {
  const warn = (c: string, m: string, t: string) => o.sink.warning(c, m, t);
  await repo.loadIndexForReading(warn);
  const { live, deleted } = await repo.readPointsByState((id, err) => warn('AZB_POINT_DAMAGED', `Recovery point ${id.slice(0, 12)}… cannot be read (${err.message}); repair cannot rewrite it: remove it with 'azbackup forget --permanent' (Remove-AzRecoveryPoint -Permanent).`, repo.pointObject(id)), warn);
  const has = (id: string) => repo.index.has(Buffer.from(id, 'hex'));
  const saver = o.dryRun ? undefined : new BlobSaver(repo, undefined, o.lock);
  const fixed = new Map<string, FixedTree>();
  let emptyTree: string | undefined;
  const saveTree = async (nodes: TreeNode[]): Promise<string> => {
    const data = encodeTree(nodes);
    return saver ? (await saver.save('tree', data)).toString('hex') : repo.blobId(data, 'tree').toString('hex');
  };

  // What lost data is left of a file: the chunks that remain, read and hashed again.
  const fixFile = async (n: TreeNode, path: string, pointId: string): Promise<TreeNode> => {
    const content = n.content ?? [];
    const remaining: string[] = [];
    const hash = createHash('sha256');
    let size = 0;
    for (const c of content) {
      if (!has(c)) continue;
      let plain: Buffer;
      try {
        plain = await repo.readBlob(Buffer.from(c, 'hex'), 'data');
      } catch (err) {
        if (err instanceof AzbError && err.code === 'AZB_OBJECT_DAMAGED') continue; // damaged, not yet recorded
        throw err;
      }
      remaining.push(c);
      hash.update(plain);
      size += plain.length;
    }
    const original = n.size ?? 0;
    const lostBytes = Math.max(0, original - size);
    stats.filesDamaged++;
    stats.bytesLost += lostBytes;
    o.sink.item('RepairedFile', { pointId, path, size: original, lostBytes, remainingBytes: size });
    const damage = { lostBytes, size: original, ...(n.digest !== undefined ? { digest: n.digest } : {}) };
    return { ...n, content: remaining, size, ...(n.digest !== undefined ? { digest: hash.digest('hex') } : {}), damage };
  };

  const fixTree = async (treeId: string, path: string, pointId: string): Promise<FixedTree> => {
    const memo = fixed.get(treeId);
    if (memo) return memo;
    if (o.signal.aborted) throw cancelled('before it wrote any point');
    const nodes = await readTree(repo, treeId);
    let changed = false;
    const out: TreeNode[] = [];
    for (const n of nodes) {
      const p = path === '' ? displayName(n) : `${path}/${displayName(n)}`;
      if (n.type === 'file' && (n.content ?? []).some((c) => !has(c))) {
        out.push(await fixFile(n, p, pointId));
        changed = true;
      } else if (n.subtree !== undefined) {
        let sub: FixedTree | undefined;
        try { sub = has(n.subtree) ? await fixTree(n.subtree, p, pointId) : undefined; } catch (err) {
          if (!isTreeDamaged(err)) throw err;
          sub = undefined;
        }
        if (sub) {
          if (sub.changed) changed = true;
          out.push(sub.changed ? { ...n, subtree: sub.id } : n);
        } else {
          emptyTree ??= await saveTree([]);
          stats.treesLost++;
          o.sink.item('RepairedFile', { pointId, path: p, lostTree: true });
          out.push({ ...n, subtree: emptyTree, damage: { lostTree: true } });
          changed = true;
        }
      } else {
        out.push(n);
      }
    }
    const result: FixedTree = changed ? { id: await saveTree(out), changed } : { id: treeId, changed };
    fixed.set(treeId, result);
    return result;
  };

  // Trees first, all of them, then their index: a point is written only once what it names is indexed.
  const rewrites: { point: RecoveryPoint; tree: string }[] = [];
  try {
    let n = 0;
    for (const point of live) {
      o.sink.progress('Repair', `Points: walking point ${++n} of ${live.length}`, 60 + Math.floor((30 * n) / Math.max(live.length, 1)));
      const before = stats.filesDamaged + stats.treesLost;
      let root: FixedTree;
      if (!has(point.manifest.tree)) {
        emptyTree ??= await saveTree([]);
        stats.treesLost++;
        o.sink.item('RepairedFile', { pointId: point.id, path: '/', lostTree: true });
        root = { id: emptyTree, changed: true };
      } else {
        try {
          root = await fixTree(point.manifest.tree, '', point.id);
        } catch (err) {
          if (!isTreeDamaged(err)) throw err;
          emptyTree ??= await saveTree([]);
          stats.treesLost++;
          o.sink.item('RepairedFile', { pointId: point.id, path: '/', lostTree: true });
          root = { id: emptyTree, changed: true };
        }
      }
      // A tree shared with a point repaired before is fixed once; its files count again for this point.
      if (root.changed) {
        rewrites.push({ point, tree: root.id });
        if (stats.filesDamaged + stats.treesLost === before) o.sink.log(`Recovery point ${point.id.slice(0, 12)}… shares damaged folders with a point repaired before it.`);
      }
    }
    await saver?.finish(true);
  } catch (err) {
    await saver?.finish(false).catch(() => undefined);
    throw err;
  }
  for (const d of deleted) {
    if (!has(d.manifest.tree)) o.sink.log(`Recovery point ${d.id.slice(0, 12)}… is soft-deleted and its root folder is lost; it is not rewritten (prune purges it when its 14 days are over).`);
  }
  stats.pointsRepaired = rewrites.length;
  if (o.dryRun || rewrites.length === 0) return;

  const states = (await readPointStates(repo, warn)).states;
  for (const { point, tree } of rewrites) {
    if (o.signal.aborted) throw cancelled('between points; the points rewritten so far are complete');
    await o.lock.assertHeld();
    const manifest: PointManifest = { ...point.manifest, tree, tags: point.manifest.tags.includes('repaired') ? point.manifest.tags : [...point.manifest.tags, 'repaired'], repairedFrom: point.id };
    const newId = await repo.savePoint(manifest, o.signingKey);
    // A point an admin brought back from soft delete stays exempt from retention under its new ID.
    const state = states.get(point.id);
    if (state?.state === 'restored') await setPointState(repo, newId, 'restored', `repaired from ${point.id}`, undefined, o.lock);
    try {
      await repo.vault.store.delete(repo.pointObject(point.id));
      for (const s of state?.objects ?? []) await repo.vault.store.delete(repo.pointStateObject(point.id, s));
    } catch (err) {
      throw vaultError(err, repo.location, `recovery point ${point.id.slice(0, 12)}`);
    }
    await repo.pointRemoved(point.id);
    o.sink.log(`Recovery point ${point.id.slice(0, 12)}… is rewritten as ${newId.slice(0, 12)}… (tag 'repaired'); its damaged files are marked and restore names them.`);
  }
}
