// chunkFile (core/backup/file-chunks.ts): how a file's chunks are batched for the main thread.
import { createCipheriv, createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, statSync, writeFileSync } from 'node:fs';
import { zstdDecompressSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, BATCH_RAW_BYTES, READ_SIZE, chunkFile, type ChunkJobEvent } from '../../core/backup/file-chunks.js';
import { DEFAULT_CHUNKER_PARAMS, chunkBuffer, gearTable } from '../../core/chunker/fastcdc.js';

const MiB = 1024 * 1024;
import { tempDir } from '../helpers/tmp.js';

describe('chunkFile', () => {
  it('sends the chunks of data that compresses to nothing (a sparse file\'s holes) in batches as it reads, not at the end', () => {
    const path = join(tempDir(), 'sparse.img');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 256 * 1024 * 1024);
    closeSync(fd);
    const keys = { params: { ...DEFAULT_CHUNKER_PARAMS }, gear: gearTable(randomBytes(32)), blobIdKey: createSecretKey(randomBytes(32)) };
    const events: ChunkJobEvent[] = [];
    chunkFile({ path: Buffer.from(path), size: 256 * 1024 * 1024, mtimeNs: statSync(path, { bigint: true }).mtimeNs.toString() }, keys, (e) => events.push(e));
    const batches = events.filter((e) => e.kind === 'chunks');
    const rawPerBatch = batches.map((b) => b.rawLengths.reduce((n, l) => n + l, 0));
    expect(rawPerBatch.reduce((n, l) => n + l, 0)).toBe(256 * 1024 * 1024);
    // Each batch stays near 32 MiB of file bytes, though its bodies are a few hundred bytes.
    expect(batches.length).toBeGreaterThanOrEqual(7);
    for (const raw of rawPerBatch) expect(raw).toBeLessThanOrEqual(32 * 1024 * 1024 + DEFAULT_CHUNKER_PARAMS.maxSize);
    expect(batches.every((b) => b.bytes < 64 * 1024)).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'done', bytesRead: 256 * 1024 * 1024, changed: false, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

// chunkFile against the reference chunking of the same bytes, at every threshold of the read path: the
// small-file cut-over (minSize), the read size, maxSize, the splitter's working buffer (2 × maxSize),
// the batch limits in encoded and in raw bytes, and multiples; each after a 1.5 MiB file read by the same
// thread (which once left the reused buffer at an unaligned size). IDs, lengths, bodies and the digest
// must all be those of the reference chunks.
describe('chunkFile against the reference chunking', () => {
  const p = DEFAULT_CHUNKER_PARAMS;
  const keys = { params: { ...p }, gear: gearTable(Buffer.alloc(32, 7)), blobIdKey: createSecretKey(Buffer.alloc(32, 9)) };
  const dir = tempDir();

  /** Random bytes, or text-like bytes that compress well (so the raw-bytes batch limit is reached). */
  function content(size: number, kind: 'random' | 'text', label: string): Buffer {
    if (kind === 'random') {
      const key = createHash('sha256').update(label).digest().subarray(0, 16);
      return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
    }
    const out = Buffer.allocUnsafe(size);
    let n = 0;
    for (let line = 0; n < size; line++) n += out.write(`line ${line} of ${label}: ${(line * 2654435761) % 1000003}\n`, n);
    return out;
  }

  function check(size: number, kind: 'random' | 'text'): void {
    const data = content(size, kind, `${kind} ${size}`);
    const path = join(dir, `f-${kind}-${size}`);
    writeFileSync(path, data);
    const job = { path: Buffer.from(path), size, mtimeNs: statSync(path, { bigint: true }).mtimeNs.toString() };
    const events: ChunkJobEvent[] = [];
    chunkFile(job, keys, (e) => events.push(e));
    const batches = events.filter((e) => e.kind === 'chunks');
    const want = size === 0 ? [] : size < p.minSize ? [data] : chunkBuffer(data, p, keys.gear);
    const ids = Buffer.concat(batches.map((b) => Buffer.from(b.ids)));
    const rawLengths = batches.flatMap((b) => b.rawLengths);
    expect(rawLengths, `${kind} ${size}`).toEqual(want.map((c) => c.length));
    want.forEach((c, i) => {
      expect(ids.subarray(32 * i, 32 * i + 32).equals(createHmac('sha256', keys.blobIdKey).update(c).digest()), `${kind} ${size}: ID of chunk ${i}`).toBe(true);
    });
    const bodies = batches.flatMap((b) => b.bodies.map((body, i) => (b.flags[i] === 1 ? zstdDecompressSync(body) : Buffer.from(body))));
    bodies.forEach((body, i) => expect(body.equals(want[i]!), `${kind} ${size}: body of chunk ${i}`).toBe(true));
    for (const b of batches) expect(b.bytes).toBe(b.bodies.reduce((n, x) => n + x.length, 0));
    expect(events.at(-1)).toEqual({ kind: 'done', bytesRead: size, changed: false, digest: createHash('sha256').update(data).digest('hex') });
  }

  const preceding = () => check(1.5 * MiB, 'random');
  const around = (n: number) => [n - 1, n, n + 1];
  it.each([
    ['the small-file cut-over (minSize)', around(p.minSize)],
    ['the read size and the encoded batch limit (4 MiB)', around(READ_SIZE)],
    ['maxSize (8 MiB)', around(p.maxSize)],
    ['the working buffer (16 MiB) and 17 MiB', [...around(2 * p.maxSize), 17 * MiB]],
    ['25 MiB and 48 MiB (3 × the working buffer)', [25 * MiB + 3, 48 * MiB]],
  ])('random content at %s', (_what, sizes) => {
    expect(READ_SIZE).toBe(BATCH_BYTES);
    for (const size of sizes as number[]) { preceding(); check(size, 'random'); }
  }, 120_000);

  it('compressible content at the raw batch limit (32 MiB) and at multiples of the working buffer', () => {
    for (const size of [...around(BATCH_RAW_BYTES), 2 * p.maxSize, 0, 1]) { preceding(); check(size, 'text'); }
  }, 120_000);
});
