// FastCDC chunker (FORMAT.md section 6): size bounds, content-defined boundaries that do not depend
// on how the input is split, keyed gear table, and parameter checks.
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChunkSplitter, DEFAULT_CHUNKER_PARAMS, checkChunkerParams, chunkBuffer, chunkStream, cutMasks, findCutPoint, gearTable,
  type ChunkerParams,
} from '../../core/chunker/fastcdc.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const small: ChunkerParams = { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB };
const gear = gearTable(Buffer.from('test chunker seed'));

/** Reproducible pseudo-random bytes: the AES-128-CTR keystream under a key derived from `label`. */
function randomData(length: number, label: string): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** mulberry32: a tiny seeded PRNG for split sizes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Splits `data` into pieces whose sizes come from `nextSize`, as an async source. */
async function* splitSource(data: Uint8Array, nextSize: () => number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length;) {
    const n = Math.min(Math.max(1, nextSize()), data.length - off);
    yield data.subarray(off, off + n);
    off += n;
  }
}

/** Sizes from 1 byte to several MiB, log-uniform so tiny, medium and huge pieces all occur. */
const mixedSizes = (seed: number, maxBytes = 6 * MiB) => {
  const rnd = prng(seed);
  return () => Math.floor(Math.exp(rnd() * Math.log(maxBytes)));
};

async function collect(source: AsyncIterable<Uint8Array>, params: ChunkerParams, g = gear): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunkStream(source, params, g)) out.push(c);
  return out;
}

const lengths = (chunks: Uint8Array[]) => chunks.map((c) => c.length);
const sha = (c: Uint8Array) => createHash('sha256').update(c).digest('hex');

function expectValidChunking(chunks: Uint8Array[], data: Uint8Array, p: ChunkerParams): void {
  expect(Buffer.concat(chunks).equals(data)).toBe(true);
  chunks.forEach((c, i) => {
    expect(c.length).toBeLessThanOrEqual(p.maxSize);
    if (i < chunks.length - 1) expect(c.length).toBeGreaterThanOrEqual(p.minSize);
    else expect(c.length).toBeGreaterThan(0);
  });
}

describe('gearTable', () => {
  it('has 256 entries, each the first 4 bytes big-endian of HMAC-SHA256(seed, [i])', () => {
    const seed = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const t = gearTable(seed);
    expect(t).toBeInstanceOf(Uint32Array);
    expect(t.length).toBe(256);
    for (const i of [0, 1, 127, 255]) {
      expect(t[i]).toBe(createHmac('sha256', seed).update(Buffer.of(i)).digest().readUInt32BE(0));
    }
    expect(new Set(t).size).toBe(256);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(gearTable(Buffer.from('seed A'))).toEqual(gearTable(Buffer.from('seed A')));
    const a = gearTable(Buffer.from('seed A'));
    const b = gearTable(Buffer.from('seed B'));
    expect(a.filter((v, i) => v === b[i]).length).toBeLessThan(2);
  });
});

describe('checkChunkerParams', () => {
  it('accepts the defaults and the small test parameters', () => {
    expect(() => checkChunkerParams(DEFAULT_CHUNKER_PARAMS)).not.toThrow();
    expect(() => checkChunkerParams(small)).not.toThrow();
    expect(() => checkChunkerParams({ minSize: 64, avgSize: 128, maxSize: 64 * MiB })).not.toThrow();
    expect(DEFAULT_CHUNKER_PARAMS).toEqual({ minSize: 512 * KiB, avgSize: MiB, maxSize: 8 * MiB });
  });

  it.each([
    ['a non-power-of-two avgSize', { minSize: 2 * KiB, avgSize: 12 * KiB, maxSize: 64 * KiB }, /power of two/],
    ['minSize equal to avgSize', { minSize: 8 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB }, /minSize .* less than avgSize/],
    ['minSize above avgSize', { minSize: 16 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB }, /minSize .* less than avgSize/],
    ['maxSize not above avgSize', { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 8 * KiB }, /less than maxSize/],
    ['maxSize above 64 MiB', { minSize: 512 * KiB, avgSize: MiB, maxSize: 64 * MiB + 1 }, /at most 64 MiB/],
    ['minSize below 64', { minSize: 32, avgSize: 128, maxSize: 1024 }, /at least 64/],
    ['a fractional size', { minSize: 2 * KiB + 0.5, avgSize: 8 * KiB, maxSize: 64 * KiB }, /integer/],
  ])('rejects %s', (_what, p, message) => {
    expect(() => checkChunkerParams(p)).toThrow(message);
    expect(() => chunkBuffer(Buffer.alloc(10), p, gear)).toThrow(message);
  });
});

