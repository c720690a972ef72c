// Retention enforcement in a server namespace (README "Retention"): a policy's own points expire by its
// tiers; points made without a policy expire only when they carry a RetainUntil that has passed. Other
// policies' points are never touched. Expiring soft-deletes (14 days). The caller holds the exclusive lock.
import type { EventSink } from '../protocol/events.js';
import { purgeAfter, readPointStates, setPointState } from '../repo/point-states.js';
import type { RecoveryPoint, ServerRepo } from '../repo/server.js';
import type { Policy } from './policy.js';
import { planRetention, type PointTime } from './retention.js';

/** When the backup of a point started: its retention bucket and schedule slot are those of its start. */
export function startTimeOf(p: RecoveryPoint): string {
  return new Date(Date.parse(p.manifest.time) - (p.manifest.stats.durationMs ?? 0)).toISOString();
}

/** The points retention would expire now: the policy's by its tiers, and lapsed RetainUntil points. */
export function pointsToExpire(all: readonly RecoveryPoint[], policy: Policy | undefined, now = new Date(), o: { timeZone?: string } = {}): { expire: RecoveryPoint[]; kept: number } {
  const byId = new Map(all.map((p) => [p.id, p]));
  const expire: RecoveryPoint[] = [];
  let kept = 0;
  if (policy) {
    const own: PointTime[] = all.filter((p) => p.manifest.policy === policy.name).map((p) => ({ id: p.id, time: startTimeOf(p) }));
    const plan = planRetention(own, policy.schedule, policy.retention, o);
    kept = plan.keep.size;
    for (const p of plan.expire) expire.push(byId.get(p.id)!);
  }
  for (const p of all) {
    if (!p.manifest.policy && p.manifest.retainUntil && Date.parse(p.manifest.retainUntil) <= now.getTime()) expire.push(p);
  }
  return { expire, kept };
}

/**
 * Soft-deletes the given points (oldest first; FORMAT.md section 10), checking the lock before each;
 * returns how many it deleted. Prune keeps their data for 14 days, during which they can be brought back.
 */
export async function expirePoints(repo: ServerRepo, points: readonly RecoveryPoint[], o: { sink: EventSink; lock: { assertHeld(): Promise<void> }; why: (p: RecoveryPoint) => string }): Promise<number> {
  // Read under the lock: a point deleted meanwhile keeps its first deletion time.
  const { states } = await readPointStates(repo, (code, message, target) => o.sink.warning(code, message, target));
  let deleted = 0;
  for (const p of [...points].sort((a, b) => a.manifest.time.localeCompare(b.manifest.time))) {
    const before = states.get(p.id);
    if (before?.state === 'deleted') continue;
    const after = await setPointState(repo, p.id, 'deleted', o.why(p), before, o.lock);
    await repo.pointRemoved(p.id);
    deleted++;
    o.sink.log(`Recovery point ${p.id.slice(0, 12)}… of ${p.manifest.time} expired: ${o.why(p)}. It can be brought back with Restore-AzRecoveryPoint until ${purgeAfter(after).toISOString()}.`);
  }
  return deleted;
}

/**
 * The live points of the namespace; damaged ones are named and left out (retention never guesses about
 * them), and soft-deleted ones are gone already. For retention, points an admin brought back from soft
 * delete are left out too: they are not expired again.
 */
export async function livePoints(sink: EventSink, repo: ServerRepo, o: { forRetention: boolean }): Promise<RecoveryPoint[]> {
  const { live, states } = await repo.readPointsByState(
    (id, err) => sink.warning('AZB_POINT_DAMAGED', `Recovery point ${id.slice(0, 12)}… cannot be read and is left to the admin: ${err.message}`, repo.pointObject(id)),
    (code, message, target) => sink.warning(code, message, target));
  return o.forRetention ? live.filter((p) => states.get(p.id)?.state !== 'restored') : live;
}
