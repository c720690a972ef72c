// Protection groups (README "Protection groups"): the DPM scenario. A protection server backs up data
// sources of members (other servers, reached over SSH) to its own disk vault, and online protection copies
// their newest points to an Azure vault. A group is a JSON document checked here, each limit with a coded
// error that states it. Limits are those of the system we model (DPM with the Azure Backup agent).
import { isAbsolute } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { DAYS_OF_WEEK, type Schedule } from '../policy/policy.js';

export type DataSourceKind = 'Files' | 'Stream';

/** One thing a group protects: a folder of a member (tar over SSH), or a member command's output (a dump). */
export interface DataSource {
  /** Stable name: `<member>:<path>` for files, `<member>:<streamName>` for a stream. */
  name: string;
  member: string;
  kind: DataSourceKind;
  path?: string;
  command?: string;
  arguments?: string[];
  streamName?: string;
  added: string;
}

export interface ShortTermObjective {
  /** How long disk points are kept, counted back from the data source's newest point. */
  retentionRangeDays: number;
  /** Runs every N minutes (one of SYNC_FREQUENCIES); else `schedule`. */
  synchronizationFrequencyMinutes?: number;
  schedule?: Schedule;
}

export interface OnlineProtection {
  /** The Azure vault location (as registered on this machine), and its vault ID. */
  vault: string;
  vaultId: string;
  retentionDays: number;
  maxPoints: number;
  maxSizeGB: number;
  /** "HH:MM": the first group run at or after each of these copies the newest disk points online. */
  timesOfDay: string[];
  enabled: string;
}

export type GroupState = 'Active' | 'Suspended';

export interface ProtectionGroup {
  name: string;
  /** The disk: a folder vault this server is registered with. */
  vault: string;
  dataSources: DataSource[];
  shortTerm: ShortTermObjective;
  online?: OnlineProtection;
  state: GroupState;
  /** Monday (YYYY-MM-DD) of the week the group was made. */
  anchorWeek?: string;
  created: string;
}

export const GROUP_LIMITS = {
  retentionRangeDays: { min: 1, max: 448, default: 5 },
  /** Disk points kept per file data source, whatever the retention range. */
  filePointsPerDataSource: 64,
  timesPerDay: 24,
  online: { days: { min: 1, max: 120 }, points: { min: 1, max: 120, default: 120 }, sizeGB: { min: 1, max: 850, default: 850 } },
} as const;

/** Synchronization frequencies offered (minutes); each divides a day, so runs fall at the same times every day. */
export const SYNC_FREQUENCIES = [15, 30, 60, 120, 240, 360, 480, 720, 1440] as const;

