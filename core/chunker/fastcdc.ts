// Content-defined chunking (FORMAT.md section 6): FastCDC with normalized chunking level 2 over a
// 32-bit gear hash whose table is keyed by the server's chunker seed, so boundaries (and therefore
// chunk sizes) reveal nothing about content to anyone without the key.
// Boundaries are part of the on-disk format: changing anything here (masks, cut convention, table)
// breaks deduplication against existing vaults.
import { createHmac } from 'node:crypto';

/** Chunk size bounds in bytes; avgSize is the normalization point (a power of two). */
export interface ChunkerParams { minSize: number; avgSize: number; maxSize: number }

/** The sizes AzBackup chunks with: 512 KiB / 1 MiB / 8 MiB. */
export const DEFAULT_CHUNKER_PARAMS: Readonly<ChunkerParams> = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 8 * 1024 * 1024,
});

/** Largest maxSize accepted (64 MiB): bounds the memory a chunk can take. */
export const MAX_CHUNK_SIZE_LIMIT = 64 * 1024 * 1024;

/** Throws an Error naming the problem unless avgSize is a power of two and 64 <= minSize < avgSize < maxSize <= 64 MiB. */
export function checkChunkerParams(p: ChunkerParams): void {
  const { minSize, avgSize, maxSize } = p;
  for (const [name, v] of [['minSize', minSize], ['avgSize', avgSize], ['maxSize', maxSize]] as const) {
    if (!Number.isSafeInteger(v)) throw new Error(`Chunker ${name} must be an integer, got ${String(v)}.`);
  }
  // A power of two gives masks with exactly log2(avg)±2 bits; 2^k for k < 31 keeps that in 32 bits.
  if (avgSize <= 0 || avgSize > 2 ** 30 || (avgSize & (avgSize - 1)) !== 0) {
    throw new Error(`Chunker avgSize must be a power of two, got ${avgSize}.`);
  }
  if (minSize < 64) throw new Error(`Chunker minSize must be at least 64 bytes, got ${minSize}.`);
  if (minSize >= avgSize) throw new Error(`Chunker minSize (${minSize}) must be less than avgSize (${avgSize}).`);
  if (avgSize >= maxSize) throw new Error(`Chunker avgSize (${avgSize}) must be less than maxSize (${maxSize}).`);
  if (maxSize > MAX_CHUNK_SIZE_LIMIT) throw new Error(`Chunker maxSize must be at most 64 MiB, got ${maxSize}.`);
}

/** The 256-entry gear table: entry i = first 4 bytes, big-endian, of HMAC-SHA256(seed, [i]). */
export function gearTable(seed: Uint8Array): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHmac('sha256', seed).update(Uint8Array.of(i)).digest().readUInt32BE(0);
  }
  return table;
}

/**
 * A 32-bit mask with `bits` one-bits spread over the high bits: bit 31 − floor(j·W/bits) for
 * j = 0…bits−1, where W = min(32, 2·bits). Up to 16 bits that is every other bit from bit 31 down
 * (the paper's "padding zeros", which widens the effective window); beyond, as evenly as 32 allows.
 */
function spreadMask(bits: number): number {
  const width = Math.min(32, 2 * bits);
  let mask = 0;
  for (let j = 0; j < bits; j++) mask |= 1 << (31 - Math.floor((j * width) / bits));
  return mask >>> 0;
}

/** The normalized-chunking masks for avgSize = 2^k: maskS has k+2 one-bits (before avg), maskL k−2 (after). */
export function cutMasks(avgSize: number): { maskS: number; maskL: number } {
  const k = Math.round(Math.log2(avgSize));
  return { maskS: spreadMask(k + 2), maskL: spreadMask(k - 2) };
}

/**
 * Length of the chunk that starts at `start`, given the bytes buf[start, end).
 * Precondition: `end` is the end of the data, or end >= start + maxSize (the answer never depends on
 * bytes past start + maxSize, so any such `end` gives the same cut). Params are not validated here.
 * Convention (as in the paper): the byte whose hash matched the mask starts the next chunk.
 */
export function findCutPoint(buf: Uint8Array, start: number, end: number, params: ChunkerParams, gear: Uint32Array): number {
  const { minSize, avgSize, maxSize } = params;
  let n = end - start;
  if (n <= minSize) return n;
  if (n > maxSize) n = maxSize;
  const { maskS, maskL } = cutMasks(avgSize);
  // Int32 views keep V8 on its int32 fast path (uint32 values above 2^31 would be doubles);
  // the bits, and so the cut points, are identical.
  const g = new Int32Array(gear.buffer, gear.byteOffset, 256);
  const mS = maskS | 0;
  const mL = maskL | 0;
  const normal = start + (n < avgSize ? n : avgSize);
  const stop = start + n;
  let h = 0;
  // Skip hashing the first minSize bytes: no cut can fall there, and the hash only sees the last
  // 32 bytes anyway (each step shifts older bytes out of the top).
  let i = start + minSize;
  for (; i < normal; i++) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & mS) === 0) return i - start;
  }
  for (; i < stop; i++) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & mL) === 0) return i - start;
  }
  return n;
}

