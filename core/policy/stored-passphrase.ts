// The passphrase for unattended runs (Set-AzBackupPolicy -StorePassphrase), kept on this server only and
// only when the admin asks. Where systemd runs the schedule: a credential encrypted by systemd-creds
// (with the host key, and the TPM where there is one), handed to the service by LoadCredentialEncrypted=.
// Elsewhere (cron): an owner-only 0600 file in the configuration home, which is root's when root runs
// the schedule. On Windows: encrypted with DPAPI, machine scope (the task runs as SYSTEM), by Windows
// PowerShell, which every Windows has (Node cannot call DPAPI without a native add-on). It never goes
// into a unit file, a command line, an environment or a log.
import { spawn } from 'node:child_process';
import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, writePrivate } from '../config/home.js';
import { readSecretFile } from '../config/secret-file.js';
import { AzbError, fileError } from '../protocol/errors.js';

/** The credential name the service unit loads it under ($CREDENTIALS_DIRECTORY/<name>). */
export const CREDENTIAL_NAME = 'azbackup-passphrase';

export type StoreMethod = 'systemd-creds' | 'dpapi' | 'file';

/** Where the Windows helpers are (tests give stand-ins for powershell.exe and icacls.exe). */
export interface StoreOptions { windowsPowerShell?: string; icacls?: string }

export function passphraseFile(vaultId: string): string {
  return join(homeDir(), 'registrations', `${vaultId}.passphrase`);
}

export function credentialFile(vaultId: string): string {
  return join(homeDir(), 'registrations', `${vaultId}.passphrase.cred`);
}

export function dpapiFile(vaultId: string): string {
  return join(homeDir(), 'registrations', `${vaultId}.passphrase.dpapi`);
}

/** Every file a stored passphrase may be in, with its method (the first found wins). */
function storedFiles(vaultId: string): [StoreMethod, string][] {
  return [['systemd-creds', credentialFile(vaultId)], ['dpapi', dpapiFile(vaultId)], ['file', passphraseFile(vaultId)]];
}

/** A program of Windows by its full path (not found through PATH). */
function system32(...parts: string[]): string {
  return join(process.env['SystemRoot'] ?? 'C:\\Windows', 'System32', ...parts);
}

/**
 * What a Windows system program needs of the environment, and nothing else: no AZBACKUP_* variable
 * (a passphrase given in the environment) reaches it.
 */
function windowsEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['SystemRoot', 'windir', 'SystemDrive', 'ProgramData', 'PATH', 'PATHEXT', 'ComSpec', 'TEMP', 'TMP', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA', 'HOME']) {
    if (process.env[k] !== undefined) env[k] = process.env[k]!;
  }
  return env;
}

