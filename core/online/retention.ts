// Online retention (README "Online protection", FORMAT.md section 14): on the Azure copy, each data
// source's online points are counted on their own. A point older than retentionDays, counted back from
// the data source's newest ONLINE point, and every point beyond the maxPoints newest, is soft-deleted;
// then the Azure namespace is pruned. Other data sources' points and points of no data source are never
// touched, nor is the disk namespace.
import type { CommandContext } from '../commands/command.js';
import type { OnlineProtection } from '../group/group.js';
import { expirePoints } from '../policy/enforce.js';
import { runPrune } from '../prune/pruner.js';
import { withLock } from '../repo/locks.js';
import type { RecoveryPoint, ServerRepo } from '../repo/server.js';

const DAY_MS = 86_400_000;

export interface OnlinePointTime { id: string; time: string; dataSource?: string | undefined; restored?: boolean }

/** Why each point expires, by point ID; per data source in `dataSources` only. Pure: tests drive it directly. */
export function planOnlineRetention(points: readonly OnlinePointTime[], dataSources: readonly string[], limits: Pick<OnlineProtection, 'retentionDays' | 'maxPoints'>): Map<string, string> {
  const expire = new Map<string, string>();
  for (const ds of dataSources) {
    const own = points.filter((p) => p.dataSource === ds).sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id)); // newest first
    const newest = own[0];
    if (!newest) continue;
    const anchor = Date.parse(newest.time);
    own.forEach((p, i) => {
      // A point brought back by undelete is never expired again (the admin chose to keep it).
      if (p.restored) return;
      if (anchor - Date.parse(p.time) > limits.retentionDays * DAY_MS) expire.set(p.id, `older than the ${limits.retentionDays} days of online retention of ${ds} (counted back from its newest online point, ${newest.time})`);
      else if (i >= limits.maxPoints) expire.set(p.id, `beyond the ${limits.maxPoints} newest online points of ${ds}`);
    });
  }
  return expire;
}

export interface OnlineRetentionResult {
  pointsExpired: number;
  bytesFreed: number;
  /** Per data source: live online points after retention, and the newest of them. */
  remaining: Map<string, { count: number; newest?: RecoveryPoint }>;
}

/** Enforces online retention on the Azure namespace under its exclusive lock, then prunes it when anything expired. */
export async function enforceOnlineRetention(ctx: CommandContext, online: ServerRepo, dataSources: readonly string[], limits: Pick<OnlineProtection, 'retentionDays' | 'maxPoints'>): Promise<OnlineRetentionResult> {
  const warn = (code: string, message: string, target: string) => ctx.sink.warning(code, message, target);
  return withLock(online, 'exclusive', 'online retention', warn, async (lock) => {
    const { live, states } = await online.readPointsByState((id, err) => warn('AZB_POINT_DAMAGED', `Online recovery point ${id} cannot be read and is left to check: ${err.message}`, online.pointObject(id)), warn);
    const plan = planOnlineRetention(live.map((p) => ({ id: p.id, time: p.manifest.time, dataSource: p.manifest.dataSource, restored: states.get(p.id)?.state === 'restored' })), dataSources, limits);
    const expiring = live.filter((p) => plan.has(p.id));
    const pointsExpired = expiring.length > 0 ? await expirePoints(online, expiring, { sink: ctx.sink, lock, why: (p) => plan.get(p.id)! }) : 0;
    const bytesFreed = pointsExpired > 0 ? (await runPrune(online, { dryRun: false, sink: ctx.sink, signal: ctx.signal, lock })).bytesFreed : 0;
    const remaining = new Map<string, { count: number; newest?: RecoveryPoint }>();
    for (const ds of dataSources) {
      const own = live.filter((p) => p.manifest.dataSource === ds && !plan.has(p.id));
      const newest = own[own.length - 1];
      remaining.set(ds, { count: own.length, ...(newest ? { newest } : {}) });
    }
    return { pointsExpired, bytesFreed, remaining };
  });
}
