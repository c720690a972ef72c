// Entry of a read worker thread (bundled separately and started by ReaderPool): takes ChunkJobs one at
// a time from the main thread and answers with their ChunkJobEvents, bodies transferred, not copied.
import { parentPort, workerData } from 'node:worker_threads';
import { gearTable } from '../chunker/fastcdc.js';
import { chunkFile, type ChunkJob, type ChunkJobEvent } from './file-chunks.js';
import type { ReadWorkerData } from './reader-pool.js';

const data = workerData as ReadWorkerData;
const keys = { params: data.params, gear: gearTable(Buffer.from(data.chunkerKey)), blobIdKey: Buffer.from(data.blobIdKey) };
// room[0]: KiB of chunk bodies sent to the main thread and not yet taken by it (shared with it).
const room = new Int32Array(data.room);
const limitKiB = data.limitBytes / 1024;

function waitForRoom(bytes: number): void {
  for (;;) {
    const used = Atomics.load(room, 0);
    if (used === 0 || used + bytes / 1024 <= limitKiB) break;
    Atomics.wait(room, 0, used, 1000);
  }
  Atomics.add(room, 0, Math.ceil(bytes / 1024));
}

parentPort!.on('message', (msg: { jobId: number; job: ChunkJob }) => {
  chunkFile(msg.job, keys, (e: ChunkJobEvent) => {
    parentPort!.postMessage({ jobId: msg.jobId, event: e }, e.kind === 'chunks' ? [e.ids.buffer as ArrayBuffer, ...e.bodies.map((b) => b.buffer as ArrayBuffer)] : []);
  }, waitForRoom);
});
