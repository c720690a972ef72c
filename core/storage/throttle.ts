// Bandwidth throttling as a wrapper around any object store (restic/Kopia style: not a flag inside each
// backend). Uploads (put) are paced by a token bucket whose rate is asked for at each slice, so a change
// between work and non-work hours takes effect within a second.
import { stat } from 'node:fs/promises';
import { leasingOf, putFromFile, type ByteRange, type ObjectInfo, type ObjectStore } from './storage.js';

/** Bytes per second allowed now, or undefined for no limit. */
export type RateNow = () => number | undefined;

/** Slice of an upload paced at a time: small enough to keep the rate smooth. */
const SLICE = 64 * 1024;

/** Wraps `store` so that put() and putFile() upload at most `rateNow()` bytes per second (all puts together). */
export function throttled(store: ObjectStore, rateNow: RateNow, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): ObjectStore {
  // The bucket holds a tenth of a second of tokens (at least two slices, so timer lateness is made up):
  // idle time never buys a burst above the rate that an admin would see on the link.
  const capacity = (rate: number) => Math.max(2 * SLICE, rate / 10);
  let tokens = 0;
  let last = Date.now();
  let queue: Promise<void> = Promise.resolve();

  async function take(bytes: number): Promise<void> {
    let left = bytes;
    while (left > 0) {
      const rate = rateNow();
      if (rate === undefined || rate <= 0) return;
      const now = Date.now();
      tokens = Math.min(capacity(rate), tokens + ((now - last) / 1000) * rate);
      last = now;
      const want = Math.min(left, SLICE);
      if (tokens >= want) { tokens -= want; left -= want; continue; }
      await sleep(Math.max(1, Math.ceil(((want - tokens) / rate) * 1000)));
    }
  }

  // Uploads take their turn for tokens, so the sum of concurrent uploads keeps the rate.
  function paced(bytes: number): Promise<void> {
    const turn = queue.then(() => take(bytes));
    queue = turn.catch(() => undefined);
    return turn;
  }

  const leasing = leasingOf(store);
  return {
    ...(leasing ? { lease: leasing.lease.bind(leasing), isLeased: leasing.isLeased.bind(leasing) } : {}),
    location: store.location,
    ...(store.uploadConcurrency !== undefined ? { uploadConcurrency: store.uploadConcurrency } : {}),
    async put(name: string, data: Uint8Array): Promise<void> {
      await paced(data.length);
      await store.put(name, data);
    },
    async putFile(name: string, path: string): Promise<void> {
      const size = await stat(path).then((st) => st.size, () => 0); // a missing file fails in putFromFile
      await paced(size);
      await putFromFile(store, name, path);
    },
    get: (name: string, range?: ByteRange) => store.get(name, range),
    stat: (name: string): Promise<ObjectInfo | undefined> => store.stat(name),
    list: (prefix: string) => store.list(prefix),
    delete: (name: string) => store.delete(name),
    close: () => store.close(),
  };
}
