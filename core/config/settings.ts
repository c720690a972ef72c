// Machine settings (like MARS Set-OBMachineSetting): bandwidth throttling by work hours. Stored in the
// configuration home as settings.json; they apply to every vault in the cloud (Azure), not to folders.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { homeDir } from './home.js';
import { AzbError, fileError } from '../protocol/errors.js';

/** Days of the week as the settings name them (0 = Sunday, as Date.getDay()). */
export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** Throttling: work hours on work days at one rate, the rest at another (bytes per second). */
export interface ThrottleSettings { workDays: number[]; startWorkHour: number; endWorkHour: number; workHourBandwidth: number; nonWorkHourBandwidth: number }

/** An HTTP(S) proxy for cloud vaults. The password is never stored: it comes from AZBACKUP_PROXY_PASSWORD. */
export interface ProxySettings { server: string; port: number; username?: string }

/** Everything in settings.json. */
export interface MachineSettings { throttle?: ThrottleSettings; proxy?: ProxySettings }

/** The proxy options for the Azure client, or undefined (then HTTPS_PROXY / HTTP_PROXY apply). */
export function proxyFor(s: MachineSettings): { host: string; port: number; username?: string; password?: string } | undefined {
  if (!s.proxy) return undefined;
  const host = /^[a-z]+:\/\//i.test(s.proxy.server) ? s.proxy.server : `http://${s.proxy.server}`;
  const password = process.env['AZBACKUP_PROXY_PASSWORD'];
  return { host, port: s.proxy.port, ...(s.proxy.username ? { username: s.proxy.username, ...(password ? { password } : {}) } : {}) };
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
  await mkdir(homeDir(), { recursive: true, mode: 0o700 }).catch(() => undefined);
  const tmp = `${settingsPath()}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, settingsPath());
  } catch (err) {
    throw fileError(err, settingsPath(), 'Settings file');
  }
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
