// Backup policies (README "Policies"): what is backed up, when, and how long its recovery points are
// kept. A policy is a JSON document checked twice: its shape by the ajv schema azbackup:policy, its
// limits here, each with a coded error that states the limit.
import { invalidGlobReason } from '../fs/glob.js';
import { isAbsolute, relative, sep } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { checkHookCommand, type HookCommand } from '../backup/hooks.js';

export const DAYS_OF_WEEK = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];
export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;
export type Month = (typeof MONTHS)[number];

/** One folder or file a policy backs up. */
export interface FileSpec {
  path: string; exclude?: string[]; nonRecursive?: boolean;
  /** As backup --exclude-caches and --one-file-system, for this spec's path. */
  excludeCaches?: boolean; oneFileSystem?: boolean;
}

/** The output of a native command, backed up as one file (a database dump). */
export interface CommandSource { command: string; arguments?: string[]; streamName: string }

export interface Schedule {
  daysOfWeek: DayOfWeek[];
  /** "HH:MM", 24-hour, in the server's local time. */
  timesOfDay: string[];
  /** Run every Nth week (1–4), counted from the policy's anchor week. */
  weeklyFrequency: number;
  /** Start up to this many minutes late, at random, so that many servers do not start at once. */
  randomizedDelayMinutes?: number;
}

export interface WeeklyTier { weeks: number; daysOfWeek: DayOfWeek[]; timesOfDay: string[] }
/** daysOfMonth: 1–28, or 0 for the last day of the month. */
export interface MonthlyTier { months: number; daysOfMonth: number[]; timesOfDay: string[] }
export interface YearlyTier { years: number; monthsOfYear: Month[]; daysOfMonth: number[]; timesOfDay: string[] }

export interface Retention { days: number; weekly?: WeeklyTier; monthly?: MonthlyTier; yearly?: YearlyTier }

export type PolicyState = 'Active' | 'Suspended';

export interface Policy {
  name: string;
  /** Vault location; absent: the only vault this server is registered with (fixed when saved). */
  vault?: string;
  fileSpecs?: FileSpec[];
  command?: CommandSource;
  /** Run before each backup's read, and after it (core/backup/hooks.ts). */
  preCommand?: HookCommand; postCommand?: HookCommand;
  schedule: Schedule;
  retention: Retention;
  state: PolicyState;
  /** Monday (YYYY-MM-DD) of the week weeklyFrequency counts from: the week the policy was first saved. */
  anchorWeek?: string;
  /** How its file specs are read (README "Snapshot-consistent reads"); absent: Auto. */
  snapshot?: 'Auto' | 'Required' | 'None';
}

/** Limits of the system we model (MARS agent, standalone server), and of its long-term tiers. */
export const LIMITS = {
  timesPerDay: 3, weeklyFrequency: { min: 1, max: 4 }, days: { min: 1, max: 30 },
  weeks: 5163, months: 1188, years: 99, randomizedDelayMinutes: 720,
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes after midnight of an "HH:MM" time (validated). */
export function minutesOf(time: string): number {
  const m = TIME.exec(time)!;
  return Number(m[1]) * 60 + Number(m[2]);
}

function scheduleError(message: string, target: string): AzbError {
  return new AzbError('AZB_SCHEDULE_INVALID', message, { target, hint: `A schedule runs on at least one day of the week, at 1 to ${LIMITS.timesPerDay} times a day (HH:MM), every 1 to ${LIMITS.weeklyFrequency.max} weeks.` });
}

function retentionError(message: string, target: string): AzbError {
  return new AzbError('AZB_RETENTION_INVALID', message, {
    target, hint: `Daily retention is 1 to ${LIMITS.days.max} days; weekly up to ${LIMITS.weeks} weeks, monthly up to ${LIMITS.months} months, yearly up to ${LIMITS.years} years, each taken from days and times the schedule runs.`,
  });
}

function checkTimes(times: string[], target: string, error: (m: string, t: string) => AzbError): void {
  for (const t of times) if (!TIME.test(t)) throw error(`'${t}' is not a time of day; give HH:MM (24-hour), e.g. 21:00.`, target);
  if (new Set(times).size !== times.length) throw error(`${target} names the same time twice.`, target);
}

function checkSubset<T>(values: readonly T[], allowed: readonly T[], target: string, what: string): void {
  const extra = values.filter((v) => !allowed.includes(v));
  if (extra.length > 0) throw retentionError(`${target} names ${extra.join(', ')}, on which the schedule takes no backup; a long-term tier keeps points the schedule takes (${what}: ${allowed.join(', ')}).`, target);
}

function checkTier(n: number, max: number, unit: string, target: string): void {
  if (!Number.isInteger(n) || n < 1 || n > max) throw retentionError(`${unit[0]!.toUpperCase()}${unit.slice(1)} retention is 1 to ${max} ${unit}; ${n} was given.`, target);
}

function checkDaysOfMonth(days: number[], target: string): void {
  if (days.length === 0) throw retentionError(`${target} names no day of the month.`, target);
  for (const d of days) if (!Number.isInteger(d) || d < 0 || d > 28) throw retentionError(`Day of month ${d} is not allowed: give 1 to 28, or Last (so that every month has it).`, target);
}

/**
 * Whether two file specs overlap: the same path, or one inside the other. (A spec inside a
 * non-recursive one does not overlap it: the outer one leaves out sub-folders.)
 */
function overlapping(a: FileSpec, b: FileSpec): boolean {
  if (a.path === b.path) return true;
  const inside = (outer: FileSpec, inner: FileSpec) => {
    const r = relative(outer.path, inner.path);
    return !outer.nonRecursive && r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r);
  };
  return inside(a, b) || inside(b, a);
}

