// Memory test of BlobIndex at server scale: 10 million blobs must fit in 512 MiB of RSS for the whole
// process. Runs in a child Node process (so vitest's own memory does not count) on a bundle of
// core/repo/blob-index.ts made with esbuild. Times are printed for information, never asserted.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const BLOBS = 10_000_000;
/** 16 MiB packs (FORMAT.md section 7) of 1 MiB average chunks (the config's avgSize): about the most packs 10M blobs can need. */
const BLOBS_PER_PACK = 16;
const SAMPLES = 100_000;
const MIB = 1024 * 1024;
const RSS_LIMIT = 512 * MIB;

// The child: fills the index from a xorshift128 stream (four consecutive outputs are the whole
// generator state, so the 16-byte keys are all distinct), then checks sampled present IDs and IDs
// from another seed. Pack IDs are 64-hex strings, like real SHA-256 storage IDs.
const DRIVER = String.raw`
import { BlobIndex } from './blob-index.mjs';
const [N, PER_PACK, SAMPLES] = process.argv.slice(2).map(Number);
function xorshift128(seed) {
  let x = 123456789 ^ seed, y = 362436069, z = 521288629, w = 88675123 ^ Math.imul(seed, 7919);
  const next = () => { const t = x ^ (x << 11); x = y; y = z; z = w; w = (w ^ (w >>> 19) ^ t ^ (t >>> 8)) >>> 0; return w; };
  for (let i = 0; i < 20; i++) next();
  return next;
}
const id = new Uint8Array(32);
const idWords = new DataView(id.buffer);
function fillId(next) { for (let i = 0; i < 32; i += 4) idWords.setUint32(i, next()); }
function hexId(next) { let s = ''; for (let i = 0; i < 8; i++) s += next().toString(16).padStart(8, '0'); return s; }
function expected(i, packId) {
  return { packId, type: i % 7 === 0 ? 'tree' : 'data', offset: Math.imul(i, 2654435761) >>> 0, length: (i * 40503) % 16777216, rawLength: i };
}

const index = new BlobIndex(N);
const every = Math.floor(N / SAMPLES);
const sampleIds = new Uint8Array(SAMPLES * 32);
const samplePacks = [];
const blobStream = xorshift128(1);
const packStream = xorshift128(99);
let packId = '';
let added = 0;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  if (i % PER_PACK === 0) packId = hexId(packStream);
  fillId(blobStream);
  if (index.add(id, expected(i, packId))) added++;
  if (i % every === 0 && i / every < SAMPLES) { sampleIds.set(id, (i / every) * 32); samplePacks.push(packId); }
}
const addMs = performance.now() - t0;
const afterAdd = process.memoryUsage().rss;

let okPresent = 0;
const t1 = performance.now();
for (let k = 0; k < SAMPLES; k++) {
  const got = index.get(sampleIds.subarray(k * 32, k * 32 + 32));
  const want = expected(k * every, samplePacks[k]);
  if (got && got.packId === want.packId && got.type === want.type && got.offset === want.offset && got.length === want.length && got.rawLength === want.rawLength) okPresent++;
}
const presentMs = performance.now() - t1;
const absentStream = xorshift128(2);
let okAbsent = 0;
const t2 = performance.now();
for (let k = 0; k < SAMPLES; k++) { fillId(absentStream); if (index.get(id) === undefined && !index.has(id)) okAbsent++; }
const absentMs = performance.now() - t2;

const mem = process.memoryUsage();
console.log(JSON.stringify({
  size: index.size, added, packCount: index.packCount, memoryBytes: index.memoryBytes(),
  rss: mem.rss, rssAfterAdd: afterAdd, maxRss: process.resourceUsage().maxRSS * 1024,
  heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers,
  okPresent, okAbsent, addMs, presentMs, absentMs,
}));
`;

interface DriverResult {
  size: number; added: number; packCount: number; memoryBytes: number;
  rss: number; rssAfterAdd: number; maxRss: number; heapUsed: number; arrayBuffers: number;
  okPresent: number; okAbsent: number; addMs: number; presentMs: number; absentMs: number;
}

async function runDriver(dir: string): Promise<DriverResult> {
  await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'core', 'repo', 'blob-index.ts')],
    outfile: join(dir, 'blob-index.mjs'),
    bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'silent',
  });
  const driver = join(dir, 'driver.mjs');
  writeFileSync(driver, DRIVER);
  const child = spawn(process.execPath, [driver, String(BLOBS), String(BLOBS_PER_PACK), String(SAMPLES)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  expect(code, `driver failed: ${stderr}`).toBe(0);
  return JSON.parse(stdout) as DriverResult;
}

it(`holds ${BLOBS.toLocaleString('en')} blobs in under 512 MiB of process RSS, all lookups correct`, async () => {
  const r = await runDriver(tempDir('azb-blob-index-'));
  const mib = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;
  console.log(`BlobIndex ${BLOBS} blobs / ${r.packCount} packs: typed arrays ${mib(r.memoryBytes)}, rss ${mib(r.rss)} (peak ${mib(r.maxRss)}), `
    + `add ${((BLOBS / r.addMs) * 1000 / 1e6).toFixed(2)} M/s, present lookups ${((SAMPLES / r.presentMs) * 1000 / 1e6).toFixed(2)} M/s, `
    + `absent lookups ${((SAMPLES / r.absentMs) * 1000 / 1e6).toFixed(2)} M/s`);
  expect(r.size).toBe(BLOBS);
  expect(r.added).toBe(BLOBS);
  expect(r.packCount).toBe(BLOBS / BLOBS_PER_PACK);
  expect(r.okPresent).toBe(SAMPLES);
  expect(r.okAbsent).toBe(SAMPLES);
  expect(r.rss).toBeLessThan(RSS_LIMIT);
  // The peak matters as much as the end state: pre-sizing means loading never held two tables.
  expect(r.maxRss).toBeLessThan(RSS_LIMIT);
}, 180_000);
