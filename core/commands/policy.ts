// `policy set|get|remove|suspend|resume|run`: backup policies of this server (README "Policies"), their
// schedules in the OS scheduler, and the unattended run that backs up and then enforces retention.
import { childEnvironment } from '../child-env.js';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { now as clockNow } from '../clock.js';
import { listJobs } from '../jobs/jobs.js';
import { expirePoints, livePoints, pointsToExpire } from '../policy/enforce.js';
import { DAYS_OF_WEEK, isRunWeek, minutesOf, mondayOf, validatePolicy, type CommandSource, type Policy } from '../policy/policy.js';
import { installSchedule, nextRunAfter, presentScheduleFiles, removeSchedule, scheduleContext, schedulerTarget, secretsLeftBehind, unitFiles, unitName } from '../policy/scheduler.js';
import { deletePolicy, listPolicies, readLastRun, readPolicy, recordLastRun, requirePolicy, savePolicy, type LastRun } from '../policy/store.js';
import { credentialFile, readStoredPassphrase, storedPassphraseInfo, storePassphrase } from '../policy/stored-passphrase.js';
import { runPrune } from '../prune/pruner.js';
import { forgetPassphraseIfUnused } from '../group/store.js';
import { listRegistrations } from '../config/home.js';
import { readSettings, type MachineSettings } from '../config/settings.js';
import { writeMetricsFile } from '../policy/metrics.js';
import { refusalError, testSource, type SourceVerdict } from '../source/eligibility.js';
import { AzbError, ExitCode, toAzbError } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import type { ServerRepo } from '../repo/server.js';
import type { Command, CommandContext } from './command.js';
import { backupAsJob } from './backup.js';
import { asJob, openServerFor, openVaultFor, requireRegistration, STORAGE_SECRETS } from './context.js';
import { pointData } from './points.js';

/** The longest time between two runs of a schedule, in ms (over one cycle of its weekly frequency). */
export function longestGapMs(p: Policy): number {
  const runs: number[] = [];
  const weeks = p.schedule.weeklyFrequency;
  for (let day = 0; day < 7 * weeks; day++) {
    if (!p.schedule.daysOfWeek.includes(DAYS_OF_WEEK[(day + 1) % 7]!)) continue; // day 0 is a Monday
    for (const t of p.schedule.timesOfDay) runs.push(day * 86_400_000 + minutesOf(t) * 60_000);
  }
  runs.sort((a, b) => a - b);
  const cycle = 7 * weeks * 86_400_000;
  let gap = runs[0]! + cycle - runs[runs.length - 1]!;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!);
  return gap;
}

/**
 * Whether an active policy has not succeeded within twice its longest gap between runs: counted from
 * the last success, else from the anchor week's Monday (a new policy is not overdue before it could run).
 */
function isOverdue(p: Policy, last: LastRun | undefined, now: Date): boolean {
  const since = last?.lastSuccess ? Date.parse(last.lastSuccess) : p.anchorWeek ? Date.parse(`${p.anchorWeek}T00:00:00`) : now.getTime();
  return p.state === 'Active' && now.getTime() - since > 2 * longestGapMs(p);
}

/** Rewrites the metrics file, when one is set, with every policy's last run. A failure is a warning. */
async function updateMetrics(ctx: CommandContext, now: Date): Promise<void> {
  const path = (await readSettings().catch(() => ({} as MachineSettings))).metricsFile;
  if (!path) return;
  try {
    const items = [];
    for (const p of await listPolicies()) {
      const last = await readLastRun(p.name).catch(() => undefined);
      items.push({ policy: p, last, overdue: isOverdue(p, last, now) });
    }
    await writeMetricsFile(path, items);
  } catch (err) {
    const e = toAzbError(err);
    ctx.sink.warning('AZB_METRICS_NOT_WRITTEN', `The metrics file ${path} could not be written: ${e.message}`, path);
  }
}

