// The throttling wrapper holds the set upload rate (measured with the real clock, within 15 %).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../core/storage/memory.js';
import { throttled } from '../../core/storage/throttle.js';

const MiB = 1024 * 1024;

describe('throttled store', () => {
  it('uploads at the set rate, within 15 %', async () => {
    const store = throttled(new MemoryStore(), () => 1 * MiB);
    const started = performance.now();
    for (let i = 0; i < 6; i++) await store.put(`o${i}`, randomBytes(MiB / 2));
    const seconds = (performance.now() - started) / 1000;
    const rate = (3 * MiB) / seconds;
    expect(rate).toBeGreaterThan(0.85 * MiB);
    expect(rate).toBeLessThan(1.15 * MiB);
    expect((await store.get('o5')).length).toBe(MiB / 2);
  }, 30_000);

  it('shares the rate between concurrent uploads', async () => {
    const store = throttled(new MemoryStore(), () => 2 * MiB);
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.put(`c${i}`, randomBytes(MiB))));
    const rate = (4 * MiB) / ((performance.now() - started) / 1000);
    expect(rate).toBeGreaterThan(0.85 * 2 * MiB);
    expect(rate).toBeLessThan(1.15 * 2 * MiB);
  }, 30_000);

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
    const store = throttled(new MemoryStore(), () => 2 * MiB);
    const started = performance.now();
    await store.putFile!('p1', path);
    await store.putFile!('p2', path);
    const rate = (2 * MiB) / ((performance.now() - started) / 1000);
    expect(rate).toBeGreaterThan(0.85 * 2 * MiB);
    expect(rate).toBeLessThan(1.15 * 2 * MiB);
    expect((await store.get('p2')).equals(data)).toBe(true);
  }, 30_000);
});
