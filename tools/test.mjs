// `npm test`: build the engine, run vitest (engine) and Pester (module and cmdlets) against it, then
// print one closing line "N passed, N failed". Skipped tests fail the run: none are expected.
// vitest and Pester run at the same time: both spend most of their time waiting on engine processes,
// and every test works in its own temp folders, homes, mounts and ports, so neither can see the other.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.tools', 'results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
const node = process.execPath; // the pinned Node 24 (npm puts node_modules/.bin first on PATH)

function step(name, args) {
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

if (!process.version.startsWith('v24.')) {
  console.log(`npm test must run on the pinned Node 24 (got ${process.version}); run it through npm after "bash tools/setup.sh"`);
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}
// The tests run a test build of the engine (bundle/defines.mjs): it honours AZBACKUP_TEST_KDF=fast, which
// a release build (npm run build) ignores. A release build replaces it once the tests are done.
for (const [name, args] of [
  ['typecheck', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root]],
  ['build (test build)', [join(root, 'bundle', 'build.mjs'), '--test']],
]) {
  if (step(name, args) !== 0) { console.log(`\n0 passed, 1 failed (${name} failed)`); process.exit(1); }
}

// Runs a suite (node with `args`, or `command`) with its output going to `log` (and to this console too when `live`), at `nice` (its
// processes, pwsh and engines included, inherit it); settles on its end.
function suite(args, log, live, nice = 0, command = node) {
  return new Promise((resolve) => {
    const out = createWriteStream(log);
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    if (nice !== 0 && child.pid !== undefined) {
      try { setPriority(child.pid, nice); } catch { /* not permitted here: the suite runs at normal priority */ }
    }
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => { out.write(chunk); if (live) process.stdout.write(chunk); });
    }
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 1000);
    child.on('error', (err) => { out.end(`\n${err.message}\n`); resolve({ status: 1, seconds: seconds() }); });
    child.on('close', (code) => { out.end(() => resolve({ status: code ?? 1, seconds: seconds() })); });
  });
}
const vitestJson = join(results, 'vitest.json');
const pesterJson = join(results, 'pester.json');
const pesterLog = join(results, 'pester.log');
const vitestArgs = [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`];
const pesterArgs = [join(root, 'tools', 'pester.mjs'), pesterJson];
// Wine 10 for the Windows smoke test is made (once per machine, cached in .tools/wine) while the suites run:
// it waits on the network and dpkg, not on the CPU the suites use.
const wineSetupLog = join(results, 'wine-setup.log');
const wineSetup = suite([join(root, 'tools', 'wine-setup.sh')], wineSetupLog, false, 10, 'bash');

let vitestRun, pesterRun;
if (process.env['AZBACKUP_TEST_SERIAL'] === '1') {
  // One suite after the other, as before: to compare, or where two suites at once overload the machine.
  console.log('\n=== vitest (engine) ===');
  vitestRun = await suite(vitestArgs, join(results, 'vitest.log'), true);
  console.log('\n=== pester (module and cmdlets) ===');
  pesterRun = await suite(pesterArgs, pesterLog, true);
} else {
  console.log('\n=== vitest (engine), with Pester (module and cmdlets) running beside it ===');
  // vitest streams here; Pester's output goes to its log and is printed whole once it ends, so that the
  // two never interleave. Pester runs niced: it takes the CPU vitest leaves idle (waits on daemons,
  // time-outs, child processes) and slows vitest's tests, which have time limits, as little as it can.
  [vitestRun, pesterRun] = await Promise.all([
    suite(vitestArgs, join(results, 'vitest.log'), true),
    suite(pesterArgs, pesterLog, false, 5),
  ]);
  console.log('\n=== pester (module and cmdlets) ===');
  process.stdout.write(readFileSync(pesterLog));
}
console.log(`\nvitest ran ${vitestRun.seconds} s (exit ${vitestRun.status}), Pester ${pesterRun.seconds} s (exit ${pesterRun.status})`);
// Leave a release build behind: a test build must never be the engine a server runs.
const releaseBuilt = step('build (release, left in bundle/dist)', [join(root, 'bundle', 'build.mjs')]) === 0;

// The Windows engine, cross-built, through a backup's whole life under Wine 10 (tools/test-win.mjs). Each
// PASS/FAIL line is one test; a run that cannot start (no Wine 10, no build) is one failure, never a skip.
console.log('\n=== Windows engine under Wine 10 (build:win, test:win) ===');
const wineReady = await wineSetup;
process.stdout.write(readFileSync(wineSetupLog));
const win = { passed: 0, failed: 0, failures: [] };
if (wineReady.status !== 0) {
  win.failed = 1; win.failures.push('Wine 10 could not be set up (tools/wine-setup.sh; see its output above)');
} else if (step('build:win', [join(root, 'bundle', 'build.mjs'), '--win']) !== 0) {
  win.failed = 1; win.failures.push('npm run build:win failed');
} else {
  const run = spawnSync(node, [join(root, 'tools', 'test-win.mjs')], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 });
  process.stdout.write(run.stdout ?? ''); process.stdout.write(run.stderr ?? '');
  const lines = (run.stdout ?? '').split('\n');
  win.passed = lines.filter((l) => l.startsWith('PASS ')).length;
  const failedSteps = lines.filter((l) => l.startsWith('FAIL '));
  win.failed = failedSteps.length;
  win.failures.push(...failedSteps.map((l) => `test:win ${l.slice(5)}`));
  if (run.status !== 0 && failedSteps.length === 0) { win.failed += 1; win.failures.push(`test:win exited ${run.status} with no failed step (see its output above)`); }
  if (run.status === 0 && win.passed === 0) { win.failed += 1; win.failures.push('test:win ran no step'); }
}

function read(file, pick) {
  if (!existsSync(file)) return { passed: 0, failed: 1, skipped: 0, missing: true };
  return pick(JSON.parse(readFileSync(file, 'utf8')));
}
// The names of failed tests are repeated at the very end: CI shows only the tail of the log.
function vitestFailures(j) {
  const out = [];
  for (const file of j.testResults ?? []) {
    const rel = file.name?.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')) out.push(`${rel}: ${String(file.message ?? 'failed to run').split('\n')[0]}`);
    for (const a of file.assertionResults ?? []) {
      if (a.status === 'failed') out.push(`${rel} > ${a.fullName}: ${String(a.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300)}`);
    }
  }
  return out;
}
const v = read(vitestJson, (j) => ({ failures: vitestFailures(j), passed: j.numPassedTests, failed: j.numFailedTests + (j.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length + (j.testResults ? 0 : 1), skipped: j.numPendingTests + j.numTodoTests }));
const p = read(pesterJson, (j) => j);
// A suite that exits non-zero with no failed test in its results (vitest's unhandled errors, a crash
// after the results were written) still fails the run.
const exitedBadly = [[vitestRun, v, 'vitest'], [pesterRun, p, 'Pester']]
  .filter(([run, r]) => run.status !== 0 && r.failed === 0 && r.skipped === 0)
  .map(([run, , name]) => `${name} exited ${run.status} with no failed test in its results (see its output above)`);
const passed = v.passed + p.passed + win.passed;
const failed = v.failed + p.failed + win.failed + v.skipped + p.skipped + (passed === 0 ? 1 : 0) + (releaseBuilt ? 0 : 1) + exitedBadly.length;
const failures = [...(v.failures ?? []), ...(p.failures ?? []), ...win.failures, ...exitedBadly, ...(releaseBuilt ? [] : ['the release build after the tests failed'])];
if (failures.length > 0) console.log(`\nfailed tests:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
console.log(`\nvitest: ${v.passed} passed, ${v.failed} failed, ${v.skipped} skipped${v.missing ? ' (no results: vitest did not finish)' : ''}`);
console.log(`pester: ${p.passed} passed, ${p.failed} failed, ${p.skipped} skipped${p.missing ? ' (no results: pester did not finish)' : ''}`);
console.log(`windows (Wine 10): ${win.passed} passed, ${win.failed} failed`);
if (v.skipped + p.skipped > 0) console.log('skipped tests count as failures: no test is expected to skip');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
