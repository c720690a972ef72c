// Where this machine keeps its policies (FORMAT.md section 11): <home>/policies/<name>.json, and the
// outcome of each policy's last run beside it (<name>.last.json), both owner-only like the whole home.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, readHomeJson, writePrivate } from '../config/home.js';
import { AzbError, fileError } from '../protocol/errors.js';
import type { Policy } from './policy.js';

/** The outcome of a policy's last run, for Get-AzBackupPolicy and the metrics. */
export interface LastRun {
  time: string;
  status: 'Completed' | 'CompletedWithWarnings' | 'Failed' | 'Cancelled' | 'Skipped';
  jobId?: string; pointId?: string; code?: string; message?: string;
  /** Of a run that made a point: what it added, how long it took, how many points retention kept. */
  bytesAdded?: number; durationMs?: number; pointsKept?: number;
  /** When a run of this policy last succeeded (kept across failed runs). */
  lastSuccess?: string;
}

export function policiesDir(): string {
  return join(homeDir(), 'policies');
}

function policyPath(name: string): string {
  return join(policiesDir(), `${name}.json`);
}

function lastRunPath(name: string): string {
  return join(policiesDir(), `${name}.last.json`);
}

function readJson<T>(path: string, what: string): Promise<T | undefined> {
  return readHomeJson<T>(path, what, 'Remove the file and save the policy again with Set-AzBackupPolicy / azbackup policy set.');
}

/** The saved policy of that name, or undefined. */
export async function readPolicy(name: string): Promise<Policy | undefined> {
  return readJson<Policy>(policyPath(name), 'Policy file');
}

/** The saved policy of that name, or AZB_POLICY_NOT_FOUND. */
export async function requirePolicy(name: string): Promise<Policy> {
  const p = await readPolicy(name);
  if (!p) throw new AzbError('AZB_POLICY_NOT_FOUND', `No policy named '${name}' on this server.`, { target: name, hint: 'List policies with Get-AzBackupPolicy / azbackup policy list.' });
  return p;
}

/** Every saved policy, by name. */
export async function listPolicies(): Promise<Policy[]> {
  let names: string[];
  try {
    names = await readdir(policiesDir());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, policiesDir(), 'Policies folder');
  }
  const out: Policy[] = [];
  for (const n of names.filter((x) => /^[A-Za-z0-9][A-Za-z0-9_-]*\.json$/.test(x) && !x.endsWith('.last.json')).sort()) {
    const p = await readPolicy(n.slice(0, -'.json'.length));
    if (p) out.push(p);
  }
  return out;
}

export async function savePolicy(p: Policy): Promise<void> {
  await writePrivate(policyPath(p.name), JSON.stringify(p, null, 2) + '\n', 'Policy file');
}

export async function deletePolicy(name: string): Promise<void> {
  for (const path of [policyPath(name), lastRunPath(name)]) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw fileError(err, path, 'Policy file'); });
  }
}

export async function readLastRun(name: string): Promise<LastRun | undefined> {
  return readJson<LastRun>(lastRunPath(name), 'Policy run record');
}

/** Records a run's outcome, carrying the time of the last success forward. */
export async function recordLastRun(name: string, run: Omit<LastRun, 'lastSuccess'>): Promise<LastRun> {
  const before = await readLastRun(name).catch(() => undefined);
  const ok = run.status === 'Completed' || run.status === 'CompletedWithWarnings';
  const lastSuccess = ok ? run.time : before?.lastSuccess;
  const record: LastRun = { ...run, ...(lastSuccess ? { lastSuccess } : {}) };
  await writePrivate(lastRunPath(name), JSON.stringify(record, null, 2) + '\n', 'Policy run record');
  return record;
}
