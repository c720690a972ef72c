// `policy set|get|run|suspend|resume|remove` through the built engine: a policy is saved, its schedule
// written (cron here; systemd units in test/policy/scheduler.test.ts), its runs make points that carry
// its name, and its retention expires them by the calendar (AZBACKUP_TEST_NOW sets the day of a run).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

let srv: VaultFixture;
let units: string;
let data: string;
let env: Record<string, string>;

function policyJson(name: string, change: (p: Record<string, any>) => void = () => {}): string {
  const p: Record<string, any> = {
    name, fileSpecs: [{ path: data, exclude: ['*.tmp'] }],
    schedule: { daysOfWeek: ['Monday', 'Wednesday', 'Friday'], timesOfDay: ['09:00', '21:00'], weeklyFrequency: 1 },
    retention: { days: 3 },
  };
  change(p);
  const file = join(srv.root, `${name}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(p));
  return file;
}

const az = (args: string[], extra: Record<string, string | undefined> = {}): Promise<EngineRun> => srv.az(args, { env: { ...env, ...extra } });
const warnings = (r: EngineRun) => r.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code);

beforeAll(async () => {
  srv = await registeredServer({ hostname: 'policy01' });
  units = join(srv.root, 'units');
  data = join(srv.root, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'alpha');
  writeFileSync(join(data, 'skip.tmp'), 'temporary');
  writeFileSync(join(data, 'sub', 'b.txt'), 'beta');
  env = { AZBACKUP_UNIT_ROOT: units, AZBACKUP_SCHEDULER: 'cron' };
}, 120_000);

describe('policy set and get', () => {
  it('saves a policy, writes its cron.d file and shows its next run', async () => {
    const r = await az(['policy', 'set', policyJson('files'), '--store-passphrase'], { AZBACKUP_TEST_NOW: '2026-06-01T10:00:00Z' });
    expect(r.code, r.stdout).toBe(0);
    const p = resultOf(r, 'Policy');
    expect(p).toMatchObject({ name: 'files', state: 'Active', vault: srv.vault, scheduler: 'cron', anchorWeek: '2026-06-01' });
    expect(String(p['passphraseStored'])).toMatch(/^file: .*\.passphrase$/);
    const cron = readFileSync(join(units, 'etc/cron.d/azbackup-policy-files'), 'utf8');
    expect(cron).toMatch(/^0 9,21 \* \* 1,3,5 root .* policy run files --scheduled >\/dev\/null 2>&1$/m);
    expect(cron).toContain(`AZBACKUP_HOME=${srv.home}`);
    expect(cron).not.toContain(srv.passphrase);
    expect(statSync(join(units, 'etc/cron.d/azbackup-policy-files')).mode & 0o777).toBe(0o644);
    // The stored passphrase: owner-only, in the home.
    const stored = String(p['passphraseStored']).slice('file: '.length);
    expect(statSync(stored).mode & 0o777).toBe(0o600);

    // Three weeks later without a run: twice the longest gap (Friday 21:00 to Monday 09:00) has passed.
    const late = await az(['policy', 'get', 'files'], { AZBACKUP_TEST_NOW: '2026-06-22T10:00:00Z' });
    expect(warnings(late)).toEqual(['AZB_POLICY_OVERDUE']);
    expect((late.events.find((e) => e.type === 'item') as unknown as { data: { overdue: boolean } }).data.overdue).toBe(true);
    const got = await az(['policy', 'get', 'files'], { AZBACKUP_TEST_NOW: '2026-06-01T10:00:00Z' });
    expect(got.code).toBe(0);
    const item = got.events.find((e) => e.type === 'item') as { data: Record<string, unknown> };
    expect(item.data['nextRun']).toBe(new Date(2026, 5, 1, 21, 0).toISOString());
    expect(item.data['overdue']).toBe(false);
    expect(item.data['lastRun']).toBeNull();
  });

  it('is idempotent: the same policy again changes nothing and succeeds', async () => {
    const r = await az(['policy', 'set', policyJson('files')]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'Policy')['anchorWeek']).toBe('2026-06-01');
  });

  it.each([
    ['31 daily days', (p: Record<string, any>) => { p['retention'].days = 31; }, 'AZB_RETENTION_INVALID', /1 to 30 days on a standalone server; 31 was given/],
    ['4 times a day', (p: Record<string, any>) => { p['schedule'].timesOfDay = ['01:00', '02:00', '03:00', '04:00']; }, 'AZB_SCHEDULE_INVALID', /at most 3 backups a day/],
    ['no day', (p: Record<string, any>) => { p['schedule'].daysOfWeek = []; }, 'AZB_SCHEDULE_INVALID', /no day of the week/],
    ['6000 weeks', (p: Record<string, any>) => { p['retention'].weekly = { weeks: 6000, daysOfWeek: ['Friday'], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /5163 weeks; 6000 was given/],
    ['an unknown property', (p: Record<string, any>) => { p['retention'].hourly = 5; }, 'AZB_ARGS_INVALID', /unknown property 'hourly'/],
  ])('refuses %s and saves nothing', async (_case, change, code, message) => {
    const r = await az(['policy', 'set', policyJson('bad', change)]);
    expect(r.code).toBe(2);
    const err = onlyError(r);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(existsSync(join(srv.home, 'policies', 'bad.json'))).toBe(false);
    expect(existsSync(join(units, 'etc/cron.d/azbackup-policy-bad'))).toBe(false);
  });

  it('refuses a second policy of the same name with other settings, unless it replaces the first', async () => {
    const file = policyJson('files', (p) => { p['retention'].days = 7; });
    const r = await az(['policy', 'set', file]);
    expect(r.code).toBe(1);
    expect(onlyError(r).code).toBe('AZB_POLICY_EXISTS');
    const replaced = await az(['policy', 'set', file, '--replace']);
    expect(replaced.code, replaced.stdout).toBe(0);
    expect((resultOf(replaced, 'Policy')['retention'] as { days: number }).days).toBe(7);
    expect((await az(['policy', 'set', policyJson('files'), '--replace'])).code).toBe(0);
  });

  it('refuses a policy for a vault this server is not registered with', async () => {
    const other = join(srv.root, 'other-vault');
    expect((await az(['vault', 'create', other])).code).toBe(0);
    const r = await az(['policy', 'set', policyJson('elsewhere', (p) => { p['vault'] = other; })]);
    expect(r.code).toBe(1);
    expect(onlyError(r).code).toBe('AZB_SERVER_NOT_REGISTERED');
    expect(existsSync(join(srv.home, 'policies', 'elsewhere.json'))).toBe(false);
  });

  it('warns about a file spec that does not exist, and saves the policy', async () => {
    const r = await az(['policy', 'set', policyJson('missing', (p) => { p['fileSpecs'].push({ path: join(srv.root, 'not-there') }); })]);
    expect(r.code).toBe(3);
    expect(warnings(r)).toContain('AZB_FILESPEC_NOT_FOUND');
    expect((await az(['policy', 'remove', 'missing'])).code).toBe(0);
  });
});

describe('policy run and retention', () => {
  /** A run of policy `files` on the given day at 21:00 UTC, by the stored passphrase (none given). */
  async function runOn(day: string): Promise<Record<string, unknown>> {
    const r = await az(['policy', 'run', 'files'], { AZBACKUP_TEST_NOW: `${day}T21:00:00Z`, AZBACKUP_PASSPHRASE: undefined, TZ: 'UTC' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return resultOf(r, 'PolicyRun');
  }

  it('backs up by the policy with the stored passphrase; points carry its name and leave out its exclusions', async () => {
    const run = await runOn('2026-06-01');
    expect(run).toMatchObject({ policy: 'files', status: 'Completed', pointsExpired: 0, pointsKept: 1 });
    const points = await az(['points']);
    const listed = points.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(listed.map((p) => p['policy'])).toEqual(['files']);
    const ls = await az(['ls', 'latest', '--recurse']);
    const paths = ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name']));
    expect(paths).toContain('a.txt');
    expect(paths).toContain('b.txt');
    expect(paths).not.toContain('skip.tmp');
    const jobs = await az(['jobs', '--previous', '2']);
    const recorded = jobs.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(recorded.map((j) => [j['operation'], j['policy'], j['status']])).toEqual([['Retention', 'files', 'Completed'], ['Backup', 'files', 'Completed']]);
  });

  it('expires the points of days past its daily retention, keeps a manual point, and prune gives the space back', async () => {
    // A manual backup without RetainUntil: never expired by a policy.
    const manual = await az(['backup', data], { AZBACKUP_TEST_NOW: '2026-06-01T22:00:00Z' });
    expect(manual.code).toBe(0);
    const expiredOn: number[] = [];
    for (const day of ['2026-06-03', '2026-06-05']) {
      writeFileSync(join(data, `${day}.bin`), Buffer.alloc(200_000, day));
      expiredOn.push(Number((await runOn(day))['pointsExpired']));
    }
    // On the 5th the 3 days are the 5th, 4th and 3rd: the point of the 1st goes.
    expect(expiredOn).toEqual([0, 1]);
    const packsBefore = listPackBytes();
    // On the 8th, the points of the 3rd and 5th fall out of the last 3 days.
    writeFileSync(join(data, 'late.txt'), 'late');
    for (const day of ['2026-06-03', '2026-06-05']) writeFileSync(join(data, `${day}.bin`), '');
    const run = await runOn('2026-06-08');
    expect(run['pointsExpired']).toBe(2);
    expect(run['pointsKept']).toBe(1);
    const items = async (args: string[]) => (await az(args, { AZBACKUP_TEST_NOW: '2026-06-09T08:00:00Z' })).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    const left = await items(['points']);
    expect(left.map((p) => [p['time'], p['policy'] ?? 'manual'])).toEqual([['2026-06-01T22:00:00.000Z', 'manual'], ['2026-06-08T21:00:00.000Z', 'files']]);
    // Expired points are soft-deleted: listed with --deleted, their data kept for 14 days.
    const deleted = await items(['points', '--deleted']);
    expect(deleted.map((p) => p['time'])).toEqual(['2026-06-01T21:00:00.000Z', '2026-06-03T21:00:00.000Z', '2026-06-05T21:00:00.000Z']);
    for (const p of deleted) {
      expect(Date.parse(String(p['purgeAfter'])) - Date.parse(String(p['deletedAt']))).toBe(14 * 86_400_000);
      expect(String(p['deleteReason'])).toMatch(/past the retention of policy files/);
    }
    expect(listPackBytes()).toBeGreaterThanOrEqual(packsBefore);
    // 14 days after the last expiry, prune deletes them and gives the space back.
    const pruned = await az(['prune'], { AZBACKUP_TEST_NOW: '2026-06-23T00:00:00Z' });
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ pointsPurged: 3, pointsRecoverable: 0 });
    expect(Number(resultOf(pruned, 'PruneResult')['bytesFreed'])).toBeGreaterThan(0);
    expect(listPackBytes()).toBeLessThan(packsBefore);
    expect(await items(['points', '--deleted'])).toEqual([]);
    expect((await items(['points'])).length).toBe(2);
  });

  it('expires a manual point once its RetainUntil has passed', async () => {
    const r = await az(['backup', data, '--retain-until', '2026-06-10T00:00:00Z'], { AZBACKUP_TEST_NOW: '2026-06-09T08:00:00Z' });
    expect(r.code).toBe(0);
    expect(resultOf(r, 'RecoveryPoint')['retainUntil']).toBe('2026-06-10T00:00:00.000Z');
    const past = await az(['backup', data, '--retain-until', '2026-06-01T00:00:00Z'], { AZBACKUP_TEST_NOW: '2026-06-09T08:00:00Z' });
    expect(past.code).toBe(2);
    expect(onlyError(past).code).toBe('AZB_ARGS_INVALID');
    const run = await runOn('2026-06-10');
    expect(run['pointsExpired']).toBe(1);
  });

  it('does not expire again a point brought back from soft delete', async () => {
    const run = await runOn('2026-06-14');
    expect(run['pointsExpired']).toBe(2); // the 8th and the 10th
    const deleted = (await az(['points', '--deleted'])).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    const eighth = deleted.find((p) => p['time'] === '2026-06-08T21:00:00.000Z')!;
    expect((await az(['undelete', String(eighth['pointId'])], { AZBACKUP_TEST_NOW: '2026-06-15T08:00:00Z' })).code).toBe(0);
    const next = await runOn('2026-06-15');
    expect(next['pointsExpired']).toBe(0);
    const live = (await az(['points'])).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(live.find((p) => p['pointId'] === eighth['pointId'])).toMatchObject({ restoredAt: '2026-06-15T08:00:00.000Z', policy: 'files' });
  });

  function listPackBytes(): number {
    let total = 0;
    const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else total += statSync(p).size; } };
    walk(join(srv.vault, 'servers'));
    return total;
  }

  it('fails clearly when the stored passphrase no longer opens the vault', async () => {
    const stored = join(srv.home, 'registrations');
    const file = readdirSync(stored).find((f) => f.endsWith('.passphrase'))!;
    writeFileSync(join(stored, file), 'an outdated passphrase, long enough', { mode: 0o600 });
    const r = await az(['policy', 'run', 'files'], { AZBACKUP_PASSPHRASE: undefined });
    expect(r.code).toBe(1);
    expect(onlyError(r).code).toBe('AZB_STORED_PASSPHRASE_WRONG');
    const got = await az(['policy', 'get', 'files']);
    const item = got.events.find((e) => e.type === 'item') as unknown as { data: { lastRun: Record<string, unknown> } };
    expect(item.data.lastRun).toMatchObject({ status: 'Failed', code: 'AZB_STORED_PASSPHRASE_WRONG' });
    writeFileSync(join(stored, file), srv.passphrase, { mode: 0o600 });
  });
});

describe('policy suspend, resume and remove', () => {
  it('suspend removes the schedule and resume writes it back', async () => {
    const cron = join(units, 'etc/cron.d/azbackup-policy-files');
    const s = await az(['policy', 'suspend', 'files']);
    expect(resultOf(s, 'Policy')).toMatchObject({ state: 'Suspended', scheduler: 'none', nextRun: null });
    expect(existsSync(cron)).toBe(false);
    const scheduled = await az(['policy', 'run', 'files', '--scheduled']);
    expect(scheduled.code).toBe(0);
    expect(scheduled.events.some((e) => e.type === 'result')).toBe(false);
    const r = await az(['policy', 'resume', 'files']);
    expect(resultOf(r, 'Policy')).toMatchObject({ state: 'Active', scheduler: 'cron' });
    expect(existsSync(cron)).toBe(true);
  });

  it('remove --delete-backup says how many points it will remove, then removes them with the schedule and the stored passphrase', async () => {
    const listed = (await az(['points'])).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    const before = listed.length;
    const own = listed.filter((p) => p['policy'] === 'files').length;
    expect(own).toBe(3); // the runs of the 14th and the 15th, and the 8th, brought back (removing a policy's backups includes it)
    const dry = await az(['policy', 'remove', 'files', '--delete-backup', '--dry-run']);
    expect(resultOf(dry, 'RemovedPolicy')).toMatchObject({ name: 'files', pointsExpired: own, whatIf: true });
    expect(existsSync(join(srv.home, 'policies', 'files.json'))).toBe(true);
    const gone = await az(['policy', 'remove', 'files', '--delete-backup']);
    expect(gone.code, gone.stdout).toBe(0);
    expect(resultOf(gone, 'RemovedPolicy')).toMatchObject({ pointsExpired: own, whatIf: false });
    expect((await az(['points'])).events.filter((e) => e.type === 'item').length).toBe(before - own);
    // They are soft-deleted, like points retention expires.
    const deleted = (await az(['points', '--deleted'])).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(deleted.filter((p) => String(p['deleteReason']).includes('policy files was removed with its backups'))).toHaveLength(own);
    expect(existsSync(join(units, 'etc/cron.d/azbackup-policy-files'))).toBe(false);
    expect(existsSync(join(srv.home, 'policies', 'files.json'))).toBe(false);
    // The stored passphrase went with the last policy of the vault.
    expect(readdirSync(join(srv.home, 'registrations')).some((f) => f.endsWith('.passphrase'))).toBe(false);
    const missing = await az(['policy', 'get', 'files']);
    expect(onlyError(missing).code).toBe('AZB_POLICY_NOT_FOUND');
  });
});

describe('a policy whose run is in progress', () => {
  it('skips an overlapping run with a warning, and refuses to be removed until the run ends', async () => {
    const gate = join(srv.root, 'gate');
    // A command policy whose dump waits for the test: its run is certainly in progress meanwhile.
    const file = policyJson('slow', (p) => {
      delete p['fileSpecs'];
      p['command'] = { command: 'sh', arguments: ['-c', `while [ ! -e '${gate}' ]; do sleep 0.1; done; echo dumped`], streamName: 'slow.txt' };
    });
    expect((await az(['policy', 'set', file, '--store-passphrase'])).code).toBe(0);
    const { startEngine } = await import('../helpers/engine.js');
    const first = startEngine(['policy', 'run', 'slow', '--json'], { ...srv.env, ...env });
    first.end();
    // Wait until its backup job is recorded as running (not a timing assertion: a bounded wait).
    for (let i = 0; i < 300; i++) {
      const jobs = await az(['jobs', '--status', 'InProgress']);
      if (jobs.events.some((e) => e.type === 'item' && (e as { data: Record<string, unknown> }).data['policy'] === 'slow')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = await az(['policy', 'run', 'slow']);
    expect(second.code).toBe(3);
    expect(warnings(second)).toEqual(['AZB_POLICY_RUN_SKIPPED']);
    expect(resultOf(second, 'PolicyRun')).toMatchObject({ status: 'Skipped', pointId: null });
    const removing = await az(['policy', 'remove', 'slow']);
    expect(removing.code).toBe(1);
    expect(onlyError(removing).code).toBe('AZB_POLICY_RUNNING');
    expect(existsSync(join(srv.home, 'policies', 'slow.json'))).toBe(true);
    writeFileSync(gate, '');
    const done = await first.done;
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toContain('"kind":"PolicyRun"');
    expect((await az(['policy', 'remove', 'slow', '--delete-backup'])).code).toBe(0);
  }, 120_000);

  it('says when its command does not exist, and stores nothing', async () => {
    const file = policyJson('no-command', (p) => {
      delete p['fileSpecs'];
      p['command'] = { command: 'no-such-command-azb', streamName: 'x.txt' };
    });
    expect((await az(['policy', 'set', file, '--store-passphrase'])).code).toBe(0);
    const r = await az(['policy', 'run', 'no-command']);
    expect(r.code).toBe(1);
    expect(onlyError(r).code).toBe('AZB_SOURCE_COMMAND_NOT_FOUND');
    expect((await az(['policy', 'remove', 'no-command'])).code).toBe(0);
  });

  it('stores nothing when its command fails', async () => {
    const file = policyJson('broken', (p) => {
      delete p['fileSpecs'];
      p['command'] = { command: 'sh', arguments: ['-c', 'echo partial; echo "disk gone" >&2; exit 3'], streamName: 'broken.txt' };
    });
    expect((await az(['policy', 'set', file, '--store-passphrase'])).code).toBe(0);
    const before = (await az(['points'])).events.filter((e) => e.type === 'item').length;
    const r = await az(['policy', 'run', 'broken']);
    expect(r.code).toBe(1);
    const err = onlyError(r);
    expect(err.code).toBe('AZB_SOURCE_COMMAND_FAILED');
    expect(err.message).toMatch(/exit code 3.*no recovery point was written.*disk gone/);
    expect((await az(['points'])).events.filter((e) => e.type === 'item').length).toBe(before);
    expect((await az(['policy', 'remove', 'broken'])).code).toBe(0);
  });
});

describe('a passphrase change and the stored copy', () => {
  it('warns that the stored copy is stale, and updates it with --update-stored', async () => {
    expect((await az(['policy', 'set', policyJson('after-change'), '--store-passphrase'])).code).toBe(0);
    const second = 'the second passphrase of this server';
    const third = 'the third passphrase of this server';
    const stale = await az(['passphrase', 'set'], { AZBACKUP_NEW_PASSPHRASE: second });
    expect(stale.code, stale.stdout).toBe(3);
    expect(warnings(stale).sort()).toEqual(['AZB_PASSPHRASE_KEEP_SAFE', 'AZB_STORED_PASSPHRASE_STALE']);
    const failing = await az(['policy', 'run', 'after-change'], { AZBACKUP_PASSPHRASE: undefined });
    expect(onlyError(failing).code).toBe('AZB_STORED_PASSPHRASE_WRONG');
    const updated = await az(['passphrase', 'set', '--update-stored'], { AZBACKUP_PASSPHRASE: second, AZBACKUP_NEW_PASSPHRASE: third });
    expect(warnings(updated)).toEqual(['AZB_PASSPHRASE_KEEP_SAFE']);
    const run = await az(['policy', 'run', 'after-change'], { AZBACKUP_PASSPHRASE: undefined });
    expect(run.code, run.stdout).toBe(0);
    const stored = readdirSync(join(srv.home, 'registrations')).find((f) => f.endsWith('.passphrase'))!;
    expect(readFileSync(join(srv.home, 'registrations', stored), 'utf8')).toBe(third);
    expect(statSync(join(srv.home, 'registrations', stored)).mode & 0o777).toBe(0o600);
  });
});

describe('what a scheduled run gets from the environment', () => {
  it('carries the non-secret vault settings into the schedule, and warns about a secret it cannot carry', async () => {
    const keyFile = join(srv.root, 'storage.key');
    writeFileSync(keyFile, 'not a real key', { mode: 0o600 });
    // The passphrase stored by the test above is still there (policy after-change), so none is given here.
    const r = await az(['policy', 'set', policyJson('cloudish')], { AZBACKUP_STORAGE_KEY_FILE: keyFile, AZURE_TENANT_ID: 'tenant-1', AZBACKUP_STORAGE_KEY: 'a secret key value' });
    expect(r.code).toBe(3);
    expect(warnings(r)).toEqual(['AZB_SCHEDULE_NO_CREDENTIAL']);
    const cron = readFileSync(join(units, 'etc/cron.d/azbackup-policy-cloudish'), 'utf8');
    expect(cron).toMatch(new RegExp(`^AZBACKUP_STORAGE_KEY_FILE=${keyFile}$`, 'm'));
    expect(cron).toMatch(/^AZURE_TENANT_ID=tenant-1$/m);
    expect(cron).not.toContain('a secret key value');
    expect(cron).not.toMatch(/^AZBACKUP_STORAGE_KEY=/m);
    expect((await az(['policy', 'remove', 'cloudish'])).code).toBe(0);
  });
});

describe('saving a policy again', () => {
  it('is the same policy whatever the order of its keys, and activates a suspended one', async () => {
    const file = policyJson('again');
    expect((await az(['policy', 'set', file], { AZBACKUP_PASSPHRASE: undefined })).code).toBe(0);
    expect((await az(['policy', 'suspend', 'again'])).code).toBe(0);
    const reordered = join(srv.root, 'again-reordered.json');
    const p = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(reordered, JSON.stringify(Object.fromEntries(Object.entries(p).reverse())));
    // No passphrase: the passphrase changed in a test above, and none is needed to save a policy again.
    const r = await az(['policy', 'set', reordered], { AZBACKUP_PASSPHRASE: undefined });
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'Policy')).toMatchObject({ state: 'Active', scheduler: 'cron' });
    expect((await az(['policy', 'remove', 'again'])).code).toBe(0);
  });
});
