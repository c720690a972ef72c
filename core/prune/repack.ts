// Repacking (FORMAT.md section 10, "Prune"): packs that are only partly used are rewritten when the
// unused share of the kept packs exceeds a limit (default 5 %, like restic's --max-unused), so that a
// vault whose points expire every day gives space back. The blobs still used are copied into new packs
// through the same saver a backup uses; those packs are uploaded and indexed before any old pack goes.
import { BlobSaver } from '../backup/blob-saver.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import type { BlobType } from '../repo/blob-index.js';
import type { IndexedPack, ServerRepo } from '../repo/server.js';

/** Unused share of the kept packs above which prune repacks, in percent (restic's --max-unused default). */
export const DEFAULT_MAX_UNUSED_PERCENT = 5;

export interface RepackPlan {
  /** Packs to rewrite (their used blobs copied, then the packs deleted). */
  packs: IndexedPack[];
  /** Blobs to copy: used, and in no pack that stays. */
  copy: { id: string; type: BlobType }[];
  /** Bytes of blobs no point uses (or stored twice) in the kept packs, before and after. */
  unusedBefore: number; unusedAfter: number;
  /** Size of the kept packs. */
  total: number;
}

/**
 * Chooses the packs to rewrite. A blob of a kept pack is unused when no point needs it, or when the
 * index places it in another pack (a second copy). Packs with the largest unused share go first, until
 * the unused bytes left are within `maxUnusedPercent` of what is kept, or `maxRepackBytes` of packs
 * would be rewritten.
 */
export function planRepack(keep: readonly IndexedPack[], used: ReadonlySet<string>, indexedIn: (blobId: string) => string | undefined,
  o: { maxUnusedPercent: number; maxRepackBytes: number }): RepackPlan {
  const unusedOf = (p: IndexedPack) => p.blobs.reduce((n, b) => n + (!used.has(b.id) || indexedIn(b.id) !== p.id ? b.length : 0), 0);
  const total = keep.reduce((n, p) => n + p.size, 0);
  const withUnused = keep.map((p) => ({ p, unused: unusedOf(p) })).filter((x) => x.unused > 0);
  const unusedBefore = withUnused.reduce((n, x) => n + x.unused, 0);
  let unused = unusedBefore;
  let size = 0;
  const chosen: IndexedPack[] = [];
  withUnused.sort((a, b) => b.unused / b.p.size - a.unused / a.p.size || b.unused - a.unused);
  for (const { p, unused: u } of withUnused) {
    if (unused <= (o.maxUnusedPercent / 100) * (total - (unusedBefore - unused))) break;
    if (size + p.size > o.maxRepackBytes) continue;
    chosen.push(p);
    size += p.size;
    unused -= u;
  }
  const rewritten = new Set(chosen.map((p) => p.id));
  const staying = new Set<string>();
  for (const p of keep) if (!rewritten.has(p.id)) for (const b of p.blobs) staying.add(b.id);
  const copy = new Map<string, BlobType>();
  for (const p of chosen) for (const b of p.blobs) if (used.has(b.id) && !staying.has(b.id)) copy.set(b.id, b.type);
  return { packs: chosen, copy: [...copy].map(([id, type]) => ({ id, type })), unusedBefore, unusedAfter: unused, total };
}

/**
 * Copies the plan's blobs into new packs (read and checked against their IDs, then stored as a backup
 * stores them), and returns the new packs once they are uploaded and indexed. Before the caller may
 * delete an old pack, every copied blob must be in one of them: checked here, loudly.
 */
export async function copyBlobs(repo: ServerRepo, plan: RepackPlan, o: { sink: EventSink; signal: AbortSignal; lock?: { assertHeld(): Promise<void> } }): Promise<IndexedPack[]> {
  const saver = new BlobSaver(repo, undefined, o.lock, { rewrite: true });
  let done = 0;
  try {
    for (const b of plan.copy) {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'Prune was cancelled while repacking; no pack was deleted.');
      const data = await repo.readBlob(Buffer.from(b.id, 'hex'), b.type);
      await saver.save(b.type, data, Buffer.from(b.id, 'hex'));
      if (++done % 500 === 0) o.sink.progress('Prune', `Repacking: ${done} of ${plan.copy.length} blobs`, 40 + Math.floor((20 * done) / plan.copy.length));
    }
    await saver.finish(true);
  } catch (err) {
    await saver.finish(false).catch(() => undefined);
    throw err;
  }
  const written = saver.packsWritten;
  const present = new Set<string>();
  for (const p of written) for (const b of p.blobs) present.add(b.id);
  const lost = plan.copy.filter((b) => !present.has(b.id));
  if (lost.length > 0) {
    throw new AzbError('AZB_INTERNAL_INVARIANT', `Repacking copied ${plan.copy.length - lost.length} of ${plan.copy.length} blobs (first missing: ${lost[0]!.id.slice(0, 12)}…); no pack was deleted.`, {
      target: repo.prefix, hint: 'Run prune again; report this if it persists.',
    });
  }
  return [...written];
}
