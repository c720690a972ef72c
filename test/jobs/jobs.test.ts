// Jobs through the built engine: history with statuses, and stopping a running backup cleanly.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ENGINE_PATH, onlyError, parseEvents, resultOf, rpc, startEngine } from '../helpers/engine.js';
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

  it('ends Cancelled when Ctrl+C sends SIGINT and SIGTERM at once (the terminal and the module)', async () => {
    const fx = await registeredServer();
    const live = startEngine(['backup', '--stdin', '--stdin-name', 'dump.bin', '--json'], fx.env);
    live.write(randomBytes(4 * 1024 * 1024));
    const jobId = await runningJobId(fx);
    live.child.kill('SIGINT');
    live.child.kill('SIGTERM');
    const ended = await live.done;
    expect(ended.code).toBe(5);
    expect(parseEvents(ended.stdout).find((e) => e.type === 'error')).toMatchObject({ code: 'AZB_CANCELLED' });
    const job = (await fx.az(['jobs'])).events.map((e) => (e as unknown as { data?: Record<string, unknown> }).data).find((d) => d?.['jobId'] === jobId);
    expect(job).toMatchObject({ status: 'Cancelled' });
    expect(listTree(fx.vault).filter((l) => l.includes('/points/') || l.includes('/locks/'))).toEqual([]);
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
      // Nothing to stop: the job is found to have ended (Failed, abandoned), and the answer says so.
      expect(stopped.code, stopped.stdout).toBe(3);
      expect(stopped.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_JOB_NOT_RUNNING' });
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

describe('a job record for every attempt, and the system log', () => {
  /** A unix socket standing for /dev/log: the lines logger writes to it. */
  async function syslogSocket(dir: string): Promise<{ path: string; lines: () => string[]; close: () => void }> {
    const path = join(dir, 'log.sock');
    const received: string[] = [];
    const server = createServer((c) => { c.setEncoding('utf8'); c.on('data', (d: string) => received.push(...d.split('\n').filter((l) => l.length > 0))); });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return { path, lines: () => received, close: () => server.close() };
  }
  const jobsOf = async (fx: VaultFixture) => (await fx.az(['jobs'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);

  it('records a backup that fails before it starts (wrong or missing passphrase, no vault, bad args) as a Failed job, once, and logs it', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a');
    const log = await syslogSocket(fx.root);
    onTestFinished(log.close);
    const env = { AZBACKUP_SYSLOG_SOCKET: log.path };
    const attempts: [string[], Record<string, string | undefined>, string][] = [
      [['backup', src], { ...env, AZBACKUP_PASSPHRASE: 'not the passphrase of this server' }, 'AZB_PASSPHRASE_WRONG'],
      [['backup', src], { ...env, AZBACKUP_PASSPHRASE: undefined }, 'AZB_PASSPHRASE_REQUIRED'],
      [['backup', src, '--vault', join(fx.root, 'no-vault-here')], env, 'AZB_VAULT_NOT_FOUND'],
      [['backup', src, '--exclude', '!x'], env, 'AZB_ARGS_INVALID'],
      [['policy', 'run', 'no-such-policy'], env, 'AZB_POLICY_NOT_FOUND'],
    ];
    for (const [args, e, code] of attempts.slice(0, 4)) {
      const r = await fx.az(args, { env: e });
      expect(onlyError(r).code, args.join(' ')).toBe(code);
    }
    // A request the module (or a script) sends with invalid args.
    const bad = await rpc({ protocolVersion: 1, command: 'check', args: { readDataPercent: 200 } }, { env: { ...fx.env, ...env } });
    expect(onlyError(bad).code).toBe('AZB_ARGS_INVALID');
    for (const [args, e, code] of attempts.slice(4)) {
      const r = await fx.az(args, { env: e });
      expect(onlyError(r).code, args.join(' ')).toBe(code);
    }
    const jobs = (await jobsOf(fx)).reverse();
    expect(jobs.map((j) => [j['operation'], j['status'], (j['errors'] as { code: string }[])[0]?.code])).toEqual([
      ['Backup', 'Failed', 'AZB_PASSPHRASE_WRONG'], ['Backup', 'Failed', 'AZB_PASSPHRASE_REQUIRED'], ['Backup', 'Failed', 'AZB_VAULT_NOT_FOUND'],
      ['Backup', 'Failed', 'AZB_ARGS_INVALID'], ['Check', 'Failed', 'AZB_ARGS_INVALID'], ['Backup', 'Failed', 'AZB_POLICY_NOT_FOUND'],
    ]);
    expect(jobs[0]!['vault']).toBe(fx.vault);
    expect(jobs[5]!['policy']).toBe('no-such-policy');
    // A backup that works is one job, not two.
    expect((await fx.az(['backup', src], { env })).code).toBe(0);
    expect((await jobsOf(fx))[0]).toMatchObject({ operation: 'Backup', status: 'Completed' });
    expect(await jobsOf(fx)).toHaveLength(7);

    const lines = log.lines();
    expect(lines).toHaveLength(7);
    // <11> is user.err, <14> user.info; the tag and the engine's pid; the job's ID, operation, result and code.
    expect(lines[0]).toMatch(new RegExp(`^<11>.*azbackup\\[\\d+\\]: job ${String(jobs[0]!['jobId'])} Backup Failed code=AZB_PASSPHRASE_WRONG vault=${fx.vault}$`));
    expect(lines[5]).toMatch(/job \S+ Backup Failed code=AZB_POLICY_NOT_FOUND policy=no-such-policy/);
    expect(lines[6]).toMatch(/^<14>.*: job \S+ Backup Completed vault=/);
    for (const l of lines) expect(l).not.toContain('not the passphrase');
  });
});
