// A protection group's run (README "Protection groups"): each data source backed up from its member over
// SSH into the group's disk vault as its own point, one failing not stopping the others; then the
// short-term retention of the data sources run, under the exclusive lock; then, when due, the online copy.
import { now as clockNow } from '../clock.js';
import { listRegistrations } from '../config/home.js';
import { backupAsJob } from '../commands/backup.js';
import type { CommandContext } from '../commands/command.js';
import { asJob, openServerFor } from '../commands/context.js';
import { pointData } from '../commands/points.js';
import { requireMember } from '../member/members.js';
import { memberCommandStream } from '../member/stream.js';
import { expirePoints, livePoints } from '../policy/enforce.js';
import { minutesOf } from '../policy/policy.js';
import { readStoredPassphrase } from '../policy/stored-passphrase.js';
import { AzbError, ExitCode, toAzbError } from '../protocol/errors.js';
import { runPrune } from '../prune/pruner.js';
import { withLock } from '../repo/locks.js';
import type { ServerRepo } from '../repo/server.js';
import type { DataSource, ProtectionGroup } from './group.js';
import { groupPointsToExpire } from './retention.js';
import { readGroupStatus, updateGroupStatus, type GroupStatus } from './store.js';
import { copyGroupOnline, type OnlineCopyResult } from '../online/copy.js';

/**
 * The tar command a Files data source runs on its member: pax format (long names, nanosecond times,
 * extended attributes as SCHILY.xattr), numeric owners (the member's names mean nothing here), one file
 * system (a data source is one volume's folder, as in DPM; mounts below it are data sources of their
 * own). No -S: the import refuses GNU sparse members, so sparse files come as full files.
 */
export function tarArguments(path: string): string[] {
  return ['tar', '--create', '--file=-', '--format=pax', '--xattrs', '--numeric-owner', '--one-file-system', '--directory=/', path === '/' ? '.' : path.slice(1)];
}

/** What the run did for one data source. */
export interface DataSourceRun { name: string; status: 'Completed' | 'Failed'; pointId: string | null; code?: string; message?: string }

/** Opens the group's disk namespace with the given passphrase, else the one stored for unattended runs. */
async function openForGroup(ctx: CommandContext, g: ProtectionGroup): Promise<CommandContext> {
  let passphrase = ctx.secrets['passphrase'];
  let stored = false;
  if (!passphrase) {
    const reg = (await listRegistrations()).find((r) => r.vault === g.vault);
    passphrase = reg ? await readStoredPassphrase(reg.vaultId) : undefined;
    stored = passphrase !== undefined;
  }
  if (!passphrase) {
    throw new AzbError('AZB_PASSPHRASE_REQUIRED', `Protection group ${g.name} needs the passphrase, and none is stored for unattended runs.`, {
      hint: 'Store it once with Set-AzBackupProtectionGroup -StorePassphrase (azbackup group set NAME --store-passphrase), or give it to this run.',
    });
  }
  const c: CommandContext = { ...ctx, secrets: { ...ctx.secrets, passphrase } };
  try {
    await openServerFor(c, { vault: g.vault }); // a wrong passphrase fails the run here, before any member is reached
  } catch (err) {
    if (stored && err instanceof AzbError && err.code === 'AZB_PASSPHRASE_WRONG') {
      throw new AzbError('AZB_STORED_PASSPHRASE_WRONG', `The passphrase stored for unattended runs no longer opens the vault of protection group ${g.name} (was it changed with Set-AzBackupPassphrase?).`, {
        target: g.name, hint: 'Store the current one: Set-AzBackupProtectionGroup -StorePassphrase -Passphrase <current>.',
      });
    }
    throw err;
  }
  return c;
}

/** The stream of a data source: its member's tar of the path, or its command's output. */
function dataSourceWork(c: CommandContext, ds: DataSource, member: Awaited<ReturnType<typeof requireMember>>) {
  const log = (l: string) => c.sink.log(l);
  if (ds.kind === 'Files') return { tar: { stream: memberCommandStream(member, tarArguments(ds.path!), c.signal, log), root: ds.path! } };
  return { stdin: { stream: memberCommandStream(member, [ds.command!, ...(ds.arguments ?? [])], c.signal, log), name: ds.streamName! } };
}

