// Read workers for backups: files are read, chunked, hashed and compressed on worker threads (one per
// core) while the main thread deduplicates, encrypts, packs and uploads. The worker code is bundled into
// the engine as text (bundle/build.mjs); without it (tests running the TypeScript sources) the same
// chunkFile runs inline on the main thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkerParams } from '../chunker/fastcdc.js';
import { gearTable } from '../chunker/fastcdc.js';
import { chunkFile, type ChunkJob, type ChunkJobEvent, type ChunkingKeys } from './file-chunks.js';
import { createSecretKey } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';

/** Set by the bundle build: the read worker's code. */
declare const AZBACKUP_READ_WORKER_SOURCE: string | undefined;

/** What each worker is started with (in memory only: the keys never leave the process). */
export interface ReadWorkerData { params: ChunkerParams; chunkerKey: Uint8Array; blobIdKey: Uint8Array; room: SharedArrayBuffer; limitBytes: number }

/** Chunk bytes a worker may have sent and the main thread not yet taken: bounds memory per worker. */
export const ROOM_PER_WORKER = 16 * 1024 * 1024;
/**
 * Young generation of a worker's heap: small, so the short-lived views of transferred chunk buffers are
 * collected (and their memory freed) often, not only after ~64 MiB of garbage has piled up.
 */
const WORKER_YOUNG_GENERATION_MB = 4;
/**
 * Old generation of a worker's heap. A worker keeps almost nothing in it (its buffers live outside the
 * heap), and a small heap is collected sooner, which frees the dead chunk buffers it still points to:
 * about 20 % less peak memory for a 1 GiB backup, at no cost in speed (npm run bench).
 */
const WORKER_OLD_GENERATION_MB = 32;

interface JobState { queue: ChunkJobEvent[]; wake: (() => void) | undefined; slot: WorkerSlot; abandoned: boolean }
interface WorkerSlot { worker: Worker; room: Int32Array; jobs: number }

/** Reads files into encoded chunks on worker threads. close() when done. */
export class ReaderPool {
  private readonly slots: WorkerSlot[] = [];
  private readonly jobs = new Map<number, JobState>();
  private nextJobId = 1;
  private failure: AzbError | undefined;
  private readonly inline: ChunkingKeys | undefined;

  /** `o.source`: the worker code (default: the one built into the engine; tests give their own). */
  constructor(keys: { params: ChunkerParams; chunkerKey: Buffer; blobIdKey: Buffer }, o: { workers?: number; source?: string } = {}) {
    const workers = o.workers ?? Math.max(1, Math.min(4, availableParallelism()));
    const source = o.source ?? (typeof AZBACKUP_READ_WORKER_SOURCE === 'string' ? AZBACKUP_READ_WORKER_SOURCE : undefined);
    if (source === undefined) {
      this.inline = { params: keys.params, gear: gearTable(keys.chunkerKey), blobIdKey: createSecretKey(keys.blobIdKey) };
      return;
    }
    for (let i = 0; i < workers; i++) {
      const room = new SharedArrayBuffer(4);
      const data: ReadWorkerData = { params: keys.params, chunkerKey: new Uint8Array(keys.chunkerKey), blobIdKey: new Uint8Array(keys.blobIdKey), room, limitBytes: ROOM_PER_WORKER };
      const worker = new Worker(source, { eval: true, workerData: data, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB } });
      const slot: WorkerSlot = { worker, room: new Int32Array(room), jobs: 0 };
      worker.unref();
      worker.on('message', (m: { events: { jobId: number; event: ChunkJobEvent }[] }) => { for (const e of m.events) this.deliver(e.jobId, e.event); });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`a read worker stopped (exit code ${code})`)); });
      this.slots.push(slot);
    }
  }

  /** Reads one file; yields its events (chunk batches, then done or failed). Consume it to the end. */
  async *read(job: ChunkJob): AsyncGenerator<ChunkJobEvent> {
    if (this.inline) {
      const events: ChunkJobEvent[] = [];
      chunkFile(job, this.inline, (e) => events.push(e));
      yield* events;
      return;
    }
    if (this.failure) throw this.failure;
    const jobId = this.nextJobId++;
    // The worker with the fewest jobs queued takes it.
    const slot = this.slots.reduce((a, b) => (b.jobs < a.jobs ? b : a));
    const state: JobState = { queue: [], wake: undefined, slot, abandoned: false };
    this.jobs.set(jobId, state);
    slot.jobs++;
    this.send(slot, { jobId, job: { ...job, path: new Uint8Array(job.path) } });
    let ended = false;
    try {
      for (;;) {
        while (state.queue.length === 0) {
          if (this.failure) throw this.failure;
          await new Promise<void>((resolve) => { state.wake = resolve; });
          state.wake = undefined;
        }
        const e = state.queue.shift()!;
        if (e.kind === 'chunks') this.release(slot, e.bytes);
        if (e.kind !== 'chunks') ended = true;
        yield e;
        if (ended) return;
      }
    } finally {
      if (ended) this.finishJob(jobId, state);
      else {
        // Given up early (cancel, error): the worker still finishes the file; its batches are dropped.
        state.abandoned = true;
        for (const e of state.queue.splice(0)) this.settleAbandoned(jobId, state, e);
      }
    }
  }

  // Jobs started in the same turn of the event loop go to a worker in one message.
  private readonly outbox = new Map<WorkerSlot, { jobId: number; job: ChunkJob }[]>();
  private send(slot: WorkerSlot, item: { jobId: number; job: ChunkJob }): void {
    let queue = this.outbox.get(slot);
    if (!queue) {
      queue = [];
      this.outbox.set(slot, queue);
      queueMicrotask(() => {
        const jobs = this.outbox.get(slot)!;
        this.outbox.delete(slot);
        slot.worker.postMessage({ jobs });
      });
    }
    queue.push(item);
  }

  // Chunk bytes taken by the main thread: the worker may send more.
  private release(slot: WorkerSlot, bytes: number): void {
    Atomics.sub(slot.room, 0, Math.min(Atomics.load(slot.room, 0), Math.ceil(bytes / 1024)));
    Atomics.notify(slot.room, 0);
  }

  private finishJob(jobId: number, state: JobState): void {
    this.jobs.delete(jobId);
    state.slot.jobs--;
  }

  private settleAbandoned(jobId: number, state: JobState, e: ChunkJobEvent): void {
    if (e.kind === 'chunks') this.release(state.slot, e.bytes);
    else this.finishJob(jobId, state);
  }

  private deliver(jobId: number, event: ChunkJobEvent): void {
    const state = this.jobs.get(jobId);
    if (!state) return;
    if (state.abandoned) { this.settleAbandoned(jobId, state, event); return; }
    state.queue.push(event);
    state.wake?.();
  }

  // A worker that dies (out of memory, a bug) ends the backup with a coded error: no recovery point, and
  // the packs already uploaded are reused by the next run.
  private fail(err: Error): void {
    this.failure ??= new AzbError('AZB_WORKER_FAILED', `A backup worker thread stopped (${err.message}); no recovery point was written.`, {
      hint: 'Run the backup again: what was uploaded is reused. If it happens again, run it with --debug and report the message.',
    });
    for (const s of this.jobs.values()) s.wake?.();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}