describe('cutMasks', () => {
  const popcount = (m: number) => m.toString(2).split('').filter((b) => b === '1').length;
  it.each([[128, 7], [8 * KiB, 13], [MiB, 20], [32 * MiB, 25]])('for avg %i has k+2 and k-2 high one-bits', (avg, k) => {
    const { maskS, maskL } = cutMasks(avg);
    expect(popcount(maskS)).toBe(k + 2);
    expect(popcount(maskL)).toBe(k - 2);
    for (const m of [maskS, maskL]) {
      expect(m >>> 31).toBe(1);
      expect(m).toBeGreaterThan(0);
      expect(m).toBeLessThan(2 ** 32);
    }
  });
});

describe('chunkBuffer and chunkStream', () => {
  it('give no chunks for empty input', async () => {
    expect(chunkBuffer(new Uint8Array(0), small, gear)).toEqual([]);
    expect(await collect(splitSource(new Uint8Array(0), () => 1), small)).toEqual([]);
    expect(await collect((async function* () { yield new Uint8Array(0); yield new Uint8Array(0); })(), small)).toEqual([]);
  });

  it('give one chunk for input no longer than minSize', async () => {
    for (const n of [1, 100, small.minSize - 1, small.minSize]) {
      const data = randomData(n, `short ${n}`);
      const fromBuffer = chunkBuffer(data, small, gear);
      expect(lengths(fromBuffer)).toEqual([n]);
      expect(fromBuffer[0]!.equals(data)).toBe(true);
      const fromStream = await collect(splitSource(data, mixedSizes(n, 500)), small);
      expect(lengths(fromStream)).toEqual([n]);
      expect(fromStream[0]!.equals(data)).toBe(true);
    }
  });

  it('cover the input exactly with chunks within [minSize, maxSize]', () => {
    const data = randomData(3 * MiB + 12345, 'bounds');
    const chunks = chunkBuffer(data, small, gear);
    expectValidChunking(chunks, data, small);
    // Content-defined cuts land between min and max, not all at the forced maximum.
    const sizes = lengths(chunks);
    expect(sizes.filter((s) => s < small.maxSize).length).toBeGreaterThan(sizes.length * 0.9);
    const avg = data.length / chunks.length;
    expect(avg).toBeGreaterThan(small.avgSize / 2);
    expect(avg).toBeLessThan(small.avgSize * 2);
  });

  it('find the same boundaries however the stream is split', async () => {
    const data = randomData(5 * MiB + 777, 'splits');
    const expected = lengths(chunkBuffer(data, small, gear));
    for (const seed of [1, 2, 3, 4, 5]) {
      const chunks = await collect(splitSource(data, mixedSizes(seed)), small);
      expect(lengths(chunks)).toEqual(expected);
      expectValidChunking(chunks, data, small);
    }
    // Pieces around maxSize (just below, at, just above) stress the "maxSize ahead" rule.
    for (const size of [small.maxSize - 1, small.maxSize, small.maxSize + 1, 3 * small.maxSize + 7]) {
      expect(lengths(await collect(splitSource(data, () => size), small))).toEqual(expected);
    }
    // One piece of everything.
    expect(lengths(await collect(splitSource(data, () => data.length), small))).toEqual(expected);
  });

  it('find the same boundaries when fed one byte at a time', async () => {
    const data = randomData(300 * KiB, 'bytewise');
    const chunks = await collect(splitSource(data, () => 1), small);
    expect(lengths(chunks)).toEqual(lengths(chunkBuffer(data, small, gear)));
    expectValidChunking(chunks, data, small);
  });

  it('yield chunks the caller owns even when the source reuses its buffer', async () => {
    const data = randomData(2 * MiB + 5, 'reuse');
    const scratch = new Uint8Array(10_000);
    async function* reusingSource() {
      for (let off = 0; off < data.length; off += scratch.length) {
        const n = Math.min(scratch.length, data.length - off);
        scratch.set(data.subarray(off, off + n));
        yield scratch.subarray(0, n);
      }
      scratch.fill(0xee);
    }
    const chunks = await collect(reusingSource(), small);
    expectValidChunking(chunks, data, small);
    expect(lengths(chunks)).toEqual(lengths(chunkBuffer(data, small, gear)));
  });

  it('with the default parameters, average about 1 MiB per chunk on 24 MiB of random data', async () => {
    const p = DEFAULT_CHUNKER_PARAMS;
    const data = randomData(24 * MiB, 'default params');
    const chunks = chunkBuffer(data, p, gear);
    expectValidChunking(chunks, data, p);
    const avg = data.length / chunks.length;
    expect(avg).toBeGreaterThanOrEqual(p.avgSize * 0.5);
    expect(avg).toBeLessThanOrEqual(p.avgSize * 2);
    const streamed = await collect(splitSource(data, mixedSizes(42, 12 * MiB)), p);
    expect(lengths(streamed)).toEqual(lengths(chunks));
  });

  it('are content-defined: 100 bytes inserted near the start change only the first one or two chunks', () => {
    const data = randomData(4 * MiB, 'shift');
    const edited = Buffer.concat([data.subarray(0, 1000), randomData(100, 'inserted'), data.subarray(1000)]);
    const before = chunkBuffer(data, small, gear).map(sha);
    const after = chunkBuffer(edited, small, gear).map(sha);
    expect(before.length).toBeGreaterThan(100);
    // The smallest k such that before[k..] is exactly the tail of after.
    const k = before.findIndex((_, i) => {
      const tail = before.slice(i);
      return after.slice(after.length - tail.length).every((h, j) => h === tail[j]);
    });
    expect(k).toBeGreaterThanOrEqual(1);
    expect(k).toBeLessThanOrEqual(2);
    expect(after.length - (before.length - k)).toBeLessThanOrEqual(2);
  });

  it('put boundaries elsewhere under a different seed', () => {
    const data = randomData(2 * MiB, 'seeds');
    const a = chunkBuffer(data, small, gearTable(Buffer.from('seed one')));
    const b = chunkBuffer(data, small, gearTable(Buffer.from('seed two')));
    const cuts = (chunks: Uint8Array[]) => {
      const out = new Set<number>();
      let off = 0;
      for (const c of chunks) out.add((off += c.length));
      return out;
    };
    const cutsA = cuts(a);
    const shared = [...cuts(b)].filter((c) => cutsA.has(c));
    expect(shared).toEqual([data.length]);
    expectValidChunking(a, data, small);
    expectValidChunking(b, data, small);
  });

  it('cut all-zero data at maxSize when the constant gear hash never matches', async () => {
    // On zeros the hash settles at sum(gear[0] << s) = -gear[0] (mod 2^32); for this seed it has
    // bits under both masks, so only the forced cut applies.
    const { maskS, maskL } = cutMasks(small.avgSize);
    const settled = (-gear[0]!) >>> 0;
    expect(settled & maskS).not.toBe(0);
    expect(settled & maskL).not.toBe(0);
    const data = Buffer.alloc(small.maxSize * 5 + 100);
    const chunks = chunkBuffer(data, small, gear);
    expect(lengths(chunks)).toEqual([...Array(5).fill(small.maxSize), 100]);
    const streamed = await collect(splitSource(data, mixedSizes(9, 200 * KiB)), small);
    expect(lengths(streamed)).toEqual(lengths(chunks));
    expectValidChunking(streamed, data, small);
  });

  it('never exceed maxSize whatever the gear table, including one of all zeros', () => {
    const data = Buffer.alloc(MiB);
    // All-zero table: the hash is always 0, so every chunk is cut at minSize.
    const zeroGear = new Uint32Array(256);
    expectValidChunking(chunkBuffer(data, small, zeroGear), data, small);
    expect(new Set(lengths(chunkBuffer(data, small, zeroGear)).slice(0, -1))).toEqual(new Set([small.minSize]));
    // All-ones table on zeros: the hash is -(2^j - 1) after j bytes, so it first clears the high
    // mask bits at j = 32 (hash 1): every chunk is cut 31 bytes past minSize.
    const onesGear = new Uint32Array(256).fill(0xffffffff);
    const ones = chunkBuffer(data, small, onesGear);
    expectValidChunking(ones, data, small);
    expect(new Set(lengths(ones).slice(0, -1))).toEqual(new Set([small.minSize + 31]));
  });

  it('rejects a gear table that is not 256 entries long', () => {
    expect(() => chunkBuffer(Buffer.alloc(10), small, new Uint32Array(255))).toThrow(/256/);
  });
});

