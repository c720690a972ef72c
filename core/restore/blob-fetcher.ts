// Reads the data blobs a restore needs with few requests: blobs are grouped by pack, adjacent ones
// coalesced into segments (one ranged read each), and a segment is dropped once its last blob was used.
import { AzbError } from '../protocol/errors.js';
import type { BlobLocation } from '../repo/blob-index.js';
import type { ServerRepo } from '../repo/server.js';
import { vaultError } from '../repo/storage-errors.js';

/** Largest gap between two blobs still read in one request (bytes read and thrown away). */
const MAX_GAP = 64 * 1024;
/** Largest segment read in one request. */
const MAX_SEGMENT = 8 * 1024 * 1024;
/** Segments kept for later uses beyond this many bytes are dropped and read again when needed. */
const KEEP_BUDGET = 48 * 1024 * 1024;

interface Segment { packId: string; start: number; end: number; uses: number; data?: Promise<Buffer> }

/** Fetches data blobs for a restore planned in advance with plan(). */
export class BlobFetcher {
  private readonly segmentOf = new Map<string, Segment>();
  private kept = 0;

  constructor(private readonly repo: ServerRepo) {}

  /** Plans the reads for every use of every blob (a blob used twice counts twice). */
  plan(blobIds: Iterable<string>): void {
    const uses = new Map<string, number>();
    for (const id of blobIds) uses.set(id, (uses.get(id) ?? 0) + 1);
    const byPack = new Map<string, { id: string; loc: BlobLocation; uses: number }[]>();
    for (const [id, n] of uses) {
      const loc = this.repo.index.get(Buffer.from(id, 'hex'));
      if (!loc) continue; // reported as damage when the file is restored
      let list = byPack.get(loc.packId);
      if (!list) byPack.set(loc.packId, (list = []));
      list.push({ id, loc, uses: n });
    }
    for (const [packId, blobs] of byPack) {
      blobs.sort((a, b) => a.loc.offset - b.loc.offset);
      let seg: Segment | undefined;
      for (const b of blobs) {
        const end = b.loc.offset + b.loc.length;
        if (!seg || b.loc.offset - seg.end > MAX_GAP || end - seg.start > MAX_SEGMENT) {
          seg = { packId, start: b.loc.offset, end, uses: 0 };
        }
        seg.end = Math.max(seg.end, end);
        seg.uses += b.uses;
        this.segmentOf.set(b.id, seg);
      }
    }
  }

  /**
   * One data blob, decrypted and checked against its ID (`o.idCheck` false: not checked, for a file
   * whose digest is checked, FORMAT.md section 9); blobs outside the plan are read alone.
   */
  async blob(idHex: string, o: { idCheck?: boolean } = {}): Promise<Buffer> {
    const id = Buffer.from(idHex, 'hex');
    const seg = this.segmentOf.get(idHex);
    if (!seg) return this.repo.readBlob(id, 'data');
    const loc = this.repo.locate(id);
    if (loc.type !== 'data') throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${idHex.slice(0, 12)}… is a ${loc.type} blob, expected data.`, { target: idHex });
    if (!seg.data) {
      this.kept += seg.end - seg.start;
      const name = this.repo.packObject(seg.packId);
      seg.data = this.repo.vault.store.get(name, { offset: seg.start, length: seg.end - seg.start })
        .catch((err: unknown) => { throw vaultError(err, this.repo.location, `pack ${seg.packId.slice(0, 12)}`); });
      seg.data.catch(() => undefined);
    }
    try {
      const data = await seg.data;
      const stored = data.subarray(loc.offset - seg.start, loc.offset - seg.start + loc.length);
      return await this.repo.decodeStoredBlob(await this.repo.keyOfPack(loc.packId), id, stored, loc, o.idCheck ?? true);
    } finally {
      // Last use: let the segment go. Over the budget, let it go anyway; a later use reads it again.
      if (--seg.uses <= 0 || this.kept > KEEP_BUDGET) {
        if ((seg as Segment).data !== undefined) this.kept -= seg.end - seg.start;
        seg.data = undefined;
      }
    }
  }
}
