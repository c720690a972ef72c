// A policy runs by itself from a real cron daemon (Debian's cron, as root). The daemon runs in its own
// mount namespace with the test's cron.d folder bound over /etc/cron.d, so the machine's /etc is never
// touched. The policy is set for the next minute; the test waits for its job in the job history.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAYS_OF_WEEK } from '../../core/policy/policy.js';
import { resultOf } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';

const cronPath = spawnSync('sh', ['-c', 'command -v cron'], { encoding: 'utf8' }).stdout.trim();
const canRun = process.getuid?.() === 0 && cronPath !== '' && spawnSync('unshare', ['--mount', 'true']).status === 0;
const why = canRun ? '' : ' (skipped: needs root, Debian cron and unshare; tools/setup.sh installs cron as root)';

let daemon: ChildProcess | undefined;
afterAll(() => { daemon?.kill('SIGTERM'); });

describe.skipIf(!canRun)(`a policy run by cron${why}`, () => {
  it('runs at its scheduled minute, is a job like any other, and records its last run', async () => {
    const srv = await registeredServer({ hostname: 'cron01' });
    const data = join(srv.root, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'report.txt'), 'quarterly numbers');
    const unitRoot = join(srv.root, 'units');
    // The next minute that is at least 20 s away, in local time (cron's and the engine's).
    const at = new Date(Date.now() + 80_000);
    at.setSeconds(0, 0);
    const hhmm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    const policyFile = join(srv.root, 'nightly.json');
    writeFileSync(policyFile, JSON.stringify({
      name: 'nightly', fileSpecs: [{ path: data }], retention: { days: 7 },
      schedule: { daysOfWeek: [DAYS_OF_WEEK[at.getDay()]], timesOfDay: [hhmm], weeklyFrequency: 1 },
    }));
    const env = { AZBACKUP_UNIT_ROOT: unitRoot, AZBACKUP_SCHEDULER: 'cron' };
    const set = await srv.az(['policy', 'set', policyFile, '--store-passphrase'], { env });
    expect(set.code, set.stdout).toBe(0);
    expect(resultOf(set, 'Policy')['nextRun']).toBe(at.toISOString());

    daemon = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /etc/cron.d && exec "$2" -f', 'sh', join(unitRoot, 'etc/cron.d'), cronPath], { stdio: 'ignore' });
    // Wait (not a timing assertion: the bound only stops a broken daemon from hanging the suite).
    const deadline = at.getTime() + 120_000;
    let job: Record<string, unknown> | undefined;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 3000));
      const jobs = await srv.az(['jobs'], { env });
      job = jobs.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data)
        .find((j) => j['policy'] === 'nightly' && j['operation'] === 'Retention' && j['status'] !== 'InProgress');
      if (job) break;
    }
    expect(job, 'the scheduled run never finished').toBeDefined();
    expect(job!['status']).toBe('Completed');
    const backupJob = (await srv.az(['jobs'], { env })).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data)
      .find((j) => j['policy'] === 'nightly' && j['operation'] === 'Backup');
    expect(backupJob).toMatchObject({ status: 'Completed' });
    // It started at the scheduled minute, not before.
    expect(Date.parse(String(backupJob!['startTime']))).toBeGreaterThanOrEqual(at.getTime());
    const points = (await srv.az(['points'], { env })).events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(points.map((p) => p['policy'])).toEqual(['nightly']);
    const got = await srv.az(['policy', 'get', 'nightly'], { env });
    const policy = got.events.find((e) => e.type === 'item') as unknown as { data: { lastRun: Record<string, unknown>; lastSuccess: string } };
    expect(policy.data.lastRun).toMatchObject({ status: 'Completed', pointId: points[0]!['pointId'] });
    const restored = join(srv.root, 'restored');
    const r = await srv.az(['restore', 'latest', '--target', restored], { env });
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')['verifyFailed']).toBe(0);
  }, 240_000);
});
