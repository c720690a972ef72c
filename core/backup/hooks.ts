// Pre and post commands of a backup (README "Application-consistent backups"): the admin's programs
// that quiesce an application before its files are read and let it go on afterwards, as VSS writers
// do on Windows. Each runs as an executable with arguments (no shell, as -FromCommand), in a process
// group of its own with a time-out; what it prints goes to the job's commands.log and to log events.
import { childEnvironment } from '../child-env.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendJobFile, jobFilePath } from '../jobs/job-files.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';

/** One pre or post command: an executable (on the PATH or a path) and its arguments. */
export interface HookCommand { command: string; arguments?: string[]; timeoutSeconds?: number }

/** The commands around one backup. */
export interface HookSpec { pre?: HookCommand; post?: HookCommand }

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 600;
export const MAX_HOOK_TIMEOUT_SECONDS = 86_400;
/** After SIGTERM to a timed-out command's group, this long before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** After the command exits, this long for its output pipes to end (a background child may hold them). */
const DRAIN_MS = 2_000;
/** Lines of output a failure message quotes. */
const TAIL_LINES = 5;
/** The longest piece of output held while waiting for its line end. */
const MAX_LINE = 64 * 1024;
/** Log events per command (the job's commands.log gets every line). */
const MAX_LOG_EVENTS = 1_000;

/**
 * How the backup went when the post command runs, for its AZBACKUP_STATUS: SnapshotTaken (the sources
 * are frozen in snapshots, which are read next: the application may resume), Succeeded (the data was
 * read), Failed, or Cancelled (the backup was stopped).
 */
export type BackupPhaseStatus = 'SnapshotTaken' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface HookContext { sink: EventSink; signal: AbortSignal; jobId: string; policy?: string }

export interface Hooks {
  /** Runs the post command (once; later calls do nothing). A failure is the warning AZB_POST_COMMAND_FAILED; it never throws. */
  runPost(status: BackupPhaseStatus): Promise<void>;
}

/** Whether a spec has any command. */
export function hasHooks(spec: HookSpec | undefined): spec is HookSpec {
  return spec?.pre !== undefined || spec?.post !== undefined;
}

/** The command line as shown in messages and the log (arguments quoted when they hold spaces). */
export function commandLine(c: HookCommand): string {
  return [c.command, ...(c.arguments ?? [])].map((a) => (/[\s"']/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ');
}

/**
 * Checks a pre or post command given by the caller or a policy: a name or path without NUL, a time-out
 * of 1 s to 24 h. Throws AZB_ARGS_INVALID (or `code`) naming `target`.
 */
export function checkHookCommand(c: HookCommand, target: string, code: 'AZB_ARGS_INVALID' | 'AZB_POLICY_INVALID' = 'AZB_ARGS_INVALID'): void {
  if (c.command.trim() === '' || c.command.includes('\0') || (c.arguments ?? []).some((a) => a.includes('\0'))) {
    throw new AzbError(code, `The ${target} '${c.command}' is not a usable command.`, { target, hint: 'Give the name of a program on the PATH, or the full path of an executable, and its arguments separately (no shell is involved).' });
  }
  const t = c.timeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > MAX_HOOK_TIMEOUT_SECONDS)) {
    throw new AzbError(code, `The time-out of the ${target} is 1 to ${MAX_HOOK_TIMEOUT_SECONDS} seconds; ${t} was given.`, { target, hint: `Leave it out for the default of ${DEFAULT_HOOK_TIMEOUT_SECONDS} seconds (10 minutes).` });
  }
}

/**
 * The environment of a pre or post command: the engine's, without AzBackup's own variables and other
 * secrets (the passphrase, storage keys, Entra ID secrets, systemd credentials), plus the job's context.
 */
export function hookEnvironment(phase: 'pre' | 'post', ctx: HookContext, status?: BackupPhaseStatus): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = childEnvironment();
  env['AZBACKUP_JOB_ID'] = ctx.jobId;
  env['AZBACKUP_PHASE'] = phase;
  if (ctx.policy) env['AZBACKUP_POLICY'] = ctx.policy;
  if (status) env['AZBACKUP_STATUS'] = status;
  return env;
}

