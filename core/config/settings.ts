// Machine settings (like MARS Set-OBMachineSetting): bandwidth throttling by work hours, proxy, upload
// concurrency. Stored in the configuration home as settings.json; they apply to every vault in the cloud
// (Azure), not to folders. A proxy password lives beside it in its own owner-only file (proxy.secret).
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, writePrivate } from './home.js';
import { AzbError, fileError } from '../protocol/errors.js';
import type { SnapshotProviderSettings } from '../snapshot/provider.js';

/** Days of the week as the settings name them (0 = Sunday, as Date.getDay()). */
export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** Throttling: work hours on work days at one rate, the rest at another (bytes per second). */
export interface ThrottleSettings { workDays: number[]; startWorkHour: number; endWorkHour: number; workHourBandwidth: number; nonWorkHourBandwidth: number }

/**
 * An HTTP(S) proxy for cloud vaults. Its password is not in settings.json: it is in proxy.secret (mode
 * 0600, like a .netrc: protected by file permissions, since it must work before any passphrase is given),
 * or in AZBACKUP_PROXY_PASSWORD, which wins.
 */
export interface ProxySettings { server: string; port: number; username?: string }

/** Everything in settings.json. */
export interface MachineSettings {
  throttle?: ThrottleSettings; proxy?: ProxySettings; uploadConcurrency?: number;
  /** The cache location (Set-AzBackupMachineSetting -CacheLocation); --cache-dir and AZBACKUP_CACHE win. */
  cacheLocation?: string;
  /** Where policy runs write Prometheus metrics (node_exporter's textfile collector); none when absent. */
  metricsFile?: string;
  /** The snapshot provider (core/snapshot/provider.ts): create and remove commands, time-out. */
  snapshotProvider?: SnapshotProviderSettings;
}

/** Packs (and blocks of a large object) uploaded at once to a cloud vault unless the settings say otherwise. */
export const DEFAULT_UPLOAD_CONCURRENCY = 4;
/** Most uploads at once the settings accept (each holds a pack of up to 16 MiB in memory). */
export const MAX_UPLOAD_CONCURRENCY = 32;

/** The proxy options for the Azure client, or undefined (then HTTPS_PROXY / HTTP_PROXY apply). */
export async function proxyFor(s: MachineSettings): Promise<{ host: string; port: number; username?: string; password?: string } | undefined> {
  if (!s.proxy) return undefined;
  const host = /^[a-z]+:\/\//i.test(s.proxy.server) ? s.proxy.server : `http://${s.proxy.server}`;
  if (!s.proxy.username) return { host, port: s.proxy.port };
  const password = process.env['AZBACKUP_PROXY_PASSWORD'] ?? await readProxyPassword();
  return { host, port: s.proxy.port, username: s.proxy.username, ...(password ? { password } : {}) };
}

function proxySecretPath(): string {
  return join(homeDir(), 'proxy.secret');
}

/** The stored proxy password, or undefined when none is stored. */
export async function readProxyPassword(): Promise<string | undefined> {
  try {
    return await readFile(proxySecretPath(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(err, proxySecretPath(), 'Proxy password file');
  }
}

/** Stores (or, with undefined, removes) the proxy password in an owner-only file. */
export async function writeProxyPassword(password: string | undefined): Promise<void> {
  if (password === undefined) {
    await unlink(proxySecretPath()).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw fileError(err, proxySecretPath(), 'Proxy password file'); });
    return;
  }
  await writePrivate(proxySecretPath(), password, 'Proxy password file');
}

/** Checks the upload concurrency setting. */
export function checkUploadConcurrency(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_UPLOAD_CONCURRENCY) {
    throw new AzbError('AZB_ARGS_INVALID', `Upload concurrency ${n} is not a whole number from 1 to ${MAX_UPLOAD_CONCURRENCY}.`, { target: 'uploadConcurrency', hint: `Default ${DEFAULT_UPLOAD_CONCURRENCY}; each upload in flight holds one pack (up to 16 MiB) in memory.` });
  }
  return n;
}

/** Checks proxy settings. */
export function checkProxy(p: ProxySettings): ProxySettings {
  const bad = (target: string, message: string) => new AzbError('AZB_ARGS_INVALID', message, { target, hint: 'Example: --proxy-server proxy.contoso.com --proxy-port 8080' });
  if (!/^([a-z]+:\/\/)?[A-Za-z0-9.-]+$/.test(p.server) && !/^([a-z]+:\/\/)?\[[0-9a-fA-F:]+\]$/.test(p.server)) throw bad('proxyServer', `'${p.server}' is not a proxy host name.`);
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw bad('proxyPort', `Proxy port ${p.port} is not between 1 and 65535.`);
  return p;
}

/** Lowest bandwidth accepted (bytes per second): below it a backup would never finish. */
export const MIN_BANDWIDTH = 64 * 1024;

function settingsPath(): string {
  return join(homeDir(), 'settings.json');
}

/** The machine settings (empty when none were set). */
export async function readSettings(): Promise<MachineSettings> {
  try {
    return JSON.parse(await readFile(settingsPath(), 'utf8')) as MachineSettings;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (err instanceof SyntaxError) throw new AzbError('AZB_HOME_UNUSABLE', `${settingsPath()} is not valid JSON.`, { target: settingsPath(), hint: 'Set the machine settings again, or delete the file.' });
    throw fileError(err, settingsPath(), 'Settings file');
  }
}

/** Replaces the machine settings. */
export async function writeSettings(s: MachineSettings): Promise<void> {
  await writePrivate(settingsPath(), JSON.stringify(s, null, 2) + '\n', 'Settings file');
}

/** Checks throttle settings; throws a coded error naming the bad value. */
export function checkThrottle(t: ThrottleSettings): ThrottleSettings {
  const bad = (target: string, message: string) => new AzbError('AZB_ARGS_INVALID', message, { target, hint: 'See Get-Help Set-AzBackupMachineSetting / azbackup settings set --help.' });
  if (t.workDays.length === 0 || t.workDays.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) throw bad('workDays', 'Work days must be days of the week.');
  if (!Number.isInteger(t.startWorkHour) || !Number.isInteger(t.endWorkHour) || t.startWorkHour < 0 || t.endWorkHour > 24 || t.startWorkHour >= t.endWorkHour) {
    throw bad('startWorkHour', `Work hours ${t.startWorkHour}–${t.endWorkHour} are not a range within 0–24.`);
  }
  for (const k of ['workHourBandwidth', 'nonWorkHourBandwidth'] as const) {
    if (!Number.isFinite(t[k]) || t[k] < MIN_BANDWIDTH) throw bad(k, `${k} must be at least ${MIN_BANDWIDTH} bytes per second (64 KiB/s).`);
  }
  return t;
}

/** The upload rate in force at `now` (local time), or undefined without throttling. */
export function rateAt(s: MachineSettings, now: Date = new Date()): number | undefined {
  const t = s.throttle;
  if (!t) return undefined;
  const work = t.workDays.includes(now.getDay()) && now.getHours() >= t.startWorkHour && now.getHours() < t.endWorkHour;
  return work ? t.workHourBandwidth : t.nonWorkHourBandwidth;
}
