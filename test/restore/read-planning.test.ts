// The restore's read planning at each of its thresholds (issue 17): the gap and segment limits of data
// and tree reads, the read-ahead budget, the tree cache budget, and how far into a pack its header is
// read along. A stand-in repo records the ranges asked for; its reads never finish, so what is counted
// is what was started.
import { describe, expect, it } from 'vitest';
import { BlobIndex, type BlobType } from '../../core/repo/blob-index.js';
import { PACK_HEADER_SIZE } from '../../core/repo/pack.js';
import { HEADER_FOLD_GAP, readPackSpan } from '../../core/repo/pack-objects.js';
import type { ServerRepo } from '../../core/repo/server.js';
import { TREE_CACHE_BUDGET, TREE_GAP, TREE_SEGMENT, TreeBlobs } from '../../core/repo/tree-blobs.js';
import { BlobFetcher, KEEP_BUDGET, MAX_GAP, MAX_SEGMENT, READ_AHEAD_BUDGET } from '../../core/restore/blob-fetcher.js';
import type { ByteRange } from '../../core/storage/storage.js';

const MIB = 1024 * 1024;
const H = PACK_HEADER_SIZE;

function standIn(): { repo: ServerRepo; gets: { name: string; range?: ByteRange }[]; add: (pack: string, offset: number, length: number, type?: BlobType) => string } {
  const index = new BlobIndex();
  const gets: { name: string; range?: ByteRange }[] = [];
  let n = 0;
  const repo = {
    index,
    packKeys: new Map<string, unknown>(),
    location: 'stand-in',
    packObject: (id: string) => `packs/${id}`,
    locate: (id: Buffer) => index.get(id)!,
    vault: { store: { get: (name: string, range?: ByteRange) => { gets.push({ name, ...(range ? { range } : {}) }); return new Promise<Buffer>(() => undefined); } } },
  } as unknown as ServerRepo;
  (repo as { trees: TreeBlobs }).trees = new TreeBlobs(repo);
  const add = (pack: string, offset: number, length: number, type: BlobType = 'data') => {
    const id = Buffer.alloc(32);
    id.writeUInt32BE(++n);
    index.add(id, { packId: pack, type, offset, length, rawLength: length });
    if (type === 'tree') repo.trees.note(pack, offset, length);
    (repo.packKeys as Map<string, unknown>).set(pack, {});
    return id.toString('hex');
  };
  return { repo, gets, add };
}
const pack = (c: string) => c.repeat(64);

describe('data read planning', () => {
  it('joins blobs up to MAX_GAP apart, not one byte further', () => {
    const { repo, add } = standIn();
    const a = add(pack('a'), H, 1000);
    const b = add(pack('a'), H + 1000 + MAX_GAP, 1000);
    const c = add(pack('a'), H + 2000 + 2 * MAX_GAP + 1, 1000);
    const f = new BlobFetcher(repo);
    f.plan([a, b, c]);
    expect(f.segments.map((s) => [s.start, s.end])).toEqual([[H, H + 2000 + MAX_GAP], [H + 2000 + 2 * MAX_GAP + 1, H + 3000 + 2 * MAX_GAP + 1]]);
  });

  it('makes segments of at most MAX_SEGMENT bytes: a whole pack of blobs in one', () => {
    const { repo, add } = standIn();
    const ids = Array.from({ length: 5 }, (_, i) => add(pack('b'), H + i * (MAX_SEGMENT / 4), MAX_SEGMENT / 4));
    const f = new BlobFetcher(repo);
    f.plan(ids);
    expect(f.segments.map((s) => s.end - s.start)).toEqual([MAX_SEGMENT, MAX_SEGMENT / 4]);
  });

  it('reads ahead in plan order up to READ_AHEAD_BUDGET bytes, not a segment more', () => {
    for (const [size, started] of [[READ_AHEAD_BUDGET / 4, 4], [READ_AHEAD_BUDGET / 4 + 1, 3]] as const) {
      const { repo, gets, add } = standIn();
      const ids = ['1', '2', '3', '4', '5', '6'].map((c) => add(pack(c), H, size));
      const f = new BlobFetcher(repo);
      f.plan(ids);
      void f.blob(ids[0]!).catch(() => undefined);
      expect(gets.map((g) => g.name)).toEqual(ids.slice(0, started).map((_, i) => `packs/${pack(String(i + 1))}`));
      expect(f.maxInFlight).toBe(started);
    }
  });
});

