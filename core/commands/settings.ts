// `settings set`, `settings show`: machine settings of cloud vaults (bandwidth throttling by work hours,
// proxy with an optional stored password, upload concurrency).
import {
  checkProxy, checkThrottle, checkUploadConcurrency, DAY_NAMES, DEFAULT_UPLOAD_CONCURRENCY, rateAt, readProxyPassword, readSettings, writeProxyPassword, writeSettings,
  type MachineSettings,
} from '../config/settings.js';
import { AzbError } from '../protocol/errors.js';
import type { Command } from './command.js';

export interface SettingsArgs {
  proxyServer?: string; proxyPort?: number; proxyUsername?: string; noProxy?: boolean; uploadConcurrency?: number;
  noThrottle?: boolean; workDays?: string[]; startWorkHour?: number; endWorkHour?: number; workHourBandwidth?: number; nonWorkHourBandwidth?: number;
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
  };
}

export const settingsSetCommand: Command<SettingsArgs> = {
  name: 'settings.set',
  argsSchema: 'azbackup:args.settings.set',
  secrets: ['proxyPassword'],
  async run(ctx, args) {
    const current = await readSettings();
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
      const days = (args.workDays ?? DAY_NAMES.slice(1, 6)).map((name) => {
        const i = DAY_NAMES.findIndex((d) => d.toLowerCase().startsWith(name.toLowerCase().slice(0, 3)) && name.length >= 3);
        if (i < 0) throw new AzbError('AZB_ARGS_INVALID', `'${name}' is not a day of the week.`, { target: 'workDays', hint: 'Use Monday…Sunday (or Mon…Sun).' });
        return i;
      });
      const before = current.throttle;
      current.throttle = checkThrottle({
        workDays: [...new Set(days)].sort(),
        startWorkHour: args.startWorkHour ?? before?.startWorkHour ?? 9,
        endWorkHour: args.endWorkHour ?? before?.endWorkHour ?? 18,
        workHourBandwidth: args.workHourBandwidth ?? before?.workHourBandwidth ?? NaN,
        nonWorkHourBandwidth: args.nonWorkHourBandwidth ?? before?.nonWorkHourBandwidth ?? NaN,
      });
    } else if (!proxyArgs && !args.noProxy && args.uploadConcurrency === undefined) {
      throw new AzbError('AZB_ARGS_INVALID', 'Nothing to set.', { hint: 'Give throttle settings (work days, hours, bandwidths), no-throttle, a proxy, no-proxy or an upload concurrency.' });
    }
    // A new proxy replaces the stored password too: the old one belonged to the old proxy or user.
    if (args.noProxy || proxyArgs) await writeProxyPassword(proxyArgs ? proxyPassword : undefined);
    await writeSettings(current);
    ctx.sink.result('MachineSetting', await settingData(current));
    return 0;
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
