// Pre and post commands of a backup (core/backup/hooks.ts) through the built engine: real scripts run
// by /bin/sh, real process groups, the job history and its commands.log.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, startEngine, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

/** Whether a process exists and is not a zombie (a killed child of a reaped shell may wait for init). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

/** A shell script file (the hooks run executables with arguments, no shell: the script is one). */
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

/** The post script used throughout: records its phase, status and job id in `marker`. */
function postScript(dir: string, marker: string): string {
  return script(dir, 'post.sh', `echo "post $AZBACKUP_PHASE $AZBACKUP_STATUS $AZBACKUP_JOB_ID" >> '${marker}'; echo "resumed the app"`);
}

async function jobs(fx: VaultFixture): Promise<Record<string, unknown>[]> {
  const run = await fx.az(['jobs']);
  expect(run.code, run.stdout).toBe(0);
  return run.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
}

function logLines(run: EngineRun): string[] {
  return run.events.filter((e) => e.type === 'log').map((e) => String((e as { message: string }).message));
}

/** Vault files other than locks (a failed backup must add none). */
function vaultData(fx: VaultFixture): string[] {
  return listTree(fx.vault).filter((f) => !f.includes('/locks/'));
}

async function sourceWithFile(fx: VaultFixture): Promise<string> {
  const src = join(fx.root, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'data.txt'), 'application data');
  return src;
}

