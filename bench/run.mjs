// `npm run bench`: azbackup and restic side by side on the same corpus, in the same run.
// Measures initial backup, unchanged re-run, re-run after 5 % of the files changed, full restore,
// repository size and peak RSS; then the Azure column over a WAN-shaped link (azure-wan.mjs), a 4x
// corpus, start-up and (with --scale) many small files; prints every row of issue 17 against its target
// and writes it all (with machine, corpus and versions) to bench/results.md. `--help` lists the options.
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
import { azureWanRun, PRICES } from './azure-wan.mjs';

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
  --scale-files N     file count of the small-files scale run (default 200000); above --scale-base
                      (e.g. 1000000) only azbackup's initial backup runs, of --scale-base files and of
                      N files, and the report compares their peak RSS (memory must not grow with the count)
  --scale-base N      the baseline file count for that comparison (default 200000)
  --timeout-min N     kill a timed step that runs longer than N minutes (default 60) and report it
  --no-restic         do not run restic even if it is installed
  --warm              do not drop the page cache before each timed step
  --results FILE      where to write the report (default bench/results.md, or results-scale.md with
                      --scale-only; '-' = do not write)
  --keep              keep corpus, vaults, repos and restores in the work folder
  --wan-delay-ms N    one-way delay of the link to the Azure (Azurite) vault, ms (default 20: 40 ms RTT);
                      0 with --wan-mib-s 0 = bare loopback
  --wan-mib-s N       bandwidth cap of that link per direction, MiB/s (default 50; 0 = none)
  --no-azurite        leave out the Azure column
  --no-interrupt      leave out the interrupted restore (Azure column)
  --wan-trace DIR     write each Azure step's requests (kind, start and end in s from the step's
                      start, bytes, pack) to DIR/<step>.tsv: shows when the link is idle
  --no-corpus4x       leave out the 4x corpus (peak RSS when the corpus is 4 times larger)
  --no-startup        leave out the start-up row (azbackup --version)
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
    'scale-base': { type: 'string', default: '200000' },
    'index-blobs': { type: 'string', default: '10000000' },
    restic: { type: 'boolean', default: true },
    azurite: { type: 'boolean', default: true },
    interrupt: { type: 'boolean', default: true },
    corpus4x: { type: 'boolean', default: true },
    startup: { type: 'boolean', default: true },
    'wan-delay-ms': { type: 'string', default: '20' },
    'wan-mib-s': { type: 'string', default: '50' },
    'wan-trace': { type: 'string' },
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
const SCALE_BASE = num('scale-base');
const INDEX_BLOBS = num('index-blobs');
/** Full scale run (200k files) only with --scale; the index memory check unless --no-scale. */
const SCALE_ONLY = opt['scale-only'];
const RUN_MAIN = !SCALE_ONLY;
const RUN_SMALL_FILES = opt.scale === true || SCALE_ONLY;
const RUN_INDEX_CHECK = opt.scale !== false || SCALE_ONLY;
const TIMEOUT_MS = Number(opt['timeout-min']) * 60_000;
if (!(TIMEOUT_MS > 0)) { process.stderr.write(`bench: --timeout-min needs a positive number, not '${opt['timeout-min']}'\n`); process.exit(2); }
const nonNeg = (name) => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < 0) { process.stderr.write(`bench: --${name} needs a number >= 0, not '${opt[name]}'\n`); process.exit(2); }
  return v;
};
const WAN_DELAY_MS = nonNeg('wan-delay-ms');
const WAN_MIB_S = nonNeg('wan-mib-s');
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
/** Sizes that may be small (single files): KiB below 1 MiB. */
const fmtSize = (b) => (b < MIB ? `${(b / 1024).toFixed(1)} KiB` : fmtMiB(b));

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
async function measure(cmd, args, env, { track = false, onChild } = {}) {
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
  const killMeasured = () => {
    let pids = [];
    try { pids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* gone */ }
    if (!TIME_BIN || pids.length === 0) pids = [child.pid];
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  };
  onChild?.(killMeasured);
  const timer = setTimeout(() => { timedOut = true; killMeasured(); }, TIMEOUT_MS);
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
    try { const j = JSON.parse(line); if (j && (j.type === 'result' || j.type === 'error' || j.message_type === 'summary')) { result = j; break; } } catch { /* not JSON */ }
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
const WORK_DIRS = ['fleet', 'corpus', 'azbackup', 'restic', 'restore-azbackup', 'restore-restic', 'scale', 'index-check', 'bin', 'azurite', 'restore-azurite',
  'restore-single', 'restore-interrupted', 'corpus4x', 'azbackup4x', 'restore-4x'];

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
  if (RUN_MAIN && opt.startup) { log('start-up: azbackup --version ...'); ctx.startup = startupRun(bin); }
  if (RUN_SMALL_FILES && SCALE_FILES <= SCALE_BASE) ctx.small = await smallFilesRun(bin, resticVersion, SCALE_FILES, false);
  if (RUN_SMALL_FILES && SCALE_FILES > SCALE_BASE) {
    // Many files: azbackup's backup only, against its own --scale-base run (memory must not grow with the count).
    notes.push(`--scale-files ${fmtN(SCALE_FILES)}: azbackup's initial backup only, of ${fmtN(SCALE_BASE)} files and of ${fmtN(SCALE_FILES)}; restic and the restores are left out.`);
    ctx.small = await smallFilesRun(bin, undefined, SCALE_BASE, true);
    ctx.many = await smallFilesRun(bin, undefined, SCALE_FILES, true);
  }
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
  const azure = opt.azurite ? await azureWanRun({
    root: ROOT, work: WORK, bin, passphrase: PASSPHRASE, measure, log, problem, keep: opt.keep,
    delayMs: WAN_DELAY_MS, mibPerS: WAN_MIB_S, interrupt: opt.interrupt, trace: opt['wan-trace'],
  }, corpus, corpusDesc.bytes) : undefined;
  if (!opt.azurite) notes.push('Azure column skipped (--no-azurite).');
  if (!opt.keep && !readOnly) rmrf(corpus); // disk: the 4x corpus comes next
  const big = opt.corpus4x && !opt.source ? await corpus4xRun(bin, res.azbackup) : undefined;
  if (!opt.corpus4x) notes.push('4x corpus skipped (--no-corpus4x).');
  return { resticConfig: tools[1]?.repoConfig?.(), corpusDesc, genMs, modified, res, sizes, verify, azure, big };
}

