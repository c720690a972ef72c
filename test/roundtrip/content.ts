// Deterministic file content for the round-trip suite: the same (kind, seed) always gives the same bytes
// at the same offsets, so a failing case replays exactly. Fast (a JS xorshift, ~1 GB/s here) because the
// suite writes hundreds of MiB per run.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * random: incompressible; text: compressible (skewed letters, words, lines), never periodic;
 * mixed: alternating runs of random and text; sparse: holes with bursts of data (made with truncate and
 * positional writes); zero: zeros written out (no holes).
 */
export type ContentKind = 'random' | 'text' | 'mixed' | 'sparse' | 'zero';
export const CONTENT_KINDS: readonly ContentKind[] = ['random', 'text', 'mixed', 'sparse', 'zero'];

/** Bytes of content at once (keeps memory small for 300 MiB files). */
const PIECE = 4 * 1024 * 1024;
/** Random bytes come in blocks of this size, each from its own generator state (position-addressable). */
const BLOCK = 64 * 1024;

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A small seeded generator for decisions (run lengths, burst places), not for bulk bytes. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = splitmix32(seed ^ 0x5bd1e995) || 1; }
  next(): number { this.s = splitmix32(this.s); return this.s; }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor((this.next() / 2 ** 32) * (hi - lo + 1)); }
  /** Roughly log-uniform integer in [lo, hi] (lo ≥ 1). */
  logInt(lo: number, hi: number): number { return Math.min(hi, Math.max(lo, Math.round(Math.exp(Math.log(lo) + (this.next() / 2 ** 32) * (Math.log(hi) - Math.log(lo)))))); }
}

/** Fills `out` with the random stream of `seed` from byte `offset`. */
function randomInto(seed: number, offset: number, out: Uint8Array): void {
  let done = 0;
  while (done < out.length) {
    const block = Math.floor((offset + done) / BLOCK);
    const within = (offset + done) % BLOCK;
    const n = Math.min(BLOCK - within, out.length - done);
    const words = new Uint32Array(Math.ceil((within + n) / 4));
    let s0 = splitmix32(seed ^ Math.imul(block, 0x27d4eb2d)) | 1;
    let s1 = splitmix32(s0 + block);
    let s2 = splitmix32(s1 ^ 0x165667b1);
    let s3 = splitmix32(s2 + seed);
    for (let i = 0; i < words.length; i++) {
      const t = s0 ^ (s0 << 11);
      s0 = s1; s1 = s2; s2 = s3;
      s3 = (s3 ^ (s3 >>> 19)) ^ (t ^ (t >>> 8));
      words[i] = s3;
    }
    out.set(new Uint8Array(words.buffer, within, n), done);
    done += n;
  }
}

// Text: a byte of the random stream picks a character with English-like frequencies, so the data
// compresses to about half but never repeats.
const TEXT_TABLE = (() => {
  const weights: [string, number][] = [[' ', 36], ['e', 24], ['t', 18], ['a', 16], ['o', 15], ['i', 14], ['n', 14], ['s', 12], ['h', 12], ['r', 11], ['d', 8], ['l', 8], ['u', 6], ['c', 6], ['m', 5], ['w', 4], ['f', 4], ['g', 4], ['y', 4], ['p', 4], ['b', 3], ['\n', 3], [',', 2], ['.', 2], ['v', 2], ['k', 2], ['T', 1], ['I', 1], ['x', 1], ['j', 1], ['q', 1], ['z', 1], ['0', 1], ['1', 1], ['2', 1], ['-', 1]];
  const table = new Uint8Array(256);
  const total = weights.reduce((a, [, w]) => a + w, 0);
  let i = 0;
  for (const [ch, w] of weights) {
    const n = Math.round((w / total) * 256);
    for (let k = 0; k < n && i < 256; k++) table[i++] = ch.charCodeAt(0);
  }
  while (i < 256) table[i++] = 0x20;
  return table;
})();

function textInto(seed: number, offset: number, out: Uint8Array): void {
  randomInto(seed ^ 0x7e57, offset, out);
  for (let i = 0; i < out.length; i++) out[i] = TEXT_TABLE[out[i]!]!;
}

