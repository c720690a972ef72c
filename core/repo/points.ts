// Recovery points of a namespace (FORMAT.md section 9): sealed objects holding a manifest signed with
// the server certificate's key. Writing, reading with the signature check, listing.
import { createVerify, type KeyObject, type X509Certificate } from 'node:crypto';
import { updateRegistration } from '../config/home.js';
import { AzbError } from '../protocol/errors.js';
import { forEachLimit } from './for-each-limit.js';
import { isDeleted, readPointStates, type PointStates } from './point-states.js';
import { certificateFromRenewal, loadCertificate, signWith, subjectOfCertificate, verifyRegistration, type Renewal } from './registration.js';
import type { ServerRepo, Warn } from './server.js';

/** Statistics stored in a recovery point. */
export interface PointStats {
  filesNew: number; filesChanged: number; filesUnchanged: number; filesSkipped: number; dirs: number;
  bytesRead: number; bytesAdded: number; bytesStored: number; blobsAdded: number; durationMs: number;
}

/** The signed part of a recovery point. */
export interface PointManifest {
  /** 2 for points written now; 1 for points of format 1 (file nodes without a digest). */
  version: 1 | 2;
  serverId: string;
  hostname: string;
  time: string;
  sources: string[];
  tree: string;
  parent: string | null;
  tags: string[];
  stats: PointStats;
  /** The policy whose run made the point; its retention expires it (format 2, optional). */
  policy?: string;
  /** A point made without a policy: the time from which retention may expire it (format 2, optional). */
  retainUntil?: string;
  /** The damaged point repair wrote this one in place of (FORMAT.md section 10, optional). */
  repairedFrom?: string;
  /** The -Snapshot mode of the backup, and how each source was read (FORMAT.md section 9, optional). */
  snapshotMode?: 'Auto' | 'Required' | 'None';
  reads?: { source: string; method: 'btrfs' | 'provider' | 'vss' | 'external' | 'live'; note?: string }[];
  /** The protection group and data source whose run made the point (FORMAT.md section 9, optional, together). */
  protectionGroup?: string;
  dataSource?: string;
  /** "windows" on points a Windows engine wrote: root node names are Windows paths (FORMAT.md §9, "Windows paths"). */
  pathStyle?: 'windows';
}

/** A recovery point as read from the vault. */
export interface RecoveryPoint {
  id: string; manifest: PointManifest; certificate: string;
  /** Whose certificate signed it (set by readPoint): thumbprint and subject. */
  signedBy?: { thumbprint: string; subject: string };
}

/** The sealed envelope of a point. */
interface PointEnvelope { manifest: string; signature: string; certificate: string }

/** Whether reading a point failed because the point itself is damaged or forged (not the vault's I/O). */
export function isUnreadablePoint(err: unknown): err is AzbError {
  return err instanceof AzbError && (err.code === 'AZB_OBJECT_DAMAGED' || err.code === 'AZB_POINT_TAMPERED');
}

/** IDs of every recovery point. */
export async function listPointIds(repo: ServerRepo): Promise<string[]> {
  return repo.listObjectIds('points/');
}

/**
 * Writes a recovery point, signed with the certificate's key; returns its ID. On this server (a pinned
 * registration) the point becomes the newest one it expects to find (rollback detection, FORMAT.md
 * section 11).
 */
export async function savePoint(repo: ServerRepo, manifest: PointManifest, privateKey: KeyObject): Promise<string> {
  const text = JSON.stringify(manifest);
  const envelope: PointEnvelope = { manifest: text, signature: signWith(privateKey, Buffer.from(text, 'utf8')), certificate: repo.certificate };
  const id = await repo.writeSealed('point', envelope, (i) => repo.pointObject(i));
  await recordNewestPoint(repo, id, manifest.time);
  return id;
}

/**
 * On this server (a pinned registration): records a point as the newest it expects to find, unless a
 * newer one is recorded already (rollback detection, FORMAT.md section 11).
 */
export async function recordNewestPoint(repo: ServerRepo, id: string, time: string): Promise<void> {
  const pin = repo.pin;
  if (!pin || (pin.lastPoint && pin.lastPoint.time > time)) return;
  const lastPoint = { id, time };
  try {
    await updateRegistration(repo.vault.manifest.vaultId, repo.serverId, (r) => { r.lastPoint = lastPoint; });
  } catch (err) {
    const e = err instanceof AzbError ? err : undefined;
    throw new AzbError('AZB_HOME_UNUSABLE', `Recovery point ${id.slice(0, 12)}… is in the vault, but this server could not record it as its newest point: ${e?.message ?? String(err)}`, {
      target: e?.target ?? id, hint: 'Make the AzBackup home writable; until the next backup records its point, a later deletion of this one would go unnoticed.',
    });
  }
  pin.lastPoint = lastPoint;
}

