// Runs one command with validated args and turns every failure into exactly one `error` event.
// Both entry points (rpc request and CLI) come through here, so behaviour is the same for both.
import type { Command } from '../commands/command.js';
import { AzbError, toAzbError } from './errors.js';
import type { EventSink } from './events.js';
import { jobsStartedHere } from '../jobs/started.js';
import { describeErrors, validator } from './schemas.js';
import { readSecretFile } from '../config/secret-file.js';

export interface RunOptions {
  secrets?: Record<string, string>;
  /**
   * Secrets to read from files, by secret name → path (rpc `secretFiles`: the module's -PassphraseFile).
   * Read here, like the CLI's --passphrase-file: owner-only files, one trailing newline dropped.
   */
  secretFiles?: Record<string, string>;
  debug?: boolean;
  signal?: AbortSignal;
  /** The CLI's stdout when a command's data goes there (restore --to-tar -); see CommandContext.dataOut. */
  dataOut?: import('node:stream').Writable;
  stdin?: AsyncIterable<Uint8Array>;
}

/** Signals this close to the first one are the same request (Ctrl+C: the terminal's SIGINT and the module's SIGTERM). */
const SAME_REQUEST_MS = 1000;

/**
 * Aborted on the first SIGINT or SIGTERM; a second one, a second or more later, ends the process at once
 * (a running job is then recorded as Cancelled on the way out: see asJob).
 */
export function processSignal(): AbortSignal {
  const controller = new AbortController();
  let first = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (Date.now() - first < SAME_REQUEST_MS) return;
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    first = Date.now();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Validates `args` against the command's schema, runs it, and returns the process exit code. */
export async function runCommand(command: Command<never>, args: unknown, sink: EventSink, opts: RunOptions = {}): Promise<number> {
  const jobsBefore = command.job ? jobsStartedHere() : 0;
  try {
    const validate = validator(command.argsSchema);
    if (!validate(args)) {
      throw new AzbError('AZB_ARGS_INVALID', `Invalid arguments for '${command.name}': ${describeErrors(validate.errors, 'args')}.`, {
        target: command.name, hint: `See 'azbackup ${command.name.replace('.', ' ')} --help'.`,
      });
    }
    const secrets = { ...opts.secrets };
    for (const name of [...Object.keys(secrets), ...Object.keys(opts.secretFiles ?? {})]) {
      if (!command.secrets.includes(name)) {
        throw new AzbError('AZB_ARGS_INVALID', `Command '${command.name}' takes no secret named '${name}'.`, { target: command.name });
      }
    }
    for (const [name, path] of Object.entries(opts.secretFiles ?? {})) {
      const label = name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
      if (secrets[name] !== undefined) {
        throw new AzbError('AZB_SECRET_SOURCE', `The ${label} was given twice: as a value and in the file ${path}.`, { target: path, hint: `Give the ${label} one way only (-Passphrase or -PassphraseFile).` });
      }
      secrets[name] = await readSecretFile(path, label, { ownerOnly: true });
    }
    const ctx = { sink, secrets, debug: opts.debug === true, signal: opts.signal ?? new AbortController().signal, ...(opts.stdin ? { stdin: opts.stdin } : {}), ...(opts.dataOut ? { dataOut: opts.dataOut } : {}) };
    const code = await command.run(ctx, args as never);
    return code;
  } catch (err) {
    const e = toAzbError(err);
    if (command.job && jobsStartedHere() === jobsBefore) await recordAttempt(command.job, args, e, sink);
    sink.error(e, opts.debug && err instanceof Error ? err.stack : undefined);
    return e.exitCode;
  }
}

/** Records a job command that failed before its job started; a home that cannot record it changes nothing. */
async function recordAttempt(job: NonNullable<Command['job']>, args: unknown, e: AzbError, sink: EventSink): Promise<void> {
  const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
  const policy = job.policyArg && typeof a[job.policyArg] === 'string' ? String(a[job.policyArg]) : null;
  try {
    let vault = typeof a['vault'] === 'string' ? String(a['vault']) : undefined;
    if (vault === undefined && policy) vault = (await import('../policy/store.js').then((m) => m.readPolicy(policy)).catch(() => undefined))?.vault;
    if (vault === undefined) {
      const regs = await import('../config/home.js').then((m) => m.listRegistrations()).catch(() => []);
      vault = regs.length === 1 ? regs[0]!.vault : '';
    }
    const { recordFailedAttempt } = await import('../jobs/jobs.js');
    const id = recordFailedAttempt(job.operation, vault, policy, { code: e.code, message: e.message });
    sink.log(`Job ${id} recorded: ${job.operation} failed before it started (${e.code}).`);
  } catch {
    // The error itself is reported; the history could not take it (an unusable home, say).
  }
}
