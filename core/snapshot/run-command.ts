// Runs an admin's command (a snapshot provider's create or remove) with a time-out: no shell, the
// environment without AzBackup's secrets, in its own process group so that a command that hangs is
// killed with everything it started.
import { spawn } from 'node:child_process';

/** How a command ended. `timedOut`: it was killed after the time-out (or by the signal). */
export interface CommandOutcome {
  code: number | null; stdout: string; stderr: string; timedOut: boolean; cancelled: boolean;
  /** Set when it could not be started (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
}

/** The environment a child gets (snapshot commands, ssh to members): this process's, without AzBackup's own variables and secrets. */
export function scrubbedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^AZBACKUP_|^AZURE_CLIENT_SECRET$|^AZURE_CLIENT_CERTIFICATE_PASSWORD$|^AZURE_PASSWORD$|^AZURE_STORAGE_(KEY|CONNECTION_STRING|SAS_TOKEN)$|^CREDENTIALS_DIRECTORY$/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Most bytes of output kept of each stream (a provider prints a line of JSON; the rest is for the log). */
const OUTPUT_LIMIT = 64 * 1024;

/**
 * Runs `file args` and resolves when it has ended; never rejects. After `timeoutMs`, or when `signal`
 * fires, its process group gets SIGTERM, and SIGKILL 2 s later if anything of it is still there.
 */
export function runCommand(file: string, args: readonly string[], opts: { timeoutMs: number; env?: Record<string, string>; signal?: AbortSignal }): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let cancelled = false;
    let child;
    try {
      child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? scrubbedEnv(), detached: process.platform !== 'win32', windowsHide: true });
    } catch (err) {
      resolve({ code: null, stdout, stderr, timedOut, cancelled, spawnError: err as NodeJS.ErrnoException });
      return;
    }
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try { process.kill(process.platform === 'win32' ? child.pid : -child.pid, sig); } catch { /* already gone */ }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'cancel') => {
      if (why === 'timeout') timedOut = true; else cancelled = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), 2000);
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onAbort = () => stop('cancel');
    if (opts.signal?.aborted) onAbort(); else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.setEncoding('utf8').on('data', (t: string) => { if (stdout.length < OUTPUT_LIMIT) stdout += t; });
    child.stderr!.setEncoding('utf8').on('data', (t: string) => { if (stderr.length < OUTPUT_LIMIT) stderr += t; });
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => { spawnError = err as NodeJS.ErrnoException; });
    // 'close' waits for the pipes: a grandchild that keeps them open is in the group and is killed too.
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The group may outlive its leader (a backgrounded grandchild): end it either way.
      if (timedOut || cancelled) { killGroup('SIGKILL'); if (killTimer) clearTimeout(killTimer); }
      resolve({ code, stdout, stderr, timedOut, cancelled, ...(spawnError ? { spawnError } : {}) });
    });
  });
}
