// Keys of a server namespace (FORMAT.md section 4): the passphrase-derived key that wraps the master
// key in a key file, and the keys HKDF derives from the master key.
import { argon2, createCipheriv, createHash, createDecipheriv, createSecretKey, hkdfSync, randomBytes, scrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const argon2Async = promisify(argon2);
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

/** KDF parameters stored in a key file. */
export type KdfParams =
  | { algorithm: 'argon2id'; memoryKiB: number; passes: number; parallelism: number; salt: string }
  | { algorithm: 'scrypt'; N: number; r: number; p: number; salt: string };

/** A key file as stored in `servers/<id>/keys/<keyId>`. */
export interface KeyFile {
  version: 1;
  created: string;
  hostname: string;
  kdf: KdfParams;
  wrapped: string;
  /** SHA-256 (hex) of the other fields, so damage is told apart from a wrong passphrase. Optional for readers. */
  sha256?: string;
}

/** SHA-256 over a key file's fields in a fixed order (everything but `sha256`). */
export function keyFileDigest(f: KeyFile): string {
  return createHash('sha256').update(JSON.stringify([f.version, f.created, f.hostname, f.kdf, f.wrapped])).digest('hex');
}

/** Whether a key file is intact: its digest matches (files without one cannot be told apart and count as intact). */
export function keyFileIntact(f: KeyFile): boolean {
  if (typeof f !== 'object' || f === null || typeof f.wrapped !== 'string' || typeof f.kdf !== 'object' || f.kdf === null) return false;
  return f.sha256 === undefined || f.sha256 === keyFileDigest(f);
}

/** Default argon2id cost (OWASP's second recommendation): 64 MiB, 3 passes. */
export const DEFAULT_KDF = { algorithm: 'argon2id', memoryKiB: 65536, passes: 3, parallelism: 1 } as const;

/** Shortest passphrase accepted for a new key. */
export const MIN_PASSPHRASE_LENGTH = 16;

/** KDF cost from the environment, for tests only (AZBACKUP_TEST_KDF=fast); never lowers below what a reader accepts. */
function newKdfParams(): KdfParams {
  const salt = randomBytes(16).toString('base64');
  if (process.env['AZBACKUP_TEST_KDF'] === 'fast') return { algorithm: 'argon2id', memoryKiB: 1024, passes: 1, parallelism: 1, salt };
  return { ...DEFAULT_KDF, salt };
}

/** Derives the 32-byte key-encryption key from a passphrase. */
export async function deriveKek(passphrase: string, kdf: KdfParams): Promise<Buffer> {
  const pass = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const salt = Buffer.from(kdf.salt, 'base64');
  if (kdf.algorithm === 'argon2id') {
    return Buffer.from(await argon2Async('argon2id', {
      message: pass, nonce: salt, parallelism: kdf.parallelism, tagLength: 32, memory: kdf.memoryKiB, passes: kdf.passes,
    }));
  }
  return scryptAsync(pass, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 });
}

function wrapAad(serverId: string): Buffer {
  return Buffer.from(`azbackup-key-v1:${serverId}`, 'utf8');
}

/** Wraps the master key under a new passphrase: a new key file. */
export async function createKeyFile(masterKey: Buffer, passphrase: string, serverId: string, hostname: string): Promise<KeyFile> {
  const kdf = newKdfParams();
  const kek = await deriveKek(passphrase, kdf);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(wrapAad(serverId));
  const body = Buffer.concat([cipher.update(masterKey), cipher.final()]);
  const file: KeyFile = {
    version: 1, created: new Date().toISOString(), hostname, kdf,
    wrapped: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64'),
  };
  file.sha256 = keyFileDigest(file);
  return file;
}

/** Unwraps the master key; returns undefined when the passphrase does not open this key file. */
export async function openKeyFile(file: KeyFile, passphrase: string, serverId: string): Promise<Buffer | undefined> {
  const kek = await deriveKek(passphrase, file.kdf);
  const raw = Buffer.from(file.wrapped, 'base64');
  if (raw.length < 12 + 16 + 1) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12));
  decipher.setAAD(wrapAad(serverId));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
  } catch {
    return undefined; // GCM tag mismatch: wrong passphrase (or a damaged key file)
  }
}

/** The keys derived from a master key (FORMAT.md section 4, "Derived keys"). */
export interface DerivedKeys {
  /** HMAC key of data blob IDs. */
  blobId: Buffer;
  /** HMAC key of tree blob IDs (format 2): a tree and a chunk with the same bytes get different IDs. */
  treeId: Buffer;
  chunker: Buffer;
  seal: Buffer;
  pack: Buffer;
}

function hkdf(key: Buffer, info: string, salt: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, Buffer.from(info, 'utf8'), 32));
}

/** Derives every purpose key from the master key. */
export function deriveKeys(masterKey: Buffer): DerivedKeys {
  return {
    blobId: hkdf(masterKey, 'azbackup-v1 blob-id'),
    treeId: hkdf(masterKey, 'azbackup-v2 tree-id'),
    chunker: hkdf(masterKey, 'azbackup-v1 chunker'),
    seal: hkdf(masterKey, 'azbackup-v1 seal'),
    pack: hkdf(masterKey, 'azbackup-v1 pack'),
  };
}

/** The per-pack blob key for a pack salt, as a KeyObject (ciphers made from one cost a third). */
export function packKey(keys: DerivedKeys, salt: Buffer): KeyObject {
  return createSecretKey(hkdf(keys.pack, 'azbackup-v1 pack-blobs', salt));
}

/** Constant-time equality of two byte strings. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
