// Packs (FORMAT.md section 7): many encrypted blobs in one object, with an encrypted footer listing
// them so the index can always be rebuilt from the packs themselves.
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { constants as zc, zstdCompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { promisify } from 'node:util';
import { AEAD_OVERHEAD, decrypt, encrypt, encryptParts } from '../crypto/aead.js';
import { packKey, type DerivedKeys } from '../crypto/keys.js';
import type { BlobType } from './blob-index.js';

/** Magic at offset 0 of every pack. */
export const PACK_MAGIC = Buffer.from('AZBPACK1', 'latin1');
/** Bytes before the first blob: magic + salt. */
export const PACK_HEADER_SIZE = 8 + 16;
/** Bytes queued before a write starts. */
const WRITE_BATCH = 1024 * 1024;
/** Buffers in one writev (IOV_MAX on Linux). */
const MAX_IOVECS = 1024;
/** A pack is closed once adding the next blob would pass this size. */
export const PACK_TARGET_SIZE = 16 * 1024 * 1024;

const FOOTER_AAD = Buffer.from('azbackup-v1 pack-footer', 'utf8');
const FLAG_RAW = 0x00;
const FLAG_ZSTD = 0x01;
/** Sample size used to decide whether a chunk is worth compressing. */
const SAMPLE = 32 * 1024;

/** One blob as listed in a pack footer and in index files. */
export interface PackedBlob { id: string; type: BlobType; offset: number; length: number; rawLength: number }

/** A finished pack, ready to upload: its bytes in memory, or the file it is staged in. */
export interface FinishedPack { id: string; size: number; data?: Buffer; path?: string; blobs: PackedBlob[] }

/** Compresses with zstd when that makes the chunk smaller; a sample decides for large chunks so incompressible data costs little. */
export function encodeBlobBody(chunk: Uint8Array, level = 3): { flag: number; body: Uint8Array } {
  if (chunk.length < 64) return { flag: FLAG_RAW, body: chunk };
  // pledgedSrcSize lets zstd size its window and tables to the input: small blobs get small contexts.
  const params = { chunkSize: Math.max(16 * 1024, chunk.length), pledgedSrcSize: chunk.length, params: { [zc.ZSTD_c_compressionLevel]: level } };
  if (chunk.length > SAMPLE * 2) {
    const sample = zstdCompressSync(chunk.subarray(0, SAMPLE), { chunkSize: SAMPLE * 2, pledgedSrcSize: SAMPLE, params: params.params });
    if (sample.length > SAMPLE * 0.97) return { flag: FLAG_RAW, body: chunk };
  }
  const z = zstdCompressSync(chunk, params);
  return z.length < chunk.length ? { flag: FLAG_ZSTD, body: z } : { flag: FLAG_RAW, body: chunk };
}

const zstdCompressAsync = promisify(zstdCompress) as (data: Uint8Array, options: object) => Promise<Buffer>;

/** encodeBlobBody on the libuv thread pool, so compression runs beside chunking and hashing. */
export async function encodeBlobBodyAsync(chunk: Uint8Array, level = 3): Promise<{ flag: number; body: Uint8Array }> {
  // Below 64 KiB a trip to the thread pool costs more than compressing here.
  if (chunk.length < 64 * 1024) return encodeBlobBody(chunk, level);
  // One output buffer of the input's size instead of many 16 KiB pieces (the default): far less garbage.
  const params = { chunkSize: Math.max(64 * 1024, chunk.length), pledgedSrcSize: chunk.length, params: { [zc.ZSTD_c_compressionLevel]: level } };
  if (chunk.length > SAMPLE * 2) {
    const sample = await zstdCompressAsync(chunk.subarray(0, SAMPLE), { chunkSize: SAMPLE * 2, pledgedSrcSize: SAMPLE, params: params.params });
    if (sample.length > SAMPLE * 0.97) return { flag: FLAG_RAW, body: chunk };
  }
  const z = await zstdCompressAsync(chunk, params);
  return z.length < chunk.length ? { flag: FLAG_ZSTD, body: z } : { flag: FLAG_RAW, body: chunk };
}

/**
 * Assembles one pack: in memory (finish()), or staged in a file of the cache location as it grows
 * (finishStaged()), so a pack waiting for its upload costs disk, not memory. Not reused after finishing.
 */
export class PackWriter {
  private readonly salt = randomBytes(16);
  private readonly key: KeyObject;
  private readonly parts: Buffer[] = [];
  private readonly blobs: PackedBlob[] = [];
  private readonly hash = createHash('sha256');
  private bytes = PACK_HEADER_SIZE;
  /** Bytes appended so far, footer included once it is. */
  private appended = 0;
  private readonly file: StagingFile | undefined;

  /** `stagingPath`: the file to stage the pack in (created, must not exist); none keeps it in memory. */
  constructor(keys: DerivedKeys, stagingPath?: string) {
    this.key = packKey(keys, this.salt);
    this.file = stagingPath !== undefined ? new StagingFile(stagingPath) : undefined;
    this.append([PACK_MAGIC, this.salt]);
  }

  /** Current size in bytes (without the footer). */
  get size(): number { return this.bytes; }
  /** Number of blobs added. */
  get count(): number { return this.blobs.length; }
  /** Bytes handed to the staging file and not yet written (0 in memory). */
  get unwritten(): number { return this.file?.pending ?? 0; }

  /** Whether a blob of about `rawLength` bytes still fits under the target size. */
  fits(rawLength: number): boolean {
    return this.blobs.length === 0 || this.bytes + rawLength + AEAD_OVERHEAD + 1 <= PACK_TARGET_SIZE;
  }

  /** Adds one blob (already encoded by encodeBlobBody) under its 32-byte ID; returns its stored length. */
  add(type: BlobType, id: Buffer, encoded: { flag: number; body: Uint8Array }, rawLength: number): number {
    // The pieces go into the pack as they are: one copy of the data when the pack is finished, not two.
    const sealed = encryptParts(this.key, id, [Buffer.from([encoded.flag]), encoded.body]);
    let length = 0;
    for (const p of sealed) length += p.length;
    this.append(sealed);
    this.blobs.push({ id: id.toString('hex'), type, offset: this.bytes, length, rawLength });
    this.bytes += length;
    return length;
  }

  /** Waits until the staging file has taken what was added (bounds memory when the disk is slow). */
  async drain(): Promise<void> {
    await this.file?.drain();
  }

  /** Appends the footer and returns the pack bytes and its storage ID (in-memory packs). */
  finish(): FinishedPack & { data: Buffer } {
    if (this.file) throw new Error('a staged pack is finished with finishStaged()');
    this.append(this.footer());
    const data = Buffer.concat(this.parts, this.appended);
    return { id: this.hash.digest('hex'), size: this.appended, data, blobs: this.blobs };
  }

  /** Appends the footer, writes everything to the staging file and closes it. */
  async finishStaged(): Promise<FinishedPack> {
    if (!this.file) throw new Error('an in-memory pack is finished with finish()');
    this.append(this.footer());
    await this.file.close();
    return { id: this.hash.digest('hex'), size: this.appended, path: this.file.path, blobs: this.blobs };
  }

  /** Drops a staged pack: its file is removed. */
  async discard(): Promise<void> {
    await this.file?.discard();
  }

  private footer(): Buffer[] {
    const footer = encrypt(this.key, FOOTER_AAD, Buffer.from(JSON.stringify({ blobs: this.blobs }), 'utf8'));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    return [footer, len];
  }

  private append(parts: Buffer[]): void {
    for (const p of parts) { this.hash.update(p); this.appended += p.length; }
    if (this.file) this.file.append(parts);
    else this.parts.push(...parts);
  }
}

/**
 * A staged pack's file: what is appended is written on the thread pool while the main thread goes on
 * packing, once WRITE_BATCH bytes are queued (or the pack is finished). One write loop runs at a time
 * and takes everything queued in one writev, so thousands of small blobs cost a few writes, not one
 * each. The first failure is kept and reported by drain(), close() or discard().
 */
class StagingFile {
  /** Bytes appended and not yet written. */
  pending = 0;
  private readonly opened: Promise<void>;
  private handle: FileHandle | undefined;
  private queued: Buffer[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;

  constructor(readonly path: string) {
    // Owner-only: a folder vault hard-links this very file in as the pack object.
    this.opened = open(path, 'wx', 0o600).then((fh) => { this.handle = fh; }, (err: unknown) => { this.failure ??= err; });
  }

  append(parts: Buffer[]): void {
    for (const p of parts) { this.queued.push(p); this.pending += p.length; }
    if (this.pending >= WRITE_BATCH) this.writing ??= this.writeQueued();
  }

  private async writeQueued(): Promise<void> {
    await this.opened;
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, MAX_IOVECS);
      let bytes = 0;
      for (const p of batch) bytes += p.length;
      if (this.failure === undefined && this.handle) {
        try {
          let written = 0;
          while (written < bytes) written += (await this.handle.writev(written === 0 ? batch : remainder(batch, written))).bytesWritten;
        } catch (err) {
          this.failure ??= err;
        }
      }
      this.pending -= bytes;
    }
    this.writing = undefined;
  }

  /** Waits until everything appended is written (or has failed). */
  private async settled(): Promise<void> {
    await this.opened;
    if (this.queued.length > 0) this.writing ??= this.writeQueued();
    while (this.writing) await this.writing;
  }

  async drain(): Promise<void> {
    await this.settled();
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {
    await this.settled();
    const created = this.handle !== undefined;
    await this.handle?.close().catch((err: unknown) => { this.failure ??= err; });
    this.handle = undefined;
    if (this.failure !== undefined) {
      if (created) await unlink(this.path).catch(() => undefined); // never a file this one did not create
      throw this.failure;
    }
  }

  async discard(): Promise<void> {
    await this.settled();
    if (!this.handle) return;
    await this.handle.close().catch(() => undefined);
    this.handle = undefined;
    await unlink(this.path).catch(() => undefined);
  }
}

/** The parts after the first `skip` bytes (a short writev). */
function remainder(parts: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (skip >= p.length) { skip -= p.length; continue; }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}

/** Why a pack or blob could not be read. */
export type PackFailure = 'bad-magic' | 'truncated' | 'too-large' | 'footer-authentication' | 'footer-format' | 'blob-authentication' | 'blob-format';

/**
 * The largest sealed footer a reader decrypts (FORMAT.md section 12). The writer's largest is ~71 MiB:
 * a footer entry takes ~132 bytes, and 16 MiB of the smallest blobs (30 bytes stored) are ~559,000.
 */
export const MAX_PACK_FOOTER = 128 * 1024 * 1024;
/**
 * The largest plain length of a blob a reader decompresses: a data chunk is at most the chunker's
 * maxSize (8 MiB), a folder's tree at most the 512 MiB of JSON the writer can encode.
 */
export const MAX_BLOB_RAW_LENGTH = 512 * 1024 * 1024;

/** Error for damaged packs and blobs; the caller turns it into a coded error naming the object. */
export class PackError extends Error {
  constructor(readonly failure: PackFailure, message: string) {
    super(message);
    this.name = 'PackError';
  }
}

/** The key of a pack, from its header bytes (the first PACK_HEADER_SIZE bytes). */
export function packKeyFromHeader(keys: DerivedKeys, header: Uint8Array): KeyObject {
  if (header.length < PACK_HEADER_SIZE || !PACK_MAGIC.equals(header.subarray(0, 8))) throw new PackError('bad-magic', 'not an AzBackup pack');
  return packKey(keys, Buffer.from(header.subarray(8, PACK_HEADER_SIZE)));
}

/** Reads the footer of a whole pack. */
export function readPackFooter(keys: DerivedKeys, pack: Uint8Array): PackedBlob[] {
  if (pack.length < PACK_HEADER_SIZE + 4 + AEAD_OVERHEAD) throw new PackError('truncated', 'pack is too short');
  const key = packKeyFromHeader(keys, pack);
  const footerLength = Buffer.from(pack.buffer, pack.byteOffset, pack.length).readUInt32LE(pack.length - 4);
  const start = pack.length - 4 - footerLength;
  if (footerLength < AEAD_OVERHEAD || start < PACK_HEADER_SIZE) throw new PackError('truncated', 'pack footer length is out of range');
  if (footerLength > MAX_PACK_FOOTER) throw new PackError('too-large', `pack footer of ${footerLength} bytes is larger than the ${MAX_PACK_FOOTER} a footer may have`);
  const plain = decrypt(key, FOOTER_AAD, pack.subarray(start, pack.length - 4));
  if (!plain) throw new PackError('footer-authentication', 'pack footer fails authentication');
  let blobs: PackedBlob[];
  try {
    blobs = (JSON.parse(plain.toString('utf8')) as { blobs: PackedBlob[] }).blobs;
  } catch {
    throw new PackError('footer-format', 'pack footer is not valid JSON');
  }
  if (!Array.isArray(blobs)) throw new PackError('footer-format', 'pack footer has no blob list');
  for (const b of blobs) {
    if (!/^[0-9a-f]{64}$/.test(b.id) || (b.type !== 'data' && b.type !== 'tree') || !(b.offset >= PACK_HEADER_SIZE) || b.offset + b.length > start) {
      throw new PackError('footer-format', 'pack footer lists a blob outside the pack');
    }
  }
  return blobs;
}

/** Decrypts one stored blob (its bytes from the pack) and returns the chunk. Checks the AEAD tag, not the ID. */
export function openBlob(key: KeyObject, id: Buffer, stored: Uint8Array, rawLength: number): Buffer {
  // rawLength (from the index or footer) bounds decompression, and sizes its output buffer up front.
  if (!Number.isSafeInteger(rawLength) || rawLength < 0 || rawLength > MAX_BLOB_RAW_LENGTH) {
    throw new PackError('blob-format', `blob ${id.toString('hex')} has an impossible length ${rawLength}`);
  }
  const plain = decrypt(key, id, stored);
  if (!plain || plain.length < 1) throw new PackError('blob-authentication', `blob ${id.toString('hex')} fails authentication`);
  const flag = plain[0];
  let chunk: Buffer;
  if (flag === FLAG_RAW) chunk = plain.subarray(1);
  else if (flag === FLAG_ZSTD) {
    try {
      // One output buffer of the known size, not 16 KiB pieces joined at the end (a copy and garbage).
      chunk = zstdDecompressSync(plain.subarray(1), { maxOutputLength: Math.max(rawLength, 1), chunkSize: Math.max(rawLength, 64) });
    } catch {
      throw new PackError('blob-format', `blob ${id.toString('hex')} does not decompress`);
    }
  } else throw new PackError('blob-format', `blob ${id.toString('hex')} has unknown encoding ${flag}`);
  if (chunk.length !== rawLength) throw new PackError('blob-format', `blob ${id.toString('hex')} has ${chunk.length} bytes, index says ${rawLength}`);
  return chunk;
}
