// Local state of this machine (FORMAT.md section 11): the configuration home with one registration per
// vault, and the default cache location. Nothing here is needed to restore; it saves typing and time.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { chmod, link, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pidAlive } from '../pid-alive.js';
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
  /**
   * The key file this server accepts (keys/<keyId>, FORMAT.md section 4): set at registration and by a
   * passphrase change, so a key file of an old passphrase put back into the vault does not open the
   * namespace on this server. Registrations of earlier engines lack it; the first open pins the key used.
   */
  keyId?: string;
  /**
   * The newest recovery point this server wrote (FORMAT.md section 11), moved back by a forget of that
   * point; null when a forget left none. A point missing from the vault is AZB_POINT_MISSING.
   */
  lastPoint?: { id: string; time: string } | null;
  /** Certificates this server renewed away from (FORMAT.md section 3): they signed only the points their renewal lists. */
  retired?: string[];
  /** A replicated namespace (online protection, FORMAT.md section 14): the ID of the disk vault whose namespace this one copies. */
  replicaOf?: string;
}

/** The configuration home: AZBACKUP_HOME, else a per-OS default. */
export function homeDir(): string {
  const env = process.env['AZBACKUP_HOME'];
  if (env) return env;
  if (process.platform === 'win32') return join(process.env['ProgramData'] ?? 'C:\\ProgramData', 'AzBackup');
  if (process.getuid?.() === 0) return '/var/lib/azbackup';
  return join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'azbackup');
}

/** The cache location: --cache-dir, else AZBACKUP_CACHE, else the machine setting, else <home>/cache. */
export function cacheDir(explicit?: string): string {
  return explicit ?? process.env['AZBACKUP_CACHE'] ?? settingsCacheLocation() ?? join(homeDir(), 'cache');
}

/** The cacheLocation of settings.json, read synchronously (a small file; cacheDir is synchronous). */
function settingsCacheLocation(): string | undefined {
  try {
    const s = JSON.parse(readFileSync(join(homeDir(), 'settings.json'), 'utf8')) as { cacheLocation?: unknown };
    return typeof s.cacheLocation === 'string' && s.cacheLocation !== '' ? s.cacheLocation : undefined;
  } catch {
    return undefined; // no settings (or damaged ones, which settings commands report)
  }
}

function registrationsDir(): string {
  return join(homeDir(), 'registrations');
}

/** Mode of every folder of the configuration home, the home itself included (FORMAT.md section 11). */
export const HOME_DIR_MODE = 0o700;
/** Mode of every file of the configuration home. */
export const HOME_FILE_MODE = 0o600;

/**
 * Creates a folder of the configuration home (and the home) readable by its owner only, and narrows
 * the home and the folder to 0700 when they exist with wider modes (a home made by hand, a umask of
 * 000): the home holds the signing key and the job history.
 */
