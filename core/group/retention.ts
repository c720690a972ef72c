// Short-term retention of a protection group (README "Protection groups"): counted per data source, on
// the points that carry its name (FORMAT.md section 9, `dataSource`). A data source keeps its points of
// the last retentionRangeDays, counted back from its newest point (so a member that stopped answering
// does not lose its last points to the calendar), and a Files data source at most the 64 newest. Points
// of other data sources, and points without the field, are never in the plan.
import type { RecoveryPoint } from '../repo/server.js';
import { GROUP_LIMITS, type ProtectionGroup } from './group.js';

const DAY_MS = 86_400_000;

export interface GroupRetentionPlan {
  expire: RecoveryPoint[];
  /** Points each data source keeps (by data source name). */
  kept: Map<string, number>;
}

/** The points of a group's data sources that its short-term objective expires now. */
export function groupPointsToExpire(all: readonly RecoveryPoint[], group: ProtectionGroup, only?: ReadonlySet<string>): GroupRetentionPlan {
  const expire: RecoveryPoint[] = [];
  const kept = new Map<string, number>();
  const range = group.shortTerm.retentionRangeDays * DAY_MS;
  for (const ds of group.dataSources) {
    if (only && !only.has(ds.name)) continue;
    // Newest first; ties by ID so that the plan is the same on every run.
    const own = all.filter((p) => p.manifest.dataSource === ds.name)
      .sort((a, b) => Date.parse(b.manifest.time) - Date.parse(a.manifest.time) || b.id.localeCompare(a.id));
    if (own.length === 0) { kept.set(ds.name, 0); continue; }
    const oldestKept = Date.parse(own[0]!.manifest.time) - range;
    const cap = ds.kind === 'Files' ? GROUP_LIMITS.filePointsPerDataSource : Infinity;
    let keep = 0;
    for (const [i, p] of own.entries()) {
      if (i < cap && Date.parse(p.manifest.time) >= oldestKept) keep++;
      else expire.push(p);
    }
    kept.set(ds.name, keep);
  }
  return { expire, kept };
}