/** Runs of a mixed file, or the bursts of a sparse one: [start, length, random?] in order. */
interface Run { start: number; length: number; random: boolean }
const runCache = new Map<string, Run[]>();

function mixedRuns(seed: number, size: number): Run[] {
  const key = `m:${seed}:${size}`;
  let runs = runCache.get(key);
  if (!runs) {
    runs = [];
    const rng = new Rng(seed);
    let random = (rng.next() & 1) === 1;
    for (let at = 0; at < size;) {
      const length = Math.min(size - at, rng.logInt(512, 3 * 1024 * 1024));
      runs.push({ start: at, length, random });
      at += length;
      random = !random;
    }
    cacheRuns(key, runs);
  }
  return runs;
}

/** Bursts of data in a sparse file: gaps of 64 KiB–24 MiB (never less than one block of holes), 1 B–1 MiB of data. */
function sparseBursts(seed: number, size: number): Run[] {
  const key = `s:${seed}:${size}`;
  let runs = runCache.get(key);
  if (!runs) {
    runs = [];
    const rng = new Rng(seed ^ 0x5a5a);
    for (let at = rng.logInt(1, 4 * 1024 * 1024) - 1; at < size;) {
      const length = Math.min(size - at, rng.logInt(1, 1024 * 1024));
      runs.push({ start: at, length, random: (rng.next() & 1) === 1 });
      at += length + rng.logInt(64 * 1024, 24 * 1024 * 1024);
    }
    cacheRuns(key, runs);
  }
  return runs;
}

function cacheRuns(key: string, runs: Run[]): void {
  if (runCache.size > 64) runCache.clear();
  runCache.set(key, runs);
}

/** The bytes [offset, offset + out.length) of content (kind, seed) for a file of `size` bytes. */
export function contentInto(kind: ContentKind, seed: number, size: number, offset: number, out: Uint8Array): void {
  switch (kind) {
    case 'random': return randomInto(seed, offset, out);
    case 'text': return textInto(seed, offset, out);
    case 'zero': out.fill(0); return;
    case 'mixed':
    case 'sparse': {
      out.fill(0);
      const runs = kind === 'mixed' ? mixedRuns(seed, size) : sparseBursts(seed, size);
      const end = offset + out.length;
      for (const r of runs) {
        if (r.start + r.length <= offset) continue;
        if (r.start >= end) break;
        const from = Math.max(offset, r.start);
        const to = Math.min(end, r.start + r.length);
        const view = out.subarray(from - offset, to - offset);
        if (r.random) randomInto(seed + r.start, from, view); else textInto(seed + r.start, from, view);
      }
    }
  }
}

/**
 * Writes content (kind, seed) of a file of `size` bytes into [offset, offset + length) of an open file.
 * Sparse content writes only its bursts (the rest stays as it is: holes in a new file).
 */
export function writeContent(fd: number, kind: ContentKind, seed: number, size: number, offset = 0, length = size - offset): void {
  if (kind === 'sparse') {
    const end = offset + length;
    for (const r of sparseBursts(seed, size)) {
      if (r.start + r.length <= offset) continue;
      if (r.start >= end) break;
      const from = Math.max(offset, r.start);
      const to = Math.min(end, r.start + r.length);
      const buf = Buffer.allocUnsafe(to - from);
      if (r.random) randomInto(seed + r.start, from, buf); else textInto(seed + r.start, from, buf);
      writeAll(fd, buf, from);
    }
    return;
  }
  const buf = Buffer.allocUnsafe(Math.min(PIECE, Math.max(length, 1)));
  for (let at = offset; at < offset + length;) {
    const n = Math.min(buf.length, offset + length - at);
    const view = buf.subarray(0, n);
    contentInto(kind, seed, size, at, view);
    writeAll(fd, view, at);
    at += n;
  }
}

function writeAll(fd: number, buf: Uint8Array, position: number): void {
  for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

/** Creates (or replaces the content of) a file with `size` bytes of content (kind, seed). */
export function createFile(path: Buffer, kind: ContentKind, seed: number, size: number, mode = 0o644): void {
  const fd = openSync(path, 'w', mode);
  try {
    if (kind === 'sparse') ftruncateSync(fd, size);
    writeContent(fd, kind, seed, size);
  } finally {
    closeSync(fd);
  }
}