describe('segments kept for later uses', () => {
  // Reads that finish at once (zero bytes), blobs that open to one byte: only the reads are of interest.
  // Reads of the packs in `held` wait until free() is called.
  function answering(held: Set<string> = new Set()) {
    const t = standIn();
    const waiting: (() => void)[] = [];
    const store = (t.repo.vault as { store: { get: unknown } }).store;
    store.get = (name: string, range?: ByteRange) => {
      t.gets.push({ name, ...(range ? { range } : {}) });
      const bytes = Buffer.alloc(range?.length ?? 0);
      return held.has(name) ? new Promise<Buffer>((resolve) => waiting.push(() => resolve(bytes))) : Promise.resolve(bytes);
    };
    Object.assign(t, { free: () => { for (const w of waiting.splice(0)) w(); } });
    Object.assign(t.repo, { keyOfPack: () => Promise.resolve({}), openStoredBlob: () => Buffer.alloc(1), decodeStoredBlob: () => Promise.resolve(Buffer.alloc(1)) });
    return t as typeof t & { free: () => void };
  }

  it('over KEEP_BUDGET, drops a segment after a use when it is next needed only after the read-ahead, and keeps one needed before', async () => {
    const size = MAX_SEGMENT;
    expect(3 * size).toBeLessThanOrEqual(KEEP_BUDGET); // three segments are within the budget…
    expect(4 * size).toBeGreaterThan(KEEP_BUDGET); // …four are over it
    for (const [lateUse, reads] of [[true, 2], [false, 1]] as const) {
      const { repo, gets, add, free } = answering(new Set(['3', '4', '5'].map((p) => `packs/${pack(p)}`)));
      const a1 = add(pack('1'), H, size / 2);
      const a2 = add(pack('1'), H + size / 2, size / 2);
      const [b, c, d, e] = ['2', '3', '4', '5'].map((p) => add(pack(p), H, size));
      const f = new BlobFetcher(repo);
      // a2 used last (after every other pack), or right after a1 (before pack 2, the read-ahead frontier).
      f.plan(lateUse ? [a1, b!, c!, d!, e!, a2] : [a1, a2, b!, c!, d!, e!]);
      // Three files in flight ask for packs 3, 4, 5 out of plan order (their reads still under way):
      // with pack 1, four segments are held when a1's use ends.
      const inFlight = [f.blob(c!), f.blob(d!), f.blob(e!)];
      await f.blob(a1);
      free();
      await Promise.all(inFlight);
      await f.blob(a2);
      await f.blob(b!);
      expect(gets.filter((g) => g.name === `packs/${pack('1')}`)).toHaveLength(reads);
    }
  });
});

describe('pack header read along', () => {
  it('reads the header with a range starting up to HEADER_FOLD_GAP after it, not one byte further', async () => {
    const { repo, gets } = standIn();
    (repo.packKeys as Map<string, unknown>).clear();
    void readPackSpan(repo, pack('c'), H + HEADER_FOLD_GAP, H + HEADER_FOLD_GAP + 10).catch(() => undefined);
    void readPackSpan(repo, pack('d'), H + HEADER_FOLD_GAP + 1, H + HEADER_FOLD_GAP + 11).catch(() => undefined);
    expect(gets.map((g) => g.range)).toEqual([{ offset: 0, length: H + HEADER_FOLD_GAP + 10 }, { offset: H + HEADER_FOLD_GAP + 1, length: 10 }]);
  });
});

describe('tree read planning', () => {
  it('reads trees up to TREE_GAP apart in one request, not one byte further', () => {
    const { repo, gets, add } = standIn();
    const t1 = add(pack('e'), H, 100, 'tree');
    add(pack('e'), H + 100 + TREE_GAP, 100, 'tree');
    const t3 = add(pack('e'), H + 200 + 2 * TREE_GAP + 1, 100, 'tree');
    void repo.trees.read(Buffer.from(t1, 'hex')).catch(() => undefined);
    void repo.trees.read(Buffer.from(t1, 'hex')).catch(() => undefined); // from the cache
    void repo.trees.read(Buffer.from(t3, 'hex')).catch(() => undefined);
    expect(gets.map((g) => g.range)).toEqual([{ offset: H, length: 200 + TREE_GAP }, { offset: H + 200 + 2 * TREE_GAP + 1, length: 100 }]);
  });

  it('reads at most TREE_SEGMENT bytes at once, and keeps at most TREE_CACHE_BUDGET bytes of them', () => {
    const { repo, gets, add } = standIn();
    const quarter = TREE_SEGMENT / 4;
    const ids = Array.from({ length: 12 }, (_, i) => add(pack('f'), H + i * quarter, quarter, 'tree'));
    const read = (i: number) => { void repo.trees.read(Buffer.from(ids[i]!, 'hex')).catch(() => undefined); };
    read(0);
    expect(gets.at(-1)!.range).toEqual({ offset: H, length: TREE_SEGMENT });
    read(4);
    read(8); // a third segment: 48 MiB > TREE_CACHE_BUDGET, so the first is dropped
    expect(3 * TREE_SEGMENT).toBeGreaterThan(TREE_CACHE_BUDGET);
    expect(2 * TREE_SEGMENT).toBeLessThanOrEqual(TREE_CACHE_BUDGET);
    read(5); // still cached
    expect(gets).toHaveLength(3);
    read(1); // dropped: read again
    expect(gets).toHaveLength(4);
    expect(gets.at(-1)!.range).toEqual({ offset: H + quarter, length: TREE_SEGMENT });
  });
});