describe('pre and post commands', () => {
  it('a pre command that fails stops the backup before anything is read; the post command runs; the job is Failed with the output in its log', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    const pre = script(fx.root, 'pre.sh', 'echo "checking the database"; echo "database is in recovery" >&2; exit 3');
    const before = vaultData(fx);
    const run = await fx.az(['backup', src, '--pre-command', pre, '--post-command', postScript(fx.root, marker)]);
    expect(run.code).toBe(1);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_PRE_COMMAND_FAILED');
    expect(err.message).toContain('exit code 3');
    expect(err.message).toContain('database is in recovery'); // the last lines of its output
    expect(err.message).toContain('nothing was backed up');
    expect(err.hint).toContain('commands.log');
    expect(vaultData(fx)).toEqual(before); // no pack, index or point
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(job).toMatchObject({ status: 'Failed', errors: [{ code: 'AZB_PRE_COMMAND_FAILED' }] });
    expect(readFileSync(marker, 'utf8')).toBe(`post post Failed ${String(job!['jobId'])}\n`);
    const log = readFileSync(String(job!['commandLogPath']), 'utf8');
    expect(log).toContain('pre stdout: checking the database');
    expect(log).toContain('pre stderr: database is in recovery');
    expect(log).toContain('pre command failed with exit code 3');
    expect(log).toContain('post stdout: resumed the app');
    expect(String(job!['commandLogPath'])).toBe(join(fx.home, 'job-files', String(job!['jobId']), 'commands.log'));
    expect(statSync(String(job!['commandLogPath'])).mode & 0o777).toBe(0o600); // private, as the job history
    // The output is also in the log events (Write-Verbose in PowerShell).
    expect(logLines(run)).toEqual(expect.arrayContaining(['pre command: checking the database', 'pre command: database is in recovery', 'post command: resumed the app']));
  });

  it('a pre command that is not found fails the backup with AZB_PRE_COMMAND_FAILED, and the post command still runs', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    const run = await fx.az(['backup', src, '--pre-command', join(fx.root, 'no-such-program'), '--post-command', postScript(fx.root, marker)]);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_PRE_COMMAND_FAILED');
    expect(err.message).toContain('was not found');
    expect(err.hint).toContain('full path');
    expect(readFileSync(marker, 'utf8')).toMatch(/^post post Failed /);
  });

  it('a pre command that hangs is killed with its whole process group at its time-out; the post command runs', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    const pids = join(fx.root, 'pids');
    // The script starts a grandchild in its group, then waits: both must be gone after the time-out.
    const pre = script(fx.root, 'hang.sh', `sleep 300 & echo $! > '${pids}.child'; echo $$ > '${pids}.shell'; echo "waiting for the lock"; wait`);
    const before = vaultData(fx);
    const run = await fx.az(['backup', src, '--pre-command', pre, '--pre-timeout', '2', '--post-command', postScript(fx.root, marker)]);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_PRE_COMMAND_FAILED');
    expect(err.message).toContain('timed out after 2 s');
    expect(err.message).toContain('waiting for the lock');
    expect(err.hint).toContain('--pre-timeout');
    const shell = Number(readFileSync(`${pids}.shell`, 'utf8'));
    const child = Number(readFileSync(`${pids}.child`, 'utf8'));
    expect(shell).toBeGreaterThan(1);
    expect(child).toBeGreaterThan(1);
    expect(alive(shell)).toBe(false);
    expect(alive(child)).toBe(false);
    expect(readFileSync(marker, 'utf8')).toMatch(/^post post Failed /);
    expect(vaultData(fx)).toEqual(before);
  });

  it('runs the pre command before the walk (what it writes is backed up), the post command after the read, with the job context and without secrets in the environment', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    // The "dump" the pre command writes into the source must be in the point: the walk starts after it.
    const pre = script(fx.root, 'pre.sh', `echo "dump of $AZBACKUP_JOB_ID" > '${join(src, 'dump.sql')}'; env`);
    const secretEnv = { AZURE_CLIENT_SECRET: 'entra-secret-value-123', AZBACKUP_STORAGE_KEY: 'storage-key-value-456' };
    const run = await fx.az(['backup', src, '--pre-command', pre, '--post-command', postScript(fx.root, marker), '--post-arg', 'ignored argument'], { env: secretEnv });
    expect(run.code, run.stdout).toBe(0);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ filesNew: 2 });
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(job!['status']).toBe('Completed');
    const jobId = String(job!['jobId']);
    expect(readFileSync(marker, 'utf8')).toBe(`post post Succeeded ${jobId}\n`);
    const restored = join(fx.root, 'restored');
    const back = await fx.az(['restore', 'latest', '--target', restored]);
    expect(back.code, back.stdout).toBe(0);
    expect(readFileSync(join(restored, src, 'dump.sql'), 'utf8')).toBe(`dump of ${jobId}\n`);
    // The environment the pre command printed: the job's context, none of AzBackup's secrets.
    const log = readFileSync(String(job!['commandLogPath']), 'utf8');
    expect(log).toContain(`pre stdout: AZBACKUP_JOB_ID=${jobId}`);
    expect(log).toContain('pre stdout: AZBACKUP_PHASE=pre');
    expect(log).toContain('pre stdout: PATH='); // the rest of the environment is kept
    for (const secret of [fx.passphrase, 'entra-secret-value-123', 'storage-key-value-456']) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/AZBACKUP_(PASSPHRASE|HOME|CACHE|STORAGE_KEY)=|AZURE_CLIENT_SECRET=/);
    expect(log).toMatch(/post command: \S+post\.sh "ignored argument" \(time-out 600 s\)/);
    expect(run.stdout).not.toContain(fx.passphrase);
  });

  it('a failed post command is a warning: the point is made and the job ends CompletedWithWarnings', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const post = script(fx.root, 'post.sh', 'echo "service did not start" >&2; exit 7');
    const run = await fx.az(['backup', src, '--post-command', post]);
    expect(run.code, run.stdout).toBe(3);
    resultOf(run, 'RecoveryPoint');
    const warning = run.events.find((e) => e.type === 'warning' && (e as { code: string }).code === 'AZB_POST_COMMAND_FAILED') as { message: string } | undefined;
    expect(warning?.message).toContain('exit code 7');
    expect(warning?.message).toContain('service did not start');
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(job).toMatchObject({ status: 'CompletedWithWarnings', warningList: [{ code: 'AZB_POST_COMMAND_FAILED' }] });
  });

  it('the post command runs when the backup fails after the pre command succeeded', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    // The source passes the check, then goes away before the walk.
    const pre = script(fx.root, 'pre.sh', `rm -rf '${src}'`);
    const run = await fx.az(['backup', src, '--pre-command', pre, '--post-command', postScript(fx.root, marker)]);
    expect(run.code).toBe(1);
    expect(onlyError(run).code).toBe('AZB_SOURCE_NOT_FOUND');
    expect(readFileSync(marker, 'utf8')).toMatch(/^post post Failed /);
  });

  it('the post command runs when the backup is stopped during the read (SIGTERM), with AZBACKUP_STATUS=Cancelled', async () => {
    const fx = await registeredServer();
    const marker = join(fx.root, 'post.marker');
    const preDone = join(fx.root, 'pre.done');
    const pre = script(fx.root, 'pre.sh', `touch '${preDone}'`);
    // A stream backup reads stdin until it ends: the engine is certainly reading when it is stopped.
    const engine = startEngine(['backup', '--stdin', '--stdin-name', 'db.sql', '--pre-command', pre, '--post-command', postScript(fx.root, marker), '--json'], fx.env);
    engine.write(Buffer.from('first part of the dump\n'));
    await expect.poll(() => existsSync(preDone), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => engine.stdout().includes('Reading') || engine.stdout().includes('"progress"'), { timeout: 30_000 }).toBe(true);
    engine.child.kill('SIGTERM');
    const end = await engine.done;
    expect(end.code).toBe(5);
    expect(readFileSync(marker, 'utf8')).toMatch(/^post post Cancelled /);
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(job!['status']).toBe('Cancelled');
  });

  it('the post command runs when the backup is stopped while the pre command runs; the pre command is killed', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'post.marker');
    const pidFile = join(fx.root, 'pre.pid');
    const pre = script(fx.root, 'pre.sh', `echo $$ > '${pidFile}'; sleep 300`);
    const engine = startEngine(['backup', src, '--pre-command', pre, '--post-command', postScript(fx.root, marker), '--json'], fx.env);
    engine.end();
    await expect.poll(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), { timeout: 30_000 }).toBe(true);
    const prePid = Number(readFileSync(pidFile, 'utf8'));
    engine.child.kill('SIGTERM');
    const end = await engine.done;
    expect(end.code).toBe(5);
    expect(alive(prePid)).toBe(false);
    expect(readFileSync(marker, 'utf8')).toMatch(/^post post Cancelled /);
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(job).toMatchObject({ status: 'Cancelled', errors: [{ code: 'AZB_CANCELLED' }] });
  });

  it('keeps all of a long output without line ends in the log, and quotes only a short tail in the error', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const pre = script(fx.root, 'pre.sh', "head -c 300000 /dev/zero | tr '\\0' x; exit 1");
    const run = await fx.az(['backup', src, '--pre-command', pre]);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_PRE_COMMAND_FAILED');
    expect(err.message).toContain('xxxxxxxx');
    expect(err.message.length).toBeLessThan(2_000);
    const [job] = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    const log = readFileSync(String(job!['commandLogPath']), 'utf8');
    const output = log.split('\n').filter((l) => l.startsWith('pre stdout: ')).map((l) => l.slice('pre stdout: '.length));
    expect(output.length).toBeGreaterThan(1); // held in pieces, not as one 300 KB line
    expect(output.join('')).toBe('x'.repeat(300_000));
  });

  it('refuses bad pre and post command arguments before anything runs', async () => {
    const fx = await registeredServer();
    const src = await sourceWithFile(fx);
    const marker = join(fx.root, 'ran');
    const pre = script(fx.root, 'pre.sh', `touch '${marker}'`);
    const zero = await fx.az(['backup', src, '--pre-command', pre, '--pre-timeout', '0']);
    expect(onlyError(zero)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'preCommand' });
    expect(onlyError(zero).message).toContain('1 to 86400 seconds');
    const long = await fx.az(['backup', src, '--post-command', pre, '--post-timeout', '1.5']);
    expect(onlyError(long).code).toBe('AZB_ARGS_INVALID');
    expect(onlyError(long).message).toContain('postCommand/timeoutSeconds must be integer');
    const orphan = await fx.az(['backup', src, '--pre-arg', 'x']);
    expect(onlyError(orphan).code).toBe('AZB_USAGE');
    const blank = await fx.az(['backup', src, '--pre-command', ' ']);
    expect(onlyError(blank)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'preCommand' });
    expect(existsSync(marker)).toBe(false);
    // Each refusal is recorded as a job that failed before it started; none ran a command.
    const refused = (await jobs(fx)).filter((j) => j['operation'] === 'Backup');
    expect(refused.length).toBeGreaterThan(0);
    for (const job of refused) {
      expect(job).toMatchObject({ status: 'Failed', commandLogPath: null });
      expect((job['errors'] as { code: string }[])[0]!.code).toMatch(/^AZB_(ARGS_INVALID|USAGE)$/);
    }
  });
});
