// Decode workers for reads of many data blobs (restore, tar export, check --read-data): decrypting,
// decompressing and checking each blob against its ID runs on worker threads, so the main thread only
// reads packs and writes files. The worker code is bundled into the engine as text (bundle/build.mjs);
// without it (tests running the TypeScript sources) ServerRepo decodes inline.
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AzbError } from '../protocol/errors.js';
import type { BlobLocation } from './blob-index.js';
import { blobIdMismatch, packDamaged } from './pack-objects.js';
import type { ServerRepo } from './server.js';

/** Set by the bundle build: the decode worker's code. */
declare const AZBACKUP_DECODE_WORKER_SOURCE: string | undefined;

/** What each worker is started with (in memory only: the key never leaves the process). */
export interface DecodeWorkerData { blobIdKey: Uint8Array }
/** One blob to open: `stored` in an ArrayBuffer of its own, transferred to the worker. */
export interface DecodeJob { n: number; id: Uint8Array; stored: Uint8Array; rawLength: number; packId: string; idCheck: boolean }
/**
 * What goes to a worker in one message: the keys of packs it has not been sent yet (raw bytes, once per
 * pack and worker: cloning a KeyObject with every message cost more than the decoding), then the jobs.
 */
export interface DecodeBatch { keys: { packId: string; key: Uint8Array }[]; jobs: DecodeJob[] }
/** A worker's answer: the plaintext (transferred), or why the blob does not open. */
export interface DecodeResult { n: number; chunk?: Uint8Array; failure?: 'pack' | 'id' | 'worker'; message?: string }

/**
 * Stored bytes handed to the workers and not yet answered; open() waits beyond it. Restore's own
 * concurrency (files in flight, one blob ahead each) normally stays below it; it bounds any caller.
 */
export const DECODE_QUEUE_BYTES = 64 * 1024 * 1024;
/**
 * Smallest stored blob sent to a worker; smaller ones are opened inline. Handing a blob over costs
 * tens of microseconds on this thread (postMessage, both ways): more than opening a few KiB, much less
 * than opening a MiB (a profile of 30,000 small files spent more in postMessage than in decoding).
 */
export const DECODE_ON_WORKER_FROM = 64 * 1024;
/** Workers' heap limits: their buffers live outside the heap, a small heap collects dead ones sooner. */
const WORKER_YOUNG_GENERATION_MB = 4;
const WORKER_OLD_GENERATION_MB = 32;

interface Pending { resolve: (b: Buffer) => void; reject: (e: Error) => void; repo: ServerRepo; id: Buffer; loc: BlobLocation; slot: Slot; bytes: number }
interface Slot { worker: Worker; bytes: number; outbox: DecodeBatch | undefined; keysSent: Set<string> }

/** The decode worker code built into this engine, if any. */
export function builtInDecodeWorker(): string | undefined {
  return typeof AZBACKUP_DECODE_WORKER_SOURCE === 'string' ? AZBACKUP_DECODE_WORKER_SOURCE : undefined;
}

