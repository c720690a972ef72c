// The server's index in memory (FORMAT.md section 8): blob ID -> pack, offset, lengths.
// It must hold ~10 million blobs with the whole process under 512 MB RSS, so it is not a Map of
// objects (~150+ bytes an entry) but an open-addressing hash table with linear probing in ONE
// Uint32Array: 32 bytes a slot, no per-entry JS object, nothing for the garbage collector to trace.
//
// Slot layout, 8 uint32 words:
//   0..3  the first 16 bytes of the blob ID, as 4 big-endian words
//   4     pack word: bit 31 = type (1 = tree), bits 0..30 = pack number + 1 (0 = empty slot, so an
//         all-zero blob ID needs no special case)
//   5     offset      6  length      7  rawLength
//
// Only 16 of the 32 ID bytes are stored and compared. That is deliberate: blob IDs are HMAC-SHA256
// outputs, uniformly random, so two distinct IDs among n blobs share their first 128 bits with
// probability ~n^2 / 2^129 (~1.5e-25 for 10 million): negligible, and it halves the key's memory.
// For the same reason word 0 is already a good hash: home slot = word0 % capacity, so the capacity
// need not be a power of two and can grow by x1.5 instead of x2.
//
// Pack IDs are not kept as JS strings either: 10M blobs of ~1 MiB fill ~625,000 16-MiB packs, and a
// Map<string, number> plus an array of the strings costs ~140 bytes a pack on the V8 heap (several
// times that when callers pass concatenated "rope" strings): ~90 MB the budget does not have.
// Storage IDs (64 lower-case hex digits, FORMAT.md) are kept as their 32 bytes in one Buffer and
// deduplicated by a second open-addressing table of pack numbers: ~45 bytes a pack. Any other pack
// ID string (tests, a future format) goes to a Map.

/** The kind of a blob: a file chunk or an encoded tree. */
export type BlobType = 'data' | 'tree';

/** Where one blob is stored: its pack and the encrypted blob's place in it, plus its plain size. */
export interface BlobLocation { packId: string; type: BlobType; offset: number; length: number; rawLength: number }

const WORDS_PER_SLOT = 8;
/** Bytes of a blob ID; only the first 16 are kept (see above). */
const ID_BYTES = 32;
const MAX_LOAD = 0.85;
const GROWTH = 1.5;
const MIN_SLOTS = 16;
const TYPE_BIT = 0x8000_0000;
const PACK_MASK = 0x7fff_ffff;
/** Pack numbers are stored + 1 in 31 bits (0 marks an empty slot). */
const MAX_PACKS = PACK_MASK - 1;
/** Home slots come from a uint32, so slots past 2^32 would never be home to anything. */
const MAX_SLOTS = 2 ** 32;
const UINT32_LIMIT = 2 ** 32;
/** A storage ID as FORMAT.md writes it: SHA-256, 64 lower-case hex digits. */
const STORAGE_ID = /^[0-9a-f]{64}$/;
const PACK_ID_BYTES = 32;
/** get() remembers this many pack ID strings (by pack number modulo), as restores read packs in runs. */
const RECENT_PACKS = 256;

/** Maps 32-byte blob IDs to their location in ~38 bytes a blob (32 / 0.85 at most) plus ~45 a pack. */
export class BlobIndex {
  private slots: Uint32Array;
  private slotCount: number;
  /** Most blobs the table holds before it grows (slotCount * MAX_LOAD). */
  private limit: number;
  private count = 0;
  private readonly packs = new PackTable();

  /** Pre-sizes for `expectedBlobs` so loading that many never rehashes (a rehash briefly needs 2.5x the table). */
  constructor(expectedBlobs = 0) {
    if (!Number.isSafeInteger(expectedBlobs) || expectedBlobs < 0) throw new RangeError(`expectedBlobs must be a non-negative integer, got ${expectedBlobs}`);
    let slotCount = Math.max(MIN_SLOTS, Math.ceil(expectedBlobs / MAX_LOAD));
    while (limitFor(slotCount) < expectedBlobs) slotCount++; // floating-point rounding of n / 0.85
    this.slotCount = slotCount;
    this.limit = limitFor(slotCount);
    this.slots = allocate(slotCount);
  }

