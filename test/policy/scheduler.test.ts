// Schedules as the OS schedulers read them. Every OnCalendar expression is checked by systemd itself
// (systemd-analyze calendar) against the engine's own idea of the next runs, every unit pair by
// systemd-analyze verify; any stderr fails, since verify exits 0 on a misspelt key.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy, type Policy, type Schedule } from '../../core/policy/policy.js';
import { cronFile, cronTimes, installSchedule, nextRunAfter, onCalendar, removeSchedule, systemdUnits } from '../../core/policy/scheduler.js';
import { requireEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

function policy(schedule: Partial<Schedule>, name = 'files'): Policy {
  return validatePolicy({
    name, fileSpecs: [{ path: '/srv/data' }], state: 'Active', retention: { days: 7 },
    schedule: { daysOfWeek: ['Monday'], timesOfDay: ['09:00'], weeklyFrequency: 1, ...schedule },
  });
}

/** The next `n` elapses systemd computes for an expression after `base` (UTC). */
function systemdElapses(expression: string, base: Date, n: number): string[] {
  const r = spawnSync('systemd-analyze', ['calendar', `--iterations=${n}`, `--base-time=@${Math.floor(base.getTime() / 1000)}`, expression], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  expect(r.stderr, `systemd-analyze calendar '${expression}'`).toBe('');
  expect(r.status).toBe(0);
  return [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC/g)].map((m) => new Date(`${m[1]!.replace(' ', 'T')}Z`).toISOString());
}

/** The engine's own next `n` runs of a whole schedule (all of its expressions together), in UTC. */
function engineRuns(s: Schedule, base: Date, n: number): string[] {
  const out: string[] = [];
  let at = base;
  for (let i = 0; i < n; i++) { at = nextRunAfter(s, at)!; out.push(at.toISOString()); }
  return out;
}

const SCHEDULES: [string, Partial<Schedule>][] = [
  ['Mon and Wed at 09:00 and 21:00 (not 09:21)', { daysOfWeek: ['Monday', 'Wednesday'], timesOfDay: ['09:00', '21:00'] }],
  ['three times with different minutes', { daysOfWeek: ['Tuesday', 'Saturday'], timesOfDay: ['06:15', '12:00', '23:45'] }],
  ['every day at midnight and 23:59', { daysOfWeek: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'], timesOfDay: ['00:00', '23:59'] }],
  ['Sundays only', { daysOfWeek: ['Sunday'], timesOfDay: ['03:30'] }],
];

describe.skipIf(!hasAnalyze)('systemd OnCalendar', () => {
  // nextRunAfter works in local time, and systemd-analyze runs with TZ=UTC: make this process UTC too.
  const zone = process.env['TZ'];
  beforeAll(() => { process.env['TZ'] = 'UTC'; });
  afterAll(() => { if (zone === undefined) delete process.env['TZ']; else process.env['TZ'] = zone; });

  it.each(SCHEDULES)('%s: systemd fires exactly when the engine says it runs', (_name, s) => {
    expect(new Date('2026-03-25T10:07:00Z').getHours()).toBe(10);
    const schedule = policy(s).schedule;
    const base = new Date('2026-03-25T10:07:00Z');
    const n = 12;
    const fromSystemd = onCalendar(schedule).flatMap((e) => systemdElapses(e, base, n)).sort().slice(0, n);
    expect(fromSystemd).toEqual(engineRuns(schedule, base, n));
  });

  it('puts hours of one minute in one expression, and each other minute in its own', () => {
    expect(onCalendar(policy({ daysOfWeek: ['Monday', 'Wednesday'], timesOfDay: ['09:00', '21:00'] }).schedule)).toEqual(['Mon,Wed *-*-* 09,21:00:00']);
    expect(onCalendar(policy({ daysOfWeek: ['Friday'], timesOfDay: ['09:00', '21:30', '22:00'] }).schedule)).toEqual(['Fri *-*-* 09,22:00:00', 'Fri *-*-* 21:30:00']);
    expect(cronTimes(policy({ daysOfWeek: ['Sunday', 'Friday'], timesOfDay: ['09:00', '21:30', '22:00'] }).schedule)).toEqual(['0 9,22 * * 0,5', '30 21 * * 0,5']);
  });
});

describe.skipIf(!hasAnalyze)('systemd units', () => {
  function verify(p: Policy, home: string, credential?: string): void {
    const dir = tempDir('azb-units-');
    const u = systemdUnits(p, { engine: [requireEngine()], home, ...(credential ? { credential } : {}) });
    writeFileSync(join(dir, `azbackup-policy-${p.name}.service`), u.service);
    writeFileSync(join(dir, `azbackup-policy-${p.name}.timer`), u.timer);
    const r = spawnSync('systemd-analyze', ['verify', join(dir, `azbackup-policy-${p.name}.service`), join(dir, `azbackup-policy-${p.name}.timer`)], { encoding: 'utf8' });
    expect(r.stderr, u.service + u.timer).toBe('');
    expect(r.status).toBe(0);
  }

  it('verify cleanly for every schedule, with a randomized delay and a stored credential', () => {
    for (const [, s] of SCHEDULES) verify(policy({ ...s, randomizedDelayMinutes: 30 }), '/var/lib/azbackup', '/var/lib/azbackup/registrations/x.passphrase.cred');
  });

  it('verify cleanly with a home whose path holds spaces, quotes, % and $', () => {
    verify(policy({}), '/srv/my "backup" home/100% $HOME');
  });

  it('verify cleanly with the environment a cloud vault needs', () => {
    const dir = tempDir('azb-units-');
    const u = systemdUnits(policy({}), { engine: [requireEngine()], home: '/var/lib/azbackup', env: { AZBACKUP_STORAGE_AUTH: 'entra', AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001' } });
    expect(u.service).toContain('Environment="AZBACKUP_STORAGE_AUTH=entra"');
    writeFileSync(join(dir, 'azbackup-policy-files.service'), u.service);
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'azbackup-policy-files.service')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
  });

  it('carry the run, the home and the credential, never a passphrase, with Persistent=true', () => {
    const u = systemdUnits(policy({ randomizedDelayMinutes: 15 }, 'db-dump'), { engine: ['/usr/local/bin/azbackup'], home: '/var/lib/azbackup', credential: '/var/lib/azbackup/registrations/v.passphrase.cred' });
    expect(u.service).toContain('ExecStart="/usr/local/bin/azbackup" "policy" "run" "db-dump" "--scheduled"');
    expect(u.service).toContain('Environment="AZBACKUP_HOME=/var/lib/azbackup"');
    expect(u.service).toContain('LoadCredentialEncrypted=azbackup-passphrase:/var/lib/azbackup/registrations/v.passphrase.cred');
    expect(u.service).not.toMatch(/PASSPHRASE=/);
    expect(u.timer).toMatch(/^Persistent=true$/m);
    expect(u.timer).toMatch(/^RandomizedDelaySec=900$/m);
    expect(u.timer).toMatch(/^Unit=azbackup-policy-db-dump\.service$/m);
  });

  it('refuse a path with a line break, which would add a line to the unit', () => {
    expect(() => systemdUnits(policy({}), { engine: ['/bin/azbackup'], home: '/x\nExecStartPre=/bin/evil' })).toThrow(/line break/);
    expect(() => cronFile(policy({}), { engine: ['/bin/azbackup'], home: '/x\n* * * * * root /bin/evil' })).toThrow(/line break/);
  });
});

describe('installing a schedule under a unit root', () => {
  it('writes and removes cron.d and systemd files below the root only', async () => {
    const root = tempDir('azb-root-');
    mkdirSync(root, { recursive: true });
    const p = policy({ daysOfWeek: ['Monday'], timesOfDay: ['09:00'] });
    const c = { engine: ['/opt/azbackup/azbackup'], home: '/var/lib/azbackup' };
    const cron = await installSchedule(p, c, { kind: 'cron', root });
    expect(cron).toEqual([join(root, 'etc/cron.d/azbackup-policy-files')]);
    expect(readFileSync(cron[0]!, 'utf8')).toContain('0 9 * * 1 root /opt/azbackup/azbackup policy run files --scheduled >/dev/null 2>&1');
    const units = await installSchedule(p, c, { kind: 'systemd', root });
    expect(units).toEqual([join(root, 'etc/systemd/system/azbackup-policy-files.service'), join(root, 'etc/systemd/system/azbackup-policy-files.timer')]);
    expect(await removeSchedule('files', { kind: 'cron', root })).toEqual(cron);
    expect(await removeSchedule('files', { kind: 'systemd', root })).toEqual(units);
    expect(await removeSchedule('files', { kind: 'systemd', root })).toEqual([]);
  });

  it('quotes an engine path with spaces for the shell cron runs', () => {
    const text = cronFile(policy({}), { engine: ["/opt/my apps/it's/azbackup"], home: '/var/lib/azbackup' });
    const line = text.split('\n').find((l) => l.startsWith('0 9'))!;
    const command = line.slice('0 9 * * 1 root '.length, -' >/dev/null 2>&1'.length);
    const words = spawnSync('sh', ['-c', `for w in ${command}; do echo "[$w]"; done`], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(words).toEqual(["[/opt/my apps/it's/azbackup]", '[policy]', '[run]', '[files]', '[--scheduled]']);
  });
});

describe.skipIf(!hasAnalyze)('daylight saving time, as the README states it', () => {
  const zoned = (expression: string, base: string) => {
    const r = spawnSync('systemd-analyze', ['calendar', '--iterations=2', `--base-time=${base}`, expression], { encoding: 'utf8', env: { ...process.env, TZ: 'Europe/Berlin' } });
    expect(r.stderr).toBe('');
    return [...r.stdout.matchAll(/\(in UTC\): \w{3} (\S+ \S+) UTC/g)].map((m) => m[1]);
  };
  it('systemd skips a time in the hour that spring skips, and runs a time in the repeated autumn hour once', () => {
    // 2026-03-29 02:30 does not exist in Berlin: the next Sunday 02:30 run is a week later.
    expect(zoned('Sun *-*-* 02:30:00', '2026-03-28 12:00:00')).toEqual(['2026-04-05 00:30:00', '2026-04-12 00:30:00']);
    // 2026-10-25 02:30 happens twice (CEST, then CET): one run, at the first.
    expect(zoned('*-*-* 02:30:00', '2026-10-24 12:00:00')).toEqual(['2026-10-25 00:30:00', '2026-10-26 01:30:00']);
  });
});
