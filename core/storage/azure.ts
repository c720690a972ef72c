// The vault as an Azure Blob Storage container: one block blob per object, the object name is the blob
// name. Create-only puts send `If-None-Match: *` and Content-MD5 (the service verifies the body and
// refuses a taken name); objects above `singlePutLimit` are staged in blocks and committed in one
// create-only Put Block List, so readers never see a part. Every call runs through withRetries
// (retry.ts): the SDK's own retry policy is switched off because it cannot notice a stalled connection.
//
// Messages never contain a secret: they are built from the operation, the object name, the container
// URL without its query string, and the HTTP status / error code only, never from the SDK's message.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { TokenCredential } from '@azure/core-auth';
import {
  AnonymousCredential, ContainerClient, StorageSharedKeyCredential, isRestError,
  type BlobDownloadResponseParsed, type BlockBlobClient, type StoragePipelineOptions,
} from '@azure/storage-blob';
import { checkObjectSize } from './limits.js';
import { StallTimeout, withRetries, type Attempt, type RetryPolicy } from './retry.js';
import {
  StorageError, checkObjectName, checkObjectPrefix, readStagedFile, stagedFileError,
  type ByteRange, type LeasingStore, type ObjectInfo, type ObjectLease, type ObjectStore, type StorageErrorKind,
} from './storage.js';

/** How the store authenticates. */
export type AzureCredential =
  /** An account connection string (AccountName/AccountKey or SharedAccessSignature, BlobEndpoint…). Its
   * blob endpoint must be the one of `containerUrl`. */
  | { kind: 'connectionString'; value: string }
  | { kind: 'sharedKey'; account: string; key: string }
  /** A SAS: a URL on the container's account whose query string is the token (e.g. the container SAS
   * URL), or the bare token ("sv=…&sig=…", with or without a leading "?"). */
  | { kind: 'sas'; sasUrl: string }
  /** Microsoft Entra ID (e.g. from @azure/identity); needs an https container URL. */
  | { kind: 'tokenCredential'; credential: TokenCredential };

export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold';

export interface AzureBlobStoreOptions {
  /** https://<account>.blob.core.windows.net/<container> (path-style http://127.0.0.1:port/<account>/<container>
   * for Azurite). A query string is ignored (and never shown); credentials come from `credential`. */
  containerUrl: string;
  credential: AzureCredential;
  /** false: openAzureBlobStore leaves the container check to the caller (probe()), who saves its request when its first read works. */
  probe?: boolean;
  /** Blocks in flight at once for a staged (large) put. Default 4. */
  uploadConcurrency?: number;
  /** Access tier for pack objects (names containing "/packs/"); other objects get the account default. */
  accessTier?: AzureAccessTier;
  /** An attempt that moves no bytes for this long is aborted and retried. Default 60 s. */
  tryTimeoutMs?: number;
  /** Attempts per operation in all. Default 5. */
  maxTries?: number;
  /** First back-off between attempts (doubling, with jitter). Default 2 s. */
  retryDelayMs?: number;
  /** Longest back-off. Default 60 s. */
  maxRetryDelayMs?: number;
  /** Largest object sent in one Put Blob; larger ones are staged in blocks. Default 256 MiB. */
  singlePutLimit?: number;
  /** Block size of a staged put (raised when the object would need more than 50,000 blocks). Default 8 MiB. */
  blockSize?: number;
  /** HTTP(S) proxy for every request. Without it the SDK honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  proxy?: { host: string; port: number; username?: string; password?: string };
}

const MiB = 1024 * 1024;
export const DEFAULT_SINGLE_PUT_LIMIT = 256 * MiB;
export const DEFAULT_BLOCK_SIZE = 8 * MiB;
const MAX_SINGLE_PUT = 5000 * MiB; // service limit of Put Blob
const MAX_BLOCK_SIZE = 4000 * MiB; // service limit of Put Block
const MAX_BLOCKS = 50_000;         // service limit of blocks in a blob
/** Upload bodies are streamed in pieces this big, so the stall timer sees the bytes leave. */
const STREAM_PIECE = 256 * 1024;
const LIST_PAGE = 5000;
/** Metadata key holding a random ID per put: a retried put that meets `exists` checks whether the
 * object is its own earlier attempt (whose response was lost) before reporting `exists`. */
export const PUT_ID_METADATA = 'azbputid';

/** Opens the container at `o.containerUrl` and checks that it exists and the credential may read it:
 * `unavailable` when the container is missing or the service cannot be reached, `denied` when the
 * credential is refused (or does not fit the URL). */
export async function openAzureBlobStore(o: AzureBlobStoreOptions): Promise<AzureBlobStore> {
  const { location, containerName } = parseContainerUrl(o.containerUrl);
  const container = containerClientFor(location, containerName, o.credential, o.proxy);
  const store = new AzureBlobStore(container, location, o);
  if (o.probe !== false) await store.probe();
  return store;
}

/** ObjectStore over one blob container. Use openAzureBlobStore, which checks the container first. */
export class AzureBlobStore implements ObjectStore, LeasingStore {
  private readonly policy: RetryPolicy;
  readonly uploadConcurrency: number;
  private readonly singlePutLimit: number;
  private readonly blockSize: number;
  private readonly accessTier: AzureAccessTier | undefined;

