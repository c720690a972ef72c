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
/**
 * Over KEEP_BUDGET, a segment is dropped after a use only when its next use comes more than this many
 * bytes of restored data later (a blob used again far on); one used again sooner is kept, since reading
 * it again would cost a whole segment for a blob.
 */
export const KEEP_HORIZON = 64 * 1024 * 1024;

/**
 * `rank`: position of its first use in the plan; `useRanks`: of every use, in order, and `used` how many
 * of them are done, so `useRanks[used]` is the position of its next use.
 */
interface Segment { packId: string; start: number; end: number; uses: number; rank: number; useRanks: number[]; used: number; data?: Promise<Buffer>; done?: boolean }

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
  /** Restored bytes planned before each use position, and the furthest position used so far. */
  private bytesBefore: number[] = [];
  private position = 0;

  constructor(private readonly repo: ServerRepo) {}

  /**
   * Plans the reads for every use of every blob (a blob used twice counts twice), given in the order
   * the restore will use them: segments are read ahead in the order of their first use.
   */
  plan(blobIds: Iterable<string>): void {
    const uses = new Map<string, number[]>(); // positions of each blob's uses, in order of first use
    const bytesBefore: number[] = []; // restored bytes planned before each position
    let at = 0;
    let bytes = 0;
    for (const id of blobIds) {
      const u = uses.get(id);
      if (u) u.push(at); else uses.set(id, [at]);
      bytesBefore.push(bytes);
      bytes += this.repo.index.get(Buffer.from(id, 'hex'))?.rawLength ?? 0;
      at++;
    }
    this.bytesBefore = bytesBefore;
    this.position = 0;
    const byPack = new Map<string, { id: string; loc: BlobLocation; ranks: number[] }[]>();
    for (const [id, ranks] of uses) {
      const loc = this.repo.index.get(Buffer.from(id, 'hex'));
      if (!loc) continue; // reported as damage when the file is restored
      let list = byPack.get(loc.packId);
      if (!list) byPack.set(loc.packId, (list = []));
      list.push({ id, loc, ranks });
    }
    const order: Segment[] = [];
    for (const [packId, blobs] of byPack) {
      blobs.sort((a, b) => a.loc.offset - b.loc.offset);
      let seg: Segment | undefined;
      for (const b of blobs) {
        const end = b.loc.offset + b.loc.length;
        if (!seg || b.loc.offset - seg.end > MAX_GAP || end - seg.start > MAX_SEGMENT) {
          seg = { packId, start: b.loc.offset, end, uses: 0, rank: b.ranks[0]!, useRanks: [], used: 0 };
          order.push(seg);
        }
        seg.end = Math.max(seg.end, end);
        seg.uses += b.ranks.length;
        seg.rank = Math.min(seg.rank, b.ranks[0]!);
        for (const r of b.ranks) seg.useRanks.push(r);
        this.segmentOf.set(b.id, seg);
      }
    }
    for (const seg of order) seg.useRanks.sort((a, b) => a - b);
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
      // Last use: let the segment go. Over the budget, let it go anyway when its NEXT use is far off (a
      // blob used again much later); a later use reads it again. One the files being written still use is
      // kept: its next use is near. (Neither its last use nor the read-ahead frontier is a guide: a large
      // file's segment is used while 8 files write 16 MiB each, and the frontier stands still while the
      // budget is full; dropping by them read a segment again per blob, 17 times the vault in a bench.)
      this.position = Math.max(this.position, seg.useRanks[seg.used] ?? 0);
      seg.used++;
      if (--seg.uses <= 0) seg.done = true;
      if (seg.done || (this.kept > KEEP_BUDGET && this.nextUseIsFar(seg))) this.release(seg);
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

  // Whether the segment's next use comes more than KEEP_HORIZON restored bytes after the furthest use yet.
  private nextUseIsFar(seg: Segment): boolean {
    const next = seg.useRanks[seg.used];
    if (next === undefined) return true;
    return this.bytesBefore[next]! - this.bytesBefore[this.position]! > KEEP_HORIZON;
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
