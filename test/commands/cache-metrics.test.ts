// Machine settings for policies: the cache location (moved safely, with its file-metadata cache) and
// the Prometheus metrics file that policy runs write for node_exporter's textfile collector.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { onlyError, resultOf, startEngine } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

let srv: VaultFixture;
let data: string;
// The fixture's AZBACKUP_CACHE would win over the setting: these tests use the setting alone.
const env = (extra: Record<string, string | undefined> = {}) => ({ env: { AZBACKUP_CACHE: undefined, AZBACKUP_SCHEDULER: 'cron', AZBACKUP_UNIT_ROOT: join(srv.root, 'units'), ...extra } });

beforeAll(async () => {
  srv = await registeredServer({ hostname: 'settings01' });
  data = join(srv.root, 'data');
  mkdirSync(data);
  for (let i = 0; i < 20; i++) writeFileSync(join(data, `f${i}.txt`), `file ${i} `.repeat(1000));
}, 120_000);

describe('cache location setting', () => {
  it('moves the cache with its file metadata, so the next backup reads no unchanged file', async () => {
    const first = await srv.az(['backup', data], env());
    expect(first.code).toBe(0);
    const oldCache = join(srv.home, 'cache');
    const server = readdirSync(oldCache).find((n) => /^[0-9a-f]{32}-[0-9a-f]{16}$/.test(n))!;
    expect(existsSync(join(oldCache, server, 'files.db'))).toBe(true);
    const target = join(srv.root, 'bigger-disk', 'azbackup-cache');
    const set = await srv.az(['settings', 'set', '--cache-location', target], env());
    expect(set.code, set.stdout).toBe(0);
    expect(resultOf(set, 'MachineSetting')['cacheLocation']).toBe(target);
    expect(existsSync(join(target, server, 'files.db'))).toBe(true);
    expect(existsSync(join(oldCache, server))).toBe(false);
    expect(statSync(target).mode & 0o777).toBe(0o700);
    const second = await srv.az(['backup', data], env());
    expect(second.code).toBe(0);
    expect(resultOf(second, 'RecoveryPoint')).toMatchObject({ filesUnchanged: 20, filesNew: 0, bytesRead: 0 });
  });

  it('refuses a relative path, and a folder it cannot create', async () => {
    const relative = await srv.az(['settings', 'set', '--cache-location', 'cache-here'], env());
    expect(onlyError(relative).code).toBe('AZB_ARGS_INVALID');
    const blocker = join(srv.root, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const blocked = await srv.az(['settings', 'set', '--cache-location', join(blocker, 'cache')], env());
    expect(onlyError(blocked).code).toBe('AZB_CACHE_UNUSABLE');
  });

  it('is not moved while a backup runs (AZB_BACKUP_RUNNING), and is moved once it has ended', async () => {
    // A stream backup waiting for the rest of its data: certainly running meanwhile.
    const live = startEngine(['backup', '--stdin', '--stdin-name', 'dump.bin', '--json'], { ...srv.env, ...env().env });
    live.write(randomBytes(1024 * 1024));
    // However the test ends, the backup does not outlive it (it would block the tests after).
    onTestFinished(() => { if (live.child.exitCode === null) live.child.kill('SIGKILL'); });
    let running = false;
    for (let i = 0; i < 300 && !running; i++) {
      running = (await srv.az(['jobs', '--status', 'InProgress'])).events.some((e) => e.type === 'item');
      if (!running) await new Promise((r) => setTimeout(r, 20));
    }
    expect(running).toBe(true);
    const target = join(srv.root, 'while-running');
    const refused = await srv.az(['settings', 'set', '--cache-location', target], env());
    const err = onlyError(refused);
    expect(err.code).toBe('AZB_BACKUP_RUNNING');
    expect(err.message).toMatch(/^Job \S+ \(Backup\) is running/);
    expect(existsSync(target)).toBe(false);
    live.end(randomBytes(1024));
    expect((await live.done).code).toBe(0);
    const moved = await srv.az(['settings', 'set', '--cache-location', target], env());
    expect(moved.code, moved.stdout).toBe(0);
    expect(resultOf(moved, 'MachineSetting')['cacheLocation']).toBe(target);
  });

  it('says that AZBACKUP_CACHE wins when it is set', async () => {
    const r = await srv.az(['settings', 'set', '--cache-location', join(srv.root, 'third')], env({ AZBACKUP_CACHE: join(srv.root, 'env-cache') }));
    expect(r.code).toBe(3);
    expect(r.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toEqual(['AZB_CACHE_SETTING_OVERRIDDEN']);
  });
});

describe('metrics file', () => {
  it('is written after every policy run, in Prometheus text format, one series per policy', async () => {
    const metrics = join(srv.root, 'textfile', 'azbackup.prom');
    mkdirSync(join(srv.root, 'textfile'));
    expect((await srv.az(['settings', 'set', '--metrics-file', metrics], env())).code).toBe(0);
    const policy = join(srv.root, 'files.json');
    writeFileSync(policy, JSON.stringify({ name: 'files', fileSpecs: [{ path: data }], schedule: { daysOfWeek: ['Monday'], timesOfDay: ['21:00'], weeklyFrequency: 1 }, retention: { days: 7 } }));
    // Without a stored passphrase the policy is saved, with a warning that its scheduled runs will fail.
    const unstored = await srv.az(['policy', 'set', policy], env());
    expect(unstored.code).toBe(3);
    expect(unstored.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toEqual(['AZB_PASSPHRASE_NOT_STORED']);
    expect((await srv.az(['policy', 'set', policy, '--store-passphrase'], env())).code).toBe(0);
    const run = await srv.az(['policy', 'run', 'files'], env());
    expect(run.code, run.stdout).toBe(0);
    const text = readFileSync(metrics, 'utf8');
    expect(statSync(metrics).mode & 0o777).toBe(0o644);
    // Every line is a comment or `name{labels} number`, and every family has HELP and TYPE.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) azbackup_[a-z_]+ .+|azbackup_[a-z_]+\{policy="files"(,status="[A-Za-z]+")?\} -?[0-9.e+]+)$/);
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('azbackup_policy_last_run_status{policy="files",status="Completed"}')).toBe(1);
    expect(value('azbackup_policy_last_run_status{policy="files",status="Failed"}')).toBe(0);
    expect(value('azbackup_policy_last_success_timestamp_seconds{policy="files"}')).toBeCloseTo(Date.now() / 1000, -2);
    expect(value('azbackup_policy_points_kept{policy="files"}')).toBe(1);
    expect(value('azbackup_policy_overdue{policy="files"}')).toBe(0);
    expect(readdirSync(join(srv.root, 'textfile'))).toEqual(['azbackup.prom']); // no temp file left

    // A failed run shows as Failed, and the last success stays.
    const failed = await srv.az(['policy', 'run', 'files'], env({ AZBACKUP_PASSPHRASE: 'a wrong passphrase, long enough' }));
    expect(failed.code).toBe(1);
    const after = readFileSync(metrics, 'utf8');
    expect(after).toMatch(/^azbackup_policy_last_run_status\{policy="files",status="Failed"\} 1$/m);
    expect(after).toContain(`azbackup_policy_last_success_timestamp_seconds{policy="files"} ${value('azbackup_policy_last_success_timestamp_seconds{policy="files"}')}`);

    // A metrics file that cannot be written is a warning; the run itself is done.
    expect((await srv.az(['settings', 'set', '--metrics-file', join(srv.root, 'no-such-dir', 'azbackup.prom')], env())).code).toBe(0);
    const unwritable = await srv.az(['policy', 'run', 'files'], env());
    expect(unwritable.code).toBe(3);
    expect(unwritable.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toEqual(['AZB_METRICS_NOT_WRITTEN']);
    expect(resultOf(unwritable, 'PolicyRun')['status']).toBe('Completed');
    const off = await srv.az(['settings', 'set', '--no-metrics-file'], env());
    expect(resultOf(off, 'MachineSetting')['metricsFile']).toBe('');
  });
});