/** Base64 as the DPAPI script writes it: anything else (a stray line on stdout) is an error, not a blob. */
function strictBase64(text: string): Buffer {
  const t = text.trim();
  if (t.length === 0 || t.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new Error('it did not answer with base64');
  return Buffer.from(t, 'base64');
}

/**
 * Windows: the file readable and writable by SYSTEM and the Administrators only, with no inherited
 * entries (%ProgramData% lets every user read by default). Well-known SIDs, so that localized names of
 * the accounts do not matter.
 */
async function restrictToAdministrators(path: string, o: StoreOptions): Promise<void> {
  await runWithStdin(o.icacls ?? system32('icacls.exe'), [path, '/inheritance:r', '/grant:r', '*S-1-5-18:F', '*S-1-5-32-544:F'], '', windowsEnvironment());
}

// The DPAPI scripts: base64 in on stdin, base64 out on stdout (the console's code page cannot garble
// it); an error is one plain line on stderr (not the CLIXML that -EncodedCommand gives uncaught errors).
// The entropy ties the blob to this use: another program's LocalMachine blob does not decrypt here.
function dpapiScript(call: 'Protect' | 'Unprotect'): string {
  return `$ErrorActionPreference = 'Stop'
try {
  Add-Type -AssemblyName System.Security
  $entropy = [System.Text.Encoding]::UTF8.GetBytes('azbackup stored passphrase v1')
  $in = [System.Convert]::FromBase64String([System.Console]::In.ReadToEnd().Trim())
  $out = [System.Security.Cryptography.ProtectedData]::${call}($in, $entropy, [System.Security.Cryptography.DataProtectionScope]::LocalMachine)
  [System.Console]::Out.Write([System.Convert]::ToBase64String($out))
} catch {
  $e = $_.Exception
  while ($e.InnerException) { $e = $e.InnerException }
  [System.Console]::Error.WriteLine($e.Message)
  exit 1
}`;
}

/** Protects or unprotects bytes with DPAPI (machine scope) through Windows PowerShell; secrets only on stdin/stdout. */
function dpapi(op: 'protect' | 'unprotect', input: Buffer, o: StoreOptions): Promise<Buffer> {
  const script = Buffer.from(dpapiScript(op === 'protect' ? 'Protect' : 'Unprotect'), 'utf16le').toString('base64');
  return runWithStdin(o.windowsPowerShell ?? system32('WindowsPowerShell', 'v1.0', 'powershell.exe'), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', script], input.toString('base64'), windowsEnvironment())
    .then(strictBase64);
}

/** Runs a program with `input` on stdin (never an argument); its stdout, or an error with its last stderr line. */
function runWithStdin(file: string, args: string[], input: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env, windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${file} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? ''}`));
    });
    child.stdin.on('error', () => undefined); // a child that exits early; its exit code says why
    child.stdin.end(input);
  });
}

/** Runs systemd-creds with the secret on stdin (never an argument); its stdout. */
function systemdCreds(args: string[], input?: string): Promise<string> {
  // The child gets no secret in its environment: only what it needs to run.
  return runWithStdin('systemd-creds', args, input ?? '', { PATH: process.env['PATH'] ?? '/usr/bin:/bin' })
    .catch((err: Error) => { throw new Error(err.message.replace(/^systemd-creds exited/, `systemd-creds ${args[0]} exited`)); });
}

/** Removes the stored copies other than the one at `keep`. */
async function removeOthers(vaultId: string, keep: string): Promise<void> {
  for (const [, path] of storedFiles(vaultId)) if (path !== keep) await unlink(path).catch(() => undefined);
}

/** Stores the passphrase for this vault's unattended runs; says how and where. */
export async function storePassphrase(vaultId: string, passphrase: string, method: StoreMethod, o: StoreOptions = {}): Promise<{ method: StoreMethod; path: string }> {
  if (method === 'systemd-creds' || method === 'dpapi') {
    const path = method === 'dpapi' ? dpapiFile(vaultId) : credentialFile(vaultId);
    try {
      // Encrypted into a private file: the credential's mode follows the file written here.
      const sealed = method === 'dpapi'
        ? (await dpapi('protect', Buffer.from(passphrase, 'utf8'), o)).toString('base64')
        : await systemdCreds(['encrypt', `--name=${CREDENTIAL_NAME}`, '-', '-'], passphrase);
      if (sealed.length === 0) throw new Error('it gave no output');
      await writePrivate(path, sealed, 'Stored passphrase');
      if (method === 'dpapi') {
        // Machine-scope DPAPI opens for any account of the machine: the file's ACL is what keeps users out.
        try {
          await restrictToAdministrators(path, o);
        } catch (err) {
          await unlink(path).catch(() => undefined);
          throw new Error(`its access could not be limited to SYSTEM and the Administrators (icacls: ${(err as Error).message})`);
        }
      }
    } catch (err) {
      if (err instanceof AzbError) throw err;
      throw new AzbError('AZB_PASSPHRASE_STORE_FAILED', method === 'dpapi'
        ? `The passphrase could not be encrypted with DPAPI (Windows PowerShell): ${(err as Error).message}.`
        : `The passphrase could not be encrypted with systemd-creds: ${(err as Error).message}.`, {
        target: path, hint: method === 'dpapi'
          ? 'Run as an administrator on a Windows with Windows PowerShell 5.1 (powershell.exe in System32), or give the passphrase to each run instead.'
          : 'Run as root on a system with systemd-creds, or remove the systemd scheduler setting (AZBACKUP_SCHEDULER) to use a root-only file.',
      });
    }
    await removeOthers(vaultId, path);
    return { method, path };
  }
  const path = passphraseFile(vaultId);
  await writePrivate(path, passphrase, 'Stored passphrase');
  await removeOthers(vaultId, path);
  return { method, path };
}

/** Where this vault's passphrase is stored, if it is. */
export async function storedPassphraseInfo(vaultId: string): Promise<{ method: StoreMethod; path: string } | undefined> {
  for (const [method, path] of storedFiles(vaultId)) {
    if (await stat(path).then(() => true, () => false)) return { method, path };
  }
  return undefined;
}

/**
 * The stored passphrase for a vault: the credential systemd handed to this service, else the
 * credential decrypted here (root), else the DPAPI blob decrypted here (Windows), else the owner-only
 * file. Undefined when none is stored.
 */
export async function readStoredPassphrase(vaultId: string, o: StoreOptions = {}): Promise<string | undefined> {
  const dir = process.env['CREDENTIALS_DIRECTORY'];
  if (dir) {
    const text = await readFile(join(dir, CREDENTIAL_NAME), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  const info = await storedPassphraseInfo(vaultId);
  if (!info) return undefined;
  if (info.method === 'file') return readSecretFile(info.path, 'stored passphrase', { ownerOnly: true });
  try {
    if (info.method === 'dpapi') {
      const blob = Buffer.from((await readFile(info.path, 'utf8')).trim(), 'base64');
      return (await dpapi('unprotect', blob, o)).toString('utf8');
    }
    return await systemdCreds(['decrypt', `--name=${CREDENTIAL_NAME}`, info.path, '-']);
  } catch (err) {
    throw new AzbError('AZB_PASSPHRASE_STORE_FAILED', `The stored passphrase ${info.path} cannot be decrypted: ${(err as Error).message}.`, {
      target: info.path, hint: info.method === 'dpapi'
        ? 'Store it again with Set-AzBackupPolicy -StorePassphrase on this machine (a DPAPI machine-scope blob opens only on the machine that made it).'
        : 'Store it again with Set-AzBackupPolicy -StorePassphrase (as root, on this machine: the credential is bound to its host key).',
    });
  }
}

/** Removes the stored passphrase of a vault, if any. */
export async function forgetStoredPassphrase(vaultId: string): Promise<boolean> {
  let removed = false;
  for (const [, path] of storedFiles(vaultId)) {
    try { await unlink(path); removed = true; } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, path, 'Stored passphrase'); }
  }
  return removed;
}
