// `server unregister`: this server leaves the vault. Its local registration, signing key, policies with
// their schedules, stored passphrase and cache go; its namespace stays in the vault, its points with it
// unless deleteBackup soft-deletes them all (recoverable for 14 days with --server and its passphrase).
import { rm } from 'node:fs/promises';
import { listJobs } from '../jobs/jobs.js';
import { removeRegistration } from '../config/home.js';
import { removeSchedule } from '../policy/scheduler.js';
import { deletePolicy, listPolicies } from '../policy/store.js';
import { forgetStoredPassphrase } from '../policy/stored-passphrase.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import { purgeAfter, setPointState, SOFT_DELETE_DAYS } from '../repo/point-states.js';
import type { Command } from './command.js';
import { asJob, openServerFor, ownRegistration, serverCacheDir, STORAGE_SECRETS, type VaultArgs } from './context.js';
import { actor } from './points.js';

export interface ServerUnregisterArgs extends Omit<VaultArgs, 'server'> { deleteBackup?: boolean; whatIf?: boolean }

export const serverUnregisterCommand: Command<ServerUnregisterArgs> = {
  name: 'server.unregister',
  argsSchema: 'azbackup:args.server.unregister',
  job: { operation: 'UnregisterServer' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    // The passphrase proves this is the server's owner (AZB_PASSPHRASE_WRONG otherwise); only the
    // registered server itself unregisters (AZB_SERVER_NOT_REGISTERED elsewhere).
    const { repo } = await openServerFor(ctx, { ...(args.vault ? { vault: args.vault } : {}) });
    const reg = await ownRegistration(repo, 'unregister itself');
    const policies = (await listPolicies()).filter((p) => p.vault === reg.vault);
    const policyNames = new Set(policies.map((p) => p.name));
    // A job of this server in another engine process (a backup, a restore, a policy run) must end first.
    const running = listJobs({ status: 'InProgress' }).find((j) => j.pid !== process.pid && (j.serverId === repo.serverId || (j.policy !== null && policyNames.has(j.policy))));
    if (running) {
      throw new AzbError('AZB_JOB_RUNNING', `Job ${running.jobId} (${running.operation}) of this server is in progress; the server is not unregistered while it runs.`, {
        target: running.jobId, hint: `Wait for it, or stop it with Stop-AzBackupJob -JobId ${running.jobId} / azbackup job stop ${running.jobId}, then unregister.`,
      });
    }
    const warn = (code: string, message: string, target: string) => ctx.sink.warning(code, message, target);
    const counted = await repo.readPointsByState((id, err) => warn('AZB_POINT_DAMAGED', `Recovery point ${id.slice(0, 12)}… cannot be read and is left as it is: ${err.message}`, repo.pointObject(id)), warn);
    const base = { serverId: repo.serverId, hostname: repo.record.hostname, vault: repo.location, deleteBackup: args.deleteBackup === true, policiesRemoved: policies.map((p) => p.name) };
    if (args.whatIf) {
      ctx.sink.result('UnregisteredServer', { ...base, pointsDeleted: args.deleteBackup ? counted.live.length : 0, pointsKept: args.deleteBackup ? 0 : counted.live.length, whatIf: true });
      return 0;
    }
    const deleted = await asJob(ctx, 'UnregisterServer', repo.location, repo.serverId, async () => {
      // Exclusive: no backup, prune or removal of this namespace runs meanwhile, on any machine.
      return withLock(repo, 'exclusive', 'unregister server', warn, async (lock) => {
        let n = 0;
        let purge: string | undefined;
        if (args.deleteBackup) {
          // Read again under the lock; a point deleted already keeps its first deletion time.
          const { live, states } = await repo.readPointsByState(() => undefined, warn);
          const reason = `server ${repo.record.hostname} unregistered with its backups by ${actor()}`;
          for (const p of live) {
            const after = await setPointState(repo, p.id, 'deleted', reason, states.get(p.id), lock);
            purge = purgeAfter(after).toISOString();
            n++;
          }
        }
        return { pointsDeleted: n, purgeAfter: purge, stats: { pointsDeleted: n } };
      });
    });
    // Local state last, the registration file at the very end: a run cut short can be run again.
    const vaultId = repo.vault.manifest.vaultId;
    for (const p of policies) {
      await removeSchedule(p.name);
      await deletePolicy(p.name);
    }
    await forgetStoredPassphrase(vaultId);
    await rm(serverCacheDir(args, repo), { recursive: true, force: true });
    await removeRegistration(vaultId);
    const kept = args.deleteBackup ? 0 : counted.live.length;
    if (args.deleteBackup) {
      ctx.sink.log(`${deleted.pointsDeleted} recovery point(s) are deleted; for ${SOFT_DELETE_DAYS} days any server with this passphrase can list them (Get-AzRecoveryPoint -Server ${repo.serverId} -Deleted) and bring them back (Restore-AzRecoveryPoint -Server ${repo.serverId}). A prune of this namespace after that (Remove-AzBackupUnusedData -Server ${repo.serverId}) frees their space.`);
    } else {
      ctx.sink.log(`The ${kept} recovery point(s) of this server stay in the vault; restore them from any server with -Server ${repo.serverId} and this passphrase.`);
    }
    ctx.sink.result('UnregisteredServer', { ...base, pointsDeleted: deleted.pointsDeleted, pointsKept: kept, whatIf: false, ...(deleted.purgeAfter ? { purgeAfter: deleted.purgeAfter } : {}) });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
