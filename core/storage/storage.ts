// The object store a vault lives in: the small interface every backend (local folder, memory,
// Azure Blob) implements, and the few errors they all translate their native errors into.
// See core/FORMAT.md section 2 for the guarantees each backend must give.
import { readFile } from 'node:fs/promises';

/** Name and size of a stored object. */
export interface ObjectInfo {
  /** Full object name, `/`-separated, relative to the store root (e.g. "servers/ab/packs/cd/cd12…"). */
  name: string;
  size: number;
  /** Last write, in ms since the epoch, where the store tells it (lists and stats). */
  modified?: number;
  /** MD5 of the content (base64) as the store recorded it at the put, where its listing tells it (Azure). */
  md5?: string;
}

/** A byte range of an object. */
export interface ByteRange { offset: number; length: number }

/** What kind of failure a store reports. Each backend maps its native errors onto these. */
export type StorageErrorKind =
  | 'not-found'    // the object does not exist (never used for any other failure)
  | 'exists'       // create-only put on a name that is taken
  | 'bad-range'    // the range lies outside the object
  | 'invalid-name' // the name is not a valid object name
  | 'denied'       // permission / authorization failure
  | 'unavailable'  // the store is not there (missing root folder, no such container, not a store location)
  | 'unreachable'  // the network path to the store failed (refused, DNS, time-out, service busy): try again later
  | 'too-large'    // the object is larger than its kind may be (limits.ts); it was not read
  | 'unsafe'       // a link or special file where an object or folder should be (folder vaults); not followed
  | 'io';          // anything else

/** The one error type stores throw. `cause` keeps the native error for --debug. */
export class StorageError extends Error {
  /** 'proxy': a 'denied' that came from the HTTP proxy (407), not from the store. */
  readonly deniedBy: 'store' | 'proxy';

  constructor(readonly kind: StorageErrorKind, readonly objectName: string, message: string, options?: { cause?: unknown; deniedBy?: 'store' | 'proxy' }) {
    super(message, options);
    this.name = 'StorageError';
    this.deniedBy = options?.deniedBy ?? 'store';
  }
}

/** True when `err` is a StorageError of the given kind. */
export function isStorageError(err: unknown, kind?: StorageErrorKind): err is StorageError {
  return err instanceof StorageError && (kind === undefined || err.kind === kind);
}

/**
 * A flat object store. Names are `/`-separated relative paths of non-empty segments made of
 * [A-Za-z0-9._-] (no segment "." or ".."); anything else is `invalid-name`.
 */
export interface ObjectStore {
  /** Where the store is, for messages (a folder path or a container URL without credentials). */
  readonly location: string;
  /** Puts worth running at once (cloud stores: the machine setting); undefined = the caller's default. */
  readonly uploadConcurrency?: number;
  /** Create-only write: `exists` if the name is taken; readers never see a partial object. */
  put(name: string, data: Uint8Array): Promise<void>;
  /**
   * Optional: put() of a local file's content (a pack staged in the cache location), for stores that can
   * do better than reading it into memory. The file is not changed; the caller removes it afterwards.
   */
  putFile?(name: string, path: string): Promise<void>;
  /** Whole object, or `range` of it. `not-found` when absent; `bad-range` when the range lies outside. */
  get(name: string, range?: ByteRange): Promise<Buffer>;
  /** Size of an object, or undefined when it does not exist. */
  stat(name: string): Promise<ObjectInfo | undefined>;
  /** Every object whose name starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object; removing an absent one is not an error. */
  delete(name: string): Promise<void>;
  /** Releases resources; the store is not used afterwards. */
  close(): Promise<void>;
}

/** Create-only write of a local file's content: the store's putFile(), else its bytes through put(). */
export async function putFromFile(store: ObjectStore, name: string, path: string): Promise<void> {
  if (store.putFile) return store.putFile(name, path);
  return store.put(name, await readStagedFile(name, path));
}

/** The bytes of a file to be put as object `name`; one that cannot be read is an `io` failure of that put. */
export async function readStagedFile(name: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw stagedFileError(name, path, err);
  }
}

/** The `io` failure of putting object `name` from a file that cannot be read. */
export function stagedFileError(name: string, path: string, err: unknown): StorageError {
  return new StorageError('io', name, `Cannot read the staged file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Throws `invalid-name` unless `name` is a valid object name. Backends call this first. */
export function checkObjectName(name: string): void {
  const segments = name.split('/');
  if (name.length === 0 || name.length > 1024 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw new StorageError('invalid-name', name, `invalid object name '${name}'`);
  }
}

/** Throws `invalid-name` unless `prefix` is "" or a valid name, optionally ending in "/". */
export function checkObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  checkObjectName(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** A lease on one object: while it is held, others cannot delete the object. */
export interface ObjectLease {
  /** Extends the lease by its duration again. */
  renew(): Promise<void>;
  /** Ends the lease and deletes the object. */
  releaseAndDelete(): Promise<void>;
}

/**
 * Optional capability of stores that can lease objects (Azure Blob): a lease expires by itself when its
 * holder stops renewing it, which tells a dead holder's lock from a live one without trusting clocks.
 * Kept out of ObjectStore on purpose: most stores have nothing like it.
 */
export interface LeasingStore {
  /** Leases an existing object for `seconds` (15–60). */
  lease(name: string, seconds: number): Promise<ObjectLease>;
  /** Whether someone holds a live lease on the object (false when absent). */
  isLeased(name: string): Promise<boolean>;
}

/** The store's leasing capability, if it has one. */
export function leasingOf(store: ObjectStore): LeasingStore | undefined {
  const s = store as Partial<LeasingStore>;
  return typeof s.lease === 'function' && typeof s.isLeased === 'function' ? (store as unknown as LeasingStore) : undefined;
}
