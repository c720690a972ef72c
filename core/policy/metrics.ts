// Monitoring admins already use: after every policy run, a file in Prometheus text format for
// node_exporter's textfile collector (README "Policies"), one series per policy. Written to a temporary
// file and renamed, as the collector requires, so it never reads half a file.
import { randomBytes } from 'node:crypto';
import { chmod, rename, unlink, writeFile } from 'node:fs/promises';
import { fileError } from '../protocol/errors.js';
import type { Policy } from './policy.js';
import type { LastRun } from './store.js';

const STATUSES = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled', 'Skipped'] as const;

/** A label value: backslash, quote and line feed escaped (policy names have none, paths may). */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export interface PolicyMetrics { policy: Policy; last: LastRun | undefined; overdue: boolean }

/** The text of the metrics file for these policies. */
export function metricsText(items: readonly PolicyMetrics[]): string {
  const families: [string, string, (m: PolicyMetrics) => [string, number][]][] = [
    ['azbackup_policy_last_success_timestamp_seconds', 'When a run of the policy last succeeded (0: never).',
      (m) => [['', m.last?.lastSuccess ? Date.parse(m.last.lastSuccess) / 1000 : 0]]],
    ['azbackup_policy_last_run_timestamp_seconds', 'When the policy last ran (0: never).',
      (m) => [['', m.last ? Date.parse(m.last.time) / 1000 : 0]]],
    ['azbackup_policy_last_run_status', 'The status of the last run: 1 for the status it ended with.',
      (m) => STATUSES.map((s) => [`,status="${s}"`, m.last?.status === s ? 1 : 0])],
    ['azbackup_policy_last_run_bytes_added', 'Bytes the last successful run added to the vault.',
      (m) => [['', m.last?.bytesAdded ?? 0]]],
    ['azbackup_policy_last_run_duration_seconds', 'How long the last run took.',
      (m) => [['', (m.last?.durationMs ?? 0) / 1000]]],
    ['azbackup_policy_points_kept', 'Recovery points of the policy its retention kept after the last run.',
      (m) => [['', m.last?.pointsKept ?? 0]]],
    ['azbackup_policy_overdue', '1 when an active policy has not succeeded within twice its longest interval between runs.',
      (m) => [['', m.overdue ? 1 : 0]]],
    ['azbackup_policy_active', '1 when the policy is active, 0 when suspended.',
      (m) => [['', m.policy.state === 'Active' ? 1 : 0]]],
  ];
  const lines: string[] = [];
  for (const [name, help, values] of families) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const m of items) {
      for (const [extra, v] of values(m)) lines.push(`${name}{policy="${label(m.policy.name)}"${extra}} ${Number.isFinite(v) ? v : 0}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Replaces the metrics file (readable by the collector: 0644). */
export async function writeMetricsFile(path: string, items: readonly PolicyMetrics[]): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, metricsText(items), { mode: 0o644 });
    await chmod(tmp, 0o644);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(err, path, 'Metrics file');
  }
}
