// `register`: this server proves it holds the private key of an uploaded certificate and creates its own
// namespace, encrypted with its passphrase. `passphrase set` changes that passphrase.
import { randomInt } from 'node:crypto';
import { open, statfs, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { loadCertificateFile, thumbprintOf } from '../cert/load.js';
import { evaluateRules } from '../cert/rules.js';
import { cacheDir, findRegistration, saveRegistration, withRegistrationLock, type Registration } from '../config/home.js';
import { CERT_EXPIRY_WARNING_DAYS, renewHint } from './cert-expiry.js';
import { AzbError, ExitCode, fileError } from '../protocol/errors.js';
import { checkNewPassphrase, listServers, registerServer } from '../repo/registration.js';
import { getCertificate } from '../repo/vault.js';
import { storedPassphraseInfo, storePassphrase } from '../policy/stored-passphrase.js';
import type { Command, CommandContext } from './command.js';
import { openServerFor, openVaultFor, ownRegistration, type VaultArgs, STORAGE_SECRETS } from './context.js';
import type { Vault } from '../repo/vault.js';
import { makeDirs } from '../fs/make-dirs.js';

/** Least free space required in the cache location at registration. */
const MIN_CACHE_FREE = 256 * 1024 * 1024;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random passphrase: 6 groups of 5 characters from a 32-letter alphabet (150 bits). */
export function generatePassphrase(): string {
  return Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')).join('-');
}

async function writeSecretFile(path: string, text: string): Promise<void> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try { await fh.writeFile(text + '\n'); await fh.sync(); } finally { await fh.close(); }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new AzbError('AZB_FILE_EXISTS', `The passphrase file ${path} already exists; a generated passphrase is never written over a file.`, { target: path, hint: 'Give the name of a new file.' });
    }
    if (code === 'ENOENT') {
      throw new AzbError('AZB_DIRECTORY_NOT_FOUND', `The folder for the passphrase file does not exist: ${dirname(path)}.`, { target: dirname(path), hint: 'Create the folder first (readable by its owner only), or give a file in an existing folder.' });
    }
    throw fileError(err, path, 'Passphrase file');
  }
}

