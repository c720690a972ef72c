// `npm run bench`: azbackup and restic side by side on the same corpus, in the same run.
// Measures initial backup, unchanged re-run, re-run after 5 % of the files changed, full restore,
// repository size and peak RSS; prints a markdown table with ratios against the issue's targets and
// writes it (with machine, corpus and versions) to bench/results.md. `--help` lists the options.
// This is a benchmark, not a test: it never fails on a missed target, only on a broken tool.
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync,
} from 'node:fs';
import { cpus, totalmem, hostname, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { compareTrees, generateCorpus, generateSmallFiles, listFiles, modifyFiles } from './corpus.mjs';
import { fleetSection, runFleet } from './fleet.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

const HELP = `npm run bench -- [options]

  --work DIR          work folder for corpus, vaults, repos, restores (default /tmp/azb-bench)
  --source DIR        back up this existing folder instead of generating a corpus (read-only: the
                      5 % change phase is skipped unless --copy-source copies it into the work folder)
  --copy-source       with --source: copy it into the work folder first, so the change phase can run
  --size-mib N        size in MiB of the generated corpus's mixed files (default 1024); the large
                      files of --large come on top
  --files N           number of mixed files in the generated corpus (default 10000)
  --large LIST        large files added to the generated corpus, sizes in MiB separated by commas
                      (default 33,48,64,100,320: 565 MiB of mixed text, binary, random and zeros);
                      'none' for no large file
  --seed N            corpus seed (default 1); same seed + size + files + large = identical corpus
  --scale             also run the scale checks: 200,000 small files backup, 10M-blob index memory
  --no-scale          skip them (default: run the index memory check only; see bench/README.md)
  --scale-only        run only the scale checks (report goes to bench/results-scale.md by default)
  --scale-files N     file count of the small-files scale run (default 200000)
  --timeout-min N     kill a timed step that runs longer than N minutes (default 60) and report it
  --no-restic         do not run restic even if it is installed
  --warm              do not drop the page cache before each timed step
  --results FILE      where to write the report (default bench/results.md, or results-scale.md with
                      --scale-only; '-' = do not write)
  --keep              keep corpus, vaults, repos and restores in the work folder
  --fleet N           instead of the comparison: N servers back up into one Azurite vault at once,
                      some pruning meanwhile; restores compared, check --read-data, server list and
                      fleet report verified (bench/README.md "Fleet"); writes the fleet section of
                      --results (default bench/results.md). --fleet 3 --results - is the smoke run
  --fleet-mib N       data per fleet server in MiB, a third of it the same in every server (default 3)
`;

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  allowNegative: true,
  options: {
    work: { type: 'string', default: '/tmp/azb-bench' },
    source: { type: 'string' },
    'copy-source': { type: 'boolean', default: false },
    'size-mib': { type: 'string', default: '1024' },
    files: { type: 'string', default: '10000' },
    large: { type: 'string', default: '33,48,64,100,320' },
    seed: { type: 'string', default: '1' },
    scale: { type: 'boolean' },
    'scale-only': { type: 'boolean', default: false },
    'timeout-min': { type: 'string', default: '60' },
    'scale-files': { type: 'string', default: '200000' },
    'index-blobs': { type: 'string', default: '10000000' },
    restic: { type: 'boolean', default: true },
    azurite: { type: 'boolean', default: true },
    warm: { type: 'boolean', default: false },
    results: { type: 'string' },
    keep: { type: 'boolean', default: false },
    fleet: { type: 'string' },
    'fleet-mib': { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) { process.stdout.write(HELP); process.exit(0); }

const num = (name) => {
  const v = Number(opt[name]);
  if (!Number.isSafeInteger(v) || v <= 0) { process.stderr.write(`bench: --${name} needs a positive integer, not '${opt[name]}'\n`); process.exit(2); }
  return v;
};
const WORK = resolve(opt.work);
const SIZE_MIB = num('size-mib');
const FILES = num('files');
const SEED = num('seed');
/** Sizes in MiB of the large files added to the generated corpus. */
const LARGE_MIB = opt.large === 'none' ? [] : opt.large.split(',').map((v) => {
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n) || n <= 0) { process.stderr.write(`bench: --large needs sizes in MiB separated by commas (or 'none'), not '${opt.large}'\n`); process.exit(2); }
  return n;
});
const SCALE_FILES = num('scale-files');
const INDEX_BLOBS = num('index-blobs');
/** Full scale run (200k files) only with --scale; the index memory check unless --no-scale. */
const SCALE_ONLY = opt['scale-only'];
const RUN_MAIN = !SCALE_ONLY;
const RUN_SMALL_FILES = opt.scale === true || SCALE_ONLY;
const RUN_INDEX_CHECK = opt.scale !== false || SCALE_ONLY;
const TIMEOUT_MS = Number(opt['timeout-min']) * 60_000;
if (!(TIMEOUT_MS > 0)) { process.stderr.write(`bench: --timeout-min needs a positive number, not '${opt['timeout-min']}'\n`); process.exit(2); }
const FLEET = opt.fleet === undefined ? undefined : num('fleet');
const FLEET_MIB = num('fleet-mib');
const RESULTS = opt.results ?? join(ROOT, 'bench', SCALE_ONLY ? 'results-scale.md' : 'results.md');
const PASSPHRASE = 'bench-passphrase-correct-horse-battery';
const started = Date.now();

