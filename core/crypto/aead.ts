// AES-256-GCM with random 96-bit nonces: the one authenticated cipher of the vault format.
// Layout of every ciphertext: nonce(12) | ciphertext | tag(16).
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

/** Bytes added by encrypt(). */
export const AEAD_OVERHEAD = 12 + 16;

/** A key given as bytes, or (much cheaper per call) as a KeyObject made once with createSecretKey. */
export type AeadKey = Buffer | KeyObject;

// Nonces are cut from a block of random bytes fetched 4096 nonces at a time: the same randomness,
// without one call into the random generator per blob.
const NONCES_PER_BLOCK = 4096;
let nonceBlock = Buffer.alloc(0);
let nonceAt = 0;
function nextNonce(): Buffer {
  if (nonceAt + 12 > nonceBlock.length) { nonceBlock = randomBytes(12 * NONCES_PER_BLOCK); nonceAt = 0; }
  const n = nonceBlock.subarray(nonceAt, nonceAt + 12);
  nonceAt += 12;
  return n;
}

/** Encrypts `plain` (one or more parts, concatenated) with associated data `aad`. */
export function encrypt(key: AeadKey, aad: Uint8Array, ...plain: Uint8Array[]): Buffer {
  return Buffer.concat(encryptParts(key, aad, plain));
}

/** encrypt() as the pieces of its output, in order, for writers that concatenate many at once. */
export function encryptParts(key: AeadKey, aad: Uint8Array, plain: Uint8Array[]): Buffer[] {
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const parts = [nonce];
  for (const p of plain) parts.push(cipher.update(p));
  parts.push(cipher.final(), cipher.getAuthTag());
  return parts;
}

/** Decrypts and authenticates; returns undefined when the data or the AAD was altered (or the key is wrong). */
export function decrypt(key: AeadKey, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < AEAD_OVERHEAD) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    const plain = decipher.update(sealed.subarray(12, sealed.length - 16));
    // GCM's final() only checks the tag (it returns no bytes): no second copy of the plaintext.
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    return undefined;
  }
}
