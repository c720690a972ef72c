// The steps of npm run test:win, run by tools/test-win.mjs inside a private mount namespace: the Windows
// engine under Wine 10 through --version, cert new, vault create, add-cert, register, a backup of a
// folder, an incremental one, points, ls, restore to a --target (every file compared by SHA-256), restore
// to the original location, check --read-data. Prints PASS or FAIL per step; exits 1 when any fails.
//
// node.exe under Wine dies with EBADF when a standard handle is a Linux pipe, so every command runs
// through Wine's cmd.exe with its output redirected to files. The source folder is on Z: (the chroot's
// /), the vault and the engine's home on C: (the Wine prefix).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const STEP_TIMEOUT_MS = 180_000;

function fail(message) {
  console.error(`test:win: FAILED: ${message}`);
  process.exit(1);
}

const exe = process.env.AZBACKUP_ENGINE_WIN;
if (process.env.AZB_WINE_NAMESPACE !== '1' || !exe) fail('run through npm run test:win (tools/test-win.mjs), which sets up Wine and a mount namespace');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chroot = join(realpathSync(join(root, '.tools')), 'wine', 'trixie');

const mount = (from, to) => {
  const r = spawnSync('mount', ['--rbind', from, join(chroot, to)], { stdio: 'inherit' });
  if (r.status !== 0) fail(`cannot bind ${from} into the chroot`);
};
mount('/proc', 'proc');
mount('/dev', 'dev');

const run = randomBytes(4).toString('hex');
// Host path ↔ Windows path: Z:\ is the chroot's /, C:\ the prefix's drive_c.
const zName = `azb-win-${run}`;
const zHost = join(chroot, zName);
const cName = `azb-win-${run}`;
const cHost = join(chroot, 'root', '.wine', 'drive_c', cName);
const Z = (...parts) => ['Z:', zName, ...parts].join('\\');
const C = (...parts) => ['C:', cName, ...parts].join('\\');
mkdirSync(join(zHost, 'out'), { recursive: true });
mkdirSync(cHost, { recursive: true });
copyFileSync(exe, join(zHost, 'azbackup.exe'));
writeFileSync(join(zHost, 'pfx.pw'), 'smoke-test-pfx-password', { mode: 0o600 });

// The engine's environment (Wine hands it to the Windows process). A test passphrase, as the vitest
// fixtures give it; the release engine derives keys with its real KDF.
const engineEnv = {
  AZBACKUP_HOME: C('home'),
  AZBACKUP_CACHE: C('cache'),
  AZBACKUP_PASSPHRASE: 'smoke test passphrase under wine',
};
const wineEnv = {
  PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root', WINEPREFIX: '/root/.wine', WINEDEBUG: '-all',
  XDG_RUNTIME_DIR: '/tmp/xdg-azb', LANG: 'C.UTF-8',
};
mkdirSync(join(chroot, 'tmp', 'xdg-azb'), { recursive: true, mode: 0o700 });

// Wine's own output goes to a file, never to a pipe: the wineserver a wine command starts would inherit
// the pipe and hold it open (the command would seem to hang until it timed out).
const wineLog = join(zHost, 'out', 'wine.log');
const inChroot = (args, opts = {}) => {
  const log = openSync(existsSync(dirname(wineLog)) ? wineLog : '/dev/null', 'a');
  try {
    return spawnSync('chroot', [chroot, '/usr/bin/env', '-i', ...Object.entries({ ...wineEnv, ...opts.env }).map(([k, v]) => `${k}=${v}`), ...args], {
      stdio: ['ignore', log, log], timeout: opts.timeout ?? STEP_TIMEOUT_MS,
    });
  } finally {
    closeSync(log);
  }
};

// A lingering wineserver: without it each ~1 s command pays the server's start and shutdown. It stays
// until the wineserver -k at the end, or 5 s after its last client (it leaves this process group, so
// that is what ends it after a Ctrl+C).
const log = openSync(wineLog, 'a');
spawn('chroot', [chroot, '/usr/bin/env', '-i', ...Object.entries(wineEnv).map(([k, v]) => `${k}=${v}`), 'wineserver', '-p5'], { stdio: ['ignore', log, log] }).unref();
closeSync(log);
// Also when this script fails on its way: a persistent wineserver would keep the namespace alive. The
// run's folders go too, unless a step failed (then they are kept for a look, and named). (The steps run
// synchronously, so Ctrl+C ends the run at once, without this.)
let keepFolders = true;
process.on('exit', () => {
  inChroot(['wineserver', '-k'], { timeout: 20_000 });
  if (!keepFolders) {
    rmSync(zHost, { recursive: true, force: true });
    rmSync(cHost, { recursive: true, force: true });
  } else {
    console.log(`test:win: kept ${zHost} (Z:\\${zName}: engine output in out/) and ${cHost} (C:\\${cName})`);
  }
});

