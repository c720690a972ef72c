// Job history (node:sqlite in the configuration home): every backup, restore, check and prune is a job
// with a status, times, statistics and errors; a running job can be stopped from another process.
import { DatabaseSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { HOME_DIR_MODE, HOME_FILE_MODE, homeDir, secureHomeSync } from '../config/home.js';
import { AzbError } from '../protocol/errors.js';
import { pidAlive } from '../pid-alive.js';
import type { KeptWarning } from '../protocol/events.js';
import { makeDirsSync } from '../fs/make-dirs.js';
import { jobFilePath } from './job-files.js';
import { noteJobStarted } from './started.js';
import { reportToSystemLog } from './system-log.js';

/** Job states, as the MARS agent names them. */
export type JobStatus = 'InProgress' | 'Completed' | 'CompletedWithWarnings' | 'Failed' | 'Cancelled';

/** One job as returned to the user. */
export interface JobRecord {
  jobId: string; operation: string; status: JobStatus; vault: string; serverId: string | null;
  startTime: string; endTime: string | null; pid: number; hostname: string;
  /** The policy whose run this is (a backup by a policy), else null. */
  policy: string | null;
  /** processIdentity() of the engine that ran it; internal, not shown to users. */
  process: string | null;
  stats: Record<string, unknown> | null; errors: { code: string; message: string }[]; warnings: number;
  /** The first warnings of the job (up to WARNINGS_KEPT), e.g. which files a backup skipped. */
  warningList: KeptWarning[];
  /**
   * The job's list of every path it skipped (core/backup/skip-report.ts), null when it has none. The
   * list lives in that file, not in the history: a million skipped paths would bloat every listing.
   */
  skippedFilesPath: string | null;
}

let db: DatabaseSync | undefined;

function open(): DatabaseSync {
  if (db) return db;
  const dir = homeDir();
  try {
    makeDirsSync(dir, HOME_DIR_MODE);
    secureHomeSync();
    const path = join(dir, 'jobs.db');
    privateFile(path);
    db = new DatabaseSync(path);
    // Several engine processes share the history: wait for each other's writes instead of failing.
    db.exec('PRAGMA busy_timeout = 10000');
    db.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, operation TEXT, status TEXT, vault TEXT, server_id TEXT, start_time TEXT, end_time TEXT,
        pid INTEGER, hostname TEXT, stats TEXT, errors TEXT, warnings INTEGER);
      CREATE INDEX IF NOT EXISTS jobs_start ON jobs(start_time);`);
    // Added after the first release of the table: which process instance runs the job (see
    // processIdentity), its first warnings, and the policy it runs for. Two engines may add a column at
    // once: the loser is fine.
    const columns = db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[];
    for (const column of ['process', 'warning_list', 'policy']) {
      if (columns.some((c) => c.name === column)) continue;
      try { db.exec(`ALTER TABLE jobs ADD COLUMN ${column} TEXT`); } catch (err) { if (!/duplicate column/i.test((err as Error).message)) throw err; }
    }
    // SQLite makes jobs.db-wal and -shm with the database's mode; those of an earlier engine may be wider.
    for (const extra of ['-wal', '-shm']) privateFile(path + extra, false);
  } catch (err) {
    throw new AzbError('AZB_HOME_UNUSABLE', `The job history in ${dir} cannot be opened: ${(err as Error).message}.`, { target: dir, hint: 'Set AZBACKUP_HOME to a folder this account can write.' });
  }
  return db;
}

/**
 * Makes a file of the home 0600 whatever the umask: created that way when `create`, narrowed when it
 * exists (SQLite would create jobs.db with 0644 less the umask).
 */
function privateFile(path: string, create = true): void {
  if (process.platform === 'win32') return;
  if (create) closeSync(openSync(path, 'a', HOME_FILE_MODE));
  try { chmodSync(path, HOME_FILE_MODE); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
}

function toRecord(r: Record<string, unknown>): JobRecord {
  return {
    jobId: String(r['id']), operation: String(r['operation']), status: r['status'] as JobStatus, vault: String(r['vault']),
    serverId: (r['server_id'] as string | null) ?? null, startTime: String(r['start_time']), endTime: (r['end_time'] as string | null) ?? null,
    pid: Number(r['pid']), hostname: String(r['hostname']), process: (r['process'] as string | null) ?? null, policy: (r['policy'] as string | null) ?? null,
    stats: r['stats'] ? JSON.parse(String(r['stats'])) as Record<string, unknown> : null,
    errors: r['errors'] ? JSON.parse(String(r['errors'])) as { code: string; message: string }[] : [],
    warnings: Number(r['warnings'] ?? 0),
    warningList: r['warning_list'] ? JSON.parse(String(r['warning_list'])) as KeptWarning[] : [],
    skippedFilesPath: skippedFile(String(r['id'])),
  };
}

function skippedFile(jobId: string): string | null {
  const path = jobFilePath(jobId, 'skipped.txt');
  return existsSync(path) ? path : null;
}

/**
 * What tells a process apart from a later one that got the same pid: on Linux the boot ID and the
 * process's start time in clock ticks since boot (/proc/<pid>/stat, field 22). Undefined where that
 * cannot be read (other systems, or the process is gone); the pid alone is then trusted.
 */
export function processIdentity(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

/** Records the start of a job and returns its ID. */
export function startJob(operation: string, vault: string, serverId: string | null, policy: string | null = null): string {
  const id = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
  open().prepare('INSERT INTO jobs (id, operation, status, vault, server_id, start_time, pid, hostname, warnings, process, policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)')
    .run(id, operation, 'InProgress', vault, serverId, new Date().toISOString(), process.pid, hostname(), processIdentity(process.pid) ?? null, policy);
  noteJobStarted();
  return id;
}

/** Records the end of a job. */
export function finishJob(id: string, status: JobStatus, stats: Record<string, unknown> | null, errors: { code: string; message: string }[], warnings: number,
  warningList?: readonly KeptWarning[]): void {
  // Without a warning list (an abandoned job marked Failed), the one recorded so far stays.
  open().prepare('UPDATE jobs SET status = ?, end_time = ?, stats = ?, errors = ?, warnings = ?, warning_list = COALESCE(?, warning_list) WHERE id = ?')
    .run(status, new Date().toISOString(), stats ? JSON.stringify(stats) : null, JSON.stringify(errors), warnings, warningList ? JSON.stringify(warningList) : null, id);
  const row = open().prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  if (row) reportToSystemLog(toRecord(row));
}

/**
 * Records an attempt that failed before its job could start (a wrong passphrase, an unreachable vault, a
 * bad request): a job of its own, Failed with the error's code, so scheduled failures are seen too.
 */
export function recordFailedAttempt(operation: string, vault: string, policy: string | null, error: { code: string; message: string }): string {
  const id = startJob(operation, vault, null, policy);
  finishJob(id, error.code === 'AZB_CANCELLED' ? 'Cancelled' : 'Failed', null, [error], 0, []);
  return id;
}

/** Whether the engine process that started a job still runs: its pid, and the same process instance. */
function running(pid: number, identity: string | null): boolean {
  if (!pidAlive(pid)) return false;
  if (identity === null) return true;
  const now = processIdentity(pid);
  return now === undefined || now === identity;
}

/** Jobs, newest first; jobs whose process died are reported (and recorded) as Failed. */
export function listJobs(o: { previous?: number; status?: JobStatus; jobId?: string } = {}): JobRecord[] {
  const d = open();
  const rows = (o.jobId
    ? d.prepare('SELECT * FROM jobs WHERE id = ?').all(o.jobId)
    : d.prepare('SELECT * FROM jobs ORDER BY start_time DESC, id DESC').all()) as Record<string, unknown>[];
  const jobs = rows.map(toRecord).map((j) => {
    if (j.status === 'InProgress' && j.hostname === hostname() && !running(j.pid, j.process)) {
      finishJob(j.jobId, 'Failed', j.stats, [{ code: 'AZB_JOB_ABANDONED', message: 'The engine process ended without finishing the job.' }], j.warnings);
      return { ...j, status: 'Failed' as JobStatus, errors: [{ code: 'AZB_JOB_ABANDONED', message: 'The engine process ended without finishing the job.' }] };
    }
    return j;
  });
  const filtered = o.status ? jobs.filter((j) => j.status === o.status) : jobs;
  return o.previous !== undefined ? filtered.slice(0, o.previous) : filtered;
}

/** Asks a running job to stop (SIGTERM to its engine process); it ends as Cancelled at a safe point. */
export function stopJob(jobId: string): JobRecord {
  const job = listJobs({ jobId })[0];
  if (!job) throw new AzbError('AZB_JOB_NOT_FOUND', `No job ${jobId}.`, { target: jobId, hint: 'List jobs with Get-AzBackupJob / azbackup jobs.' });
  if (job.status !== 'InProgress') return job;
  if (job.hostname !== hostname()) throw new AzbError('AZB_JOB_NOT_FOUND', `Job ${jobId} runs on ${job.hostname}; stop it there.`, { target: jobId });
  // listJobs has just checked that the job's own process still runs (a pid reused by another program
  // after a crash or reboot would have made it Failed); the signal goes to that process only.
  try { process.kill(job.pid, 'SIGTERM'); } catch { /* ended meanwhile */ }
  return job;
}

/** Closes the database (tests). */
export function closeJobs(): void {
  db?.close();
  db = undefined;
}