  /** Adds a blob; returns false and keeps the first location when the ID is already present. */
  add(id: Uint8Array, loc: BlobLocation): boolean {
    checkId(id);
    checkUint32('offset', loc.offset);
    checkUint32('length', loc.length);
    checkUint32('rawLength', loc.rawLength);
    if (loc.type !== 'data' && loc.type !== 'tree') throw new RangeError(`blob type must be "data" or "tree", got ${String(loc.type)}`);
    const k0 = word(id, 0), k1 = word(id, 4), k2 = word(id, 8), k3 = word(id, 12);
    let at = this.find(k0, k1, k2, k3);
    if (at >= 0) return false;
    if (this.count + 1 > this.limit) {
      this.grow();
      at = this.find(k0, k1, k2, k3);
    }
    // The pack is registered only once a blob of it is really added, so packIds() lists no empty pack.
    const pack = this.packs.intern(loc.packId);
    const s = this.slots;
    const base = (-at - 1) * WORDS_PER_SLOT;
    s[base] = k0;
    s[base + 1] = k1;
    s[base + 2] = k2;
    s[base + 3] = k3;
    s[base + 4] = ((pack + 1) | (loc.type === 'tree' ? TYPE_BIT : 0)) >>> 0;
    s[base + 5] = loc.offset;
    s[base + 6] = loc.length;
    s[base + 7] = loc.rawLength;
    this.count++;
    return true;
  }

  /** The blob's location (a new object each call), or undefined when the index does not have it. */
  get(id: Uint8Array): BlobLocation | undefined {
    checkId(id);
    const at = this.find(word(id, 0), word(id, 4), word(id, 8), word(id, 12));
    if (at < 0) return undefined;
    const s = this.slots;
    const base = at * WORDS_PER_SLOT;
    const packWord = s[base + 4]!;
    return {
      packId: this.packs.id((packWord & PACK_MASK) - 1),
      type: packWord & TYPE_BIT ? 'tree' : 'data',
      offset: s[base + 5]!,
      length: s[base + 6]!,
      rawLength: s[base + 7]!,
    };
  }

  /** The blob's plain length, or undefined when the index has not got it: get() without making a location. */
  rawLengthOf(id: Uint8Array): number | undefined {
    checkId(id);
    const at = this.find(word(id, 0), word(id, 4), word(id, 8), word(id, 12));
    return at < 0 ? undefined : this.slots[at * WORDS_PER_SLOT + 7]!;
  }

  /** Whether the index has the blob. */
  has(id: Uint8Array): boolean {
    checkId(id);
    return this.find(word(id, 0), word(id, 4), word(id, 8), word(id, 12)) >= 0;
  }

  /** Number of blobs. */
  get size(): number { return this.count; }

  /** Number of distinct packs that hold at least one blob. */
  get packCount(): number { return this.packs.count; }

  /** Number of slots in the blob table (32 bytes each); it grows by x1.5 once more than 85 % full. */
  get capacity(): number { return this.slotCount; }

  /** Every pack ID that has at least one blob, each once, in the order first seen. */
  packIds(): string[] { return this.packs.all(); }

  /** Bytes held by the typed arrays (blob table, pack IDs, pack table), for reports. */
  memoryBytes(): number { return this.slots.byteLength + this.packs.memoryBytes(); }

  /** Slot index holding the key, or -(empty slot index) - 1 where it would go. */
  private find(k0: number, k1: number, k2: number, k3: number): number {
    const s = this.slots;
    const slotCount = this.slotCount;
    let i = k0 % slotCount;
    // Terminates: the load limit keeps at least one slot empty.
    for (;;) {
      const base = i * WORDS_PER_SLOT;
      if (s[base + 4] === 0) return -i - 1;
      if (s[base] === k0 && s[base + 1] === k1 && s[base + 2] === k2 && s[base + 3] === k3) return i;
      if (++i === slotCount) i = 0;
    }
  }

  /** Rehashes into a table 1.5 times as large (old and new coexist briefly). */
  private grow(): void {
    const slotCount = Math.min(MAX_SLOTS, Math.ceil(this.slotCount * GROWTH));
    if (slotCount <= this.slotCount) throw new RangeError(`the index cannot grow past ${this.slotCount} slots`);
    const old = this.slots;
    const next = allocate(slotCount);
    for (let base = 0; base < old.length; base += WORDS_PER_SLOT) {
      if (old[base + 4] === 0) continue;
      let i = old[base]! % slotCount;
      while (next[i * WORDS_PER_SLOT + 4] !== 0) if (++i === slotCount) i = 0;
      const to = i * WORDS_PER_SLOT;
      for (let w = 0; w < WORDS_PER_SLOT; w++) next[to + w] = old[base + w]!;
    }
    this.slots = next;
    this.slotCount = slotCount;
    this.limit = limitFor(slotCount);
  }
}

/** Pack ID <-> pack number (0, 1, 2, … in the order first seen). */
class PackTable {
  count = 0;
  /** 32 bytes per pack number: the storage ID's bytes, zero for a pack whose ID is not a storage ID. */
  private bytes = Buffer.alloc(PACK_ID_BYTES * 64);
  /** Storage-ID packs: pack number + 1 per slot, 0 = empty; home = first 4 ID bytes % length (SHA-256: uniform). */
  private table = new Uint32Array(128);
  private storageIdPacks = 0;
  /** Packs whose ID is not a storage ID (rare), both ways. */
  private readonly otherNumbers = new Map<string, number>();
  private readonly otherIds = new Map<number, string>();
  private readonly scratch = Buffer.alloc(PACK_ID_BYTES);
  // Blobs are added pack by pack (index files, pack footers), so the last pack answers most calls.
  private lastId: string | undefined;
  private lastNumber = 0;
  private readonly recentIds: (string | undefined)[] = new Array<string | undefined>(RECENT_PACKS).fill(undefined);
  private readonly recentNumbers = new Int32Array(RECENT_PACKS).fill(-1);