/** The policy as Get-AzBackupPolicy shows it: with its schedule files, next run and last result. */
async function policyData(p: Policy, now = clockNow()): Promise<Record<string, unknown>> {
  const t = schedulerTarget();
  const last = await readLastRun(p.name).catch(() => undefined);
  const files = await presentScheduleFiles(p.name, t);
  const next = p.state === 'Active' ? nextRunAfter(p.schedule, now, (d) => isRunWeek(p, d)) : undefined;
  const overdue = isOverdue(p, last, now);
  const vaultId = await vaultIdOf(p).catch(() => undefined);
  const stored = vaultId ? await storedPassphraseInfo(vaultId) : undefined;
  const lastRun = last ? (({ lastSuccess: _s, ...rest }: LastRun) => rest)(last) : null;
  return {
    name: p.name, vault: p.vault ?? '', state: p.state, ...(p.fileSpecs ? { fileSpecs: p.fileSpecs } : {}), ...(p.command ? { command: p.command } : {}),
    ...(p.preCommand ? { preCommand: p.preCommand } : {}), ...(p.postCommand ? { postCommand: p.postCommand } : {}),
    schedule: p.schedule, retention: p.retention, ...(p.anchorWeek ? { anchorWeek: p.anchorWeek } : {}), ...(p.fileSpecs ? { snapshot: p.snapshot ?? 'Auto' } : {}),
    scheduler: files.length > 0 ? t.kind : 'none', scheduleFiles: files, nextRun: next ? next.toISOString() : null,
    lastRun, lastSuccess: last?.lastSuccess ?? null, overdue, passphraseStored: stored ? `${stored.method}: ${stored.path}` : null,
  };
}

/** The vault ID of a policy's vault (from this machine's registrations: no vault access needed). */
async function vaultIdOf(p: Policy): Promise<string | undefined> {
  return (await listRegistrations()).find((r) => r.vault === p.vault)?.vaultId;
}

/** A run of this policy in progress in another engine process, if any. */
function runningJob(name: string) {
  return listJobs({ status: 'InProgress' }).find((j) => j.policy === name && j.pid !== process.pid);
}


/** JSON with object keys sorted, so that two documents that differ only in key order compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Whether a policy being saved is the saved one again (what it backs up, when and how long), so that
 * scripts can save it every time. Its state and anchor week are not compared: saving activates it.
 */
function samePolicy(a: Policy, b: Policy): boolean {
  const core = (p: Policy) => canonical({ ...p, state: undefined, anchorWeek: undefined });
  return core(a) === core(b);
}

export interface PolicySetArgs { policy: Policy; storePassphrase?: boolean; whatIf?: boolean; replace?: boolean }