async function ensureDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir, HOME_DIR_MODE);
    for (const d of new Set([homeDir(), dir])) {
      const st = await stat(d).catch(() => undefined);
      if (st && (st.mode & 0o777) !== HOME_DIR_MODE && (process.getuid === undefined || st.uid === process.getuid())) await chmod(d, HOME_DIR_MODE);
    }
  } catch (err) {
    throw new AzbError('AZB_HOME_UNUSABLE', `Cannot create the AzBackup configuration folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
      target: dir, hint: 'Set AZBACKUP_HOME to a folder this account can write.',
    });
  }
}

/** ensureDir for the job history, which opens synchronously: the home folder at 0700. */
export function secureHomeSync(): void {
  if (process.platform === 'win32') return;
  const home = homeDir();
  const st = statSync(home, { throwIfNoEntry: false });
  if (st && (st.mode & 0o777) !== HOME_DIR_MODE && (process.getuid === undefined || st.uid === process.getuid())) chmodSync(home, HOME_DIR_MODE);
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

/**
 * A JSON file of the configuration home: undefined when it does not exist, AZB_HOME_UNUSABLE (with the
 * caller's hint on how to make it again) when it does not parse.
 */
export async function readHomeJson<T>(path: string, what: string, hint: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(err, path, what);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AzbError('AZB_HOME_UNUSABLE', `${what} ${path} is damaged: ${(err as Error).message}.`, { target: path, hint });
  }
}

/**
 * Replaces a file of the configuration home atomically (temp + rename), readable by its owner only
 * (0600 whatever the umask: the mode is set on the open file, not left to the umask).
 */
export async function writePrivate(path: string, data: Buffer | string, what = 'File'): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', HOME_FILE_MODE);
    try {
      if (process.platform !== 'win32') await fh.chmod(HOME_FILE_MODE);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
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

/**
 * Changes this machine's registration with a vault (read, change, write back). The registration must
 * still be the one for `serverId`; otherwise nothing is written and undefined is returned.
 */
export async function updateRegistration(vaultId: string, serverId: string, change: (reg: Registration) => void): Promise<Registration | undefined> {
  const path = join(registrationsDir(), `${vaultId}.json`);
  let reg: Registration;
  try {
    reg = JSON.parse(await readFile(path, 'utf8')) as Registration;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AzbError('AZB_HOME_UNUSABLE', `Registration file ${path} cannot be read: ${(err as Error).message}.`, { target: path, hint: 'Remove the file and register again.' });
  }
  if (reg.serverId !== serverId || reg.vaultId !== vaultId) return undefined;
  change(reg);
  await writePrivate(path, JSON.stringify(reg, null, 2) + '\n', 'Registration file');
  return reg;
}

/**
 * Forgets this machine's registration with a vault (unregister): the sealed signing key first, the
 * registration file last, so a removal cut short still finds the registration and can be run again.
 * Returns the files removed.
 */
export async function removeRegistration(vaultId: string): Promise<string[]> {
  const removed: string[] = [];
  for (const path of [join(registrationsDir(), `${vaultId}.key`), join(registrationsDir(), `${vaultId}.json`)]) {
    try {
      await unlink(path);
      removed.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, path, 'Registration file');
    }
  }
  return removed;
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

/** How long a registration waits for another one of the same vault on this machine before it gives up. */
const REGISTRATION_LOCK_WAIT_MS = 120_000;
const REGISTRATION_LOCK_POLL_MS = 50;

/**
 * Runs `fn` while this machine holds the registration lock of a vault (`registrations/<vaultId>.lock`,
 * created exclusively, holding the owner's pid and a nonce; FORMAT.md section 11), so that registrations
 * started at once (a startup script and an admin, a fan-out run twice) make one namespace, not several.
 * Waits for a live holder, up to two minutes (then AZB_REGISTRATION_IN_PROGRESS); takes over the lock of
 * a process that is gone.
 */
export async function withRegistrationLock<T>(vaultId: string, fn: () => Promise<T>, waitMs = REGISTRATION_LOCK_WAIT_MS): Promise<T> {
  await ensureDir(registrationsDir());
  const path = join(registrationsDir(), `${vaultId}.lock`);
  const mine = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx', HOME_FILE_MODE);
      try { await fh.writeFile(mine); } finally { await fh.close(); }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(err, path, 'Registration lock');
    }
    const held = await readFile(path, 'utf8').catch(() => undefined);
    if (held === undefined) continue; // released between our attempt and the read
    const pid = Number.parseInt(held, 10);
    if (!Number.isInteger(pid) || !pidAlive(pid)) {
      // Its holder is gone. Move it aside first, and drop it only if it is still the stale one we read:
      // another process may have taken over and written a fresh lock in the meantime.
      const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
      if (await rename(path, aside).then(() => true, () => false)) {
        const moved = await readFile(aside, 'utf8').catch(() => undefined);
        // link, not rename: it never replaces a lock that appeared meanwhile.
        if (moved !== held) await link(aside, path).catch(() => undefined);
        await unlink(aside).catch(() => undefined);
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new AzbError('AZB_REGISTRATION_IN_PROGRESS', `Another registration with this vault is in progress on this machine (process ${pid}) and has not ended within ${Math.round(waitMs / 1000)} s.`, {
        target: path, hint: `Let that registration end (or stop process ${pid}), then run this one again: once this server is registered, registering again with the same certificate and host name changes nothing.`,
      });
    }
    // Jittered, so that waiters started together do not all retry together.
    await new Promise((r) => setTimeout(r, REGISTRATION_LOCK_POLL_MS * (0.5 + Math.random())));
  }
  try {
    return await fn();
  } finally {
    // Only our own lock: never one another process took over.
    if ((await readFile(path, 'utf8').catch(() => undefined)) === mine) await unlink(path).catch(() => undefined);
  }
}