async function checkCacheLocation(dir: string): Promise<void> {
  try {
    await makeDirs(dir, 0o700);
    const s = await statfs(dir);
    if (Number(s.bavail) * Number(s.bsize) < MIN_CACHE_FREE) {
      throw new AzbError('AZB_CACHE_FULL', `The cache location ${dir} has less than 256 MiB free.`, { target: dir, hint: 'Free space there, or choose another with --cache-dir / AZBACKUP_CACHE.' });
    }
  } catch (err) {
    if (err instanceof AzbError) throw err;
    throw new AzbError('AZB_CACHE_UNUSABLE', `The cache location ${dir} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { target: dir, hint: 'Give a writable --cache-dir.' });
  }
}

/**
 * A registration asked for again (a GPO startup script, DSC, a fan-out run twice): the same when it has
 * the same certificate and host name, its namespace is still in the vault and, unless the passphrase is
 * to be generated, the passphrase given opens it. Anything else is AZB_SERVER_ALREADY_REGISTERED (or the
 * passphrase's own error), saying what differs; nothing is written either way.
 */
async function sameRegistration(ctx: CommandContext, vault: Vault, existing: Registration, o: { thumbprint: string; host: string; checkPassphrase: boolean }): Promise<void> {
  const differs: string[] = [];
  if (existing.certificate !== o.thumbprint) differs.push(`its certificate is ${existing.certificate}, not ${o.thumbprint}`);
  if (existing.hostname.toLowerCase() !== o.host.toLowerCase()) differs.push(`its host name is ${existing.hostname}, not ${o.host}`);
  if (differs.length === 0 && !(await listServers(vault)).some((s) => s.serverId === existing.serverId)) differs.push('its namespace is no longer in the vault');
  if (differs.length > 0) {
    throw new AzbError('AZB_SERVER_ALREADY_REGISTERED', `This server is already registered with this vault as ${existing.hostname} (${existing.serverId.slice(0, 12)}…), and ${differs.join(' and ')}.`, {
      target: vault.store.location, hint: 'Register with the same certificate and host name (that changes nothing), renew the certificate with Update-AzBackupServerCertificate, or unregister first (Unregister-AzBackupServer).',
    });
  }
  // A wrong passphrase is refused with its own code: the configuration would not open the backups.
  if (o.checkPassphrase) await openServerFor(ctx, { vault: vault.store.location });
}

export interface RegisterArgs extends VaultArgs { certificate: string; hostname?: string; generatePassphrase?: boolean; passphraseFile?: string }

export const registerCommand: Command<RegisterArgs> = {
  name: 'register',
  argsSchema: 'azbackup:args.register',
  secrets: ['passphrase', 'password', ...STORAGE_SECRETS],
  async run(ctx, args) {
    // Everything is checked before anything is written to the vault.
    let passphrase = ctx.secrets['passphrase'];
    if (args.generatePassphrase) {
      if (passphrase) throw new AzbError('AZB_ARGS_INVALID', 'Give a passphrase or ask for a generated one, not both.', { target: 'passphrase' });
      if (!args.passphraseFile) throw new AzbError('AZB_ARGS_INVALID', 'A generated passphrase needs a file to be saved in.', { target: 'passphraseFile', hint: 'Give -PassphraseOutFile / --passphrase-out: a new file, readable by its owner only.' });
      passphrase = generatePassphrase();
    }
    passphrase = checkNewPassphrase(passphrase);
    const cert = await loadCertificateFile(args.certificate, ctx.secrets['password']);
    if (!cert.privateKey) {
      throw new AzbError('AZB_CERT_PRIVATE_KEY_REQUIRED', `${args.certificate} holds no private key; registration must prove the server holds it.`, {
        target: args.certificate, hint: 'Give the .pfx (with -CertificatePassword) or the PEM file with the key.',
      });
    }
    const failed = evaluateRules(cert.facts, true).filter((r) => !r.passed);
    if (failed.length > 0) {
      throw new AzbError('AZB_CERT_NOT_COMPLIANT', `${args.certificate} does not meet the vault's requirements: ${failed.map((f) => f.rule).join(', ')}.`, { target: args.certificate, hint: 'Check it with Test-AzBackupCertificate -RequirePrivateKey.' });
    }
    const vault = await openVaultFor(args, ctx.secrets);
    const thumbprint = thumbprintOf(cert.x509);
    if (!(await getCertificate(vault, thumbprint))) {
      throw new AzbError('AZB_CERT_NOT_IN_VAULT', `Certificate ${thumbprint} has not been uploaded to the vault at ${vault.store.location}.`, {
        target: thumbprint, hint: 'Upload its .cer first with Add-AzBackupVaultCertificate / azbackup vault add-cert.',
      });
    }
    const host = args.hostname ?? osHostname();
    // One registration per vault at a time on this machine: a second one started meanwhile waits, then
    // finds this one and changes nothing.
    const registered = await withRegistrationLock(vault.manifest.vaultId, async () => {
      const existing = await findRegistration(vault.manifest.vaultId);
      if (existing) return { existing };
      await checkCacheLocation(cacheDir(args.cacheDir));
      if (args.generatePassphrase) await writeSecretFile(resolve(args.passphraseFile!), passphrase);

      // Allowed (host names repeat across domains), but then -Server <name> is ambiguous: say so now.
      const namesake = (await listServers(vault).catch(() => [])).find((s) => s.hostname.toLowerCase() === host.toLowerCase());
      if (namesake) {
        ctx.sink.warning('AZB_HOSTNAME_IN_USE', `Another server of this vault is also named ${host} (ID ${namesake.serverId.slice(0, 12)}…); -Server ${host} will be ambiguous, so name these servers by ID.`, host);
      }
      const { record, masterKey, keyId } = await registerServer(vault, { hostname: host, thumbprint, privateKey: cert.privateKey!, passphrase, signal: ctx.signal });
      const registration = { vaultId: vault.manifest.vaultId, vault: vault.store.location, serverId: record.serverId, hostname: host, certificate: thumbprint, registered: record.created };
      // The key file and certificate pinned here are the only ones this server accepts (FORMAT.md section 11).
      await saveRegistration({ ...registration, keyId, lastPoint: null }, cert.privateKey!, masterKey);
      return registration;
    });
    if ('existing' in registered) {
      // Checked outside the lock: the key derivation of one rerun need not hold up the others.
      const { existing } = registered;
      await sameRegistration(ctx, vault, existing, { thumbprint, host, checkPassphrase: !args.generatePassphrase });
      ctx.sink.log(`This server is already registered with this vault as ${existing.hostname} (${existing.serverId.slice(0, 12)}…) with certificate ${existing.certificate}: nothing changed.`);
      ctx.sink.result('Registration', { vaultId: existing.vaultId, vault: existing.vault, serverId: existing.serverId, hostname: existing.hostname, certificate: existing.certificate, registered: existing.registered, changed: false });
      return 0;
    }
    const registration = registered;
    ctx.sink.warning('AZB_PASSPHRASE_KEEP_SAFE', `Keep the passphrase${args.generatePassphrase ? ` saved in ${resolve(args.passphraseFile!)}` : ''} in a safe place away from this server. It is not stored in the vault: if it is lost, the backups of this server cannot be recovered by anyone.`);
    const daysLeft = Math.floor((cert.facts.notAfter.getTime() - Date.now()) / 86_400_000);
    if (daysLeft < CERT_EXPIRY_WARNING_DAYS) {
      ctx.sink.warning('AZB_CERT_EXPIRING', `The certificate ${registration.certificate} expires on ${cert.facts.notAfter.toISOString()} (in ${daysLeft} day${daysLeft === 1 ? '' : 's'}); from then on this server can make no new recovery point. ${renewHint()}`, registration.certificate);
    }
    ctx.sink.result('Registration', { ...registration, ...(args.generatePassphrase ? { passphraseFile: resolve(args.passphraseFile!) } : {}), changed: true });
    return 0;
  },
};