export const policySetCommand: Command<PolicySetArgs> = {
  name: 'policy.set',
  argsSchema: 'azbackup:args.policy.set',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: { result: (_k, d) => `Policy ${String(d['name'])} is ${String(d['state'])}; next run ${String(d['nextRun'] ?? 'none')}; schedule in ${(d['scheduleFiles'] as string[]).join(', ') || 'no file'}.` },
  async run(ctx, args) {
    const p = validatePolicy({ ...args.policy, state: args.policy.state ?? 'Active' });
    // The policy's vault must be one this server is registered with; it is saved by its location.
    const vault = await openVaultFor(p.vault ? { vault: p.vault } : {}, ctx.secrets);
    const reg = await requireRegistration(vault);
    p.vault = reg.vault;
    const before = await readPolicy(p.name);
    if (before && !args.replace && !samePolicy(before, p)) {
      throw new AzbError('AZB_POLICY_EXISTS', `A policy named ${p.name} exists already, with other settings.`, {
        target: p.name, hint: `To change it: Get-AzBackupPolicy ${p.name} | Set-AzBackupSchedule … | Set-AzBackupPolicy (or azbackup policy set --replace). To keep both, give the new one another name.`,
      });
    }
    p.anchorWeek = before?.anchorWeek ?? mondayOf(clockNow());
    // Each spec is checked as a backup would check it: one AzBackup refuses is not saved.
    const refusals: SourceVerdict[] = [];
    for (const s of p.fileSpecs ?? []) {
      const verdict = await testSource(s.path);
      if (verdict.code === 'AZB_SOURCE_NOT_FOUND') {
        ctx.sink.warning('AZB_FILESPEC_NOT_FOUND', `File spec ${s.path} does not exist now; runs back up the other specs and warn while it is missing.`, s.path);
      } else if (!verdict.eligible) refusals.push(verdict);
    }
    if (refusals.length > 0) throw refusalError(refusals);
    // The namespace is opened (a key derivation) at most once, and only when the passphrase is needed.
    let opened: ServerRepo | undefined;
    const namespace = async () => (opened ??= (await openServerFor(ctx, { vault: reg.vault })).repo);
    // What a shorter retention would expire now: said before it is done (Set-AzBackupPolicy asks first).
    let expiring: number | null = null;
    if (before && ctx.secrets['passphrase']) {
      expiring = pointsToExpire(await livePoints(ctx.sink, await namespace(), { forRetention: true }), p).expire.filter((x) => x.manifest.policy === p.name).length;
    }
    if (args.whatIf) {
      ctx.sink.result('Policy', { ...(await policyData(p)), ...(expiring !== null ? { pointsExpiring: expiring } : {}) });
      return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
    }
    let credential: string | undefined;
    // Saving the same policy again (GPO, DSC) changes nothing and says so: `changed` in the result.
    let changed = !before || !samePolicy(before, p) || before.state !== p.state;
    if (args.storePassphrase) {
      const passphrase = ctx.secrets['passphrase'];
      if (!passphrase) throw new AzbError('AZB_PASSPHRASE_REQUIRED', 'Storing the passphrase for unattended runs needs the passphrase.', { hint: 'Give it with -Passphrase (or AZBACKUP_PASSPHRASE / --passphrase-file).' });
      await namespace(); // a wrong passphrase is refused here, not stored
      const t = schedulerTarget();
      // Windows: DPAPI, machine scope (the task runs as SYSTEM); systemd: an encrypted credential; else a file.
      const method = process.platform === 'win32' ? 'dpapi' : t.kind === 'systemd' ? 'systemd-creds' : 'file';
      const already = await storedPassphraseInfo(reg.vaultId);
      // A stored copy that cannot be read back counts as different: it is stored again.
      const same = already?.method === method && (await readStoredPassphrase(reg.vaultId).catch(() => undefined)) === passphrase;
      if (same) {
        ctx.sink.log(`The passphrase for unattended runs is already stored in ${already.path}.`);
      } else {
        const stored = await storePassphrase(reg.vaultId, passphrase, method);
        const how = { file: 'readable by this account only', 'systemd-creds': 'encrypted by systemd-creds', dpapi: 'encrypted with DPAPI, machine scope' }[stored.method];
        ctx.sink.log(`The passphrase for unattended runs is stored in ${stored.path} (${how}).`);
        changed = true;
      }
    }
    const info = await storedPassphraseInfo(reg.vaultId);
    if (info?.method === 'systemd-creds') credential = credentialFile(reg.vaultId);
    const scheduleBefore = await readFiles(unitFiles(unitName(p.name), schedulerTarget()));
    if (changed) await savePolicy(p);
    // The schedule is written again even when the policy is the same: a file removed by hand comes back.
    if (p.state === 'Active') await installSchedule(p, scheduleContext(credential)); else await removeSchedule(p.name);
    if (!isDeepStrictEqual(scheduleBefore, await readFiles(unitFiles(unitName(p.name), schedulerTarget())))) changed = true;
    if (!changed) ctx.sink.log(`Policy ${p.name} is already saved as given, and its schedule is in place: nothing changed.`);
    const left = secretsLeftBehind();
    if (left.length > 0) {
      ctx.sink.warning('AZB_SCHEDULE_NO_CREDENTIAL', `${left.join(', ')} ${left.length === 1 ? 'is' : 'are'} set here, but scheduled runs get no secret from this environment: `
        + 'put the credential in an owner-only file and set AZBACKUP_STORAGE_KEY_FILE (or _SAS_FILE, _CONNECTION_STRING_FILE) before saving the policy, or sign in with Entra ID (AZBACKUP_STORAGE_AUTH=entra).', left[0]);
    }
    if (!info) ctx.sink.warning('AZB_PASSPHRASE_NOT_STORED', `No passphrase is stored for unattended runs of policy ${p.name}: its scheduled runs will fail until one is.`, p.name);
    ctx.sink.result('Policy', { ...(await policyData(p)), ...(expiring !== null ? { pointsExpiring: expiring } : {}), changed });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

/** The contents of files by path (undefined for one that does not exist), to tell whether writing them changed anything. */
async function readFiles(paths: string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const f of paths) out[f] = await readFile(f, 'utf8').catch(() => undefined);
  return out;
}

export const policyGetCommand: Command<{ name?: string }> = {
  name: 'policy.get',
  argsSchema: 'azbackup:args.policy.get',
  secrets: [],
  human: { item: (_k, d) => `${String(d['name']).padEnd(20)} ${String(d['state']).padEnd(10)} next ${String(d['nextRun'] ?? '-').padEnd(25)} last ${String((d['lastRun'] as { status?: string } | null)?.status ?? '-')}${d['overdue'] ? '  OVERDUE' : ''}` },
  async run(ctx, args) {
    const policies = args.name ? [await requirePolicy(args.name)] : await listPolicies();
    for (const p of policies) {
      const data = await policyData(p);
      if (data['overdue']) ctx.sink.warning('AZB_POLICY_OVERDUE', `Policy ${p.name} has not succeeded within twice its longest interval between runs (last success: ${String(data['lastSuccess'] ?? 'never')}).`, p.name);
      ctx.sink.item('Policy', data);
    }
    return 0;
  },
};

/** Opens the policy's vault and namespace with the given passphrase, else the stored one. */
async function openForPolicy(ctx: CommandContext, p: Policy): Promise<{ ctx: CommandContext; repo: ServerRepo; stored: boolean }> {
  let passphrase = ctx.secrets['passphrase'];
  let stored = false;
  if (!passphrase) {
    const vault = await openVaultFor({ vault: p.vault! }, ctx.secrets);
    const reg = await requireRegistration(vault);
    passphrase = await readStoredPassphrase(reg.vaultId);
    stored = passphrase !== undefined;
  }
  if (!passphrase) {
    throw new AzbError('AZB_PASSPHRASE_REQUIRED', `Policy ${p.name} needs the passphrase, and none is stored for unattended runs.`, {
      hint: `Store it once with Set-AzBackupPolicy -StorePassphrase (azbackup policy set --store-passphrase), or give it to this run.`,
    });
  }
  const withPassphrase: CommandContext = { ...ctx, secrets: { ...ctx.secrets, passphrase } };
  try {
    const { repo } = await openServerFor(withPassphrase, { vault: p.vault! });
    return { ctx: withPassphrase, repo, stored };
  } catch (err) {
    if (stored && err instanceof AzbError && err.code === 'AZB_PASSPHRASE_WRONG') {
      throw new AzbError('AZB_STORED_PASSPHRASE_WRONG', `The passphrase stored for unattended runs of policy ${p.name} no longer opens the vault (was it changed with Set-AzBackupPassphrase?).`, {
        target: p.name, hint: 'Store the current one: Get-AzBackupPolicy | Set-AzBackupPolicy -StorePassphrase -Passphrase <current>, or Set-AzBackupPassphrase -UpdateStoredPassphrase.',
      });
    }
    throw err;
  }
}

export const policyRemoveCommand: Command<{ name: string; deleteBackup?: boolean; whatIf?: boolean }> = {
  name: 'policy.remove',
  argsSchema: 'azbackup:args.policy.remove',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const p = await requirePolicy(args.name);
    const running = runningJob(p.name);
    if (running) {
      throw new AzbError('AZB_POLICY_RUNNING', `A run of policy ${p.name} is in progress (job ${running.jobId}); the policy is not removed while it runs.`, {
        target: running.jobId, hint: `Wait for it, or stop it with Stop-AzBackupJob -JobId ${running.jobId} / azbackup job stop ${running.jobId}, then remove the policy.`,
      });
    }
    let expired = 0;
    if (args.deleteBackup) {
      const { ctx: c, repo } = await openForPolicy(ctx, p);
      const own = (await livePoints(c.sink, repo, { forRetention: false })).filter((x) => x.manifest.policy === p.name);
      expired = own.length;
      if (!args.whatIf && own.length > 0) {
        await asJob(c, 'RemovePolicy', repo.location, repo.serverId, async () => {
          return withLock(repo, 'exclusive', `remove policy ${p.name}`, (code, message, target) => c.sink.warning(code, message, target), async (lock) => {
            await expirePoints(repo, own, { sink: c.sink, lock, why: () => `policy ${p.name} was removed with its backups` });
            return { stats: await runPrune(repo, { dryRun: false, sink: c.sink, signal: c.signal, lock }) };
          });
        }, p.name);
      }
    }
    if (args.whatIf) {
      ctx.sink.result('RemovedPolicy', { name: p.name, pointsExpired: expired, whatIf: true });
      return 0;
    }
    const files = await removeSchedule(p.name);
    await deletePolicy(p.name);
    // The stored passphrase goes with the last policy or protection group of its vault.
    await forgetPassphraseIfUnused(p.vault, await vaultIdOf(p));
    if (!args.deleteBackup) ctx.sink.log(`The recovery points of policy ${p.name} are kept; they are no longer expired by any policy.`);
    ctx.sink.result('RemovedPolicy', { name: p.name, pointsExpired: expired, whatIf: false, scheduleFiles: files });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

function stateCommand(name: 'policy.suspend' | 'policy.resume', state: Policy['state']): Command<{ name: string }> {
  return {
    name,
    argsSchema: 'azbackup:args.policy.state',
    secrets: [],
    async run(ctx, args) {
      const p = await requirePolicy(args.name);
      p.state = state;
      await savePolicy(p);
      if (state === 'Active') {
        const vaultId = await vaultIdOf(p);
        const info = vaultId ? await storedPassphraseInfo(vaultId) : undefined;
        await installSchedule(p, scheduleContext(info?.method === 'systemd-creds' ? info.path : undefined));
      } else {
        await removeSchedule(p.name);
      }
      ctx.sink.result('Policy', await policyData(p));
      return 0;
    },
  };
}

export const policySuspendCommand = stateCommand('policy.suspend', 'Suspended');
export const policyResumeCommand = stateCommand('policy.resume', 'Active');

/**
 * The output of a policy's command as a stream. It ends with an error when the command fails, so that
 * the backup fails before it writes a point: a dump cut short must not pass as a whole one.
 */
function commandStream(source: CommandSource, signal: AbortSignal, log: (line: string) => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      // The command gets the environment without AzBackup's own secrets.
      const env = childEnvironment();
      const child = spawn(source.command, source.arguments ?? [], { stdio: ['ignore', 'pipe', 'pipe'], env, signal });
      const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
        child.on('error', (error) => resolve({ code: null, error }));
        child.on('close', (code) => resolve({ code }));
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr += t; for (const l of t.split('\n')) if (l.trim()) log(`${source.command}: ${l}`); });
      const line = [source.command, ...(source.arguments ?? [])].join(' ');
      for await (const chunk of child.stdout) yield chunk as Uint8Array;
      const end = await exited;
      if (end.error && (end.error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new AzbError('AZB_SOURCE_COMMAND_NOT_FOUND', `The policy's command '${source.command}' was not found.`, { target: source.command, hint: 'Give the full path of the command in the policy.' });
      }
      if (end.error || end.code !== 0) {
        throw new AzbError('AZB_SOURCE_COMMAND_FAILED', `'${line}' failed (${end.error ? end.error.message : `exit code ${String(end.code)}`}); no recovery point was written.${stderr.trim() ? ` Its last words: ${stderr.trim().split('\n').pop()}` : ''}`, {
          target: line, hint: 'Run the command by hand to see why it fails.',
        });
      }
    },
  };
}

