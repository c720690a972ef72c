// `server unregister` and `server renew-cert`. Unregister: this server leaves the vault. Its local registration, signing key, policies with
// their schedules, stored passphrase and cache go; its namespace stays in the vault, its points with it
// unless deleteBackup soft-deletes them all (recoverable for 14 days with --server and its passphrase).
import { rm } from 'node:fs/promises';
import { loadCertificateFile, thumbprintOf } from '../cert/load.js';
import { evaluateRules } from '../cert/rules.js';
import { listJobs } from '../jobs/jobs.js';
import { removeRegistration, saveRegistration } from '../config/home.js';
import { loadCertificate, readServerRecord, renewalMessage, renewalObject, signWith, verifyRegistration, type Renewal } from '../repo/registration.js';
import { vaultError } from '../repo/storage-errors.js';
import { MAX_RENEWAL_SIZE } from '../storage/limits.js';
import { getCertificate } from '../repo/vault.js';
import { CERT_EXPIRY_WARNING_DAYS, renewHint } from './cert-expiry.js';
import { removeSchedule } from '../policy/scheduler.js';
import { deletePolicy, listPolicies } from '../policy/store.js';
import { forgetStoredPassphrase } from '../policy/stored-passphrase.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import { purgeAfter, setPointState, SOFT_DELETE_DAYS } from '../repo/point-states.js';
import type { Command } from './command.js';
import { asJob, openServerFor, ownRegistration, serverCacheDir, signingKeyFor, STORAGE_SECRETS, type VaultArgs } from './context.js';
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

export interface ServerRenewCertArgs extends Omit<VaultArgs, 'server'> { certificate: string }

/**
 * `server renew-cert`: this server moves to a new certificate within its namespace (FORMAT.md section 3,
 * "renewals"). The old key endorses the new certificate, the new key proves possession, the renewal lists
 * every point the old certificate signed (so they keep verifying, and it signs no other), then this
 * machine's registration pins the new certificate and signing key. Points and passphrase do not change.
 */