  /** `location`: the container URL without query string or credentials. */
  constructor(private readonly container: ContainerClient, readonly location: string, o: Omit<AzureBlobStoreOptions, 'containerUrl' | 'credential'> = {}) {
    this.policy = {
      maxTries: positiveInt(o.maxTries ?? 5, 'maxTries'),
      retryDelayMs: nonNegative(o.retryDelayMs ?? 2000, 'retryDelayMs'),
      maxRetryDelayMs: nonNegative(o.maxRetryDelayMs ?? 60_000, 'maxRetryDelayMs'),
      tryTimeoutMs: positiveInt(o.tryTimeoutMs ?? 60_000, 'tryTimeoutMs'),
    };
    this.uploadConcurrency = positiveInt(o.uploadConcurrency ?? 4, 'uploadConcurrency');
    this.singlePutLimit = Math.min(nonNegative(o.singlePutLimit ?? DEFAULT_SINGLE_PUT_LIMIT, 'singlePutLimit'), MAX_SINGLE_PUT);
    this.blockSize = Math.min(positiveInt(o.blockSize ?? DEFAULT_BLOCK_SIZE, 'blockSize'), MAX_BLOCK_SIZE);
    this.accessTier = o.accessTier;
  }

  /** Checks that the container exists and the credential may read it. A HEAD of one blob name (absent
   * or not) works for every credential kind, including a container SAS, which may not read the
   * container's own properties. */
  async probe(): Promise<void> {
    const name = this.container.containerName;
    try {
      await withRetries(this.policy, (a) => this.container.getBlobClient('.azbackup-probe').getProperties({ abortSignal: a.signal }), isTransient);
    } catch (err) {
      if (errorCodeOf(err) === 'BlobNotFound') return; // the container answered: it is there
      const failure = toStorageError(err, 'open', '');
      const where = `container '${name}' at ${this.location}`;
      if (errorCodeOf(err) === 'ContainerNotFound') {
        throw new StorageError('unavailable', '', `The container '${name}' does not exist (${this.location}).`, { cause: failure.cause });
      }
      if (failure.deniedBy === 'proxy') throw failure;
      const text = failure.kind === 'denied' ? `Access to the ${where} was refused (${describe(err)}); check the credential.`
        : failure.kind === 'unavailable' || failure.kind === 'unreachable' ? `Cannot reach the ${where} (${describe(err)}).`
          : `Cannot open the ${where} (${describe(err)}).`;
      throw new StorageError(failure.kind, '', text, { cause: failure.cause });
    }
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    checkObjectName(name);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const md5 = createHash('md5').update(body).digest();
    const putId = randomBytes(16).toString('hex');
    const blob = this.container.getBlockBlobClient(name);
    const tier = this.accessTier !== undefined && name.includes('/packs/') ? this.accessTier : undefined;
    const common = { conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: { blobContentMD5: md5 }, metadata: { [PUT_ID_METADATA]: putId }, tier };
    if (body.length <= this.singlePutLimit) {
      await this.createOnly(name, putId, (a) => blob.upload(bodyOf(body, a), body.length, {
        ...common, abortSignal: a.signal, transactionalContentMD5: md5,
      }));
      return;
    }
    // Staged: fail fast instead of uploading a large object whose name is taken.
    if (await this.stat(name) !== undefined) throw existsError(name);
    const blockIds = await this.stageBlocks(name, blob, body);
    try {
      await this.createOnly(name, putId, (a) => blob.commitBlockList(blockIds, { ...common, abortSignal: a.signal }));
    } catch (err) {
      // A concurrent Put Blob of the same name discards our uncommitted blocks: the name is taken.
      if (errorCodeOf((err as StorageError).cause) === 'InvalidBlockList' && await this.stat(name) !== undefined) throw existsError(name, err);
      throw err;
    }
  }

