// The fleet report (README "Fleet report"): for every server namespace of a vault, when it last backed
// up, how much it stores and how fast that grows, its locks and its certificate, and a status that says
// whether it needs a look and why. It reads only what the vault shows without a passphrase (FORMAT.md
// section 3, "What a reader without the passphrase may rely on"): one listing of servers/, then the few
// small plain objects of each server (server.json, renewals, certificates, locks), several at a time.
import { hostname as osHostname } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError, leasingOf, type ObjectInfo } from '../storage/storage.js';
import { forEachLimit } from '../repo/for-each-limit.js';
import { isLockRecord, isStale, LOCK_LEASE_SECONDS, type LockRecord } from '../repo/locks.js';
import { foldRenewals, loadCertificate, verifyRegistration, type ServerRecord } from '../repo/registration.js';
import { vaultError } from '../repo/storage-errors.js';
import type { Vault } from '../repo/vault.js';
import { CERT_EXPIRY_WARNING_DAYS } from '../commands/cert-expiry.js';

/** Default of --max-age-hours: "which servers have not backed up since yesterday". */
export const DEFAULT_MAX_AGE_HOURS = 24;
/** Servers read at once (server.json, renewals, certificate, locks: a few small gets each). */
const SERVER_READ_CONCURRENCY = 8;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Worst first: the order of the report. */
export type FleetStatus = 'Critical' | 'Warning' | 'OK';
const SEVERITY: Record<FleetStatus, number> = { Critical: 2, Warning: 1, OK: 0 };

/** One finding about a server: a stable code, how bad, and a sentence that says why. */
export interface FleetFinding { code: string; status: FleetStatus; text: string }

/** One row of the report (result.FleetServer.schema.json). */
export interface FleetServer {
  serverId: string;
  /** Null when server.json is damaged and names none. */
  hostname: string | null;
  status: FleetStatus;
  /** The findings' sentences, worst first; for a healthy server, when it last backed up. */
  reason: string;
  /** The findings' codes, worst first (empty when OK). */
  codes: string[];
  registered: string | null;
  certificate: string | null;
  certificateExpires: string | null;
  /** Whether server.json's proof (and its renewals) verify; null when the record is damaged. */
  proofValid: boolean | null;
  lastPoint: string | null;
  ageHours: number | null;
  pointCount: number;
  packCount: number;
  storedBytes: number;
  /** Average bytes of packs written per day over the last 7 and 30 days. */
  bytesPerDay7: number;
  bytesPerDay30: number;
  activeLocks: number;
  staleLocks: number;
  /** One line per lock object: type, holder, operation, since when, and whether it is stale. */
  locks: string[];
}

/** A day of the vault's growth: bytes of packs written that day, and the total up to it. */
export interface GrowthDay { date: string; addedBytes: number; storedBytes: number }

/** The whole report (result.FleetReport.schema.json without the HTML path). */
export interface FleetReport {
  vault: string;
  vaultId: string;
  generated: string;
  maxAgeHours: number;
  servers: FleetServer[];
  growth: GrowthDay[];
}

/** How to read the report. `warn`: damage of vault objects (a server record, a lock object), besides its row's code. */
export interface FleetOptions { now: Date; maxAgeHours: number; signal?: AbortSignal; warn?: (code: string, message: string, target: string) => void }

/** What the listing shows of one namespace. */
interface Listed {
  serverJson: boolean;
  pointCount: number;
  /** Write time of the newest point object (ms), where the store tells it. */
  lastPoint?: number;
  packCount: number;
  storedBytes: number;
  added7: number;
  added30: number;
  locks: ObjectInfo[];
}

const THUMBPRINT = /^[0-9A-F]{40}$/;

