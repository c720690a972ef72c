// Jobs through the built engine: history with statuses, and stopping a running backup cleanly.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_PATH, onlyError, parseEvents, resultOf, startEngine } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

/** The ID of the job that appears InProgress (waits for it; fails the test when none appears). */
async function runningJobId(fx: VaultFixture): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const running = (await fx.az(['jobs', '--status', 'InProgress'])).events.filter((e) => e.type === 'item');
    const id = (running[0] as unknown as { data: { jobId: string } } | undefined)?.data.jobId;
    if (id) return id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no job became InProgress');
}

describe('jobs', () => {
  it('records each operation with its status and statistics', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a');
    await fx.az(['backup', src]);
    await fx.az(['backup', join(fx.root, 'missing')]);
    await fx.az(['check']);
    const jobs = (await fx.az(['jobs'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);
    expect(jobs.map((j) => [j['operation'], j['status']])).toEqual([['Check', 'Completed'], ['Backup', 'Failed'], ['Backup', 'Completed']]);
    expect(jobs[1]!['errors']).toEqual([expect.objectContaining({ code: 'AZB_SOURCE_NOT_FOUND' })]);
    expect(jobs[2]!['stats']).toMatchObject({ filesNew: 1 });
    const last = (await fx.az(['jobs', '--previous', '1'])).events.filter((e) => e.type === 'item');
    expect(last).toHaveLength(1);
    expect((await fx.az(['jobs', '--status', 'Failed'])).events.filter((e) => e.type === 'item')).toHaveLength(1);
    expect((await fx.az(['jobs', '--status', 'Cancelled'])).events.filter((e) => e.type === 'item')).toHaveLength(0);
    expect(onlyError(await fx.az(['job', 'stop', 'no-such-job'])).code).toBe('AZB_JOB_NOT_FOUND');
  });

  it('stops a stdin backup that is waiting for data', async () => {
    const fx = await registeredServer();
    const child = spawn(ENGINE_PATH, ['backup', '--stdin', '--stdin-name', 'idle.sql', '--json'], { env: { ...process.env, ...fx.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write('some data, then the producer goes quiet\n');
    const ended = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    const jobId = await runningJobId(fx);
    const stop = await fx.az(['job', 'stop', jobId]);
    expect(resultOf(stop, 'Job')).toMatchObject({ status: 'Cancelled' });
    // The engine ends while its stdin is still open and the producer quiet: a stop bound to the producer
    // would never end (the test's timeout). No wall-clock bound: it would only measure the machine's load.
    expect(await ended).toBe(5);
    child.stdin.destroy();
    expect(listTree(fx.vault).filter((l) => l.includes('/points/'))).toEqual([]);
  }, 60_000);

  it('stops a running backup: the job ends Cancelled, no recovery point, the next backup works', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'p.bin'), randomBytes(1024 * 1024));
    // A stream backup waiting for the rest of its data: certainly running when it is stopped.
    const live = startEngine(['backup', '--stdin', '--stdin-name', 'dump.bin', '--json'], fx.env);
    live.write(randomBytes(20 * 1024 * 1024));
    const jobId = await runningJobId(fx);
    const stop = await fx.az(['job', 'stop', jobId]);
    expect(resultOf(stop, 'Job')).toMatchObject({ jobId, status: 'Cancelled' });
    const ended = await live.done;
    expect(ended.code).toBe(5);
    const err = parseEvents(ended.stdout).find((e) => e.type === 'error');
    expect(err).toMatchObject({ code: 'AZB_CANCELLED' });
    expect(listTree(fx.vault).filter((l) => l.includes('/points/'))).toEqual([]);
    expect(listTree(fx.vault).filter((l) => l.includes('/locks/'))).toEqual([]);
    const next = await fx.az(['backup', src]);
    expect(next.code, next.stdout.slice(-300)).toBe(0);
  }, 120_000);

  it('never signals a process that merely reuses the pid of a job whose engine died; that job is Failed', async () => {
    const fx = await registeredServer();
    expect((await fx.az(['jobs'])).code).toBe(0); // creates the history
    const stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      await new Promise((r) => stranger.once('spawn', r));
      // A job left InProgress by an engine that was killed: its pid now belongs to another program.
      const db = new DatabaseSync(join(fx.home, 'jobs.db'));
      db.prepare('INSERT INTO jobs (id, operation, status, vault, server_id, start_time, pid, hostname, warnings, process) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)')
        .run('20260101T000000-deadbeef', 'Backup', 'InProgress', fx.vault, null, new Date().toISOString(), stranger.pid!, hostname(), 'an-earlier-boot:12345');
      db.close();
      const stopped = await fx.az(['job', 'stop', '20260101T000000-deadbeef']);
      expect(stopped.code, stopped.stdout).toBe(0);
      expect(resultOf(stopped, 'Job')).toMatchObject({ status: 'Failed', errors: [expect.objectContaining({ code: 'AZB_JOB_ABANDONED' })] });
      await new Promise((r) => setTimeout(r, 200));
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('reads a job history written before the process and warning-list columns existed', async () => {
    const fx = await registeredServer();
    const { rmSync } = await import('node:fs');
    rmSync(join(fx.home, 'jobs.db'), { force: true });
    const db = new DatabaseSync(join(fx.home, 'jobs.db'));
    db.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, operation TEXT, status TEXT, vault TEXT, server_id TEXT, start_time TEXT, end_time TEXT,
      pid INTEGER, hostname TEXT, stats TEXT, errors TEXT, warnings INTEGER)`);
    db.prepare("INSERT INTO jobs VALUES ('20250101T000000-00000001', 'Backup', 'Completed', ?, NULL, '2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z', 1, 'old', NULL, '[]', 0)").run(fx.vault);
    db.close();
    const jobs = await fx.az(['jobs']);
    expect(jobs.code, jobs.stdout).toBe(0);
    expect(jobs.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data)).toEqual([
      expect.objectContaining({ jobId: '20250101T000000-00000001', status: 'Completed', warningList: [] }),
    ]);
    expect((await fx.az(['check'])).code).toBe(0);
    expect((await fx.az(['jobs', '--previous', '1'])).events.find((e) => e.type === 'item')).toMatchObject({ data: { operation: 'Check', status: 'Completed' } });
  });
});
