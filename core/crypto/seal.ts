// Sealed objects (FORMAT.md section 5): config, index files and recovery points are
// 0x01 | AES-256-GCM(sealKey, zstd(JSON)) with AAD "azbackup-v1 <kind>".
import { createHash } from 'node:crypto';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { decrypt, encrypt } from './aead.js';

/** Kinds of sealed object; the kind is bound into the ciphertext, so one cannot pass for another. */
export type SealedKind = 'config' | 'index' | 'point';

const VERSION_BYTE = 0x01;

function aad(kind: SealedKind): Buffer {
  return Buffer.from(`azbackup-v1 ${kind}`, 'utf8');
}

/** Seals a JSON value. */
export function sealJson(key: Buffer, kind: SealedKind, value: unknown): Buffer {
  const plain = zstdCompressSync(Buffer.from(JSON.stringify(value), 'utf8'));
  return Buffer.concat([Buffer.from([VERSION_BYTE]), encrypt(key, aad(kind), plain)]);
}

/** Why a sealed object could not be opened. */
export type UnsealFailure = 'unknown-version' | 'authentication' | 'decompression' | 'json';

/** Opens a sealed object; returns the value or the reason it failed. */
export function unsealJson<T>(key: Buffer, kind: SealedKind, data: Uint8Array): { value: T } | { failure: UnsealFailure } {
  if (data.length < 1 || data[0] !== VERSION_BYTE) return { failure: 'unknown-version' };
  const plain = decrypt(key, aad(kind), data.subarray(1));
  if (!plain) return { failure: 'authentication' };
  let text: string;
  try {
    text = zstdDecompressSync(plain).toString('utf8');
  } catch {
    return { failure: 'decompression' };
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