const log = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${msg}\n`);
const problems = [];
const notes = [];
function problem(msg) { problems.push(msg); log(`PROBLEM: ${msg.split('\n')[0]}`); }

// ---------------------------------------------------------------- helpers

const fmtS = (ms) => (ms === undefined ? '—' : ms >= 100_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMiB = (b) => (b === undefined ? '—' : b >= 10 * GIB ? `${(b / GIB).toFixed(1)} GiB` : `${(b / MIB).toFixed(1)} MiB`);
const fmtN = (n) => n.toLocaleString('en');

function du(path) {
  if (!existsSync(path)) return 0;
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

function rmrf(p) { rmSync(p, { recursive: true, force: true }); }

let cacheMode = 'cold';
function dropCaches() {
  if (cacheMode !== 'cold') return;
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
let timeSeq = 0;

/** The last ~64 KiB of a stream, and the arrival times of azbackup progress statuses. */
function collector(track) {
  const c = { text: '', phases: [], t0: performance.now(), partial: '' };
  c.add = (chunk) => {
    c.text = (c.text + chunk).slice(-65536);
    if (!track) return;
    const lines = (c.partial + chunk).split('\n');
    c.partial = lines.pop();
    for (const line of lines) {
      if (c.firstAt === undefined && line.startsWith('{')) c.firstAt = performance.now() - c.t0;
      if (!line.startsWith('{"type":"progress"')) continue;
      try {
        const ev = JSON.parse(line);
        // "12/400 files, 3.1 MiB/1.0 GiB at ..." is one phase however its numbers change.
        const key = /^\d/.test(String(ev.status)) ? 'files/bytes progress' : String(ev.status).replace(/\d[\d.,]*(\s*[KMG]iB)?/g, 'N').slice(0, 60);
        c.lastStatus = String(ev.status);
        const last = c.phases[c.phases.length - 1];
        const at = performance.now() - c.t0;
        if (!last || last.key !== key) c.phases.push({ key, at, example: String(ev.status) });
      } catch { /* partial or non-JSON line */ }
    }
  };
  return c;
}

/**
 * Runs a command once, timed; peak RSS from GNU time's %M (the child's ru_maxrss) or, without
 * /usr/bin/time, from polling VmHWM in /proc/<pid>/status. Drops the page cache first (cold runs).
 */
async function measure(cmd, args, env, { track = false } = {}) {
  dropCaches();
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const tf = join(WORK, `.time-${timeSeq++}`);
  const [file, argv] = TIME_BIN ? [TIME_BIN, ['-f', '%M %U %S', '-o', tf, cmd, ...args]] : [cmd, args];
  const out = collector(track);
  const err = collector(false);
  const t0 = performance.now();
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  out.t0 = t0;
  child.stdout.setEncoding('utf8').on('data', out.add);
  child.stderr.setEncoding('utf8').on('data', err.add);
  let polledHwm = 0;
  const poll = TIME_BIN ? undefined : setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) polledHwm = Math.max(polledHwm, Number(m[1]));
    } catch { /* exited */ }
  }, 20);
  // On timeout kill the measured process itself (not /usr/bin/time, so it still reports %M).
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    let pids = [];
    try { pids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* gone */ }
    if (!TIME_BIN || pids.length === 0) pids = [child.pid];
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }, TIMEOUT_MS);
  const code = await new Promise((res, rej) => { child.on('error', rej); child.on('close', (c, sig) => res(c ?? (sig ? 128 : -1))); });
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  if (poll) clearInterval(poll);
  let rssKiB = polledHwm, cpuS;
  if (TIME_BIN) {
    const lines = existsSync(tf) ? readFileSync(tf, 'utf8').trim().split('\n') : [''];
    const [m, u, s] = lines[lines.length - 1].split(' ').map(Number);
    rssKiB = m || 0; cpuS = u + s;
    rmSync(tf, { force: true });
  }
  let result;
  for (const line of out.text.trim().split('\n').reverse()) {
    try { const j = JSON.parse(line); if (j && (j.type === 'result' || j.message_type === 'summary')) { result = j; break; } } catch { /* not JSON */ }
  }
  return { code, wallMs, rss: rssKiB * 1024, cpuS, stdout: out.text, stderr: err.text, result, phases: out.phases, firstAt: out.firstAt, load, timedOut, lastStatus: out.lastStatus };
}

function tail(s, n = 6) { return s.trim().split('\n').slice(-n).map((l) => (l.length > 400 ? l.slice(0, 400) + ' …' : l)).join('\n'); }

// ---------------------------------------------------------------- tools

function run(cmd, args, env, what) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { ...r, what };
}

function makeAzbackup(dir, bin) {
  const env = { ...process.env, AZBACKUP_HOME: join(dir, 'home'), AZBACKUP_CACHE: join(dir, 'cache'), AZBACKUP_PASSPHRASE: PASSPHRASE };
  const vault = join(dir, 'vault');
  return {
    name: 'azbackup', dir, repo: vault, cache: env.AZBACKUP_CACHE,
    setup() {
      rmrf(dir);
      mkdirSync(join(dir, 'cert'), { recursive: true });
      writeFileSync(join(dir, 'pfx.pw'), 'bench-pfx-password\n', { mode: 0o600 });
      const steps = [
        ['vault', 'create', vault],
        ['cert', 'new', '--subject', 'CN=bench', '-o', join(dir, 'cert'), '--password-file', join(dir, 'pfx.pw')],
        ['vault', 'add-cert', join(dir, 'cert', 'bench.cer'), '--vault', vault],
        ['register', '--vault', vault, '--certificate', join(dir, 'cert', 'bench.pfx'), '--password-file', join(dir, 'pfx.pw')],
      ];
      for (const s of steps) {
        const r = run(bin, s, env);
        if (r.status !== 0 && r.status !== 3) throw new Error(`azbackup ${s.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
      }
    },
    backup: (src) => measure(bin, ['backup', src, '--vault', vault, '--json'], env, { track: true }),
    restore: (target) => measure(bin, ['restore', 'latest', '--target', target, '--vault', vault, '--json'], env, { track: true }),
    ok: (code) => code === 0 || code === 3,
    cmdline: (what) => (what === 'backup' ? `azbackup backup <src> --vault <vault> --json` : `azbackup restore latest --target <dir> --vault <vault> --json`),
  };
}

