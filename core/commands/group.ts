// `group new|get|set|remove|add-source|remove-source|run`: protection groups of this protection server
// (README "Protection groups"). The group documents live in the configuration home (core/group/store.ts);
// the run is core/group/run.ts.
import { now as clockNow } from '../clock.js';
import { listRegistrations } from '../config/home.js';
import { bytesPerGB, checkGroupName, effectiveSchedule, makeDataSource, validateShortTerm, GROUP_LIMITS, type DataSource, type ProtectionGroup, type ShortTermObjective } from '../group/group.js';
import { runGroup, type GroupRunArgs } from '../group/run.js';
import { deleteGroup, forgetPassphraseIfUnused, groupHolding, listGroups, readGroup, readGroupStatus, requireGroup, saveGroup, type DataSourceStatus } from '../group/store.js';
import { requireMember } from '../member/members.js';
import { DAYS_OF_WEEK, mondayOf, type Schedule } from '../policy/policy.js';
import { groupRun, groupUnitName, installRun, nextRunAfter, presentUnitFiles, removeUnit, scheduleContext, schedulerTarget } from '../policy/scheduler.js';
import { credentialFile, storedPassphraseInfo, storePassphrase } from '../policy/stored-passphrase.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import type { Command } from './command.js';
import { isAzureLocation, openServerFor, openVaultFor, requireRegistration, STORAGE_SECRETS, vaultLocation } from './context.js';

/** The vault ID of a group's disk vault (from this machine's registrations: no vault access). */
async function vaultIdOf(g: ProtectionGroup): Promise<string | undefined> {
  return (await listRegistrations()).find((r) => r.vault === g.vault)?.vaultId;
}

/** A data source as the results show it: its definition and, from the status file, its report. */
function dataSourceData(g: ProtectionGroup, ds: DataSource, s: DataSourceStatus | undefined): Record<string, unknown> {
  const sizeBytes = s?.diskPoint?.sizeBytes ?? null;
  const limit = g.online ? g.online.maxSizeGB * bytesPerGB() : null;
  return {
    name: ds.name, group: g.name, member: ds.member, kind: ds.kind,
    ...(ds.path !== undefined ? { path: ds.path } : {}), ...(ds.command !== undefined ? { command: ds.command } : {}),
    ...(ds.arguments ? { arguments: ds.arguments } : {}), ...(ds.streamName !== undefined ? { streamName: ds.streamName } : {}), added: ds.added,
    diskPoint: s?.diskPoint ?? null, diskPoints: s?.diskPoints ?? null, maxDiskPoints: ds.kind === 'Files' ? GROUP_LIMITS.filePointsPerDataSource : null,
    onlinePoint: s?.onlinePoint ?? null, onlinePoints: s?.onlinePoints ?? null,
    sizeBytes, sizeLimitBytes: limit, overSizeLimit: limit !== null && sizeBytes !== null && sizeBytes > limit,
    lastError: s?.lastError ?? null,
  };
}

/** The group as Get-AzBackupProtectionGroup shows it: settings, schedule files, next run, and per data source its report. */
async function groupData(g: ProtectionGroup, o: { withStatus?: boolean } = {}): Promise<Record<string, unknown>> {
  const t = schedulerTarget();
  const status = o.withStatus === false ? { dataSources: {} } : await readGroupStatus(g.name).catch(() => ({ dataSources: {} } as Awaited<ReturnType<typeof readGroupStatus>>));
  const files = await presentUnitFiles(groupUnitName(g.name), t);
  const schedule = effectiveSchedule(g.shortTerm);
  const next = g.state === 'Active' && files.length > 0 ? nextRunAfter(schedule, clockNow()) : undefined;
  const vaultId = await vaultIdOf(g).catch(() => undefined);
  const stored = vaultId ? await storedPassphraseInfo(vaultId) : undefined;
  return {
    name: g.name, vault: g.vault, state: g.state, shortTerm: g.shortTerm, schedule, online: g.online ?? null,
    dataSources: g.dataSources.map((d) => dataSourceData(g, d, status.dataSources[d.name])),
    scheduler: files.length > 0 ? t.kind : 'none', scheduleFiles: files, nextRun: next ? next.toISOString() : null,
    passphraseStored: stored ? `${stored.method}: ${stored.path}` : null,
    lastRun: status.lastRun ?? null, lastOnlineCopy: status.lastOnlineCopy ?? null, created: g.created, ...(g.anchorWeek ? { anchorWeek: g.anchorWeek } : {}),
  };
}

