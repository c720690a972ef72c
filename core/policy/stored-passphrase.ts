// The passphrase for unattended runs (Set-AzBackupPolicy -StorePassphrase), kept on this server only and
// only when the admin asks. Where systemd runs the schedule: a credential encrypted by systemd-creds
// (with the host key, and the TPM where there is one), handed to the service by LoadCredentialEncrypted=.
// Elsewhere (cron): an owner-only 0600 file in the configuration home, which is root's when root runs
// the schedule. It never goes into a unit file, a command line, an environment or a log.
import { spawn } from 'node:child_process';
import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, writePrivate } from '../config/home.js';
import { readSecretFile } from '../config/secret-file.js';
import { AzbError, fileError } from '../protocol/errors.js';

/** The credential name the service unit loads it under ($CREDENTIALS_DIRECTORY/<name>). */
export const CREDENTIAL_NAME = 'azbackup-passphrase';

export type StoreMethod = 'systemd-creds' | 'file';

export function passphraseFile(vaultId: string): string {
  return join(homeDir(), 'registrations', `${vaultId}.passphrase`);
}

export function credentialFile(vaultId: string): string {
  return join(homeDir(), 'registrations', `${vaultId}.passphrase.cred`);
}

/** Runs systemd-creds with the secret on stdin (never an argument); its stdout. */
function systemdCreds(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The child gets no secret in its environment: only what it needs to run.
    const child = spawn('systemd-creds', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`systemd-creds ${args[0]} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? ''}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Stores the passphrase for this vault's unattended runs; says how and where. */
export async function storePassphrase(vaultId: string, passphrase: string, method: StoreMethod): Promise<{ method: StoreMethod; path: string }> {
  if (method === 'systemd-creds') {
    const path = credentialFile(vaultId);
    try {
      // Encrypted into a private file: the credential's mode follows the file written here.
      const sealed = await systemdCreds(['encrypt', `--name=${CREDENTIAL_NAME}`, '-', '-'], passphrase);
      await writePrivate(path, sealed, 'Stored passphrase');
    } catch (err) {
      if (err instanceof AzbError) throw err;
      throw new AzbError('AZB_PASSPHRASE_STORE_FAILED', `The passphrase could not be encrypted with systemd-creds: ${(err as Error).message}.`, {
        target: path, hint: 'Run as root on a system with systemd-creds, or remove the systemd scheduler setting (AZBACKUP_SCHEDULER) to use a root-only file.',
      });
    }
    await unlink(passphraseFile(vaultId)).catch(() => undefined);
    return { method, path };
  }
  const path = passphraseFile(vaultId);
  await writePrivate(path, passphrase, 'Stored passphrase');
  await unlink(credentialFile(vaultId)).catch(() => undefined);
  return { method, path };
}

/** Where this vault's passphrase is stored, if it is. */
export async function storedPassphraseInfo(vaultId: string): Promise<{ method: StoreMethod; path: string } | undefined> {
  for (const [method, path] of [['systemd-creds', credentialFile(vaultId)], ['file', passphraseFile(vaultId)]] as const) {
    if (await stat(path).then(() => true, () => false)) return { method, path };
  }
  return undefined;
}

/**
 * The stored passphrase for a vault: the credential systemd handed to this service, else the
 * credential decrypted here (root), else the owner-only file. Undefined when none is stored.
 */
export async function readStoredPassphrase(vaultId: string): Promise<string | undefined> {
  const dir = process.env['CREDENTIALS_DIRECTORY'];
  if (dir) {
    const text = await readFile(join(dir, CREDENTIAL_NAME), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  const info = await storedPassphraseInfo(vaultId);
  if (!info) return undefined;
  if (info.method === 'file') return readSecretFile(info.path, 'stored passphrase', { ownerOnly: true });
  try {
    return await systemdCreds(['decrypt', `--name=${CREDENTIAL_NAME}`, info.path, '-']);
  } catch (err) {
    throw new AzbError('AZB_PASSPHRASE_STORE_FAILED', `The stored passphrase ${info.path} cannot be decrypted: ${(err as Error).message}.`, {
      target: info.path, hint: 'Store it again with Set-AzBackupPolicy -StorePassphrase (as root, on this machine: the credential is bound to its host key).',
    });
  }
}

/** Removes the stored passphrase of a vault, if any. */
export async function forgetStoredPassphrase(vaultId: string): Promise<boolean> {
  let removed = false;
  for (const path of [credentialFile(vaultId), passphraseFile(vaultId)]) {
    try { await unlink(path); removed = true; } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, path, 'Stored passphrase'); }
  }
  return removed;
}
