// One file → its encoded chunks: read → FastCDC → blob ID (keyed HMAC) → zstd when it shrinks.
// Runs on a read worker (core/backup/read-worker.ts), so the main thread of a backup only deduplicates,
// encrypts and packs; with sync I/O, since a worker has nothing else to do while it waits.
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ChunkSplitter, type ChunkerParams } from '../chunker/fastcdc.js';
import { encodeBlobBody } from '../repo/pack.js';

/** What a read worker needs besides the job: the server's chunker and blob-ID keys. */
export interface ChunkingKeys { params: ChunkerParams; gear: Uint32Array; blobIdKey: KeyObject }

// One transient splitter and read buffer per thread, reused file after file: no 16 MiB buffers to
// allocate (and collect) per large file.
let reusable: { keys: ChunkingKeys; splitter: ChunkSplitter; piece: Buffer } | undefined;
function splitterFor(keys: ChunkingKeys): { splitter: ChunkSplitter; piece: Buffer } {
  if (reusable?.keys !== keys) reusable = { keys, splitter: new ChunkSplitter(keys.params, keys.gear, true), piece: Buffer.allocUnsafe(READ_SIZE) };
  reusable.splitter.reset();
  return reusable;
}

/** One file to read. `path` is the file name's bytes (Linux names need not be UTF-8). */
export interface ChunkJob { path: Uint8Array; size: number; mtimeNs: string }

/**
 * What reading a file produces, in order: `chunks` batches, then one `done` or `failed`.
 * In a batch, chunk i has ID ids[32i, 32i+32), plain length rawLengths[i] and encoded body bodies[i]
 * (flags[i]: 1 = zstd, 0 = stored as is). Each body is the only view of its ArrayBuffer (which may
 * hold a spare byte past it), so it can be transferred between threads without copying.
 */
export type ChunkJobEvent =
  | { kind: 'chunks'; ids: Uint8Array; rawLengths: number[]; flags: number[]; bodies: Uint8Array[]; bytes: number }
  | { kind: 'done'; bytesRead: number; changed: boolean; digest: string }
  | { kind: 'failed'; code: string; stage: 'open' | 'read' | 'invariant'; detail?: string };

/**
 * `done.digest` is the SHA-256 (hex) of the file's bytes as read, hashed from the read buffers before
 * the chunker sees them: restore and check rebuild the file from its chunk list and compare, so a chunk
 * list that is wrong in any way (content, order, a missing chunk) cannot go unnoticed.
 * Before `done`, chunkFile proves the chunks it sent are exactly the bytes it read: their lengths add up
 * to the bytes read and a CRC-32 of the chunks in order equals one of the read buffers. When not, the
 * file ends `failed` at stage 'invariant' (an engine bug; nothing of it may be stored as its content).
 */

/** Bytes read from a large file at a time. */
export const READ_SIZE = 4 * 1024 * 1024;
/**
 * Chunks of a large file sent to the main thread together: up to this many encoded bytes, or this many
 * times more file bytes (data that compresses to nothing, such as the holes of a sparse file, must still
 * reach the main thread as it is read: its progress events and its cancel checks go by batch).
 */
export const BATCH_BYTES = 4 * 1024 * 1024;
export const BATCH_RAW_BYTES = 8 * BATCH_BYTES;
/** A read worker sends its answers when this many bytes of chunk bodies, or this many events, are waiting. */
export const OUTBOX_FLUSH_BYTES = 1024 * 1024;
export const OUTBOX_FLUSH_EVENTS = 256;

/**
 * `b`, ready to be transferred: compressor output views a buffer nothing else uses, so it goes as it is
 * unless that buffer may be Buffer's shared pool (small outputs), which is copied out.
 */
function transferable(b: Uint8Array): Uint8Array {
  return b.buffer.byteLength > Buffer.poolSize || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) ? b : new Uint8Array(b);
}

/**
 * Reads and chunks one file, calling `emit` with its events. `waitForRoom(bytes)` is called before
 * each batch so that the reader waits while the consumer is behind (memory stays bounded).
 */