/** Reads the report of a vault, as of `now`. Storage failures (denied, unreachable) fail it; damage does not. */
export async function readFleetReport(vault: Vault, o: FleetOptions): Promise<FleetReport> {
  // Totals are summed while listing: a vault of many servers can hold millions of packs.
  const namespaces = new Map<string, Listed>();
  const byDay = new Map<string, number>();
  const now = o.now.getTime();
  try {
    for await (const obj of vault.store.list('servers/')) {
      const m = /^servers\/([0-9a-f]{64})\/(server\.json|points\/[^/]+|packs\/[0-9a-f]{2}\/[^/]+|locks\/[^/]+)$/.exec(obj.name);
      if (!m) continue;
      let ns = namespaces.get(m[1]!);
      if (!ns) namespaces.set(m[1]!, ns = { serverJson: false, pointCount: 0, packCount: 0, storedBytes: 0, added7: 0, added30: 0, locks: [] });
      const what = m[2]!;
      if (what === 'server.json') ns.serverJson = true;
      else if (what.startsWith('points/')) {
        ns.pointCount++;
        if (obj.modified !== undefined && (ns.lastPoint === undefined || obj.modified > ns.lastPoint)) ns.lastPoint = obj.modified;
      } else if (what.startsWith('packs/')) {
        ns.packCount++;
        ns.storedBytes += obj.size;
        if (obj.modified !== undefined) {
          if (obj.modified > now - 30 * DAY_MS) ns.added30 += obj.size;
          if (obj.modified > now - 7 * DAY_MS) ns.added7 += obj.size;
          const day = new Date(obj.modified).toISOString().slice(0, 10);
          byDay.set(day, (byDay.get(day) ?? 0) + obj.size);
        }
      } else ns.locks.push(obj);
    }
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the list of server namespaces');
  }
  stopIfCancelled(o.signal);
  // A namespace with neither server.json nor data is a registration cut short (FORMAT.md section 3).
  const ids = [...namespaces.keys()].filter((id) => { const ns = namespaces.get(id)!; return ns.serverJson || ns.pointCount > 0 || ns.packCount > 0; });
  const certificates = new Map<string, Promise<X509Certificate | AzbError | undefined>>();
  const certificate = (thumbprint: string) => {
    let p = certificates.get(thumbprint);
    if (!p) certificates.set(thumbprint, p = loadCertificate(vault, thumbprint).catch((err: unknown) => {
      if (err instanceof AzbError && err.code === 'AZB_OBJECT_DAMAGED') return err;
      throw err;
    }));
    return p;
  };
  const rows: FleetServer[] = [];
  await forEachLimit(ids, SERVER_READ_CONCURRENCY, async (id) => {
    stopIfCancelled(o.signal);
    rows.push(await serverRow(vault, id, namespaces.get(id)!, o, certificate));
  });
  rows.sort((a, b) => SEVERITY[b.status] - SEVERITY[a.status] || (b.ageHours ?? Infinity) - (a.ageHours ?? Infinity)
    || (a.hostname ?? '').localeCompare(b.hostname ?? '') || a.serverId.localeCompare(b.serverId));
  return {
    vault: vault.store.location, vaultId: vault.manifest.vaultId, generated: o.now.toISOString(), maxAgeHours: o.maxAgeHours,
    servers: rows, growth: growthByDay(byDay),
  };
}

/** A report asked to stop (Ctrl+C, Stop-AzBackupJob) stops between servers; it has written nothing. */
function stopIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AzbError('AZB_CANCELLED', 'The fleet report was cancelled.');
}

/** Packs' bytes by the UTC day each was written (packs without a time are left out), with the running total. */
function growthByDay(byDay: ReadonlyMap<string, number>): GrowthDay[] {
  let total = 0;
  return [...byDay.keys()].sort().map((date) => {
    total += byDay.get(date)!;
    return { date, addedBytes: byDay.get(date)!, storedBytes: total };
  });
}

/** What is wrong with a parsed server.json (FORMAT.md section 3), or undefined when its fields are right. */
function recordProblem(v: unknown, serverId: string): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'it is not a JSON object';
  const r = v as Record<string, unknown>;
  if (r['serverId'] !== serverId) return r['serverId'] === undefined ? 'it has no serverId' : 'its serverId is not the ID of its folder';
  if (typeof r['hostname'] !== 'string' || r['hostname'].length === 0 || r['hostname'].length > 253) return 'it has no host name of 1 to 253 characters';
  if (new RegExp(CONTROL.source).test(r['hostname'])) return 'its host name holds control characters';
  if (typeof r['created'] !== 'string' || Number.isNaN(Date.parse(r['created']))) return 'it has no registration time';
  if (typeof r['certificate'] !== 'string' || !THUMBPRINT.test(r['certificate'])) return 'it names no certificate thumbprint';
  const proof = r['proof'] as Record<string, unknown> | undefined;
  if (typeof proof !== 'object' || proof === null || typeof proof['challenge'] !== 'string' || typeof proof['signature'] !== 'string') return 'it has no registration proof';
  return undefined;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text from a plain vault object as the report shows it: no control characters (terminal escapes), at most `max` characters. */
