// Memory test of BlobIndex at server scale: 10 million blobs must fit in 512 MiB of RSS for the whole
// process. Runs in a child Node process (so vitest's own memory does not count) on a bundle of
// core/repo/blob-index.ts made with esbuild. Times are printed for information, never asserted.
import { spawn } from 'node:child_process';
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

// The child is the bench's driver (bench/blob-index-driver.mjs): it fills a pre-sized index from a
// xorshift128 stream, checks sampled present IDs and IDs from another seed, and prints one JSON line.
const DRIVER = join(import.meta.dirname, '..', '..', 'bench', 'blob-index-driver.mjs');

interface DriverResult {
  size: number; added: number; packCount: number; memoryBytes: number; rss: number; maxRss: number;
  okPresent: number; okAbsent: number; samples: number; addMs: number; lookupMs: number;
}

async function runDriver(dir: string): Promise<DriverResult> {
  await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'core', 'repo', 'blob-index.ts')],
    outfile: join(dir, 'blob-index.mjs'),
    bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'silent',
  });
  const child = spawn(process.execPath, [DRIVER, join(dir, 'blob-index.mjs'), String(BLOBS), String(BLOBS_PER_PACK), String(SAMPLES), '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
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
    + `add ${((BLOBS / r.addMs) * 1000 / 1e6).toFixed(2)} M/s, present lookups ${((SAMPLES / r.lookupMs) * 1000 / 1e6).toFixed(2)} M/s`);
  expect(r.size).toBe(BLOBS);
  expect(r.added).toBe(BLOBS);
  expect(r.packCount).toBe(BLOBS / BLOBS_PER_PACK);
  expect(r.okPresent).toBe(SAMPLES);
  expect(r.okAbsent).toBe(SAMPLES);
  expect(r.rss).toBeLessThan(RSS_LIMIT);
  // The peak matters as much as the end state: pre-sizing means loading never held two tables.
  expect(r.maxRss).toBeLessThan(RSS_LIMIT);
}, 180_000);
