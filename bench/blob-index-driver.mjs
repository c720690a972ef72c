// Child process of the 10-million-blob index memory check (same approach as
// test/repo/blob-index-scale.test.ts): `node blob-index-driver.mjs <bundle.mjs> <blobs> <perPack> <samples> <presize 0|1>`.
// Fills a BlobIndex from a xorshift128 stream, checks sampled lookups, prints one JSON line.
import { pathToFileURL } from 'node:url';

const [bundle, ...rest] = process.argv.slice(2);
const [N, PER_PACK, SAMPLES, PRESIZE] = rest.map(Number);
const { BlobIndex } = await import(pathToFileURL(bundle).href);

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

const index = new BlobIndex(PRESIZE ? N : 0);
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

let okPresent = 0;
const t1 = performance.now();
for (let k = 0; k < SAMPLES; k++) {
  const got = index.get(sampleIds.subarray(k * 32, k * 32 + 32));
  const want = expected(k * every, samplePacks[k]);
  if (got && got.packId === want.packId && got.type === want.type && got.offset === want.offset && got.length === want.length && got.rawLength === want.rawLength) okPresent++;
}
const lookupMs = performance.now() - t1;
const absentStream = xorshift128(2);
let okAbsent = 0;
for (let k = 0; k < SAMPLES; k++) { fillId(absentStream); if (index.get(id) === undefined && !index.has(id)) okAbsent++; }

const mem = process.memoryUsage();
console.log(JSON.stringify({
  size: index.size, added, packCount: index.packCount, memoryBytes: index.memoryBytes(),
  rss: mem.rss, maxRss: process.resourceUsage().maxRSS * 1024, okPresent, okAbsent, samples: SAMPLES, addMs, lookupMs,
}));
