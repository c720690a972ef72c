// `vault create`, `vault add-cert`, `vault certs`, `servers`: the vault and what its servers share.
import { resolve } from 'node:path';
import { certificateFacts, loadCertificateFile, subjectOf, thumbprintOf } from '../cert/load.js';
import { evaluateRules } from '../cert/rules.js';
import { findRegistration } from '../config/home.js';
import { AzbError } from '../protocol/errors.js';
import { listServers, verifyRegistration } from '../repo/registration.js';
import { certificateObject, createVault, forgetCertificate, getCertificate, listCertificates, putCertificate } from '../repo/vault.js';
import { vaultError } from '../repo/storage-errors.js';
import type { Command } from './command.js';
import { isAzureLocation, openStore, openVaultFor, type VaultArgs, STORAGE_SECRETS } from './context.js';
import { makeDirs } from '../fs/make-dirs.js';
import { VAULT_FOLDER_MODE } from '../storage/local.js';

export const vaultCreateCommand: Command<{ vault: string }> = {
  name: 'vault.create',
  argsSchema: 'azbackup:args.vault.create',
  secrets: [...STORAGE_SECRETS],
  async run(ctx, args) {
    const location = isAzureLocation(args.vault) ? args.vault : resolve(args.vault);
    if (!isAzureLocation(location)) {
      const { readdir } = await import('node:fs/promises');
      // Owner-only, like everything the store creates in it: the key files must not be readable by others.
      try { await makeDirs(location, VAULT_FOLDER_MODE); } catch (err) {
        throw new AzbError('AZB_VAULT_ACCESS_DENIED', `Cannot create the vault folder ${location}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { target: location, hint: 'Give a folder this account can create.' });
      }
      const entries: string[] = await readdir(location).catch(() => [] as string[]);
      if (entries.length > 0 && !entries.includes('vault.json')) {
        throw new AzbError('AZB_VAULT_FOLDER_NOT_EMPTY', `${location} is not empty; a vault needs a folder of its own.`, { target: location, hint: 'Give an empty or new folder.' });
      }
    }
    const vault = await createVault(await openStore(location, ctx.secrets, { create: true }));
    ctx.sink.result('Vault', { vaultId: vault.manifest.vaultId, vault: vault.store.location, formatVersion: vault.manifest.version, created: vault.manifest.created });
    return 0;
  },
};

export const vaultAddCertCommand: Command<VaultArgs & { path: string }> = {
  name: 'vault.add-cert',
  argsSchema: 'azbackup:args.vault.add-cert',
  secrets: ['password', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const cert = await loadCertificateFile(args.path, ctx.secrets['password']);
    const failed = evaluateRules(cert.facts, false).filter((r) => !r.passed);
    if (failed.length > 0) {
      throw new AzbError('AZB_CERT_NOT_COMPLIANT', `${args.path} does not meet the vault's requirements: ${failed.map((f) => `${f.rule} (${f.detail})`).join('; ')}`, {
        target: args.path, hint: 'Create a compliant certificate with New-AzBackupCertificate; check one with Test-AzBackupCertificate.',
      });
    }
    const vault = await openVaultFor(args, ctx.secrets);
    const thumbprint = thumbprintOf(cert.x509);
    // Only the public certificate goes to the vault, never a private key.
    const uploaded = await putCertificate(vault, thumbprint, cert.x509.raw);
    if (!uploaded) ctx.sink.log(`Certificate ${thumbprint} was already in the vault: nothing changed.`);
    ctx.sink.result('VaultCertificate', {
      thumbprint, subject: subjectOf(cert.x509), notBefore: cert.facts.notBefore.toISOString(), notAfter: cert.facts.notAfter.toISOString(),
      keySize: cert.facts.keyBits ?? 0, vault: vault.store.location, uploaded, changed: uploaded,
    });
    return 0;
  },
};