export function chunkFile(job: ChunkJob, keys: ChunkingKeys, emit: (e: ChunkJobEvent) => void, waitForRoom: (bytes: number) => void = () => undefined): void {
  let fd: number;
  try {
    fd = openSync(Buffer.from(job.path.buffer, job.path.byteOffset, job.path.byteLength), 'r');
  } catch (err) {
    emit({ kind: 'failed', code: (err as NodeJS.ErrnoException).code ?? 'EIO', stage: 'open' });
    return;
  }
  let batch: { ids: Buffer[]; rawLengths: number[]; flags: number[]; bodies: Uint8Array[]; bytes: number; raw: number } = { ids: [], rawLengths: [], flags: [], bodies: [], bytes: 0, raw: 0 };
  const flush = () => {
    if (batch.bodies.length === 0) return;
    waitForRoom(batch.bytes);
    emit({ kind: 'chunks', ids: new Uint8Array(Buffer.concat(batch.ids)), rawLengths: batch.rawLengths, flags: batch.flags, bodies: batch.bodies, bytes: batch.bytes });
    batch = { ids: [], rawLengths: [], flags: [], bodies: [], bytes: 0, raw: 0 };
  };
  // What the chunks carry, to be proved equal to what was read (see ChunkJobEvent).
  let chunkBytes = 0;
  let chunkCrc = 0;
  const add = (chunk: Uint8Array, ownsBuffer: boolean) => {
    chunkBytes += chunk.length;
    chunkCrc = crc32(chunk, chunkCrc);
    batch.ids.push(createHmac('sha256', keys.blobIdKey).update(chunk).digest());
    const encoded = encodeBlobBody(chunk);
    // A stored-as-is chunk is the chunk itself: copy it out of the reused chunker buffer.
    const body = encoded.body === chunk ? (ownsBuffer ? chunk : new Uint8Array(chunk)) : transferable(encoded.body);
    batch.rawLengths.push(chunk.length);
    batch.flags.push(encoded.flag);
    batch.bodies.push(body);
    batch.bytes += body.length;
    batch.raw += chunk.length;
  };
  const full = () => batch.bytes >= BATCH_BYTES || batch.raw >= BATCH_RAW_BYTES;
  // Called while the chunk is intact (a transient splitter reuses its buffer once this returns).
  const addChunk = (c: Buffer) => { add(c, false); if (full()) flush(); };
  const digest = createHash('sha256');
  let readCrc = 0;
  try {
    let bytesRead = 0;
    let changed = false;
    if (job.size < keys.params.minSize) {
      // Small file: one chunk, read in one go into a buffer of its own. The buffer has one byte more than
      // the size the scan saw: a file that grew since fills it, in the same read call.
      const buf = new Uint8Array(job.size + 1);
      while (bytesRead < buf.length) {
        const n = readSync(fd, buf, bytesRead, buf.length - bytesRead, bytesRead);
        if (n === 0) break;
        bytesRead += n;
      }
      if (bytesRead !== job.size) changed = true;
      bytesRead = Math.min(bytesRead, job.size);
      const content = buf.subarray(0, bytesRead);
      digest.update(content);
      readCrc = crc32(content);
      if (bytesRead > 0) add(content, true); // ours alone: moved to the main thread with its spare byte
    } else {
      const { splitter, piece } = splitterFor(keys);
      for (;;) {
        const n = readSync(fd, piece, 0, piece.length, bytesRead);
        if (n === 0) break;
        bytesRead += n;
        const read = piece.subarray(0, n);
        digest.update(read);
        readCrc = crc32(read, readCrc);
        splitter.push(read, addChunk);
      }
      splitter.end(addChunk);
      const after = fstatSync(fd, { bigint: true });
      changed = after.mtimeNs.toString() !== job.mtimeNs || bytesRead !== job.size;
    }
    if (chunkBytes !== bytesRead || chunkCrc !== readCrc) {
      emit({ kind: 'failed', code: 'AZB_INTERNAL_CHUNK_MISMATCH', stage: 'invariant', detail: `chunks hold ${chunkBytes} bytes (CRC-32 ${chunkCrc.toString(16)}) for ${bytesRead} bytes read (CRC-32 ${readCrc.toString(16)})` });
      return;
    }
    flush();
    emit({ kind: 'done', bytesRead, changed, digest: digest.digest('hex') });
  } catch (err) {
    emit({ kind: 'failed', code: (err as NodeJS.ErrnoException).code ?? (err as Error).message, stage: 'read' });
  } finally {
    closeSync(fd);
  }
}