interface HookOutcome {
  ok: boolean;
  /** Why it failed, for the message: "exit code 3", "was not found", "timed out after 600 s", … */
  reason: string;
  notFound: boolean;
  cancelled: boolean;
  tail: string[];
}

/** Kills the command's whole process group (POSIX), or its process tree (Windows). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  if (process.platform === 'win32') {
    // Not run here: Windows has no process groups; taskkill /T ends the tree.
    try { spawn('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => undefined); } catch { /* gone */ }
    return;
  }
  try { process.kill(-child.pid, signal); } catch { /* the group has ended */ }
}

/** Runs one command to its end, its output going to the job's log; a `signal` abort kills it. */
async function runHook(phase: 'pre' | 'post', c: HookCommand, ctx: HookContext, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<HookOutcome> {
  const timeoutS = c.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS;
  const line = commandLine(c);
  // Log writes are chained, so the file keeps the order the lines came in.
  let logWrites: Promise<unknown> = Promise.resolve();
  const writeLog = (text: string) => {
    logWrites = logWrites.then(() => appendJobFile(ctx.jobId, 'commands.log', text)).catch((err: Error) => {
      ctx.sink.log(`The job's command log cannot be written: ${err.message}`);
    });
  };
  const started = Date.now();
  writeLog(`=== ${new Date(started).toISOString()} ${phase} command: ${line} (time-out ${timeoutS} s)\n`);
  ctx.sink.log(`Running the ${phase} command: ${line}`);

  const tail: string[] = [];
  let events = 0;
  const onLine = (stream: 'stdout' | 'stderr', text: string) => {
    writeLog(`${phase} ${stream}: ${text}\n`);
    tail.push(text.length > 300 ? `${text.slice(0, 300)}…` : text);
    if (tail.length > TAIL_LINES) tail.shift();
    if (events++ < MAX_LOG_EVENTS) ctx.sink.log(`${phase} command: ${text}`);
    else if (events === MAX_LOG_EVENTS + 1) ctx.sink.log(`${phase} command: (more output in the job's commands.log)`);
  };

  const child = spawn(c.command, c.arguments ?? [], {
    stdio: ['ignore', 'pipe', 'pipe'], env, windowsHide: true,
    // A group of its own: a time-out kills all it started, and Ctrl+C at the terminal does not reach it
    // (the engine decides when it stops).
    detached: process.platform !== 'win32',
  });
  const drained: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const s = child[stream]!;
    let partial = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop()!;
      // Output without line ends (binary, a progress bar) is logged in pieces, not held whole.
      if (partial.length > MAX_LINE) { parts.push(partial); partial = ''; }
      for (const p of parts) onLine(stream, p);
    });
    drained.push(new Promise((resolve) => {
      const done = () => { if (partial !== '') { onLine(stream, partial); partial = ''; } resolve(); };
      s.on('end', done);
      s.on('close', done);
      s.on('error', done);
    }));
  }

  let timedOut = false;
  let cancelled = false;
  let escalate: NodeJS.Timeout | undefined;
  const stop = () => {
    killGroup(child, 'SIGTERM');
    escalate ??= setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => { timedOut = true; stop(); }, timeoutS * 1000);
  const onAbort = () => { cancelled = true; stop(); };
  if (signal?.aborted) onAbort(); else signal?.addEventListener('abort', onAbort, { once: true });

  const end = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
    child.on('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  // What the command left running in its group may still hold the pipes: wait a little, then let go.
  await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
  child.stdout?.destroy();
  child.stderr?.destroy();
  if (escalate) {
    // A timed-out or stopped group is made sure of: whatever is left of it gets SIGKILL now.
    clearTimeout(escalate);
    killGroup(child, 'SIGKILL');
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const notFound = end.error?.code === 'ENOENT';
  let reason: string;
  if (end.error) reason = notFound ? 'was not found' : `could not be started (${end.error.code ?? end.error.message})`;
  else if (timedOut) reason = `timed out after ${timeoutS} s and was killed with its process group`;
  else if (cancelled) reason = 'was stopped because the backup was stopped';
  else if (end.signal) reason = `was ended by ${end.signal}`;
  else reason = `exit code ${String(end.code)}`;
  const ok = !end.error && !timedOut && !cancelled && end.code === 0;
  writeLog(`=== ${new Date().toISOString()} ${phase} command ${ok ? 'succeeded' : reason === `exit code ${String(end.code)}` ? `failed with ${reason}` : reason} after ${seconds} s\n`);
  await logWrites;
  return { ok, reason, notFound, cancelled, tail };
}

function quoteTail(tail: readonly string[]): string {
  return tail.length > 0 ? ` Its last output: ${tail.join(' | ')}` : ' It printed nothing.';
}

/**
 * Runs the pre command (when given) and returns the handle for the post command. When the pre command
 * fails (non-zero exit, not found, time-out) or the backup is stopped while it runs, the post command
 * runs at once and this throws AZB_PRE_COMMAND_FAILED (AZB_CANCELLED when stopped): nothing is read.
 * Call it inside the job and the backup lock, before the sources are walked.
 */
export async function startHooks(ctx: HookContext, spec: HookSpec | undefined): Promise<Hooks> {
  let postDone = false;
  const hooks: Hooks = {
    async runPost(status) {
      if (postDone || !spec?.post) return;
      postDone = true;
      const post = spec.post;
      try {
        // Not stopped by the backup's cancel: the application must be let go whatever happened.
        const r = await runHook('post', post, ctx, hookEnvironment('post', ctx, status));
        if (!r.ok) {
          ctx.sink.warning('AZB_POST_COMMAND_FAILED', `The post command '${commandLine(post)}' ${r.reason === 'was not found' ? r.reason : `failed (${r.reason})`}; the backup itself is not affected. Check that the application is running normally.${quoteTail(r.tail)} Whole output: ${jobFilePath(ctx.jobId, 'commands.log')}.`, post.command);
        }
      } catch (err) {
        ctx.sink.warning('AZB_POST_COMMAND_FAILED', `The post command '${commandLine(post)}' could not be run: ${(err as Error).message}. Check that the application is running normally.`, post.command);
      }
    },
  };
  const pre = spec?.pre;
  if (!pre) return hooks;
  let r: HookOutcome;
  try {
    r = await runHook('pre', pre, ctx, hookEnvironment('pre', ctx), ctx.signal);
  } catch (err) {
    await hooks.runPost('Failed');
    throw err;
  }
  if (r.ok) return hooks;
  await hooks.runPost(r.cancelled ? 'Cancelled' : 'Failed');
  if (r.cancelled) throw new AzbError('AZB_CANCELLED', `The backup was stopped while its pre command '${commandLine(pre)}' ran; the command was stopped, the post command ran, and nothing was backed up.`);
  const log = jobFilePath(ctx.jobId, 'commands.log');
  throw new AzbError('AZB_PRE_COMMAND_FAILED', `The pre command '${commandLine(pre)}' ${r.reason === 'was not found' ? r.reason : `failed (${r.reason})`}; nothing was backed up.${quoteTail(r.tail)}`, {
    target: pre.command,
    hint: r.notFound
      ? 'Give the full path of the executable, or check the PATH of the account the backup runs as (scheduled runs have a short PATH).'
      : r.reason.startsWith('timed out')
        ? `Make the command finish sooner, or give it a longer time-out (-PreCommandTimeoutSeconds / --pre-timeout). Its output is in ${log}.`
        : `Its whole output is in ${log}; run the command by hand as the account the backup runs as to see why it fails.`,
  });
}
