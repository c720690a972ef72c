// An opened server namespace (FORMAT.md sections 3-10): its record, master key and derived keys, the
// names of its objects and blob IDs. What it holds lives in its own modules — registration.ts
// (server.json, creating a namespace), key-files.ts (opening with the passphrase), sealed-objects.ts,
// pack-objects.ts (packs and blobs), index-store.ts (index files, unindexed packs) and points.ts
// (recovery points), point-states.ts (their soft delete) — and ServerRepo's methods delegate there, so callers keep one handle.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { AzbError } from '../protocol/errors.js';
import { deriveKeys, type DerivedKeys } from '../crypto/keys.js';
import { unsealJson, type SealedKind } from '../crypto/seal.js';
import { BlobIndex, type BlobLocation, type BlobType } from './blob-index.js';
import { DamageSet } from './damage.js';
import { builtInDecodeWorker, DECODE_ON_WORKER_FROM, DecodePool } from './decode-pool.js';
import * as indexStore from './index-store.js';
import type { IndexCache } from './index-cache.js';
import type { IndexFile, IndexedPack } from './index-store.js';
import { keyIdOf, openMasterKey, replaceKeyFile } from './key-files.js';
import * as packObjects from './pack-objects.js';
import type { FinishedPack } from './pack.js';
import * as points from './points.js';
import type { PointManifest, RecoveryPoint } from './points.js';
import { readServerRecord, serverPrefix, type ServerConfig, type ServerPin, type ServerRecord } from './registration.js';
import { readSealedObject, writeSealedObject } from './sealed-objects.js';
import { vaultError } from './storage-errors.js';
import { TreeBlobs } from './tree-blobs.js';
import { updateRegistration, writePrivate } from '../config/home.js';
import type { Vault } from './vault.js';
import type { ObjectInfo } from '../storage/storage.js';

// Re-exported for the callers that import them from here.
export type { IndexFile, IndexedPack } from './index-store.js';
export type { PointManifest, PointStats, RecoveryPoint } from './points.js';
export { isUnreadablePoint } from './points.js';
export type { ServerConfig, ServerPin, ServerRecord } from './registration.js';
export { forEachLimit } from './for-each-limit.js';

const HEX64 = /^[0-9a-f]{64}$/;
/** The folders listNamespace() keeps for the lock holder: those a backup lists right after its lock. */
const KEPT_LISTINGS = ['damage/', 'index/', 'packs/'];

/** A warning callback (an EventSink's warning). */
export type Warn = (code: string, message: string, target: string) => void;

/** How a namespace is opened. */
export interface OpenServerOptions {
  /**
   * This machine's registration, when the namespace is its own (FORMAT.md section 11): only the pinned
   * key file opens it, only the pinned certificate signs its points, and the newest point it wrote is
   * expected in the vault. Without it (another server's namespace) server.json and its proof decide.
   */
  pin?: ServerPin;
  /** Stops a key derivation under way (SIGTERM): AZB_CANCELLED. */
  signal?: AbortSignal;
  /**
   * A local copy of the sealed config (a file in the cache location; backup): used instead of reading
   * the config when it opens with the master key, then proved the vault's by listNamespace() (its size and
   * MD5 in the listing, else a read), which must come before anything but a lock is written. Written
   * when the config is read from the vault.
   */
  configCopy?: string;
}

