// Stores blobs: dedup against the index, encode, fill packs staged in the cache location, upload them
// with bounded concurrency, and write index files as it goes (every 8 packs or 5 minutes) so an
// interrupted backup resumes.
import { randomBytes } from 'node:crypto';
import { rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { PACK_TARGET_SIZE, PackWriter, encodeBlobBodyAsync, type FinishedPack } from '../repo/pack.js';
import type { BlobType } from '../repo/blob-index.js';
import type { IndexedPack, ServerRepo } from '../repo/server.js';
import { makeDirs } from '../fs/make-dirs.js';

/** Counters of what was added to the vault. */
export interface SaverStats { blobsAdded: number; bytesAdded: number; bytesStored: number; packsUploaded: number }

/** Packs uploaded at once unless the store asks for more (cloud vaults: the upload concurrency setting). */
const UPLOADS_IN_FLIGHT = 2;
/** Blobs being compressed at once on the thread pool (bounds memory to a few chunks). */
const ENCODES_IN_FLIGHT = 6;
/** Pack bytes handed to the staging file and not yet written before adding waits for the disk. */
const UNWRITTEN_LIMIT = 8 * 1024 * 1024;
/** Index file after this many packs… */
const INDEX_EVERY_PACKS = 8;
/** …or this much time. */
const INDEX_EVERY_MS = 5 * 60 * 1000;

/** Saves blobs of one backup run. Call finish() at the end (also after a cancel) to index what was uploaded. */
export class BlobSaver {
  readonly stats: SaverStats = { blobsAdded: 0, bytesAdded: 0, bytesStored: 0, packsUploaded: 0 };
  /**
   * The open pack of each blob type: trees go in packs of their own (FORMAT.md section 7), so a restore
   * reads every tree of a point in a request or two instead of one request per folder.
   */
  private readonly writers: Partial<Record<BlobType, PackWriter>> = {};
  /** Blobs saved by this run and not yet in the index: ID (hex) → plain length. */
  private readonly pending = new Map<string, number>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly encodes = new Set<Promise<void>>();
  private readonly finished: Promise<FinishedPack>[] = [];
  private uploadError: unknown;
  private readonly newPacks: IndexedPack[] = [];
  private unindexed: IndexedPack[] = [];
  private readonly partialIndexes: string[] = [];
  private lastIndexAt = Date.now();
  /** Rewrite mode: the blobs this saver has taken (uploaded or not). */
  private readonly rewritten = new Set<string>();

  private readonly uploadsInFlight: number;

  /**
   * `stagingDir`: the folder of the cache location packs are staged in (FORMAT.md section 11); call
   * prepare() first. Without it packs are assembled in memory (tests of the packing alone).
   * `lock`: the backup's lock, checked before every index file is written (FORMAT.md section 10): once
   * it is lost, a prune may have deleted packs of this run, and no index may name them.
   */
  /**
   * `o.rewrite` (prune's repacking): store every blob given, even one the index has, since the pack
   * the index places it in is about to be deleted; only repeats within this saver are skipped.
   */
  constructor(private readonly repo: ServerRepo, private readonly stagingDir?: string, private readonly lock?: { assertHeld(): Promise<void> }, private readonly o: { rewrite?: boolean } = {}) {
    this.uploadsInFlight = repo.vault.store.uploadConcurrency ?? UPLOADS_IN_FLIGHT;
  }

  /** The packs this saver uploaded (and indexed, once finish(true) returned). */
  get packsWritten(): readonly IndexedPack[] {
    return this.newPacks;
  }

  /** Most bytes a saver of this repo stages at once: the open packs (data, tree), one sealed and those uploading. */
  static stagingBound(repo: ServerRepo): number {
    // The open data pack, the open tree pack, one sealed, and those uploading.
    return ((repo.vault.store.uploadConcurrency ?? UPLOADS_IN_FLIGHT) + 3) * (PACK_TARGET_SIZE + 64 * 1024);
  }

  /**
   * Empties the staging folder: packs a killed run left there were never indexed, and their data is
   * read again from the source. Only one backup of a server runs at a time (its lock), so none is in use.
   */
  async prepare(): Promise<void> {
    if (this.stagingDir === undefined) return;
    try {
      await rm(this.stagingDir, { recursive: true, force: true });
      await makeDirs(this.stagingDir, 0o700);
    } catch (err) {
      throw stagingError(err, this.stagingDir);
    }
  }

  /** Plain length of a blob that is stored or being stored, else undefined. */
  rawLengthOf(id: Buffer): number | undefined {
    return this.repo.index.rawLengthOf(id) ?? this.pending.get(id.toString('hex'));
  }

  /** Whether a blob with this ID is already stored or on its way. */
  has(id: Buffer): boolean {
    if (this.o.rewrite) return this.rewritten.has(id.toString('hex'));
    return this.repo.index.has(id) || this.pending.has(id.toString('hex'));
  }

  /**
   * Stores a blob unless it is already there; returns its ID at once. Compression runs on the thread
   * pool; the blob joins a pack when it is done. Waits only when too much is in flight.
   */
  async save(type: BlobType, data: Buffer, knownId?: Buffer): Promise<Buffer> {
    if (this.uploadError) throw this.uploadError;
    const id = knownId ?? this.repo.blobId(data, type);
    if (this.has(id)) return id;
    if (this.o.rewrite) this.rewritten.add(id.toString('hex'));
    this.pending.set(id.toString('hex'), data.length);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += data.length;
    const encode = encodeBlobBodyAsync(data).then((encoded) => { this.addEncoded(type, id, encoded, data.length); })
      .catch((err: unknown) => { this.uploadError ??= err; });
    this.encodes.add(encode);
    void encode.finally(() => this.encodes.delete(encode));
    while (this.encodes.size >= ENCODES_IN_FLIGHT) await Promise.race(this.encodes);
    await this.startUploads();
    if (this.uploadError) throw this.uploadError;
    return id;
  }

  /**
   * Stores a blob already encoded (compressed or not) by a read worker, unless it is already there.
   * Waits only when too many packs are on their way up.
   */
  async saveEncoded(type: BlobType, id: Buffer, encoded: { flag: number; body: Uint8Array }, rawLength: number): Promise<void> {
    if (this.uploadError) throw this.uploadError;
    if (this.has(id)) return;
    this.pending.set(id.toString('hex'), rawLength);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += rawLength;
    this.addEncoded(type, id, encoded, rawLength);
    if (this.finished.length > 0) await this.startUploads();
    const writer = this.writers[type];
    if (writer && writer.unwritten > UNWRITTEN_LIMIT) await writer.drain().catch((err: unknown) => { this.uploadError ??= stagingError(err, this.stagingDir!); });
    if (this.uploadError) throw this.uploadError;
  }

  // Runs synchronously (no await), so packs are filled one blob at a time whatever order encodes finish in.
  private addEncoded(type: BlobType, id: Buffer, encoded: { flag: number; body: Uint8Array }, rawLength: number): void {
    if (this.writers[type] && !this.writers[type].fits(encoded.body.length)) this.sealPack(type);
    const writer = (this.writers[type] ??= new PackWriter(this.repo.keys, this.stagingDir !== undefined ? join(this.stagingDir, `pack-${randomBytes(8).toString('hex')}`) : undefined));
    this.stats.bytesStored += writer.add(type, id, encoded, rawLength);
  }

  private sealPack(type: BlobType): void {
    const writer = this.writers[type];
    delete this.writers[type];
    if (!writer) return;
    if (writer.count === 0) { void writer.discard(); return; }
    const finished = this.stagingDir !== undefined
      ? writer.finishStaged().catch((err: unknown) => { throw stagingError(err, this.stagingDir!); })
      : Promise.resolve(writer.finish());
    finished.catch(() => undefined);
    this.finished.push(finished);
  }

  private async closePack(): Promise<void> {
    this.sealPack('data');
    this.sealPack('tree');
    await this.startUploads();
  }

  // Starts uploads of sealed packs, waiting while too many are in flight.
  private async startUploads(): Promise<void> {
    while (this.finished.length > 0) {
      while (this.uploads.size >= this.uploadsInFlight) await Promise.race(this.uploads);
      if (this.uploadError) throw this.uploadError;
      const next = this.finished.shift();
      if (!next) break;
      const upload = (async () => {
        const pack = await next;
        try {
          await this.repo.savePack(pack);
        } finally {
          if (pack.path !== undefined) await unlink(pack.path).catch(() => undefined);
        }
        for (const b of pack.blobs) this.pending.delete(b.id);
        const indexed: IndexedPack = { id: pack.id, size: pack.size, blobs: pack.blobs };
        this.newPacks.push(indexed);
        this.unindexed.push(indexed);
        this.stats.packsUploaded++;
        if (this.unindexed.length >= INDEX_EVERY_PACKS || Date.now() - this.lastIndexAt > INDEX_EVERY_MS) await this.writePartialIndex();
      })().catch((err: unknown) => { this.uploadError ??= err; });
      this.uploads.add(upload);
      void upload.finally(() => this.uploads.delete(upload));
    }
  }

  private async writePartialIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    await this.lock?.assertHeld();
    const packs = this.unindexed;
    this.unindexed = [];
    this.lastIndexAt = Date.now();
    this.partialIndexes.push(await this.repo.saveIndex(packs));
  }

  /** Uploads the last pack and waits for every upload. */
  async flush(): Promise<void> {
    while (this.encodes.size > 0) await Promise.race(this.encodes);
    if (this.uploadError) throw this.uploadError;
    await this.closePack();
    while (this.uploads.size > 0) await Promise.race(this.uploads);
    if (this.uploadError) throw this.uploadError;
  }

  /**
   * Makes everything uploaded durable in one index file that supersedes the partial ones of this run.
   * After a failure or cancel, `complete` is false: only what was uploaded is indexed.
   */
  async finish(complete: boolean): Promise<void> {
    if (complete) await this.flush();
    else {
      // Blobs not yet in an uploaded pack are dropped; packs already sealed may still go up.
      while (this.encodes.size > 0) await Promise.race(this.encodes);
      const dropped = this.finished.splice(0);
      for (const type of ['data', 'tree'] as const) {
        await this.writers[type]?.discard().catch(() => undefined);
        delete this.writers[type];
      }
      for (const p of dropped) await p.then((pack) => (pack.path !== undefined ? unlink(pack.path) : undefined)).catch(() => undefined);
      while (this.uploads.size > 0) await Promise.race(this.uploads);
    }
    if (this.newPacks.length === 0) return;
    if (this.partialIndexes.length === 0 || !complete) {
      await this.writePartialIndex();
      return;
    }
    this.unindexed = [];
    await this.lock?.assertHeld();
    await this.repo.saveIndex(this.newPacks, [...this.partialIndexes]);
    for (const id of this.partialIndexes) await this.repo.vault.store.delete(this.repo.indexObject(id)).catch(() => undefined);
  }
}

/** A staging file that cannot be written: a full cache location has its own code. */
export function stagingError(err: unknown, dir: string): AzbError {
  if (err instanceof AzbError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AzbError('AZB_CACHE_FULL', `The cache location ${dir} is full: packs are staged there before they are uploaded.`, {
      target: dir, hint: 'Free space there, or move the cache with --cache-dir / AZBACKUP_CACHE. Data already uploaded is reused by the next backup.',
    });
  }
  return new AzbError('AZB_CACHE_UNUSABLE', `Packs cannot be staged in the cache location ${dir}: ${code ?? (err as Error).message}.`, {
    target: dir, hint: 'Give a writable --cache-dir (or AZBACKUP_CACHE).',
  });
}
