// Soft delete of recovery points (FORMAT.md section 10, "Soft delete: point states"): a removed or
// expired point stays in the vault for 14 days, marked by a sealed state object beside it, and can be
// brought back. Reading the states, writing one, and purging the points whose 14 days have passed.
// Writers hold the exclusive lock of the namespace.
import { now } from '../clock.js';
import { AzbError } from '../protocol/errors.js';
import { forEachLimit } from './for-each-limit.js';
import type { ServerRepo, Warn } from './server.js';
import { vaultError } from './storage-errors.js';

/** How long a soft-deleted point stays recoverable. */
export const SOFT_DELETE_DAYS = 14;
const SOFT_DELETE_MS = SOFT_DELETE_DAYS * 24 * 60 * 60 * 1000;
const MAX_REASON = 1024;
const HEX64 = /^[0-9a-f]{64}$/;

export type PointStateName = 'deleted' | 'restored';

/** The sealed content of a state object. */
interface PointStateRecord { pointId: string; state: PointStateName; time: string; reason: string }

/** A point's state: its newest state object, and the IDs of all its state objects. */
export interface PointState {
  pointId: string; state: PointStateName; time: string; reason: string;
  /** Storage IDs of every state object naming the point (the newest included). */
  objects: string[];
}

/** The points' states, by point ID. */
export type PointStates = Map<string, PointState>;

/** When a soft-deleted point's 14 days are over (prune deletes it from then on). */
export function purgeAfter(s: PointState): Date {
  return new Date(Date.parse(s.time) + SOFT_DELETE_MS);
}

export function isDeleted(states: PointStates, pointId: string): boolean {
  return states.get(pointId)?.state === 'deleted';
}

function isRecord(v: unknown): v is PointStateRecord {
  const r = v as Partial<PointStateRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.pointId === 'string' && HEX64.test(r.pointId)
    && (r.state === 'deleted' || r.state === 'restored') && typeof r.time === 'string' && Number.isFinite(Date.parse(r.time))
    && typeof r.reason === 'string' && r.reason.length <= MAX_REASON;
}

/** Whether state a is newer than b (on a tie, 'restored' wins: it keeps data). */
function newer(a: PointStateRecord, b: PointStateRecord): boolean {
  const d = Date.parse(a.time) - Date.parse(b.time);
  return d > 0 || (d === 0 && a.state === 'restored' && b.state !== 'restored');
}

/**
 * Reads every state object of the namespace. One that cannot be read is named (warning
 * AZB_OBJECT_DAMAGED) and ignored, so its point counts as live; its ID is returned in `damaged`.
 */
export async function readPointStates(repo: ServerRepo, warn?: Warn): Promise<{ states: PointStates; damaged: string[] }> {
  const ids = await repo.listObjectIds('point-states/');
  const records: { id: string; r: PointStateRecord }[] = [];
  const damaged: string[] = [];
  await forEachLimit(ids, 8, async (id) => {
    try {
      const r = await repo.readSealed<unknown>('point-state', repo.pointStateObject(id), id);
      if (!isRecord(r)) throw new AzbError('AZB_OBJECT_DAMAGED', `point-state ${id.slice(0, 12)}… is damaged (not a point state).`, { target: repo.pointStateObject(id) });
      records.push({ id, r });
    } catch (err) {
      if (!(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      damaged.push(id);
      warn?.('AZB_OBJECT_DAMAGED', `${err.message} It is ignored (its point counts as not deleted), and prune removes it.`, repo.pointStateObject(id));
    }
  });
  const states: PointStates = new Map();
  for (const { id, r } of records.sort((a, b) => a.id.localeCompare(b.id))) {
    const s = states.get(r.pointId);
    if (!s) { states.set(r.pointId, { ...r, objects: [id] }); continue; }
    s.objects.push(id);
    if (newer(r, s)) Object.assign(s, { state: r.state, time: r.time, reason: r.reason });
  }
  return { states, damaged: damaged.sort() };
}

/**
 * Gives a point a new state: writes the state object first, then deletes the point's older ones (a crash
 * between leaves both; the newer decides). Returns the new state.
 */
export async function setPointState(repo: ServerRepo, pointId: string, state: PointStateName, reason: string, previous: PointState | undefined, lock: { assertHeld(): Promise<void> }): Promise<PointState> {
  const record: PointStateRecord = { pointId, state, time: now().toISOString(), reason: reason.slice(0, MAX_REASON) };
  await lock.assertHeld();
  const id = await repo.writeSealed('point-state', record, (i) => repo.pointStateObject(i));
  await deleteStateObjects(repo, (previous?.objects ?? []).filter((o) => o !== id));
  return { ...record, objects: [id] };
}

/** Deletes state objects by ID. */
export async function deleteStateObjects(repo: ServerRepo, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    try {
      await repo.vault.store.delete(repo.pointStateObject(id));
    } catch (err) {
      throw vaultError(err, repo.location, `point state ${id.slice(0, 12)}`);
    }
  }
}

/** What purging found (or, in a dry run, would do). */
export interface PurgePlan {
  /** Soft-deleted points whose 14 days are over: their point objects go, then their state objects. */
  expired: PointState[];
  /** Soft-deleted points still recoverable: prune keeps their data. */
  recoverable: PointState[];
  /** State objects of points that no longer exist, and damaged ones: deleted. */
  strayObjects: string[];
}

/** Sorts the states for prune: which soft-deleted points to delete now, and which state objects are stray. */
export function planPurge(states: PointStates, damaged: readonly string[], pointIds: readonly string[], at: Date = now()): PurgePlan {
  const exists = new Set(pointIds);
  const plan: PurgePlan = { expired: [], recoverable: [], strayObjects: [...damaged] };
  for (const s of states.values()) {
    if (!exists.has(s.pointId)) { plan.strayObjects.push(...s.objects); continue; }
    if (s.state !== 'deleted') continue;
    (purgeAfter(s).getTime() <= at.getTime() ? plan.expired : plan.recoverable).push(s);
  }
  return plan;
}

/**
 * Deletes the points of a purge plan whose 14 days are over (point object first, then its state
 * objects) and the stray state objects. The caller holds the exclusive lock.
 */
export async function purgeDeletedPoints(repo: ServerRepo, plan: PurgePlan, lock: { assertHeld(): Promise<void> }): Promise<void> {
  for (const s of plan.expired) {
    await lock.assertHeld();
    try {
      await repo.vault.store.delete(repo.pointObject(s.pointId));
    } catch (err) {
      throw vaultError(err, repo.location, `recovery point ${s.pointId.slice(0, 12)}`);
    }
    await deleteStateObjects(repo, s.objects);
  }
  if (plan.strayObjects.length > 0) {
    await lock.assertHeld();
    await deleteStateObjects(repo, plan.strayObjects);
  }
}
