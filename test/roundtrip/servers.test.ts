// Quick round-trip run (part of npm test) on Azure Blob storage (Azurite): two servers back up into one
// vault at the same time, each its own chain, with `forget` of earlier points and `prune` between
// backups; every remaining point must still restore exactly, in full and by items, and check clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEngine } from '../helpers/engine.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { checkProfile, failureReport, newStats, type RunContext } from './run.js';

const SEED = Number(process.env['AZB_ROUNDTRIP_SEED'] ?? 20260101);
const verbose = process.env['AZB_ROUNDTRIP_VERBOSE'] === '1';

let azurite: AzuriteServer | undefined;
beforeAll(async () => { azurite = await startAzurite(); });
afterAll(async () => { await azurite?.stop(); });

describe('round trip with two servers on one Azure Blob vault (Azurite)', () => {
  it('keeps every remaining point exact through concurrent backups, forget and prune', async () => {
    requireEngine();
    const started = Date.now();
    const ctx: RunContext = { stats: newStats(), azurite: azurite!, log: verbose ? (l) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${l}`) : () => undefined };
    const details = await checkProfile('servers', ctx, { seed: SEED, numRuns: 1, endOnFailure: true });
    if (verbose) console.log(`servers: ${ctx.stats.roundTrips} round trips, ${ctx.stats.backups} backups, ${(ctx.stats.bytesCompared / 2 ** 20).toFixed(0)} MiB compared in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(details.failed, failureReport('servers', details)).toBe(false);
    expect(ctx.stats.roundTrips).toBeGreaterThanOrEqual(4);
    expect(ctx.stats.filesUnchanged, 'incremental backups take unchanged files from the metadata cache').toBeGreaterThan(0);
  }, 480_000);
});
