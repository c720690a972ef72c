// Decode workers (core/repo/decode-pool.ts) behind repo.decodeStoredBlob: blobs from DECODE_ON_WORKER_FROM
// stored bytes up are opened on real worker threads, smaller ones inline, with the same bytes and the same
// errors; a flipped byte, a blob that does not match its ID and a dead worker fail with their codes; the
// bytes handed to the workers stay under DECODE_QUEUE_BYTES.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobSaver } from '../../core/backup/blob-saver.js';
import { AEAD_OVERHEAD, encrypt } from '../../core/crypto/aead.js';
import { DECODE_ON_WORKER_FROM, DECODE_QUEUE_BYTES } from '../../core/repo/decode-pool.js';
import type { ServerRepo } from '../../core/repo/server.js';
import { BlobFetcher } from '../../core/restore/blob-fetcher.js';
import { memoryServer } from '../helpers/memory-server.js';

const MIB = 1024 * 1024;
let workerSource = '';
let repo: ServerRepo;
beforeAll(async () => {
  const out = await build({ entryPoints: [join(import.meta.dirname, '..', '..', 'core', 'repo', 'decode-worker.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node24', write: false, logLevel: 'silent' });
  workerSource = out.outputFiles[0]!.text;
  ({ repo } = await memoryServer());
});

/** Stores `chunks` (random bytes are stored raw: flag byte + AEAD overhead on top) and returns their IDs. */
async function store(chunks: Buffer[]): Promise<string[]> {
  const saver = new BlobSaver(repo);
  const ids: string[] = [];
  for (const c of chunks) ids.push((await saver.save('data', c)).toString('hex'));
  await saver.finish(true);
  return ids;
}

/** Every read of a pack object comes back with `edit` applied (the store's own copy is left alone). */
async function withPackReads<T>(edit: (b: Buffer) => Buffer, fn: () => Promise<T>): Promise<T> {
  const s = repo.vault.store;
  const realGet = s.get.bind(s);
  s.get = async (name, range) => { const b = await realGet(name, range); return name.includes('/packs/') && range ? edit(Buffer.from(b)) : b; };
  try { return await fn(); } finally { s.get = realGet; }
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

describe('decode pool', () => {
  it('opens blobs from the threshold up on workers and smaller ones inline, bytes identical, threshold exact', async () => {
    const raw = DECODE_ON_WORKER_FROM - AEAD_OVERHEAD - 1; // stored = raw + flag + overhead = the threshold
    const chunks = [randomBytes(raw - 1), randomBytes(raw), randomBytes(3 * MIB), Buffer.alloc(2 * MIB, 'compressible text '), randomBytes(10)];
    const ids = await store(chunks);
    for (const id of ids.slice(0, 2)) expect(repo.locate(Buffer.from(id, 'hex')).length).toBe(DECODE_ON_WORKER_FROM + (id === ids[0] ? -1 : 0));
    repo.startDecodeWorkers({ source: workerSource, workers: 2 });
    try {
      const fetcher = new BlobFetcher(repo);
      fetcher.plan(ids);
      for (const [i, id] of ids.entries()) expect((await fetcher.blob(id)).equals(chunks[i]!)).toBe(true);
      // The blob one byte under the threshold, the 10-byte one and the compressed 2 MiB one (a few KiB stored) inline.
      expect(repo.decodePool!.sent).toBe(2);
    } finally {
      await repo.stopDecodeWorkers();
    }
    expect(repo.decodePool).toBeUndefined();
  });

  it('fails a flipped byte with AZB_OBJECT_DAMAGED on a worker as inline, and a blob that does not match its ID', async () => {
    const [big, small] = [randomBytes(1 * MIB), randomBytes(1000)];
    const ids = await store([big, small]);
    repo.startDecodeWorkers({ source: workerSource, workers: 1 });
    try {
      // A byte of the blob's ciphertext: the read may start with the pack header (folded in), the blob is last.
      const flip = (b: Buffer) => { b[b.length - 20]! ^= 0x01; return b; };
      for (const id of ids) {
        const fetcher = new BlobFetcher(repo);
        fetcher.plan([id]);
        const err = await withPackReads(flip, () => fetcher.blob(id).then(() => undefined, (e: Error & { code?: string }) => e));
        expect(err?.code).toBe('AZB_OBJECT_DAMAGED');
        expect(err?.message).toMatch(/is damaged: blob .* fails authentication/);
      }
      expect(repo.decodePool!.sent).toBe(1); // the flipped 1 MiB blob went to the worker
      // Valid encryption (the pack's key, the ID as associated data) of other bytes than the ID's: the
      // ID check fails it; asked without it (a file whose digest is checked), the bytes come back as they are.
      const id = Buffer.from(ids[0]!, 'hex');
      const loc = repo.locate(id);
      const key = await repo.keyOfPack(loc.packId);
      const other = randomBytes(1 * MIB);
      const stored = encrypt(key, id, Buffer.from([0]), other);
      const forged = { ...loc, length: stored.length, rawLength: other.length };
      expect(await codeOf(Promise.resolve(repo.decodeStoredBlob(key, id, stored, forged)))).toBe('AZB_OBJECT_DAMAGED');
      expect((await repo.decodeStoredBlob(key, id, stored, forged, false)).equals(other)).toBe(true);
      expect(repo.decodePool!.sent).toBe(3);
      // The same inline.
      await repo.stopDecodeWorkers();
      expect(await codeOf(Promise.resolve().then(() => repo.decodeStoredBlob(key, id, stored, forged)))).toBe('AZB_OBJECT_DAMAGED');
    } finally {
      await repo.stopDecodeWorkers();
    }
  });

  it('keeps the bytes handed to the workers under DECODE_QUEUE_BYTES, and fails with AZB_WORKER_FAILED when a worker dies', async () => {
    const chunks = Array.from({ length: 9 }, () => randomBytes(7.5 * MIB));
    const ids = await store(chunks);
    repo.startDecodeWorkers({ source: workerSource, workers: 2 });
    try {
      const pool = repo.decodePool!;
      const opened = await Promise.all(ids.map(async (hex) => {
        const id = Buffer.from(hex, 'hex');
        const loc = repo.locate(id);
        const key = await repo.keyOfPack(loc.packId);
        const stored = await repo.vault.store.get(repo.packObject(loc.packId), { offset: loc.offset, length: loc.length });
        return pool.open(repo, key, id, stored, loc);
      }));
      expect(opened.every((b, i) => b.equals(chunks[i]!))).toBe(true);
      expect(pool.sent).toBe(9);
      // 67.5 MiB asked for at once: some waited for room.
      expect(pool.peakQueuedBytes).toBeGreaterThan(DECODE_QUEUE_BYTES - 8 * MIB);
      expect(pool.peakQueuedBytes).toBeLessThanOrEqual(DECODE_QUEUE_BYTES);
      expect(pool.queuedBytes).toBe(0);
    } finally {
      await repo.stopDecodeWorkers();
    }
    repo.startDecodeWorkers({ source: "require('node:worker_threads').parentPort.on('message', () => process.exit(7));", workers: 1 });
    try {
      const fetcher = new BlobFetcher(repo);
      fetcher.plan(ids.slice(0, 2));
      expect(await codeOf(fetcher.blob(ids[0]!))).toBe('AZB_WORKER_FAILED');
      expect(await codeOf(fetcher.blob(ids[1]!))).toBe('AZB_WORKER_FAILED');
    } finally {
      await repo.stopDecodeWorkers();
    }
  });
});