  /**
   * put() of a staged file, streamed from disk: no copy of it in memory, whatever the upload
   * concurrency (each attempt reads the file anew). Above the single-put limit it goes through put().
   */
  async putFile(name: string, path: string): Promise<void> {
    checkObjectName(name);
    let size: number;
    let md5: Buffer;
    try {
      size = (await stat(path)).size;
      md5 = await md5OfFile(path);
    } catch (err) {
      throw stagedFileError(name, path, err);
    }
    if (size > this.singlePutLimit) return this.put(name, await readStagedFile(name, path));
    const putId = randomBytes(16).toString('hex');
    const blob = this.container.getBlockBlobClient(name);
    const tier = this.accessTier !== undefined && name.includes('/packs/') ? this.accessTier : undefined;
    await this.createOnly(name, putId, (a) => blob.upload(size === 0 ? Buffer.alloc(0) : () => fileBody(path, a), size, {
      conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: { blobContentMD5: md5 }, metadata: { [PUT_ID_METADATA]: putId }, tier,
      abortSignal: a.signal, transactionalContentMD5: md5,
    }));
  }

  async get(name: string, range?: ByteRange): Promise<Buffer> {
    checkObjectName(name);
    if (range === undefined) return this.download(name);
    const { offset, length } = range;
    const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
    if (valid && length > 0) {
      checkObjectSize(name, length, 'range');
      return this.download(name, offset, length);
    }
    // A zero-length range cannot be asked of the service ("bytes=3-" means "from 3 to the end"), and an
    // invalid one must still report a missing object as not-found: both are answered from the size.
    const info = await this.stat(name);
    if (info === undefined) throw new StorageError('not-found', name, `Object not found: ${name}`);
    if (!valid || offset + length > info.size) throw badRange(name, range, info.size);
    return Buffer.alloc(0);
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    checkObjectName(name);
    try {
      const props = await this.run('stat', name, (a) => this.container.getBlobClient(name).getProperties({ abortSignal: a.signal }));
      return { name, size: props.contentLength ?? 0, ...(props.lastModified ? { modified: props.lastModified.getTime() } : {}) };
    } catch (err) {
      if (err instanceof StorageError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkObjectPrefix(prefix);
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const page = await this.run('list', prefix, async (a) => {
        const pages = this.container.listBlobsFlat({ prefix: prefix === '' ? undefined : prefix, includeMetadata: true, abortSignal: a.signal })
          .byPage({ continuationToken: token, maxPageSize: LIST_PAGE });
        const next = await pages.next();
        return next.done ? undefined : next.value;
      });
      if (page === undefined) return;
      for (const item of page.segment.blobItems) {
        // Skipped: blobs someone else put into the container under names that are no object names (as the
        // local store skips such files), and the folder entries of hierarchical-namespace (Data Lake) accounts.
        if (item.metadata?.['hdi_isfolder'] === 'true' || !isObjectName(item.name)) continue;
        const md5 = item.properties.contentMD5;
        yield { name: item.name, size: item.properties.contentLength ?? 0, modified: item.properties.lastModified.getTime(), ...(md5 && md5.length === 16 ? { md5: Buffer.from(md5).toString('base64') } : {}) };
      }
      continuationToken = page.continuationToken || undefined;
    } while (continuationToken !== undefined);
  }

  async delete(name: string): Promise<void> {
    checkObjectName(name);
    await this.run('delete', name, (a) => this.container.getBlobClient(name).deleteIfExists({ abortSignal: a.signal, deleteSnapshots: 'include' }));
  }

  /** Leases a blob (LeasingStore): renewed by the holder, it expires by itself when the holder dies. */
  async lease(name: string, seconds: number): Promise<ObjectLease> {
    checkObjectName(name);
    const blob = this.container.getBlobClient(name);
    const leaseClient = blob.getBlobLeaseClient();
    await this.run('put', name, (a) => leaseClient.acquireLease(seconds, { abortSignal: a.signal }));
    const leaseId = leaseClient.leaseId;
    return {
      renew: async () => { await this.run('put', name, (a) => leaseClient.renewLease({ abortSignal: a.signal })); },
      releaseAndDelete: async () => {
        await this.run('delete', name, (a) => blob.deleteIfExists({ abortSignal: a.signal, conditions: { leaseId } }));
      },
    };
  }

  /** Whether a live lease is held on the blob. */
  async isLeased(name: string): Promise<boolean> {
    checkObjectName(name);
    try {
      const props = await this.run('stat', name, (a) => this.container.getBlobClient(name).getProperties({ abortSignal: a.signal }));
      return props.leaseState === 'leased';
    } catch (err) {
      if (err instanceof StorageError && err.kind === 'not-found') return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    // The SDK holds no resources beyond its shared keep-alive agent.
  }

  /** Runs one operation with retries, mapping its final failure to a StorageError. */
  private async run<T>(op: Operation, name: string, attempt: (a: Attempt) => Promise<T>): Promise<T> {
    try {
      return await withRetries(this.policy, attempt, isTransient);
    } catch (err) {
      throw toStorageError(err, op, name);
    }
  }

  /** A create-only write; `exists` from a retry that finds its own earlier attempt's object is success. */
  private async createOnly(name: string, putId: string, write: (a: Attempt) => Promise<unknown>): Promise<void> {
    let attempts = 0;
    try {
      await this.run('put', name, (a) => { attempts = a.number; return write(a); });
    } catch (err) {
      if (!(err instanceof StorageError && err.kind === 'exists') || attempts < 2) throw err;
      const props = await this.run('stat', name, (a) => this.container.getBlobClient(name).getProperties({ abortSignal: a.signal }))
        .catch(() => undefined);
      if (props?.metadata?.[PUT_ID_METADATA] !== putId) throw err;
    }
  }

  /** Uploads `body` as uncommitted blocks, `uploadConcurrency` at a time; returns the block IDs in order. */
  private async stageBlocks(name: string, blob: BlockBlobClient, body: Buffer): Promise<string[]> {
    const blockSize = Math.max(this.blockSize, Math.ceil(body.length / MAX_BLOCKS));
    const count = Math.ceil(body.length / blockSize);
    // All block IDs of a blob must have one length; a random part per put keeps concurrent puts of one
    // name from overwriting each other's uncommitted blocks.
    const tag = randomBytes(6).toString('hex');
    const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${String(i).padStart(6, '0')}`).toString('base64'));
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < count) {
        const i = next++;
        const block = body.subarray(i * blockSize, Math.min((i + 1) * blockSize, body.length));
        const md5 = createHash('md5').update(block).digest();
        try {
          await this.run('put', name, (a) => blob.stageBlock(ids[i]!, bodyOf(block, a), block.length, { abortSignal: a.signal, transactionalContentMD5: md5 }));
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.uploadConcurrency, count) }, worker));
    if (failure !== undefined) throw failure.err;
    return ids;
  }

  /** The whole object, or `length` bytes from `offset` (length > 0). */
  private async download(name: string, offset?: number, length?: number): Promise<Buffer> {
    const blob = this.container.getBlobClient(name);
    return this.run('get', name, async (a) => {
      const res = await blob.download(offset ?? 0, length, { abortSignal: a.signal, maxRetryRequests: 0 });
      const stream = res.readableStreamBody as Readable | undefined;
      try {
        if (offset !== undefined && length !== undefined) {
          // Past the end the service answers 416; a range that starts inside but ends outside the
          // object comes back cut short, with the real size in Content-Range.
          const size = sizeFromContentRange(res.contentRange);
          if (size !== undefined && offset + length > size) throw badRange(name, { offset, length }, size);
          if (res.contentLength !== length) throw new TransientReadError(`Range read of ${name} returned ${res.contentLength} bytes instead of ${length}`);
        }
        // A whole object larger than its kind may be is refused on its headers, before its body is read.
        if (length === undefined && res.contentLength !== undefined) checkObjectSize(name, res.contentLength);
        const expected = length ?? res.contentLength;
        const data = await readBody(stream, expected, a, name);
        if (length === undefined) checkWholeMd5(name, res, data);
        return data;
      } finally {
        stream?.destroy();
      }
    });
  }
}

type Operation = 'open' | 'put' | 'get' | 'stat' | 'list' | 'delete';

/** A read that came back incomplete or corrupted: worth another attempt. */
class TransientReadError extends Error {
  /** `cutOff`: the connection broke while the body came (reset, aborted): the network, not the store. */
  constructor(message: string, readonly cutOff = false) {
    super(message);
    this.name = 'TransientReadError';
  }
}

/** Network errors the Node HTTP client reports (as RestError.code) when no HTTP response arrived. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ESOCKETTIMEDOUT',
  'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'REQUEST_SEND_ERROR',
]);
/** HTTP statuses worth another attempt (throttling, service busy or timed out). */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

function isTransient(err: unknown): boolean {
  if (err instanceof StallTimeout || err instanceof TransientReadError) return true;
  if (!isRestError(err)) return false;
  const status = err.statusCode;
  if (status === undefined) return NETWORK_CODES.has(err.code ?? '') || err.code === 'PARSE_ERROR';
  // Md5Mismatch: the body was damaged on the way; sending it again is the remedy.
  return TRANSIENT_STATUS.has(status) || (status === 400 && errorCodeOf(err) === 'Md5Mismatch');
}

/**
 * What a StorageError keeps as `cause` instead of the SDK's RestError, whose (hidden) request and
 * response hold the SAS URL and the Authorization header (a bearer token, a shared-key signature).
 */
export class AzureRequestError extends Error {
  constructor(message: string, readonly statusCode: number | undefined, readonly code: string | undefined, readonly errorCode: string | undefined, readonly requestId: string | undefined) {
    super(message);
    this.name = 'AzureRequestError';
  }
}

/** A RestError as an AzureRequestError: status, codes, request ID and the first line of the message
 * with anything that looks like a credential blanked out; other errors as they are. */
function safeCause(err: unknown): unknown {
  if (!isRestError(err)) return err;
  const firstLine = redact((err.message ?? '').split('\n')[0] ?? '');
  const details = err.details as { requestId?: unknown } | undefined;
  const requestId = err.response?.headers.get('x-ms-request-id') ?? (typeof details?.requestId === 'string' ? details.requestId : undefined);
  const safe = new AzureRequestError(`${describe(err)}${firstLine ? `: ${firstLine}` : ''}`, err.statusCode, err.code, errorCodeOf(err), requestId);
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  safe.stack = [`${safe.name}: ${safe.message}`, ...frames].join('\n');
  return safe;
}

function redact(text: string): string {
  return text
    .replace(/\b(sig|AccountKey|SharedAccessSignature)=[^&;\s]*/gi, '$1=…')
    .replace(/\b(Bearer|SharedKey)\s+\S+/g, '$1 …')
    .replace(/\?[^\s]*\bsig=[^\s]*/gi, '?…');
}

/** The service's error code (x-ms-error-code; HEAD responses have it only in `details`). */
function errorCodeOf(err: unknown): string | undefined {
  if (err instanceof AzureRequestError) return err.errorCode;
  if (!isRestError(err)) return undefined;
  const details = err.details as { errorCode?: unknown } | undefined;
  return typeof details?.errorCode === 'string' ? details.errorCode : err.code;
}

/** "HTTP 403 AuthorizationFailure", "ECONNREFUSED", "no response for 60 s": never the SDK's message. */
function describe(err: unknown): string {
  if (err instanceof StallTimeout) return `no response for ${err.ms / 1000} s`;
  if (err instanceof TransientReadError) return err.message;
  if (isRestError(err)) {
    const code = errorCodeOf(err);
    if (err.statusCode !== undefined) return `HTTP ${err.statusCode}${code ? ` ${code}` : ''}`;
    return code ?? 'request failed';
  }
  return (err as Error | undefined)?.name ?? 'unknown error';
}

const VERB: Record<Operation, string> = {
  open: 'open container', put: 'write object', get: 'read object', stat: 'read properties of object', list: 'list objects under', delete: 'delete object',
};

/** Maps an SDK failure to a StorageError by HTTP status and service error code. */
function toStorageError(err: unknown, op: Operation, name: string): StorageError {
  if (err instanceof StorageError) return err;
  const status = isRestError(err) ? err.statusCode : undefined;
  const code = errorCodeOf(err) ?? '';
  let kind: StorageErrorKind = 'io';
  if (err instanceof StallTimeout || (err instanceof TransientReadError && err.cutOff)) kind = 'unreachable';
  else if (status === 401 || status === 403 || status === 407) kind = 'denied';
  else if (status === 404) kind = code === 'BlobNotFound' && op !== 'put' && op !== 'list' ? 'not-found' : 'unavailable';
  else if ((status === 409 || status === 412) && op === 'put') kind = code.startsWith('Container') ? 'unavailable' : 'exists';
  else if (status === 409 && code.startsWith('Container')) kind = 'unavailable'; // ContainerBeingDeleted, ContainerDisabled
  else if (status === 416) kind = 'bad-range';
  else if (status === 503) kind = 'unreachable';
  else if (status === undefined && isRestError(err) && NETWORK_CODES.has(err.code ?? '')) kind = 'unreachable';
  const target = op === 'list' ? `'${name}'` : name;
  const message = kind === 'not-found' ? `Object not found: ${name}`
    : kind === 'exists' ? `Object already exists: ${name}`
      : code === 'ContainerNotFound' ? `Cannot ${VERB[op]} ${target}: the container no longer exists (${describe(err)})`
        : `Cannot ${VERB[op]} ${target} (${describe(err)})`;
  if (status === 407) return new StorageError(kind, name, `The proxy refused its user name and password (HTTP 407) while trying to ${VERB[op]} ${target}`, { cause: safeCause(err), deniedBy: 'proxy' });
  return new StorageError(kind, name, message, { cause: safeCause(err) });
}

function existsError(name: string, cause?: unknown): StorageError {
  return new StorageError('exists', name, `Object already exists: ${name}`, { cause });
}

function badRange(name: string, { offset, length }: ByteRange, size: number): StorageError {
  return new StorageError('bad-range', name, `Range ${offset}+${length} lies outside object ${name} (${size} bytes)`);
}

/** Total size from "bytes 10-15/16"; undefined when absent or "*". */
function sizeFromContentRange(contentRange: string | undefined): number | undefined {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Reads the response body, restarting the stall timer on every piece; a short body is transient. */
async function readBody(stream: Readable | undefined, expected: number | undefined, a: Attempt, name: string): Promise<Buffer> {
  if (stream === undefined) {
    if (!expected) return Buffer.alloc(0);
    throw new TransientReadError(`Read of ${name} returned no body`);
  }
  const pieces: Buffer[] = [];
  // With its length known, the body is copied into one buffer as it comes: a 16 MiB pack segment then
  // costs 16 MiB, not its pieces and their concatenation at once (the restore's peak memory).
  const whole = expected !== undefined && expected > 0 ? Buffer.allocUnsafe(expected) : undefined;
  let got = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      a.progress();
      if (expected !== undefined && got + piece.length > expected) throw new StorageError('io', name, `Read of ${name} returned more than the ${expected} bytes announced`);
      if (whole) piece.copy(whole, got); else pieces.push(piece);
      got += piece.length;
      if (expected === undefined) checkObjectSize(name, got); // no length announced: stop at the object's bound
    }
  } catch (err) {
    // The body stream fails when the connection is reset or aborted half-way (an AbortError, ECONNRESET):
    // worth another attempt, and in the end the network's failure, not the store's. A stalled attempt
    // (its signal aborted by the watchdog) is told apart by withRetries.
    if (err instanceof StorageError || a.signal.aborted) throw err;
    throw new TransientReadError(`Read of ${name} was cut off after ${got} bytes (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`, true);
  }
  if (expected !== undefined && got !== expected) throw new TransientReadError(`Read of ${name} ended after ${got} of ${expected} bytes`);
  if (whole) return whole;
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, got);
}

/** A whole-object read carries the stored Content-MD5 (when the object has one): check the bytes against it. */
function checkWholeMd5(name: string, res: BlobDownloadResponseParsed, data: Buffer): void {
  if (res.contentMD5 === undefined || res.contentMD5.length === 0) return;
  const actual = createHash('md5').update(data).digest();
  if (!actual.equals(Buffer.from(res.contentMD5))) throw new TransientReadError(`Read of ${name} does not match its stored MD5`);
}

/** The upload body: a stream of pieces, so the stall timer restarts as the bytes are taken by the socket. */
function bodyOf(data: Buffer, a: Attempt): Buffer | (() => NodeJS.ReadableStream) {
  if (data.length === 0) return data;
  return () => Readable.from(pieces(data, a), { objectMode: false, highWaterMark: STREAM_PIECE });
}

// A staged file as an upload body: every piece read tells the stall watchdog the upload is moving.
function fileBody(path: string, a: Attempt): NodeJS.ReadableStream {
  const stream = createReadStream(path, { highWaterMark: STREAM_PIECE });
  stream.on('data', () => a.progress());
  return stream;
}

async function md5OfFile(path: string): Promise<Buffer> {
  const hash = createHash('md5');
  for await (const piece of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(piece as Buffer);
  return hash.digest();
}

function* pieces(data: Buffer, a: Attempt): Generator<Buffer> {
  for (let at = 0; at < data.length; at += STREAM_PIECE) {
    a.progress();
    yield data.subarray(at, at + STREAM_PIECE);
  }
}

function isObjectName(name: string): boolean {
  try {
    checkObjectName(name);
    return true;
  } catch {
    return false;
  }
}

/** The container URL without query, fragment or credentials, and the container's name. */
function parseContainerUrl(containerUrl: string): { location: string; containerName: string } {
  const shown = containerUrl.replace(/[?#].*$/s, '').replace(/\/\/[^/@]*@/, '//');
  let url: URL;
  try {
    url = new URL(containerUrl);
  } catch {
    throw new StorageError('unavailable', '', `Not a valid container URL: ${shown}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new StorageError('unavailable', '', `Not an http(s) container URL: ${shown}`);
  url.search = '';
  url.hash = '';
  url.username = '';
  url.password = '';
  const location = url.toString().replace(/\/+$/, '');
  // The SDK knows where the container segment is (path-style for IP hosts such as Azurite's).
  const containerName = new ContainerClient(location).containerName;
  if (!/^(?:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|\$root)$/.test(containerName) || !location.endsWith(`/${containerName}`)) {
    throw new StorageError('unavailable', '', `Not a container URL (expected https://<account>.blob.core.windows.net/<container>): ${location}`);
  }
  return { location, containerName };
}

function containerClientFor(location: string, containerName: string, credential: AzureCredential, proxy?: AzureBlobStoreOptions['proxy']): ContainerClient {
  // Retries are done by withRetries; the SDK makes one try per call.
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1 }, userAgentOptions: { userAgentPrefix: 'azbackup' } };
  if (proxy) options.proxyOptions = { host: proxy.host, port: proxy.port, ...(proxy.username ? { username: proxy.username, password: proxy.password ?? '' } : {}) };
  switch (credential.kind) {
    case 'connectionString': {
      let client: ContainerClient;
      try {
        client = new ContainerClient(credential.value, containerName, options);
      } catch {
        // The SDK's message is not shown: it could quote the connection string.
        throw new StorageError('denied', '', `The connection string for ${location} is not valid.`);
      }
      const endpoint = client.url.replace(/[?#].*$/s, '').replace(/\/+$/, '');
      if (endpoint.toLowerCase() !== location.toLowerCase()) {
        throw new StorageError('denied', '', `The connection string is for ${endpoint.slice(0, endpoint.lastIndexOf('/'))}, not for the account of ${location}.`);
      }
      return client;
    }
    case 'sharedKey':
      return new ContainerClient(location, new StorageSharedKeyCredential(credential.account, credential.key), options);
    case 'sas': {
      const token = sasToken(credential.sasUrl, location);
      return new ContainerClient(`${location}?${token}`, new AnonymousCredential(), options);
    }
    case 'tokenCredential':
      if (!location.startsWith('https:')) throw new StorageError('denied', '', `Token authentication needs an https container URL, not ${location}.`);
      return new ContainerClient(location, credential.credential, options);
  }
}

/** The SAS token of a SAS URL on the container's account, or of a bare token. */
function sasToken(sasUrl: string, location: string): string {
  let token = sasUrl.trim();
  if (/^https?:\/\//i.test(token)) {
    let url: URL;
    try {
      url = new URL(token);
    } catch {
      throw new StorageError('denied', '', `The SAS URL for ${location} is not a valid URL.`);
    }
    const at = new URL(location);
    const sameAccount = url.origin === at.origin
      && (url.pathname.replace(/\/+$/, '') === at.pathname || at.pathname.startsWith(`${url.pathname.replace(/\/+$/, '')}/`));
    if (!sameAccount) throw new StorageError('denied', '', `The SAS URL is for ${url.origin}${url.pathname}, not for ${location}.`);
    token = url.search;
  }
  token = token.replace(/^\?/, '');
  if (!/(^|&)sig=/.test(token)) throw new StorageError('denied', '', `The SAS for ${location} has no signature.`);
  return token;
}

function positiveInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, not ${v}`);
  return v;
}

function nonNegative(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, not ${v}`);
  return v;
}

/** Creates the container of `o.containerUrl` when it does not exist yet (vault creation); then opens it. */
export async function createAzureContainer(o: AzureBlobStoreOptions): Promise<AzureBlobStore> {
  const { location, containerName } = parseContainerUrl(o.containerUrl);
  const container = containerClientFor(location, containerName, o.credential, o.proxy);
  const store = new AzureBlobStore(container, location, o);
  try {
    await container.createIfNotExists();
  } catch (err) {
    const failure = toStorageError(err, 'open', '');
    throw new StorageError(failure.kind === 'io' ? 'unavailable' : failure.kind, '', `Cannot create the container '${containerName}' at ${location} (${describe(err)}).`, { cause: failure.cause });
  }
  await store.probe();
  return store;
}
