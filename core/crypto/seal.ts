// Sealed objects (FORMAT.md section 5): config, index files, recovery points and point states are
// 0x01 | AES-256-GCM(sealKey, zstd(JSON)) with AAD "azbackup-v1 <kind>".
import { createHash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { decrypt, encrypt } from './aead.js';

/** Kinds of sealed object; the kind is bound into the ciphertext, so one cannot pass for another. */
export type SealedKind = 'config' | 'index' | 'point' | 'point-state' | 'damage';

const VERSION_BYTE = 0x01;

const MiB = 1024 * 1024;
/**
 * The largest plaintext each kind may have (FORMAT.md section 12): decompression stops there, so a
 * zstd bomb (a few KiB that expand to gigabytes; forging one needs the key) costs no more memory than
 * the largest real object. An index file may be as large as the longest string JavaScript can hold
 * (512 MiB): the writer cannot encode a larger one, nor could a reader parse it.
 */
export const MAX_SEALED_PLAINTEXT: Readonly<Record<SealedKind, number>> = {
  config: 64 * 1024,
  'point-state': 64 * 1024,
  point: 16 * MiB,
  damage: 16 * MiB,
  index: Math.min(512 * MiB, bufferConstants.MAX_STRING_LENGTH),
};

function aad(kind: SealedKind): Buffer {
  return Buffer.from(`azbackup-v1 ${kind}`, 'utf8');
}

/** Seals a JSON value. Refuses one larger than readers accept (they would report the object damaged). */
export function sealJson(key: Buffer, kind: SealedKind, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length > MAX_SEALED_PLAINTEXT[kind]) {
    throw new RangeError(`A sealed ${kind} of ${json.length} bytes is larger than the ${MAX_SEALED_PLAINTEXT[kind]} bytes readers accept; it was not written`);
  }
  const plain = zstdCompressSync(json);
  return Buffer.concat([Buffer.from([VERSION_BYTE]), encrypt(key, aad(kind), plain)]);
}

/** Why a sealed object could not be opened. */
export type UnsealFailure = 'unknown-version' | 'authentication' | 'decompression' | 'too-large' | 'json';

/** Opens a sealed object; returns the value or the reason it failed. */
export function unsealJson<T>(key: Buffer, kind: SealedKind, data: Uint8Array): { value: T } | { failure: UnsealFailure } {
  if (data.length < 1 || data[0] !== VERSION_BYTE) return { failure: 'unknown-version' };
  const plain = decrypt(key, aad(kind), data.subarray(1));
  if (!plain) return { failure: 'authentication' };
  let text: string;
  try {
    text = zstdDecompressSync(plain, { maxOutputLength: MAX_SEALED_PLAINTEXT[kind] }).toString('utf8');
  } catch (err) {
    return { failure: (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'decompression' };
  }
  try {
    return { value: JSON.parse(text) as T };
  } catch {
    return { failure: 'json' };
  }
}

/** SHA-256 hex of stored bytes: the storage ID of packs, index files and recovery points. */
export function storageId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