export const serverRenewCertCommand: Command<ServerRenewCertArgs> = {
  name: 'server.renew-cert',
  argsSchema: 'azbackup:args.server.renew-cert',
  job: { operation: 'RenewCertificate' },
  secrets: ['passphrase', 'password', ...STORAGE_SECRETS],
  async run(ctx, args) {
    // Everything about the new certificate is checked before the vault is touched.
    const cert = await loadCertificateFile(args.certificate, ctx.secrets['password']);
    if (!cert.privateKey || !cert.x509.checkPrivateKey(cert.privateKey)) {
      throw new AzbError('AZB_CERT_PRIVATE_KEY_REQUIRED', `${args.certificate} holds no private key of its certificate; renewing must prove the server holds it.`, {
        target: args.certificate, hint: 'Give the .pfx (with -CertificatePassword) or the PEM file with the key.',
      });
    }
    const failed = evaluateRules(cert.facts, true).filter((r) => !r.passed);
    if (failed.length > 0) {
      throw new AzbError('AZB_CERT_NOT_COMPLIANT', `${args.certificate} does not meet the vault's requirements: ${failed.map((f) => f.rule).join(', ')}.`, { target: args.certificate, hint: 'Check it with Test-AzBackupCertificate -RequirePrivateKey.' });
    }
    const newKey = cert.privateKey;
    const to = thumbprintOf(cert.x509);
    const { repo } = await openServerFor(ctx, { ...(args.vault ? { vault: args.vault } : {}) });
    const reg = await ownRegistration(repo, 'renew its certificate');
    const vaultId = repo.vault.manifest.vaultId;
    const last = repo.record.renewals?.at(-1);
    // A renewal written to the vault whose local half was cut short: only this machine's pin is behind.
    const resumed = !repo.record.renewalProblem && last !== undefined && last.from === reg.certificate && last.to === to && repo.record.certificate === to;
    if (!resumed && to === reg.certificate) {
      throw new AzbError('AZB_ARGS_INVALID', `Certificate ${to} is already the certificate of this server.`, { target: args.certificate, hint: 'Create a new certificate (New-AzBackupCertificate), upload it (Add-AzBackupVaultCertificate), then renew with it.' });
    }
    if (!(await getCertificate(repo.vault, to))) {
      throw new AzbError('AZB_CERT_NOT_IN_VAULT', `Certificate ${to} has not been uploaded to the vault at ${repo.location}.`, {
        target: to, hint: 'Upload its .cer first with Add-AzBackupVaultCertificate / azbackup vault add-cert.',
      });
    }
    let carried = last?.points.length ?? 0;
    if (!resumed) {
      // The old key must be this server's, and server.json as pinned (AZB_REGISTRATION_MISMATCH otherwise).
      const oldKey = await signingKeyFor(repo);
      const warn = (code: string, message: string, target: string) => ctx.sink.warning(code, message, target);
      carried = await asJob(ctx, 'RenewCertificate', repo.location, repo.serverId, async () => withLock(repo, 'exclusive', 'renew server certificate', warn, async (lock) => {
        // Under the lock no backup adds a point the renewal would leave out.
        const points: string[] = [];
        for (const p of await repo.readAllPoints((id, err) => warn('AZB_POINT_DAMAGED', `Recovery point ${id.slice(0, 12)}… cannot be read and is not carried over to the new certificate: ${err.message}`, repo.pointObject(id)))) {
          if (p.certificate === reg.certificate) points.push(p.id);
        }
        const old = await loadCertificate(repo.vault, reg.certificate);
        if (!old) throw new AzbError('AZB_CERT_NOT_IN_VAULT', `This server's certificate ${reg.certificate} is no longer in the vault.`, { target: reg.certificate, hint: 'Upload it again (Add-AzBackupVaultCertificate), then renew.' });
        const body = {
          serverId: repo.serverId, sequence: (repo.record.renewals?.length ?? 0) + 1, time: new Date().toISOString(),
          from: reg.certificate, to, fromCertificate: old.raw.toString('base64'), points: points.sort(),
        };
        const message = renewalMessage(vaultId, body);
        const renewal: Renewal = { ...body, endorsement: signWith(oldKey, message), proof: signWith(newKey, message) };
        const bytes = Buffer.from(JSON.stringify(renewal, null, 2) + '\n');
        // Readers refuse a larger renewal (FORMAT.md section 12): never write one.
        if (bytes.length > MAX_RENEWAL_SIZE) {
          throw new AzbError('AZB_INTERNAL_INVARIANT', `The renewal would list ${points.length} points, more than one renewal may hold (${MAX_RENEWAL_SIZE} bytes); nothing was written.`, { target: reg.certificate, hint: 'Remove old recovery points (Remove-AzRecoveryPoint -Permanent, then Remove-AzBackupUnusedData) and renew again.' });
        }
        await lock.assertHeld();
        try {
          await repo.vault.store.put(renewalObject(repo.serverId, body.sequence), bytes);
        } catch (err) {
          throw vaultError(err, repo.location, 'the renewal');
        }
        return points.length;
      }));
    }
    // The vault now names the new certificate; this machine follows (a crash before this is resumed above).
    const record = await readServerRecord(repo.vault, repo.serverId);
    if (record.certificate !== to || !(await verifyRegistration(repo.vault, record))) {
      throw new AzbError('AZB_REGISTRATION_MISMATCH', `After the renewal, ${repo.prefix}server.json and its renewals do not verify for certificate ${to}.`, { target: `${repo.prefix}renewals/`, hint: "Run 'azbackup check' and check who can write to the vault." });
    }
    const retired = [...new Set([...(reg.retired ?? []), reg.certificate])].filter((t) => t !== to);
    await saveRegistration({ ...reg, certificate: to, retired }, newKey, repo.masterKey);
    const daysLeft = Math.floor((cert.facts.notAfter.getTime() - Date.now()) / 86_400_000);
    if (daysLeft < CERT_EXPIRY_WARNING_DAYS) {
      ctx.sink.warning('AZB_CERT_EXPIRING', `The new certificate ${to} expires on ${cert.facts.notAfter.toISOString()} (in ${daysLeft} day${daysLeft === 1 ? '' : 's'}). ${renewHint()}`, to);
    }
    ctx.sink.log(`Server ${repo.record.hostname} now signs with certificate ${to}; its ${carried} point(s) signed by ${reg.certificate} stay valid. That certificate may now be removed from the vault (Remove-AzBackupVaultCertificate).`);
    ctx.sink.result('CertificateRenewal', {
      serverId: repo.serverId, hostname: repo.record.hostname, vault: repo.location, previousCertificate: reg.certificate, certificate: to,
      pointsCarried: carried, renewed: (record.renewals?.at(-1)?.time ?? new Date().toISOString()), notAfter: cert.facts.notAfter.toISOString(),
    });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
