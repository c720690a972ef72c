// Unattended runs through the OS scheduler (README "Scheduled runs"). Where systemd is the init system:
// a .service and a .timer per policy or protection group. Where it is not (containers, this CI): a file
// in /etc/cron.d. Both run `azbackup policy run <name> --scheduled` (or `group run`) as root. The unit root is configurable
// (AZBACKUP_UNIT_ROOT) so that tests never touch the real /etc; the scheduler too (AZBACKUP_SCHEDULER).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSea } from 'node:sea';
import { homeDir } from '../config/home.js';
import { AzbError, fileError } from '../protocol/errors.js';
import { DAYS_OF_WEEK, minutesOf, type Policy, type Schedule } from './policy.js';
import { CREDENTIAL_NAME } from './stored-passphrase.js';

/** 'none': Windows, where the PowerShell module registers a Task Scheduler task itself. */
export type SchedulerKind = 'systemd' | 'cron' | 'none';

export interface SchedulerTarget { kind: SchedulerKind; root: string }

/** The scheduler this machine uses: AZBACKUP_SCHEDULER, else systemd when it is the init system (sd_booted), else cron. */
export function schedulerTarget(): SchedulerTarget {
  const root = process.env['AZBACKUP_UNIT_ROOT'] || '/';
  const forced = process.env['AZBACKUP_SCHEDULER'];
  if (forced !== undefined && forced !== '' && forced !== 'systemd' && forced !== 'cron') {
    throw new AzbError('AZB_ARGS_INVALID', `AZBACKUP_SCHEDULER is '${forced}'; it is systemd or cron.`, { target: 'AZBACKUP_SCHEDULER', hint: 'Unset it to let AzBackup choose.' });
  }
  const kind: SchedulerKind = forced === 'systemd' || forced === 'cron' ? forced
    : process.platform === 'win32' ? 'none' : existsSync('/run/systemd/system') ? 'systemd' : 'cron';
  return { kind, root };
}

/**
 * What the scheduler runs: a policy's or a protection group's run, under its own unit name. Policies
 * and groups share the writers below, so both get the same files (a policy's are as they always were).
 */
export interface ScheduledRun {
  /** azbackup-policy-<name> or azbackup-group-<name> (names are letters, digits, - and _ only). */
  unit: string;
  /** "policy nightly", "protection group dpm1": how the files describe what they run. */
  what: string;
  /** The engine's arguments, e.g. policy run nightly --scheduled. */
  argv: string[];
  schedule: Schedule;
  /** The command that writes the files, named in their first line. */
  writtenBy: string;
}

/** The unit and timer names of a policy (policy names are letters, digits, - and _ only). */
export function unitName(policy: string): string {
  return `azbackup-policy-${policy}`;
}

/** The unit and timer names of a protection group. */
export function groupUnitName(group: string): string {
  return `azbackup-group-${group}`;
}

export function policyRun(p: Policy): ScheduledRun {
  return { unit: unitName(p.name), what: `policy ${p.name}`, argv: ['policy', 'run', p.name, '--scheduled'], schedule: p.schedule, writtenBy: 'Set-AzBackupPolicy / azbackup policy set' };
}

export function groupRun(name: string, schedule: Schedule): ScheduledRun {
  return { unit: groupUnitName(name), what: `protection group ${name}`, argv: ['group', 'run', name, '--scheduled'], schedule, writtenBy: 'Set-AzBackupProtectionGroup / azbackup group set' };
}

/** The file names a policy's schedule is written to. */
export function scheduleFiles(policy: string, t: SchedulerTarget): string[] {
  return unitFiles(unitName(policy), t);
}

/** The file names a unit's schedule is written to. */
export function unitFiles(unit: string, t: SchedulerTarget): string[] {
  if (t.kind === 'none') return [];
  return t.kind === 'systemd'
    ? [join(t.root, 'etc/systemd/system', `${unit}.service`), join(t.root, 'etc/systemd/system', `${unit}.timer`)]
    : [join(t.root, 'etc/cron.d', unit)];
}