/** Trailing separators dropped ("/srv/data/" and "/srv/data" are one path). */
function normalPath(p: string): string {
  return p.length > 1 ? p.replace(/[\\/]+$/, '') : p;
}

/**
 * Checks a policy's limits (its shape was checked by the schema) and returns it normalized: paths
 * without trailing separators, days and times sorted. Throws a coded error naming the limit.
 */
export function validatePolicy(input: Policy): Policy {
  const p: Policy = structuredClone(input);
  if (!NAME.test(p.name)) {
    throw new AzbError('AZB_POLICY_INVALID', `'${p.name}' is not a usable policy name.`, { target: 'name', hint: 'Use 1 to 64 letters, digits, - and _, starting with a letter or digit.' });
  }
  const specs = p.fileSpecs ?? [];
  if (specs.length === 0 && !p.command) throw new AzbError('AZB_POLICY_INVALID', `Policy ${p.name} backs up nothing: give at least one file spec, or a command.`, { target: 'fileSpecs', hint: 'Add one with New-AzBackupFileSpec | Add-AzBackupFileSpec.' });
  if (specs.length > 0 && p.command) throw new AzbError('AZB_POLICY_INVALID', `Policy ${p.name} gives both file specs and a command; a policy backs up one or the other.`, { target: 'command', hint: 'Make a second policy for the command.' });
  for (const s of specs) {
    if (!isAbsolute(s.path)) throw new AzbError('AZB_FILESPEC_INVALID', `File spec '${s.path}' is not an absolute path.`, { target: s.path, hint: 'Give the full path, e.g. /srv/data.' });
    s.path = normalPath(s.path);
    for (const g of s.exclude ?? []) {
      const why = invalidGlobReason(g);
      if (why) throw new AzbError('AZB_FILESPEC_INVALID', `File spec ${s.path}: exclude pattern refused: ${why}.`, { target: s.path, hint: 'See README "Globs" for the pattern rules.' });
    }
  }
  for (let i = 0; i < specs.length; i++) {
    for (let j = i + 1; j < specs.length; j++) {
      if (overlapping(specs[i]!, specs[j]!)) {
        const same = specs[i]!.path === specs[j]!.path;
        throw new AzbError('AZB_FILESPEC_OVERLAP', same ? `File spec ${specs[i]!.path} is given twice.` : `File specs ${specs[i]!.path} and ${specs[j]!.path} overlap: one is inside the other.`, {
          target: specs[j]!.path, hint: 'Keep the outer folder and leave out the inner one with -Exclude, or keep one spec only.',
        });
      }
    }
  }
  if (p.command && !/^[^/\\\0]+$/.test(p.command.streamName)) {
    throw new AzbError('AZB_POLICY_INVALID', `'${p.command.streamName}' is not a usable file name for the command's output.`, { target: 'streamName', hint: 'Give a plain file name such as db.sql.' });
  }
  if (p.preCommand) checkHookCommand(p.preCommand, 'preCommand', 'AZB_POLICY_INVALID');
  if (p.postCommand) checkHookCommand(p.postCommand, 'postCommand', 'AZB_POLICY_INVALID');

  const s = p.schedule;
  if (s.daysOfWeek.length === 0) throw scheduleError('The schedule names no day of the week; it needs at least one.', 'daysOfWeek');
  if (new Set(s.daysOfWeek).size !== s.daysOfWeek.length) throw scheduleError('The schedule names the same day twice.', 'daysOfWeek');
  if (s.timesOfDay.length === 0) throw scheduleError('The schedule names no time of day; it needs 1 to 3.', 'timesOfDay');
  if (s.timesOfDay.length > LIMITS.timesPerDay) throw scheduleError(`A schedule takes at most ${LIMITS.timesPerDay} backups a day; ${s.timesOfDay.length} times were given.`, 'timesOfDay');
  checkTimes(s.timesOfDay, 'timesOfDay', scheduleError);
  if (!Number.isInteger(s.weeklyFrequency) || s.weeklyFrequency < LIMITS.weeklyFrequency.min || s.weeklyFrequency > LIMITS.weeklyFrequency.max) {
    throw scheduleError(`Weekly frequency is 1 to ${LIMITS.weeklyFrequency.max} (every Nth week); ${s.weeklyFrequency} was given.`, 'weeklyFrequency');
  }
  if (s.randomizedDelayMinutes !== undefined && (!Number.isInteger(s.randomizedDelayMinutes) || s.randomizedDelayMinutes < 0 || s.randomizedDelayMinutes > LIMITS.randomizedDelayMinutes)) {
    throw scheduleError(`The randomized delay is 0 to ${LIMITS.randomizedDelayMinutes} minutes; ${s.randomizedDelayMinutes} was given.`, 'randomizedDelayMinutes');
  }
  s.daysOfWeek.sort((a, b) => DAYS_OF_WEEK.indexOf(a) - DAYS_OF_WEEK.indexOf(b));
  s.timesOfDay.sort();

  const r = p.retention;
  if (!Number.isInteger(r.days) || r.days < LIMITS.days.min || r.days > LIMITS.days.max) {
    throw retentionError(`Daily retention is 1 to ${LIMITS.days.max} days on a standalone server; ${r.days} was given.`, 'days');
  }
  if (r.weekly) {
    checkTier(r.weekly.weeks, LIMITS.weeks, 'weeks', 'weekly.weeks');
    if (r.weekly.daysOfWeek.length === 0) throw retentionError('The weekly tier names no day of the week.', 'weekly.daysOfWeek');
    checkSubset(r.weekly.daysOfWeek, s.daysOfWeek, 'weekly.daysOfWeek', 'days');
    checkTimes(r.weekly.timesOfDay, 'weekly.timesOfDay', retentionError);
    checkSubset(r.weekly.timesOfDay, s.timesOfDay, 'weekly.timesOfDay', 'times');
  }
  if (r.monthly) {
    checkTier(r.monthly.months, LIMITS.months, 'months', 'monthly.months');
    checkDaysOfMonth(r.monthly.daysOfMonth, 'monthly.daysOfMonth');
    checkTimes(r.monthly.timesOfDay, 'monthly.timesOfDay', retentionError);
    checkSubset(r.monthly.timesOfDay, s.timesOfDay, 'monthly.timesOfDay', 'times');
  }
  if (r.yearly) {
    checkTier(r.yearly.years, LIMITS.years, 'years', 'yearly.years');
    if (r.yearly.monthsOfYear.length === 0) throw retentionError('The yearly tier names no month.', 'yearly.monthsOfYear');
    checkDaysOfMonth(r.yearly.daysOfMonth, 'yearly.daysOfMonth');
    checkTimes(r.yearly.timesOfDay, 'yearly.timesOfDay', retentionError);
    checkSubset(r.yearly.timesOfDay, s.timesOfDay, 'yearly.timesOfDay', 'times');
  }
  return p;
}

/** Monday (YYYY-MM-DD, local time) of the week that holds `t`. */
export function mondayOf(t: Date): string {
  const d = new Date(t.getFullYear(), t.getMonth(), t.getDate());
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * Whether a scheduled run at `now` falls in a week the policy runs: every `weeklyFrequency`th week,
 * counted from its anchor week (whole weeks between the two Mondays; daylight-saving days round away).
 */
export function isRunWeek(p: Policy, now: Date): boolean {
  const every = p.schedule.weeklyFrequency;
  if (every <= 1 || !p.anchorWeek) return true;
  const [y, m, d] = p.anchorWeek.split('-').map(Number) as [number, number, number];
  const [ny, nm, nd] = mondayOf(now).split('-').map(Number) as [number, number, number];
  const weeks = Math.round((Date.UTC(ny, nm - 1, nd) - Date.UTC(y, m - 1, d)) / (7 * 86_400_000));
  return ((weeks % every) + every) % every === 0;
}
