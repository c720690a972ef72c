// The throttling wrapper paces uploads at the set rate. Checked on a clock the test controls: Date.now()
// is fake and moves only when the throttle sleeps, so each bound below holds exactly, whatever the load
// of the machine (the measured rate of real uploads belongs in the bench).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../core/storage/memory.js';
import { throttled } from '../../core/storage/throttle.js';

const MiB = 1024 * 1024;
/** Most bytes the throttle lets through at once (its bucket): a tenth of a second, at least two 64 KiB slices. */
const burst = (rate: number) => Math.max(128 * 1024, rate / 10);

/**
 * A fake clock that moves only in the throttle's sleeps: by what was asked for, plus `lateMs` (the timers
 * of a loaded machine fire late). Returns the sleep to give the throttle and the sleeps it asked for.
 */
function virtualClock(lateMs = 0) {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => { sleeps.push(ms); vi.setSystemTime(Date.now() + ms + lateMs); } };
}

/** A memory store that records when (fake clock) each upload reached it, and its size. */
class RecordingStore extends MemoryStore {
  readonly puts: { at: number; bytes: number }[] = [];
  override async put(name: string, data: Uint8Array): Promise<void> {
    this.puts.push({ at: Date.now(), bytes: data.length });
    return super.put(name, data);
  }
}

/**
 * The throttle's promise: from its creation at `start`, no more than rate × time + burst has reached the
 * store at any moment. (A put is let through whole, so it is checked when it reaches the store.)
 */
function expectNeverFaster(puts: { at: number; bytes: number }[], start: number, rate: number): void {
  let sent = 0;
  for (const p of puts) {
    sent += p.bytes;
    expect(sent, `${sent} bytes after ${p.at - start} ms`).toBeLessThanOrEqual((rate * (p.at - start)) / 1000 + burst(rate));
  }
}

afterEach(() => { vi.useRealTimers(); });

describe('throttled store', () => {
  it('uploads at the set rate: never faster, and waits no longer than the rate needs', async () => {
    const clock = virtualClock();
    const inner = new RecordingStore();
    const rate = 1 * MiB;
    const start = Date.now();
    const store = throttled(inner, () => rate, clock.sleep);
    for (let i = 0; i < 6; i++) await store.put(`o${i}`, randomBytes(MiB / 2));
    const elapsed = Date.now() - start;
    expectNeverFaster(inner.puts, start, rate);
    // The sleeps add up to the time 3 MiB takes at 1 MiB/s (each rounded up to a whole millisecond).
    expect(elapsed).toBeGreaterThanOrEqual(((3 * MiB - burst(rate)) / rate) * 1000);
    expect(elapsed).toBeLessThanOrEqual(3000 + clock.sleeps.length);
    expect((await store.get('o5')).length).toBe(MiB / 2);
  });

  it('shares the rate between concurrent uploads', async () => {
    const clock = virtualClock();
    const inner = new RecordingStore();
    const rate = 2 * MiB;
    const start = Date.now();
    const store = throttled(inner, () => rate, clock.sleep);
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.put(`c${i}`, randomBytes(MiB))));
    const elapsed = Date.now() - start;
    expect(inner.puts).toHaveLength(4);
    expectNeverFaster(inner.puts, start, rate);
    expect(elapsed).toBeGreaterThanOrEqual(((4 * MiB - burst(rate)) / rate) * 1000);
    expect(elapsed).toBeLessThanOrEqual(2000 + clock.sleeps.length);
  });

  it('keeps the rate when timers fire late (a loaded machine): never faster, lateness made up from the bucket', async () => {
    const clock = virtualClock(20);
    const inner = new RecordingStore();
    const rate = 1 * MiB;
    const start = Date.now();
    const store = throttled(inner, () => rate, clock.sleep);
    for (let i = 0; i < 8; i++) await store.put(`l${i}`, randomBytes(MiB / 4));
    const elapsed = Date.now() - start;
    expectNeverFaster(inner.puts, start, rate);
    // 20 ms late per sleep would add a third to the time at 64 KiB per 62.5 ms; the bucket makes it up.
    expect(elapsed).toBeLessThanOrEqual(2000 * 1.05);
  });

  it('gives no burst above the bucket after idle time', async () => {
    const clock = virtualClock();
    const inner = new RecordingStore();
    const rate = 1 * MiB;
    const store = throttled(inner, () => rate, clock.sleep);
    vi.setSystemTime(Date.now() + 600_000); // ten idle minutes
    const start = Date.now();
    await store.put('after-idle', randomBytes(2 * MiB));
    expect(Date.now() - start).toBeGreaterThanOrEqual(((2 * MiB - burst(rate)) / rate) * 1000);
    expectNeverFaster([{ at: Date.now(), bytes: 2 * MiB }], start, rate);
  });

  it('follows a rate change during an upload, and does not wait without a limit', async () => {
    let rate: number | undefined = 256 * 1024;
    const slept: number[] = [];
    const store = throttled(new MemoryStore(), () => rate, async (ms) => { slept.push(ms); rate = undefined; });
    await store.put('x', randomBytes(MiB));
    expect(slept.length).toBe(1); // after the first wait the limit was lifted: no more waiting
    const free = throttled(new MemoryStore(), () => undefined, async () => { throw new Error('must not sleep'); });
    await free.put('y', randomBytes(4 * MiB));
    expect((await free.stat('y'))?.size).toBe(4 * MiB);
  });
});

describe('throttled store: staged files', () => {
  it('paces putFile by the file size, and stores the file content', async () => {
    const dir = tempDir('azb-throttle-');
    const path = join(dir, 'staged');
    const data = randomBytes(MiB);
    writeFileSync(path, data);
    const clock = virtualClock();
    const inner = new RecordingStore();
    const rate = 2 * MiB;
    const start = Date.now();
    const store = throttled(inner, () => rate, clock.sleep);
    await store.putFile!('p1', path);
    await store.putFile!('p2', path);
    const elapsed = Date.now() - start;
    expect(inner.puts.map((p) => p.bytes)).toEqual([MiB, MiB]); // MemoryStore has no putFile: the file is read and put
    expectNeverFaster(inner.puts, start, rate);
    expect(elapsed).toBeGreaterThanOrEqual(((2 * MiB - burst(rate)) / rate) * 1000);
    expect(elapsed).toBeLessThanOrEqual(1000 + clock.sleeps.length);
    expect((await store.get('p2')).equals(data)).toBe(true);
  });
});
