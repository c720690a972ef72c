// Recovery points of a namespace (FORMAT.md section 9): sealed objects holding a manifest signed with
// the server certificate's key. Writing, reading with the signature check, listing.
import { createPublicKey, createVerify, type KeyObject, type X509Certificate } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { forEachLimit } from './for-each-limit.js';
import { signWith } from './registration.js';
import type { ServerRepo } from './server.js';
import { getCertificate } from './vault.js';

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
}

/** A recovery point as read from the vault. */
export interface RecoveryPoint { id: string; manifest: PointManifest; certificate: string }

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

/** Writes a recovery point, signed with the certificate's key; returns its ID. */
export async function savePoint(repo: ServerRepo, manifest: PointManifest, privateKey: KeyObject): Promise<string> {
  const text = JSON.stringify(manifest);
  const envelope: PointEnvelope = { manifest: text, signature: signWith(privateKey, Buffer.from(text, 'utf8')), certificate: repo.record.certificate };
  return repo.writeSealed('point', envelope, (i) => repo.pointObject(i));
}

/** Reads a recovery point and verifies its signature against the certificate in the vault. */
export async function readPoint(repo: ServerRepo, pointId: string): Promise<RecoveryPoint> {
  const env = await repo.readSealed<PointEnvelope>('point', repo.pointObject(pointId), pointId);
  // Only this server's own certificate (fixed, with proof, in server.json) may sign its points: another
  // server given this passphrase for a restore must not be able to add points that pass as genuine.
  if (env.certificate !== repo.record.certificate) {
    throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… is signed with certificate ${String(env.certificate)}, not with this server's certificate ${repo.record.certificate}.`, {
      target: repo.pointObject(pointId), hint: 'Do not trust this recovery point; check who can write to the vault.',
    });
  }
  const cert = await getCertificateCached(repo, env.certificate);
  const ok = cert !== undefined && createVerify('sha256').update(Buffer.from(env.manifest, 'utf8')).verify(createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' })), env.signature, 'base64');
  if (!ok) {
    throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… fails its signature check.`, {
      target: repo.pointObject(pointId), hint: 'Do not trust this recovery point; check who can write to the vault.',
    });
  }
  const manifest = JSON.parse(env.manifest) as PointManifest;
  if (manifest.serverId !== repo.serverId) throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… belongs to another server.`, { target: repo.pointObject(pointId) });
  return { id: pointId, manifest, certificate: env.certificate };
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

const certCache = new WeakMap<ServerRepo, Map<string, X509Certificate | undefined>>();
async function getCertificateCached(repo: ServerRepo, thumbprint: string): Promise<X509Certificate | undefined> {
  let m = certCache.get(repo);
  if (!m) { m = new Map(); certCache.set(repo, m); }
  if (!m.has(thumbprint)) m.set(thumbprint, await getCertificate(repo.vault, thumbprint));
  return m.get(thumbprint);
}