export const groupNewCommand: Command<{ name: string; vault?: string }> = {
  name: 'group.new',
  argsSchema: 'azbackup:args.group.new',
  secrets: [...STORAGE_SECRETS],
  human: { result: (_k, d) => `Protection group ${String(d['name'])} made on ${String(d['vault'])}; add data sources with azbackup group add-source, then set its objective with azbackup group set.` },
  async run(ctx, args) {
    checkGroupName(args.name);
    if (await readGroup(args.name)) {
      throw new AzbError('AZB_GROUP_EXISTS', `A protection group named ${args.name} exists already.`, { target: args.name, hint: 'Give the new one another name, or change that one with Set-AzBackupProtectionGroup.' });
    }
    const location = await vaultLocation(args);
    if (isAzureLocation(location)) {
      throw new AzbError('AZB_GROUP_VAULT_NOT_DISK', `A protection group keeps its short-term points on this server's disk: ${location} is an Azure vault.`, {
        target: location, hint: 'Give a folder vault this server is registered with (-Vault /path); the Azure vault is for online protection (Enable-AzBackupOnlineProtection).',
      });
    }
    // This server must be registered with the disk vault: its points go into this server's namespace.
    const reg = await requireRegistration(await openVaultFor({ vault: location }, ctx.secrets));
    const now = clockNow();
    const g: ProtectionGroup = {
      name: args.name, vault: reg.vault, dataSources: [], shortTerm: validateShortTerm({ retentionRangeDays: GROUP_LIMITS.retentionRangeDays.default }),
      state: 'Active', anchorWeek: mondayOf(now), created: now.toISOString(),
    };
    await saveGroup(g);
    ctx.sink.result('ProtectionGroup', await groupData(g));
    return 0;
  },
};

export const groupGetCommand: Command<{ name?: string }> = {
  name: 'group.get',
  argsSchema: 'azbackup:args.group.get',
  secrets: [],
  human: {
    item: (_k, d) => `${String(d['name']).padEnd(20)} ${String(d['state']).padEnd(10)} ${(d['dataSources'] as unknown[]).length} data source(s)  next ${String(d['nextRun'] ?? '-')}`
      + (d['dataSources'] as Record<string, unknown>[]).map((s) => `\n  ${String(s['name']).padEnd(40)} ${s['diskPoint'] ? `newest ${String((s['diskPoint'] as { time: string }).time)} (${String(s['diskPoints'] ?? '?')} points)` : 'no point'}${s['lastError'] ? `  last error ${String((s['lastError'] as { code: string }).code)}` : ''}`).join(''),
  },
  async run(ctx, args) {
    const groups = args.name ? [await requireGroup(args.name)] : await listGroups();
    for (const g of groups) ctx.sink.item('ProtectionGroup', await groupData(g));
    return 0;
  },
};

export interface GroupSetArgs {
  name: string; retentionRangeDays?: number; synchronizationFrequencyMinutes?: number; schedule?: Omit<Schedule, 'weeklyFrequency'> & { weeklyFrequency?: number };
  state?: ProtectionGroup['state']; storePassphrase?: boolean; whatIf?: boolean;
}

