// npm run test:win: the Windows engine (bundle/dist/azbackup.exe, built by npm run build:win when missing)
// run under Wine 10 through a backup's whole life (tools/test-win-steps.mjs lists the steps). Prints PASS
// or FAIL per step; exits 1 when any fails, or when Wine 10 cannot be set up (tools/wine-setup.sh; never
// skipped).
//
// Wine runs in the trixie chroot (.tools/wine/trixie); the steps run inside a private mount namespace
// (unshare), so the /proc and /dev bound into the chroot vanish with the run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, '.tools'), { recursive: true });
const chroot = join(realpathSync(join(root, '.tools')), 'wine', 'trixie');
// AZBACKUP_ENGINE_WIN tests another Windows executable (e.g. one built with --out).
const exe = process.env.AZBACKUP_ENGINE_WIN ?? join(root, 'bundle', 'dist', 'azbackup.exe');

function fail(message) {
  console.error(`test:win: FAILED: ${message}`);
  process.exit(1);
}

const started = Date.now();
const setup = spawnSync('bash', [join(root, 'tools', 'wine-setup.sh')], { stdio: 'inherit' });
if (setup.status !== 0) fail('Wine 10 could not be set up (tools/wine-setup.sh above says why); the Windows smoke test did not run');
if (!existsSync(exe)) {
  if (process.env.AZBACKUP_ENGINE_WIN) fail(`no executable at ${exe}`);
  const built = spawnSync(process.execPath, [join(root, 'bundle', 'build.mjs'), '--win'], { stdio: 'inherit' });
  if (built.status !== 0) fail('npm run build:win failed');
}
const inner = spawn('unshare', ['--mount', '--propagation', 'private', '--fork', process.execPath, join(root, 'tools', 'test-win-steps.mjs')], {
  stdio: 'inherit', env: { ...process.env, AZB_WINE_NAMESPACE: '1', AZBACKUP_ENGINE_WIN: exe },
});
// Ctrl+C ends the run (its steps are synchronous), but not the Wine processes: under Wine the engine
// gets no console control event through cmd.exe's redirections, and wineserver leaves the process group.
const stopWine = () => spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', 'mount --rbind /proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root WINEPREFIX=/root/.wine XDG_RUNTIME_DIR=/tmp/xdg-azb wineserver -k', chroot], { stdio: 'ignore', timeout: 20_000 });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { inner.kill(signal); stopWine(); console.error(`test:win: stopped (${signal})`); process.exit(1); });
inner.on('exit', (code) => {
  console.log(`test:win: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  process.exit(code ?? 1);
});