// ---------------------------------------------------------------- peak RSS when the corpus is 4x larger

/**
 * azbackup only: the same mix four times larger (4x the mixed files' bytes and count, each large file
 * 4x as large), backed up into a fresh folder vault and restored; peak RSS against the 1x run's.
 */
async function corpus4xRun(bin, one) {
  const corpus = join(WORK, 'corpus4x');
  log(`4x corpus: generating ${fmtN(FILES * 4)} files, ${SIZE_MIB * 4} MiB${LARGE_MIB.length ? `, large files of ${LARGE_MIB.map((m) => m * 4).join(', ')} MiB` : ''}`);
  const t0 = Date.now();
  const desc = generateCorpus(corpus, { seed: SEED, files: FILES * 4, bytes: SIZE_MIB * 4 * MIB, largeMiB: LARGE_MIB.map((m) => m * 4) }, () => {});
  spawnSync('sync');
  const t = makeAzbackup(join(WORK, 'azbackup4x'), bin);
  t.setup();
  const out = { desc, genMs: Date.now() - t0 };
  log('4x corpus: initial backup ...');
  out.backup = await t.backup(corpus);
  check(t, out.backup, '4x corpus initial backup');
  stepLog(t, '4x corpus initial backup', out.backup);
  const target = join(WORK, 'restore-4x');
  rmrf(target); mkdirSync(target);
  if (!out.backup.failed) {
    log('4x corpus: full restore ...');
    out.restore = await t.restore(target);
    check(t, out.restore, '4x corpus full restore');
    stepLog(t, '4x corpus full restore', out.restore);
    const v = compareTrees(corpus, join(target, corpus));
    out.verified = v;
    if (v.missing.length + v.different.length > 0) problem(`RESTORE MISMATCH (4x corpus): ${v.missing.length} missing, ${v.different.length} different of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 5).join('; ')}`);
    else log(`  4x restore is byte-identical: ${fmtN(v.files)} files`);
  }
  out.one = { backup: one.initial, restore: one.restore };
  if (!opt.keep) { rmrf(target); rmrf(corpus); rmrf(t.dir); }
  return out;
}

// ---------------------------------------------------------------- start-up

