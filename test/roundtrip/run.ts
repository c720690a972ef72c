// Runs round-trip scenarios through the built engine's CLI and checks every restore against the source
// as it was when its point was taken. One scenario: a vault (local folder or Azurite), one or two servers
// each with a tree and a chain of backups (run at the same time, with forget and prune between backups);
// then every remaining point restored in full and by a few items, `points` and `check --read-data`.
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { runEngine, type EngineRun } from '../helpers/engine.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { materializeTree, scenarioArb, thresholdTreeArb, type MutationSpec, type ProfileLimits, type Scenario, type ServerPlan, type TreeSpec } from './gen.js';
import { applyMutation, type ChainState } from './mutate.js';
import { compareTree, formatDifferences, pathBytes, subtree, takeManifest, type Difference, type DifferenceKind, type Manifest } from './manifest.js';
import { Rng } from './content.js';
import { MiB } from './limits.js';

// ---------------------------------------------------------------------------------------------------
// Profiles: which scenarios a run draws.

export const PROFILES = {
  /** Quick CI run, local folder vault: a file at every threshold, one ≥ 300 MiB, a chain of two points (every kind of mutation between them). */
  thresholds: {
    limits: { maxFileBytes: 4 * MiB + 1, maxFiles: 6, maxDirs: 4, groups: [0, 0], maxGroupBigBytes: 17 * MiB, crowds: 0, hugeChance: 0, steps: [1, 1], maxMutations: 3, forget: false, everyOp: true, servers: [1, 1], backends: ['local'] },
    tree: 'thresholds',
  },
  /** Quick CI run on Azurite: two servers on one vault at once, three points each (every kind of mutation before each; a file turned into a folder turns back), forget and prune between backups. */
  servers: {
    limits: { maxFileBytes: 9 * MiB, maxFiles: 10, maxDirs: 4, groups: [1, 1], firstGroupInRoot: true, maxGroupBigBytes: 32 * MiB, crowds: 1, hugeChance: 0, steps: [2, 2], maxMutations: 3, forget: true, everyOp: true, servers: [2, 2], backends: ['azurite'] },
    tree: 'random',
  },
  /** Long runs: anything, on both backends. */
  soak: {
    limits: { maxFileBytes: 40 * MiB, maxFiles: 14, maxDirs: 6, groups: [0, 2], maxGroupBigBytes: 70 * MiB, crowds: 1, hugeChance: 8, steps: [1, 4], maxMutations: 6, forget: true, servers: [1, 2], backends: ['local', 'azurite'] },
    tree: 'random',
  },
} satisfies Record<string, { limits: ProfileLimits; tree: 'thresholds' | 'random' }>;
export type ProfileName = keyof typeof PROFILES;

/** The scenarios of a profile, each printed as its summary in fast-check's reports. */
export function profileArb(name: ProfileName): fc.Arbitrary<Scenario> {
  const p = PROFILES[name];
  const limits = p.limits as ProfileLimits;
  const arb = scenarioArb(limits, p.tree === 'thresholds' ? thresholdTreeArb(limits) : undefined);
  return arb.map((sc) => Object.defineProperty(sc, fc.toStringMethod, { value: () => summarize(sc), enumerable: false }));
}

// ---------------------------------------------------------------------------------------------------
// Summaries (what a failure report shows of a case)

function showTime(t: { s: number; us: number } | null): string {
  if (!t) return '';
  const iso = new Date(t.s * 1000).toISOString().slice(0, 19);
  return ` mtime ${iso}.${String(t.us).padStart(6, '0')}${t.s < 0 ? ' (before 1970)' : ''}`;
}

