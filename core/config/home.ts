// Local state of this machine (FORMAT.md section 11): the configuration home with one registration per
// vault, and the default cache location. Nothing here is needed to restore; it saves typing and time.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decrypt, encrypt } from '../crypto/aead.js';
import { AzbError, fileError } from '../protocol/errors.js';
import { hkdfSync } from 'node:crypto';
import { makeDirs } from '../fs/make-dirs.js';

/** What this machine remembers about its registration with one vault. */
export interface Registration {
  vaultId: string;
  /** Vault location as given at registration (folder path or URL without credentials). */
  vault: string;
  serverId: string;
  hostname: string;
  certificate: string;
  registered: string;
}

/** The configuration home: AZBACKUP_HOME, else a per-OS default. */
export function homeDir(): string {
  const env = process.env['AZBACKUP_HOME'];
  if (env) return env;
  if (process.platform === 'win32') return join(process.env['ProgramData'] ?? 'C:\\ProgramData', 'AzBackup');
  if (process.getuid?.() === 0) return '/var/lib/azbackup';
  return join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'azbackup');
}

/** The cache location: --cache-dir, else AZBACKUP_CACHE, else <home>/cache. */
export function cacheDir(explicit?: string): string {
  return explicit ?? process.env['AZBACKUP_CACHE'] ?? join(homeDir(), 'cache');
}

function registrationsDir(): string {
  return join(homeDir(), 'registrations');
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir, 0o700);
  } catch (err) {
    throw new AzbError('AZB_HOME_UNUSABLE', `Cannot create the AzBackup configuration folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
      target: dir, hint: 'Set AZBACKUP_HOME to a folder this account can write.',
    });
  }
}

/** Every registration on this machine. */
export async function listRegistrations(): Promise<Registration[]> {
  let names: string[];
  try {
    names = await readdir(registrationsDir());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, registrationsDir(), 'Registrations folder');
  }
  const out: Registration[] = [];
  for (const n of names.filter((x) => /^[0-9a-f]{32}\.json$/.test(x)).sort()) {
    try {
      out.push(JSON.parse(await readFile(join(registrationsDir(), n), 'utf8')) as Registration);
    } catch (err) {
      throw new AzbError('AZB_HOME_UNUSABLE', `Registration file ${n} is damaged: ${(err as Error).message}.`, { target: join(registrationsDir(), n), hint: 'Remove the file and register again.' });
    }
  }
  return out;
}

/** The registration for a vault, if this machine has one. */
export async function findRegistration(vaultId: string): Promise<Registration | undefined> {
  return (await listRegistrations()).find((r) => r.vaultId === vaultId);
}

function signingKeyKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), Buffer.from('azbackup-v1 local-signing-key', 'utf8'), 32));
}

/** Replaces a file of the configuration home atomically (temp + rename), readable by its owner only. */
export async function writePrivate(path: string, data: Buffer | string, what = 'File'): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(err, path, what);
  }
}

/**
 * Saves a registration and the certificate's private key (needed to sign recovery points), the key
 * encrypted with a key derived from the server's master key, so it is useless without the passphrase.
 */
export async function saveRegistration(reg: Registration, privateKey: KeyObject, masterKey: Buffer): Promise<void> {
  await ensureDir(registrationsDir());
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const aad = Buffer.from(`azbackup-local-key:${reg.serverId}`, 'utf8');
  await writePrivate(join(registrationsDir(), `${reg.vaultId}.key`), encrypt(signingKeyKey(masterKey), aad, der));
  await writePrivate(join(registrationsDir(), `${reg.vaultId}.json`), JSON.stringify(reg, null, 2) + '\n');
}

/** Loads the signing key of a registration, given the server's master key. */
export async function loadSigningKey(reg: Registration, masterKey: Buffer): Promise<KeyObject> {
  const path = join(registrationsDir(), `${reg.vaultId}.key`);
  let sealed: Buffer;
  try {
    sealed = await readFile(path);
  } catch (err) {
    throw fileError(err, path, 'Signing key');
  }
  const der = decrypt(signingKeyKey(masterKey), Buffer.from(`azbackup-local-key:${reg.serverId}`, 'utf8'), sealed);
  if (!der) throw new AzbError('AZB_HOME_UNUSABLE', `The signing key ${path} does not open with this server's key.`, { target: path, hint: 'Register this server again.' });
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}
