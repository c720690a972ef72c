// The largest size each kind of vault object may have (FORMAT.md section 12). Every backend refuses to
// read more than this of an object (`too-large`), without reading it: a sparse file of gigabytes costs
// an attacker nothing on disk, and reading it whole would cost the engine as much memory. Each bound
// lies above the largest object of its kind that the writer produces.
import { StorageError } from './storage.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** vault.json, server.json, key files, the sealed config, point states, locks and certificates: a few KiB at most. */
export const MAX_SMALL_OBJECT = 64 * KiB;
/**
 * A recovery point: the 16 MiB of JSON a point may have (its size grows with its sources list, which a
 * request of 1 MiB or a command line bounds), sealed: zstd adds a few hundred bytes at most.
 */
export const MAX_POINT_SIZE = 17 * MiB;
/** A certificate renewal: a certificate and the IDs of the points it signed (67 bytes each: ~480,000 points). */
export const MAX_RENEWAL_SIZE = 32 * MiB;
/** An index file: under 200 MiB sealed at the 512 MiB of JSON the writer can encode at most (about 3.6 million blobs). */
export const MAX_INDEX_SIZE = 256 * MiB;
/**
 * A pack: 16 MiB of blobs plus a footer of up to ~71 MiB (16 MiB of the smallest blobs), or one blob
 * alone, which for a folder's tree can be as large as the 512 MiB of JSON the writer can encode.
 */
export const MAX_PACK_SIZE = 1 * GiB;
/** A name outside the vault layout (FORMAT.md section 3). */
export const MAX_OTHER_OBJECT = 1 * GiB;

/** What kind of object a name is, and how large it may be. */
export interface ObjectLimit { kind: string; maxBytes: number }

const SEGMENT = '[^/]+';
const LIMITS: [RegExp, ObjectLimit][] = [
  [/^vault\.json$/, { kind: 'vault manifest', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^certificates/${SEGMENT}$`), { kind: 'certificate', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/server\\.json$`), { kind: 'server record', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/renewals/${SEGMENT}$`), { kind: 'certificate renewal', maxBytes: MAX_RENEWAL_SIZE }],
  [new RegExp(`^servers/${SEGMENT}/keys/${SEGMENT}$`), { kind: 'key file', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/config$`), { kind: 'server config', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/locks/${SEGMENT}$`), { kind: 'lock', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/point-states/${SEGMENT}/${SEGMENT}$`), { kind: 'point state', maxBytes: MAX_SMALL_OBJECT }],
  [new RegExp(`^servers/${SEGMENT}/damage/${SEGMENT}$`), { kind: 'damage record', maxBytes: MAX_POINT_SIZE }],
  [new RegExp(`^servers/${SEGMENT}/points/${SEGMENT}$`), { kind: 'recovery point', maxBytes: MAX_POINT_SIZE }],
  [new RegExp(`^servers/${SEGMENT}/index/${SEGMENT}$`), { kind: 'index file', maxBytes: MAX_INDEX_SIZE }],
  [new RegExp(`^servers/${SEGMENT}/packs/${SEGMENT}/${SEGMENT}$`), { kind: 'pack', maxBytes: MAX_PACK_SIZE }],
];

/** The kind of object `name` is in the vault layout, and its maximum size. */
export function objectLimit(name: string): ObjectLimit {
  for (const [pattern, limit] of LIMITS) if (pattern.test(name)) return limit;
  return { kind: 'object', maxBytes: MAX_OTHER_OBJECT };
}

/** Throws `too-large` when object `name` is larger than its kind may be (or a read of `bytes` of it would be). */
export function checkObjectSize(name: string, bytes: number, what: 'object' | 'range' = 'object'): void {
  const { kind, maxBytes } = objectLimit(name);
  if (bytes > maxBytes) {
    const subject = what === 'object' ? `${name} is ${bytes} bytes` : `A read of ${bytes} bytes of ${name} asks`;
    throw new StorageError('too-large', name, `${subject}, more than the ${maxBytes} a ${kind} may have; it was not read`);
  }
}
