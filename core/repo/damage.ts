// Damage records (FORMAT.md section 10, "Damage records and repair"): the packs and blobs a check proved
// damaged. Every index load leaves them out, so a backup stores such a blob again instead of
// deduplicating against it, and readers find the new copy. Check writes records; only repair deletes them.
import { now } from '../clock.js';
import { AzbError } from '../protocol/errors.js';
import type { ServerRepo, Warn } from './server.js';
import { vaultError } from './storage-errors.js';

/** One damaged pack: the blobs in it that are damaged ('all' when the pack is missing, cut or unreadable). */
export interface DamagedPack { id: string; blobs: string[] | 'all'; reason: string }

/** The sealed content of a damage record. */
export interface DamageRecord { time: string; packs: DamagedPack[] }

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_REASON = 1024;

function isRecord(v: unknown): v is DamageRecord {
  const r = v as Partial<DamageRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.time === 'string' && Array.isArray(r.packs)
    && r.packs.every((p) => typeof p === 'object' && p !== null && typeof p.id === 'string' && HEX64.test(p.id)
      && typeof p.reason === 'string' && p.reason.length <= MAX_REASON
      && (p.blobs === 'all' || (Array.isArray(p.blobs) && p.blobs.every((b) => typeof b === 'string' && HEX64.test(b)))));
}

/** The damage of a namespace, as readers use it: which (pack, blob) locations to leave out of the index. */
export class DamageSet {
  private readonly packs = new Map<string, { blobs: Set<string> | 'all'; reason: string; time: string }>();
  /** Blob IDs whose copies index loading left out (so a reader can say why a blob is in no index). */
  private readonly leftOut = new Set<string>();

  add(p: DamagedPack, time: string): void {
    const had = this.packs.get(p.id);
    if (had?.blobs === 'all' || p.blobs === 'all') { this.packs.set(p.id, { blobs: 'all', reason: had?.reason ?? p.reason, time: had?.time ?? time }); return; }
    const blobs = had?.blobs ?? new Set<string>();
    for (const b of p.blobs) blobs.add(b);
    this.packs.set(p.id, { blobs, reason: had?.reason ?? p.reason, time: had?.time ?? time });
  }

  /** Whether the copy of `blobId` in `packId` is recorded damaged. */
  excludes(packId: string, blobId: string): boolean {
    const d = this.packs.get(packId)?.blobs;
    return d === 'all' || (d !== undefined && d.has(blobId));
  }

  /** Notes a blob copy index loading left out. */
  noteLeftOut(blobId: string): void { this.leftOut.add(blobId); }

  /** Whether a copy of this blob was left out of the index as damaged. */
  wasLeftOut(blobId: string): boolean { return this.leftOut.has(blobId); }

  /** Whether the whole pack is recorded damaged (missing, cut or unreadable). */
  wholePack(packId: string): boolean { return this.packs.get(packId)?.blobs === 'all'; }

  /** Whether everything new in `p` is recorded already. */
  covers(p: DamagedPack): boolean {
    const d = this.packs.get(p.id);
    if (!d) return false;
    if (d.blobs === 'all') return true;
    if (p.blobs === 'all') return false;
    const recorded = d.blobs;
    return p.blobs.every((b) => recorded.has(b));
  }

  /** The damaged packs, with the first reason and time recorded for each. */
  list(): { id: string; blobs: string[] | 'all'; reason: string; time: string }[] {
    return [...this.packs].map(([id, d]) => ({ id, blobs: d.blobs === 'all' ? 'all' : [...d.blobs], reason: d.reason, time: d.time }));
  }

  get size(): number { return this.packs.size; }
}

/** Object name of a damage record. */
export function damageObject(repo: ServerRepo, id: string): string { return `${repo.prefix}damage/${id}`; }

/**
 * Reads every damage record. One that cannot be read is passed to `unreadable` (check reports it) and
 * ignored: a damaged record only loses the protection it gave, and the next check records the damage again.
 */
export async function readDamage(repo: ServerRepo, unreadable?: (recordId: string, why: string) => void): Promise<{ set: DamageSet; recordIds: string[] }> {
  const set = new DamageSet();
  const recordIds = await repo.listObjectIds('damage/');
  for (const id of recordIds) {
    let record: unknown;
    try {
      record = await repo.readSealed<unknown>('damage', damageObject(repo, id), id);
    } catch (err) {
      // Gone since the listing (a repair deleted it): nothing to leave out.
      if (err instanceof AzbError && (await repo.vault.store.stat(damageObject(repo, id)).catch(() => null)) === undefined) continue;
      if (!(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      unreadable?.(id, err.message);
      continue;
    }
    if (!isRecord(record)) { unreadable?.(id, 'it is not a damage record'); continue; }
    for (const p of record.packs) set.add(p, record.time);
  }
  return { set, recordIds };
}

/** Records the damage `packs` holds that no record names yet; returns the new record's ID, if one was written. */
export async function recordDamage(repo: ServerRepo, known: DamageSet, packs: DamagedPack[]): Promise<string | undefined> {
  const fresh = packs.filter((p) => !known.covers(p)).map((p) => ({ ...p, reason: p.reason.slice(0, MAX_REASON) }));
  if (fresh.length === 0) return undefined;
  const record: DamageRecord = { time: now().toISOString(), packs: fresh };
  const id = await repo.writeSealed('damage', record, (i) => damageObject(repo, i));
  for (const p of fresh) known.add(p, record.time);
  return id;
}

/** Deletes damage records (repair, after the damage they name is gone from every index). */
export async function deleteDamageRecords(repo: ServerRepo, ids: readonly string[]): Promise<void> {
  try {
    for (const id of ids) await repo.vault.store.delete(damageObject(repo, id));
  } catch (err) {
    throw vaultError(err, repo.location, 'damage records');
  }
}

/** A warning for damage records that cannot be read. */
export function warnUnreadableDamage(repo: ServerRepo, warn: Warn): (id: string, why: string) => void {
  return (id, why) => warn('AZB_OBJECT_DAMAGED', `Damage record ${id.slice(0, 12)}… cannot be read (${why}); it is ignored, and the next check records the damage it named again.`, damageObject(repo, id));
}