/** A tree spec in lines; folder numbers as materializeTree resolves them (#0 is the root). */
function summarizeTree(t: TreeSpec): string[] {
  const out: string[] = [];
  const folders = t.dirs.length + 1;
  const allFolders = folders + t.groups.filter((g) => !g.inRoot).length + t.crowds.length;
  const files = t.files.length + 2 * t.groups.length;
  for (const [i, d] of t.dirs.entries()) out.push(`  dir #${i + 1} "${d.name}" in #${d.parent % (i + 1)} mode ${d.mode.toString(8)}${showTime(d.mtime)}`);
  for (const f of t.files) out.push(`  file "${f.name}" in #${f.dir % folders} ${f.size} B ${f.kind} seed ${f.seed} mode ${f.mode.toString(8)}${showTime(f.mtime)}${f.owner ? ` owner ${f.owner.join(':')}` : ''}`);
  for (const g of t.groups) out.push(`  group${g.inRoot ? ' in root' : ''}: ${g.prefixSize} B ${g.prefixKind}, ${g.fillers} filler(s), then ${g.bigSize} B ${g.bigKind} (seed ${g.seed})`);
  for (const c of t.crowds) out.push(`  crowd: ${c.count} files of 0–${c.maxSize} B (seed ${c.seed})`);
  for (const h of t.hardlinks) out.push(`  hard links to file ${files ? h.file % files : '-'}: ${h.names.map((n) => `"${n.name}" in #${n.dir % allFolders}`).join(', ')}`);
  for (const l of t.links) out.push(`  symlink "${l.name}" in #${l.dir % allFolders} → ${JSON.stringify(l.target)}${showTime(l.mtime)}`);
  if (t.rootMtime) out.push(`  root${showTime(t.rootMtime)}`);
  return out;
}

function summarizeMutation(m: MutationSpec): string {
  const { op, ...rest } = m;
  return `${op} ${JSON.stringify(rest)}`;
}

export function summarize(sc: Scenario): string {
  const lines = [`scenario on ${sc.backend}, ${sc.servers.length} server(s)`];
  for (const [i, s] of sc.servers.entries()) {
    lines.push(`server ${i}: item seed ${s.itemSeed}; tree:`, ...summarizeTree(s.tree));
    for (const [k, st] of s.steps.entries()) {
      lines.push(`  step ${k + 1}: ${st.mutations.map(summarizeMutation).join('; ')}${st.forget.length ? `; then forget point index ${st.forget.join(',')}` : ''}${st.prune ? '; prune' : ''}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Servers and the engine

/** `filesUnchanged`: files incremental backups took from the metadata cache (the cache is in use, so a change it misses would show). */
export interface RunStats { scenarios: number; roundTrips: number; backups: number; bytesCompared: number; filesUnchanged: number; xattrEntriesCompared: number }
export interface RunContext {
  stats: RunStats;
  log: (line: string) => void;
  azurite?: AzuriteServer;
  /** Keep the temp folder of each scenario (its path is logged). */
  keep?: boolean;
  /** Kinds of difference not counted as failures (a known bug being fixed elsewhere), still logged. */
  ignore?: DifferenceKind[];
}

export function newStats(): RunStats {
  return { scenarios: 0, roundTrips: 0, backups: 0, bytesCompared: 0, filesUnchanged: 0, xattrEntriesCompared: 0 };
}

let sharedAzurite: Promise<AzuriteServer> | undefined;
/** One Azurite for the whole process (stopped by stopSharedAzurite). */
export function sharedAzuriteServer(): Promise<AzuriteServer> {
  return (sharedAzurite ??= startAzurite());
}
export async function stopSharedAzurite(): Promise<void> {
  const a = sharedAzurite;
  sharedAzurite = undefined;
  if (a) await (await a).stop();
}

interface Server {
  name: string;
  root: string;
  src: string;
  az(args: string[], extraEnv?: Record<string, string>): Promise<EngineRun>;
}

class EngineFailure extends Error {}

function tail(s: string, n = 600): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

/** Runs the engine; throws unless it exits with 0. */
async function ok(server: Server, args: string[], extraEnv?: Record<string, string>): Promise<EngineRun> {
  const r = await server.az(args, extraEnv);
  if (r.code !== 0) {
    const problems = r.events.filter((e) => e.type === 'error' || e.type === 'warning').map((e) => JSON.stringify(e)).join('\n    ');
    throw new EngineFailure(`${server.name}: azbackup ${args.join(' ')} exited with ${r.code}\n    ${problems || tail(r.stdout)}\n    stderr: ${tail(r.stderr, 300)}`);
  }
  return r;
}

function result(r: EngineRun, kind: string): Record<string, unknown> {
  const ev = r.events.find((e) => e.type === 'result' && e.kind === kind);
  if (!ev || ev.type !== 'result') throw new EngineFailure(`no ${kind} result in: ${tail(r.stdout)}`);
  return ev.data;
}

async function makeServer(o: { dir: string; vault: string; hostname: string; create: boolean; env: Record<string, string> }): Promise<Server> {
  const home = join(o.dir, 'home');
  mkdirSync(home, { recursive: true });
  const env = { ...o.env, AZBACKUP_HOME: home, AZBACKUP_CACHE: join(o.dir, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: `round trip passphrase of ${o.hostname}` };
  const server: Server = { name: o.hostname, root: o.dir, src: join(o.dir, 'src'), az: (args, extraEnv) => runEngine([...args, '--json'], { env: { ...env, ...extraEnv } }) };
  if (o.create) await ok(server, ['vault', 'create', o.vault]);
  const pw = join(o.dir, 'pfx.pw');
  writeFileSync(pw, 'round-trip-pfx-password', { mode: 0o600 }); // a password file others can read is refused
  await ok(server, ['cert', 'new', '--subject', `CN=${o.hostname}`, '-o', o.dir, '--password-file', pw]);
  await ok(server, ['vault', 'add-cert', join(o.dir, `${o.hostname}.cer`), '--vault', o.vault]);
  await ok(server, ['register', '--vault', o.vault, '--certificate', join(o.dir, `${o.hostname}.pfx`), '--password-file', pw, '--hostname', o.hostname]);
  return server;
}

// ---------------------------------------------------------------------------------------------------
// Chains and restores

interface Point { id: string; index: number; manifest: Manifest; changes: string[]; forgotten: boolean }

async function runChain(server: Server, plan: ServerPlan, ctx: RunContext): Promise<Point[]> {
  materializeTree(server.src, plan.tree);
  ctx.log(`${server.name}: tree made`);
  const points: Point[] = [];
  const state: ChainState = { step: 0, wereFiles: [] };
  const hashes = new Map<string, string>();
  for (let k = 0; k <= plan.steps.length; k++) {
    const step = k > 0 ? plan.steps[k - 1]! : undefined;
    state.step = k;
    const changes = step ? step.mutations.map((m) => applyMutation(server.src, m, state)) : ['(the tree as made)'];
    const manifest = takeManifest(server.src, { hashes });
    ctx.log(`${server.name}: manifest of point ${k} taken`);
    const r = await ok(server, ['backup', server.src]);
    const rp = result(r, 'RecoveryPoint');
    const id = String(rp['pointId']);
    ctx.stats.backups++;
    ctx.stats.filesUnchanged += Number(rp['filesUnchanged']);
    points.push({ id, index: k, manifest, changes, forgotten: false });
    ctx.log(`${server.name}: point ${k} ${id.slice(0, 12)} (${manifest.size} entries; files new ${rp['filesNew']}, changed ${rp['filesChanged']}, unchanged ${rp['filesUnchanged']})${step ? `: ${changes.join('; ')}` : ''}`);
    if (step && step.forget.length > 0) {
      const earlier = points.filter((p) => !p.forgotten && p.index < k);
      for (const f of step.forget) {
        const p = earlier[f % Math.max(1, earlier.length)];
        if (!p || p.forgotten) continue;
        // Three ways a point is forgotten: soft delete (purged by the prune below, which runs 15 days
        // later), at once, or soft delete and undelete (it stays, and is compared with the others).
        const how = (['soft', 'permanent', 'undelete'] as const)[f % 3]!;
        await ok(server, how === 'permanent' ? ['forget', '--permanent', p.id] : ['forget', p.id]);
        if (how === 'undelete') {
          await ok(server, ['undelete', p.id]);
          ctx.log(`${server.name}: forgot point ${p.index} and brought it back`);
          continue;
        }
        p.forgotten = true;
        ctx.log(`${server.name}: forgot point ${p.index} (${how})`);
      }
    }
    if (step?.prune) {
      const pr = await ok(server, ['prune'], { AZBACKUP_TEST_NOW: new Date(Date.now() + 15 * 86_400_000).toISOString() });
      ctx.log(`${server.name}: prune ${JSON.stringify(result(pr, 'PruneResult'))}`);
    }
  }
  return points;
}

/** A point path's argument form: each component as the engine lists it (UTF-8 as is, other names with \xNN). */
function itemArg(src: string, rel: string): string {
  const parts = rel.split('/').map((shown) => {
    const bytes = pathBytes(shown);
    const text = bytes.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(bytes)) return text;
    return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  });
  return `${src}/${parts.join('/')}`;
}

/** Items larger than this are chosen only when nothing smaller is there (the full restore has them anyway). */
const ITEM_BYTES = 64 * MiB;

/** A few files (and a symbolic link, sometimes) and one folder of a point, chosen by `seed`. */
function chooseItems(m: Manifest, seed: number): string[] {
  const rng = new Rng(seed);
  const entries = [...m.entries()].filter(([p]) => p !== '');
  const bytesUnder = (item: string) => [...subtree(m, item).values()].reduce((a, r) => a + (r.type === 'file' ? r.size : 0), 0);
  const small = (list: string[]) => { const s = list.filter((p) => bytesUnder(p) <= ITEM_BYTES); return s.length > 0 ? s : list; };
  const files = small(entries.filter(([, r]) => r.type === 'file').map(([p]) => p));
  const links = entries.filter(([, r]) => r.type === 'symlink').map(([p]) => p);
  const dirs = small(entries.filter(([, r]) => r.type === 'dir').map(([p]) => p));
  const chosen = new Set<string>();
  for (let i = 0; i < 3 && files.length > 0; i++) chosen.add(files[rng.int(0, files.length - 1)]!);
  if (links.length > 0 && rng.int(0, 2) === 0) chosen.add(links[rng.int(0, links.length - 1)]!);
  if (dirs.length > 0) chosen.add(dirs[rng.int(0, dirs.length - 1)]!);
  return [...chosen];
}

function ancestors(rel: string): string[] {
  const out = [''];
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

let restoreCount = 0;

/**
 * Restores a point (all of it, or items) into a fresh folder and compares; returns the differences.
 * Full restores keep setuid/setgid bits (--preserve-setuid); item restores run without it, and the
 * comparison expects those bits cleared on files (both behaviours are the engine's documented ones).
 */
async function restoreAndCompare(server: Server, point: Point, items: string[], ctx: RunContext): Promise<Difference[]> {
  const target = join(server.root, `restore-${restoreCount++}`);
  const preserveSetuid = items.length === 0;
  try {
    const args = ['restore', point.id, ...items.map((i) => itemArg(server.src, i)), '--target', target, ...(preserveSetuid ? ['--preserve-setuid'] : [])];
    const r = await server.az(args);
    const diffs: Difference[] = [];
    if (r.code !== 0) {
      diffs.push({ kind: 'missing', text: `restore exited with ${r.code}: ${r.events.filter((e) => e.type === 'error' || e.type === 'warning').map((e) => JSON.stringify(e)).join(' ') || tail(r.stdout)}` });
      if (r.code !== 3) return diffs;
    }
    let expected = point.manifest;
    const allowed = new Set<string>();
    if (items.length > 0) {
      expected = new Map();
      for (const i of items) for (const [p, rec] of subtree(point.manifest, i)) expected.set(p, rec);
      for (const i of items) for (const a of ancestors(i)) if (!expected.has(a)) allowed.add(a);
    }
    diffs.push(...compareTree(expected, join(target, server.src), { allowed, owners: process.getuid?.() === 0, setuidCleared: !preserveSetuid }));
    ctx.stats.roundTrips++;
    for (const rec of expected.values()) if (rec.type === 'file') ctx.stats.bytesCompared += rec.size;
    for (const rec of expected.values()) if (rec.xattrs !== undefined) ctx.stats.xattrEntriesCompared++;
    return diffs;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

/** Every remaining point of a server, in full and by items; the point list; check --read-data. */
async function verifyServer(server: Server, points: Point[], itemSeed: number, ctx: RunContext): Promise<string[]> {
  const failures: string[] = [];
  const listed = (await ok(server, ['points'])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['pointId']));
  const remaining = points.filter((p) => !p.forgotten).map((p) => p.id);
  if (listed.slice().sort().join() !== remaining.slice().sort().join()) {
    failures.push(`${server.name}: points lists ${listed.length} point(s) [${listed.map((p) => p.slice(0, 12)).join(', ')}], expected [${remaining.map((p) => p.slice(0, 12)).join(', ')}]`);
  }
  for (const p of points.filter((x) => !x.forgotten)) {
    const items = chooseItems(p.manifest, itemSeed + p.index);
    for (const [what, sel] of [['full restore', []], [`restore of items ${items.map((i) => JSON.stringify(i)).join(', ')}`, items]] as [string, string[]][]) {
      if (what !== 'full restore' && sel.length === 0) continue;
      const all = await restoreAndCompare(server, p, sel, ctx);
      const diffs = all.filter((d) => !ctx.ignore?.includes(d.kind));
      if (diffs.length < all.length) ctx.log(`${server.name}: point ${p.index}: ${all.length - diffs.length} difference(s) of ignored kinds`);
      ctx.log(`${server.name}: point ${p.index}, ${what.slice(0, 80)}: ${diffs.length === 0 ? 'identical' : `${diffs.length} difference(s)`}`);
      if (diffs.length > 0) {
        failures.push(`${server.name}, point ${p.index} (${p.id.slice(0, 12)}), ${what}:\n${formatDifferences(diffs)}`);
      }
    }
  }
  const check = await server.az(['check', '--read-data']);
  const summary = check.events.find((e) => e.type === 'result');
  const problems = summary?.type === 'result' ? Number(summary.data['problems']) : -1;
  if (check.code !== 0 || problems !== 0) failures.push(`${server.name}: check --read-data exited with ${check.code}, ${problems} problem(s): ${tail(check.stdout, 800)}`);
  return failures;
}

/** Runs one scenario; throws an Error listing every difference found. */
export async function runScenario(sc: Scenario, ctx: RunContext): Promise<void> {
  ctx.stats.scenarios++;
  const root = mkdtempSync(join(tmpdir(), 'azb-roundtrip-'));
  let container: { cs: string; name: string } | undefined;
  try {
    let vault: string;
    let env: Record<string, string> = {};
    if (sc.backend === 'azurite') {
      const az = ctx.azurite ?? (await sharedAzuriteServer());
      const name = `rt-${randomBytes(6).toString('hex')}`;
      vault = `${az.blobEndpoint}/${name}`;
      env = { AZBACKUP_STORAGE_CONNECTION_STRING: az.connectionString };
      container = { cs: az.connectionString, name };
    } else {
      vault = join(root, 'vault');
    }
    ctx.log(`scenario ${ctx.stats.scenarios}: ${sc.backend}, ${sc.servers.length} server(s), ${sc.servers.map((s) => `${s.steps.length + 1} points`).join(' + ')} (${root})`);
    const first = await makeServer({ dir: join(root, 's0'), vault, hostname: 'rt-srv0', create: true, env });
    const servers = [first, ...(await Promise.all(sc.servers.slice(1).map((_, i) => makeServer({ dir: join(root, `s${i + 1}`), vault, hostname: `rt-srv${i + 1}`, create: false, env }))))];
    // The chains run at the same time: two servers writing to one vault.
    ctx.log(`registered ${servers.length} server(s)`);
    const chains = await Promise.all(sc.servers.map((plan, i) => runChain(servers[i]!, plan, ctx)));
    const failures: string[] = [];
    for (const [i, s] of servers.entries()) failures.push(...(await verifyServer(s, chains[i]!, sc.servers[i]!.itemSeed, ctx)));
    if (failures.length > 0) {
      const chainsShown = servers.map((s, i) => `${s.name}: ${chains[i]!.map((p) => `point ${p.index}${p.forgotten ? ' (forgotten)' : ''}: ${p.changes.join('; ')}`).join('\n    ')}`);
      throw new Error(`round trip differences (${sc.backend} vault):\n  ${failures.join('\n  ')}\nthe chains:\n  ${chainsShown.join('\n  ')}`);
    }
  } finally {
    if (ctx.keep) ctx.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
    if (container && !ctx.keep) {
      await BlobServiceClient.fromConnectionString(container.cs).getContainerClient(container.name).deleteIfExists().catch(() => undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Running a property

/**
 * `stopShrinkingAt`: after this time (ms since 1970) every further case passes at once without running,
 * so shrinking ends with the smallest failing case found so far (the first run always runs).
 */
export interface CheckOptions { seed: number; numRuns: number; path?: string; endOnFailure?: boolean; stopShrinkingAt?: number }

/** fast-check over a profile's scenarios; returns fast-check's run details. */
export async function checkProfile(profile: ProfileName, ctx: RunContext, o: CheckOptions): Promise<fc.RunDetails<[Scenario]>> {
  let runs = 0;
  const details = await fc.check(fc.asyncProperty(profileArb(profile), async (sc) => {
    if (runs++ > 0 && o.stopShrinkingAt !== undefined && Date.now() > o.stopShrinkingAt) return;
    await runScenario(sc, ctx);
  }), {
    seed: o.seed,
    numRuns: o.numRuns,
    ...(o.path !== undefined ? { path: o.path } : {}),
    endOnFailure: o.endOnFailure ?? false,
  });
  return details as fc.RunDetails<[Scenario]>;
}

/** The command that replays (and shrinks further) a failing case. */
export function replayCommand(profile: ProfileName, seed: number, path: string, ignore: DifferenceKind[] = []): string {
  return `npm run soak -- --profile ${profile} --seed ${seed} --path '${path}'${ignore.length ? ` --ignore '${ignore.join(',')}'` : ''}`;
}

/** What a failed check prints: seed, path, the replay command, the case and what differed. */
export function failureReport(profile: ProfileName, d: fc.RunDetails<[Scenario]>, ignore: DifferenceKind[] = []): string {
  if (!d.failed) return 'passed';
  if (d.counterexample === null) return `profile ${profile}, seed ${d.seed}: ${d.interrupted ? 'interrupted' : 'failed'} without a counterexample`;
  const err = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
  return [
    `round trip FAILED — profile ${profile}, seed ${d.seed}, path ${d.counterexamplePath} (${d.numRuns} run(s), shrunk ${d.numShrinks} time(s))`,
    `replay: ${replayCommand(profile, d.seed, d.counterexamplePath, ignore)}`,
    `case:\n${summarize(d.counterexample[0])}`,
    `what differed:\n${err}`,
  ].join('\n');
}