export const vaultRemoveCertCommand: Command<VaultArgs & { thumbprint: string }> = {
  name: 'vault.remove-cert',
  argsSchema: 'azbackup:args.vault.remove-cert',
  secrets: [...STORAGE_SECRETS],
  async run(ctx, args) {
    const vault = await openVaultFor(args, ctx.secrets);
    const thumbprint = args.thumbprint.toUpperCase();
    const x = await getCertificate(vault, thumbprint);
    if (!x) {
      throw new AzbError('AZB_CERT_NOT_IN_VAULT', `Certificate ${thumbprint} is not in the vault at ${vault.store.location}.`, { target: thumbprint, hint: 'List the certificates with Get-AzBackupVaultCertificate / azbackup vault certs.' });
    }
    // A server's points are verified with the certificate its server.json names: that one stays.
    const users = (await listServers(vault)).filter((s) => s.certificate.toUpperCase() === thumbprint);
    if (users.length > 0) {
      throw new AzbError('AZB_CERT_IN_USE', `Certificate ${thumbprint} is the one ${users.map((s) => `${s.hostname} (${s.serverId.slice(0, 12)}…)`).join(', ')} registered with: the recovery points of ${users.length === 1 ? 'that server' : 'those servers'} are verified with it, so it stays.`, {
        target: thumbprint, hint: 'Remove a certificate only once no server of the vault uses it (Get-AzBackupServer shows which certificate each one uses).',
      });
    }
    try {
      await vault.store.delete(certificateObject(thumbprint));
      forgetCertificate(vault, thumbprint);
    } catch (err) {
      throw vaultError(err, vault.store.location, `certificate ${thumbprint}`);
    }
    ctx.sink.result('VaultCertificate', {
      thumbprint, subject: subjectOf(x), notBefore: x.validFromDate.toISOString(), notAfter: x.validToDate.toISOString(),
      keySize: x.publicKey.asymmetricKeyDetails?.modulusLength ?? 0, vault: vault.store.location, uploaded: false, removed: true,
    });
    return 0;
  },
};

export const vaultCertsCommand: Command<VaultArgs> = {
  name: 'vault.certs',
  argsSchema: 'azbackup:args.vault.certs',
  secrets: [...STORAGE_SECRETS],
  async run(ctx, args) {
    const vault = await openVaultFor(args, ctx.secrets);
    for (const thumbprint of await listCertificates(vault)) {
      const x = await getCertificate(vault, thumbprint);
      if (!x) continue;
      // Every rule a certificate must pass to be uploaded (and to sign points), checked again now: it
      // may have expired since, or have been put into the vault folder by hand.
      const problems = evaluateRules(certificateFacts(x, undefined, certificateObject(thumbprint)), false)
        .filter((r) => !r.passed).map((r) => `${r.rule}: ${r.detail}`);
      if (problems.length > 0) {
        ctx.sink.warning('AZB_CERT_NOT_COMPLIANT', `Certificate ${thumbprint} (${subjectOf(x)}) in the vault breaks the certificate rules: ${problems.join(' ')}`, thumbprint);
      }
      ctx.sink.item('VaultCertificate', {
        thumbprint, subject: subjectOf(x), notBefore: x.validFromDate.toISOString(), notAfter: x.validToDate.toISOString(),
        keySize: x.publicKey.asymmetricKeyDetails?.modulusLength ?? 0, vault: vault.store.location, uploaded: true, compliant: problems.length === 0, problems,
      });
    }
    return 0;
  },
};

export const serversCommand: Command<VaultArgs> = {
  name: 'servers',
  argsSchema: 'azbackup:args.servers',
  secrets: [...STORAGE_SECRETS],
  async run(ctx, args) {
    const vault = await openVaultFor(args, ctx.secrets);
    const mine = await findRegistration(vault.manifest.vaultId);
    for (const s of await listServers(vault)) {
      ctx.sink.item('Server', {
        serverId: s.serverId, hostname: s.hostname, created: s.created, certificate: s.certificate,
        proofValid: await verifyRegistration(vault, s), thisServer: mine?.serverId === s.serverId, vault: vault.store.location,
      });
    }
    return 0;
  },
};