export const DEFAULT_SCHEDULE: Schedule = { daysOfWeek: [...DAYS_OF_WEEK], timesOfDay: ['20:00'], weeklyFrequency: 1 };
export const DEFAULT_ONLINE_TIMES = ['21:00'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const STREAM_NAME = /^[^/\\\0:]{1,255}$/;

export function checkGroupName(name: string): string {
  if (!NAME.test(name)) throw new AzbError('AZB_GROUP_INVALID', `'${name}' is not a usable protection group name.`, { target: 'name', hint: 'Use 1 to 64 letters, digits, - and _, starting with a letter or digit.' });
  return name;
}

/** The name of a data source: what identifies it across groups, points and reports. */
export function dataSourceName(member: string, what: { path: string } | { streamName: string }): string {
  return 'path' in what ? `${member}:${what.path}` : `${member}:${what.streamName}`;
}

/** Checks a data source being added and returns it normalized (path without trailing separators). */
export function makeDataSource(member: string, what: { path: string } | { command: string; arguments?: string[]; streamName: string }, now: Date): DataSource {
  if ('path' in what) {
    if (!isAbsolute(what.path) || !what.path.startsWith('/') || /[\0\n]/.test(what.path)) {
      throw new AzbError('AZB_GROUP_INVALID', `Data source path '${what.path}' is not an absolute path on the member.`, { target: what.path, hint: 'Give the full path as the member sees it, e.g. /srv/data.' });
    }
    const path = what.path.length > 1 ? what.path.replace(/\/+$/, '') : what.path;
    return { name: dataSourceName(member, { path }), member, kind: 'Files', path, added: now.toISOString() };
  }
  if (!STREAM_NAME.test(what.streamName)) {
    throw new AzbError('AZB_GROUP_INVALID', `'${what.streamName}' is not a usable stream name.`, { target: 'streamName', hint: 'Give a plain file name without / or :, such as db.sql.' });
  }
  if (what.command.length === 0 || /[\0\n]/.test(what.command)) throw new AzbError('AZB_GROUP_INVALID', 'The data source command is empty or holds a line break.', { target: 'command' });
  return {
    name: dataSourceName(member, { streamName: what.streamName }), member, kind: 'Stream', command: what.command,
    ...(what.arguments && what.arguments.length > 0 ? { arguments: what.arguments } : {}), streamName: what.streamName, added: now.toISOString(),
  };
}

function objectiveError(message: string, target: string): AzbError {
  return new AzbError('AZB_RETENTION_INVALID', message, { target, hint: `A protection group keeps disk points ${GROUP_LIMITS.retentionRangeDays.min} to ${GROUP_LIMITS.retentionRangeDays.max} days (at most ${GROUP_LIMITS.filePointsPerDataSource} per file data source).` });
}

function scheduleError(message: string, target: string): AzbError {
  return new AzbError('AZB_SCHEDULE_INVALID', message, { target, hint: `Give a synchronization frequency (${SYNC_FREQUENCIES.join(', ')} minutes) or a schedule of days and 1 to ${GROUP_LIMITS.timesPerDay} times a day (HH:MM).` });
}

function onlineError(message: string, target: string): AzbError {
  const o = GROUP_LIMITS.online;
  return new AzbError('AZB_ONLINE_RETENTION_INVALID', message, { target, hint: `Online protection keeps points ${o.days.min} to ${o.days.max} days, at most ${o.points.max} points and ${o.sizeGB.max} GB per data source.` });
}

function checkTimes(times: string[], target: string, error: (m: string, t: string) => AzbError): void {
  if (times.length === 0) throw error(`${target} names no time of day.`, target);
  for (const t of times) if (!TIME.test(t)) throw error(`'${t}' is not a time of day; give HH:MM (24-hour), e.g. 21:00.`, target);
  if (new Set(times).size !== times.length) throw error(`${target} names the same time twice.`, target);
}

function checkInteger(n: number, min: number, max: number, what: string, target: string, error: (m: string, t: string) => AzbError): void {
  if (!Number.isInteger(n) || n < min || n > max) throw error(`${what} is ${min} to ${max}; ${n} was given.`, target);
}

/** Checks the short-term objective; returns it normalized. */
export function validateShortTerm(input: ShortTermObjective): ShortTermObjective {
  const s: ShortTermObjective = structuredClone(input);
  const r = GROUP_LIMITS.retentionRangeDays;
  checkInteger(s.retentionRangeDays, r.min, r.max, 'The retention range', 'retentionRangeDays', objectiveError);
  if (s.synchronizationFrequencyMinutes !== undefined && s.schedule) throw scheduleError('Give a synchronization frequency or a schedule, not both.', 'schedule');
  if (s.synchronizationFrequencyMinutes !== undefined && !(SYNC_FREQUENCIES as readonly number[]).includes(s.synchronizationFrequencyMinutes)) {
    throw scheduleError(`A synchronization frequency of ${s.synchronizationFrequencyMinutes} minutes is not offered.`, 'synchronizationFrequencyMinutes');
  }
  if (s.synchronizationFrequencyMinutes === undefined && !s.schedule) s.schedule = structuredClone(DEFAULT_SCHEDULE);
  if (s.schedule) {
    const sc = s.schedule;
    if (sc.daysOfWeek.length === 0) throw scheduleError('The schedule names no day of the week.', 'daysOfWeek');
    if (new Set(sc.daysOfWeek).size !== sc.daysOfWeek.length) throw scheduleError('The schedule names the same day twice.', 'daysOfWeek');
    checkTimes(sc.timesOfDay, 'timesOfDay', scheduleError);
    if (sc.timesOfDay.length > GROUP_LIMITS.timesPerDay) throw scheduleError(`A group's schedule runs at most ${GROUP_LIMITS.timesPerDay} times a day; ${sc.timesOfDay.length} were given.`, 'timesOfDay');
    if (sc.weeklyFrequency !== 1) throw scheduleError('A protection group runs every week (weekly frequency 1).', 'weeklyFrequency');
    sc.daysOfWeek.sort((a, b) => DAYS_OF_WEEK.indexOf(a) - DAYS_OF_WEEK.indexOf(b));
    sc.timesOfDay.sort();
  }
  return s;
}

/** The schedule a group's runs follow: its own, or every N minutes of every day. */
export function effectiveSchedule(s: ShortTermObjective): Schedule {
  if (s.schedule) return s.schedule;
  const every = s.synchronizationFrequencyMinutes!;
  const times: string[] = [];
  for (let m = 0; m < 1440; m += every) times.push(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
  return { daysOfWeek: [...DAYS_OF_WEEK], timesOfDay: times, weeklyFrequency: 1 };
}

/** Checks online protection settings (retention, limits, times); returns them normalized. */
export function validateOnline(input: Omit<OnlineProtection, 'maxPoints' | 'maxSizeGB' | 'timesOfDay'> & Partial<OnlineProtection>): OnlineProtection {
  const o = GROUP_LIMITS.online;
  const out: OnlineProtection = { ...input, maxPoints: input.maxPoints ?? o.points.default, maxSizeGB: input.maxSizeGB ?? o.sizeGB.default, timesOfDay: [...(input.timesOfDay ?? DEFAULT_ONLINE_TIMES)] };
  checkInteger(out.retentionDays, o.days.min, o.days.max, 'Online retention', 'onlineRetentionDays', onlineError);
  checkInteger(out.maxPoints, o.points.min, o.points.max, 'The number of online points per data source', 'maxOnlinePoints', onlineError);
  checkInteger(out.maxSizeGB, o.sizeGB.min, o.sizeGB.max, 'The online size per data source (GB)', 'maxOnlineSizeGB', onlineError);
  checkTimes(out.timesOfDay, 'onlineTimesOfDay', onlineError);
  out.timesOfDay.sort();
  return out;
}

/**
 * Bytes the size limits count as one GB: 2^30, or AZBACKUP_BYTES_PER_GB (README "Protection groups"), a
 * scale factor that lets tests reach the 850 GB limit with megabytes.
 */
export function bytesPerGB(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['AZBACKUP_BYTES_PER_GB'];
  if (v === undefined || v === '') return 1024 ** 3;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new AzbError('AZB_ARGS_INVALID', `AZBACKUP_BYTES_PER_GB is '${v}'; it must be a whole number of bytes, at least 1.`, { target: 'AZBACKUP_BYTES_PER_GB', hint: 'Unset it outside tests.' });
  return n;
}
