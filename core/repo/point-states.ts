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

/**
 * A point's state: that of its newest state object; 'unknown' when one of its state objects cannot be
 * read (the point then counts as live and is never purged: keeping data is the safe side).
 */
export interface PointState {
  pointId: string; state: PointStateName | 'unknown'; time: string; reason: string;
  /** Storage IDs of every state object in the point's folder (the newest and any damaged ones included). */
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

function isRecord(v: unknown, pointId: string): v is PointStateRecord {
  const r = v as Partial<PointStateRecord> | null;
  return typeof r === 'object' && r !== null && r.pointId === pointId
    && (r.state === 'deleted' || r.state === 'restored') && typeof r.time === 'string' && Number.isFinite(Date.parse(r.time))
    && typeof r.reason === 'string' && r.reason.length <= MAX_REASON;
}

/** Whether state a is newer than b (on a tie, 'restored' wins: it keeps data). */
function newer(a: PointStateRecord, b: PointStateRecord): boolean {
  const d = Date.parse(a.time) - Date.parse(b.time);
  return d > 0 || (d === 0 && a.state === 'restored' && b.state !== 'restored');
}

/** The state objects under point-states/: <pointId>/<stateId>, both 64 hex digits (other names are not ours). */
async function listStateObjects(repo: ServerRepo): Promise<{ pointId: string; stateId: string }[]> {
  const base = `${repo.prefix}point-states/`;
  const out: { pointId: string; stateId: string }[] = [];
  try {
    for await (const o of repo.vault.store.list(base)) {
      const [pointId, stateId, extra] = o.name.slice(base.length).split('/');
      if (extra === undefined && pointId && stateId && HEX64.test(pointId) && HEX64.test(stateId)) out.push({ pointId, stateId });
    }
  } catch (err) {
    throw vaultError(err, repo.location, 'point-states');
  }
  return out.sort((a, b) => a.pointId.localeCompare(b.pointId) || a.stateId.localeCompare(b.stateId));
}

/**
 * Reads every state object of the namespace. One that cannot be read, or names another point than the
 * folder it is in, is named (warning AZB_OBJECT_DAMAGED) and makes its point's state 'unknown'.
 */
export async function readPointStates(repo: ServerRepo, warn?: Warn): Promise<{ states: PointStates; damaged: { pointId: string; stateId: string }[] }> {
  const listed = await listStateObjects(repo);
  const records = new Map<string, PointStateRecord | undefined>(); // stateId → record (undefined: damaged)
  const damaged: { pointId: string; stateId: string }[] = [];
  await forEachLimit(listed, 8, async ({ pointId, stateId }) => {
    const name = repo.pointStateObject(pointId, stateId);
    try {
      const r = await repo.readSealed<unknown>('point-state', name, stateId);
      if (!isRecord(r, pointId)) throw new AzbError('AZB_OBJECT_DAMAGED', `point-state ${stateId.slice(0, 12)}… is damaged (not a state of point ${pointId.slice(0, 12)}…).`, { target: name });
      records.set(stateId, r);
    } catch (err) {
      if (!(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
      records.set(stateId, undefined);
      damaged.push({ pointId, stateId });
      warn?.('AZB_OBJECT_DAMAGED', `${err.message} Recovery point ${pointId.slice(0, 12)}… therefore counts as not deleted and is never purged; remove it (Remove-AzRecoveryPoint) or bring it back (Restore-AzRecoveryPoint) to replace the damaged record.`, name);
    }
  });
  const states: PointStates = new Map();
  for (const { pointId, stateId } of listed) {
    const r = records.get(stateId);
    let s = states.get(pointId);
    if (!s) { s = { pointId, state: 'unknown', time: '', reason: 'a state object of this point is damaged', objects: [] }; states.set(pointId, s); }
    s.objects.push(stateId);
  }
  for (const s of states.values()) {
    const readable = s.objects.map((id) => records.get(id));
    if (readable.some((r) => r === undefined)) continue; // stays 'unknown'
    let best: PointStateRecord | undefined;
    for (const r of readable) if (!best || newer(r!, best)) best = r;
    Object.assign(s, { state: best!.state, time: best!.time, reason: best!.reason });
  }
  return { states, damaged };
}

/**
 * Gives a point a new state: writes the state object first, then deletes the point's older ones (a crash
 * between leaves both; the newer decides). Its time is never before the state it replaces, whatever this
 * machine's clock says. Returns the new state.
 */
export async function setPointState(repo: ServerRepo, pointId: string, state: PointStateName, reason: string, previous: PointState | undefined, lock: { assertHeld(): Promise<void> }): Promise<PointState> {
  const before = previous && previous.state !== 'unknown' ? Date.parse(previous.time) + 1 : 0;
  const record: PointStateRecord = { pointId, state, time: new Date(Math.max(now().getTime(), before)).toISOString(), reason: reason.slice(0, MAX_REASON) };
  await lock.assertHeld();
  const id = await repo.writeSealed('point-state', record, (i) => repo.pointStateObject(pointId, i));
  await deleteStateObjects(repo, pointId, (previous?.objects ?? []).filter((o) => o !== id));
  return { ...record, objects: [id] };
}

/** Deletes state objects of a point by ID. */
export async function deleteStateObjects(repo: ServerRepo, pointId: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    try {
      await repo.vault.store.delete(repo.pointStateObject(pointId, id));
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
  /** State objects of points that no longer exist: deleted. (A damaged one of a point that exists stays.) */
  stray: { pointId: string; objects: string[] }[];
}

/** Sorts the states for prune: which soft-deleted points to delete now, and which state objects are stray. */
export function planPurge(states: PointStates, pointIds: readonly string[], at: Date = now()): PurgePlan {
  const exists = new Set(pointIds);
  const plan: PurgePlan = { expired: [], recoverable: [], stray: [] };
  for (const s of states.values()) {
    if (!exists.has(s.pointId)) { plan.stray.push({ pointId: s.pointId, objects: s.objects }); continue; }
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
    await deleteStateObjects(repo, s.pointId, s.objects);
    // Normally not this server's newest any more (moved when it was deleted); a deletion from another
    // machine, or one cut short, leaves it there: now it is gone for good, so it moves.
    await repo.pointRemoved(s.pointId);
  }
  for (const s of plan.stray) {
    await lock.assertHeld();
    await deleteStateObjects(repo, s.pointId, s.objects);
  }
}
