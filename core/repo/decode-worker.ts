// Entry of a decode worker thread (bundled separately and started by DecodePool): opens data blobs
// (decrypt, decompress, check the plaintext against its ID) and answers with the plaintext, transferred.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { openBlob, PackError } from './pack.js';
import type { DecodeBatch, DecodeJob, DecodeResult, DecodeWorkerData } from './decode-pool.js';

const blobIdKey = createSecretKey(Buffer.from((workerData as DecodeWorkerData).blobIdKey));
/** Pack keys by pack ID, as the main thread sent them (once each). */
const packKeys = new Map<string, KeyObject>();

/** The plaintext in an ArrayBuffer of its own (so it can be transferred; zlib may hand out pooled memory). */
function owned(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  return new Uint8Array(b);
}

function decode(key: KeyObject, job: DecodeJob): DecodeResult {
  const id = Buffer.from(job.id);
  let chunk: Buffer;
  try {
    chunk = openBlob(key, id, job.stored, job.rawLength);
  } catch (err) {
    if (err instanceof PackError) return { n: job.n, failure: 'pack', message: err.message };
    return { n: job.n, failure: 'worker', message: err instanceof Error ? err.message : String(err) };
  }
  if (job.idCheck) {
    const got = createHmac('sha256', blobIdKey).update(chunk).digest();
    if (got.length !== id.length || !timingSafeEqual(got, id)) return { n: job.n, failure: 'id' };
  }
  return { n: job.n, chunk: owned(chunk) };
}

parentPort!.on('message', (batch: DecodeBatch) => {
  for (const { packId, key } of batch.keys) packKeys.set(packId, createSecretKey(key));
  const results: DecodeResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const job of batch.jobs) {
    const key = packKeys.get(job.packId);
    const r = key ? decode(key, job) : { n: job.n, failure: 'worker' as const, message: `no key for pack ${job.packId.slice(0, 12)}` };
    results.push(r);
    if (r.chunk) transfer.push(r.chunk.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(results, transfer);
});
