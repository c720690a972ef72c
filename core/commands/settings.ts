// `settings set`, `settings show`: machine settings of cloud vaults (bandwidth throttling by work hours,
// proxy with an optional stored password, upload concurrency).
import {
  checkProxy, checkThrottle, checkUploadConcurrency, DAY_NAMES, DEFAULT_UPLOAD_CONCURRENCY, rateAt, readProxyPassword, readSettings, writeProxyPassword, writeSettings,
  type MachineSettings,
} from '../config/settings.js';
import { access, constants, copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { cacheDir } from '../config/home.js';
import { makeDirs } from '../fs/make-dirs.js';
import { listJobs } from '../jobs/jobs.js';
import { AzbError, fileError } from '../protocol/errors.js';
import type { Command } from './command.js';
import { DEFAULT_SNAPSHOT_TIMEOUT_S, type SnapshotProviderSettings } from '../snapshot/provider.js';

export interface SettingsArgs {
  proxyServer?: string; proxyPort?: number; proxyUsername?: string; noProxy?: boolean; uploadConcurrency?: number;
  noThrottle?: boolean; workDays?: string[]; startWorkHour?: number; endWorkHour?: number; workHourBandwidth?: number; nonWorkHourBandwidth?: number;
  cacheLocation?: string; metricsFile?: string; noMetricsFile?: boolean;
  snapshotCreateCommand?: string; snapshotRemoveCommand?: string; snapshotTimeoutSeconds?: number; noSnapshotProvider?: boolean;
}

/**
 * The snapshot provider after `args`: both commands absolute paths, given together (a provider that can
 * create but not remove would leave snapshots behind), a time-out of 1 s to an hour.
 */
function snapshotProviderAfter(args: SettingsArgs, current: SnapshotProviderSettings | undefined): SnapshotProviderSettings | undefined {
  const bad = (target: string, message: string) => new AzbError('AZB_ARGS_INVALID', message, { target, hint: 'Example: --snapshot-create-command /usr/local/sbin/lvm-snap-create --snapshot-remove-command /usr/local/sbin/lvm-snap-remove (README "Snapshot providers").' });
  const given = args.snapshotCreateCommand !== undefined || args.snapshotRemoveCommand !== undefined || args.snapshotTimeoutSeconds !== undefined;
  if (args.noSnapshotProvider && given) throw bad('noSnapshotProvider', 'Give either no-snapshot-provider or a snapshot provider, not both.');
  if (args.noSnapshotProvider) return undefined;
  if (!given) return current;
  const createCommand = args.snapshotCreateCommand ?? current?.createCommand;
  const removeCommand = args.snapshotRemoveCommand ?? current?.removeCommand;
  if (createCommand === undefined || removeCommand === undefined) throw bad(createCommand === undefined ? 'snapshotCreateCommand' : 'snapshotRemoveCommand', 'A snapshot provider needs both a create and a remove command.');
  for (const [target, c] of [['snapshotCreateCommand', createCommand], ['snapshotRemoveCommand', removeCommand]] as const) {
    if (!isAbsolute(c)) throw bad(target, `The snapshot command '${c}' is not an absolute path (it is run without a shell and without PATH lookups).`);
  }
  const timeoutSeconds = args.snapshotTimeoutSeconds ?? current?.timeoutSeconds;
  if (timeoutSeconds !== undefined && (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600)) throw bad('snapshotTimeoutSeconds', `Snapshot time-out ${timeoutSeconds} is not a whole number of seconds from 1 to 3600.`);
  return { createCommand, removeCommand, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
}

/**
 * Moves the cache to a new location: the per-server caches (file-metadata databases) are copied, then
 * the old ones removed, so the next backup does not read every file again. Refused while a backup or
 * restore runs (it uses the cache). Staged packs are not moved: a backup empties its staging first.
 */
async function moveCache(from: string, to: string, sink: { log(m: string): void }): Promise<void> {
  if (!isAbsolute(to)) throw new AzbError('AZB_ARGS_INVALID', `The cache location '${to}' is not an absolute path.`, { target: 'cacheLocation', hint: 'Give the full path of a folder, e.g. /var/cache/azbackup.' });
  const running = listJobs({ status: 'InProgress' }).find((j) => j.pid !== process.pid);
  if (running) {
    throw new AzbError('AZB_BACKUP_RUNNING', `Job ${running.jobId} (${running.operation}) is running and uses the cache; the cache location is not changed now.`, {
      target: running.jobId, hint: 'Set it again when the job has ended (Get-AzBackupJob -Status InProgress).',
    });
  }
  try {
    await makeDirs(to, 0o700);
    await access(to, constants.W_OK);
  } catch (err) {
    throw new AzbError('AZB_CACHE_UNUSABLE', `The cache location ${to} cannot be created or written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { target: to, hint: 'Give a folder this account can write, on a local disk.' });
  }
  if (resolvePath(from) === resolvePath(to)) return;
  const names = await readdir(from).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^[0-9a-f]{32}-[0-9a-f]{16}$/.test(n))) {
    await mkdir(join(to, name), { recursive: true, mode: 0o700 });
    for (const f of ['files.db', 'files.db-wal', 'files.db-shm']) {
      await copyFile(join(from, name, f), join(to, name, f)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw fileError(err, join(to, name, f), 'Cache file'); });
    }
    await rm(join(from, name), { recursive: true, force: true });
  }
  if (names.length > 0) sink.log(`The cache moved from ${from} to ${to}.`);
}

async function settingData(s: MachineSettings): Promise<Record<string, unknown>> {
  const t = s.throttle;
  return {
    throttled: t !== undefined,
    workDays: t ? t.workDays.map((d) => DAY_NAMES[d]!) : [],
    startWorkHour: t?.startWorkHour ?? 0,
    endWorkHour: t?.endWorkHour ?? 0,
    workHourBandwidth: t?.workHourBandwidth ?? 0,
    nonWorkHourBandwidth: t?.nonWorkHourBandwidth ?? 0,
    currentBandwidth: rateAt(s) ?? 0,
    proxyServer: s.proxy?.server ?? '',
    proxyPort: s.proxy?.port ?? 0,
    proxyUsername: s.proxy?.username ?? '',
    // Whether a password is stored; the password itself is never shown.
    proxyPasswordStored: s.proxy?.username !== undefined && (await readProxyPassword()) !== undefined,
    uploadConcurrency: s.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    cacheLocation: cacheDir(),
    metricsFile: s.metricsFile ?? '',
    snapshotCreateCommand: s.snapshotProvider?.createCommand ?? '',
    snapshotRemoveCommand: s.snapshotProvider?.removeCommand ?? '',
    snapshotTimeoutSeconds: s.snapshotProvider?.timeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_S,
  };
}

export const settingsSetCommand: Command<SettingsArgs> = {
  name: 'settings.set',
  argsSchema: 'azbackup:args.settings.set',
  secrets: ['proxyPassword'],
  async run(ctx, args) {
    const current = await readSettings();
    // What was there, to say whether this call changed anything (GPO and DSC scripts set the same again).
    const before = structuredClone(current);
    const proxyPassword = ctx.secrets['proxyPassword'];
    const throttleArgs = [args.workDays, args.startWorkHour, args.endWorkHour, args.workHourBandwidth, args.nonWorkHourBandwidth].some((v) => v !== undefined);
    if (args.noThrottle && throttleArgs) throw new AzbError('AZB_ARGS_INVALID', 'Give either no-throttle or throttle settings, not both.', { target: 'noThrottle' });
    const proxyArgs = args.proxyServer !== undefined || args.proxyPort !== undefined || args.proxyUsername !== undefined || proxyPassword !== undefined;
    if (proxyPassword !== undefined && args.proxyUsername === undefined) throw new AzbError('AZB_ARGS_INVALID', 'A proxy password needs a proxy user name.', { target: 'proxyUsername', hint: 'Give the user name with the password (-ProxyCredential carries both).' });
    if (args.noProxy && proxyArgs) throw new AzbError('AZB_ARGS_INVALID', 'Give either no-proxy or a proxy, not both.', { target: 'noProxy' });
    if (args.noProxy) delete current.proxy;
    else if (proxyArgs) {
      if (args.proxyServer === undefined || args.proxyPort === undefined) throw new AzbError('AZB_ARGS_INVALID', 'A proxy needs both a server and a port.', { target: args.proxyServer === undefined ? 'proxyServer' : 'proxyPort' });
      current.proxy = checkProxy({ server: args.proxyServer, port: args.proxyPort, ...(args.proxyUsername ? { username: args.proxyUsername } : {}) });
    }
    if (args.uploadConcurrency !== undefined) current.uploadConcurrency = checkUploadConcurrency(args.uploadConcurrency);
    if (args.noThrottle) {
      delete current.throttle;
    } else if (throttleArgs) {
      const before = current.throttle;
      // Work days not given keep the ones set before (Monday to Friday the first time).
      const days = args.workDays === undefined ? before?.workDays ?? [1, 2, 3, 4, 5] : args.workDays.map((name) => {
        const i = DAY_NAMES.findIndex((d) => d.toLowerCase().startsWith(name.toLowerCase().slice(0, 3)) && name.length >= 3);
        if (i < 0) throw new AzbError('AZB_ARGS_INVALID', `'${name}' is not a day of the week.`, { target: 'workDays', hint: 'Use Monday…Sunday (or Mon…Sun).' });
        return i;
      });
      current.throttle = checkThrottle({
        workDays: [...new Set(days)].sort(),
        startWorkHour: args.startWorkHour ?? before?.startWorkHour ?? 9,
        endWorkHour: args.endWorkHour ?? before?.endWorkHour ?? 18,
        workHourBandwidth: args.workHourBandwidth ?? before?.workHourBandwidth ?? NaN,
        nonWorkHourBandwidth: args.nonWorkHourBandwidth ?? before?.nonWorkHourBandwidth ?? NaN,
      });
    } else if (!proxyArgs && !args.noProxy && args.uploadConcurrency === undefined && args.cacheLocation === undefined && args.metricsFile === undefined && !args.noMetricsFile
      && args.snapshotCreateCommand === undefined && args.snapshotRemoveCommand === undefined && args.snapshotTimeoutSeconds === undefined && !args.noSnapshotProvider) {
      throw new AzbError('AZB_ARGS_INVALID', 'Nothing to set.', { hint: 'Give throttle settings (work days, hours, bandwidths), no-throttle, a proxy, no-proxy, an upload concurrency, a cache location, a metrics file or a snapshot provider.' });
    }
    const snapshotProvider = snapshotProviderAfter(args, current.snapshotProvider);
    if (snapshotProvider) current.snapshotProvider = snapshotProvider; else delete current.snapshotProvider;
    if (args.metricsFile !== undefined && args.noMetricsFile) throw new AzbError('AZB_ARGS_INVALID', 'Give either a metrics file or no-metrics-file, not both.', { target: 'noMetricsFile' });
    if (args.metricsFile !== undefined) {
      if (!isAbsolute(args.metricsFile)) throw new AzbError('AZB_ARGS_INVALID', `The metrics file '${args.metricsFile}' is not an absolute path.`, { target: 'metricsFile', hint: 'Give a path in node_exporter\'s textfile directory, e.g. /var/lib/prometheus/node-exporter/azbackup.prom.' });
      current.metricsFile = args.metricsFile;
    }
    if (args.noMetricsFile) delete current.metricsFile;
    if (args.cacheLocation !== undefined) {
      // AZBACKUP_CACHE (or --cache-dir) wins over the setting: the move is from where backups go now.
      await moveCache(cacheDir(), args.cacheLocation, ctx.sink);
      current.cacheLocation = args.cacheLocation;
      if (process.env['AZBACKUP_CACHE']) ctx.sink.warning('AZB_CACHE_SETTING_OVERRIDDEN', `AZBACKUP_CACHE is set (${process.env['AZBACKUP_CACHE']}) and wins over the cache location setting in this environment.`, 'AZBACKUP_CACHE');
    }
    // A new proxy replaces the stored password too: the old one belonged to the old proxy or user.
    let passwordChanged = false;
    if (args.noProxy || proxyArgs) {
      const next = proxyArgs ? proxyPassword : undefined;
      passwordChanged = (await readProxyPassword()) !== next;
      if (passwordChanged) await writeProxyPassword(next);
    }
    const changed = passwordChanged || !isDeepStrictEqual(before, current);
    if (changed) await writeSettings(current); else ctx.sink.log('The machine settings are already as given: nothing changed.');
    ctx.sink.result('MachineSetting', { ...(await settingData(current)), changed });
    return ctx.sink.warnings > 0 ? 3 : 0;
  },
};

export const settingsShowCommand: Command<Record<string, never>> = {
  name: 'settings.show',
  argsSchema: 'azbackup:args.settings.show',
  secrets: [],
  async run(ctx) {
    ctx.sink.result('MachineSetting', await settingData(await readSettings()));
    return 0;
  },
};