/**
 * Whether the online copy is due: online protection is set, and no copy has succeeded since the latest of
 * its times of day (local time) that has passed.
 */
export function onlineDue(g: ProtectionGroup, status: GroupStatus, now: Date): boolean {
  if (!g.online) return false;
  let latest = -Infinity;
  for (const t of g.online.timesOfDay) {
    const m = minutesOf(t);
    for (const dayBack of [0, 1]) {
      const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() - dayBack, Math.floor(m / 60), m % 60).getTime();
      if (at <= now.getTime()) { latest = Math.max(latest, at); break; }
    }
  }
  const last = status.lastOnlineCopy ? Date.parse(status.lastOnlineCopy) : -Infinity;
  return !(last >= latest);
}


export interface GroupRunArgs { name: string; scheduled?: boolean; dataSource?: string; online?: boolean; cacheDir?: string }

/** Runs a group: emits a RecoveryPoint item per point made and the ProtectionGroupRun result; returns the exit code. */
export async function runGroup(ctx: CommandContext, g: ProtectionGroup, args: GroupRunArgs): Promise<number> {
  const started = clockNow();
  if (args.scheduled && g.state === 'Suspended') { ctx.sink.log(`Protection group ${g.name} is suspended: no run.`); return ExitCode.Ok; }
  let sources = g.dataSources;
  if (args.dataSource !== undefined) {
    sources = g.dataSources.filter((d) => d.name === args.dataSource);
    if (sources.length === 0) {
      throw new AzbError('AZB_DATASOURCE_NOT_FOUND', `Protection group ${g.name} has no data source '${args.dataSource}'.`, {
        target: args.dataSource, hint: `Its data sources: ${g.dataSources.map((d) => d.name).join(', ') || 'none'}. Names are MEMBER:PATH or MEMBER:STREAMNAME.`,
      });
    }
  }
  if (args.online && !g.online) {
    throw new AzbError('AZB_ONLINE_NOT_ENABLED', `Online protection is not enabled for protection group ${g.name}.`, { target: g.name, hint: 'Enable it with Enable-AzBackupOnlineProtection, or run without -Online.' });
  }
  if (sources.length === 0) ctx.sink.log(`Protection group ${g.name} has no data source to back up.`);
  let c = ctx;
  try {
    if (sources.length > 0) c = await openForGroup(ctx, g);
  } catch (err) {
    // A scheduled run that cannot start (no stored passphrase, vault gone) shows in the group's report.
    const e = toAzbError(err);
    await updateGroupStatus(g.name, (s) => {
      for (const ds of sources) (s.dataSources[ds.name] ??= {}).lastError = { code: e.code, message: e.message, time: clockNow().toISOString(), phase: 'Disk' };
      s.lastRun = started.toISOString();
    }).catch(() => undefined);
    throw err;
  }
  const runs: DataSourceRun[] = [];
  let repo: ServerRepo | undefined;
  for (const ds of sources) {
    try {
      const member = await requireMember(ds.member);
      const backup = await backupAsJob(c, { vault: g.vault, ...(args.cacheDir ? { cacheDir: args.cacheDir } : {}) }, {
        paths: [], excludes: [], tags: [], protection: { group: g.name, dataSource: ds.name }, ...dataSourceWork(c, ds, member),
      });
      repo = backup.repo;
      c.sink.item('RecoveryPoint', pointData(backup.repo.location, { id: backup.pointId, manifest: backup.manifest, certificate: backup.repo.record.certificate }));
      runs.push({ name: ds.name, status: 'Completed', pointId: backup.pointId });
      await updateGroupStatus(g.name, (s) => {
        const d = (s.dataSources[ds.name] ??= {});
        // A tar or stream import reads the whole data source: bytesRead is its size.
        d.diskPoint = { id: backup.pointId, time: backup.manifest.time, sizeBytes: backup.manifest.stats.bytesRead };
        if (d.lastError?.phase === 'Disk') delete d.lastError;
      });
    } catch (err) {
      const e = toAzbError(err);
      if (e.code === 'AZB_CANCELLED' || c.signal.aborted) throw err;
      // The message names the member: the admin must know which server failed.
      const message = e.message.includes(ds.member) ? e.message : `Member ${ds.member}: ${e.message}`;
      c.sink.warning(e.code, `Data source ${ds.name} of protection group ${g.name} was not backed up; no point was written for it. ${message}`, ds.name);
      runs.push({ name: ds.name, status: 'Failed', pointId: null, code: e.code, message });
      await updateGroupStatus(g.name, (s) => { (s.dataSources[ds.name] ??= {}).lastError = { code: e.code, message, time: clockNow().toISOString(), phase: 'Disk' }; });
    }
  }
  const failed = runs.filter((r) => r.status === 'Failed');
  if (sources.length > 0 && failed.length === sources.length) {
    await updateGroupStatus(g.name, (s) => { s.lastRun = started.toISOString(); });
    const first = failed[0]!;
    throw new AzbError(first.code as AzbError['code'], `No data source of protection group ${g.name} was backed up: ${failed.map((f) => `${f.name}: ${f.code}`).join('; ')}. ${first.message}`, {
      target: g.name, hint: 'Each failure is a warning above; Get-AzBackupProtectionGroup shows the last error of each data source.',
    });
  }
  let pointsExpired = 0;
  let bytesFreed = 0;
  if (repo) {
    // Retention of the data sources run, under the exclusive lock: a failure is a warning, the points are made.
    const r = repo;
    try {
      await asJob(c, 'Retention', r.location, r.serverId, async () => withLock(r, 'exclusive', `retention of protection group ${g.name}`, (code, message, target) => c.sink.warning(code, message, target), async (lock) => {
        const plan = groupPointsToExpire(await livePoints(c.sink, r, { forRetention: true }), g, new Set(sources.map((d) => d.name)));
        pointsExpired = await expirePoints(r, plan.expire, { sink: c.sink, lock, why: (p) => `past the short-term retention of data source ${p.manifest.dataSource} in protection group ${g.name}` });
        if (pointsExpired > 0) bytesFreed = (await runPrune(r, { dryRun: false, sink: c.sink, signal: c.signal, lock })).bytesFreed;
        await updateGroupStatus(g.name, (s) => { for (const [name, kept] of plan.kept) (s.dataSources[name] ??= {}).diskPoints = kept; });
        return { stats: { pointsExpired, bytesFreed } };
      }));
    } catch (err) {
      const e = toAzbError(err);
      if (e.code === 'AZB_CANCELLED') throw err;
      c.sink.warning(e.code, `The backups of protection group ${g.name} are made, but its retention was not enforced: ${e.message}`, g.name);
    }
  }
  // The online copy runs after the disk backups, so the newest disk point is the one copied.
  let online: OnlineCopyResult | null = null;
  if (g.online && (args.online || onlineDue(g, await readGroupStatus(g.name), clockNow()))) {
    try {
      online = await copyGroupOnline(c, g, args.dataSource !== undefined ? { dataSources: [args.dataSource] } : {});
      await updateGroupStatus(g.name, (s) => { s.lastOnlineCopy = clockNow().toISOString(); });
    } catch (err) {
      const e = toAzbError(err);
      if (e.code === 'AZB_CANCELLED') throw err;
      c.sink.warning(e.code, `The online copy of protection group ${g.name} failed; its disk points are made. ${e.message}`, g.name);
    }
  }
  await updateGroupStatus(g.name, (s) => { s.lastRun = started.toISOString(); });
  ctx.sink.result('ProtectionGroupRun', { group: g.name, dataSources: runs, pointsExpired, bytesFreed, online: online as Record<string, unknown> | null });
  return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}
