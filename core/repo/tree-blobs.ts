// Reading tree blobs with few requests: the index records where each pack's tree blobs lie, and a tree
// is read together with the tree blobs around it in its pack (a tree pack, FORMAT.md section 7, is read
// whole), kept in a small cache, so a walk of a point's folders costs a request per tree pack, not per
// folder. Every tree taken from the cache is still decrypted and checked against its ID (openStoredBlob).
import { AzbError } from '../protocol/errors.js';
import type { BlobLocation } from './blob-index.js';
import { readPackSpan } from './pack-objects.js';
import type { ServerRepo } from './server.js';

/** Largest gap between two tree blobs still read in one request: about the bytes a 40 ms round trip costs at 25 MiB/s. */
export const TREE_GAP = 1024 * 1024;
/** Largest tree segment read in one request: a whole tree pack (packs are at most 16 MiB). */
export const TREE_SEGMENT = 16 * 1024 * 1024;
/** Tree segments kept in memory; beyond this the oldest is dropped (and read again if needed). */
export const TREE_CACHE_BUDGET = 32 * 1024 * 1024;

interface TreeSegment { packId: string; start: number; end: number; data: Promise<Buffer> }

/** The tree blobs of a namespace's packs, and the segments of them read so far. */
export class TreeBlobs {
  /** Pack ID → offset, length of each tree blob in it (flat pairs, in the order indexed). */
  private spans = new Map<string, number[]>();
  private sorted = new Set<string>();
  /** Segments in memory, oldest first. */
  private cache: TreeSegment[] = [];
  private cached = 0;
  /** Distinct packs tree segments were read from (a restore's packsRead counts them). */
  readonly packsRead = new Set<string>();
  /** Requests made for trees (tests assert them). */
  requests = 0;

  constructor(private readonly repo: ServerRepo) {}

  /** Forgets every span (the index is being loaded anew). */
  reset(): void {
    this.spans = new Map();
    this.sorted.clear();
    this.cache = [];
    this.cached = 0;
  }

  /** Notes a tree blob of a pack (called for every tree blob the index takes in). */
  note(packId: string, offset: number, length: number): void {
    let list = this.spans.get(packId);
    if (!list) this.spans.set(packId, (list = []));
    list.push(offset, length);
    this.sorted.delete(packId);
  }

  /** The plaintext of tree blob `id`, checked against its ID. */
  async read(id: Buffer): Promise<Buffer> {
    const loc = this.repo.locate(id);
    if (loc.type !== 'tree') throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… is a ${loc.type} blob, expected tree.`, { target: id.toString('hex') });
    const end = loc.offset + loc.length;
    let seg = this.cache.find((s) => s.packId === loc.packId && s.start <= loc.offset && end <= s.end);
    if (!seg) seg = this.fetch(loc);
    const data = await seg.data;
    const stored = data.subarray(loc.offset - seg.start, end - seg.start);
    return this.repo.openStoredBlob(await this.repo.keyOfPack(loc.packId), id, stored, loc);
  }

  // Starts the read of the run of tree blobs around `loc` (gaps ≤ TREE_GAP, at most TREE_SEGMENT bytes).
  private fetch(loc: BlobLocation): TreeSegment {
    const pairs = this.orderedSpans(loc.packId);
    let start = loc.offset;
    let end = loc.offset + loc.length;
    const at = pairs.findIndex((p) => p[0] === loc.offset);
    if (at >= 0) {
      // Grow forward, then backward, while the next blob is close enough and the segment small enough.
      for (let i = at + 1; i < pairs.length; i++) {
        const [o, l] = pairs[i]!;
        if (o - end > TREE_GAP || Math.max(end, o + l) - start > TREE_SEGMENT) break;
        end = Math.max(end, o + l);
      }
      for (let i = at - 1; i >= 0; i--) {
        const [o] = pairs[i]!;
        if (start - (o + pairs[i]![1]) > TREE_GAP || end - o > TREE_SEGMENT) break;
        start = Math.min(start, o);
      }
    }
    this.requests++;
    this.packsRead.add(loc.packId);
    const data = readPackSpan(this.repo, loc.packId, start, end);
    const seg: TreeSegment = { packId: loc.packId, start, end, data };
    this.cache.push(seg);
    this.cached += end - start;
    // A failed read is not kept: the next use tries again.
    data.catch(() => { this.drop(seg); });
    while (this.cached > TREE_CACHE_BUDGET && this.cache.length > 1) this.drop(this.cache[0]!);
    return seg;
  }

  private drop(seg: TreeSegment): void {
    const i = this.cache.indexOf(seg);
    if (i < 0) return;
    this.cache.splice(i, 1);
    this.cached -= seg.end - seg.start;
  }

  private orderedSpans(packId: string): [number, number][] {
    const flat = this.spans.get(packId) ?? [];
    const pairs: [number, number][] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    if (!this.sorted.has(packId)) {
      pairs.sort((a, b) => a[0] - b[0]);
      this.spans.set(packId, pairs.flat());
      this.sorted.add(packId);
    }
    return pairs;
  }
}
