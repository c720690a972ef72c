// Snapshot-consistent reads (README "Snapshot-consistent reads", FORMAT.md §9 `reads`): before a backup
// reads its sources, each is frozen where that is possible (a btrfs snapshot, the admin's snapshot
// provider, or a shadow copy the module made), the walk reads the frozen copy, and the point records
// the original paths and how each source was read. The snapshots are removed afterwards, whatever
// became of the backup.
import { randomBytes } from 'node:crypto';
import { lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { appendJobFile } from '../jobs/job-files.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { mountOf, readMounts } from '../source/mountinfo.js';
import { btrfsTool, createBtrfsSnapshot, deleteBtrfsSnapshot, subvolumeOf } from './btrfs.js';
import { createProviderSnapshot, DEFAULT_SNAPSHOT_TIMEOUT_S, removeProviderSnapshot, type SnapshotProviderSettings } from './provider.js';

/** -Snapshot: Auto (a snapshot where one can be made, else live reads), Required, or None (live reads). */
export type SnapshotMode = 'Auto' | 'Required' | 'None';
export const SNAPSHOT_MODES: readonly SnapshotMode[] = ['Auto', 'Required', 'None'];

/**
 * How a source was read: from a btrfs snapshot, from the admin's provider's snapshot, from a VSS shadow
 * copy (the module's), from another path the caller gave (`external`), or live.
 */
export type ReadMethod = 'btrfs' | 'provider' | 'vss' | 'external' | 'live';

/** How one source was read, as the point records it (FORMAT.md §9). `note`: why it was read live. */
export interface SourceRead { source: string; method: ReadMethod; note?: string }

/** A frozen copy the caller made itself (the module's VSS shadow copy): read `path`, record `source`. */
export interface GivenReadFrom { source: string; path: string; method: 'vss' | 'external' }

/** What will be done for one source, decided before the job starts (nothing is made yet). */
export type SnapshotPlan =
  | { source: string; how: 'btrfs'; root: string; below: string }
  | { source: string; how: 'provider'; mountPoint: string }
  | { source: string; how: 'given'; path: string; method: GivenReadFrom['method'] }
  | { source: string; how: 'live'; why: string };

/** The snapshots of one backup: where to read each source, how each was read, and their removal. */
export interface SnapshotSet {
  /** Source → the path to read it from (sources read live are not in it). */
  readFrom: Map<string, string>;
  reads: SourceRead[];
  /** Removes every snapshot made; never throws (a failed removal is a warning). Safe to call twice. */
  release(): Promise<void>;
}

/** The ways to a snapshot, for the refusal under Required. */
const SUPPORTED_WAYS = 'a btrfs subvolume (Linux), a snapshot provider for any other volume manager (LVM, ZFS, a SAN: Set-AzBackupMachineSetting -SnapshotCreateCommand/-SnapshotRemoveCommand, azbackup settings set --snapshot-create-command/--snapshot-remove-command), or VSS on Windows (Start-AzBackup makes the shadow copy)';

/**
 * Decides, for each source, how it will be read under `mode`. Reads the mount table and lstats; makes
 * nothing. `given`: frozen copies the caller made (they win). `provider`: the machine's snapshot
 * provider, which, when set, is used for every source (it is what the admin chose for this machine).
 */
export async function planSnapshots(sources: readonly string[], mode: SnapshotMode, given: readonly GivenReadFrom[] = [], provider?: SnapshotProviderSettings): Promise<SnapshotPlan[]> {
  const givenBy = new Map(given.map((g) => [g.source, g]));
  if (mode === 'None') return sources.map((source) => (givenBy.has(source) ? { source, how: 'given', path: givenBy.get(source)!.path, method: givenBy.get(source)!.method } : { source, how: 'live', why: 'snapshot mode None' }));
  const mounts = await readMounts('utf8').catch(() => []);
  const plans: SnapshotPlan[] = [];
  for (const source of sources) {
    const g = givenBy.get(source);
    if (g) { plans.push({ source, how: 'given', path: g.path, method: g.method }); continue; }
    let canonical: string;
    try { canonical = await realpath(source); } catch (err) {
      plans.push({ source, how: 'live', why: `the source cannot be resolved (${(err as NodeJS.ErrnoException).code})` });
      continue;
    }
    const mount = mountOf(canonical, mounts);
    if (provider) { plans.push({ source, how: 'provider', mountPoint: mount?.mountPoint ?? '/' }); continue; }
    if (mount?.fsType === 'btrfs') {
      const sub = await subvolumeOf(source).catch(() => undefined);
      if (!btrfsTool()) plans.push({ source, how: 'live', why: 'btrfs, but btrfs-progs (the btrfs tool) is not installed' });
      else if (sub) plans.push({ source, how: 'btrfs', root: sub.root, below: sub.below });
      else plans.push({ source, how: 'live', why: 'btrfs, but the root of its subvolume is not reachable here (a bind mount of a sub-folder)' });
      continue;
    }
    plans.push({ source, how: 'live', why: `${mount?.fsType ?? 'its file system'} has no snapshot method here (no snapshot provider is set)` });
  }
  return plans;
}

/** Options of takeSnapshots. `jobId`: names the snapshots, and the commands' output goes to its commands.log. */
export interface TakeOptions {
  sink: EventSink; signal: AbortSignal; jobId?: string; provider?: SnapshotProviderSettings;
}

/**
 * Makes the snapshots the plans call for. Under Required, a source without a snapshot method fails with
 * AZB_SNAPSHOT_UNAVAILABLE before anything is made, and a snapshot that fails with AZB_SNAPSHOT_FAILED
 * (the ones made are removed first); under Auto a failed snapshot is a warning AZB_SNAPSHOT_FAILED and
 * its sources are read live. A cancel while snapshots are made removes them and throws AZB_CANCELLED.
 */
export async function takeSnapshots(plans: readonly SnapshotPlan[], mode: SnapshotMode, o: TakeOptions): Promise<SnapshotSet> {
  const { sink, signal } = o;
  if (mode === 'Required') {
    const without = plans.filter((p): p is Extract<SnapshotPlan, { how: 'live' }> => p.how === 'live');
    if (without.length > 0) {
      throw new AzbError('AZB_SNAPSHOT_UNAVAILABLE', `-Snapshot Required, but no snapshot can be made of ${without.map((p) => `${p.source} (${p.why})`).join('; ')}; nothing was read. Snapshots are made of btrfs subvolumes, by a snapshot provider (LVM, ZFS, a SAN), or by VSS on Windows.`, {
        target: without[0]!.source, hint: `A snapshot is made of ${SUPPORTED_WAYS}. Or back up with -Snapshot Auto (live reads where no snapshot can be made).`,
      });
    }
  }
  // The job's commands.log gets the same lines, in order; release() waits for them.
  let logged: Promise<unknown> = Promise.resolve();
  const log = (line: string) => {
    sink.log(line);
    const jobId = o.jobId;
    if (jobId) logged = logged.then(() => appendJobFile(jobId, 'commands.log', `${new Date().toISOString()} ${line}\n`)).catch(() => undefined);
  };
  const readFrom = new Map<string, string>();
  const reads: SourceRead[] = [];
  const removals: { what: string; remove(): Promise<void> }[] = [];
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    for (const r of removals.reverse()) {
      try { await r.remove(); log(`Removed the snapshot ${r.what}.`); } catch (err) {
        sink.warning('AZB_SNAPSHOT_REMOVE_FAILED', `The snapshot ${r.what} could not be removed: ${(err as Error).message}. Remove it by hand; it holds space until then.`, r.what);
      }
    }
    await logged;
  };
  const failed = async (sources: readonly string[], why: string) => {
    if (mode === 'Required' || signal.aborted) {
      await release();
      if (signal.aborted) throw new AzbError('AZB_CANCELLED', 'The backup was cancelled while its snapshots were made; they were removed and nothing was read.', { hint: 'Run the backup again when ready.' });
      throw new AzbError('AZB_SNAPSHOT_FAILED', `-Snapshot Required, and the snapshot of ${sources.join(', ')} failed: ${why}. Nothing was read.`, {
        target: sources[0]!, hint: 'See the error above (and the job\'s commands.log); fix the snapshot method, or back up with -Snapshot Auto to read live when a snapshot fails.',
      });
    }
    sink.warning('AZB_SNAPSHOT_FAILED', `The snapshot of ${sources.join(', ')} failed: ${why}. ${sources.length === 1 ? 'It is' : 'They are'} read live: files that change during the backup are not from one moment.`, sources[0]!);
    for (const source of sources) reads.push({ source, method: 'live', note: `snapshot failed: ${why}` });
  };
  const tag = `azbackup-${o.jobId ?? randomBytes(6).toString('hex')}`;
  const timeoutMs = (o.provider?.timeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_S) * 1000;

  // One snapshot per subvolume: sources in one subvolume are then read from one moment.
  const bySubvolume = new Map<string, Extract<SnapshotPlan, { how: 'btrfs' }>[]>();
  for (const p of plans) if (p.how === 'btrfs') bySubvolume.set(p.root, [...(bySubvolume.get(p.root) ?? []), p]);
  let n = 0;
  for (const [root, group] of bySubvolume) {
    const sources = group.map((p) => p.source);
    const tool = btrfsTool();
    try {
      if (!tool) throw new Error('the btrfs tool is no longer installed');
      const path = await createBtrfsSnapshot(tool, root, `${tag}-${n++}`, timeoutMs, signal);
      removals.push({ what: path, remove: () => deleteBtrfsSnapshot(tool, path, timeoutMs) });
      log(`btrfs snapshot of the subvolume ${root} at ${path}: ${sources.join(', ')} ${sources.length === 1 ? 'is' : 'are'} read from it.`);
      for (const p of group) { readFrom.set(p.source, p.below === '' ? path : join(path, p.below)); reads.push({ source: p.source, method: 'btrfs' }); }
    } catch (err) {
      await failed(sources, (err as Error).message);
    }
  }
  for (const p of plans) {
    if (p.how === 'provider') {
      const provider = o.provider!;
      try {
        const snap = await createProviderSnapshot(provider, p.source, p.mountPoint, { signal, log });
        removals.push({ what: `${snap.id || snap.path} (of ${p.source})`, remove: () => removeProviderSnapshot(provider, p.source, snap, log) });
        log(`Snapshot provider: ${p.source} is read from ${snap.path}${snap.id ? ` (snapshot ${snap.id})` : ''}.`);
        readFrom.set(p.source, snap.path);
        reads.push({ source: p.source, method: 'provider' });
      } catch (err) {
        await failed([p.source], (err as Error).message);
      }
    } else if (p.how === 'given') {
      try { await lstat(p.path); } catch (err) {
        await failed([p.source], `the path given to read it from, ${p.path}, cannot be read (${(err as NodeJS.ErrnoException).code})`);
        continue;
      }
      readFrom.set(p.source, p.path);
      reads.push({ source: p.source, method: p.method });
    } else if (p.how === 'live') {
      reads.push({ source: p.source, method: 'live', note: p.why });
      // Asked for (None), or nothing to make it with: said once in the log, not warned every night.
      if (mode === 'Auto') log(`${p.source} is read live: ${p.why}.`);
    }
  }
  if (signal.aborted) await failed([], 'cancelled');
  // In the order of the sources, as the point lists them.
  const order = new Map(plans.map((p, i) => [p.source, i]));
  reads.sort((a, b) => order.get(a.source)! - order.get(b.source)!);
  return { readFrom, reads, release };
}