let count = 0;
/** Runs the engine with `args` (no spaces or quotes in them); returns its exit code, stdout and stderr. */
function azb(args) {
  count += 1;
  const out = join('out', `${count}.out`);
  const err = join('out', `${count}.err`);
  const line = [Z('azbackup.exe'), ...args].join(' ') + ` > ${Z(out)} 2> ${Z(err)}`;
  const r = inChroot(['wine', 'cmd.exe', '/c', line], { env: engineEnv });
  const read = (f) => (existsSync(join(zHost, f)) ? readFileSync(join(zHost, f), 'utf8') : '');
  if (r.error) return { code: -1, stdout: read(out), stderr: `${read(err)}\n(${r.error.message})` };
  return { code: r.status, stdout: read(out), stderr: read(err) };
}

/** The --json events of a run (one JSON object a line). */
const events = (r) => r.stdout.split(/\r?\n/).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const results = (r, kind) => events(r).filter((e) => (e.type === 'item' || e.type === 'result') && (kind === undefined || e.kind === kind)).map((e) => e.data);

const steps = [];
function step(name, body) {
  const t = Date.now();
  let error;
  try { body(); } catch (e) { error = e; }
  const seconds = ((Date.now() - t) / 1000).toFixed(1);
  steps.push({ name, ok: !error });
  console.log(`${error ? 'FAIL' : 'PASS'} ${name} (${seconds} s)${error ? `\n     ${String(error.message).split('\n').join('\n     ')}` : ''}`);
}
function expectOk(r, what) {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout.slice(-1500)}\nstderr: ${r.stderr.slice(-1500)}`);
  return r;
}
function check(cond, message) { if (!cond) throw new Error(message); }

// ------------------------------------------------------------------------------------------------------
// The source folder: nested folders, an empty file, a Unicode name, files of several chunks.

const srcName = 'src-data';
const srcHost = join(zHost, srcName);
const writeFile = (rel, data) => { mkdirSync(dirname(join(srcHost, rel)), { recursive: true }); writeFileSync(join(srcHost, rel), data); };
writeFile('readme.txt', 'AzBackup under Wine\r\n');
writeFile('empty.bin', Buffer.alloc(0));
writeFile(join('docs', 'résumé ü.txt'), 'unicode name\n');
writeFile(join('docs', 'deep', 'nested', 'one.bin'), randomBytes(70_000));
writeFile(join('big', 'random.bin'), randomBytes(6 * 1024 * 1024 + 17));
writeFile(join('big', 'zeros.bin'), Buffer.alloc(3 * 1024 * 1024));

/** SHA-256 of every file under a host folder, by relative path ('/' separated). */
function digests(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p).split('\\').join('/')] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
function sameDigests(actual, expected, where) {
  const a = Object.keys(actual).sort(), e = Object.keys(expected).sort();
  const missing = e.filter((k) => !(k in actual)), extra = a.filter((k) => !(k in expected));
  const differ = e.filter((k) => k in actual && actual[k] !== expected[k]);
  check(missing.length + extra.length + differ.length === 0,
    `${where}: ${missing.length} missing (${missing.slice(0, 5).join(', ')}), ${extra.length} extra (${extra.slice(0, 5).join(', ')}), ${differ.length} different (${differ.slice(0, 5).join(', ')})`);
}
/** Every folder named `name` under a host folder (where a restore into a target put the source). */
function foldersNamed(dir, name) {
  const found = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === name) found.push(join(d, e.name)); else walk(join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}

// ------------------------------------------------------------------------------------------------------
// The steps.

const vault = C('vault');
let firstPoint, secondPoint;
const firstState = digests(srcHost);

step('--version names win32-x64', () => {
  const r = expectOk(azb(['--version']), '--version');
  check(/^azbackup \S+ .*win32-x64/.test(r.stdout), `unexpected --version output: ${r.stdout}`);
});
step('cert new', () => {
  expectOk(azb(['cert', 'new', '--subject', 'CN=winsrv', '-o', Z(), '--password-file', Z('pfx.pw'), '--json']), 'cert new');
  check(existsSync(join(zHost, 'winsrv.cer')) && existsSync(join(zHost, 'winsrv.pfx')), 'cert new made no winsrv.cer / winsrv.pfx');
});
step('vault create (on C:)', () => {
  expectOk(azb(['vault', 'create', vault, '--json']), 'vault create');
  check(existsSync(join(cHost, 'vault')), 'no vault folder on C:');
});
step('vault add-cert', () => { expectOk(azb(['vault', 'add-cert', Z('winsrv.cer'), '--vault', vault, '--json']), 'vault add-cert'); });
step('register', () => {
  const r = expectOk(azb(['register', '--vault', vault, '--certificate', Z('winsrv.pfx'), '--password-file', Z('pfx.pw'), '--hostname', 'winsrv', '--json']), 'register');
  check(results(r, 'Registration').length === 1, 'register reported no Registration');
});
step('backup of a folder on Z:', () => {
  const r = expectOk(azb(['backup', Z(srcName), '--json']), 'backup');
  const point = results(r, 'RecoveryPoint')[0];
  check(point?.pointId, `backup reported no RecoveryPoint: ${r.stdout.slice(-500)}`);
  firstPoint = point.pointId;
});
// Changes for the incremental backup: one file changed, one added, one removed.
writeFile('readme.txt', 'AzBackup under Wine, changed\r\n');
writeFile(join('docs', 'added.txt'), randomBytes(5000));
rmSync(join(srcHost, 'big', 'zeros.bin'));
const secondState = digests(srcHost);
step('incremental backup', () => {
  const r = expectOk(azb(['backup', Z(srcName), '--json']), 'second backup');
  const point = results(r, 'RecoveryPoint')[0];
  check(point?.pointId && point.pointId !== firstPoint, 'the second backup made no new point');
  secondPoint = point.pointId;
  // Incremental: unchanged files are not read or stored again.
  check(point.filesUnchanged === 4 && point.filesChanged === 1 && point.filesNew === 1, `files new/changed/unchanged: ${point.filesNew}/${point.filesChanged}/${point.filesUnchanged}`);
  check(point.bytesAdded < 1024 * 1024, `the incremental backup added ${point.bytesAdded} bytes (whole files again?)`);
});
step('points lists both', () => {
  const ids = results(expectOk(azb(['points', '--json']), 'points'), 'RecoveryPoint').map((p) => p.pointId);
  check(ids.includes(firstPoint) && ids.includes(secondPoint) && ids.length === 2, `points: ${JSON.stringify(ids)}`);
});
step('ls of the newest point', () => {
  const r = expectOk(azb(['ls', 'latest', Z(srcName), '--recurse', '--json']), 'ls');
  const names = results(r, 'RecoverableItem').map((i) => String(i.path));
  for (const expected of ['readme.txt', 'added.txt', 'random.bin', 'résumé ü.txt']) {
    check(names.some((n) => n.endsWith(expected)), `ls lacks ${expected}: ${names.slice(0, 20).join(', ')}`);
  }
  check(!names.some((n) => n.endsWith('zeros.bin')), 'ls of the newest point shows the removed zeros.bin');
});
step('restore of the first point to --target on C: (bit-identical)', () => {
  expectOk(azb(['restore', firstPoint, '--target', C('restored'), '--json']), 'restore --target');
  const found = foldersNamed(join(cHost, 'restored'), srcName);
  check(found.length === 1, `expected one restored ${srcName} under the target, found ${found.length}`);
  sameDigests(digests(found[0]), firstState, 'restore --target');
});
step('restore to the original location (bit-identical)', () => {
  // Damage the source: a file changed, one removed; the restore puts the newest point back.
  writeFileSync(join(srcHost, 'readme.txt'), 'damaged');
  rmSync(join(srcHost, 'big', 'random.bin'));
  expectOk(azb(['restore', 'latest', Z(srcName), '--conflict', 'Overwrite', '--json']), 'restore in place');
  sameDigests(digests(srcHost), secondState, 'restore in place');
});
step('check --read-data', () => { expectOk(azb(['check', '--read-data', '--json']), 'check --read-data'); });

const failed = steps.filter((s) => !s.ok);
keepFolders = failed.length > 0;
console.log(`test:win: ${steps.length - failed.length} of ${steps.length} steps passed under ${readFileSync(join(chroot, '.azb-ready'), 'utf8').trim()}`);
process.exit(failed.length === 0 ? 0 : 1);