/** Opens data blobs on worker threads; the same checks and errors as openStoredBlob. close() when done. */
export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: (() => void)[] = [];
  private queued = 0;
  private next = 1;
  private failure: AzbError | undefined;
  /** Blobs sent to the workers so far, and the most stored bytes they held at once (tests). */
  sent = 0;
  peakQueuedBytes = 0;
  /** Stored bytes handed to the workers and not yet answered. */
  get queuedBytes(): number { return this.queued; }

  /**
   * `o.source`: the worker code (tests give their own); `o.workers`: default one per core but the one
   * this thread keeps busy (reading packs, hashing and writing files), at most 3: on 2 cores one worker
   * took the decoding off this thread, and a second only added a V8 isolate's memory.
   */
  constructor(blobIdKey: Buffer, o: { source: string; workers?: number }) {
    const workers = o.workers ?? Math.max(1, Math.min(3, availableParallelism() - 1));
    for (let i = 0; i < workers; i++) {
      const data: DecodeWorkerData = { blobIdKey: new Uint8Array(blobIdKey) };
      const worker = new Worker(o.source, { eval: true, workerData: data, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB } });
      const slot: Slot = { worker, bytes: 0, outbox: undefined, keysSent: new Set() };
      worker.unref();
      worker.on('message', (results: DecodeResult[]) => { for (const r of results) this.settle(r); });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => { if (this.slots.includes(slot)) this.fail(new Error(`a decode worker stopped (exit code ${code})`)); });
      this.slots.push(slot);
    }
  }

  /** openStoredBlob for a data blob, on a worker: its plaintext, or AZB_OBJECT_DAMAGED / AZB_WORKER_FAILED. */
  async open(repo: ServerRepo, key: KeyObject, id: Buffer, stored: Uint8Array, loc: BlobLocation, idCheck = true): Promise<Buffer> {
    while (this.queued > 0 && this.queued + stored.length > DECODE_QUEUE_BYTES && !this.failure) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.failure) throw this.failure;
    // A copy in a buffer of its own: `stored` is usually a view into a larger segment still in use.
    const own = new Uint8Array(stored.length);
    own.set(stored);
    this.sent++;
    const slot = this.slots.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const n = this.next++;
    slot.bytes += own.length;
    this.queued += own.length;
    this.peakQueuedBytes = Math.max(this.peakQueuedBytes, this.queued);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(n, { resolve, reject, repo, id, loc, slot, bytes: own.length });
      this.send(slot, key, { n, id: new Uint8Array(id), stored: own, rawLength: loc.rawLength, packId: loc.packId, idCheck });
    });
  }

  // Jobs given in the same turn of the event loop go to a worker in one message.
  private send(slot: Slot, key: KeyObject, job: DecodeJob): void {
    let batch = slot.outbox;
    if (!batch) {
      const b: DecodeBatch = (batch = slot.outbox = { keys: [], jobs: [] });
      queueMicrotask(() => {
        slot.outbox = undefined;
        slot.worker.postMessage(b, b.jobs.map((j) => j.stored.buffer as ArrayBuffer));
      });
    }
    if (!slot.keysSent.has(job.packId)) {
      slot.keysSent.add(job.packId);
      batch.keys.push({ packId: job.packId, key: new Uint8Array(key.export()) });
    }
    batch.jobs.push(job);
  }

  private settle(r: DecodeResult): void {
    const p = this.pending.get(r.n);
    if (!p) return;
    this.pending.delete(r.n);
    this.release(p);
    if (r.chunk) p.resolve(Buffer.from(r.chunk.buffer, r.chunk.byteOffset, r.chunk.length));
    else if (r.failure === 'pack') p.reject(packDamaged(p.repo, p.loc, r.message ?? 'the blob does not open'));
    else if (r.failure === 'id') p.reject(blobIdMismatch(p.repo, p.id, p.loc));
    else p.reject(this.workerFailed(r.message ?? 'unknown error'));
  }

  private release(p: Pending): void {
    p.slot.bytes -= p.bytes;
    this.queued -= p.bytes;
    for (const wake of this.waiting.splice(0)) wake();
  }

  private workerFailed(why: string): AzbError {
    return new AzbError('AZB_WORKER_FAILED', `A decode worker thread stopped (${why}); the blobs it was opening were not read, and no file that needed them was put in place.`, {
      hint: 'Run the command again (a restore with -Conflict Skip finishes what is missing). If it happens again, run it with --debug and report the message.',
    });
  }

  // A worker that dies fails every blob in flight and every later one with a coded error.
  private fail(err: Error): void {
    this.failure ??= this.workerFailed(err.message);
    for (const [n, p] of this.pending) { this.pending.delete(n); this.release(p); p.reject(this.failure); }
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}