describe('findCutPoint', () => {
  it('does not depend on bytes past start + maxSize', () => {
    const data = randomData(MiB, 'precondition');
    for (let start = 0; start < data.length - small.maxSize; start += 37_001) {
      const cut = findCutPoint(data, start, data.length, small, gear);
      expect(findCutPoint(data, start, start + small.maxSize, small, gear)).toBe(cut);
      expect(findCutPoint(data, start, start + small.maxSize + 1, small, gear)).toBe(cut);
      expect(cut).toBeGreaterThanOrEqual(small.minSize);
      expect(cut).toBeLessThanOrEqual(small.maxSize);
    }
  });

  it('returns what is left when that is at most minSize, and at most what is left otherwise', () => {
    const data = randomData(small.avgSize, 'tail');
    expect(findCutPoint(data, 100, 100 + small.minSize, small, gear)).toBe(small.minSize);
    expect(findCutPoint(data, 0, 0, small, gear)).toBe(0);
    expect(findCutPoint(data, 0, data.length, small, gear)).toBeLessThanOrEqual(data.length);
  });
});

// The splitter against a reference chunking (chunkBuffer over the whole input, which has no buffer to
// manage): random keys, input split at random, and the splitter reused after "preceding files" of other
// sizes, as a read worker reuses its own. Each chunk is compared when it is emitted: a transient
// splitter's chunk is valid only then (a slide later in the same push once overwrote chunks that had
// been handed out but not yet hashed).
describe('ChunkSplitter against the reference chunking', () => {
  const feed = (splitter: ChunkSplitter, data: Buffer, nextSize: () => number): string[] => {
    const seen: string[] = [];
    const emit = (c: Buffer) => { seen.push(sha(c)); };
    for (let off = 0; off < data.length;) {
      const n = Math.min(Math.max(1, nextSize()), data.length - off);
      splitter.push(data.subarray(off, off + n), emit);
      off += n;
    }
    splitter.end(emit);
    return seen;
  };

  it('emits exactly the reference chunks, transient or not, over random keys, sizes, splits and preceding inputs', () => {
    const p = small; // maxSize 64 KiB: the working buffer (128 KiB) slides often, so every path is taken
    const rnd = prng(20261202);
    for (let key = 0; key < 6; key++) {
      const g = gearTable(randomData(32, `key ${key}`));
      for (const transient of [true, false]) {
        const splitter = new ChunkSplitter(p, g, transient);
        for (let file = 0; file < 12; file++) {
          // Sizes around every threshold: min, avg, max, the working buffer (2 × max) and its minimum.
          const anchors = [p.minSize, p.avgSize, p.maxSize, 2 * p.maxSize, 64 * KiB, 3 * p.maxSize];
          const anchor = anchors[Math.floor(rnd() * anchors.length)]!;
          const size = Math.max(0, anchor * (1 + Math.floor(rnd() * 4)) + Math.floor(rnd() * 5) - 2);
          const data = randomData(size, `k${key} f${file} ${transient}`);
          const want = chunkBuffer(data, p, g).map(sha);
          const maxPiece = [1 + Math.floor(rnd() * 100), 4 * KiB, 2 * p.maxSize + 3, 5 * p.maxSize][file % 4]!;
          splitter.reset();
          expect(feed(splitter, data, () => 1 + Math.floor(rnd() * maxPiece)), `key ${key} file ${file} size ${size} transient ${transient}`).toEqual(want);
        }
      }
    }
  });

  it('with the default sizes, matches the reference on files that straddle the 16 MiB working buffer after a smaller one', () => {
    const p = DEFAULT_CHUNKER_PARAMS;
    for (let key = 0; key < 2; key++) {
      const g = gearTable(randomData(32, `default key ${key}`));
      const splitter = new ChunkSplitter(p, g, true);
      for (const size of [1.5 * MiB, 17 * MiB, 700 * KiB, 25 * MiB + 3, 33 * MiB]) {
        const data = randomData(size, `default ${key} ${size}`);
        splitter.reset();
        // 4 MiB pieces: the read size of a read worker (core/backup/file-chunks.ts READ_SIZE).
        expect(feed(splitter, data, () => 4 * MiB), `key ${key} size ${size}`).toEqual(chunkBuffer(data, p, g).map(sha));
      }
    }
  });
});
