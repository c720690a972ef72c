// Every finished job also goes to the system log, where admins already watch (journald, rsyslog): one
// line with the job ID, the operation, the result and the error code. Through util-linux's `logger`,
// to /dev/log unless AZBACKUP_SYSLOG_SOCKET names another socket ('off': none). Where there is no such
// socket or no logger (containers, Windows), nothing is sent. Nothing secret is in the line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { JobRecord } from './jobs.js';

const LOGGERS = ['/usr/bin/logger', '/bin/logger'];

/** The syslog severity of a job's end. */
function severity(status: JobRecord['status']): 'err' | 'warning' | 'info' {
  if (status === 'Failed') return 'err';
  return status === 'Completed' ? 'info' : 'warning';
}

/** The line for a finished job (no secret: IDs, names, codes and the vault's location). */
export function systemLogLine(job: JobRecord): string {
  const parts = [`job ${job.jobId} ${job.operation} ${job.status}`];
  const code = job.errors[0]?.code;
  if (code) parts.push(`code=${code}`);
  if (job.warnings > 0) parts.push(`warnings=${job.warnings}`);
  if (job.policy) parts.push(`policy=${job.policy}`);
  if (job.vault) parts.push(`vault=${job.vault}`);
  return parts.join(' ');
}

/** Sends the line of a finished job to the system log, if there is one; never fails the job. */
export function reportToSystemLog(job: JobRecord): void {
  const socket = process.env['AZBACKUP_SYSLOG_SOCKET'] ?? '/dev/log';
  if (socket === 'off' || process.platform === 'win32' || !existsSync(socket)) return;
  const logger = LOGGERS.find((l) => existsSync(l));
  if (!logger) return;
  // The child gets no secret: an environment of its own, the line as one argument after --.
  spawnSync(logger, ['-t', 'azbackup', `--id=${process.pid}`, '-p', `user.${severity(job.status)}`, '-u', socket, '--', systemLogLine(job)], {
    stdio: 'ignore', timeout: 5000, env: { PATH: '/usr/bin:/bin' },
  });
}