function shown(text: string, max = 253): string {
  return text.replace(CONTROL, '?').slice(0, max);
}

/** A host name as a damaged record may still show it (for the admin to recognise), or null. */
function hostnameOf(v: unknown): string | null {
  const h = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['hostname'] : undefined;
  return typeof h === 'string' && h.length > 0 ? shown(h) : null;
}

function hoursText(h: number): string {
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} days`;
}

async function serverRow(
  vault: Vault, serverId: string, ns: Listed, o: FleetOptions,
  certificate: (thumbprint: string) => Promise<X509Certificate | AzbError | undefined>,
): Promise<FleetServer> {
  const now = o.now.getTime();
  const findings: FleetFinding[] = [];
  const prefix = `servers/${serverId}/`;
  // The record: parsed and checked field by field; damage gives a row, never a failed report.
  const damaged = (text: string) => {
    findings.push({ code: 'AZB_SERVER_RECORD_DAMAGED', status: 'Critical', text });
    o.warn?.('AZB_SERVER_RECORD_DAMAGED', `${text} The server is reported by its ID; the other servers are not affected.`, `${prefix}server.json`);
  };
  let record: ServerRecord | undefined;
  let shownHost: string | null = null;
  if (!ns.serverJson) {
    damaged(`${prefix}server.json is missing, but the namespace holds ${ns.pointCount} point(s) and ${ns.packCount} pack(s).`);
  } else {
    let parsed: unknown;
    let problem: string | undefined;
    try {
      parsed = JSON.parse((await vault.store.get(`${prefix}server.json`)).toString('utf8'));
      problem = recordProblem(parsed, serverId);
    } catch (err) {
      if (isStorageError(err, 'not-found')) problem = 'it was removed while the report was read';
      else if (isStorageError(err) && !isStorageError(err, 'too-large')) throw vaultError(err, vault.store.location, 'a server record');
      else problem = isStorageError(err) ? 'it is larger than a server record may be' : 'it is not JSON';
    }
    shownHost = hostnameOf(parsed);
    if (problem) damaged(`${prefix}server.json is damaged: ${problem}.`);
    else record = await foldRenewals(vault, parsed as ServerRecord);
  }

  let proofValid: boolean | null = null;
  let certificateExpires: string | null = null;
  if (record) {
    proofValid = await verifyRegistration(vault, record);
    if (!proofValid) {
      findings.push({ code: 'AZB_REGISTRATION_MISMATCH', status: 'Warning', text: `The registration proof of server.json${record.renewals?.length ? ' and its renewals' : ''} does not verify${record.renewalProblem ? ` (${record.renewalProblem})` : ''}: the record was changed, or its certificate removed.` });
    }
    const cert = await certificate(record.certificate);
    if (cert instanceof X509Certificate) {
      const notAfter = new Date(cert.validTo);
      certificateExpires = notAfter.toISOString();
      const days = Math.floor((notAfter.getTime() - now) / DAY_MS);
      if (notAfter.getTime() <= now) findings.push({ code: 'AZB_CERT_EXPIRED', status: 'Critical', text: `Its certificate ${record.certificate} expired on ${certificateExpires.slice(0, 10)}: it can make no new recovery point until it is renewed.` });
      else if (days < CERT_EXPIRY_WARNING_DAYS) findings.push({ code: 'AZB_CERT_EXPIRING', status: 'Warning', text: `Its certificate ${record.certificate} expires on ${certificateExpires.slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'}).` });
    } else if (cert instanceof AzbError) {
      findings.push({ code: 'AZB_OBJECT_DAMAGED', status: 'Warning', text: `Its certificate object is damaged: ${cert.message}` });
    } else {
      findings.push({ code: 'AZB_CERT_NOT_IN_VAULT', status: 'Warning', text: `Its certificate ${record.certificate} is not in the vault: its expiry is unknown and its points cannot be verified.` });
    }
  }

  // Points: the newest object's write time (the point's own time is sealed).
  const last = ns.lastPoint;
  const ageHours = last === undefined ? null : Math.round(((now - last) / HOUR_MS) * 10) / 10;
  if (ns.pointCount === 0) {
    const created = record ? Date.parse(record.created) : NaN;
    const since = Number.isNaN(created) ? '' : ` since it registered ${hoursText((now - created) / HOUR_MS)} ago`;
    const due = Number.isNaN(created) || now - created > o.maxAgeHours * HOUR_MS;
    findings.push({ code: 'AZB_BACKUP_NEVER', status: due ? 'Critical' : 'Warning', text: `No recovery point${since}.` });
  } else if (ageHours !== null && ageHours > o.maxAgeHours) {
    findings.push({ code: 'AZB_BACKUP_OVERDUE', status: 'Critical', text: `Its last recovery point is ${hoursText(ageHours)} old, more than ${o.maxAgeHours} h.` });
  }

  // Locks, judged as a lock taker judges them (FORMAT.md section 10).
  const leasing = leasingOf(vault.store);
  const lockLines: string[] = [];
  let active = 0;
  let stale = 0;
  for (const obj of ns.locks.sort((a, b) => a.name.localeCompare(b.name))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse((await vault.store.get(obj.name)).toString('utf8'));
    } catch (err) {
      if (isStorageError(err, 'not-found')) continue; // released meanwhile
      if (isStorageError(err) && !isStorageError(err, 'too-large')) throw vaultError(err, vault.store.location, 'a lock');
    }
    if (!isLockRecord(parsed)) {
      const written = obj.modified ?? now;
      const isOld = now - written > 30 * 60_000;
      if (isOld) stale++; else active++;
      lockLines.push(`unreadable lock object ${obj.name.slice(prefix.length)}${isOld ? ' (stale)' : ''}`);
      const text = `Lock object ${obj.name} cannot be read as a lock; it counts as an exclusive lock until 30 minutes after it was written${isOld ? ' (it is past that: the next backup or prune removes it)' : ', and blocks backups until then'}.`;
      findings.push({ code: 'AZB_LOCK_UNREADABLE', status: 'Warning', text });
      o.warn?.('AZB_LOCK_UNREADABLE', text, obj.name);
      continue;
    }
    const lock: LockRecord = parsed;
    const lapsed = leasing !== undefined && now - Date.parse(lock.refreshed) > LOCK_LEASE_SECONDS * 1000 && !(await leasing.isLeased(obj.name).catch(() => true));
    const isStaleLock = lapsed || isStale(lock, now, osHostname());
    const who = `${lock.type} lock for ${shown(lock.operation, 100)} on ${shown(lock.hostname)} (pid ${lock.pid}) since ${shown(lock.created, 40)}`;
    lockLines.push(`${who}${isStaleLock ? ', stale' : ''}`);
    if (isStaleLock) {
      stale++;
      findings.push({ code: 'AZB_LOCK_STALE', status: 'Warning', text: `A stale ${who}: its holder stopped without releasing it (the next backup or prune removes it).` });
    } else {
      active++;
      const operation = shown(lock.operation, 100);
      findings.push({ code: 'AZB_LOCK_HELD', status: 'OK', text: `${lock.type === 'backup' ? 'A backup is running' : lock.type === 'exclusive' ? `An exclusive ${operation} is running` : `A ${operation} is reading`} on ${shown(lock.hostname)} since ${shown(lock.created, 40)}.` });
    }
  }

  findings.sort((a, b) => SEVERITY[b.status] - SEVERITY[a.status]);
  const status: FleetStatus = findings[0]?.status ?? 'OK';
  const healthy = last !== undefined ? `Last recovery point ${hoursText(ageHours!)} ago.` : '';
  const reason = status === 'OK' ? [healthy, ...findings.map((f) => f.text)].filter(Boolean).join(' ') : findings.filter((f) => f.status !== 'OK').map((f) => f.text).join(' ');
  return {
    serverId, hostname: record?.hostname ?? shownHost, status, reason, codes: findings.map((f) => f.code),
    registered: record?.created ?? null, certificate: record?.certificate ?? null, certificateExpires, proofValid,
    lastPoint: last === undefined ? null : new Date(last).toISOString(), ageHours, pointCount: ns.pointCount,
    packCount: ns.packCount, storedBytes: ns.storedBytes, bytesPerDay7: Math.round(ns.added7 / 7), bytesPerDay30: Math.round(ns.added30 / 30),
    activeLocks: active, staleLocks: stale, locks: lockLines,
  };
}