/** The schedule's times grouped by minute: one calendar line per distinct minute, all hours in it. */
function byMinute(s: Schedule): { minute: number; hours: number[] }[] {
  const groups = new Map<number, number[]>();
  for (const t of s.timesOfDay) {
    const m = minutesOf(t);
    groups.set(m % 60, [...(groups.get(m % 60) ?? []), Math.floor(m / 60)]);
  }
  return [...groups].sort((a, b) => a[0] - b[0]).map(([minute, hours]) => ({ minute, hours: hours.sort((a, b) => a - b) }));
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * systemd OnCalendar= expressions. "Mon,Wed 09:00,21:00" would mean 09:00 and 09:21 (a list in the time
 * part lists minutes of the hours before it): so one expression per distinct minute, with every hour
 * of that minute, e.g. "Mon,Wed *-*-* 09,21:00:00".
 */
export function onCalendar(s: Schedule): string[] {
  const days = s.daysOfWeek.map((d) => d.slice(0, 3)).join(',');
  return byMinute(s).map(({ minute, hours }) => `${days} *-*-* ${hours.map(two).join(',')}:${two(minute)}:00`);
}

/** cron.d time fields: one line's "minute hour * * days" per distinct minute. */
export function cronTimes(s: Schedule): string[] {
  const days = s.daysOfWeek.map((d) => DAYS_OF_WEEK.indexOf(d)).join(',');
  return byMinute(s).map(({ minute, hours }) => `${minute} ${hours.join(',')} * * ${days}`);
}

/** How the engine runs itself: the executable (a Node single-executable application), else node and its script. */
export function engineCommand(): string[] {
  return isSea() ? [process.execPath] : [process.execPath, process.argv[1]!];
}

/** A word for /bin/sh (cron runs its command through it): single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A word for a systemd command line: double-quoted, with specifiers (%) and variables ($) escaped. */
function unitWord(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** A value of a path setting: specifiers (%) escaped. */
function unitValue(s: string): string {
  return s.replace(/%/g, '%%');
}

/** A quoted Environment= assignment: specifiers escaped ($ is not expanded there). */
function envAssignment(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

function checkLine(s: string, what: string): void {
  if (/[\r\n\0]/.test(s)) throw new AzbError('AZB_ARGS_INVALID', `${what} holds a line break, which no scheduler file can carry.`, { target: what });
}

export interface ScheduleContext {
  /** The engine command line (engineCommand()). */
  engine: string[];
  /** The configuration home the scheduled run uses. */
  home: string;
  /** More environment for the run (scheduledEnvironment(): never a secret). */
  env?: Record<string, string>;
  /** The stored passphrase's systemd credential, when there is one. */
  credential?: string;
}

/** The .service and .timer of a policy. */
export function systemdUnits(p: Policy, c: ScheduleContext): { service: string; timer: string } {
  return systemdUnitsOf(policyRun(p), c);
}

/** The .service and .timer of a scheduled run. */
export function systemdUnitsOf(r: ScheduledRun, c: ScheduleContext): { service: string; timer: string } {
  for (const w of [...c.engine, c.home, c.credential ?? '', ...Object.values(c.env ?? {})]) checkLine(w, 'A path');
  const exec = [...c.engine, ...r.argv].map(unitWord).join(' ');
  const service = [
    `# Written by AzBackup (${r.writtenBy}); changes here are overwritten.`,
    '[Unit]',
    `Description=AzBackup ${r.what}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${exec}`,
    `Environment=${envAssignment(`AZBACKUP_HOME=${c.home}`)}`,
    ...Object.entries(c.env ?? {}).map(([k, v]) => `Environment=${envAssignment(`${k}=${v}`)}`),
    ...(c.credential ? [`LoadCredentialEncrypted=${CREDENTIAL_NAME}:${unitValue(c.credential)}`] : []),
    // A backup may take hours; it stops cleanly on SIGTERM (systemctl stop, Stop-AzBackupJob).
    'TimeoutStartSec=infinity',
    'KillMode=mixed',
    'Nice=10',
    'IOSchedulingClass=best-effort',
    'IOSchedulingPriority=7',
    // Exit code 3 is "completed with warnings": a run that did its work.
    'SuccessExitStatus=3',
    '',
  ].join('\n');
  const timer = [
    `# Written by AzBackup (${r.writtenBy}); changes here are overwritten.`,
    '[Unit]',
    `Description=Schedule of AzBackup ${r.what}`,
    '',
    '[Timer]',
    ...onCalendar(r.schedule).map((e) => `OnCalendar=${e}`),
    'Persistent=true',
    ...(r.schedule.randomizedDelayMinutes ? [`RandomizedDelaySec=${r.schedule.randomizedDelayMinutes * 60}`] : []),
    `Unit=${r.unit}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service, timer };
}

/** The /etc/cron.d file of a policy: runs as root, output to the job history, not to mail. */
export function cronFile(p: Policy, c: ScheduleContext): string {
  return cronFileOf(policyRun(p), c);
}

/** The /etc/cron.d file of a scheduled run. */
export function cronFileOf(r: ScheduledRun, c: ScheduleContext): string {
  for (const w of [...c.engine, c.home, ...Object.values(c.env ?? {})]) checkLine(w, 'A path');
  const command = [...c.engine, ...r.argv].map(shellWord).join(' ');
  const s = r.schedule;
  return [
    `# Written by AzBackup (${r.writtenBy}); changes here are overwritten.`,
    `# ${r.what[0]!.toUpperCase()}${r.what.slice(1)}: ${s.daysOfWeek.join(', ')} at ${s.timesOfDay.join(', ')}, every ${s.weeklyFrequency === 1 ? 'week' : `${s.weeklyFrequency} weeks`}.`,
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `AZBACKUP_HOME=${c.home}`,
    ...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`),
    // Each run's outcome is in the job history and the policy's last-run record.
    ...cronTimes(s).map((t) => `${t} root ${command} >/dev/null 2>&1`),
    '',
  ].join('\n');
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new AzbError('AZB_SCHEDULER_FAILED', `${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`, { hint: 'Check that systemd runs and that this runs as root.' });
  }
}

/** Writes (or replaces) the schedule of an active policy; returns the files written. */
export async function installSchedule(p: Policy, c: ScheduleContext, t = schedulerTarget()): Promise<string[]> {
  return installRun(policyRun(p), c, t);
}

/** Writes (or replaces) the schedule of a run (a policy's, a group's); returns the files written. */
export async function installRun(r: ScheduledRun, c: ScheduleContext, t = schedulerTarget()): Promise<string[]> {
  const files = unitFiles(r.unit, t);
  if (files.length === 0) return files;
  const contents = t.kind === 'systemd' ? (() => { const u = systemdUnitsOf(r, c); return [u.service, u.timer]; })() : [cronFileOf(r, c)];
  try {
    await mkdir(join(files[0]!, '..'), { recursive: true, mode: 0o755 });
    for (const [i, f] of files.entries()) {
      // A file already as it should be is left alone: saving the same policy again writes nothing.
      const now = await readFile(f, 'utf8').catch(() => undefined);
      if (now === contents[i] && ((await stat(f)).mode & 0o777) === 0o644) continue;
      // cron ignores a cron.d file that others can write; units are read by systemd only.
      await writeFile(f, contents[i]!, { mode: 0o644 });
      await chmod(f, 0o644);
    }
  } catch (err) {
    throw fileError(err, files[0]!, 'Schedule file');
  }
  if (t.kind === 'systemd' && t.root === '/' && existsSync('/run/systemd/system')) {
    run('systemctl', ['daemon-reload']);
    run('systemctl', ['enable', '--now', `${r.unit}.timer`]);
  }
  return files;
}

/** Removes a policy's schedule (suspend, remove); returns the files removed. */
export async function removeSchedule(name: string, t = schedulerTarget()): Promise<string[]> {
  return removeUnit(unitName(name), t);
}

/** Removes a unit's schedule files (and stops its timer); returns the files removed. */
export async function removeUnit(unit: string, t = schedulerTarget()): Promise<string[]> {
  if (t.kind === 'systemd' && t.root === '/' && existsSync('/run/systemd/system')) {
    spawnSync('systemctl', ['disable', '--now', `${unit}.timer`], { stdio: 'ignore' });
  }
  const removed: string[] = [];
  for (const f of unitFiles(unit, t)) {
    try { await unlink(f); removed.push(f); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, f, 'Schedule file'); }
  }
  if (removed.length > 0 && t.kind === 'systemd' && t.root === '/' && existsSync('/run/systemd/system')) run('systemctl', ['daemon-reload']);
  return removed;
}

/** Which of a policy's schedule files exist. */
export async function presentScheduleFiles(name: string, t = schedulerTarget()): Promise<string[]> {
  return presentUnitFiles(unitName(name), t);
}

/** Which of a unit's schedule files exist. */
export async function presentUnitFiles(unit: string, t = schedulerTarget()): Promise<string[]> {
  const out: string[] = [];
  for (const f of unitFiles(unit, t)) {
    const dir = join(f, '..');
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.includes(f.slice(dir.length + 1))) out.push(f);
  }
  return out;
}

/**
 * The next time the schedule fires after `from` (local time; weeks the policy skips by its weekly
 * frequency are passed over by the caller's isRunWeek). Undefined for a schedule with no time.
 */
export function nextRunAfter(s: Schedule, from: Date, runWeek: (d: Date) => boolean = () => true): Date | undefined {
  const times = s.timesOfDay.map(minutesOf).sort((a, b) => a - b);
  for (let day = 0; day < 7 * 5; day++) {
    const d = new Date(from.getFullYear(), from.getMonth(), from.getDate() + day);
    if (!s.daysOfWeek.includes(DAYS_OF_WEEK[d.getDay()]!) || !runWeek(d)) continue;
    for (const m of times) {
      const at = new Date(d.getFullYear(), d.getMonth(), d.getDate(), Math.floor(m / 60), m % 60);
      if (at > from) return at;
    }
  }
  return undefined;
}

/**
 * What a scheduled run needs from this environment to reach a cloud vault, none of it secret: how it
 * signs in (Entra ID: tenant, app, certificate path; managed identity needs nothing more) and the files
 * that hold a storage key, SAS or connection string (owner-only, read at run time). The cache location
 * too, when set here. A secret given in the environment itself is not carried (see `secretsLeftBehind`).
 */
export const SCHEDULED_ENV = [
  'AZBACKUP_CACHE', 'AZBACKUP_STORAGE_AUTH', 'AZBACKUP_STORAGE_CERTIFICATE', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_AUTHORITY_HOST',
  'AZBACKUP_STORAGE_CONNECTION_STRING_FILE', 'AZBACKUP_STORAGE_KEY_FILE', 'AZBACKUP_STORAGE_SAS_FILE',
] as const;

/** Secrets in this environment a scheduled run will not get: the admin should use their _FILE form. */
export function secretsLeftBehind(): string[] {
  return ['AZBACKUP_STORAGE_CONNECTION_STRING', 'AZBACKUP_STORAGE_KEY', 'AZBACKUP_STORAGE_SAS', 'AZBACKUP_STORAGE_CERTIFICATE_PASSWORD'].filter((k) => process.env[k]);
}

export function scheduledEnvironment(): Record<string, string> {
  return Object.fromEntries(SCHEDULED_ENV.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
}

/** The home the scheduled run uses: this one, with this environment's non-secret vault settings. */
export function scheduleContext(credential?: string): ScheduleContext {
  const env = scheduledEnvironment();
  return { engine: engineCommand(), home: homeDir(), ...(Object.keys(env).length > 0 ? { env } : {}), ...(credential ? { credential } : {}) };
}