/** `azbackup --version`: median of 21 runs after one warm-up (bundle/startup.mjs), and one with the page cache dropped. */
function startupRun(bin) {
  const times = [];
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  spawnSync(bin, ['--version']);
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const r = spawnSync(bin, ['--version']);
    times.push(performance.now() - t0);
    if (r.status !== 0) { problem(`azbackup --version exited ${r.status}`); return undefined; }
  }
  times.sort((a, b) => a - b);
  let coldMs;
  if (cacheMode === 'cold') { dropCaches(); const t0 = performance.now(); spawnSync(bin, ['--version']); coldMs = performance.now() - t0; }
  return { medianMs: times[10], minMs: times[0], maxMs: times[20], coldMs, load };
}

// ---------------------------------------------------------------- scale: many small files

async function smallFilesRun(bin, resticVersion, nFiles, backupOnly) {
  const root = join(WORK, 'scale');
  const src = join(root, 'small');
  rmrf(root);
  log(`scale: generating ${fmtN(nFiles)} small files (1-4 KiB)`);
  const t0 = Date.now();
  const d = generateSmallFiles(src, { seed: SEED, files: nFiles }, (i) => { if (i % 50000 === 0 && i) log(`  ${fmtN(i)} files`); });
  spawnSync('sync');
  const small = { desc: d, genMs: Date.now() - t0, tools: {}, files: nFiles };
  const stools = [makeAzbackup(join(root, 'azbackup'), bin)];
  if (resticVersion) stools.push(makeRestic(join(root, 'restic')));
  for (const t of stools) {
    t.setup();
    const r = {};
    for (const key of backupOnly ? ['initial'] : ['initial', 'unchanged']) {
      if (key === 'unchanged' && r.initial.failed) break;
      const label = `scale ${key === 'initial' ? 'initial backup' : 'unchanged re-run'} (${fmtN(nFiles)} files)`;
      log(`${label}: ${t.name} ...`);
      const m = await t.backup(src);
      r[key] = m;
      check(t, m, label);
      stepLog(t, label, m);
    }
    r.repo = du(t.repo);
    r.failed = r.initial.failed; // no size to compare when the backup did not finish
    if (!backupOnly && !r.failed) {
      const target = join(root, `restore-${t.name}`);
      rmrf(target); mkdirSync(target);
      const label = `scale full restore (${fmtN(nFiles)} files)`;
      log(`${label}: ${t.name} ...`);
      r.restore = await t.restore(target);
      check(t, r.restore, label);
      stepLog(t, label, r.restore);
      const v = compareTrees(src, join(target, src));
      r.verified = v;
      if (v.missing.length + v.different.length > 0) problem(`RESTORE MISMATCH (${t.name}, ${fmtN(nFiles)} small files): ${v.missing.length} missing, ${v.different.length} different of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 5).join('; ')}`);
      rmrf(target);
    }
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

/** Issue 17's targets: ratios to restic in the same run unless said otherwise. */
const TARGETS = {
  initial: 0.85, unchanged: 0.5, changed: 0.6, restore: 0.85, repo: 1.0, rss: 2.0,
  rss4x: 1.1, startupS: 0.15,
  smallInitial: 0.9, smallUnchanged: 0.5, smallRestore: 0.9, smallRss: 1.5, manyRss: 2.0,
  linkUse: 0.8, restoreReqPerGiB: 100, unchangedRequests: 10,
};
const TARGETS_TEXT = 'initial backup ≤ 0.85× restic\'s time, unchanged re-run ≤ 0.5×, re-run after 5 % changed ≤ 0.6×, full restore ≤ 0.85×, vault size ≤ 1.0×, peak RSS ≤ 2.0× (every backup and the restore)';

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

/** The 4x corpus section: azbackup's peak RSS against the 1x run. */
function bigSection(b) {
  const row = (label, m, o) => `| ${label} | ${cell(o, (x) => x.wallMs, fmtS)} | ${cell(m, (x) => x.wallMs, fmtS)} | ${cell(o, (x) => x.rss, fmtMiB)} | ${cell(m, (x) => x.rss, fmtMiB)} | ${m && o && !m.failed && !o.failed ? `${(m.rss / o.rss).toFixed(2)}×` : '—'} | ≤ ${TARGETS.rss4x}× |`;
  const v = b.verified;
  return `## Peak RSS when the corpus is 4× larger (azbackup only)\n\nThe same mix four times larger (seed ${SEED}: ${fmtN(b.desc.files)} files, ${fmtMiB(b.desc.bytes)}, largest ${fmtMiB(b.desc.largest)}; generated in ${fmtS(b.genMs)}), backed up into a fresh folder vault and restored, cold cache like the 1× run.${v ? ` Restore ${v.missing.length + v.different.length === 0 ? `byte-identical (${fmtN(v.files)} files)` : '**MISMATCH**'}.` : ''}\n\n| step | time 1× | time 4× | peak RSS 1× | peak RSS 4× | RSS 4× / 1× | target |\n|---|---|---|---|---|---|---|\n${row('initial backup', b.backup, b.one.backup)}\n${row('full restore', b.restore, b.one.restore)}`;
}

/** The Azure column over the WAN-shaped link; also leaves its issue rows in d.azure.issueRows. */
function azureSection(d) {
  const z = d.azure, L = d.res?.azbackup ?? {};
  const gib = z.bytes / GIB;
  const cap = z.mibPerS * MIB;
  const kinds = (w) => Object.entries(w.byKind).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmtN(v)}`).join(', ');
  const wireThr = (bytes, m) => bytes / (m.wallMs / 1000);
  const use = (thr) => (cap > 0 ? `${((thr / cap) * 100).toFixed(0)} %` : '— (no cap)');
  const c = z.calibration;
  const rows = [];
  const B = z.backup, U = z.unchanged, Rs = z.restore;
  const upThr = wireThr(B.wire.upBytes, B), downThr = wireThr(Rs.wire.downBytes, Rs);
  rows.push(`| initial backup: time | ${fmtS(L.initial?.wallMs)} | ${cell(B, (m) => m.wallMs, fmtS)} |`);
  rows.push(`| initial backup: bytes on the wire (up / down) | — | ${fmtMiB(B.wire.upBytes)} / ${fmtMiB(B.wire.downBytes)} |`);
  rows.push(`| initial backup: throughput on the wire (up) and link use | — | ${(upThr / MIB).toFixed(1)} MiB/s, ${use(upThr)} of the cap |`);
  rows.push(`| initial backup: requests | — | ${fmtN(B.wire.requests)} (${Math.round(B.wire.requests / gib)} per GiB of corpus): ${kinds(B.wire)} |`);
  rows.push(`| initial backup: peak RSS / CPU (user+sys) | ${fmtMiB(L.initial?.rss)} / ${L.initial?.cpuS?.toFixed(1) ?? '—'} s | ${fmtMiB(B.rss)} / ${B.cpuS?.toFixed(1) ?? '—'} s |`);
  rows.push(`| unchanged re-run: time | ${fmtS(L.unchanged?.wallMs)} | ${cell(U, (m) => m.wallMs, fmtS)} |`);
  rows.push(`| unchanged re-run: requests in all | — | ${fmtN(U.wire.requests)}: ${kinds(U.wire)} |`);
  rows.push(`| full restore: time | ${fmtS(L.restore?.wallMs)} | ${cell(Rs, (m) => m.wallMs, fmtS)} |`);
  rows.push(`| full restore: bytes on the wire (down; of it pack data) | — | ${fmtMiB(Rs.wire.downBytes)}; ${fmtMiB(Rs.wire.packBytes)} from ${fmtN(Rs.wire.packs.size)} packs in ${fmtN(Rs.wire.packGets)} GETs |`);
  rows.push(`| full restore: throughput on the wire (down) and link use | — | ${(downThr / MIB).toFixed(1)} MiB/s, ${use(downThr)} of the cap |`);
  rows.push(`| full restore: requests | — | ${fmtN(Rs.wire.requests)} (${Math.round(Rs.wire.requests / gib)} per GiB restored): ${kinds(Rs.wire)} |`);
  rows.push(`| full restore: peak RSS / CPU (user+sys) | ${fmtMiB(L.restore?.rss)} / ${L.restore?.cpuS?.toFixed(1) ?? '—'} s | ${fmtMiB(Rs.rss)} / ${Rs.cpuS?.toFixed(1) ?? '—'} s |`);
  rows.push(`| full restore verified byte for byte | — | ${z.verified.missing.length + z.verified.different.length === 0 ? `identical (${fmtN(z.verified.files)} files)` : '**MISMATCH**'} |`);
  rows.push(`| CPU of the bench process (proxy) during backup / restore | — | ${B.benchCpuS.toFixed(1)} s / ${Rs.benchCpuS.toFixed(1)} s |`);
  const issue = [];
  if (cap > 0) {
    issue.push(['WAN: initial backup keeps the link full', `${(upThr / MIB).toFixed(1)} MiB/s = ${use(upThr)}`, `≥ ${TARGETS.linkUse * 100} % of ${z.mibPerS} MiB/s`, !B.failed && upThr >= TARGETS.linkUse * cap]);
    issue.push(['WAN: full restore keeps the link full', `${(downThr / MIB).toFixed(1)} MiB/s = ${use(downThr)}`, `≥ ${TARGETS.linkUse * 100} % of ${z.mibPerS} MiB/s`, !Rs.failed && downThr >= TARGETS.linkUse * cap]);
  }
  issue.push(['full restore: requests per GiB', fmtN(Math.round(Rs.wire.requests / gib)), `≤ ${TARGETS.restoreReqPerGiB}`, !Rs.failed && Rs.wire.requests / gib <= TARGETS.restoreReqPerGiB]);
  issue.push(['incremental backup, nothing changed: requests in all', fmtN(U.wire.requests), `≤ ${TARGETS.unchangedRequests}`, !U.failed && U.wire.requests <= TARGETS.unchangedRequests]);

  const single = z.single.map((x) => {
    const m = x.restore, ls = x.ls;
    const treePacks = ls.wire.packs.size;
    const ok = x.verified.missing.length + x.verified.different.length === 0;
    // A file under the chunker's minimum is one chunk, so one data pack; a large file's data packs are not
    // known without the engine's help (its restore result gives no pack count).
    const needed = x.size < 16 * 1024 ? treePacks + 1 : undefined;
    if (needed !== undefined) issue.push([`single-file restore (${x.what}, ${fmtSize(x.size)}): packs read`, `${m.wire.packs.size}`, `≤ packs it needs: ${needed} (${treePacks} tree + 1 data)`, !m.failed && ok && m.wire.packs.size <= needed]);
    // For a large file the bench cannot tell which packs hold its chunks; the engine's result says how many
    // distinct packs it read (packsRead), and test/restore/restore-requests.test.ts asserts exactly that a
    // one-file restore reads the packs of its chunks and trees and no other.
    else issue.push([`single-file restore (${x.what}, ${fmtSize(x.size)}): packs read`, `${m.wire.packs.size} packs on the wire (engine's packsRead ${m.result?.data?.packsRead ?? '—'}), ${fmtSize(m.wire.packBytes)} of pack data for ${fmtSize(x.size)} of file`, 'only the packs it needs (exact count asserted in vitest)', undefined]);
    return `| ${x.what}: ${x.path} | ${fmtSize(x.size)} | ${cell(m, (q) => q.wallMs, fmtS)} | ${fmtN(m.wire.requests)} | ${fmtN(m.wire.packs.size)} in ${fmtN(m.wire.packGets)} GETs, ${fmtSize(m.wire.packBytes)} | ${fmtN(treePacks)} (${fmtN(ls.wire.requests)} requests) | ${needed ?? 'not known (see below)'} | ${ok ? 'identical' : '**MISMATCH**'} |`;
  });

  let inter = '';
  const I = z.interrupted;
  if (I) {
    const r1 = I.run1, r2 = I.run2;
    const ok = I.verified.missing.length + I.verified.different.length === 0;
    const how = !I.fired ? 'the restore finished before the reset point (nothing was interrupted)'
      : I.killed ? `the engine was still retrying ${I.giveUpS} s after the reset and was killed by the bench`
        : `the engine gave up by itself ${r1.gaveUpS?.toFixed(0) ?? '?'} s after the reset, exit code ${r1.code}${r1.result?.code ? ` (${r1.result.code})` : ''}`;
    const ratio = I.leftPackBytes > 0 ? r2.wire.packBytes / I.leftPackBytes : undefined;
    inter = `\n\n**Interrupted restore.** The full restore (${fmtMiB(z.bytes)}) again, into a fresh folder with \`--conflict OverwriteIfChanged\`. Run 1: once ${fmtMiB(r1.wire.downBytes)} had reached the engine (half of the full restore's ${fmtMiB(d.azure.restore.wire.downBytes)}), the proxy reset every connection (TCP RST) and then refused every new one (${fmtN(I.refused)} refused), like a link that went down; ${how}. Run 2, the same command into the same target once the link was back: ${cell(r2, (m) => m.wallMs, fmtS)}, exit ${r2.code}, ${fmtN(r2.wire.requests)} requests.\n\n| | pack data read from the vault |\n|---|---|\n| full restore (uninterrupted) | ${fmtMiB(I.fullPackBytes)} |\n| run 1, until the reset | ${fmtMiB(r1.wire.packBytes)} |\n| left after run 1 (full − run 1) | ${fmtMiB(I.leftPackBytes)} |\n| run 2 | ${fmtMiB(r2.wire.packBytes)} (${ratio === undefined ? '—' : `${ratio.toFixed(2)}× of what was left`}) |\n| result after run 2 | ${ok ? `byte-identical (${fmtN(I.verified.files)} files${I.verified.extra ? `, ${I.verified.extra} extra files` : ''})` : `**MISMATCH** (${I.verified.missing.length} missing, ${I.verified.different.length} differ)`} |`;
    issue.push(['interrupted restore resumes: run 2 reads', ratio === undefined ? 'not interrupted' : `${ratio.toFixed(2)}× of what was left (${fmtMiB(r2.wire.packBytes)} of ${fmtMiB(I.leftPackBytes)})${ok ? ', identical' : ', **MISMATCH**'}`, '≤ 1.0× of what was left, bit-identical', ratio === undefined ? undefined : ok && r2.wire.packBytes <= I.leftPackBytes * 1.02]);
  }

  const costRows = [['initial backup', B], ['unchanged re-run', U], ['full restore', Rs]].map(([label, m]) => {
    const k = m.cost;
    return `| ${label} | ${fmtN(m.wire.requests)} | ${fmtN(k.write)} | ${fmtN(k.read)} | ${fmtN(k.free)} | $${k.usd.toFixed(4)} | $${(k.usd * 1000).toFixed(2)} |`;
  });
  z.issueRows = issue;
  return `## Azure Blob vault over a WAN-shaped link

The same engine backs up the corpus as it stands after the change phase into an Azurite container and restores it, through bench/wan-proxy.mjs: ${z.delayMs > 0 || z.mibPerS > 0 ? `${z.delayMs} ms each way (${2 * z.delayMs} ms round trip, and one more round trip for each new connection's handshake; TLS is not modelled), bandwidth capped at ${z.mibPerS || '∞'} MiB/s per direction by one token bucket shared by all connections` : 'bare loopback (--wan-delay-ms 0 --wan-mib-s 0)'}. It counts requests by kind (method and \`comp\`/\`restype\`) and status, bytes each way (headers included), and the pack objects read by GET.

**Calibration** (a ${c.mib} MiB transfer through the same proxy code to a local sink, no Azurite): round trip of an empty request ${fmtS(c.rttNewMs)} on a new connection, ${fmtS(c.rttKeptMs)} on a kept-alive one; one download ${c.downMiBs.toFixed(1)} MiB/s, one upload ${c.upMiBs.toFixed(1)} MiB/s, 4 parallel downloads ${c.down4MiBs.toFixed(1)} MiB/s in all (each includes its first round trip: a perfect link of this delay and cap would give ${z.mibPerS > 0 ? `${(c.mib / (c.mib / z.mibPerS + (2 * z.delayMs) / 1000)).toFixed(1)} MiB/s` : 'no limit'}, and ${fmtS(2 * z.delayMs)} / ${fmtS(4 * z.delayMs)} round trips).

| measurement | local folder vault | Azure Blob (Azurite) over the link |
|---|---|---|
${rows.join('\n')}

**Single-file restores** (\`azbackup restore latest <file>\`): the packs a file needs are its data packs and the packs holding the tree blobs on its path. The tree packs are measured by \`azbackup ls latest <its folder>\`, which reads those trees and no file data. A file under 16 KiB is one chunk (below the chunker's minimum), so one data pack. For a large file the data packs are not known from outside the engine: the bench shows the packs seen on the wire beside the engine's own count (\`packsRead\` in its RestoreResult); that a one-file restore reads exactly the packs of its chunks and trees is asserted in test/restore/restore-requests.test.ts.

| file | size | time | requests | packs read (GETs, bytes) | tree packs (ls) | packs needed | verified |
|---|---|---|---|---|---|---|---|
${single.join('\n')}${inter}

**Cost of the requests** at assumed list prices: Azure Blob Storage, ${PRICES.tier}, ${PRICES.region}, pay-as-you-go, $${PRICES.writePer10k} per 10,000 write operations (Put Blob/Block/Block List, leases; List is billed at the write price in the hot tier), $${PRICES.readPer10k} per 10,000 read and other operations (Get Blob, Get Properties), Delete free; as of ${PRICES.asOf}. Storage, egress and capacity are not included.

| step | requests | write class | read class | delete (free) | USD per run | USD per 1,000 runs |
|---|---|---|---|---|---|---|
${costRows.join('\n')}`;
}

function buildReport(d) {
  const hasRestic = d.resticVersion !== undefined;
  let table = '';
  if (d.res) {
    const A = d.res.azbackup, R = d.res.restic;
    const rows = [];
    const pairs = [['initial', 'initial backup', TARGETS.initial], ['unchanged', 'unchanged re-run', TARGETS.unchanged], ['changed', 're-run after 5 % changed', TARGETS.changed], ['restore', 'full restore', TARGETS.restore]];
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

  const azureTable = d.azure ? azureSection(d) : '';
  const issueRows = [];
  const rowIssue = (label, measured, target, met) => issueRows.push(`| ${label} | ${measured} | ${target} | ${met === undefined ? '—' : met ? 'met' : '**not met**'} |`);
  const ratioRow = (label, a, r, target, get = (m) => m.wallMs) => {
    if (!a || a.failed || !r || r.failed) { rowIssue(label, a?.failed || r?.failed ? 'failed' : 'not run', `≤ ${target}×`, undefined); return; }
    const x = get(a) / get(r);
    rowIssue(label, `${x.toFixed(2)}×`, `≤ ${target}×`, x <= target);
  };
  if (d.res) {
    const A = d.res.azbackup, R = d.res.restic;
    ratioRow('initial backup time', A.initial, R?.initial, TARGETS.initial);
    ratioRow('unchanged re-run time', A.unchanged, R?.unchanged, TARGETS.unchanged);
    ratioRow('re-run after 5 % changed', A.changed, R?.changed, TARGETS.changed);
    ratioRow('full restore time', A.restore, R?.restore, TARGETS.restore);
    if (d.sizes.restic) ratioRow('vault size', d.sizes.azbackup, d.sizes.restic, TARGETS.repo, (m) => m.repo);
    ratioRow('peak RSS, initial backup', A.initial, R?.initial, TARGETS.rss, (m) => m.rss);
    ratioRow('peak RSS, full restore', A.restore, R?.restore, TARGETS.rss, (m) => m.rss);
  }
  if (d.big) {
    for (const k of ['backup', 'restore']) {
      const b = d.big[k], o = d.big.one[k];
      if (!b || b.failed || !o || o.failed) { rowIssue(`peak RSS when the corpus is 4× larger: ${k}`, 'failed', `≤ ${TARGETS.rss4x}× of the 1× run`, undefined); continue; }
      const x = b.rss / o.rss;
      rowIssue(`peak RSS when the corpus is 4× larger: ${k}`, `${x.toFixed(2)}× (${fmtMiB(b.rss)} vs ${fmtMiB(o.rss)})`, `≤ ${TARGETS.rss4x}× of the 1× run`, x <= TARGETS.rss4x);
    }
  }
  if (d.startup) rowIssue('cold start of `--version` (median of 21, after one warm-up)', `${(d.startup.medianMs / 1000).toFixed(3)} s`, `≤ ${TARGETS.startupS} s`, d.startup.medianMs / 1000 <= TARGETS.startupS);
  if (d.small && !d.many) {
    const sA = d.small.tools.azbackup, sR = d.small.tools.restic;
    const n = fmtN(d.small.files);
    ratioRow(`${n} small files: initial backup time`, sA?.initial, sR?.initial, TARGETS.smallInitial);
    ratioRow(`${n} small files: unchanged re-run`, sA?.unchanged, sR?.unchanged, TARGETS.smallUnchanged);
    ratioRow(`${n} small files: full restore time`, sA?.restore, sR?.restore, TARGETS.smallRestore);
    ratioRow(`${n} small files: peak RSS, initial backup`, sA?.initial, sR?.initial, TARGETS.smallRss, (m) => m.rss);
    ratioRow(`${n} small files: peak RSS, full restore`, sA?.restore, sR?.restore, TARGETS.smallRss, (m) => m.rss);
  }
  if (d.many) {
    const b = d.many.tools.azbackup?.initial, o = d.small?.tools.azbackup?.initial;
    if (b && o && !b.failed && !o.failed) rowIssue(`${fmtN(d.many.files)} small files: peak RSS of the initial backup`, `${(b.rss / o.rss).toFixed(2)}× (${fmtMiB(b.rss)} vs ${fmtMiB(o.rss)})`, `≤ ${TARGETS.manyRss}× of the ${fmtN(d.small.files)}-file run`, b.rss / o.rss <= TARGETS.manyRss);
    else rowIssue(`${fmtN(d.many.files)} small files: peak RSS`, b?.timedOut ? `killed at ${fmtMiB(b.rss)}` : 'failed', `≤ ${TARGETS.manyRss}×`, undefined);
  }
  if (d.azure) for (const r of d.azure.issueRows ?? []) rowIssue(...r);
  const issueTable = issueRows.length ? ['| row (issue 17) | measured | target | |', '|---|---|---|---|', ...issueRows].join('\n') : '';

  // Scale
  const scaleParts = [];
  if (d.small) {
    const sA = d.small.tools.azbackup, sR = d.small.tools.restic;
    const srows = [];
    for (const [key, label, target] of [['initial', 'initial backup', TARGETS.smallInitial], ['unchanged', 'unchanged re-run', TARGETS.smallUnchanged], ['restore', 'full restore', TARGETS.smallRestore]]) {
      if (!sA?.[key]) continue;
      srows.push(tableRow(`${label}: time`, sA[key], sR?.[key], (m) => m.wallMs, fmtS, hasRestic ? target : undefined, hasRestic));
      srows.push(tableRow(`${label}: peak RSS`, sA[key], sR?.[key], (m) => m.rss, fmtMiB, hasRestic ? TARGETS.smallRss : undefined, hasRestic));
    }
    srows.push(tableRow('vault / repository size', sA, sR, (m) => m.repo, fmtMiB, undefined, hasRestic));
    if (sA?.verified) srows.push(`| restore verified byte for byte | ${sA.verified.missing.length + sA.verified.different.length === 0 ? `identical (${fmtN(sA.verified.files)} files)` : '**MISMATCH**'} | ${sR?.verified ? (sR.verified.missing.length + sR.verified.different.length === 0 ? `identical (${fmtN(sR.verified.files)} files)` : '**MISMATCH**') : '—'} | — | — | |`);
    scaleParts.push(`**${fmtN(d.small.desc.files)} small files** (1–4 KiB text each, ${fmtN(d.small.desc.dirs)} folders, ${fmtMiB(d.small.desc.bytes)}; generated in ${fmtS(d.small.genMs)}):\n\n| measurement | azbackup | restic | ratio | target | |\n|---|---|---|---|---|---|\n${srows.join('\n')}`);
  }
  if (d.many) {
    const m = d.many.tools.azbackup?.initial, o = d.small?.tools.azbackup?.initial;
    scaleParts.push(`**${fmtN(d.many.files)} small files** (azbackup's initial backup only; ${fmtMiB(d.many.desc.bytes)}, generated in ${fmtS(d.many.genMs)}): ${cell(m, (x) => x.wallMs, fmtS)}, peak RSS ${cell(m, (x) => x.rss, fmtMiB)}, CPU ${m?.cpuS?.toFixed(1) ?? '—'} s; the ${fmtN(d.small?.files ?? 0)}-file run: ${cell(o, (x) => x.wallMs, fmtS)}, peak RSS ${cell(o, (x) => x.rss, fmtMiB)}.`);
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
${issueTable ? `\n## Issue 17: every row against its target\n\n${issueTable}\n\nEach row is detailed in the sections below; ratios are azbackup / restic in this run unless the target says otherwise.\n` : ''}${table ? `\n## Results\n\n${table}\n\nTargets are issue 17's: ${TARGETS_TEXT}.\n` : ''}${d.big ? `\n${bigSection(d.big)}\n` : ''}${d.startup ? `\n## Start-up\n\n\`azbackup --version\` (the module's probe), bundle/startup.mjs's method: median ${fmtS(d.startup.medianMs)} of 21 runs after one warm-up (min ${fmtS(d.startup.minMs)}, max ${fmtS(d.startup.maxMs)}; 1-minute load average ${d.startup.load.toFixed(2)} before, so on a shared machine the minimum says more than the median); target ≤ ${TARGETS.startupS} s.${d.startup.coldMs !== undefined ? ` With the page cache dropped first (executable read from disk): ${fmtS(d.startup.coldMs)} (one run, information only).` : ''}\n` : ''}${azureTable ? `\n${azureTable}\n` : ''}
## Scale

${scale || 'Not run in this invocation.'}
${!d.small ? '\nThe 200,000-small-files run is not part of the default run (see bench/README.md); `npm run bench -- --scale-only` runs it (with the index check) and writes bench/results-scale.md.\n' : ''}${where}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}${problems.length ? `\n## Problems\n\n${problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`).join('\n')}\n` : ''}`;
  return { table: table + (azureTable ? `\n\n${azureTable}` : ''), scale, full };
}

main().then((code) => process.exit(code), (err) => {
  log(`bench failed: ${err.stack ?? err}`);
  process.exit(1);
});