function makeRestic(dir) {
  const env = { ...process.env, RESTIC_PASSWORD: PASSPHRASE, RESTIC_REPOSITORY: join(dir, 'repo'), RESTIC_CACHE_DIR: join(dir, 'cache') };
  return {
    name: 'restic', dir, repo: env.RESTIC_REPOSITORY, cache: env.RESTIC_CACHE_DIR,
    setup() {
      rmrf(dir);
      mkdirSync(dir, { recursive: true });
      const r = run('restic', ['init'], env);
      if (r.status !== 0) throw new Error(`restic init exited ${r.status}:\n${r.stdout}${r.stderr}`);
    },
    backup: (src) => measure('restic', ['backup', src, '--json'], env),
    restore: (target) => measure('restic', ['restore', 'latest', '--target', target], env),
    ok: (code) => code === 0,
    repoConfig() { const r = run('restic', ['cat', 'config'], env); try { return JSON.parse(r.stdout); } catch { return undefined; } },
    cmdline: (what) => (what === 'backup' ? 'restic backup <src> --json' : 'restic restore latest --target <dir>'),
  };
}

// ---------------------------------------------------------------- machine facts

function machine() {
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  let fs = '';
  try { fs = execFileSync('df', ['-T', WORK], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/)[1]; } catch { /* ignore */ }
  return { nproc: cpus().length, cpuModel, memGiB: totalmem() / GIB, kernel: release(), host: hostname(), fs };
}

// ---------------------------------------------------------------- main

/** What the bench creates under --work (and removes at the end unless --keep). */
const WORK_DIRS = ['fleet', 'corpus', 'azbackup', 'restic', 'restore-azbackup', 'restore-restic', 'scale', 'index-check', 'bin', 'azurite', 'restore-azurite'];

