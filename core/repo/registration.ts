// A server's registration (FORMAT.md section 3): its public record servers/<id>/server.json with the
// proof that it held its certificate's private key, and the creation of its namespace (key file,
// config, then the record). Nothing here needs the passphrase except creating the key file.
import { createHash, createPublicKey, createSign, createVerify, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError } from '../storage/storage.js';
import { createKeyFile, deriveKeys, MIN_PASSPHRASE_LENGTH } from '../crypto/keys.js';
import { sealJson } from '../crypto/seal.js';
import { DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from '../chunker/fastcdc.js';
import { vaultError } from './storage-errors.js';
import { certificateObject, readCertificateDer, type Vault } from './vault.js';

/** Contents of servers/<id>/server.json, with its renewals folded in by readServerRecord. */
export interface ServerRecord {
  serverId: string;
  hostname: string;
  created: string;
  /** The server's certificate now: server.json's, or the last renewal's `to` (FORMAT.md section 3). */
  certificate: string;
  proof: { challenge: string; signature: string };
  /** When renewed: the certificate server.json names (its proof is over that one). */
  registeredWith?: string;
  /** The renewals, in order (readServerRecord). */
  renewals?: Renewal[];
  /** Why the renewals cannot be trusted (a renewal out of order, unreadable or not this server's). */
  renewalProblem?: string;
}

/** Contents of servers/<id>/renewals/<sequence> (FORMAT.md section 3). */
export interface Renewal {
  serverId: string;
  sequence: number;
  time: string;
  from: string;
  to: string;
  fromCertificate: string;
  points: string[];
  endorsement: string;
  proof: string;
}

/** Contents of the sealed config. */
export interface ServerConfig {
  version: 1;
  serverId: string;
  chunker: ChunkerParams & { algorithm: 'fastcdc-v1' };
  compression: 'zstd';
}

/**
 * What this machine pinned about its own namespace in its local registration (FORMAT.md section 11):
 * core/config/home.ts Registration has these fields. A namespace opened without one (another server's,
 * restored with --server, or a vault without a registration here) is checked against its server.json.
 */
export interface ServerPin {
  serverId: string;
  /** Thumbprint of the certificate this server registered with: the only one that may sign its points. */
  certificate: string;
  /** The key file this server accepts (keys/<keyId>); absent in registrations of earlier engines. */
  keyId?: string;
  /** The newest point this server wrote (rollback detection). */
  lastPoint?: { id: string; time: string } | null;
  /** Certificates this server renewed away from: they signed only the points their renewal lists. */
  retired?: string[];
}

const SERVER_ID = /^[0-9a-f]{64}$/;

/** Object prefix of a server's namespace. */
export function serverPrefix(serverId: string): string {
  return `servers/${serverId}/`;
}

/** The bytes a registration proof signs: everything in server.json except the signature itself. */
export function registrationMessage(vaultId: string, r: Pick<ServerRecord, 'serverId' | 'hostname' | 'created' | 'certificate' | 'registeredWith'>, challenge: string): Buffer {
  return Buffer.from(`azbackup-register-v1\n${vaultId}\n${r.serverId}\n${r.hostname}\n${r.created}\n${r.registeredWith ?? r.certificate}\n${challenge}`, 'utf8');
}

/** The bytes a renewal's endorsement (old key) and proof (new key) sign. */
export function renewalMessage(vaultId: string, r: Omit<Renewal, 'endorsement' | 'proof'>): Buffer {
  const derHash = createHash('sha256').update(Buffer.from(r.fromCertificate, 'base64')).digest('hex');
  return Buffer.from(`azbackup-renew-v1\n${vaultId}\n${r.serverId}\n${r.sequence}\n${r.time}\n${r.from}\n${r.to}\n${derHash}\n${r.points.join(',')}`, 'utf8');
}

/** Name of a server's renewal object. */
export function renewalObject(serverId: string, sequence: number): string {
  return `${serverPrefix(serverId)}renewals/${String(sequence).padStart(8, '0')}`;
}

const THUMBPRINT = /^[0-9A-F]{40}$/;
const HEX64_ID = /^[0-9a-f]{64}$/;

function isRenewal(v: unknown): v is Renewal {
  const r = v as Partial<Renewal> | null;
  return typeof r === 'object' && r !== null && typeof r.serverId === 'string' && Number.isInteger(r.sequence) && typeof r.time === 'string'
    && typeof r.from === 'string' && THUMBPRINT.test(r.from) && typeof r.to === 'string' && THUMBPRINT.test(r.to)
    && typeof r.fromCertificate === 'string' && Array.isArray(r.points) && r.points.every((p) => typeof p === 'string' && HEX64_ID.test(p))
    && typeof r.endorsement === 'string' && typeof r.proof === 'string';
}

/**
 * Reads a server's renewals and folds them into its record: `certificate` becomes the last `to`. A
 * renewal that breaks the chain's rules (FORMAT.md section 3) sets `renewalProblem`, which fails the
 * record's proof; the certificate then stays server.json's.
 */
export async function foldRenewals(vault: Vault, rec: ServerRecord): Promise<ServerRecord> {
  const base = `${serverPrefix(rec.serverId)}renewals/`;
  const names: string[] = [];
  try {
    for await (const o of vault.store.list(base)) names.push(o.name);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the renewals of a server');
  }
  if (names.length === 0) return rec;
  names.sort();
  const renewals: Renewal[] = [];
  let problem: string | undefined;
  let current = rec.certificate;
  for (const name of names) {
    const seq = renewals.length + 1;
    if (name !== renewalObject(rec.serverId, seq)) { problem = `${name} is not renewal ${seq}`; break; }
    let r: unknown;
    try {
      r = JSON.parse((await vault.store.get(name)).toString('utf8'));
    } catch (err) {
      if (isStorageError(err) && !isStorageError(err, 'too-large')) throw vaultError(err, vault.store.location, 'a renewal');
      problem = `${name} cannot be read`; break;
    }
    if (!isRenewal(r) || r.sequence !== seq || r.serverId !== rec.serverId || r.from !== current) { problem = `${name} does not continue the server's certificates`; break; }
    renewals.push(r);
    current = r.to;
  }
  if (problem) return { ...rec, renewals, renewalProblem: problem };
  return { ...rec, registeredWith: rec.certificate, certificate: current, renewals };
}

/** A certificate from the DER copy in a renewal, only if it is the certificate of `thumbprint`. */
export function certificateFromRenewal(base64Der: string, thumbprint: string): X509Certificate | undefined {
  const der = Buffer.from(base64Der, 'base64');
  if (thumbprintOfDer(der) !== thumbprint) return undefined;
  try { return new X509Certificate(der); } catch { return undefined; }
}

/** Throws unless the passphrase is long enough for a new key. */
export function checkNewPassphrase(passphrase: string | undefined): string {
  if (passphrase === undefined || passphrase === '') {
    throw new AzbError('AZB_PASSPHRASE_REQUIRED', 'A passphrase is required.', {
      hint: 'Give -Passphrase / -GeneratePassphrase (PowerShell), or AZBACKUP_PASSPHRASE / --passphrase-file (CLI).',
    });
  }
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new AzbError('AZB_PASSPHRASE_TOO_SHORT', `The passphrase has fewer than ${MIN_PASSPHRASE_LENGTH} characters.`, {
      target: 'passphrase', hint: `Use at least ${MIN_PASSPHRASE_LENGTH} characters, or let AzBackup generate one.`,
    });
  }
  return passphrase;
}