export const groupSetCommand: Command<GroupSetArgs> = {
  name: 'group.set',
  argsSchema: 'azbackup:args.group.set',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: { result: (_k, d) => `Protection group ${String(d['name'])} is ${String(d['state'])}; next run ${String(d['nextRun'] ?? 'none')}; schedule in ${(d['scheduleFiles'] as string[]).join(', ') || 'no file'}.` },
  async run(ctx, args) {
    const g = await requireGroup(args.name);
    // A frequency replaces a schedule and a schedule a frequency; what is not given stays.
    const given: ShortTermObjective = { ...g.shortTerm, ...(args.retentionRangeDays !== undefined ? { retentionRangeDays: args.retentionRangeDays } : {}) };
    if (args.synchronizationFrequencyMinutes !== undefined && args.schedule) {
      throw new AzbError('AZB_SCHEDULE_INVALID', 'Give a synchronization frequency or a schedule, not both.', { target: 'schedule', hint: 'A frequency runs every N minutes of every day; a schedule names days and times.' });
    }
    if (args.synchronizationFrequencyMinutes !== undefined) { given.synchronizationFrequencyMinutes = args.synchronizationFrequencyMinutes; delete given.schedule; }
    if (args.schedule) { given.schedule = { ...args.schedule, weeklyFrequency: args.schedule.weeklyFrequency ?? 1 } as Schedule; delete given.synchronizationFrequencyMinutes; }
    const next: ProtectionGroup = { ...g, shortTerm: validateShortTerm(given), ...(args.state ? { state: args.state } : {}) };
    if (args.whatIf) {
      ctx.sink.result('ProtectionGroup', await groupData(next));
      return 0;
    }
    const vault = await openVaultFor({ vault: g.vault }, ctx.secrets);
    const reg = await requireRegistration(vault);
    if (args.storePassphrase) {
      const passphrase = ctx.secrets['passphrase'];
      if (!passphrase) throw new AzbError('AZB_PASSPHRASE_REQUIRED', 'Storing the passphrase for unattended runs needs the passphrase.', { hint: 'Give it with -Passphrase (or AZBACKUP_PASSPHRASE / --passphrase-file).' });
      await openServerFor(ctx, { vault: g.vault }); // a wrong passphrase is refused here, not stored
      const t = schedulerTarget();
      const method = process.platform === 'win32' ? 'dpapi' : t.kind === 'systemd' ? 'systemd-creds' : 'file';
      const stored = await storePassphrase(reg.vaultId, passphrase, method);
      ctx.sink.log(`The passphrase for unattended runs is stored in ${stored.path}.`);
    }
    const info = await storedPassphraseInfo(reg.vaultId);
    await saveGroup(next);
    const run = groupRun(next.name, effectiveSchedule(next.shortTerm));
    if (next.state === 'Active') await installRun(run, scheduleContext(info?.method === 'systemd-creds' ? credentialFile(reg.vaultId) : undefined));
    else await removeUnit(run.unit);
    if (!info && next.state === 'Active') ctx.sink.warning('AZB_PASSPHRASE_NOT_STORED', `No passphrase is stored for unattended runs of protection group ${next.name}: its scheduled runs will fail until one is.`, next.name);
    ctx.sink.result('ProtectionGroup', await groupData(next));
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

export const groupRemoveCommand: Command<{ name: string }> = {
  name: 'group.remove',
  argsSchema: 'azbackup:args.group.remove',
  secrets: [],
  async run(ctx, args) {
    const g = await requireGroup(args.name);
    const files = await removeUnit(groupUnitName(g.name));
    await deleteGroup(g.name);
    await forgetPassphraseIfUnused(g.vault, await vaultIdOf(g));
    ctx.sink.log(`The recovery points of protection group ${g.name} are kept; no group expires them any more.`);
    ctx.sink.result('RemovedProtectionGroup', { name: g.name, vault: g.vault, dataSources: g.dataSources.map((d) => d.name), scheduleFiles: files });
    return 0;
  },
};

export interface AddSourceArgs { group: string; member: string; path?: string; command?: string; arguments?: string[]; streamName?: string }

export const groupAddSourceCommand: Command<AddSourceArgs> = {
  name: 'group.add-source',
  argsSchema: 'azbackup:args.group.add-source',
  secrets: [],
  human: { result: (_k, d) => `Data source ${String(d['name'])} added to protection group ${String(d['group'])}.` },
  async run(ctx, args) {
    const g = await requireGroup(args.group);
    const bad = (message: string, target: string) => new AzbError('AZB_GROUP_INVALID', message, { target, hint: 'Give -Path for a folder of the member, or -Command (with -Argument) and -StreamName for a dump.' });
    if (args.path !== undefined && (args.command !== undefined || args.streamName !== undefined || args.arguments !== undefined)) throw bad('A data source is a path or a command, not both.', 'path');
    if (args.path === undefined && args.command === undefined) throw bad('Give the path or the command of the data source.', 'path');
    if (args.command !== undefined && args.streamName === undefined) throw bad('A command data source needs the stream name its output is stored under.', 'streamName');
    if (args.command === undefined && args.arguments !== undefined) throw bad('Arguments go with a command.', 'arguments');
    await requireMember(args.member);
    const ds = makeDataSource(args.member, args.path !== undefined ? { path: args.path } : { command: args.command!, ...(args.arguments ? { arguments: args.arguments } : {}), streamName: args.streamName! }, clockNow());
    if (g.dataSources.some((d) => d.name === ds.name)) {
      throw new AzbError('AZB_GROUP_INVALID', `Data source ${ds.name} is in protection group ${g.name} already.`, { target: ds.name, hint: 'Each data source is in a group once; Get-AzBackupProtectionGroup lists them.' });
    }
    const other = await groupHolding(ds.name, g.name);
    if (other) {
      throw new AzbError('AZB_DATASOURCE_IN_OTHER_GROUP', `Data source ${ds.name} is protected by protection group ${other.name} already; a data source is in one group only.`, {
        target: ds.name, hint: `Remove it from ${other.name} first (Remove-AzBackupDataSource -ProtectionGroup ${other.name} -DataSource ${ds.name}); its points are kept.`,
      });
    }
    g.dataSources.push(ds);
    await saveGroup(g);
    ctx.sink.result('DataSource', dataSourceData(g, ds, undefined));
    return 0;
  },
};

export const groupRemoveSourceCommand: Command<{ group: string; dataSource: string }> = {
  name: 'group.remove-source',
  argsSchema: 'azbackup:args.group.remove-source',
  secrets: [],
  async run(ctx, args) {
    const g = await requireGroup(args.group);
    const ds = g.dataSources.find((d) => d.name === args.dataSource);
    if (!ds) {
      throw new AzbError('AZB_DATASOURCE_NOT_FOUND', `Protection group ${g.name} has no data source '${args.dataSource}'.`, {
        target: args.dataSource, hint: `Its data sources: ${g.dataSources.map((d) => d.name).join(', ') || 'none'}.`,
      });
    }
    g.dataSources = g.dataSources.filter((d) => d !== ds);
    await saveGroup(g);
    ctx.sink.log(`The recovery points of data source ${ds.name} are kept; no group expires them any more.`);
    ctx.sink.result('RemovedDataSource', { name: ds.name, group: g.name, member: ds.member, kind: ds.kind });
    return 0;
  },
};

export const groupRunCommand: Command<GroupRunArgs> = {
  name: 'group.run',
  argsSchema: 'azbackup:args.group.run',
  // A run that fails before any backup job starts (no stored passphrase) is still in the job history.
  job: { operation: 'Backup' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: {
    result: (_k, d) => `Protection group ${String(d['group'])}: ` + (d['dataSources'] as { name: string; status: string; code?: string }[]).map((s) => `${s.name} ${s.status}${s.code ? ` (${s.code})` : ''}`).join(', '),
  },
  async run(ctx, args) {
    return runGroup(ctx, await requireGroup(args.name), args);
  },
};

/** Days as the CLI and the module give them (also "Mon"), as the schedule stores them. */
export function dayName(d: string): string {
  const found = DAYS_OF_WEEK.find((x) => x.toLowerCase() === d.toLowerCase() || x.slice(0, 3).toLowerCase() === d.toLowerCase());
  if (!found) throw new AzbError('AZB_SCHEDULE_INVALID', `'${d}' is not a day of the week.`, { target: 'daysOfWeek', hint: 'Give Monday … Sunday (or Mon … Sun).' });
  return found;
}