/** Removes the bench's folders under --work, never one holding --source (e.g. a corpus kept with --keep). */
function cleanWork() {
  const src = opt.source ? resolve(opt.source) + '/' : undefined;
  for (const d of WORK_DIRS) {
    const p = join(WORK, d);
    if (src && (src.startsWith(p + '/') || (p + '/').startsWith(src))) continue;
    rmrf(p);
  }
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  cleanWork();

  // A private copy of the engine: others may rebuild bundle/dist while the bench runs.
  const distBin = join(ROOT, 'bundle', 'dist', 'azbackup');
  if (!existsSync(distBin)) { process.stderr.write('bench: bundle/dist/azbackup is missing; run `npm run --silent build` first.\n'); process.exit(2); }
  const bin = join(WORK, 'bin', 'azbackup');
  mkdirSync(join(WORK, 'bin'));
  let azbVersion;
  for (let attempt = 0; attempt < 3 && !azbVersion; attempt++) {
    copyFileSync(distBin, bin);
    chmodSync(bin, 0o755);
    const v = run(bin, ['--version'], process.env);
    if (v.status === 0 && v.stdout.startsWith('azbackup')) azbVersion = v.stdout.trim();
    else await new Promise((r) => setTimeout(r, 5000));
  }
  if (!azbVersion) throw new Error('bundle/dist/azbackup does not run (being rebuilt?); run `npm run --silent build` and retry.');
  const azbBuilt = statSync(distBin).mtime.toISOString();

  if (FLEET !== undefined) {
    const code = await runFleet({
      n: FLEET, root: ROOT, work: WORK, bin, azbVersion: `${azbVersion} (bundle/dist/azbackup built ${azbBuilt})`, timeoutMs: TIMEOUT_MS,
      results: RESULTS, keep: opt.keep, seed: SEED, mib: FLEET_MIB, log, argv: process.argv.slice(2),
    });
    if (!opt.keep) rmrf(join(WORK, 'bin'));
    return code;
  }

  let resticVersion;
  if (opt.restic) {
    const v = spawnSync('restic', ['version'], { encoding: 'utf8' });
    if (v.status === 0) resticVersion = v.stdout.trim();
    else notes.push('restic is not on PATH: its column is empty (install it with `apt-get install -y restic`).');
  } else notes.push('restic skipped (--no-restic).');
  if (!resticVersion) log('restic not available: only azbackup runs');

  // Cold cache when we may drop it (we are root in this sandbox); otherwise warm for both tools.
  if (opt.warm) cacheMode = 'warm (--warm)';
  else {
    try { dropCaches(); } catch (e) { cacheMode = `warm (dropping the page cache failed: ${e.code ?? e.message})`; }
  }
  log(`${azbVersion}; ${resticVersion ?? 'no restic'}; page cache: ${cacheMode}; peak RSS via ${TIME_BIN ? '/usr/bin/time %M' : '/proc/<pid>/status VmHWM polling'}`);

  const ctx = { azbVersion, azbBuilt, resticVersion, bin };
  if (RUN_MAIN) Object.assign(ctx, await mainComparison(bin, resticVersion));
  if (RUN_SMALL_FILES) ctx.small = await smallFilesRun(bin, resticVersion);
  if (RUN_INDEX_CHECK) ctx.indexCheck = await indexMemoryCheck();

  // ------------------------------------------------------------ report
  ctx.totalMs = Date.now() - started;
  const report = buildReport(ctx);
  if (report.table) process.stdout.write('\n' + report.table + '\n');
  if (report.scale) process.stdout.write('\n' + report.scale + '\n');
  if (problems.length) process.stdout.write(`\n**Problems:**\n\n${problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`).join('\n')}\n`);
  // The fleet run's section (bench/fleet.mjs) is kept: it is written by `--fleet N` only.
  const fleet = RESULTS === '-' ? '' : fleetSection(resolve(RESULTS));
  if (RESULTS !== '-') { writeFileSync(resolve(RESULTS), fleet ? `${report.full.replace(/\s*$/, '')}\n\n${fleet}\n` : report.full); log(`wrote ${resolve(RESULTS)}`); }

  if (!opt.keep) {
    cleanWork();
    log(`removed the work data under ${WORK} (use --keep to keep it)`);
  }
  log(`total ${fmtS(ctx.totalMs)}`);
  if (problems.length) log(`FAILED: ${problems.length} problem(s), listed above and in the report${problems.some((p) => p.startsWith('RESTORE MISMATCH')) ? ' — A RESTORE DIFFERS FROM THE SOURCE' : ''}`);
  return problems.length ? 1 : 0;
}

/** Marks a failed or killed step and records its output as a problem. */
function check(t, m, label) {
  if (t.ok(m.code) && !m.timedOut) return;
  m.failed = true;
  const why = m.timedOut ? `was killed after ${fmtS(m.wallMs)} (--timeout-min ${opt['timeout-min']})` : `failed with exit code ${m.code}`;
  problem(`${t.name} ${label} ${why} (${t.cmdline(label.includes('restore') ? 'restore' : 'backup')}).\nstdout (tail):\n${tail(m.stdout)}\nstderr (tail):\n${tail(m.stderr)}`);
}

function stepLog(t, label, m) {
  log(`${label}: ${t.name} ${m.timedOut ? 'KILLED (timeout)' : m.failed ? `FAILED (exit ${m.code})` : 'done'} in ${fmtS(m.wallMs)}, peak RSS ${fmtMiB(m.rss)}${m.cpuS !== undefined ? `, CPU ${m.cpuS.toFixed(1)} s` : ''}`);
}

// ---------------------------------------------------------------- the comparison on the corpus

async function mainComparison(bin, resticVersion) {
  let corpus, corpusDesc, readOnly = false;
  const tGen = Date.now();
  if (opt.source) {
    const src = resolve(opt.source);
    if (opt['copy-source']) {
      corpus = join(WORK, 'corpus');
      log(`copying ${src} to ${corpus}`);
      execFileSync('cp', ['-a', src, corpus]);
    } else { corpus = src; readOnly = true; }
    const files = listFiles(corpus);
    const bytes = files.reduce((a, f) => a + statSync(join(corpus, f)).size, 0);
    corpusDesc = { kind: 'source', path: src, files: files.length, bytes, copied: opt['copy-source'] };
    if (opt.large !== 'none' && process.argv.some((a) => a.startsWith('--large'))) notes.push('--large applies to a generated corpus only: ignored with --source.');
  } else {
    corpus = join(WORK, 'corpus');
    log(`generating corpus: ${fmtN(FILES)} files, ${SIZE_MIB} MiB, seed ${SEED}${LARGE_MIB.length ? `, and large files of ${LARGE_MIB.join(', ')} MiB` : ''}`);
    const d = generateCorpus(corpus, { seed: SEED, files: FILES, bytes: SIZE_MIB * MIB, largeMiB: LARGE_MIB }, (i, b) => { if (i % 2500 === 0) log(`  ${fmtN(i)} files, ${fmtMiB(b)}`); });
    corpusDesc = { kind: 'generated', ...d };
  }
  const genMs = Date.now() - tGen;
  log(`corpus ready in ${fmtS(genMs)}: ${fmtN(corpusDesc.files)} files, ${fmtMiB(corpusDesc.bytes)}`);
  spawnSync('sync');

  const tools = [makeAzbackup(join(WORK, 'azbackup'), bin)];
  if (resticVersion) tools.push(makeRestic(join(WORK, 'restic')));
  for (const t of tools) t.setup();
  const res = Object.fromEntries(tools.map((t) => [t.name, {}]));

  async function phase(key, label, fn) {
    for (const t of tools) {
      log(`${label}: ${t.name} ...`);
      const m = await fn(t);
      res[t.name][key] = m;
      check(t, m, label);
      stepLog(t, label, m);
    }
  }

  await phase('initial', 'initial backup', (t) => t.backup(corpus));
  await phase('unchanged', 'unchanged re-run', (t) => t.backup(corpus));
  let modified;
  if (readOnly) {
    notes.push('The 5 % change phase was skipped: --source is used read-only (add --copy-source to run it).');
  } else {
    modified = modifyFiles(corpus, { seed: SEED, fraction: 0.05 });
    spawnSync('sync');
    log(`changed ${fmtN(modified.files)} files (${modified.overwritten} overwritten in place, ${modified.appended} appended; ${fmtMiB(modified.bytesChanged)})`);
    await phase('changed', 're-run after 5 % changed', (t) => t.backup(corpus));
  }
  const sizes = {};
  for (const t of tools) sizes[t.name] = { repo: du(t.repo), cache: du(t.cache) };

  const verify = {};
  for (const t of tools) {
    const target = join(WORK, `restore-${t.name}`);
    rmrf(target);
    mkdirSync(target);
    log(`full restore: ${t.name} ...`);
    const m = await t.restore(target);
    res[t.name].restore = m;
    check(t, m, 'full restore');
    stepLog(t, 'full restore', m);
    log(`  comparing every restored file with the corpus ...`);
    const v = compareTrees(corpus, join(target, corpus));
    verify[t.name] = v;
    if (v.missing.length + v.different.length > 0) {
      problem(`RESTORE MISMATCH (${t.name}): ${v.missing.length} missing, ${v.different.length} different of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 5).join('; ')}`);
    } else log(`  ${t.name} restore is byte-identical: ${fmtN(v.files)} files, ${fmtMiB(v.bytes)}${v.extra ? ` (${v.extra} extra files)` : ''}`);
    if (!opt.keep) rmrf(target);
  }
  const azure = opt.azurite ? await azuriteRun(bin, corpus, corpusDesc) : undefined;
  if (!opt.azurite) notes.push('Azurite column skipped (--no-azurite).');
  return { resticConfig: tools[1]?.repoConfig?.(), corpusDesc, genMs, modified, res, sizes, verify, azure };
}

// ---------------------------------------------------------------- Azure Blob (Azurite) vs local folder

/** Starts Azurite and a request-counting HTTP proxy in front of it; backs up and restores the corpus through it. */
async function azuriteRun(bin, corpus, corpusDesc) {
  const dir = join(WORK, 'azurite');
  rmrf(dir);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const freePort = () => new Promise((res) => { const srv = createNetServer(); srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => res(port)); }); });
  const port = await freePort();
  const main = join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const azurite = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', join(dir, 'data'), '--skipApiVersionCheck', '--loose', '--silent'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200; i++) {
      const up = await new Promise((res) => { const s = netConnect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); res(true); }); s.once('error', () => res(false)); });
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Requests are counted by a forwarding proxy: the engine sees it as the blob endpoint.
    const counts = {};
    const proxy = createHttpServer((req, res) => {
      counts[req.method] = (counts[req.method] ?? 0) + 1;
      const up = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => { res.writeHead(r.statusCode ?? 502, r.headers); r.pipe(res); });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${proxy.address().port}/devstoreaccount1`;
    const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
    const env = {
      ...process.env, AZBACKUP_HOME: join(dir, 'home'), AZBACKUP_CACHE: join(dir, 'cache'), AZBACKUP_PASSPHRASE: PASSPHRASE,
      AZBACKUP_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=${endpoint};`,
    };
    const vault = `${endpoint}/bench`;
    mkdirSync(join(dir, 'cert'), { recursive: true });
    writeFileSync(join(dir, 'pfx.pw'), 'bench-pfx-password\n', { mode: 0o600 });
    for (const step of [['vault', 'create', vault], ['cert', 'new', '--subject', 'CN=bench-az', '-o', join(dir, 'cert'), '--password-file', join(dir, 'pfx.pw')],
      ['vault', 'add-cert', join(dir, 'cert', 'bench-az.cer'), '--vault', vault], ['register', '--vault', vault, '--certificate', join(dir, 'cert', 'bench-az.pfx'), '--password-file', join(dir, 'pfx.pw')]]) {
      // Not spawnSync: the counting proxy lives in this process and must keep serving meanwhile.
      const r = await new Promise((res) => {
        const c = spawn(bin, step, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        c.stderr.on('data', (d) => { out += d; });
        c.on('close', (status) => res({ status, out }));
      });
      if (r.status !== 0 && r.status !== 3) throw new Error(`azbackup ${step.join(' ')} (Azurite) exited ${r.status}:\n${r.out}`);
    }
    const before = { ...counts };
    log('Azurite: initial backup ...');
    const backup = await measure(bin, ['backup', corpus, '--vault', vault, '--json'], env, { track: true });
    const backupRequests = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    const target = join(WORK, 'restore-azurite');
    rmrf(target);
    mkdirSync(target);
    const mid = { ...counts };
    log('Azurite: full restore ...');
    const restore = await measure(bin, ['restore', 'latest', '--target', target, '--vault', vault, '--json'], env, { track: true });
    const restoreRequests = Object.values(counts).reduce((a, b) => a + b, 0) - Object.values(mid).reduce((a, b) => a + b, 0);
    const v = compareTrees(corpus, join(target, corpus));
    if (v.missing.length + v.different.length > 0) {
      problem(`RESTORE MISMATCH (Azurite): ${v.missing.length} missing, ${v.different.length} different of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 5).join('; ')}`);
    } else log(`  Azurite restore is byte-identical: ${fmtN(v.files)} files, ${fmtMiB(v.bytes)}`);
    if (!opt.keep) rmrf(target);
    proxy.close();
    log(`Azurite: backup ${fmtS(backup.wallMs)}, restore ${fmtS(restore.wallMs)}`);
    return { backup, restore, backupRequests, restoreRequests, verified: v, bytes: corpusDesc.bytes };
  } finally {
    azurite.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- scale: many small files

async function smallFilesRun(bin, resticVersion) {
  const root = join(WORK, 'scale');
  const src = join(root, 'small');
  log(`scale: generating ${fmtN(SCALE_FILES)} small files (1-4 KiB)`);
  const t0 = Date.now();
  const d = generateSmallFiles(src, { seed: SEED, files: SCALE_FILES }, (i) => { if (i % 50000 === 0 && i) log(`  ${fmtN(i)} files`); });
  spawnSync('sync');
  const small = { desc: d, genMs: Date.now() - t0, tools: {} };
  const stools = [makeAzbackup(join(root, 'azbackup'), bin)];
  if (resticVersion) stools.push(makeRestic(join(root, 'restic')));
  for (const t of stools) {
    t.setup();
    const r = {};
    for (const key of ['initial', 'unchanged']) {
      if (key === 'unchanged' && r.initial.failed) break;
      const label = `scale ${key === 'initial' ? 'initial backup' : 'unchanged re-run'} (${fmtN(SCALE_FILES)} files)`;
      log(`${label}: ${t.name} ...`);
      const m = await t.backup(src);
      r[key] = m;
      check(t, m, label);
      stepLog(t, label, m);
    }
    r.repo = du(t.repo);
    r.failed = r.initial.failed; // no size to compare when the backup did not finish
    small.tools[t.name] = r;
    if (!opt.keep) rmrf(t.dir);
  }
  if (!opt.keep) rmrf(root);
  return small;
}

// ---------------------------------------------------------------- scale: 10M-blob index memory

async function indexMemoryCheck() {
  const dir = join(WORK, 'index-check');
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, 'blob-index.mjs');
  await build({ entryPoints: [join(ROOT, 'core', 'repo', 'blob-index.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'silent' });
  const indexCheck = {};
  for (const presize of [1, 0]) {
    log(`index memory check: ${fmtN(INDEX_BLOBS)} blobs, ${presize ? 'pre-sized' : 'grown from empty'} ...`);
    const m = await measure(process.execPath, [join(ROOT, 'bench', 'blob-index-driver.mjs'), bundle, String(INDEX_BLOBS), '16', '100000', String(presize)], process.env);
    let j;
    try { j = JSON.parse(m.stdout.trim().split('\n').pop()); } catch { /* below */ }
    if (m.code !== 0 || !j) { problem(`index memory check (${presize ? 'pre-sized' : 'grown'}) failed with exit code ${m.code}:\n${tail(m.stderr)}`); continue; }
    if (j.okPresent !== j.samples || j.okAbsent !== j.samples || j.size !== INDEX_BLOBS) problem(`index memory check: wrong lookups (${j.okPresent}/${j.samples} present, ${j.okAbsent}/${j.samples} absent, size ${j.size})`);
    indexCheck[presize ? 'presized' : 'grown'] = { ...j, wallMs: m.wallMs, timeRss: m.rss };
    log(`  rss ${fmtMiB(j.rss)}, peak ${fmtMiB(Math.max(j.maxRss, m.rss))}, ${fmtS(m.wallMs)}`);
  }
  if (!opt.keep) rmrf(dir);
  return indexCheck;
}

// ---------------------------------------------------------------- report

const TARGETS = { initial: 0.5, unchanged: 0.33, restore: 0.7, repo: 1.0, rss: 1.0 };

/** One table cell of a measurement: killed/failed steps say so instead of showing a number. */
function cell(m, get, fmt) {
  if (!m) return '—';
  if (m.timedOut) {
    if (m.rss > 0 && get(m) === m.rss) return `${fmt(m.rss)} (at the kill)`;
    const done = /^(\d+)\/(\d+) files/.exec(m.lastStatus ?? '');
    return `> ${fmtS(m.wallMs)} (killed${done ? ` after ${fmtN(Number(done[1]))} of ${fmtN(Number(done[2]))} files` : ''})`;
  }
  if (m.failed) return m.code === undefined ? '— (backup did not finish)' : `**FAILED** (exit ${m.code})`;
  return fmt(get(m));
}

function tableRow(label, mA, mR, get, fmt, target, hasRestic) {
  const a = mA && !mA.failed ? get(mA) : undefined;
  const r = mR && !mR.failed ? get(mR) : undefined;
  const ratio = a !== undefined && r !== undefined && r > 0 && Number.isFinite(a) ? a / r : undefined;
  const met = target === undefined || ratio === undefined ? '' : ratio <= target ? 'met' : '**not met**';
  const cols = [label, cell(mA, get, fmt), hasRestic ? cell(mR, get, fmt) : '— (no restic)', ratio === undefined ? '—' : `${ratio.toFixed(2)}×`];
  if (target !== null) cols.push(target === undefined ? '—' : `≤ ${target}×`, met);
  return `| ${cols.join(' | ')} |`;
}

function buildReport(d) {
  const hasRestic = d.resticVersion !== undefined;
  let table = '';
  if (d.res) {
    const A = d.res.azbackup, R = d.res.restic;
    const rows = [];
    const pairs = [['initial', 'initial backup', TARGETS.initial], ['unchanged', 'unchanged re-run', TARGETS.unchanged], ['changed', 're-run after 5 % changed', undefined], ['restore', 'full restore', TARGETS.restore]];
    for (const [key, label, target] of pairs) if (A[key]) rows.push(tableRow(`${label}: time`, A[key], R?.[key], (m) => m.wallMs, fmtS, target, hasRestic));
    const size = (name) => ({ repo: d.sizes[name]?.repo, cache: d.sizes[name]?.cache });
    rows.push(tableRow('vault / repository size after the 3 backups (du -sb)', size('azbackup'), hasRestic ? size('restic') : undefined, (m) => m.repo, fmtMiB, TARGETS.repo, hasRestic));
    for (const [key, label] of pairs) if (A[key]) rows.push(tableRow(`${label}: peak RSS`, A[key], R?.[key], (m) => m.rss, fmtMiB, TARGETS.rss, hasRestic));
    const thr = (m) => d.corpusDesc.bytes / (m.wallMs / 1000);
    const fmtThr = (v) => `${(v / MIB).toFixed(1)} MiB/s`;
    rows.push(tableRow('initial backup: throughput', A.initial, R?.initial, thr, fmtThr, undefined, hasRestic));
    rows.push(tableRow('full restore: throughput', A.restore, R?.restore, thr, fmtThr, undefined, hasRestic));
    if (A.initial?.cpuS !== undefined) {
      rows.push(tableRow('initial backup: CPU time (user+sys)', A.initial, R?.initial, (m) => m.cpuS * 1000, fmtS, undefined, hasRestic));
      rows.push(tableRow('full restore: CPU time (user+sys)', A.restore, R?.restore, (m) => m.cpuS * 1000, fmtS, undefined, hasRestic));
    }
    rows.push(tableRow('local cache size (AZBACKUP_CACHE / RESTIC_CACHE_DIR)', size('azbackup'), hasRestic ? size('restic') : undefined, (m) => m.cache, fmtMiB, undefined, hasRestic));
    const vdesc = (v) => (!v ? '—' : v.missing.length + v.different.length === 0 ? `identical (${fmtN(v.files)} files)` : `**MISMATCH** (${v.missing.length} missing, ${v.different.length} differ)`);
    rows.push(`| restore verified byte for byte (every file) | ${vdesc(d.verify.azbackup)} | ${vdesc(d.verify.restic)} | — | — | |`);
    table = ['| measurement | azbackup | restic | ratio (azbackup / restic) | target | |', '|---|---|---|---|---|---|', ...rows].join('\n');
  }

  // Azure Blob (Azurite) vs the local folder vault
  let azureTable = '';
  if (d.azure && d.res?.azbackup?.initial) {
    const z = d.azure, L = d.res.azbackup;
    const gib = z.bytes / GIB;
    const thr = (m) => `${(z.bytes / MIB / (m.wallMs / 1000)).toFixed(1)} MiB/s`;
    const reqs = Object.values(z.backupRequests).reduce((a, b) => a + b, 0);
    azureTable = ['| measurement | local folder vault | Azure Blob (Azurite, loopback) | ratio (Azurite / folder) |', '|---|---|---|---|',
      `| initial backup: time | ${fmtS(L.initial.wallMs)} | ${fmtS(z.backup.wallMs)} | ${(z.backup.wallMs / L.initial.wallMs).toFixed(2)}× |`,
      `| initial backup: throughput | ${thr(L.initial)} | ${thr(z.backup)} | — |`,
      `| full restore: time | ${fmtS(L.restore.wallMs)} | ${fmtS(z.restore.wallMs)} | ${(z.restore.wallMs / L.restore.wallMs).toFixed(2)}× |`,
      `| full restore: throughput | ${thr(L.restore)} | ${thr(z.restore)} | — |`,
      `| initial backup: peak RSS | ${fmtMiB(L.initial.rss)} | ${fmtMiB(z.backup.rss)} | ${(z.backup.rss / L.initial.rss).toFixed(2)}× |`,
      `| full restore: peak RSS | ${fmtMiB(L.restore.rss)} | ${fmtMiB(z.restore.rss)} | ${(z.restore.rss / L.restore.rss).toFixed(2)}× |`,
      `| requests per GiB: backup | — | ${Math.round(reqs / gib)} (${Object.entries(z.backupRequests).map(([k, v]) => `${k} ${v}`).join(', ')}) | — |`,
      `| requests per GiB: restore | — | ${Math.round(z.restoreRequests / gib)} | — |`,
      `| restore verified byte for byte | — | ${z.verified.missing.length + z.verified.different.length === 0 ? `identical (${fmtN(z.verified.files)} files)` : '**MISMATCH**'} | — |`].join('\n');
  }

  // Scale
  const scaleParts = [];
  if (d.small) {
    const sA = d.small.tools.azbackup, sR = d.small.tools.restic;
    const srows = [];
    for (const [key, label] of [['initial', 'initial backup'], ['unchanged', 'unchanged re-run']]) {
      srows.push(tableRow(`${label}: time`, sA[key], sR?.[key], (m) => m.wallMs, fmtS, null, hasRestic));
      srows.push(tableRow(`${label}: peak RSS`, sA[key], sR?.[key], (m) => m.rss, fmtMiB, null, hasRestic));
    }
    srows.push(tableRow('vault / repository size', sA, sR, (m) => m.repo, fmtMiB, null, hasRestic));
    scaleParts.push(`**${fmtN(d.small.desc.files)} small files** (1–4 KiB text each, ${fmtN(d.small.desc.dirs)} folders, ${fmtMiB(d.small.desc.bytes)}; generated in ${fmtS(d.small.genMs)}):\n\n| measurement | azbackup | restic | ratio |\n|---|---|---|---|\n${srows.join('\n')}`);
  }
  if (d.indexCheck) {
    const lines = [];
    for (const [k, label] of [['presized', 'pre-sized (as when loading an index of known size)'], ['grown', 'grown from empty (×1.5 rehashes)']]) {
      const j = d.indexCheck[k];
      if (!j) { lines.push(`| ${label} | **FAILED** | | | | | |`); continue; }
      const peak = Math.max(j.maxRss, j.timeRss);
      lines.push(`| ${label} | ${fmtMiB(j.memoryBytes)} | ${fmtMiB(j.rss)} | ${fmtMiB(peak)} | ${(INDEX_BLOBS / j.addMs / 1000).toFixed(2)} M/s | ${fmtS(j.wallMs)} | ${k === 'presized' ? (peak < 512 * MIB ? 'met (< 512 MiB)' : '**not met** (≥ 512 MiB)') : (peak < 512 * MIB ? 'under 512 MiB' : 'over 512 MiB (information only)')} |`);
    }
    scaleParts.push(`**Index memory, ${fmtN(INDEX_BLOBS)} blobs** (core/repo/blob-index.ts bundled with esbuild and filled in a child Node process, like test/repo/blob-index-scale.test.ts; ${fmtN(100000)} present and ${fmtN(100000)} absent lookups checked):\n\n| index | typed arrays | process RSS at end | peak RSS | adds | wall | target: whole process < 512 MiB |\n|---|---|---|---|---|---|---|\n${lines.join('\n')}`);
  }
  const scale = scaleParts.join('\n\n');

  // Full markdown
  const mc = machine();
  const loads = [];
  for (const t of Object.values(d.res ?? {})) for (const x of Object.values(t)) loads.push(x.load);
  for (const t of Object.values(d.small?.tools ?? {})) for (const x of [t.initial, t.unchanged]) if (x) loads.push(x.load);
  const setup = [
    `- **Machine:** ${mc.nproc} CPUs (${mc.cpuModel}), ${mc.memGiB.toFixed(1)} GiB RAM, Linux ${mc.kernel}; work folder ${WORK} on ${mc.fs || 'unknown fs'}.`,
    `- **Tools:** ${d.azbVersion} (bundle/dist/azbackup built ${d.azbBuilt}, copied into the work folder for the run); ${d.resticVersion ?? 'restic: not installed'}${d.resticConfig ? ` (repository format version ${d.resticConfig.version}, compression auto)` : ''}.`,
  ];
  if (d.corpusDesc) {
    const c = d.corpusDesc;
    setup.push(`- **Corpus:** ${c.kind === 'generated'
      ? `generated, seed ${SEED}: ${fmtN(c.files)} files in ${fmtN(c.dirs)} nested folders (depth ≤ ${c.maxDepth}), ${fmtMiB(c.bytes)}; largest file ${fmtMiB(c.largest)}. `
        + (c.large?.length ? `Large files (--large, on top of --size-mib): ${c.large.map((l) => `${fmtMiB(l.size)} (${['text', 'binary', 'random', 'zeros', 'repeat'].map((k) => `${k} ${(l.mix[k] / MIB).toFixed(0)}`).join(', ')} MiB)`).join('; ')}. Mixed files (--size-mib), by bytes: ` : 'By bytes: ')
        + `text ${fmtMiB(c.byType.text[1])} (${fmtN(c.byType.text[0])} files: prose, logs, CSV, JSON, config; repetitive, compresses well), `
        + `semi-structured binaries ${fmtMiB(c.byType.binary[1])} (${fmtN(c.byType.binary[0])} files: record tables, opcode-like streams, string tables, embedded noise), `
        + `random/incompressible ${fmtMiB(c.byType.random[1])} (${fmtN(c.byType.random[0])} files), duplicates of other files ${fmtMiB(c.byType.dup[1])} (${fmtN(c.byType.dup[0])} files). Generated in ${fmtS(d.genMs)}.`
      : `existing folder ${c.path}${c.copied ? ' (copied into the work folder)' : ''}: ${fmtN(c.files)} files, ${fmtMiB(c.bytes)}.`}`);
    setup.push(`- **Change phase:** ${d.modified ? `${fmtN(d.modified.files)} of ${fmtN(d.modified.of)} files (5 %) changed in place, chosen by a seeded shuffle: ${d.modified.overwritten} had 4–64 KiB overwritten at a seeded offset, ${d.modified.appended} had 1–32 KiB appended (${fmtMiB(d.modified.bytesChanged)} in all).` : 'skipped.'}`);
  }
  setup.push(`- **Method:** in each phase the same data is backed up by both tools (azbackup first, then restic), each into its own local vault/repository; every step is one process, timed wall-clock, peak RSS from ${TIME_BIN ? '`/usr/bin/time -f %M` (the process\'s ru_maxrss)' : 'polling VmHWM in /proc/<pid>/status'}. Page cache: ${cacheMode}${cacheMode === 'cold' ? ' (`sync; echo 3 > /proc/sys/vm/drop_caches` before every timed step, so both tools also load their executable from disk)' : ''}. Restores go to a fresh empty folder and are then compared byte for byte with the corpus.${loads.length ? ` 1-minute load average just before the steps: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}.` : ''}`);
  setup.push('- azbackup: `vault create`, `cert new` (pfx), `vault add-cert`, `register` (untimed), then `azbackup backup <corpus> --vault <vault> --json` and `azbackup restore latest --target <dir> --vault <vault> --json`; passphrase via AZBACKUP_PASSPHRASE. restic: `restic init` (untimed), `restic backup <corpus> --json`, `restic restore latest --target <dir>`; password via RESTIC_PASSWORD, cache in the work folder.');

  const timeline = (m) => (!m?.phases?.length ? '—' : [`start-up to first event ${fmtS(m.firstAt)}`, ...m.phases.map((p, i) => {
    const end = i + 1 < m.phases.length ? m.phases[i + 1].at : m.wallMs;
    return `"${p.key}" ${fmtS(end - p.at)}`;
  })].join(' → '));
  const overhead = (m) => (m?.result?.data?.durationMs === undefined ? '' : `${fmtS(m.wallMs)} wall, engine durationMs ${fmtS(m.result.data.durationMs)}; `);
  let where = '';
  if (d.res) {
    const a = d.res.azbackup;
    const lines = [];
    for (const [key, label] of [['initial', 'initial backup'], ['unchanged', 'unchanged re-run'], ['changed', 're-run after 5 % changed'], ['restore', 'full restore']]) {
      if (a[key]) lines.push(`- ${label}: ${overhead(a[key])}${timeline(a[key])}`);
    }
    const r0 = a.initial?.result?.data;
    if (r0) lines.push(`- azbackup initial backup result: ${fmtMiB(r0.bytesRead)} read, ${fmtMiB(r0.bytesStored)} stored, ${fmtN(r0.blobsAdded)} blobs added.`);
    const rs = d.res.restic?.initial?.result;
    if (rs) lines.push(`- restic initial backup summary: ${fmtN(rs.files_new)} new files, data_added ${fmtMiB(rs.data_added)} (restic 0.14 counts it before compression), total_duration ${Number(rs.total_duration).toFixed(1)} s.`);
    where = `\n## Where azbackup's time goes (from its progress events)\n\n${lines.join('\n')}\n`;
  }

  const full = `# Benchmark: azbackup vs restic

Written by \`npm run bench\` (bench/run.mjs) on ${new Date(started).toISOString()}; the whole run took ${fmtS(d.totalMs)}.
Command: \`npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}\`

## Setup

${setup.join('\n')}
${table ? `\n## Results\n\n${table}\n\nTargets are the issue's: initial backup ≤ 0.5× restic's time, unchanged re-run ≤ 0.33×, restore ≤ 0.7×, vault size ≤ 1.0×, peak RSS ≤ 1.0×.\n` : ''}${azureTable ? `\n## Azure Blob vault (Azurite on loopback) vs local folder vault\n\nThe same engine backs up the corpus as it stands after the change phase into an Azurite container, through a loopback proxy that counts requests, then restores it. Loopback has no network latency: this measures the engine's Azure path and its request counts, not a real link.\n\n${azureTable}\n` : ''}
## Scale

${scale || 'Not run in this invocation.'}
${!d.small ? '\nThe 200,000-small-files run is not part of the default run (see bench/README.md); `npm run bench -- --scale-only` runs it (with the index check) and writes bench/results-scale.md.\n' : ''}${where}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}${problems.length ? `\n## Problems\n\n${problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`).join('\n')}\n` : ''}`;
  return { table: table + (azureTable ? `\n\n${azureTable}` : ''), scale, full };
}

main().then((code) => process.exit(code), (err) => {
  log(`bench failed: ${err.stack ?? err}`);
  process.exit(1);
});
