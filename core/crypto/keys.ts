// Keys of a server namespace (FORMAT.md section 4): the passphrase-derived key that wraps the master
// key in a key file, and the keys HKDF derives from the master key.
import { spawn } from 'node:child_process';
import { argon2, createCipheriv, createHash, createDecipheriv, createSecretKey, hkdfSync, randomBytes, scrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isSea } from 'node:sea';
import { promisify } from 'node:util';
import { AzbError } from '../protocol/errors.js';

/** Set by the build (bundle/defines.mjs): false in a release build, true in a test build; undefined from sources. */
declare const AZBACKUP_TEST_BUILD: boolean | undefined;

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

/**
 * Whether AZBACKUP_TEST_KDF is honoured: when the engine runs from sources (vitest) and in a test build
 * (npm test builds one, AZBACKUP_BUILD=test). A release build (npm run build) has the constant false,
 * so it never writes a weak key file, whatever its environment says.
 */
export const TEST_KDF_ALLOWED: boolean = typeof AZBACKUP_TEST_BUILD === 'boolean' ? AZBACKUP_TEST_BUILD : true;

/** KDF cost from the environment, for tests only (AZBACKUP_TEST_KDF=fast, test builds and sources only). */
function newKdfParams(): KdfParams {
  const salt = randomBytes(16).toString('base64');
  if (TEST_KDF_ALLOWED && process.env['AZBACKUP_TEST_KDF'] === 'fast') return { algorithm: 'argon2id', memoryKiB: 1024, passes: 1, parallelism: 1, salt };
  return { ...DEFAULT_KDF, salt };
}

/**
 * The most work a key file may ask of the KDF (FORMAT.md section 4). A key file is plain JSON anyone
 * with write access to the vault can replace; without limits one asking argon2id for 4 GiB and 1000
 * passes kept the engine busy for minutes. The limits are a few times the cost the engine writes
 * (argon2id 64 MiB, 3 passes, 1 lane): 4× the memory, 5⅓× the work (memory × passes).
 */
export const KDF_LIMITS = {
  argon2id: {
    /** 256 MiB (4 × the default). */
    maxMemoryKiB: 262144,
    maxPasses: 10,
    maxParallelism: 4,
    /** memoryKiB × passes: 1 GiB-passes (the default is 64 MiB × 3 = 192 MiB-passes). */
    maxCostKiBPasses: 1048576,
  },
  scrypt: {
    /** N: a power of two up to 2^18. */
    maxN: 262144,
    maxR: 16,
    maxP: 4,
    /** 128 · N · r bytes of memory: 256 MiB, as for argon2id. */
    maxMemoryBytes: 256 * 1024 * 1024,
    /** 128 · N · r · p: 1 GiB of mixing, as for argon2id. */
    maxCostBytes: 1024 * 1024 * 1024,
  },
  /** Salt length in bytes (base64 in the key file). */
  minSaltBytes: 8,
  maxSaltBytes: 64,
} as const;

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * Throws AZB_KEY_FILE_UNSAFE unless the KDF parameters are within KDF_LIMITS (and well-formed). `what`
 * names the key file in the message.
 */
export function checkKdfParams(kdf: unknown, what = 'a key file'): asserts kdf is KdfParams {
  const k = kdf as Record<string, unknown> | null;
  const why = ((): string | undefined => {
    if (typeof k !== 'object' || k === null) return 'it has no KDF parameters';
    const salt = typeof k['salt'] === 'string' ? Buffer.from(k['salt'], 'base64') : undefined;
    if (!salt || salt.length < KDF_LIMITS.minSaltBytes || salt.length > KDF_LIMITS.maxSaltBytes) return `its salt is not ${KDF_LIMITS.minSaltBytes}–${KDF_LIMITS.maxSaltBytes} bytes of base64`;
    if (k['algorithm'] === 'argon2id') {
      const a = KDF_LIMITS.argon2id;
      if (!isInt(k['parallelism'], 1, a.maxParallelism)) return `argon2id parallelism ${String(k['parallelism'])} is not an integer from 1 to ${a.maxParallelism}`;
      if (!isInt(k['memoryKiB'], 8 * (k['parallelism'] as number), a.maxMemoryKiB)) return `argon2id memory ${String(k['memoryKiB'])} KiB is not an integer from ${8 * (k['parallelism'] as number)} to ${a.maxMemoryKiB} KiB`;
      if (!isInt(k['passes'], 1, a.maxPasses)) return `argon2id passes ${String(k['passes'])} is not an integer from 1 to ${a.maxPasses}`;
      if ((k['memoryKiB'] as number) * (k['passes'] as number) > a.maxCostKiBPasses) return `argon2id memory × passes (${k['memoryKiB'] as number} KiB × ${k['passes'] as number}) is above ${a.maxCostKiBPasses} KiB`;
      return undefined;
    }
    if (k['algorithm'] === 'scrypt') {
      const c = KDF_LIMITS.scrypt;
      const n = k['N'];
      if (!isInt(n, 2, c.maxN) || (n & (n - 1)) !== 0) return `scrypt N ${String(n)} is not a power of two from 2 to ${c.maxN}`;
      if (!isInt(k['r'], 1, c.maxR)) return `scrypt r ${String(k['r'])} is not an integer from 1 to ${c.maxR}`;
      if (!isInt(k['p'], 1, c.maxP)) return `scrypt p ${String(k['p'])} is not an integer from 1 to ${c.maxP}`;
      const mem = 128 * n * (k['r'] as number);
      if (mem > c.maxMemoryBytes) return `scrypt needs ${mem} bytes of memory (128 · N · r), above ${c.maxMemoryBytes}`;
      if (mem * (k['p'] as number) > c.maxCostBytes) return `scrypt work 128 · N · r · p is above ${c.maxCostBytes}`;
      return undefined;
    }
    return `its KDF algorithm '${String(k['algorithm'])}' is not argon2id or scrypt`;
  })();
  if (why !== undefined) {
    throw new AzbError('AZB_KEY_FILE_UNSAFE', `The key file ${what} is refused: ${why} (FORMAT.md section 4 sets the limits).`, {
      target: what, hint: 'A key file the engine wrote never asks for this: someone changed it. Put back the key file from a copy of the vault, and check who can write to the vault.',
    });
  }
}

