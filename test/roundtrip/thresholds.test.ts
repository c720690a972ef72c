// Quick round-trip run (part of npm test), local folder vault: a tree with a file just below, at and
// just above every threshold of the read path (and multiples, and powers of two), one of at least
// 300 MiB, a 40–70 MiB random file read right after a 1–2 MiB one by the same worker, crowds of small
// files; a second point after one of every kind of mutation; every point restored in full and by items
// and compared byte for byte with the source as it was. Seeded: the same case on every run.
import { describe, expect, it } from 'vitest';
import { requireEngine } from '../helpers/engine.js';
import { checkProfile, failureReport, newStats, type RunContext } from './run.js';

const SEED = Number(process.env['AZB_ROUNDTRIP_SEED'] ?? 20260101);
const verbose = process.env['AZB_ROUNDTRIP_VERBOSE'] === '1';

describe('round trip over every read-path threshold (local folder vault)', () => {
  it('restores both points of an incremental chain exactly, in full and by items', async () => {
    requireEngine();
    const started = Date.now();
    const ctx: RunContext = { stats: newStats(), log: verbose ? (l) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${l}`) : () => undefined };
    const details = await checkProfile('thresholds', ctx, { seed: SEED, numRuns: 1, endOnFailure: true });
    if (verbose) console.log(`thresholds: ${ctx.stats.roundTrips} round trips, ${ctx.stats.backups} backups, ${(ctx.stats.bytesCompared / 2 ** 20).toFixed(0)} MiB compared in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(details.failed, failureReport('thresholds', details)).toBe(false);
    expect(ctx.stats.roundTrips).toBeGreaterThanOrEqual(4);
    expect(ctx.stats.filesUnchanged, 'incremental backups take unchanged files from the metadata cache').toBeGreaterThan(0);
    expect(ctx.stats.xattrEntriesCompared, 'restored entries compared with their user.* attributes').toBeGreaterThan(0);
  }, 480_000);
});
