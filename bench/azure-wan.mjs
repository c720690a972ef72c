// The bench's Azure column: Azurite behind bench/wan-proxy.mjs (by default 20 ms each way, 50 MiB/s
// per direction), driven by the same engine executable. Measures the initial backup, an unchanged
// re-run, the full restore, single-file restores, an interrupted restore run twice, and prices the
// requests. Called by bench/run.mjs; returns figures, never judges them (run.mjs does).
import { spawn } from 'node:child_process';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibrateWan, startWanProxy } from './wan-proxy.mjs';
import { compareTrees, listFiles } from './corpus.mjs';

const MIB = 1024 * 1024;
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Assumed list prices (USD per 10,000 operations), Azure Blob Storage, hot tier, LRS, East US,
 * pay-as-you-go. Write class: Put Blob/Block/Block List, leases, and List (billed like writes in the hot
 * tier); read class: Get Blob, Get Properties (HEAD) and other reads; Delete is free.
 */
export const PRICES = { region: 'East US', tier: 'hot, LRS', writePer10k: 0.05, readPer10k: 0.004, asOf: '2026-12 (assumption, see bench/README.md)' };

/** Splits request counts by kind into billing classes and prices them. */
export function priceRequests(byKind) {
  let write = 0, read = 0, free = 0;
  for (const [kind, n] of Object.entries(byKind)) {
    const [method, what] = [kind.split(' ')[0], kind.slice(kind.indexOf(' ') + 1)];
    if (method === 'DELETE') free += n;
    else if (method === 'PUT' || method === 'POST' || what === 'list') write += n;
    else read += n;
  }
  return { write, read, free, usd: (write * PRICES.writePer10k + read * PRICES.readPer10k) / 10_000 };
}

const sumBy = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const freePort = () => new Promise((res) => { const srv = createNetServer(); srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => res(port)); }); });
function cpuNow() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

/**
 * `h`: helpers from run.mjs { root, work, bin, passphrase, measure, log, problem, notes, keep,
 * delayMs, mibPerS, interrupt }. `corpus`: folder backed up; `bytes`: its size.
 */
/**
 * One step's requests as a table (--wan-trace): when each started and ended (s from the step's start),
 * its kind, status and response body bytes, and the pack it read; a gap between reads is link time lost.
 */
function writeTrace(dir, label, t0, recs) {
  mkdirSync(dir, { recursive: true });
  const rows = recs.slice().sort((a, b) => a.t0 - b.t0).map((r) => [((r.t0 - t0) / 1000).toFixed(3), (((r.t1 ?? r.t0) - t0) / 1000).toFixed(3), r.kind, r.status || 'reset', r.downBody, r.pack ?? ''].join('\t'));
  writeFileSync(join(dir, `${label.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.tsv`), ['start_s\tend_s\tkind\tstatus\tbody_bytes\tpack', ...rows].join('\n') + '\n');
}

