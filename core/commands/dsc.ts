// `dsc get|test|set|export`: the engine as a DSC v3 command resource (core/dsc/azbackup.dsc.resource.json,
// type AzBackup/MachineSetting). An instance is the part of the machine settings DSC manages; test and set
// compare only the properties the desired instance gives, and set changes only those that differ, through
// `settings set` (same checks, same files), so a second set with the same input changes nothing.
import { DAY_NAMES, DEFAULT_UPLOAD_CONCURRENCY, readSettings } from '../config/settings.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import type { Command, CommandContext } from './command.js';
import { settingsSetCommand, type SettingsArgs } from './settings.js';

/** An AzBackup/MachineSetting instance (core/schemas/dsc.MachineSetting.schema.json). */
export interface MachineSettingInstance {
  _exist?: boolean; _inDesiredState?: boolean | null;
  uploadConcurrency?: number; throttled?: boolean; workDays?: string[]; startWorkHour?: number; endWorkHour?: number;
  workHourBandwidth?: number; nonWorkHourBandwidth?: number; proxyServer?: string; proxyPort?: number; proxyUsername?: string; metricsFile?: string;
}

export interface DscArgs { resource: 'MachineSetting'; instance?: MachineSettingInstance }

const THROTTLE_KEYS = ['throttled', 'workDays', 'startWorkHour', 'endWorkHour', 'workHourBandwidth', 'nonWorkHourBandwidth'] as const;
const PROXY_KEYS = ['proxyServer', 'proxyPort', 'proxyUsername'] as const;
const MANAGED_KEYS = ['uploadConcurrency', ...THROTTLE_KEYS, ...PROXY_KEYS, 'metricsFile'] as const;
type ManagedKey = typeof MANAGED_KEYS[number];

/** The actual state: every managed property, `_exist` true when any differs from its default. */
async function actualState(): Promise<MachineSettingInstance> {
  const s = await readSettings();
  const t = s.throttle;
  const state = {
    uploadConcurrency: s.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    throttled: t !== undefined,
    workDays: t ? t.workDays.map((d) => DAY_NAMES[d]!) : [],
    startWorkHour: t?.startWorkHour ?? 0, endWorkHour: t?.endWorkHour ?? 0,
    workHourBandwidth: t?.workHourBandwidth ?? 0, nonWorkHourBandwidth: t?.nonWorkHourBandwidth ?? 0,
    proxyServer: s.proxy?.server ?? '', proxyPort: s.proxy?.port ?? 0, proxyUsername: s.proxy?.username ?? '',
    metricsFile: s.metricsFile ?? '',
  };
  const exist = state.uploadConcurrency !== DEFAULT_UPLOAD_CONCURRENCY || state.throttled || state.proxyServer !== '' || state.metricsFile !== '';
  return { _exist: exist, ...state };
}

/** Work days as a set (order does not matter: Monday, Friday is Friday, Monday). */
function sameValue(key: ManagedKey, a: unknown, b: unknown): boolean {
  if (key === 'workDays') return JSON.stringify([...(a as string[])].sort()) === JSON.stringify([...(b as string[])].sort());
  return a === b;
}

/** A desired instance that contradicts itself is refused before anything is compared or written. */
function checkDesired(d: MachineSettingInstance): void {
  const bad = (target: string, message: string, hint: string) => new AzbError('AZB_ARGS_INVALID', message, { target, hint });
  const throttleValues = THROTTLE_KEYS.filter((k) => k !== 'throttled' && d[k] !== undefined);
  if (d.throttled === false && throttleValues.length > 0) {
    throw bad(throttleValues[0]!, `throttled is false, but ${throttleValues.join(', ')} ${throttleValues.length === 1 ? 'is' : 'are'} given too.`, 'Give throttled: false alone to remove throttling, or the work hours and both bandwidths to throttle.');
  }
  if (d.proxyServer === '' && ((d.proxyPort ?? 0) !== 0 || (d.proxyUsername ?? '') !== '')) {
    throw bad('proxyServer', 'proxyServer is empty (no proxy), but a proxy port or user name is given.', 'Give proxyServer and proxyPort for a proxy, or proxyServer: "" alone for none.');
  }
}

/** The managed properties the desired instance gives that differ from the actual state. */
function differences(desired: MachineSettingInstance, actual: MachineSettingInstance): string[] {
  if (desired._exist === false) return actual._exist ? ['_exist'] : [];
  return MANAGED_KEYS.filter((k) => desired[k] !== undefined && !sameValue(k, desired[k], actual[k]));
}

