// Reads the data blobs a restore needs with few requests and the link kept busy: blobs are grouped by
// pack, near ones coalesced into segments (one ranged read each, a whole pack when most of it is
// needed), segments are read ahead in the order the restore uses them within a memory budget, and a
// segment is dropped once its last blob was used.
import { AzbError } from '../protocol/errors.js';
import type { BlobLocation } from '../repo/blob-index.js';
import { PACK_TARGET_SIZE } from '../repo/pack.js';
import { readPackSpan } from '../repo/pack-objects.js';
import type { ServerRepo } from '../repo/server.js';

/**
 * Largest gap between two blobs still read in one request (bytes read and thrown away). A request over
 * a WAN costs a round trip (40 ms ≈ 2 MiB at 50 MiB/s), so reading up to 1 MiB more is cheaper.
 */
export const MAX_GAP = 1024 * 1024;
/** Largest segment read in one request: a whole pack (packs are at most PACK_TARGET_SIZE). */
export const MAX_SEGMENT = PACK_TARGET_SIZE;
/**
 * Segment bytes read ahead of the restore (in flight or waiting for their files): two whole packs, so
 * one read is in flight while the other is written out. On a 40 ms, 50 MiB/s link a 16 MiB read spends
 * 0.04 of its 0.36 s waiting, so two keep the link about 90 % busy. This is the restore's main memory
 * use (peak RSS must stay within 2× restic's), so it is kept to two packs: 48 MiB, with each body
 * concatenated after its read, measured 70 MiB more peak RSS than before on a 120 MiB restore.
 */
export const READ_AHEAD_BUDGET = 32 * 1024 * 1024;
/** Segments kept for later uses beyond this many bytes are dropped and read again when needed. */
export const KEEP_BUDGET = 48 * 1024 * 1024;

/** `rank`: position of its first use in the plan; `lastRank`: of its last use. */
interface Segment { packId: string; start: number; end: number; uses: number; rank: number; lastRank: number; data?: Promise<Buffer>; done?: boolean }

/** Fetches data blobs for a restore planned in advance with plan(). */
export class BlobFetcher {
  private readonly segmentOf = new Map<string, Segment>();
  /** Segments in the order the restore uses them (pack, then offset): the read-ahead order. */
  private order: Segment[] = [];
  private ahead = 0;
  private kept = 0;
  /** Distinct packs data was read from. */
  readonly packsRead = new Set<string>();
  /** Requests made for data (segments, and blobs outside the plan). */
  requests = 0;
  /** Most segment reads in flight at once (tests assert the read-ahead). */
  maxInFlight = 0;
  private inFlight = 0;

  constructor(private readonly repo: ServerRepo) {}

  /**
   * Plans the reads for every use of every blob (a blob used twice counts twice), given in the order
   * the restore will use them: segments are read ahead in the order of their first use.
   */
  plan(blobIds: Iterable<string>): void {
    const uses = new Map<string, { n: number; first: number; last: number }>(); // in order of first use
    let at = 0;
    for (const id of blobIds) {
      const u = uses.get(id);
      if (u) { u.n++; u.last = at; } else uses.set(id, { n: 1, first: at, last: at });
      at++;
    }
    const byPack = new Map<string, { id: string; loc: BlobLocation; uses: number; first: number; last: number }[]>();
    for (const [id, u] of uses) {
      const loc = this.repo.index.get(Buffer.from(id, 'hex'));
      if (!loc) continue; // reported as damage when the file is restored
      let list = byPack.get(loc.packId);
      if (!list) byPack.set(loc.packId, (list = []));
      list.push({ id, loc, uses: u.n, first: u.first, last: u.last });
    }
    const order: Segment[] = [];
    for (const [packId, blobs] of byPack) {
      blobs.sort((a, b) => a.loc.offset - b.loc.offset);
      let seg: Segment | undefined;
      for (const b of blobs) {
        const end = b.loc.offset + b.loc.length;
        if (!seg || b.loc.offset - seg.end > MAX_GAP || end - seg.start > MAX_SEGMENT) {
          seg = { packId, start: b.loc.offset, end, uses: 0, rank: b.first, lastRank: b.last };
          order.push(seg);
        }
        seg.end = Math.max(seg.end, end);
        seg.uses += b.uses;
        seg.rank = Math.min(seg.rank, b.first);
        seg.lastRank = Math.max(seg.lastRank, b.last);
        this.segmentOf.set(b.id, seg);
      }
    }
    this.order = order.sort((a, b) => a.rank - b.rank);
    this.ahead = 0;
  }

  /** The segments plan() made, in read order (tests check the thresholds). */
  get segments(): readonly { packId: string; start: number; end: number }[] { return this.order; }

  /**
   * One data blob, decrypted and checked against its ID (`o.idCheck` false: not checked, for a file
   * whose digest is checked, FORMAT.md section 9); blobs outside the plan are read alone.
   */
  async blob(idHex: string, o: { idCheck?: boolean } = {}): Promise<Buffer> {
    const id = Buffer.from(idHex, 'hex');
    const seg = this.segmentOf.get(idHex);
    if (!seg) {
      const loc = this.repo.index.get(id);
      if (loc) this.packsRead.add(loc.packId);
      this.requests++;
      return this.repo.readBlob(id, 'data');
    }
    const loc = this.repo.locate(id);
    if (loc.type !== 'data') throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${idHex.slice(0, 12)}… is a ${loc.type} blob, expected data.`, { target: idHex });
    const data = this.start(seg);
    this.readAhead();
    try {
      const bytes = await data;
      const stored = bytes.subarray(loc.offset - seg.start, loc.offset - seg.start + loc.length);
      return await this.repo.decodeStoredBlob(await this.repo.keyOfPack(loc.packId), id, stored, loc, o.idCheck ?? true);
    } finally {
      // Last use: let the segment go. Over the budget, let it go anyway when it is next needed only
      // after the segments read ahead (a blob used again much later); a later use reads it again. One
      // still in use by the files being written is kept: dropping it would read it again for each blob.
      if (--seg.uses <= 0) seg.done = true;
      if (seg.done || (this.kept > KEEP_BUDGET && seg.lastRank > this.frontier())) this.release(seg);
      this.readAhead();
    }
  }

  // The segment's bytes, reading them when they are not in memory.
  private start(seg: Segment): Promise<Buffer> {
    if (seg.data) return seg.data;
    this.kept += seg.end - seg.start;
    this.requests++;
    this.packsRead.add(seg.packId);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const data = readPackSpan(this.repo, seg.packId, seg.start, seg.end);
    seg.data = data;
    data.then(() => { this.inFlight--; }, () => { this.inFlight--; if (seg.data === data) this.release(seg); });
    data.catch(() => undefined);
    return data;
  }

  // The first-use rank of the next segment not read ahead yet (beyond it, uses are far off).
  private frontier(): number {
    for (let i = this.ahead; i < this.order.length; i++) {
      const seg = this.order[i]!;
      if (seg.data === undefined && !seg.done) return seg.rank;
    }
    return Number.POSITIVE_INFINITY;
  }

  private release(seg: Segment): void {
    if (seg.data === undefined) return;
    this.kept -= seg.end - seg.start;
    seg.data = undefined;
  }

  // Starts the next planned segments while their bytes fit in READ_AHEAD_BUDGET.
  private readAhead(): void {
    while (this.ahead < this.order.length) {
      const next = this.order[this.ahead]!;
      if (next.data !== undefined || next.done) { this.ahead++; continue; }
      if (this.kept + (next.end - next.start) > READ_AHEAD_BUDGET) return;
      this.start(next);
      this.ahead++;
    }
  }
}