export const passphraseSetCommand: Command<VaultArgs & { updateStored?: boolean; generatePassphrase?: boolean; passphraseFile?: string }> = {
  name: 'passphrase.set',
  argsSchema: 'azbackup:args.passphrase.set',
  secrets: ['passphrase', 'newPassphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    if (args.generatePassphrase && ctx.secrets['newPassphrase']) throw new AzbError('AZB_ARGS_INVALID', 'Give a new passphrase or ask for a generated one, not both.', { target: 'newPassphrase' });
    if (args.generatePassphrase && !args.passphraseFile) throw new AzbError('AZB_ARGS_INVALID', 'A generated passphrase needs a file to be saved in.', { target: 'passphraseFile', hint: 'Give -PassphraseOutFile / --passphrase-out: a new file, readable by its owner only.' });
    const next = args.generatePassphrase ? generatePassphrase() : checkNewPassphrase(ctx.secrets['newPassphrase']);
    const { repo } = await openServerFor(ctx, args);
    // Only the server itself: it pins its new key file, so a change made elsewhere would lock it out.
    await ownRegistration(repo, 'change its passphrase');
    // A generated passphrase is saved before it is used: if the file cannot be written, nothing changes.
    const savedIn = args.generatePassphrase ? resolve(args.passphraseFile!) : undefined;
    if (savedIn) await writeSecretFile(savedIn, next);
    try {
      await repo.changePassphrase(next, { signal: ctx.signal });
    } catch (err) {
      // Not changed: the file would hold a passphrase that opens nothing.
      if (savedIn) await unlink(savedIn).catch(() => undefined);
      throw err;
    }
    // The copy kept for unattended policy runs follows when asked; else the runs would fail from now on.
    const vaultId = repo.vault.manifest.vaultId;
    const stored = await storedPassphraseInfo(vaultId);
    if (stored && args.updateStored) {
      await storePassphrase(vaultId, next, stored.method);
      ctx.sink.log(`The passphrase stored for unattended runs (${stored.path}) is updated.`);
    }
    const stale = stored !== undefined && !args.updateStored;
    if (stale && stored) {
      ctx.sink.warning('AZB_STORED_PASSPHRASE_STALE', `A passphrase is stored for unattended policy runs (${stored.path}), and it is now the old one: scheduled runs will fail (AZB_STORED_PASSPHRASE_WRONG) until it is updated.`, stored.path);
    }
    ctx.sink.warning('AZB_PASSPHRASE_KEEP_SAFE', 'The old key file is deleted and this server now accepts only the new one, so the old passphrase no longer opens it here. '
      + 'The master key is unchanged (data is never re-encrypted): anyone who kept a copy of the old key file and knows the old passphrase can still decrypt the backups, and another server restoring this one\'s data accepts any key file. '
      + 'If that matters, rotate the master key: register anew and back up, then forget the old namespace\'s points (README, "Passphrase changes"). '
      + 'Keep the new passphrase in a safe place: without it the backups cannot be recovered.');
    ctx.sink.result('PassphraseChange', { serverId: repo.serverId, hostname: repo.record.hostname, vault: repo.location, changed: new Date().toISOString(), ...(savedIn ? { passphraseFile: savedIn } : {}) });
    // The advice to keep the passphrase safe is always given; a stale stored copy is a real problem.
    return stale ? ExitCode.CompletedWithWarnings : 0;
  },
};
