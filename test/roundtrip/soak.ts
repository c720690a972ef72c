// The long round-trip run, started by tools/soak.mjs (npm run soak), which passes its options in
// AZB_SOAK_OPTIONS and reads the summary from AZB_SOAK_REPORT. Random scenarios, one seed each, until the
// time is up or one fails; a failure is shrunk (for at most shrinkMinutes) and reported with its seed,
// path and the command that replays it. With `path`, replays that case (and shrinks it further).
import { writeFileSync } from 'node:fs';
import { afterAll, it } from 'vitest';
import { requireEngine } from '../helpers/engine.js';
import { checkProfile, failureReport, newStats, PROFILES, stopSharedAzurite, summarize, type ProfileName, type RunContext } from './run.js';
import type { DifferenceKind } from './manifest.js';

interface SoakOptions { minutes: number; seed: number; profile: ProfileName; path?: string; shrinkMinutes: number; ignore: DifferenceKind[]; keep: boolean; verbose: boolean }
const o = JSON.parse(process.env['AZB_SOAK_OPTIONS'] ?? '{}') as SoakOptions;
const report = process.env['AZB_SOAK_REPORT'];

afterAll(async () => { await stopSharedAzurite(); });

it('round trips until the time is up', async () => {
  requireEngine();
  if (!(o.profile in PROFILES)) throw new Error(`unknown profile ${o.profile}: one of ${Object.keys(PROFILES).join(', ')}`);
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s]`;
  const say = (l: string) => console.log(`${stamp()} ${l}`);
  const ctx: RunContext = { stats: newStats(), log: o.verbose ? say : () => undefined, keep: o.keep, ignore: o.ignore };
  const summary: Record<string, unknown> = { profile: o.profile, seed: o.seed, ignore: o.ignore };
  let failure: string | undefined;
  let lastSeed = o.seed;
  const shrinkFrom = async (seed: number, path: string) => {
    say(`shrinking (at most ${o.shrinkMinutes} min): seed ${seed}, path ${path}`);
    const shrinkCtx: RunContext = { ...ctx, stats: newStats() };
    const d = await checkProfile(o.profile, shrinkCtx, { seed, numRuns: 1, path, stopShrinkingAt: Date.now() + o.shrinkMinutes * 60_000 });
    summary['shrinkRuns'] = shrinkCtx.stats.scenarios;
    summary['shrinkRoundTrips'] = shrinkCtx.stats.roundTrips;
    return d;
  };
  if (o.path !== undefined) {
    const d = await shrinkFrom(o.seed, o.path);
    if (d.failed) failure = failureReport(o.profile, d, o.ignore);
    else say('the case passed');
  } else {
    const deadline = started + o.minutes * 60_000;
    for (let i = 0; Date.now() < deadline; i++) {
      const seed = (o.seed + i) | 0;
      lastSeed = seed;
      const before = ctx.stats.roundTrips;
      const t = Date.now();
      const d = await checkProfile(o.profile, ctx, { seed, numRuns: 1, endOnFailure: true });
      say(`scenario ${i + 1} (seed ${seed}): ${d.failed ? 'FAILED' : 'ok'}, ${ctx.stats.roundTrips - before} round trips in ${((Date.now() - t) / 1000).toFixed(0)} s; total ${ctx.stats.roundTrips} round trips`);
      if (d.failed) {
        say(`first failure, before shrinking:\n${failureReport(o.profile, d, o.ignore)}`);
        if (d.counterexamplePath === null) { failure = failureReport(o.profile, d, o.ignore); break; }
        const shrunk = await shrinkFrom(seed, d.counterexamplePath);
        failure = shrunk.failed ? failureReport(o.profile, shrunk, o.ignore) : `seed ${seed} failed once and passed when replayed (flaky?):\n${failureReport(o.profile, d, o.ignore)}\n${summarize(d.counterexample![0])}`;
        break;
      }
    }
  }
  Object.assign(summary, { lastSeed, scenarios: ctx.stats.scenarios, roundTrips: ctx.stats.roundTrips, backups: ctx.stats.backups, bytesCompared: ctx.stats.bytesCompared, seconds: Math.round((Date.now() - started) / 1000), failure: failure ?? null });
  if (report) writeFileSync(report, JSON.stringify(summary, null, 2));
  if (failure) throw new Error(failure);
});
