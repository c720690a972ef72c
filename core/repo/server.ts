// A server's namespace in a vault (FORMAT.md sections 3-10): registration, keys, config, index,
// blobs and recovery points. Everything a backup, restore, check or prune reads or writes goes here.
import { createHmac, createSecretKey, createPublicKey, createSign, createVerify, randomBytes, type KeyObject, X509Certificate } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError, putFromFile } from '../storage/storage.js';
import { createKeyFile, deriveKeys, keyFileIntact, openKeyFile, type DerivedKeys, type KeyFile, MIN_PASSPHRASE_LENGTH } from '../crypto/keys.js';
import { sealJson, storageId, unsealJson, type SealedKind } from '../crypto/seal.js';
import { DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from '../chunker/fastcdc.js';
import { BlobIndex, type BlobLocation, type BlobType } from './blob-index.js';
import { PACK_HEADER_SIZE, PackError, openBlob, packKeyFromHeader, readPackFooter, type FinishedPack, type PackedBlob } from './pack.js';
import { vaultError } from './storage-errors.js';
import { getCertificate, type Vault } from './vault.js';

/** Contents of servers/<id>/server.json. */
export interface ServerRecord {
  serverId: string;
  hostname: string;
  created: string;
  certificate: string;
  proof: { challenge: string; signature: string };
}

/** Contents of the sealed config. */
export interface ServerConfig {
  version: 1;
  serverId: string;
  chunker: ChunkerParams & { algorithm: 'fastcdc-v1' };
  compression: 'zstd';
}

/** One pack as listed in an index file. */
export interface IndexedPack { id: string; size: number; blobs: PackedBlob[] }

/** Contents of a sealed index file. */
export interface IndexFile { version: 1; supersedes: string[]; packs: IndexedPack[] }

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

const SERVER_ID = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Object prefix of a server's namespace. */
export function serverPrefix(serverId: string): string {
  return `servers/${serverId}/`;
}

/** The bytes a registration proof signs: everything in server.json except the signature itself. */
function registrationMessage(vaultId: string, r: Pick<ServerRecord, 'serverId' | 'hostname' | 'created' | 'certificate'>, challenge: string): Buffer {
  return Buffer.from(`azbackup-register-v1\n${vaultId}\n${r.serverId}\n${r.hostname}\n${r.created}\n${r.certificate}\n${challenge}`, 'utf8');
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
  try {
    const rec = JSON.parse((await vault.store.get(`${serverPrefix(serverId)}server.json`)).toString('utf8')) as ServerRecord;
    if (rec.serverId !== serverId) throw new Error('mismatch');
    return rec;
  } catch (err) {
    if (isStorageError(err, 'not-found')) throw new AzbError('AZB_SERVER_NOT_FOUND', `No server ${serverId} in the vault at ${vault.store.location}.`, { target: serverId });
    if (isStorageError(err)) throw vaultError(err, vault.store.location, 'a server record');
    throw new AzbError('AZB_OBJECT_DAMAGED', `The record of server ${serverId} is damaged.`, { target: `${serverPrefix(serverId)}server.json` });
  }
}

/** Registers a new server: key file, config, then server.json (last, so a half-done registration is invisible). */
export async function registerServer(vault: Vault, o: { hostname: string; thumbprint: string; privateKey: KeyObject; passphrase: string }): Promise<{ record: ServerRecord; masterKey: Buffer }> {
  const serverId = randomBytes(32).toString('hex');
  const masterKey = randomBytes(32);
  const keys = deriveKeys(masterKey);
  const prefix = serverPrefix(serverId);
  const keyFile = await createKeyFile(masterKey, o.passphrase, serverId, o.hostname);
  const config: ServerConfig = { version: 1, serverId, chunker: { algorithm: 'fastcdc-v1', ...DEFAULT_CHUNKER_PARAMS }, compression: 'zstd' };
  const challenge = randomBytes(32).toString('base64');
  const unsigned = { serverId, hostname: o.hostname, created: new Date().toISOString(), certificate: o.thumbprint };
  const record: ServerRecord = {
    ...unsigned,
    proof: { challenge, signature: signWith(o.privateKey, registrationMessage(vault.manifest.vaultId, unsigned, challenge)) },
  };
  try {
    await vault.store.put(`${prefix}keys/${randomBytes(16).toString('hex')}`, Buffer.from(JSON.stringify(keyFile, null, 2)));
    await vault.store.put(`${prefix}config`, sealJson(keys.seal, 'config', config));
    await vault.store.put(`${prefix}server.json`, Buffer.from(JSON.stringify(record, null, 2) + '\n'));
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the new server namespace');
  }
  return { record, masterKey };
}

/** Verifies a server record's registration proof against the uploaded certificate. */
export async function verifyRegistration(vault: Vault, record: ServerRecord): Promise<boolean> {
  const cert = await getCertificate(vault, record.certificate);
  if (!cert) return false;
  return createVerify('sha256').update(registrationMessage(vault.manifest.vaultId, record, record.proof.challenge)).verify(cert.publicKey, record.proof.signature, 'base64');
}

/** Opens a server namespace with its passphrase. */
export async function openServer(vault: Vault, serverId: string, passphrase: string | undefined): Promise<ServerRepo> {
  const record = await readServerRecord(vault, serverId);
  if (passphrase === undefined || passphrase === '') {
    throw new AzbError('AZB_PASSPHRASE_REQUIRED', `The passphrase of server ${record.hostname} is required.`, {
      hint: 'Give -Passphrase (PowerShell), or AZBACKUP_PASSPHRASE / --passphrase-file (CLI).',
    });
  }
  const prefix = serverPrefix(serverId);
  const keyNames: string[] = [];
  try {
    for await (const o of vault.store.list(`${prefix}keys/`)) keyNames.push(o.name);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the key files');
  }
  if (keyNames.length === 0) throw new AzbError('AZB_OBJECT_DAMAGED', `Server ${record.hostname} has no key file in the vault.`, { target: `${prefix}keys/` });
  let masterKey: Buffer | undefined;
  let keyName: string | undefined;
  const damaged: string[] = [];
  for (const name of keyNames.sort()) {
    let file: KeyFile;
    try {
      file = JSON.parse((await vault.store.get(name)).toString('utf8')) as KeyFile;
    } catch (err) {
      if (isStorageError(err) && !isStorageError(err, 'not-found')) throw vaultError(err, vault.store.location, 'a key file');
      if (!isStorageError(err)) damaged.push(name);
      continue; // a damaged or vanished key file: another may open
    }
    if (!keyFileIntact(file)) { damaged.push(name); continue; }
    masterKey = await openKeyFile(file, passphrase, serverId).catch(() => undefined);
    if (masterKey) { keyName = name; break; }
  }
  if ((!masterKey || !keyName) && damaged.length === keyNames.length) {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Every key file of server ${record.hostname} is damaged (${damaged.join(', ')}); the passphrase cannot be checked.`, {
      target: damaged[0], hint: 'Restore the key file from a copy of the vault; without one, the data of this server cannot be opened.',
    });
  }
  if (!masterKey || !keyName) {
    throw new AzbError('AZB_PASSPHRASE_WRONG', `The passphrase does not open server ${record.hostname} (${serverId.slice(0, 12)}…).`, {
      target: serverId, hint: "Check the passphrase. If it is another server's (to restore that server's data), name that server with -Server / --server. Without the right passphrase the data of this server cannot be recovered.",
    });
  }
  const keys = deriveKeys(masterKey);
  let configBytes: Buffer;
  try {
    configBytes = await vault.store.get(`${prefix}config`);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the server config');
  }
  const opened = unsealJson<ServerConfig>(keys.seal, 'config', configBytes);
  if (!('value' in opened) || opened.value.serverId !== serverId) {
    throw new AzbError('AZB_OBJECT_DAMAGED', `The config of server ${record.hostname} is damaged.`, { target: `${prefix}config` });
  }
  return new ServerRepo(vault, record, masterKey, keys, opened.value, keyName);
}

/** An opened server namespace. */
/** A warning callback (an EventSink's warning). */
export type Warn = (code: string, message: string, target: string) => void;

/** Whether reading a point failed because the point itself is damaged or forged (not the vault's I/O). */
export function isUnreadablePoint(err: unknown): err is AzbError {
  return err instanceof AzbError && (err.code === 'AZB_OBJECT_DAMAGED' || err.code === 'AZB_POINT_TAMPERED');
}

export class ServerRepo {
  readonly prefix: string;
  /** Blob ID → location, filled by loadIndex() and by savePack(). */
  index = new BlobIndex();
  /** Names of the index files loaded. */
  indexFiles: string[] = [];
  private readonly packKeys = new Map<string, KeyObject>();
  private blobIdKey: KeyObject | undefined;
  private treeIdKey: KeyObject | undefined;

  constructor(
    readonly vault: Vault,
    readonly record: ServerRecord,
    readonly masterKey: Buffer,
    readonly keys: DerivedKeys,
    readonly config: ServerConfig,
    readonly keyName: string,
  ) {
    this.prefix = serverPrefix(record.serverId);
  }

  get serverId(): string { return this.record.serverId; }
  get location(): string { return this.vault.store.location; }

  /**
   * ID of a blob (FORMAT.md §6): HMAC-SHA256 of its plaintext, keyed per type, so a file chunk whose bytes
   * equal a tree can never stand in for that tree (format 2).
   */
  blobId(data: Uint8Array, type: BlobType = 'data'): Buffer {
    if (type === 'tree') {
      this.treeIdKey ??= createSecretKey(this.keys.treeId);
      return createHmac('sha256', this.treeIdKey).update(data).digest();
    }
    this.blobIdKey ??= createSecretKey(this.keys.blobId);
    return createHmac('sha256', this.blobIdKey).update(data).digest();
  }

  /** Whether a blob's plaintext matches its ID; a tree also matches a format-1 ID (data key). */
  blobMatchesId(data: Uint8Array, id: Uint8Array, type: BlobType): boolean {
    if (this.blobId(data, type).equals(id)) return true;
    return type === 'tree' && this.blobId(data, 'data').equals(id);
  }

  packObject(packId: string): string { return `${this.prefix}packs/${packId.slice(0, 2)}/${packId}`; }
  indexObject(indexId: string): string { return `${this.prefix}index/${indexId}`; }
  pointObject(pointId: string): string { return `${this.prefix}points/${pointId}`; }

  /** Reads a sealed object and checks its name (storage ID) and authentication. */
  async readSealed<T>(kind: SealedKind, name: string, id: string): Promise<T> {
    let data: Buffer;
    try {
      data = await this.vault.store.get(name);
    } catch (err) {
      throw vaultError(err, this.location, `${kind} ${id.slice(0, 12)}`);
    }
    if (storageId(data) !== id) throw new AzbError('AZB_OBJECT_DAMAGED', `${kind} ${id.slice(0, 12)}… is damaged: its content does not match its name.`, { target: name, hint: "Run 'azbackup check' to see what is affected." });
    const opened = unsealJson<T>(this.keys.seal, kind, data);
    if (!('value' in opened)) throw new AzbError('AZB_OBJECT_DAMAGED', `${kind} ${id.slice(0, 12)}… is damaged (${opened.failure}).`, { target: name, hint: "Run 'azbackup check' to see what is affected." });
    return opened.value;
  }

  /** Writes a sealed object under its storage ID; an identical object already there is fine. */
  async writeSealed(kind: SealedKind, value: unknown, nameOf: (id: string) => string): Promise<string> {
    const data = sealJson(this.keys.seal, kind, value);
    const id = storageId(data);
    try {
      await this.vault.store.put(nameOf(id), data);
    } catch (err) {
      if (!isStorageError(err, 'exists')) throw vaultError(err, this.location, kind);
    }
    return id;
  }

  /** IDs of every index file. */
  async listIndexIds(): Promise<string[]> {
    return this.listIds('index/');
  }

  private async listIds(sub: string): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const o of this.vault.store.list(`${this.prefix}${sub}`)) {
        const id = o.name.slice(o.name.lastIndexOf('/') + 1);
        if (HEX64.test(id)) out.push(id);
      }
    } catch (err) {
      throw vaultError(err, this.location, sub.replace(/\/$/, ''));
    }
    return out.sort();
  }

  /**
   * Loads every index file into the in-memory index (superseded files that still exist are skipped).
   * A damaged index file stops the load, unless
   * `unreadable` is given: then it is passed there and left out (its packs are then in no index, and
   * can be indexed from their footers, see readUnindexedPacks).
   */
  async loadIndex(unreadable?: (indexId: string, err: AzbError) => void): Promise<Map<string, IndexFile>> {
    const ids = await this.listIndexIds();
    const files = new Map<string, IndexFile>();
    await forEachLimit(ids, 8, async (id) => {
      try {
        files.set(id, await this.readSealed<IndexFile>('index', this.indexObject(id), id));
      } catch (err) {
        // Gone since the listing: a backup running alongside replaced its partial index files.
        if (err instanceof AzbError && (await this.vault.store.stat(this.indexObject(id)).catch(() => null)) === undefined) return;
        if (!unreadable || !(err instanceof AzbError) || err.code !== 'AZB_OBJECT_DAMAGED') throw err;
        unreadable(id, err);
      }
    });
    const superseded = new Set<string>();
    for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
    let total = 0;
    for (const [id, f] of files) if (!superseded.has(id)) for (const p of f.packs) total += p.blobs.length;
    this.index = new BlobIndex(Math.max(1024, total));
    this.indexFiles = [];
    for (const [id, f] of files) {
      if (superseded.has(id)) continue;
      this.indexFiles.push(id);
      for (const p of f.packs) this.addPackToIndex(p);
    }
    return files;
  }

  /** Adds a pack's blobs to the in-memory index. */
  addPackToIndex(p: IndexedPack): void {
    for (const b of p.blobs) {
      this.index.add(Buffer.from(b.id, 'hex'), { packId: p.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength });
    }
  }

  /** Pack IDs in the vault (listing packs/). */
  async listPackIds(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      for await (const o of this.vault.store.list(`${this.prefix}packs/`)) {
        const id = o.name.slice(o.name.lastIndexOf('/') + 1);
        if (HEX64.test(id)) out.set(id, o.size);
      }
    } catch (err) {
      throw vaultError(err, this.location, 'the pack list');
    }
    return out;
  }

  /** Reads a whole pack, checking its storage ID. */
  async readPack(packId: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await this.vault.store.get(this.packObject(packId));
    } catch (err) {
      throw vaultError(err, this.location, `pack ${packId.slice(0, 12)}`);
    }
    if (storageId(data) !== packId) throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: its content does not match its name.`, { target: this.packObject(packId) });
    return data;
  }

  /** Reads the footer of a pack (used to index packs a crashed backup left unindexed). */
  async readPackBlobs(packId: string): Promise<IndexedPack> {
    const data = await this.readPack(packId);
    try {
      return { id: packId, size: data.length, blobs: readPackFooter(this.keys, data) };
    } catch (err) {
      if (err instanceof PackError) throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: ${err.message}.`, { target: this.packObject(packId) });
      throw err;
    }
  }

  /**
   * Packs in the vault that no loaded index names (a crashed backup uploaded them, or an index file was
   * lost), read from their own footers. Unreadable ones are passed to `unreadable` and left out.
   * `listed`: the pack listing, when the caller has one already.
   */
  async readUnindexedPacks(unreadable: (packId: string, err: Error) => void, listed?: Map<string, number>): Promise<IndexedPack[]> {
    listed ??= await this.listPackIds();
    const indexed = new Set(this.index.packIds());
    const packs: IndexedPack[] = [];
    for (const id of listed.keys()) {
      if (indexed.has(id)) continue;
      try {
        packs.push(await this.readPackBlobs(id));
      } catch (err) {
        if (!(err instanceof AzbError)) throw err;
        unreadable(id, err);
      }
    }
    return packs;
  }

  /**
   * The index for a reader (restore, ls, check): a damaged index file is reported through `warn` and
   * skipped, and the packs no readable index names are indexed in memory from their own footers, so
   * intact data stays reachable. Nothing is written (the next backup or prune writes a new index).
   */
  async loadIndexForReading(warn: Warn): Promise<void> {
    const { damaged } = await this.loadIndexSkippingDamaged(warn);
    if (damaged.length === 0) return;
    for (const p of await this.readUnindexedPacks((id, err) => warn('AZB_PACK_UNREADABLE', `Pack ${id.slice(0, 12)}… is in no readable index and cannot be read: ${err.message}`, this.packObject(id)))) {
      this.addPackToIndex(p);
    }
  }

  /**
   * loadIndex that skips damaged index files with warning AZB_INDEX_DAMAGED (FORMAT.md section 10):
   * their packs are then in no index, and each caller reads them from their footers.
   */
  async loadIndexSkippingDamaged(warn: Warn): Promise<{ files: Map<string, IndexFile>; damaged: string[] }> {
    const damaged: string[] = [];
    const files = await this.loadIndex((id, err) => {
      damaged.push(id);
      warn('AZB_INDEX_DAMAGED', `Index file ${id.slice(0, 12)}… is damaged and is ignored (${err.message}); the packs it listed are read from their own footers.`, this.indexObject(id));
    });
    return { files, damaged };
  }

  /** Uploads a finished pack and indexes it in memory. An identical pack already there counts as uploaded. */
  async savePack(pack: FinishedPack): Promise<void> {
    try {
      if (pack.path !== undefined) await putFromFile(this.vault.store, this.packObject(pack.id), pack.path);
      else await this.vault.store.put(this.packObject(pack.id), pack.data!);
    } catch (err) {
      if (!isStorageError(err, 'exists')) throw vaultError(err, this.location, `pack ${pack.id.slice(0, 12)}`);
    }
    this.addPackToIndex({ id: pack.id, size: pack.size, blobs: pack.blobs });
  }

  /** Writes an index file for packs (and superseding older files); returns its ID. */
  async saveIndex(packs: IndexedPack[], supersedes: string[] = []): Promise<string> {
    const file: IndexFile = { version: 1, supersedes, packs };
    const id = await this.writeSealed('index', file, (i) => this.indexObject(i));
    this.indexFiles.push(id);
    return id;
  }

  private async packKeyOf(packId: string): Promise<KeyObject> {
    let key = this.packKeys.get(packId);
    if (key) return key;
    let header: Buffer;
    try {
      header = await this.vault.store.get(this.packObject(packId), { offset: 0, length: PACK_HEADER_SIZE });
    } catch (err) {
      throw vaultError(err, this.location, `pack ${packId.slice(0, 12)}`);
    }
    try {
      key = packKeyFromHeader(this.keys, header);
    } catch {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: bad header.`, { target: this.packObject(packId) });
    }
    this.packKeys.set(packId, key);
    return key;
  }

  /** Location of a blob, or a coded error when the index does not have it. */
  locate(id: Buffer): BlobLocation {
    const loc = this.index.get(id);
    if (!loc) throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… is in no index.`, { target: id.toString('hex'), hint: "Run 'azbackup check' to see what is affected." });
    return loc;
  }

  /** Reads, decrypts and verifies one blob (its HMAC must equal its ID). */
  async readBlob(id: Buffer, expectType?: BlobType): Promise<Buffer> {
    const loc = this.locate(id);
    if (expectType && loc.type !== expectType) throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… is a ${loc.type} blob, expected ${expectType}.`, { target: id.toString('hex') });
    const key = await this.packKeyOf(loc.packId);
    let stored: Buffer;
    try {
      stored = await this.vault.store.get(this.packObject(loc.packId), { offset: loc.offset, length: loc.length });
    } catch (err) {
      throw vaultError(err, this.location, `pack ${loc.packId.slice(0, 12)}`);
    }
    return this.openStoredBlob(key, id, stored, loc);
  }

  /** Decrypts a blob already read from its pack, and checks its content against its ID. */
  openStoredBlob(key: KeyObject, id: Buffer, stored: Uint8Array, loc: BlobLocation): Buffer {
    let chunk: Buffer;
    try {
      chunk = openBlob(key, id, stored, loc.rawLength);
    } catch (err) {
      if (err instanceof PackError) throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${loc.packId.slice(0, 12)}… is damaged: ${err.message}.`, { target: this.packObject(loc.packId), hint: "Run 'azbackup check' to see what is affected." });
      throw err;
    }
    if (!this.blobMatchesId(chunk, id, loc.type)) throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… does not match its ID.`, { target: this.packObject(loc.packId) });
    return chunk;
  }

  /** The key of a pack (cached), for readers that fetch several blobs of one pack at once. */
  async keyOfPack(packId: string): Promise<KeyObject> {
    return this.packKeyOf(packId);
  }

  /** IDs of every recovery point. */
  async listPointIds(): Promise<string[]> {
    return this.listIds('points/');
  }

  /** Writes a recovery point, signed with the certificate's key; returns its ID. */
  async savePoint(manifest: PointManifest, privateKey: KeyObject): Promise<string> {
    const text = JSON.stringify(manifest);
    const envelope = { manifest: text, signature: signWith(privateKey, Buffer.from(text, 'utf8')), certificate: this.record.certificate };
    return this.writeSealed('point', envelope, (i) => this.pointObject(i));
  }

  /** Reads a recovery point and verifies its signature against the certificate in the vault. */
  async readPoint(pointId: string): Promise<RecoveryPoint> {
    const env = await this.readSealed<{ manifest: string; signature: string; certificate: string }>('point', this.pointObject(pointId), pointId);
    // Only this server's own certificate (fixed, with proof, in server.json) may sign its points: another
    // server given this passphrase for a restore must not be able to add points that pass as genuine.
    if (env.certificate !== this.record.certificate) {
      throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… is signed with certificate ${String(env.certificate)}, not with this server's certificate ${this.record.certificate}.`, {
        target: this.pointObject(pointId), hint: 'Do not trust this recovery point; check who can write to the vault.',
      });
    }
    const cert = await getCertificateCached(this, env.certificate);
    const ok = cert !== undefined && createVerify('sha256').update(Buffer.from(env.manifest, 'utf8')).verify(createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' })), env.signature, 'base64');
    if (!ok) {
      throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… fails its signature check.`, {
        target: this.pointObject(pointId), hint: 'Do not trust this recovery point; check who can write to the vault.',
      });
    }
    const manifest = JSON.parse(env.manifest) as PointManifest;
    if (manifest.serverId !== this.serverId) throw new AzbError('AZB_POINT_TAMPERED', `Recovery point ${pointId.slice(0, 12)}… belongs to another server.`, { target: this.pointObject(pointId) });
    return { id: pointId, manifest, certificate: env.certificate };
  }

  /**
   * Every recovery point, oldest first. A point that cannot be read (damaged, or failing its signature)
   * stops the read, unless `unreadable` is given: then it is passed there and left out.
   */
  async readAllPoints(unreadable?: (pointId: string, err: AzbError) => void): Promise<RecoveryPoint[]> {
    const ids = await this.listPointIds();
    const out: RecoveryPoint[] = [];
    await forEachLimit(ids, 8, async (id) => {
      try {
        out.push(await this.readPoint(id));
      } catch (err) {
        if (!unreadable || !isUnreadablePoint(err)) throw err;
        unreadable(id, err);
      }
    });
    return out.sort((a, b) => a.manifest.time.localeCompare(b.manifest.time) || a.id.localeCompare(b.id));
  }

  /** Adds a key file for a new passphrase and removes the one that was used to open. */
  async changePassphrase(newPassphrase: string): Promise<void> {
    const file = await createKeyFile(this.masterKey, newPassphrase, this.serverId, this.record.hostname);
    const name = `${this.prefix}keys/${randomBytes(16).toString('hex')}`;
    try {
      await this.vault.store.put(name, Buffer.from(JSON.stringify(file, null, 2)));
    } catch (err) {
      throw vaultError(err, this.location, 'a new key file');
    }
    // The new key must open before the old one goes: never leave the namespace without a working key.
    const check = await openKeyFile(JSON.parse((await this.vault.store.get(name)).toString('utf8')) as KeyFile, newPassphrase, this.serverId);
    if (!check || !check.equals(this.masterKey)) throw new AzbError('AZB_INTERNAL', 'The new key file does not open; the old passphrase stays valid.');
    try {
      await this.vault.store.delete(this.keyName);
    } catch (err) {
      throw vaultError(err, this.location, 'the old key file');
    }
  }
}

const certCache = new WeakMap<ServerRepo, Map<string, X509Certificate | undefined>>();
async function getCertificateCached(repo: ServerRepo, thumbprint: string): Promise<X509Certificate | undefined> {
  let m = certCache.get(repo);
  if (!m) { m = new Map(); certCache.set(repo, m); }
  if (!m.has(thumbprint)) m.set(thumbprint, await getCertificate(repo.vault, thumbprint));
  return m.get(thumbprint);
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