/** Opens a server namespace with its passphrase. */
export async function openServer(vault: Vault, serverId: string, passphrase: string | undefined, o: OpenServerOptions = {}): Promise<ServerRepo> {
  const record = await readServerRecord(vault, serverId);
  if (passphrase === undefined || passphrase === '') {
    throw new AzbError('AZB_PASSPHRASE_REQUIRED', `The passphrase of server ${record.hostname} is required.`, {
      hint: 'Give -Passphrase (PowerShell), or AZBACKUP_PASSPHRASE / --passphrase-file (CLI).',
    });
  }
  const prefix = serverPrefix(serverId);
  const pin = o.pin && o.pin.serverId === serverId ? o.pin : undefined;
  const { masterKey, keyName } = await openMasterKey(vault, record, passphrase, { ...(pin?.keyId !== undefined ? { keyId: pin.keyId } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  const keys = deriveKeys(masterKey);
  const openConfig = (bytes: Buffer) => {
    const opened = unsealJson<ServerConfig>(keys.seal, 'config', bytes);
    return 'value' in opened && opened.value.serverId === serverId ? opened.value : undefined;
  };
  // The config never changes once written (FORMAT.md section 2): a copy that opens is the config.
  const copy = o.configCopy ? await readFile(o.configCopy).catch(() => undefined) : undefined;
  let config = copy ? openConfig(copy) : undefined;
  const fromCopy = config !== undefined;
  if (!config) {
    const configBytes = await readConfig(vault, prefix);
    config = openConfig(configBytes);
    if (!config) throw new AzbError('AZB_OBJECT_DAMAGED', `The config of server ${record.hostname} is damaged.`, { target: `${prefix}config` });
    if (o.configCopy) await writePrivate(o.configCopy, configBytes).catch(() => undefined);
  }
  const repo = new ServerRepo(vault, record, masterKey, keys, config, keyName, pin);
  if (fromCopy) repo.configUnproved = copy;
  // A registration of an earlier engine names no key file: from now on, the one that opened is this
  // server's (a home that cannot be written leaves it unpinned; the next open tries again).
  if (pin && pin.keyId === undefined) await repo.pinKey(keyIdOf(keyName)).catch(() => undefined);
  return repo;
}

async function readConfig(vault: Vault, prefix: string): Promise<Buffer> {
  try {
    return await vault.store.get(`${prefix}config`);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the server config');
  }
}

/** An opened server namespace. */
export class ServerRepo {
  readonly prefix: string;
  /** Blob ID → location, filled by loadIndex() and by savePack(). */
  index = new BlobIndex();
  /** Names of the index files loaded. */
  indexFiles: string[] = [];
  /** Local copies of index files (index-cache.ts), when the caller gives a cache location (backup). */
  indexCache: IndexCache | undefined;
  /** Damage recorded by check (damage.ts), read with the index: these blob copies are left out of it. */
  damage = new DamageSet();
  /** Where the tree blobs lie, and tree segments read (tree-blobs.ts). */
  readonly trees: TreeBlobs = new TreeBlobs(this);
  /** Pack keys read from pack headers (pack-objects.ts). */
  readonly packKeys = new Map<string, KeyObject>();
  /** Decode workers while startDecodeWorkers() is in effect. */
  decodePool: DecodePool | undefined;
  private blobIdKey: KeyObject | undefined;
  /**
   * The local copy of the config this namespace was opened with, until listNamespace() has proved it
   * the vault's (OpenServerOptions.configCopy); nothing but a lock may be written while it is set.
   */
  configUnproved: Buffer | undefined;
  /** Folders of the namespace listing made under the lock, each until its first listUnder(). */
  private namespaceListing: Map<string, ObjectInfo[]> | undefined;
  private treeIdKey: KeyObject | undefined;

  constructor(
    readonly vault: Vault,
    readonly record: ServerRecord,
    readonly masterKey: Buffer,
    readonly keys: DerivedKeys,
    readonly config: ServerConfig,
    readonly keyName: string,
    /** This machine's registration when the namespace is its own (see OpenServerOptions.pin). */
    readonly pin?: ServerPin,
  ) {
    this.prefix = serverPrefix(record.serverId);
  }

  get serverId(): string { return this.record.serverId; }
  /** The certificate that signs this server's points: the pinned one on this server, else server.json's. */
  get certificate(): string { return this.pin?.certificate ?? this.record.certificate; }
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
  pointStateObject(pointId: string, stateId: string): string { return `${this.prefix}point-states/${pointId}/${stateId}`; }

  /**
   * Lists the whole namespace in one go (one request a page on Azure, instead of one a folder), grouped by
   * first folder (`locks/`, `index/`, … ; objects at the top under ''). The folders a lock holder reads
   * next (damage/, index/, packs/) are kept for its first listUnder() of each: acquireLock lists after its
   * lock is in place, so under a backup or exclusive lock nobody else changes them meanwhile.
   */
  async listNamespace(): Promise<Map<string, ObjectInfo[]>> {
    const bySub = new Map<string, ObjectInfo[]>();
    try {
      for await (const o of this.vault.store.list(this.prefix)) {
        const rest = o.name.slice(this.prefix.length);
        const slash = rest.indexOf('/');
        const sub = slash < 0 ? '' : rest.slice(0, slash + 1);
        let group = bySub.get(sub);
        if (!group) bySub.set(sub, group = []);
        group.push(o);
      }
    } catch (err) {
      throw vaultError(err, this.location, 'the namespace listing');
    }
    await this.proveConfig(bySub.get('')?.find((o) => o.name === `${this.prefix}config`));
    this.namespaceListing = new Map(KEPT_LISTINGS.map((sub) => [sub, bySub.get(sub) ?? []]));
    return bySub;
  }

  /**
   * Proves the local copy of the config (configUnproved) is the vault's: the listing gives its size and
   * MD5 (as the store recorded them at the put), else the vault's config is read and compared. A config
   * missing from the vault, or another one, stops the work (AZB_OBJECT_DAMAGED): the namespace could not
   * be opened from the vault, so nothing may be written into it.
   */
  private async proveConfig(listed: ObjectInfo | undefined): Promise<void> {
    const copy = this.configUnproved;
    if (!copy) return;
    const name = `${this.prefix}config`;
    if (listed === undefined) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `The config of server ${this.record.hostname} is missing from the vault at ${this.location}; nothing was written.`, { target: name, hint: "Put it back from a copy of the vault; 'azbackup check' names what is affected." });
    }
    const sameByListing = listed.size === copy.length && listed.md5 !== undefined && listed.md5 === createHash('md5').update(copy).digest('base64');
    if (!sameByListing && !(await readConfig(this.vault, this.prefix)).equals(copy)) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `The config of server ${this.record.hostname} in the vault at ${this.location} is not the one this server has used (a config is never rewritten); nothing was written.`, { target: name, hint: "Put it back from a copy of the vault, and run 'azbackup check'." });
    }
    this.configUnproved = undefined;
  }

  /** Drops what listNamespace() kept (the lock it was made under is released or refused). */
  forgetNamespaceListing(): void { this.namespaceListing = undefined; }

  /** The objects under a sub-folder (`index/`): what listNamespace() kept for it, once, else a new listing. */
  listUnder(sub: string): AsyncIterable<ObjectInfo> | Iterable<ObjectInfo> {
    const kept = this.namespaceListing?.get(sub);
    if (kept) { this.namespaceListing!.delete(sub); return kept; }
    return this.vault.store.list(`${this.prefix}${sub}`);
  }

  /** IDs (64 hex) of the objects under a sub-folder of the namespace (`index/`, `points/`), sorted. */
  async listObjectIds(sub: string): Promise<string[]> {
    return [...(await this.listObjects(sub)).keys()].sort();
  }

  /** The objects (64-hex IDs) under a sub-folder of the namespace, by ID, as listed. */
  async listObjects(sub: string): Promise<Map<string, ObjectInfo>> {
    const out = new Map<string, ObjectInfo>();
    try {
      for await (const o of this.listUnder(sub)) {
        const id = o.name.slice(o.name.lastIndexOf('/') + 1);
        if (HEX64.test(id)) out.set(id, o);
      }
    } catch (err) {
      throw vaultError(err, this.location, sub.replace(/\/$/, ''));
    }
    return out;
  }

  // Sealed objects (sealed-objects.ts).
  /** Reads a sealed object and checks its name (storage ID) and authentication. */
  readSealed<T>(kind: SealedKind, name: string, id: string, verified?: (data: Buffer) => Promise<void>): Promise<T> { return readSealedObject<T>(this.vault.store, this.keys.seal, kind, name, id, verified); }
  /** Writes a sealed object under its storage ID; an identical object already there is fine. */
  writeSealed(kind: SealedKind, value: unknown, nameOf: (id: string) => string, written?: (id: string, data: Buffer) => Promise<void>): Promise<string> { return writeSealedObject(this.vault.store, this.keys.seal, kind, value, nameOf, written); }

  // Index files (index-store.ts).
  listIndexIds(): Promise<string[]> { return indexStore.listIndexIds(this); }
  loadIndex(unreadable?: (indexId: string, err: AzbError) => void): Promise<Map<string, IndexFile>> { return indexStore.loadIndex(this, unreadable); }
  addPackToIndex(p: IndexedPack): void { indexStore.addPackToIndex(this, p); }
  readUnindexedPacks(unreadable: (packId: string, err: Error) => void, listed?: Map<string, number>): Promise<IndexedPack[]> { return indexStore.readUnindexedPacks(this, unreadable, listed); }
  loadIndexForReading(warn: Warn): Promise<void> { return indexStore.loadIndexForReading(this, warn); }
  loadIndexSkippingDamaged(warn: Warn): Promise<{ files: Map<string, IndexFile>; damaged: string[] }> { return indexStore.loadIndexSkippingDamaged(this, warn); }
  saveIndex(packs: IndexedPack[], supersedes: string[] = []): Promise<string> { return indexStore.saveIndex(this, packs, supersedes); }

  // Packs and blobs (pack-objects.ts).
  listPackIds(): Promise<Map<string, number>> { return packObjects.listPackIds(this); }
  readPack(packId: string): Promise<Buffer> { return packObjects.readPack(this, packId); }
  readPackBlobs(packId: string): Promise<IndexedPack> { return packObjects.readPackBlobs(this, packId); }
  savePack(pack: FinishedPack): Promise<void> { return packObjects.savePack(this, pack); }
  locate(id: Buffer): BlobLocation { return packObjects.locateBlob(this, id); }
  readBlob(id: Buffer, expectType?: BlobType): Promise<Buffer> { return packObjects.readBlob(this, id, expectType); }
  /** A tree blob, read with the tree blobs around it in its pack and cached (tree-blobs.ts). */
  readTreeBlob(id: Buffer): Promise<Buffer> { return this.trees.read(id); }
  openStoredBlob(key: KeyObject, id: Buffer, stored: Uint8Array, loc: BlobLocation): Buffer { return packObjects.openStoredBlob(this, key, id, stored, loc); }
  /**
   * The one decode point of reads of many blobs (BlobFetcher): openStoredBlob, on a decode worker while
   * startDecodeWorkers() is in effect (data blobs of DECODE_ON_WORKER_FROM stored bytes or more), inline
   * otherwise. The same checks and errors either way. `idCheck` false: see openStoredBlob.
   */
  decodeStoredBlob(key: KeyObject, id: Buffer, stored: Uint8Array, loc: BlobLocation, idCheck = true): Promise<Buffer> | Buffer {
    if (this.decodePool && loc.type === 'data' && stored.length >= DECODE_ON_WORKER_FROM) return this.decodePool.open(this, key, id, stored, loc, idCheck);
    return packObjects.openStoredBlob(this, key, id, stored, loc, idCheck);
  }
  /**
   * Starts decode workers for a read of many blobs; stopDecodeWorkers() when it is done. Not on a single
   * core, nor without the worker code (the TypeScript sources in tests): `o.source` gives it there.
   */
  startDecodeWorkers(o: { source?: string; workers?: number } = {}): void {
    const source = o.source ?? builtInDecodeWorker();
    if (this.decodePool || source === undefined || (o.workers === undefined && availableParallelism() < 2)) return;
    this.decodePool = new DecodePool(this.keys.blobId, { source, ...(o.workers !== undefined ? { workers: o.workers } : {}) });
  }
  async stopDecodeWorkers(): Promise<void> {
    const pool = this.decodePool;
    this.decodePool = undefined;
    await pool?.close();
  }
  /** The key of a pack (cached), for readers that fetch several blobs of one pack at once. */
  keyOfPack(packId: string): Promise<KeyObject> { return packObjects.packKeyOf(this, packId); }

  // Recovery points (points.ts).
  listPointIds(): Promise<string[]> { return points.listPointIds(this); }
  savePoint(manifest: PointManifest, privateKey: KeyObject): Promise<string> { return points.savePoint(this, manifest, privateKey); }
  readPoint(pointId: string): Promise<RecoveryPoint> { return points.readPoint(this, pointId); }
  readAllPoints(unreadable?: (pointId: string, err: AzbError) => void): Promise<RecoveryPoint[]> { return points.readAllPoints(this, unreadable); }
  /** Every readable point, split into live and soft-deleted ones by their states (point-states.ts). */
  readPointsByState(unreadable?: (pointId: string, err: AzbError) => void, warn?: Warn): Promise<points.PointsByState> { return points.readPointsByState(this, unreadable, warn); }
  /** The newest point this server wrote when it is no longer in the vault (rollback), else undefined. */
  missingNewestPoint(listed?: readonly string[]): Promise<{ id: string; time: string } | undefined> { return points.missingNewestPoint(this, listed); }
  /** Warns AZB_POINT_MISSING (points, check) when the newest point this server wrote is gone; returns it. */
  warnIfNewestPointMissing(warn: Warn, listed?: readonly string[]): Promise<{ id: string; time: string } | undefined> { return points.warnIfNewestPointMissing(this, warn, listed); }
  /** Throws AZB_POINT_MISSING ('latest' of restore, ls and forget) when the newest point this server wrote is gone. */
  assertNewestPointPresent(): Promise<void> { return points.assertNewestPointPresent(this); }
  /** After a forget of a point of this server: the newest point it expects moves back to the newest remaining. */
  pointRemoved(pointId: string): Promise<void> { return points.pointRemoved(this, pointId); }
  /** After a point was brought back from soft delete: it becomes the newest this server expects if it is. */
  pointRestored(point: RecoveryPoint): Promise<void> { return points.recordNewestPoint(this, point.id, point.manifest.time); }

  // Key files (key-files.ts).
  /**
   * Adds a key file for a new passphrase and removes the one that was used to open. On this server the
   * new key file becomes the only one it accepts (its registration's keyId).
   */
  async changePassphrase(newPassphrase: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    const name = await replaceKeyFile(this.vault, this.record, this.masterKey, this.keyName, newPassphrase, o);
    if (this.pin) await this.pinKey(keyIdOf(name));
  }

  /** Records in this machine's registration the key file this server accepts. */
  async pinKey(keyId: string): Promise<void> {
    if (!this.pin) return;
    await updateRegistration(this.vault.manifest.vaultId, this.serverId, (r) => { r.keyId = keyId; });
    this.pin.keyId = keyId;
  }
}