/** Options of a key derivation. */
export interface DeriveOptions {
  /** Abandons the derivation (AZB_CANCELLED) when aborted; the work on the thread pool is left to finish unobserved. */
  signal?: AbortSignal;
  /** The key file, for messages. */
  name?: string;
}

const cancelled = () => new AzbError('AZB_CANCELLED', 'The operation was cancelled while a key was being derived from the passphrase.');

/** Rejects with AZB_CANCELLED as soon as `signal` aborts (then calls `onAbort`), else settles as `work` does. */
function abandonable<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) { work.catch(() => undefined); onAbort?.(); return Promise.reject(cancelled()); }
  return new Promise<T>((resolve, reject) => {
    const abort = () => { onAbort?.(); reject(cancelled()); };
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => { signal.removeEventListener('abort', abort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', abort); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}

/** The derivation itself, on Node's thread pool. */
async function deriveHere(pass: Buffer, kdf: KdfParams): Promise<Buffer> {
  const salt = Buffer.from(kdf.salt, 'base64');
  if (kdf.algorithm === 'argon2id') {
    return Buffer.from(await argon2Async('argon2id', {
      message: pass, nonce: salt, parallelism: kdf.parallelism, tagLength: 32, memory: kdf.memoryKiB, passes: kdf.passes,
    }));
  }
  return scryptAsync(pass, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 });
}

/** Work (KiB of memory × passes) below which a derivation runs in the process: it ends within milliseconds. */
const IN_PROCESS_KIB_PASSES = 8192;

/** The argument that starts the engine executable as a key-derivation child (core/main.ts). */
export const KDF_CHILD_ARG = '__azbackup-derive-key';

/**
 * A derivation in a child process of the engine executable. Node's thread pool cannot stop a running
 * argon2 or scrypt, and the process cannot exit before its thread pool is idle (libuv joins it at exit),
 * so a derivation of seconds would hold SIGTERM off for seconds; a child is killed at once. The
 * passphrase goes to the child over a pipe, never in its arguments or environment.
 */
function deriveInChild(pass: Buffer, kdf: KdfParams, signal: AbortSignal | undefined): Promise<Buffer> {
  const env = process.platform === 'win32' ? { SystemRoot: process.env['SystemRoot'] ?? 'C:\\Windows' } : {};
  const child = spawn(process.execPath, [KDF_CHILD_ARG], { stdio: ['pipe', 'pipe', 'ignore'], env, windowsHide: true });
  const work = new Promise<Buffer>((resolve, reject) => {
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const key = Buffer.from(Buffer.concat(out).toString('utf8').trim(), 'base64');
      if (code === 0 && key.length === 32) resolve(key);
      else reject(new AzbError('AZB_INTERNAL', `The key derivation process ended with code ${String(code)}.`));
    });
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify({ passphrase: pass.toString('base64'), kdf }));
  return abandonable(work, signal, () => child.kill('SIGKILL'));
}

/**
 * The key-derivation child (started by deriveInChild): reads {passphrase (base64), kdf} on stdin,
 * checks the limits, writes the key in base64 on stdout.
 */
export async function runKdfChild(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { passphrase: string; kdf: KdfParams };
  checkKdfParams(req.kdf);
  process.stdout.write((await deriveHere(Buffer.from(req.passphrase, 'base64'), req.kdf)).toString('base64') + '\n');
  return 0;
}

/**
 * Derives the 32-byte key-encryption key from a passphrase. Refuses parameters beyond KDF_LIMITS
 * (AZB_KEY_FILE_UNSAFE) before any work, and stops at once when `o.signal` aborts: the engine executable
 * derives any costly key in a child process it can kill (deriveInChild); from sources, the derivation
 * is abandoned on the thread pool.
 */
export async function deriveKek(passphrase: string, kdf: KdfParams, o: DeriveOptions = {}): Promise<Buffer> {
  checkKdfParams(kdf, o.name);
  const pass = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const work = kdf.algorithm === 'argon2id' ? kdf.memoryKiB * kdf.passes : (128 * kdf.N * kdf.r * kdf.p) / 1024;
  if (work > IN_PROCESS_KIB_PASSES && isSea()) return deriveInChild(pass, kdf, o.signal);
  return abandonable(deriveHere(pass, kdf), o.signal);
}

function wrapAad(serverId: string): Buffer {
  return Buffer.from(`azbackup-key-v1:${serverId}`, 'utf8');
}

/** Wraps the master key under a new passphrase: a new key file. */
export async function createKeyFile(masterKey: Buffer, passphrase: string, serverId: string, hostname: string, o: DeriveOptions = {}): Promise<KeyFile> {
  const kdf = newKdfParams();
  const kek = await deriveKek(passphrase, kdf, o);
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

/**
 * Unwraps the master key; returns undefined when the passphrase does not open this key file. Throws
 * AZB_KEY_FILE_UNSAFE for KDF parameters beyond KDF_LIMITS, AZB_CANCELLED when `o.signal` aborts.
 */
export async function openKeyFile(file: KeyFile, passphrase: string, serverId: string, o: DeriveOptions = {}): Promise<Buffer | undefined> {
  const kek = await deriveKek(passphrase, file.kdf, o);
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