export async function azureWanRun(h, corpus, bytes) {
  const dir = join(h.work, 'azurite');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const out = { delayMs: h.delayMs, mibPerS: h.mibPerS, bytes };
  h.log(`WAN calibration: ${h.delayMs} ms each way, ${h.mibPerS || 'no'} MiB/s cap ...`);
  out.calibration = await calibrateWan({ delayMs: h.delayMs, mibPerS: h.mibPerS });

  const port = await freePort();
  const main = join(h.root, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const azurite = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', join(dir, 'data'), '--skipApiVersionCheck', '--loose', '--silent'], { stdio: 'ignore' });
  let proxy;
  try {
    for (let i = 0; i < 200; i++) {
      const up = await new Promise((res) => { const s = netConnect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); res(true); }); s.once('error', () => res(false)); });
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    proxy = await startWanProxy({ target: { host: '127.0.0.1', port }, delayMs: h.delayMs, mibPerS: h.mibPerS });
    const endpoint = `http://127.0.0.1:${proxy.port}/devstoreaccount1`;
    const env = {
      ...process.env, AZBACKUP_HOME: join(dir, 'home'), AZBACKUP_CACHE: join(dir, 'cache'), AZBACKUP_PASSPHRASE: h.passphrase,
      AZBACKUP_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    };
    const vault = `${endpoint}/bench`;
    mkdirSync(join(dir, 'cert'), { recursive: true });
    writeFileSync(join(dir, 'pfx.pw'), 'bench-pfx-password\n', { mode: 0o600 });
    // Not spawnSync: the proxy lives in this process and must keep serving meanwhile.
    const runAsync = (args) => new Promise((res) => {
      const c = spawn(h.bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      c.stdout.on('data', (d) => { text += d; });
      c.stderr.on('data', (d) => { text += d; });
      c.on('close', (status) => res({ status, text }));
    });
    for (const step of [['vault', 'create', vault], ['cert', 'new', '--subject', 'CN=bench-az', '-o', join(dir, 'cert'), '--password-file', join(dir, 'pfx.pw')],
      ['vault', 'add-cert', join(dir, 'cert', 'bench-az.cer'), '--vault', vault], ['register', '--vault', vault, '--certificate', join(dir, 'cert', 'bench-az.pfx'), '--password-file', join(dir, 'pfx.pw')]]) {
      const r = await runAsync(step);
      if (r.status !== 0 && r.status !== 3) throw new Error(`azbackup ${step.join(' ')} (Azurite) exited ${r.status}:\n${r.text}`);
    }

    /** One measured engine step with the proxy's view of it and the bench process's CPU (the proxy's cost). */
    const step = async (label, args) => {
      h.log(`Azure (WAN): ${label} ...`);
      const mark = proxy.mark();
      const c0 = cpuNow();
      const started = performance.now();
      const m = await h.measure(h.bin, args, env, { track: true });
      m.benchCpuS = cpuNow() - c0;
      m.wire = proxy.since(mark);
      if (h.trace) writeTrace(h.trace, label, started, proxy.records(mark));
      m.cost = priceRequests(m.wire.byKind);
      if (m.code !== 0 && m.code !== 3) { m.failed = true; h.problem(`azbackup ${label} (Azure, WAN) failed with exit code ${m.code}:\n${m.stderr.slice(-2000)}${m.stdout.slice(-1500)}`); }
      h.log(`  ${m.failed ? 'FAILED' : 'done'} in ${(m.wallMs / 1000).toFixed(1)} s, ${m.wire.requests} requests, up ${(m.wire.upBytes / MIB).toFixed(1)} MiB, down ${(m.wire.downBytes / MIB).toFixed(1)} MiB`);
      return m;
    };
    const verify = (target, what, only) => {
      const v = compareTrees(corpus, join(target, corpus), only ? { only } : undefined);
      if (v.missing.length + v.different.length > 0) h.problem(`RESTORE MISMATCH (Azure, ${what}): ${v.missing.length} missing, ${v.different.length} different of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 5).join('; ')}`);
      else h.log(`  ${what}: byte-identical, ${v.files} files`);
      return v;
    };
    const fresh = (name) => { const t = join(h.work, name); rmSync(t, { recursive: true, force: true }); mkdirSync(t, { recursive: true }); return t; };

    out.backup = await step('initial backup', ['backup', corpus, '--vault', vault, '--json']);
    out.unchanged = await step('unchanged re-run', ['backup', corpus, '--vault', vault, '--json']);

    let target = fresh('restore-azurite');
    out.restore = await step('full restore', ['restore', 'latest', '--target', target, '--vault', vault, '--json']);
    out.verified = verify(target, 'full restore');
    rmSync(target, { recursive: true, force: true });

    // Single files: the largest one and a small one (the first file under 16 KiB, in path order).
    const files = listFiles(corpus).map((f) => ({ f, size: statSync(join(corpus, f)).size }));
    const largest = files.reduce((a, b) => (b.size > a.size ? b : a));
    const small = files.find((x) => x.size > 0 && x.size < 16 * 1024) ?? files[0];
    out.single = [];
    for (const [what, pick] of [['large file', largest], ['small file', small]]) {
      const abs = join(corpus, pick.f);
      // Trees only: `ls` of the file's folder reads the tree blobs on its path and no file data, so the
      // packs it reads are the tree packs the restore of that file needs as well.
      const ls = await step(`ls of the ${what}'s folder`, ['ls', 'latest', join(abs, '..'), '--vault', vault, '--json']);
      target = fresh('restore-single');
      const m = await step(`restore of one ${what} (${(pick.size / MIB).toFixed(1)} MiB)`, ['restore', 'latest', abs, '--target', target, '--vault', vault, '--json']);
      const v = verify(target, `single ${what}`, [pick.f]);
      out.single.push({ what, path: pick.f, size: pick.size, restore: m, ls, verified: v });
      rmSync(target, { recursive: true, force: true });
    }

    if (h.interrupt) out.interrupted = await interruptedRestore(h, proxy, env, vault, out.restore, verify, fresh);
    return out;
  } finally {
    await proxy?.close();
    azurite.kill('SIGKILL');
    if (!h.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Run 1 restores through the proxy until about half of the full restore's bytes went through; then the
 * proxy resets every connection and refuses new ones (a link that went down) until the engine gives up
 * after its own retries (killed after `giveUpS` if it does not). Run 2: the same command into the same
 * target once the link is back. Reports what each run read and compares the result byte for byte.
 */
async function interruptedRestore(h, proxy, env, vault, full, verify, fresh) {
  const giveUpS = 180;
  const target = fresh('restore-interrupted');
  const half = Math.round(full.wire.downBytes / 2);
  const args = ['restore', 'latest', '--target', target, '--vault', vault, '--json', '--conflict', 'OverwriteIfChanged'];
  h.log(`Azure (WAN): interrupted restore, run 1 (reset after ${(half / MIB).toFixed(0)} MiB) ...`);
  const reset = proxy.armReset(half);
  const mark1 = proxy.mark();
  let killed = false;
  const watchdog = setInterval(() => {
    if (reset.fired && !reset.killTimer) {
      reset.firedAt = performance.now();
      reset.killTimer = setTimeout(() => { killed = true; h.killMeasured?.(); }, giveUpS * 1000);
    }
  }, 200);
  const run1 = await h.measure(h.bin, args, env, { track: true, onChild: (kill) => { h.killMeasured = kill; } });
  clearInterval(watchdog);
  if (reset.killTimer) clearTimeout(reset.killTimer);
  h.killMeasured = undefined;
  run1.wire = proxy.since(mark1);
  const fired = reset.fired;
  const refused = proxy.totals.refused;
  proxy.stopRefusing();
  run1.gaveUpS = reset.firedAt ? (performance.now() - reset.firedAt) / 1000 : undefined;
  h.log(`  run 1 ${fired ? `cut after ${(run1.wire.packBytes / MIB).toFixed(0)} MiB of packs` : 'finished before the reset point'}; exit ${run1.code}${killed ? ' (killed by the bench)' : ''}`);
  h.log('Azure (WAN): interrupted restore, run 2 (same command, same target) ...');
  const mark2 = proxy.mark();
  const run2 = await h.measure(h.bin, args, env, { track: true });
  run2.wire = proxy.since(mark2);
  if (run2.code !== 0 && run2.code !== 3) h.problem(`azbackup restore run 2 after the interruption failed with exit code ${run2.code}:\n${run2.stderr.slice(-2000)}${run2.stdout.slice(-1500)}`);
  const v = verify(target, 'interrupted restore, run 2');
  rmSync(target, { recursive: true, force: true });
  return {
    fired, killed, refused, giveUpS, run1, run2, verified: v,
    fullPackBytes: full.wire.packBytes, leftPackBytes: Math.max(0, full.wire.packBytes - run1.wire.packBytes),
    run1Result: run1.result?.type === 'error' ? run1.result : undefined,
  };
}