/** Signs with the server certificate's private key (RSA-SHA256, base64). */
export function signWith(privateKey: KeyObject, data: Buffer): string {
  return createSign('sha256').update(data).sign(privateKey, 'base64');
}

/** Reads server.json of every registered server. */
export async function listServers(vault: Vault): Promise<ServerRecord[]> {
  const ids = new Set<string>();
  try {
    for await (const o of vault.store.list('servers/')) {
      const m = /^servers\/([0-9a-f]{64})\/server\.json$/.exec(o.name);
      if (m) ids.add(m[1]!);
    }
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the server list');
  }
  const out: ServerRecord[] = [];
  for (const id of ids) out.push(await readServerRecord(vault, id));
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

/** Reads one server's public record. */
export async function readServerRecord(vault: Vault, serverId: string): Promise<ServerRecord> {
  if (!SERVER_ID.test(serverId)) throw new AzbError('AZB_SERVER_NOT_FOUND', `'${serverId}' is not a server ID.`, { target: serverId });
  let rec: ServerRecord;
  try {
    rec = JSON.parse((await vault.store.get(`${serverPrefix(serverId)}server.json`)).toString('utf8')) as ServerRecord;
    if (rec.serverId !== serverId) throw new Error('mismatch');
  } catch (err) {
    if (isStorageError(err, 'not-found')) throw new AzbError('AZB_SERVER_NOT_FOUND', `No server ${serverId} in the vault at ${vault.store.location}.`, { target: serverId });
    if (isStorageError(err)) throw vaultError(err, vault.store.location, 'a server record');
    throw new AzbError('AZB_OBJECT_DAMAGED', `The record of server ${serverId} is damaged.`, { target: `${serverPrefix(serverId)}server.json` });
  }
  return foldRenewals(vault, rec);
}

/** Registers a new server: key file, config, then server.json (last, so a half-done registration is invisible). */
export async function registerServer(vault: Vault, o: { hostname: string; thumbprint: string; privateKey: KeyObject; passphrase: string; signal?: AbortSignal }): Promise<{ record: ServerRecord; masterKey: Buffer; keyId: string }> {
  const serverId = randomBytes(32).toString('hex');
  const masterKey = randomBytes(32);
  const keys = deriveKeys(masterKey);
  const prefix = serverPrefix(serverId);
  const keyFile = await createKeyFile(masterKey, o.passphrase, serverId, o.hostname, o.signal ? { signal: o.signal } : {});
  const keyId = randomBytes(16).toString('hex');
  const config: ServerConfig = { version: 1, serverId, chunker: { algorithm: 'fastcdc-v1', ...DEFAULT_CHUNKER_PARAMS }, compression: 'zstd' };
  const challenge = randomBytes(32).toString('base64');
  const unsigned = { serverId, hostname: o.hostname, created: new Date().toISOString(), certificate: o.thumbprint };
  const record: ServerRecord = {
    ...unsigned,
    proof: { challenge, signature: signWith(o.privateKey, registrationMessage(vault.manifest.vaultId, unsigned, challenge)) },
  };
  try {
    await vault.store.put(`${prefix}keys/${keyId}`, Buffer.from(JSON.stringify(keyFile, null, 2)));
    await vault.store.put(`${prefix}config`, sealJson(keys.seal, 'config', config));
    await vault.store.put(`${prefix}server.json`, Buffer.from(JSON.stringify(record, null, 2) + '\n'));
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the new server namespace');
  }
  return { record, masterKey, keyId };
}

/** Upper-case SHA-1 hex of DER bytes: a certificate's thumbprint. */
export function thumbprintOfDer(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

/**
 * Reads an uploaded certificate to verify a signature with: undefined when it was never uploaded;
 * AZB_OBJECT_DAMAGED when the object is not a certificate or its content does not match its name (the
 * SHA-1 of its DER must be the thumbprint it is stored under, FORMAT.md section 3), so a certificate
 * put under another's thumbprint can never verify that one's signatures.
 */
export async function loadCertificate(vault: Vault, thumbprint: string): Promise<X509Certificate | undefined> {
  const name = certificateObject(thumbprint);
  const der = await readCertificateDer(vault, thumbprint);
  if (der === undefined) return undefined;
  const actual = thumbprintOfDer(der);
  if (actual !== thumbprint) {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Certificate object ${name} does not match its thumbprint: its content has thumbprint ${actual}. It was replaced or damaged, and verifies nothing.`, {
      target: name, hint: 'Upload the right certificate again (after removing this object), and check who can write to the vault.',
    });
  }
  try {
    return new X509Certificate(der);
  } catch {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Certificate ${thumbprint} in the vault is not a valid certificate.`, { target: name, hint: 'Upload the certificate again.' });
  }
}

/** A certificate's subject as "CN=…, O=…". */
export function subjectOfCertificate(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}

/**
 * Verifies a server record's registration proof against the uploaded certificate (checked against its
 * thumbprint) and, when it was renewed, every renewal's endorsement and proof (FORMAT.md section 3).
 */
export async function verifyRegistration(vault: Vault, record: ServerRecord): Promise<boolean> {
  if (record.renewalProblem) return false;
  const renewals = record.renewals ?? [];
  const uploaded = async (thumbprint: string) => {
    try {
      return await loadCertificate(vault, thumbprint);
    } catch (err) {
      if (err instanceof AzbError && err.code === 'AZB_OBJECT_DAMAGED') return undefined;
      throw err;
    }
  };
  const verify = (cert: X509Certificate | undefined, message: Buffer, signature: string) => {
    try { return cert !== undefined && createVerify('sha256').update(message).verify(cert.publicKey, signature, 'base64'); } catch { return false; }
  };
  const first = renewals[0] ? certificateFromRenewal(renewals[0].fromCertificate, renewals[0].from) : await uploaded(record.certificate);
  if (!verify(first, registrationMessage(vault.manifest.vaultId, record, record.proof.challenge), record.proof.signature)) return false;
  for (const [k, r] of renewals.entries()) {
    const next = renewals[k + 1];
    const to = next ? certificateFromRenewal(next.fromCertificate, next.from) : await uploaded(r.to);
    const message = renewalMessage(vault.manifest.vaultId, r);
    if (!verify(certificateFromRenewal(r.fromCertificate, r.from), message, r.endorsement) || !verify(to, message, r.proof)) return false;
  }
  return true;
}

/**
 * What is wrong with a server's own registration record, compared with this machine's pin of it and
 * with its proof (empty when nothing is). A backup writes nothing unless this is empty; check reports
 * each as a problem of server.json. `signingKey`: also check it is the pinned certificate's key.
 */
export async function registrationProblems(vault: Vault, record: ServerRecord, pin: ServerPin, signingKey?: KeyObject): Promise<string[]> {
  const problems: string[] = [];
  if (record.serverId !== pin.serverId) problems.push(`it is the record of server ${record.serverId}, not of ${pin.serverId}`);
  if (record.certificate !== pin.certificate) problems.push(`it names certificate ${String(record.certificate)}, but this server registered with certificate ${pin.certificate}`);
  if (!(await verifyRegistration(vault, record))) problems.push(`its registration proof does not verify against ${certificateObject(String(record.certificate))}`);
  if (signingKey) {
    const cert = await loadCertificate(vault, pin.certificate).catch(() => undefined);
    const mine = createPublicKey(signingKey).export({ type: 'spki', format: 'der' });
    if (!cert || !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(mine)) {
      problems.push(`the signing key in this machine's registration is not the key of certificate ${pin.certificate}${cert ? '' : ' (which cannot be read from the vault)'}`);
    }
  }
  return problems;
}