/**
 * The certificate that may sign this server's points, with the reason it is trusted: on this server
 * the one pinned in its registration; for another server's namespace the one its server.json names,
 * provided the registration proof verifies (else nothing can be trusted: AZB_POINT_TAMPERED).
 */
async function signerOf(repo: ServerRepo, pointId: string): Promise<{ thumbprint: string; because: string }> {
  if (repo.pin) return { thumbprint: repo.pin.certificate, because: "this server's certificate, pinned in its registration" };
  let proof = proofCache.get(repo);
  if (!proof) { proof = verifyRegistration(repo.vault, repo.record); proofCache.set(repo, proof); }
  if (!(await proof)) {
    throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… cannot be trusted: ${repo.prefix}server.json fails its registration proof, so the certificate it names (${String(repo.record.certificate)}) is not known to be server ${repo.record.hostname}'s.`, {
      target: `${repo.prefix}server.json`, hint: "Do not trust this server's recovery points; put back server.json from a copy of the vault, and check who can write to the vault.",
    });
  }
  return { thumbprint: repo.record.certificate, because: `the certificate named in ${repo.record.hostname}'s server.json, whose registration proof verifies` };
}

/** A renewal's points as a set (looked up once per point read: a list would make reading all points quadratic). */
const renewalPoints = new WeakMap<Renewal, Set<string>>();
function pointsOf(r: Renewal): Set<string> {
  let set = renewalPoints.get(r);
  if (!set) { set = new Set(r.points); renewalPoints.set(r, set); }
  return set;
}

/**
 * The retired certificate that may have signed this point (FORMAT.md section 3): the `from` of a renewal
 * that lists the point, from the DER copy in that renewal, provided the server's renewals verify (and,
 * on the server itself, its registration lists the certificate as retired). Undefined otherwise.
 */
async function retiredSigner(repo: ServerRepo, pointId: string, thumbprint: unknown): Promise<X509Certificate | undefined> {
  if (typeof thumbprint !== 'string') return undefined;
  const renewal = repo.record.renewals?.find((r) => r.from === thumbprint && pointsOf(r).has(pointId));
  if (!renewal) return undefined;
  if (repo.pin && !(repo.pin.retired ?? []).includes(thumbprint)) return undefined;
  let proof = proofCache.get(repo);
  if (!proof) { proof = verifyRegistration(repo.vault, repo.record); proofCache.set(repo, proof); }
  if (!(await proof)) return undefined;
  return certificateFromRenewal(renewal.fromCertificate, thumbprint);
}

/**
 * Reads a recovery point and verifies its signature: it must be signed by this server's certificate
 * (signerOf) with the certificate object matching its thumbprint name.
 */
export async function readPoint(repo: ServerRepo, pointId: string): Promise<RecoveryPoint> {
  const env = await repo.readSealed<PointEnvelope>('point', repo.pointObject(pointId), pointId);
  const tampered = (why: string) => new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… ${why}`, {
    target: repo.pointObject(pointId), hint: 'Do not trust this recovery point; check who can write to the vault.',
  });
  // Only this server's own certificate may sign its points: another server given this passphrase for a
  // restore must not be able to add points that pass as genuine.
  const signer = await signerOf(repo, pointId);
  let cert: X509Certificate | undefined;
  if (env.certificate !== signer.thumbprint) {
    // A certificate this server renewed away from signed only the points its renewal lists.
    cert = await retiredSigner(repo, pointId, env.certificate);
    if (!cert) throw tampered(`is signed with certificate ${String(env.certificate)}, not with ${signer.thumbprint} (${signer.because}), and no renewal of this server lists it among the points of that certificate.`);
  } else {
    try {
      cert = await getCertificateCached(repo, env.certificate);
    } catch (err) {
      if (err instanceof AzbError && err.code === 'AZB_OBJECT_DAMAGED') throw tampered(`cannot be verified: ${err.message}`);
      throw err;
    }
  }
  const ok = cert !== undefined && createVerify('sha256').update(Buffer.from(env.manifest, 'utf8')).verify(cert.publicKey, env.signature, 'base64');
  if (!ok) throw tampered('fails its signature check.');
  const manifest = JSON.parse(env.manifest) as PointManifest;
  if (manifest.serverId !== repo.serverId) throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… belongs to another server.`, { target: repo.pointObject(pointId) });
  return { id: pointId, manifest, certificate: env.certificate, signedBy: { thumbprint: env.certificate, subject: subjectOfCertificate(cert!) } };
}