export const policyRunCommand: Command<{ name: string; scheduled?: boolean; cacheDir?: string }> = {
  name: 'policy.run',
  argsSchema: 'azbackup:args.policy.run',
  job: { operation: 'Backup', policyArg: 'name' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const p = await requirePolicy(args.name);
    const now = clockNow();
    if (args.scheduled && p.state === 'Suspended') { ctx.sink.log(`Policy ${p.name} is suspended: no run.`); return 0; }
    if (args.scheduled && !isRunWeek(p, now)) { ctx.sink.log(`Policy ${p.name} runs every ${p.schedule.weeklyFrequency} weeks; this is not one of its weeks.`); return 0; }
    // systemd delays the start itself (RandomizedDelaySec=); cron cannot.
    if (args.scheduled && p.schedule.randomizedDelayMinutes && schedulerTarget().kind === 'cron') {
      const ms = Math.floor(Math.random() * p.schedule.randomizedDelayMinutes * 60_000);
      ctx.sink.log(`Starting in ${Math.round(ms / 1000)} s (randomized delay).`);
      await sleep(ms, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (ctx.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The run was stopped before it started.');
    }
    const running = runningJob(p.name);
    if (running) {
      const message = `Policy ${p.name} is still running (job ${running.jobId}, started ${running.startTime}); this run is skipped.`;
      ctx.sink.warning('AZB_POLICY_RUN_SKIPPED', message, running.jobId);
      await recordLastRun(p.name, { time: now.toISOString(), status: 'Skipped', code: 'AZB_POLICY_RUN_SKIPPED', message });
      await updateMetrics(ctx, now);
      ctx.sink.result('PolicyRun', { policy: p.name, status: 'Skipped', reason: message, pointId: null, pointsExpired: 0, pointsKept: 0, bytesFreed: 0 });
      return ExitCode.CompletedWithWarnings;
    }
    try {
      const { ctx: c } = await openForPolicy(ctx, p);
      // A spec that is missing or refused now (unmounted, remounted read-only, …) is named in a
      // warning and the others are backed up; with none left, the run fails with the reason.
      const specs = [];
      const refusals: SourceVerdict[] = [];
      for (const s of p.fileSpecs ?? []) {
        const verdict = await testSource(s.path);
        if (verdict.eligible) specs.push(s);
        else if (verdict.code === 'AZB_SOURCE_NOT_FOUND') c.sink.warning('AZB_FILESPEC_NOT_FOUND', `File spec ${s.path} of policy ${p.name} does not exist; the other specs are backed up.`, s.path);
        else {
          refusals.push(verdict);
          c.sink.warning(verdict.code!, `File spec ${s.path} of policy ${p.name} is not backed up: ${verdict.message} ${verdict.hint ?? ''}`.trim(), s.path);
        }
      }
      if (p.fileSpecs && specs.length === 0) {
        if (refusals.length > 0) throw refusalError(refusals);
        throw new AzbError('AZB_SOURCE_NOT_FOUND', `None of the file specs of policy ${p.name} exists: ${p.fileSpecs.map((s) => s.path).join(', ')}.`, { target: p.name, hint: 'Check the paths, or change the policy\'s file specs.' });
      }
      const backup = await backupAsJob(c, { vault: p.vault!, ...(args.cacheDir ? { cacheDir: args.cacheDir } : {}) }, {
        paths: specs.map((s) => s.path), excludes: [...new Set(specs.flatMap((s) => s.exclude ?? []))], tags: [],
        shallow: new Set(specs.filter((s) => s.nonRecursive).map((s) => s.path)), policy: p.name,
        scanOptions: { excludeCaches: new Set(specs.filter((s) => s.excludeCaches).map((s) => s.path)), oneFileSystem: new Set(specs.filter((s) => s.oneFileSystem).map((s) => s.path)) },
        ...(p.snapshot ? { snapshot: p.snapshot } : {}),
        hooks: { ...(p.preCommand ? { pre: p.preCommand } : {}), ...(p.postCommand ? { post: p.postCommand } : {}) },
        ...(p.command ? { stdin: { stream: commandStream(p.command, c.signal, (l) => c.sink.log(l)), name: p.command.streamName } } : {}),
      });
      c.sink.item('RecoveryPoint', {
        ...pointData(backup.repo.location, { id: backup.pointId, manifest: backup.manifest, certificate: backup.repo.record.certificate }),
        ...(backup.otherFileSystems.length > 0 ? { otherFileSystems: backup.otherFileSystems } : {}),
      });
      // Retention, under the exclusive lock: a failure here is a warning; the new point is made.
      let expired = 0;
      let kept = 0;
      let bytesFreed = 0;
      try {
        const repo = backup.repo;
        await asJob(c, 'Retention', repo.location, repo.serverId, async () => {
          return withLock(repo, 'exclusive', `retention of policy ${p.name}`, (code, message, target) => c.sink.warning(code, message, target), async (lock) => {
            const plan = pointsToExpire(await livePoints(c.sink, repo, { forRetention: true }), p, clockNow());
            kept = plan.kept;
            expired = await expirePoints(repo, plan.expire, { sink: c.sink, lock, why: (x) => (x.manifest.policy ? `past the retention of policy ${p.name}` : `its RetainUntil ${x.manifest.retainUntil} has passed`) });
            if (expired > 0) bytesFreed = (await runPrune(repo, { dryRun: false, sink: c.sink, signal: c.signal, lock })).bytesFreed;
            return { stats: { pointsExpired: expired, pointsKept: kept, bytesFreed } };
          });
        }, p.name);
      } catch (err) {
        const e = toAzbError(err);
        if (e.code === 'AZB_CANCELLED') throw err;
        c.sink.warning(e.code, `The backup of policy ${p.name} is made, but its retention was not enforced: ${e.message}`, p.name);
      }
      const status = backup.skipped.warned > 0 || ctx.sink.warnings > 0 ? 'CompletedWithWarnings' : 'Completed';
      const stats = backup.manifest.stats;
      await recordLastRun(p.name, { time: now.toISOString(), status, pointId: backup.pointId, bytesAdded: stats.bytesAdded, durationMs: stats.durationMs, pointsKept: kept });
      await updateMetrics(ctx, now);
      ctx.sink.result('PolicyRun', { policy: p.name, status, pointId: backup.pointId, pointsExpired: expired, pointsKept: kept, bytesFreed, vault: backup.repo.location });
      // A metrics file that could not be written warns after the run's own status was recorded.
      return status === 'Completed' && ctx.sink.warnings === 0 ? ExitCode.Ok : ExitCode.CompletedWithWarnings;
    } catch (err) {
      const e = toAzbError(err);
      await recordLastRun(p.name, { time: now.toISOString(), status: e.code === 'AZB_CANCELLED' ? 'Cancelled' : 'Failed', code: e.code, message: e.message }).catch(() => undefined);
      await updateMetrics(ctx, now);
      throw err;
    }
  },
};
