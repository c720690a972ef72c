// Entry of a read worker thread (bundled separately and started by ReaderPool): takes ChunkJobs one at
// a time from the main thread and answers with their ChunkJobEvents, bodies transferred, not copied.
import { createSecretKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { gearTable } from '../chunker/fastcdc.js';
import { chunkFile, OUTBOX_FLUSH_BYTES, OUTBOX_FLUSH_EVENTS, type ChunkJob, type ChunkJobEvent } from './file-chunks.js';
import type { ReadWorkerData } from './reader-pool.js';

const data = workerData as ReadWorkerData;
const keys = { params: data.params, gear: gearTable(Buffer.from(data.chunkerKey)), blobIdKey: createSecretKey(Buffer.from(data.blobIdKey)) };
// room[0]: KiB of chunk bodies sent to the main thread and not yet taken by it (shared with it).
const room = new Int32Array(data.room);
const limitKiB = data.limitBytes / 1024;

// Answers are sent together (one message per batch of small files instead of one per file); a batch
// goes out when it holds 1 MiB, at the end of a batch of jobs, and before waiting for room.
let outbox: { jobId: number; event: ChunkJobEvent }[] = [];
let outboxTransfer: ArrayBuffer[] = [];
let outboxBytes = 0;
function flush(): void {
  if (outbox.length === 0) return;
  parentPort!.postMessage({ events: outbox }, outboxTransfer);
  outbox = [];
  outboxTransfer = [];
  outboxBytes = 0;
}

function waitForRoom(bytes: number): void {
  flush();
  for (;;) {
    const used = Atomics.load(room, 0);
    if (used === 0 || used + bytes / 1024 <= limitKiB) break;
    Atomics.wait(room, 0, used, 1000);
  }
  Atomics.add(room, 0, Math.ceil(bytes / 1024));
}

parentPort!.on('message', (msg: { jobs: { jobId: number; job: ChunkJob }[] }) => {
  for (const { jobId, job } of msg.jobs) {
    chunkFile(job, keys, (event: ChunkJobEvent) => {
      outbox.push({ jobId, event });
      if (event.kind === 'chunks') {
        outboxTransfer.push(event.ids.buffer as ArrayBuffer, ...event.bodies.map((b) => b.buffer as ArrayBuffer));
        outboxBytes += event.bytes;
      }
      if (outboxBytes >= OUTBOX_FLUSH_BYTES || outbox.length >= OUTBOX_FLUSH_EVENTS) flush();
    }, waitForRoom);
  }
  flush();
});