/**
 * Every recovery point, oldest first. A point that cannot be read (damaged, or failing its signature)
 * stops the read, unless `unreadable` is given: then it is passed there and left out.
 */
export async function readAllPoints(repo: ServerRepo, unreadable?: (pointId: string, err: AzbError) => void): Promise<RecoveryPoint[]> {
  const ids = await listPointIds(repo);
  const out: RecoveryPoint[] = [];
  await forEachLimit(ids, 8, async (id) => {
    try {
      out.push(await repo.readPoint(id));
    } catch (err) {
      if (!unreadable || !isUnreadablePoint(err)) throw err;
      unreadable(id, err);
    }
  });
  return out.sort((a, b) => a.manifest.time.localeCompare(b.manifest.time) || a.id.localeCompare(b.id));
}

/** Readable points split by their states: live ones (restored ones included) and soft-deleted ones. */
export interface PointsByState { live: RecoveryPoint[]; deleted: RecoveryPoint[]; states: PointStates }

/** Every readable point, oldest first, split into live and soft-deleted (damaged state objects: warn). */
export async function readPointsByState(repo: ServerRepo, unreadable?: (pointId: string, err: AzbError) => void, warn?: Warn): Promise<PointsByState> {
  const [{ states }, all] = await Promise.all([readPointStates(repo, warn), readAllPoints(repo, unreadable)]);
  return { live: all.filter((p) => !isDeleted(states, p.id)), deleted: all.filter((p) => isDeleted(states, p.id)), states };
}

/**
 * The newest point this server wrote (its registration's lastPoint) when it is no longer in the vault
 * and no forget of this server removed it: a rollback (FORMAT.md section 11). Undefined otherwise, and
 * always for a namespace opened without a pin (another server's: this machine knows nothing of it).
 */
export async function missingNewestPoint(repo: ServerRepo, listed?: readonly string[]): Promise<{ id: string; time: string } | undefined> {
  const last = repo.pin?.lastPoint;
  if (!last) return undefined;
  const ids = listed ?? await listPointIds(repo);
  return ids.includes(last.id) ? undefined : last;
}

function missingMessage(repo: ServerRepo, last: { id: string; time: string }): string {
  return `Recovery point ${last.id.slice(0, 12)}… of ${last.time}, the newest this server wrote, is no longer in the vault, and no forget of this server removed it: it was deleted outside AzBackup (or the vault was put back from an older copy), so an older point now looks like the latest.`;
}

/** Warns AZB_POINT_MISSING when the newest point this server wrote is gone; returns it. */
export async function warnIfNewestPointMissing(repo: ServerRepo, warn: Warn, listed?: readonly string[]): Promise<{ id: string; time: string } | undefined> {
  const last = await missingNewestPoint(repo, listed);
  if (last) warn('AZB_POINT_MISSING', missingMessage(repo, last), repo.pointObject(last.id));
  return last;
}

/** Throws AZB_POINT_MISSING when the newest point this server wrote is gone ('latest' is then not the latest). */
export async function assertNewestPointPresent(repo: ServerRepo): Promise<void> {
  const last = await missingNewestPoint(repo);
  if (last) {
    throw new AzbError('AZB_POINT_MISSING', `${missingMessage(repo, last)} 'latest' is refused.`, {
      target: repo.pointObject(last.id),
      hint: "Name the recovery point to use by its ID ('azbackup points' lists them); find out who deleted the newest one. The next backup of this server clears this.",
    });
  }
}

/**
 * After this server removed or soft-deleted one of its points: when that was the newest one it expects,
 * the newest remaining live readable point takes its place (none: null), so its absence raises no alarm.
 */
export async function pointRemoved(repo: ServerRepo, pointId: string): Promise<void> {
  const pin = repo.pin;
  if (!pin?.lastPoint || pin.lastPoint.id !== pointId) return;
  const { live } = await readPointsByState(repo, () => undefined);
  const newest = live[live.length - 1];
  const lastPoint = newest ? { id: newest.id, time: newest.manifest.time } : null;
  await updateRegistration(repo.vault.manifest.vaultId, repo.serverId, (r) => { r.lastPoint = lastPoint; });
  pin.lastPoint = lastPoint;
}

const proofCache = new WeakMap<ServerRepo, Promise<boolean>>();
const certCache = new WeakMap<ServerRepo, Map<string, X509Certificate | undefined>>();
async function getCertificateCached(repo: ServerRepo, thumbprint: string): Promise<X509Certificate | undefined> {
  let m = certCache.get(repo);
  if (!m) { m = new Map(); certCache.set(repo, m); }
  if (!m.has(thumbprint)) m.set(thumbprint, await loadCertificate(repo.vault, thumbprint));
  return m.get(thumbprint);
}
