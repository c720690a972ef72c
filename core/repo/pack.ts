// Packs (FORMAT.md section 7): many encrypted blobs in one object, with an encrypted footer listing
// them so the index can always be rebuilt from the packs themselves.
import { randomBytes, type KeyObject } from 'node:crypto';
import { constants as zc, zstdCompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { promisify } from 'node:util';
import { AEAD_OVERHEAD, decrypt, encrypt, encryptParts } from '../crypto/aead.js';
import { packKey, type DerivedKeys } from '../crypto/keys.js';
import { storageId } from '../crypto/seal.js';
import type { BlobType } from './blob-index.js';

/** Magic at offset 0 of every pack. */
export const PACK_MAGIC = Buffer.from('AZBPACK1', 'latin1');
/** Bytes before the first blob: magic + salt. */
export const PACK_HEADER_SIZE = 8 + 16;
/** A pack is closed once adding the next blob would pass this size. */
export const PACK_TARGET_SIZE = 16 * 1024 * 1024;

const FOOTER_AAD = Buffer.from('azbackup-v1 pack-footer', 'utf8');
const FLAG_RAW = 0x00;
const FLAG_ZSTD = 0x01;
/** Sample size used to decide whether a chunk is worth compressing. */
const SAMPLE = 32 * 1024;

/** One blob as listed in a pack footer and in index files. */
export interface PackedBlob { id: string; type: BlobType; offset: number; length: number; rawLength: number }

/** A finished pack, ready to upload. */
export interface FinishedPack { id: string; data: Buffer; blobs: PackedBlob[] }

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

/** Assembles one pack in memory. Not reused after finish(). */
export class PackWriter {
  private readonly salt = randomBytes(16);
  private readonly key: KeyObject;
  private readonly parts: Buffer[] = [];
  private readonly blobs: PackedBlob[] = [];
  private bytes = PACK_HEADER_SIZE;

  constructor(keys: DerivedKeys) {
    this.key = packKey(keys, this.salt);
    this.parts.push(PACK_MAGIC, this.salt);
  }

  /** Current size in bytes (without the footer). */
  get size(): number { return this.bytes; }
  /** Number of blobs added. */
  get count(): number { return this.blobs.length; }

  /** Whether a blob of about `rawLength` bytes still fits under the target size. */
  fits(rawLength: number): boolean {
    return this.blobs.length === 0 || this.bytes + rawLength + AEAD_OVERHEAD + 1 <= PACK_TARGET_SIZE;
  }

  /** Adds one blob (already encoded by encodeBlobBody) under its 32-byte ID; returns its stored length. */
  add(type: BlobType, id: Buffer, encoded: { flag: number; body: Uint8Array }, rawLength: number): number {
    // The pieces go into the pack as they are: one copy of the data when the pack is finished, not two.
    const sealed = encryptParts(this.key, id, [Buffer.from([encoded.flag]), encoded.body]);
    let length = 0;
    for (const p of sealed) { length += p.length; this.parts.push(p); }
    this.blobs.push({ id: id.toString('hex'), type, offset: this.bytes, length, rawLength });
    this.bytes += length;
    return length;
  }

  /** Appends the footer and returns the pack bytes and its storage ID. */
  finish(): FinishedPack {
    const footer = encrypt(this.key, FOOTER_AAD, Buffer.from(JSON.stringify({ blobs: this.blobs }), 'utf8'));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    const data = Buffer.concat([...this.parts, footer, len]);
    return { id: storageId(data), data, blobs: this.blobs };
  }
}

/** Why a pack or blob could not be read. */
export type PackFailure = 'bad-magic' | 'truncated' | 'footer-authentication' | 'footer-format' | 'blob-authentication' | 'blob-format';

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
  const plain = decrypt(key, id, stored);
  if (!plain || plain.length < 1) throw new PackError('blob-authentication', `blob ${id.toString('hex')} fails authentication`);
  const flag = plain[0];
  let chunk: Buffer;
  if (flag === FLAG_RAW) chunk = plain.subarray(1);
  else if (flag === FLAG_ZSTD) {
    try {
      chunk = zstdDecompressSync(plain.subarray(1), { maxOutputLength: Math.max(rawLength, 1) });
    } catch {
      throw new PackError('blob-format', `blob ${id.toString('hex')} does not decompress`);
    }
  } else throw new PackError('blob-format', `blob ${id.toString('hex')} has unknown encoding ${flag}`);
  if (chunk.length !== rawLength) throw new PackError('blob-format', `blob ${id.toString('hex')} has ${chunk.length} bytes, index says ${rawLength}`);
  return chunk;
}