/** The `settings set` args that bring the differing properties to their desired values. */
function settingsArgsFor(desired: MachineSettingInstance, actual: MachineSettingInstance, diff: string[]): SettingsArgs {
  if (desired._exist === false) return { noThrottle: true, noProxy: true, noMetricsFile: true, uploadConcurrency: DEFAULT_UPLOAD_CONCURRENCY };
  const args: SettingsArgs = {};
  const changes = (keys: readonly string[]) => keys.some((k) => diff.includes(k));
  if (diff.includes('uploadConcurrency')) args.uploadConcurrency = desired.uploadConcurrency!;
  if (changes(THROTTLE_KEYS)) {
    if (desired.throttled === false) args.noThrottle = true;
    else {
      // Unnamed throttle values keep their current ones (settings set would reset the work days).
      const keep = actual.throttled === true;
      const days = desired.workDays ?? (keep ? actual.workDays : undefined);
      if (days) args.workDays = days;
      for (const k of ['startWorkHour', 'endWorkHour', 'workHourBandwidth', 'nonWorkHourBandwidth'] as const) {
        const v = desired[k] ?? (keep ? actual[k] : undefined);
        if (v !== undefined) args[k] = v;
      }
    }
  }
  if (changes(PROXY_KEYS)) {
    const server = desired.proxyServer ?? actual.proxyServer ?? '';
    if (server === '') args.noProxy = true;
    else {
      args.proxyServer = server;
      args.proxyPort = desired.proxyPort ?? actual.proxyPort!;
      const user = desired.proxyUsername ?? actual.proxyUsername ?? '';
      if (user !== '') args.proxyUsername = user;
    }
  }
  if (diff.includes('metricsFile')) {
    if (desired.metricsFile === '') args.noMetricsFile = true; else args.metricsFile = desired.metricsFile!;
  }
  return args;
}

/** Warnings and logs of the inner `settings set` reach the caller; its own result does not (set returns the DSC state). */
function innerSink(outer: EventSink): EventSink {
  return {
    progress: (...a) => outer.progress(...a), log: (...a) => outer.log(...a), warning: (...a) => outer.warning(...a), error: (...a) => outer.error(...a),
    item: () => undefined, result: () => undefined,
    get warnings() { return outer.warnings; }, get warningLog() { return outer.warningLog; },
  };
}

/**
 * Reports an instance: on the CLI (ctx.dataOut) the lines DSC reads — the state, then for `stateAndDiff`
 * the array of property names — else one DscState result event (rpc).
 */
function report(ctx: CommandContext, instance: MachineSettingInstance, diff?: string[]): void {
  if (ctx.dataOut) {
    ctx.dataOut.write(`${JSON.stringify(instance)}\n`);
    if (diff) ctx.dataOut.write(`${JSON.stringify(diff)}\n`);
    return;
  }
  ctx.sink.result('DscState', { resource: 'AzBackup/MachineSetting', instance, ...(diff ? { diff } : {}) });
}

function dscCommand(operation: 'get' | 'test' | 'set' | 'export', run: (ctx: CommandContext, desired: MachineSettingInstance) => Promise<number>): Command<DscArgs> {
  return {
    name: `dsc.${operation}`,
    argsSchema: 'azbackup:args.dsc',
    // No secrets: an instance never carries one (the proxy password is set with Set-AzBackupMachineSetting).
    secrets: [],
    async run(ctx, args) {
      const desired = args.instance ?? {};
      checkDesired(desired);
      return run(ctx, desired);
    },
  };
}

export const dscGetCommand = dscCommand('get', async (ctx) => { report(ctx, await actualState()); return 0; });

// A machine has one instance of its settings: export returns it whatever the (validated) input.
export const dscExportCommand = dscCommand('export', async (ctx) => { report(ctx, await actualState()); return 0; });

export const dscTestCommand = dscCommand('test', async (ctx, desired) => {
  const actual = await actualState();
  const diff = differences(desired, actual);
  report(ctx, { ...actual, _inDesiredState: diff.length === 0 }, diff);
  return 0;
});

export const dscSetCommand = dscCommand('set', async (ctx, desired) => {
  const before = await actualState();
  const diff = differences(desired, before);
  // implementsPretest: in the desired state already, nothing is written.
  if (diff.length > 0) {
    const code = await settingsSetCommand.run({ ...ctx, sink: innerSink(ctx.sink), dataOut: undefined } as CommandContext, settingsArgsFor(desired, before, diff));
    if (code !== 0 && code !== 3) return code;
  }
  report(ctx, await actualState(), diff);
  // DSC takes any exit code but 0 for a failure: warnings (on stderr) do not make this one 3.
  return 0;
});
