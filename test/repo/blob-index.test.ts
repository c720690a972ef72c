// BlobIndex: the compact blob ID -> location hash table (core/repo/blob-index.ts).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobIndex, type BlobLocation, type BlobType } from '../../core/repo/blob-index.js';

function randomLocation(packs: string[]): BlobLocation {
  const r = randomBytes(13);
  return {
    packId: packs[r[0]! % packs.length]!,
    type: r[1]! & 1 ? 'tree' : 'data',
    offset: r.readUInt32LE(2),
    length: r.readUInt32LE(6),
    // Include the edges of the uint32 range.
    rawLength: r[12]! < 16 ? 0xffff_ffff : r[12]! < 32 ? 0 : r.readUInt32LE(8),
  };
}

function packNames(n: number): string[] {
  return Array.from({ length: n }, () => randomBytes(32).toString('hex'));
}

/** An ID with the given first word (big-endian) and random remaining bytes. */
function idWithWord0(word0: number): Buffer {
  const id = randomBytes(32);
  id.writeUInt32BE(word0 >>> 0, 0);
  return id;
}

function loc(packId: string, offset = 0, type: BlobType = 'data'): BlobLocation {
  return { packId, type, offset, length: 100, rawLength: 200 };
}

describe('BlobIndex', () => {
  it('round-trips thousands of random IDs with random locations', () => {
    const packs = packNames(37);
    const index = new BlobIndex(5000);
    const entries: [Buffer, BlobLocation][] = [];
    for (let i = 0; i < 5000; i++) {
      const id = randomBytes(32);
      const l = randomLocation(packs);
      entries.push([id, l]);
      expect(index.add(id, l)).toBe(true);
    }
    expect(index.size).toBe(5000);
    for (const [id, l] of entries) {
      expect(index.get(id)).toEqual(l);
      expect(index.has(id)).toBe(true);
      // A copy of the ID (not the same object) finds it too.
      expect(index.get(Buffer.from(id))).toEqual(l);
    }
  });

  it('keeps the first location of a duplicate and reports false', () => {
    const index = new BlobIndex();
    const id = randomBytes(32);
    const first = loc('pack-a', 10, 'data');
    expect(index.add(id, first)).toBe(true);
    expect(index.add(Buffer.from(id), { packId: 'pack-b', type: 'tree', offset: 99, length: 1, rawLength: 2 })).toBe(false);
    expect(index.size).toBe(1);
    expect(index.get(id)).toEqual(first);
    // The pack of the rejected duplicate holds no blob, so it is not listed.
    expect(index.packIds()).toEqual(['pack-a']);
    expect(index.packCount).toBe(1);
  });

  it('returns undefined for missing IDs, including ones sharing a prefix of the first 16 bytes', () => {
    const index = new BlobIndex();
    const stored = randomBytes(32);
    index.add(stored, loc('p'));
    expect(index.get(randomBytes(32))).toBeUndefined();
    expect(index.has(randomBytes(32))).toBe(false);
    // Same first 4 bytes (same hash, same probe chain), differing at each later byte of the key.
    for (let byte = 4; byte < 16; byte++) {
      const other = Buffer.from(stored);
      other[byte] = other[byte]! ^ 0x01;
      expect(index.get(other), `differs at byte ${byte}`).toBeUndefined();
      expect(index.has(other)).toBe(false);
    }
    expect(new BlobIndex().get(stored)).toBeUndefined();
  });

  it('treats IDs equal in their first 16 bytes as the same blob (documented: the rest is not stored)', () => {
    const index = new BlobIndex();
    const id = randomBytes(32);
    index.add(id, loc('p', 1));
    const tail = Buffer.from(id);
    tail[31] = tail[31]! ^ 0xff;
    expect(index.has(tail)).toBe(true);
    expect(index.add(tail, loc('q', 2))).toBe(false);
    expect(index.get(tail)).toEqual(loc('p', 1));
  });

  it('keeps every entry when it grows past its initial capacity', () => {
    const index = new BlobIndex(); // minimum size
    const initialCapacity = index.capacity;
    const packs = packNames(5);
    const entries: [Buffer, BlobLocation][] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = randomBytes(32);
      const l = randomLocation(packs);
      entries.push([id, l]);
      expect(index.add(id, l)).toBe(true);
      // Load factor stays at or under 0.85 throughout.
      expect(index.size).toBeLessThanOrEqual(index.capacity * 0.85);
    }
    expect(index.capacity).toBeGreaterThan(initialCapacity);
    expect(index.size).toBe(20_000);
    for (const [id, l] of entries) expect(index.get(id)).toEqual(l);
    // Re-adding after growth is still detected as a duplicate.
    for (const [id] of entries.slice(0, 100)) expect(index.add(id, loc('other'))).toBe(false);
    expect(index.size).toBe(20_000);
  });

  it('pre-sizes for expectedBlobs so loading them does not grow the table', () => {
    const index = new BlobIndex(10_000);
    const capacity = index.capacity;
    expect(capacity).toBeGreaterThanOrEqual(10_000 / 0.85);
    expect(index.memoryBytes()).toBeGreaterThanOrEqual(capacity * 32);
    for (let i = 0; i < 10_000; i++) index.add(randomBytes(32), loc('p'));
    expect(index.capacity).toBe(capacity);
    // One more passes the 0.85 load limit: the table grows by x1.5.
    index.add(randomBytes(32), loc('p'));
    expect(index.capacity).toBe(Math.ceil(capacity * 1.5));
    expect(index.size).toBe(10_001);
  });

  it('handles long probe chains that wrap around the end of the table', () => {
    const index = new BlobIndex(100);
    const capacity = index.capacity;
    // All these hash to the last slot (or collide with it), so they wrap to slot 0, 1, ...
    const ids = [capacity - 1, capacity - 1, 2 * capacity - 1, capacity - 2, 0xffff_ffff - (0xffff_ffff % capacity) - 1]
      .map((w) => idWithWord0(w));
    const filler = Array.from({ length: 40 }, (_, i) => idWithWord0(i % 3));
    const all = [...ids, ...filler];
    all.forEach((id, i) => expect(index.add(id, loc('p', i))).toBe(true));
    all.forEach((id, i) => expect(index.get(id)?.offset).toBe(i));
    // Absent IDs on the same crowded chains are still reported absent.
    expect(index.get(idWithWord0(capacity - 1))).toBeUndefined();
    expect(index.get(idWithWord0(0))).toBeUndefined();
  });

  it('stores an all-zero ID and an all-ones ID', () => {
    const index = new BlobIndex();
    const zero = new Uint8Array(32);
    expect(index.has(zero)).toBe(false);
    expect(index.add(zero, loc('z', 0, 'tree'))).toBe(true);
    expect(index.get(zero)).toEqual(loc('z', 0, 'tree'));
    expect(index.add(new Uint8Array(32), loc('y'))).toBe(false);
    const ones = new Uint8Array(32).fill(0xff);
    expect(index.add(ones, { packId: 'o', type: 'data', offset: 0xffff_ffff, length: 0xffff_ffff, rawLength: 0xffff_ffff })).toBe(true);
    expect(index.get(ones)).toEqual({ packId: 'o', type: 'data', offset: 0xffff_ffff, length: 0xffff_ffff, rawLength: 0xffff_ffff });
    expect(index.get(zero)).toEqual(loc('z', 0, 'tree'));
    expect(index.size).toBe(2);
  });

  it('accepts IDs that are unaligned subarrays of larger buffers', () => {
    const index = new BlobIndex();
    const big = randomBytes(32 * 50 + 7);
    const ids: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const start = 1 + i * 32 + (i % 3); // odd and shifting offsets
      const id = big.subarray(start, start + 32);
      if (ids.some((o) => o.equals(id))) continue;
      ids.push(id);
    }
    ids.forEach((id, i) => expect(index.add(id, loc('p', i))).toBe(true));
    // Looked up by fresh, aligned copies and by Uint8Array views with odd byteOffset.
    ids.forEach((id, i) => {
      expect(index.get(Buffer.from(id))?.offset).toBe(i);
      expect(index.get(new Uint8Array(id.buffer, id.byteOffset, 32))?.offset).toBe(i);
    });
    expect(ids.some((id) => id.byteOffset % 4 !== 0)).toBe(true);
  });

  it('lists each pack once, in the order first seen', () => {
    const index = new BlobIndex();
    const order = ['p1', 'p2', 'p1', 'p3', 'p2', 'p1', 'p4'];
    order.forEach((p) => index.add(randomBytes(32), loc(p)));
    expect(index.packIds()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(index.packCount).toBe(4);
    // The returned array is a copy.
    index.packIds().push('x');
    expect(index.packIds()).toEqual(['p1', 'p2', 'p3', 'p4']);
  });

  it('keeps storage-ID pack IDs (64 lower-case hex) and other strings exactly, across pack table growth', () => {
    const index = new BlobIndex();
    const hex = packNames(3000); // past the initial pack table and ID buffer sizes
    const others = ['pack-a', '', 'A'.repeat(64), `${'f'.repeat(63)}g`, 'ü-ünicode', `${'0'.repeat(63)}A`, 'ab'.repeat(16)];
    const zeroHex = '0'.repeat(64); // all-zero bytes, like the filler of non-storage-ID packs
    const all = [...hex.slice(0, 1500), ...others, zeroHex, ...hex.slice(1500)];
    const ids = all.map((packId, i) => {
      const id = randomBytes(32);
      expect(index.add(id, loc(packId, i))).toBe(true);
      return id;
    });
    // A second blob for every pack, now not in order, adds no pack.
    for (const packId of [...all].reverse()) index.add(randomBytes(32), loc(packId));
    expect(index.packCount).toBe(all.length);
    expect(index.packIds()).toEqual(all);
    ids.forEach((id, i) => expect(index.get(id)).toEqual(loc(all[i]!, i)));
    // Pack numbers n and n + 256 share get()'s cache entry; alternate between them.
    for (let round = 0; round < 3; round++) {
      for (const i of [5, 261, 517, 5, 1600, 1856]) expect(index.get(ids[i]!)?.packId).toBe(all[i]);
    }
    // memoryBytes covers the blob table and the pack IDs' bytes.
    expect(index.memoryBytes()).toBeGreaterThanOrEqual(index.capacity * 32 + 3001 * 32);
  });

  it('round-trips both blob types', () => {
    const index = new BlobIndex();
    const data = randomBytes(32);
    const tree = randomBytes(32);
    index.add(data, { packId: 'a', type: 'data', offset: 24, length: 5, rawLength: 7 });
    index.add(tree, { packId: 'a', type: 'tree', offset: 2 ** 31 + 5, length: 2 ** 31, rawLength: 2 ** 31 + 1 });
    expect(index.get(data)).toEqual({ packId: 'a', type: 'data', offset: 24, length: 5, rawLength: 7 });
    // Large values use bit 31 of their words; that must not leak into or from the type bit.
    expect(index.get(tree)).toEqual({ packId: 'a', type: 'tree', offset: 2 ** 31 + 5, length: 2 ** 31, rawLength: 2 ** 31 + 1 });
  });

  it('rejects offsets and lengths outside uint32 with a RangeError, adding nothing', () => {
    const index = new BlobIndex();
    const id = randomBytes(32);
    const base = loc('p');
    expect(() => index.add(id, { ...base, offset: 2 ** 32 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, offset: 2 ** 40 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, length: 2 ** 32 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, rawLength: 2 ** 32 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, offset: -1 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, offset: 1.5 })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, offset: Number.NaN })).toThrow(RangeError);
    expect(() => index.add(id, { ...base, type: 'other' as BlobType })).toThrow(RangeError);
    expect(index.size).toBe(0);
    expect(index.has(id)).toBe(false);
    expect(index.packIds()).toEqual([]);
    expect(index.add(id, { ...base, offset: 2 ** 32 - 1 })).toBe(true);
  });

  it('rejects IDs that are not 32 bytes and a bad expectedBlobs', () => {
    const index = new BlobIndex();
    expect(() => index.add(randomBytes(16), loc('p'))).toThrow(RangeError);
    expect(() => index.get(randomBytes(33))).toThrow(RangeError);
    expect(() => index.has(new Uint8Array(0))).toThrow(RangeError);
    expect(() => new BlobIndex(-1)).toThrow(RangeError);
    expect(() => new BlobIndex(1.5)).toThrow(RangeError);
  });

  it('reports an empty index', () => {
    const index = new BlobIndex(0);
    expect(index.size).toBe(0);
    expect(index.packCount).toBe(0);
    expect(index.packIds()).toEqual([]);
    expect(index.memoryBytes()).toBeGreaterThan(0);
  });
});