  /** The pack number of `id`, registering it when new. */
  intern(id: string): number {
    if (id === this.lastId) return this.lastNumber;
    let n: number | undefined;
    if (STORAGE_ID.test(id)) {
      this.scratch.write(id, 'hex');
      let at = this.find(this.scratch);
      if (at >= 0) {
        n = this.table[at]! - 1;
      } else {
        if ((this.storageIdPacks + 1) * 2 > this.table.length) {
          this.rehash(this.table.length * 2); // load <= 0.5: pack lookups are rare, keep them short
          at = this.find(this.scratch);
        }
        n = this.register();
        this.scratch.copy(this.bytes, n * PACK_ID_BYTES);
        this.table[-at - 1] = n + 1;
        this.storageIdPacks++;
      }
    } else {
      n = this.otherNumbers.get(id);
      if (n === undefined) {
        n = this.register();
        this.otherNumbers.set(id, n);
        this.otherIds.set(n, id);
      }
    }
    this.lastId = id;
    this.lastNumber = n;
    return n;
  }

  /** The pack ID of pack number `n` (< count). */
  id(n: number): string {
    const r = n % RECENT_PACKS;
    if (this.recentNumbers[r] === n) return this.recentIds[r]!;
    const id = this.idOf(n);
    this.recentNumbers[r] = n;
    this.recentIds[r] = id;
    return id;
  }

  /** Every pack ID, by pack number. */
  all(): string[] {
    const ids = new Array<string>(this.count);
    for (let n = 0; n < this.count; n++) ids[n] = this.idOf(n);
    return ids;
  }

  memoryBytes(): number { return this.bytes.length + this.table.byteLength; }

  private idOf(n: number): string {
    return (this.otherIds.size !== 0 ? this.otherIds.get(n) : undefined) ?? this.bytes.toString('hex', n * PACK_ID_BYTES, (n + 1) * PACK_ID_BYTES);
  }

  /** Takes the next pack number, making room for its 32 bytes. */
  private register(): number {
    if (this.count >= MAX_PACKS) throw new RangeError(`the index holds at most ${MAX_PACKS} packs`);
    const n = this.count;
    if ((n + 1) * PACK_ID_BYTES > this.bytes.length) {
      const bytes = Buffer.alloc(Math.ceil((this.bytes.length / PACK_ID_BYTES) * GROWTH) * PACK_ID_BYTES);
      this.bytes.copy(bytes);
      this.bytes = bytes;
    }
    this.count++;
    return n;
  }

  /** Table slot holding the storage-ID pack with these 32 bytes, or -(empty slot) - 1. */
  private find(key: Buffer): number {
    const t = this.table;
    const b = this.bytes;
    let i = key.readUInt32BE(0) % t.length;
    for (;;) {
      const v = t[i]!;
      if (v === 0) return -i - 1;
      if (key.compare(b, (v - 1) * PACK_ID_BYTES, v * PACK_ID_BYTES) === 0) return i;
      if (++i === t.length) i = 0;
    }
  }

  private rehash(size: number): void {
    const t = new Uint32Array(size);
    for (const v of this.table) {
      if (v === 0) continue;
      let i = this.bytes.readUInt32BE((v - 1) * PACK_ID_BYTES) % size;
      while (t[i] !== 0) if (++i === size) i = 0;
      t[i] = v;
    }
    this.table = t;
  }
}

function limitFor(slotCount: number): number {
  // Never let the table fill up: find() relies on an empty slot to stop.
  return Math.min(Math.floor(slotCount * MAX_LOAD), slotCount - 1);
}

function allocate(slotCount: number): Uint32Array {
  if (slotCount > MAX_SLOTS) throw new RangeError(`the index cannot hold ${slotCount} slots`);
  return new Uint32Array(slotCount * WORDS_PER_SLOT);
}

/** Reads 4 bytes big-endian byte by byte: IDs may be unaligned subarrays of larger Buffers. */
function word(id: Uint8Array, at: number): number {
  return ((id[at]! << 24) | (id[at + 1]! << 16) | (id[at + 2]! << 8) | id[at + 3]!) >>> 0;
}

function checkId(id: Uint8Array): void {
  if (id.length !== ID_BYTES) throw new RangeError(`a blob ID is ${ID_BYTES} bytes, got ${id.length}`);
}

function checkUint32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= UINT32_LIMIT) throw new RangeError(`${name} must be an integer in [0, 2^32), got ${value}`);
}
