// `jobs`, `job stop`: the job history of this machine, and stopping a running job cleanly.
import { listJobs, stopJob, type JobRecord, type JobStatus } from '../jobs/jobs.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import type { Command } from './command.js';
import { existsSync } from 'node:fs';
import { jobFilePath } from '../jobs/job-files.js';

function jobData({ process: _process, ...j }: JobRecord): Record<string, unknown> {
  const commandLog = jobFilePath(j.jobId, 'commands.log');
  return { ...j, serverId: j.serverId ?? '', endTime: j.endTime ?? '', stats: j.stats ?? {}, commandLogPath: existsSync(commandLog) ? commandLog : null };
}

export const jobsCommand: Command<{ previous?: number; status?: JobStatus; jobId?: string }> = {
  name: 'jobs',
  argsSchema: 'azbackup:args.jobs',
  secrets: [],
  human: { item: (_k, d) => `${String(d['jobId'])}  ${String(d['operation']).padEnd(8)} ${String(d['status']).padEnd(22)} ${String(d['startTime'])}${d['skippedFilesPath'] ? `  skipped: ${String(d['skippedFilesPath'])}` : ''}` },
  async run(ctx, args) {
    const jobs = listJobs(args);
    if (args.jobId && jobs.length === 0) throw new AzbError('AZB_JOB_NOT_FOUND', `No job ${args.jobId}.`, { target: args.jobId, hint: 'List jobs with Get-AzBackupJob / azbackup jobs.' });
    for (const j of jobs) ctx.sink.item('Job', jobData(j));
    return 0;
  },
};

export const jobStopCommand: Command<{ jobId: string }> = {
  name: 'job.stop',
  argsSchema: 'azbackup:args.job.stop',
  secrets: [],
  async run(ctx, args) {
    const before = stopJob(args.jobId);
    if (before.status !== 'InProgress') {
      ctx.sink.warning('AZB_JOB_NOT_RUNNING', `Job ${args.jobId} (${before.operation}) is not running: it ended ${before.status}${before.endTime ? ` at ${before.endTime}` : ''}. Nothing was stopped.`, args.jobId);
    }
    // Wait (bounded) for the job to reach a final state, so the caller sees Cancelled.
    let now = before;
    for (let i = 0; i < 300 && now.status === 'InProgress'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = listJobs({ jobId: args.jobId })[0] ?? now;
    }
    ctx.sink.result('Job', jobData(now));
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
