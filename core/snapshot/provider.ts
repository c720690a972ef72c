// The snapshot-provider contract (README "Snapshot providers"): for a volume manager AzBackup does not
// know (LVM, ZFS, a SAN), the admin's create command makes a snapshot of what holds a source and prints
// where the source can be read in it; the admin's remove command removes it again.
import { lstat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { childEnvironment } from '../child-env.js';
import { runCommand, type CommandOutcome } from './run-command.js';

/** The provider as the machine settings hold it (Set-AzBackupMachineSetting -SnapshotCreateCommand …). */
export interface SnapshotProviderSettings {
  /** Absolute path of the create command; it gets the source as its one argument. */
  createCommand: string;
  /** Absolute path of the remove command; it gets the source, the snapshot path and the id. */
  removeCommand: string;
  /** Seconds each command may take before it is killed (default DEFAULT_SNAPSHOT_TIMEOUT_S). */
  timeoutSeconds?: number;
}

/** Seconds a snapshot command may run before it is killed, unless the settings say otherwise. */
export const DEFAULT_SNAPSHOT_TIMEOUT_S = 120;

/** What a create command printed: where the source is readable in the snapshot, and the snapshot's id. */
export interface ProviderSnapshot { path: string; id: string }

/** A command's failure in words, for a warning or an error. */
export function describeFailure(what: string, r: CommandOutcome, timeoutMs: number): string {
  if (r.spawnError) return `${what} could not be started (${r.spawnError.code ?? r.spawnError.message})`;
  if (r.timedOut) return `${what} did not end within ${Math.round(timeoutMs / 1000)} s; it was killed with its process group`;
  if (r.cancelled) return `${what} was stopped (the backup was cancelled)`;
  const last = r.stderr.trim().split('\n').pop();
  return `${what} failed (exit code ${String(r.code)})${last ? `: ${last}` : ''}`;
}

/** The run's log lines of a command's error output, prefixed with what ran. */
export function outputLines(what: string, r: CommandOutcome): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '').map((l) => `${what}: ${l}`);
}

/**
 * Runs the create command for `source` (on the mount at `mountPoint`). Resolves with the snapshot, or
 * rejects with an Error whose message says what went wrong (the caller decides: warning or failure).
 */
export async function createProviderSnapshot(p: SnapshotProviderSettings, source: string, mountPoint: string, opts: { signal?: AbortSignal; log(line: string): void }): Promise<ProviderSnapshot> {
  const timeoutMs = (p.timeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_S) * 1000;
  const r = await runCommand(p.createCommand, [source], { timeoutMs, env: childEnvironment({ SNAPSHOT_SOURCE: source, SNAPSHOT_MOUNT_POINT: mountPoint }), ...(opts.signal ? { signal: opts.signal } : {}) });
  for (const l of outputLines(p.createCommand, r)) opts.log(l);
  if (r.code !== 0 || r.timedOut || r.cancelled || r.spawnError) throw new Error(describeFailure(`The snapshot create command ${p.createCommand}`, r, timeoutMs));
  // The last line of its output that is not blank is the JSON: earlier lines may be the tools' chatter.
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let printed: unknown;
  try { printed = JSON.parse(last); } catch { printed = undefined; }
  const o = printed as { path?: unknown; id?: unknown } | undefined;
  if (!o || typeof o !== 'object' || typeof o.path !== 'string' || !isAbsolute(o.path) || (o.id !== undefined && typeof o.id !== 'string')) {
    throw new Error(`The snapshot create command ${p.createCommand} exited 0 but did not print {"path": "<absolute path>", "id": "<id>"} as its last line (it printed ${JSON.stringify(last.slice(0, 200))})`);
  }
  try { await lstat(o.path); } catch (err) {
    throw new Error(`The snapshot create command ${p.createCommand} printed the path ${o.path}, which cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  return { path: o.path, id: typeof o.id === 'string' ? o.id : '' };
}

/** Runs the remove command for a snapshot; rejects with an Error saying why it failed. */
export async function removeProviderSnapshot(p: SnapshotProviderSettings, source: string, snap: ProviderSnapshot, log: (line: string) => void): Promise<void> {
  const timeoutMs = (p.timeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_S) * 1000;
  // Not cancellable: a snapshot is removed also when the backup was stopped.
  const r = await runCommand(p.removeCommand, [source, snap.path, snap.id], { timeoutMs, env: childEnvironment({ SNAPSHOT_SOURCE: source, SNAPSHOT_PATH: snap.path, SNAPSHOT_ID: snap.id }) });
  for (const l of outputLines(p.removeCommand, r)) log(l);
  if (r.code !== 0 || r.timedOut || r.spawnError) throw new Error(describeFailure(`The snapshot remove command ${p.removeCommand}`, r, timeoutMs));
}