function checkGear(gear: Uint32Array): void {
  if (gear.length !== 256) throw new Error(`Gear table must have 256 entries, got ${gear.length}.`);
}

/** Splits a whole buffer into chunks (views sharing `data`'s memory), with the same boundaries as chunkStream. */
export function chunkBuffer(data: Uint8Array, params: ChunkerParams, gear: Uint32Array): Buffer[] {
  checkChunkerParams(params);
  checkGear(gear);
  const chunks: Buffer[] = [];
  for (let off = 0; off < data.length;) {
    const len = findCutPoint(data, off, data.length, params, gear);
    chunks.push(Buffer.from(data.buffer, data.byteOffset + off, len));
    off += len;
  }
  return chunks;
}

/** Smallest working buffer; it doubles up to 2 × maxSize so small files never allocate megabytes. */
export const MIN_WORK_SIZE = 64 * 1024;

/**
 * Push-style chunker: feed pieces of a byte stream with push(), then end(). Boundaries depend only on the
 * content, never on how the source is split. Each chunk is handed to `emit` as soon as it is cut, while
 * it is still intact. Memory held is at most 2 × maxSize of working buffer. Sync, so a worker thread can
 * drive it from sync reads.
 */
export class ChunkSplitter {
  // Bytes [off, fill) of `work` are pending; [0, off) have been emitted.
  private work = Buffer.allocUnsafe(0);
  private off = 0;
  private fill = 0;
  private readonly maxWork: number;

  /**
   * `transient` false (default): an emitted chunk views a buffer that is never written again, so the
   * caller may keep it. `transient` true: the chunk is valid only until `emit` returns; the working
   * buffer is then reused (slid) instead of replaced, for callers that hash and copy each chunk at once
   * (read workers). Emitting from inside push() is what makes this safe: a chunk handed out after
   * push() returned could already have been overwritten by a slide later in the same call.
   */
  constructor(private readonly params: ChunkerParams, private readonly gear: Uint32Array, private readonly transient = false) {
    checkChunkerParams(params);
    checkGear(gear);
    this.maxWork = 2 * params.maxSize;
  }

  /** Starts a new stream (keeps the working buffer). */
  reset(): void {
    this.off = 0;
    this.fill = 0;
  }

  /** Adds bytes (copied: `input` may be reused at once); emits the chunks now complete, in order. */
  push(input: Uint8Array, emit: (chunk: Buffer) => void): void {
    const { maxSize } = this.params;
    let pos = 0;
    while (pos < input.length) {
      if (this.fill === this.work.length && this.transient && this.work.length === this.maxWork) {
        // Every chunk emitted so far has been consumed (emit returned): slide the pending bytes to the front.
        this.work.copyWithin(0, this.off, this.fill);
        this.fill -= this.off;
        this.off = 0;
      }
      if (this.fill === this.work.length) {
        const pending = this.fill - this.off;
        // Grow while small; at full size, a fresh buffer of the same size (pending < maxSize there).
        let size = Math.max(MIN_WORK_SIZE, this.work.length);
        while (size < pending + (input.length - pos) && size < this.maxWork) size *= 2;
        if (pending >= size / 2 && size < this.maxWork) size = Math.min(this.maxWork, size * 2);
        size = Math.min(size, this.maxWork);
        const next = Buffer.allocUnsafe(size);
        this.work.copy(next, 0, this.off, this.fill);
        this.work = next;
        this.off = 0;
        this.fill = pending;
      }
      const n = Math.min(this.work.length - this.fill, input.length - pos);
      this.work.set(input.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      // At least maxSize bytes ahead: the cut cannot depend on bytes still to come.
      while (this.fill - this.off >= maxSize) emit(this.next());
    }
  }

  /** Emits the remaining chunks at the end of the stream. */
  end(emit: (chunk: Buffer) => void): void {
    while (this.off < this.fill) emit(this.next());
  }

  private next(): Buffer {
    const len = findCutPoint(this.work, this.off, this.fill, this.params, this.gear);
    const chunk = this.work.subarray(this.off, this.off + len);
    this.off += len;
    return chunk;
  }
}

/** Chunks an async byte stream (stdin backups) with a ChunkSplitter. */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  params: ChunkerParams,
  gear: Uint32Array,
): AsyncGenerator<Buffer> {
  // Not transient: the chunks collected from one push stay valid while they are yielded.
  const splitter = new ChunkSplitter(params, gear);
  const ready: Buffer[] = [];
  const collect = (c: Buffer) => { ready.push(c); };
  for await (const input of source) {
    splitter.push(input, collect);
    yield* ready.splice(0);
  }
  splitter.end(collect);
  yield* ready.splice(0);
}
