// `npm run bench -- --fleet N`: N server identities (each its own AZBACKUP_HOME, cache, certificate,
// passphrase and host name; every step its own engine process) register to ONE Azurite vault, back up
// at the same time, and some of them forget a point and prune while the others back up. Then every
// server restores its latest point (compared byte for byte with its source), `check --read-data` must be
// clean for every server, and the vault's server list (and the fleet report, when the engine has
// `fleet report`) must name every server and its latest point. Measures wall time per phase, the
// machine's memory in use (MemTotal - MemAvailable, sampled every 200 ms) and Azure requests by kind
// (counted at a loopback proxy in front of Azurite). A benchmark, not a test: run by hand, never in CI.
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { compareTrees, generateCorpus, modifyFiles, streamBytes } from './corpus.mjs';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Azurite's well-known development account key (public, the same for every Azurite). */
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** Every PRUNE_EVERY-th server (the 1st, the 6th, …) forgets its first point and prunes during the second round. */
const PRUNE_EVERY = 5;
const BEGIN = '<!-- fleet:begin (written by `npm run bench -- --fleet N`; kept by the other runs) -->';
const END = '<!-- fleet:end -->';

const fmtS = (ms) => (ms >= 100_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMiB = (b) => (b >= 10 * GIB ? `${(b / GIB).toFixed(1)} GiB` : `${(b / MIB).toFixed(1)} MiB`);
const fmtN = (n) => n.toLocaleString('en');
const load1 = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** The fleet section of a results file, to be carried over when the default run rewrites that file. */
export function fleetSection(path) {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  return a >= 0 && b > a ? text.slice(a, b + END.length) : '';
}

/**
 * Memory of this process and all its descendants (engines, Azurite, GNU time), from /proc: resident
 * pages less shared ones (statm), so the engine executable's file pages, mapped by every engine, are not
 * counted fifty times (they are in the machine's figure once).
 */
function treeRss() {
  const children = new Map();
  const rss = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state ppid …
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
      const [, resident, sharedPages] = readFileSync(`/proc/${d}/statm`, 'utf8').split(' ').map(Number);
      rss.set(Number(d), (resident - sharedPages) * 4096);
    } catch { /* exited meanwhile */ }
  }
  let total = 0;
  const todo = [process.pid];
  while (todo.length) {
    const pid = todo.pop();
    total += rss.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}

/**
 * Machine memory in use (MemTotal - MemAvailable, other users' processes included) and the resident
 * memory of the bench's own process tree, sampled every 200 ms; peak per phase and overall.
 */
function memorySampler() {
  const used = () => {
    const m = readFileSync('/proc/meminfo', 'utf8');
    const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(m)[1]) * 1024;
    return kib('MemTotal') - kib('MemAvailable');
  };
  const s = { baseline: used(), peak: 0, phasePeak: 0, treePeak: 0, phaseTreePeak: 0, samples: 0 };
  s.peak = s.baseline;
  const timer = setInterval(() => {
    const u = used(), t = treeRss();
    s.samples++;
    s.peak = Math.max(s.peak, u); s.phasePeak = Math.max(s.phasePeak, u);
    s.treePeak = Math.max(s.treePeak, t); s.phaseTreePeak = Math.max(s.phaseTreePeak, t);
  }, 200);
  s.startPhase = () => { s.phasePeak = used(); s.phaseTreePeak = treeRss(); };
  s.stop = () => clearInterval(timer);
  return s;
}

/** What an Azure request does, from its method and query: `PUT blob`, `GET list`, `PUT lease (acquire)`, … */
function requestKind(req) {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const comp = q.get('comp');
  if (comp === 'lease') return `${req.method} lease (${req.headers['x-ms-lease-action'] ?? '?'})`;
  if (comp) return `${req.method} ${comp}`;
  if (q.get('restype') === 'container') return `${req.method} container`;
  return `${req.method} blob`;
}

/** Starts Azurite on a free loopback port and a counting proxy in front of it. */
async function startAzurite(root, dir) {
  const freePort = () => new Promise((res) => { const srv = createNetServer(); srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => res(port)); }); });
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const main = join(root, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', join(dir, 'data'), '--skipApiVersionCheck', '--loose', '--silent'], { stdio: 'ignore' });
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    up = await new Promise((res) => { const s = netConnect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); res(true); }); s.once('error', () => res(false)); });
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) { child.kill('SIGKILL'); throw new Error('Azurite did not start within 30 s'); }
  const counts = { kinds: {}, status: {}, total: 0 };
  const proxy = createHttpServer((req, res) => {
    const kind = requestKind(req);
    counts.kinds[kind] = (counts.kinds[kind] ?? 0) + 1;
    counts.total++;
    const upReq = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const cls = `${r.statusCode}`;
      counts.status[cls] = (counts.status[cls] ?? 0) + 1;
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upReq.on('error', () => { counts.status['proxy error'] = (counts.status['proxy error'] ?? 0) + 1; res.destroy(); });
    req.pipe(upReq);
  });
  // Fifty engines at once each open several connections: a longer backlog than the default.
  await new Promise((r) => proxy.listen(0, '127.0.0.1', 512, r));
  const endpoint = `http://127.0.0.1:${proxy.address().port}/devstoreaccount1`;
  const hwm = () => { try { return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024; } catch { return 0; } };
  return {
    endpoint, counts, hwm, dataDir: join(dir, 'data'),
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    async stop() { proxy.closeAllConnections?.(); await new Promise((r) => proxy.close(r)); child.kill('SIGKILL'); },
  };
}

/**
 * Runs the fleet scenario. o: { n, root, work, bin, azbVersion, timeoutMs, results, keep, seed, mib, log, argv }.
 * Returns the exit code: 0 when every step, restore, check and report was right.
 */
export async function runFleet(o) {
  const { n, bin, log } = o;
  const started = Date.now();
  const problems = [];
  const notes = [];
  const problem = (msg) => { problems.push(msg); log(`PROBLEM: ${msg.split('\n')[0]}`); };
  const dir = join(o.work, 'fleet');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const mem = memorySampler();
  const loadStart = load1();
  log(`fleet of ${n}: baseline memory in use ${fmtMiB(mem.baseline)}, load average ${loadStart}`);

  // ------------------------------------------------------------ data (untimed)
  const tGen = Date.now();
  const ownBytes = Math.max(256 * 1024, Math.round(o.mib * MIB * 2 / 3));
  const sharedDir = join(dir, 'shared');
  const shared = generateCorpus(sharedDir, { seed: o.seed * 7919, files: 12, bytes: Math.max(128 * 1024, Math.round(o.mib * MIB / 3)) });
  const servers = [];
  for (let i = 1; i <= n; i++) {
    const name = `fleet-srv-${String(i).padStart(3, '0')}`;
    const sdir = join(dir, name);
    const src = join(sdir, 'src');
    const own = generateCorpus(join(src, 'own'), { seed: o.seed * 100_003 + i, files: 40, bytes: ownBytes });
    cpSync(sharedDir, join(src, 'shared'), { recursive: true });
    const prunes = (i - 1) % PRUNE_EVERY === 0;
    // The data only the first point of a pruning server holds: prune must find it unused and repack.
    if (prunes) { mkdirSync(join(src, 'scratch')); writeFileSync(join(src, 'scratch', 'removed-later.bin'), streamBytes(Math.round(o.mib * MIB / 4), o.seed, name, 'scratch')); }
    mkdirSync(join(sdir, 'cert'), { recursive: true });
    writeFileSync(join(sdir, 'pfx.pw'), `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(join(sdir, 'passphrase'), `${randomBytes(18).toString('base64')}\n`, { mode: 0o600 });
    servers.push({ i, name, dir: sdir, src, prunes, ownFiles: own.files, points: [], steps: {} });
  }
  const genMs = Date.now() - tGen;
  const perServer = ownBytes + shared.bytes;
  log(`data ready in ${fmtS(genMs)}: per server ${fmtMiB(ownBytes)} own + ${fmtMiB(shared.bytes)} shared (${shared.files} files, the same in every server)${servers.some((s) => s.prunes) ? `, + ${fmtMiB(Math.round(o.mib * MIB / 4))} scratch on the pruning servers` : ''}`);

  const az = await startAzurite(o.root, join(dir, 'azurite'));
  const vault = `${az.endpoint}/fleet`;
  const envOf = (s) => ({
    ...process.env, AZBACKUP_HOME: join(s.dir, 'home'), AZBACKUP_CACHE: join(s.dir, 'cache'), AZBACKUP_STORAGE_CONNECTION_STRING: az.connectionString,
    AZBACKUP_PASSPHRASE: undefined, AZBACKUP_TEST_KDF: undefined,
  });
  const adminEnv = { ...envOf({ dir: join(dir, 'admin') }) };

  /** One engine process; peak RSS and CPU from GNU time when present. Never rejects. */
  function engine(args, env, label) {
    const tf = join(dir, `.time-${randomBytes(6).toString('hex')}`);
    const [file, argv] = TIME_BIN ? [TIME_BIN, ['-f', '%M %U %S', '-o', tf, bin, ...args]] : [bin, args];
    return new Promise((res) => {
      const t0 = performance.now();
      const startedAt = Date.now();
      const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      child.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-8192); });
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs);
      child.on('error', (e) => { clearTimeout(timer); res({ label, code: -1, out, err: String(e), wallMs: 0, events: [] }); });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        const wallMs = performance.now() - t0;
        let rss = 0, cpuS = 0;
        if (TIME_BIN && existsSync(tf)) {
          const [m, u, s] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
          rss = (m || 0) * 1024; cpuS = (u || 0) + (s || 0);
          rmSync(tf, { force: true });
        }
        const events = [];
        for (const line of out.split('\n')) { if (line.startsWith('{')) { try { events.push(JSON.parse(line)); } catch { /* not an event */ } } }
        res({ label, code: code ?? (sig ? 128 : -1), timedOut, wallMs, startedAt, endedAt: Date.now(), rss, cpuS, out, err, events, result: events.findLast((e) => e.type === 'result')?.data });
      });
    });
  }
  const sAsk = (s, args) => engine([...args, '--vault', vault, '--json', '--passphrase-file', join(s.dir, 'passphrase')], envOf(s), `${s.name} ${args[0]}`);
  const okCode = (r, allowWarnings = true) => !r.timedOut && (r.code === 0 || (allowWarnings && r.code === 3));
  const failText = (r) => {
    const e = r.events.find((x) => x.type === 'error');
    return `${r.label} ${r.timedOut ? 'was killed at the time-out' : `exited ${r.code}`}: ${(e ? `${e.code}: ${e.message}` : r.err.trim().split('\n').pop() ?? '').slice(0, 400)}`;
  };

  // ------------------------------------------------------------ phases
  const phases = [];
  let requestsBefore = { ...az.counts.kinds };
  async function phase(name, what, fn) {
    log(`${name}: ${what} ...`);
    mem.startPhase();
    requestsBefore = { ...az.counts.kinds };
    const statusBefore = { ...az.counts.status };
    const la = load1();
    const t0 = Date.now();
    const runs = await fn();
    const wallMs = Date.now() - t0;
    const requests = Object.fromEntries(Object.entries(az.counts.kinds).map(([k, v]) => [k, v - (requestsBefore[k] ?? 0)]).filter(([, v]) => v > 0));
    const status = Object.fromEntries(Object.entries(az.counts.status).map(([k, v]) => [k, v - (statusBefore[k] ?? 0)]).filter(([, v]) => v > 0));
    const p = {
      name, what, wallMs, memPeak: mem.phasePeak, loadStart: la, loadEnd: load1(), requests, status,
      treePeak: mem.phaseTreePeak, processes: runs.length, failed: runs.filter((r) => r.failed).length,
      maxRss: Math.max(0, ...runs.map((r) => r.rss ?? 0)), cpuS: runs.reduce((a, r) => a + (r.cpuS ?? 0), 0),
      slowest: Math.max(0, ...runs.map((r) => r.wallMs ?? 0)),
    };
    phases.push(p);
    log(`${name}: ${runs.length} servers, ${p.failed} failed, ${fmtS(wallMs)} (slowest ${fmtS(p.slowest)}), memory peak ${fmtMiB(p.memPeak)}, ${Object.values(requests).reduce((a, b) => a + b, 0)} requests, load ${la} → ${p.loadEnd}`);
    return runs;
  }
  /** Marks a failed run (a problem) and returns the run. */
  const expect = (r, allowWarnings = true) => { if (!okCode(r, allowWarnings)) { r.failed = true; problem(failText(r)); } return r; };
  const all = (fn) => Promise.all(servers.map(fn));

  try {
    // Setup, not timed as fleet work: a vault, and one certificate per server uploaded by the admin.
    const tSetup = Date.now();
    mkdirSync(join(dir, 'admin'), { recursive: true });
    const vc = await engine(['vault', 'create', vault, '--json'], adminEnv, 'vault create');
    if (!okCode(vc)) throw new Error(failText(vc));
    const limit = Math.max(2, cpus().length * 2);
    for (let k = 0; k < servers.length; k += limit) {
      await Promise.all(servers.slice(k, k + limit).map(async (s) => {
        const c = await engine(['cert', 'new', '--subject', `CN=${s.name}`, '-o', join(s.dir, 'cert'), '--password-file', join(s.dir, 'pfx.pw'), '--json'], envOf(s), `${s.name} cert new`);
        if (!okCode(c)) throw new Error(failText(c));
        const a = await engine(['vault', 'add-cert', join(s.dir, 'cert', `${s.name}.cer`), '--vault', vault, '--json'], adminEnv, `${s.name} vault add-cert`);
        if (!okCode(a)) throw new Error(failText(a));
      }));
    }
    const setupMs = Date.now() - tSetup;
    log(`setup: vault and ${n} certificates uploaded in ${fmtS(setupMs)}`);
    const setupRequests = az.counts.total;

    await phase('register', `${n} servers register at once`, () => all(async (s) => {
      const r = expect(await engine(['register', '--vault', vault, '--certificate', join(s.dir, 'cert', `${s.name}.pfx`), '--password-file', join(s.dir, 'pfx.pw'),
        '--hostname', s.name, '--passphrase-file', join(s.dir, 'passphrase'), '--json'], envOf(s), `${s.name} register`));
      s.serverId = r.result?.serverId;
      return r;
    }));

    const pruners = servers.filter((s) => s.prunes);
    await phase('first backups', `${n} servers back up at once${pruners.length ? `; the ${pruners.length} pruning server(s) then remove scratch/ and back up again` : ''}`, () => all(async (s) => {
      const r = expect(await sAsk(s, ['backup', s.src]));
      if (r.failed) return r;
      s.points.push(r.result.pointId);
      s.firstStored = r.result.bytesStored;
      if (!s.prunes) return r;
      rmSync(join(s.src, 'scratch'), { recursive: true, force: true });
      const r2 = expect(await sAsk(s, ['backup', s.src]));
      if (!r2.failed) s.points.push(r2.result.pointId);
      return { ...r2, wallMs: r.wallMs + r2.wallMs, rss: Math.max(r.rss, r2.rss), cpuS: r.cpuS + r2.cpuS, failed: r2.failed };
    }));

    // Every server changes some of its own files (seeded, in place); shared/ stays the same everywhere.
    for (const s of servers) modifyFiles(join(s.src, 'own'), { seed: o.seed * 31 + s.i, fraction: 0.2 });
    spawnSync('sync');

    const pruneResults = [];
    const secondBackups = [];
    await phase('backups + prune', `${n - pruners.length} servers back up their changed files while ${pruners.length} forget their first point, prune, then back up`, () => all(async (s) => {
      if (!s.prunes) {
        const r = expect(await sAsk(s, ['backup', s.src]));
        if (!r.failed) s.points.push(r.result.pointId);
        s.lastBackupFailed = r.failed === true;
        secondBackups.push(r);
        return r;
      }
      if (s.points.length < 2) return { failed: true, wallMs: 0 };
      const f = expect(await sAsk(s, ['forget', s.points[0], '--permanent']));
      const p = expect(await sAsk(s, ['prune']));
      if (!p.failed) {
        pruneResults.push({ name: s.name, startedAt: p.startedAt, endedAt: p.endedAt, ...p.result });
        if (!(p.result?.packsDeleted > 0)) problem(`${s.name} prune deleted no pack after its first point (with scratch/) was forgotten: ${JSON.stringify(p.result)}`);
      }
      const b = expect(await sAsk(s, ['backup', s.src]));
      if (!b.failed) s.points.push(b.result.pointId);
      s.lastBackupFailed = b.failed === true;
      return { label: s.name, wallMs: f.wallMs + p.wallMs + b.wallMs, rss: Math.max(f.rss, p.rss, b.rss), cpuS: f.cpuS + p.cpuS + b.cpuS, failed: f.failed || p.failed || b.failed };
    }));

    await phase('restore', `${n} servers restore their latest point at once`, () => all(async (s) => {
      const target = join(s.dir, 'restore');
      mkdirSync(target, { recursive: true });
      const r = expect(await sAsk(s, ['restore', 'latest', '--target', target]), false);
      if (!r.failed && r.result?.verifyFailed) problem(`${s.name} restore: ${r.result.verifyFailed} file(s) failed verification`);
      return r;
    }));

    const tCmp = Date.now();
    let identical = 0, comparedFiles = 0, comparedBytes = 0, notCompared = 0;
    for (const s of servers) {
      // Its source changed after the point it has: that failure is listed already, a comparison would only repeat it.
      if (s.lastBackupFailed !== false) { notCompared++; continue; }
      const v = compareTrees(s.src, join(s.dir, 'restore', s.src));
      comparedFiles += v.files; comparedBytes += v.bytes;
      if (v.missing.length + v.different.length + v.extra > 0) problem(`RESTORE MISMATCH (${s.name}): ${v.missing.length} missing, ${v.different.length} different, ${v.extra} extra of ${v.files} files; first: ${[...v.missing, ...v.different].slice(0, 3).join('; ')}`);
      else identical++;
      if (!o.keep) rmSync(join(s.dir, 'restore'), { recursive: true, force: true });
    }
    phases.push({ name: 'compare', what: 'every restored file compared byte for byte with its source (in the bench process)', wallMs: Date.now() - tCmp, comparedOnly: true });
    if (notCompared) problem(`${notCompared} restore(s) not compared: the server's last backup failed (above)`);
    log(`compare: ${identical} of ${n} restores byte-identical (${fmtN(comparedFiles)} files, ${fmtMiB(comparedBytes)}) in ${fmtS(Date.now() - tCmp)}`);

    const checks = await phase('check', `${n} servers run check --read-data at once`, () => all(async (s) => {
      const r = expect(await sAsk(s, ['check', '--read-data']), false);
      if (!r.failed && (r.result?.problems !== 0 || r.result?.points !== s.points.length - (s.prunes ? 1 : 0))) {
        r.failed = true;
        problem(`${s.name} check: ${r.result?.problems} problem(s), ${r.result?.points} point(s) (expected ${s.points.length - (s.prunes ? 1 : 0)})`);
      }
      return r;
    }));
    const cleanChecks = checks.filter((r) => !r.failed).length;

    // The vault's view: every server listed once with its host name (no passphrase needed).
    const listing = { servers: 0, right: false };
    await phase('servers', 'the admin lists the vault\'s servers', async () => {
      const r = expect(await engine(['servers', '--vault', vault, '--json'], adminEnv, 'servers'));
      const listed = r.events.filter((e) => e.type === 'item').map((e) => e.data);
      listing.servers = listed.length;
      const wrong = servers.filter((s) => listed.filter((l) => l.hostname === s.name && l.serverId === s.serverId && l.proofValid === true).length !== 1);
      listing.right = listed.length === n && wrong.length === 0;
      if (!listing.right) problem(`servers: ${listed.length} listed for ${n} registered; not listed once with a valid proof: ${wrong.map((s) => s.name).slice(0, 5).join(', ')}`);
      return [r];
    });

    // The fleet report (azbackup fleet report --json): one FleetServer item per server, read without any
    // passphrase. Each row must be the server's (ID, host name, valid proof), count its live points, date its
    // last point within this run, and call it OK with no locks left behind.
    const report = { ran: false };
    await phase('fleet report', 'the admin runs azbackup fleet report --json', async () => {
      const r = expect(await engine(['fleet', 'report', '--vault', vault, '--json'], adminEnv, 'fleet report'));
      report.ran = true;
      const rows = r.events.filter((e) => e.type === 'item' && e.kind === 'FleetServer').map((e) => e.data);
      const now = Date.now();
      const wrong = [];
      for (const s of servers) {
        const mine = rows.filter((x) => x.serverId === s.serverId);
        const row = mine[0];
        const live = s.points.length - (s.prunes ? 1 : 0);
        const last = row?.lastPoint ? Date.parse(row.lastPoint) : NaN;
        const why = mine.length !== 1 ? `${mine.length} rows`
          : row.hostname !== s.name ? `host name ${row.hostname}`
          : row.proofValid !== true ? 'proof not valid'
          : row.pointCount !== live ? `${row.pointCount} points, not ${live}`
          : !(last >= started && last <= now) ? `last point ${row.lastPoint} not within this run`
          : row.status !== 'OK' || row.codes.length ? `${row.status} ${row.codes.join(',')}`
          : row.activeLocks !== 0 || row.staleLocks !== 0 ? `${row.activeLocks} active, ${row.staleLocks} stale locks`
          : !(row.storedBytes > 0) ? 'no bytes stored' : undefined;
        if (why) wrong.push(`${s.name}: ${why}`);
      }
      report.rows = rows.length; report.wrong = wrong;
      if (rows.length !== n || wrong.length) problem(`fleet report: ${rows.length} rows for ${n} servers; wrong: ${wrong.slice(0, 5).join('; ') || 'none'}`);
      return [r];
    });

    // ---------------------------------------------------------- report
    mem.stop();
    const vaultBytes = Number(spawnSync('du', ['-sb', az.dataDir], { encoding: 'utf8' }).stdout.split('\t')[0]) || 0;
    const azuriteHwm = az.hwm();
    const totalMs = Date.now() - started;
    const mc = { nproc: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: totalmem() / GIB, kernel: release() };
    const totals = {};
    for (const p of phases) for (const [k, v] of Object.entries(p.requests ?? {})) totals[k] = (totals[k] ?? 0) + v;
    const reqCell = (r) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmtN(v)}`).join(', ');
    const fleetPhases = phases.filter((p) => !p.comparedOnly);
    const rows = phases.map((p) => (p.comparedOnly
      ? `| ${p.name} | ${p.what} | ${fmtS(p.wallMs)} | — | — | — | — | — | — |`
      : `| ${p.name} | ${p.what} | ${fmtS(p.wallMs)} | ${p.processes - p.failed} of ${p.processes} ok | ${fmtMiB(p.memPeak)} | ${fmtMiB(p.treePeak)} | ${p.maxRss ? fmtMiB(p.maxRss) : '—'} | ${p.cpuS ? `${p.cpuS.toFixed(0)} s` : '—'} | ${p.loadStart.toFixed(1)} → ${p.loadEnd.toFixed(1)} |`));
    const reqRows = fleetPhases.map((p) => `| ${p.name} | ${fmtN(Object.values(p.requests).reduce((a, b) => a + b, 0))} | ${reqCell(p.requests)} | ${Object.entries(p.status).map(([k, v]) => `${k}: ${fmtN(v)}`).join(', ')} |`);
    const pr = pruneResults;
    // How many other servers' backups were running while each prune ran (the point of the phase).
    const overlaps = pr.map((p) => secondBackups.filter((b) => b.startedAt < p.endedAt && b.endedAt > p.startedAt).length);
    const stored = servers.map((s) => s.firstStored).filter((v) => v !== undefined);
    const verdict = problems.length === 0 ? 'passed' : `**FAILED** (${problems.length} problem(s))`;
    const section = `${BEGIN}
## Fleet: ${n} servers, one Azurite vault (${new Date(started).toISOString().slice(0, 10)})

Written by \`npm run bench -- ${o.argv.join(' ')}\` (bench/fleet.mjs) on ${new Date(started).toISOString()}; the whole run took ${fmtS(totalMs)}. Result: ${verdict}.

- **Machine:** ${mc.nproc} CPUs (${mc.cpuModel}), ${mc.memGiB.toFixed(1)} GiB RAM, Linux ${mc.kernel}; shared with other work: 1-minute load average ${loadStart} at the start, ${Math.min(...fleetPhases.map((p) => p.loadStart)).toFixed(1)}–${Math.max(...fleetPhases.map((p) => p.loadEnd)).toFixed(1)} during the phases (most of it the fleet itself). ${o.azbVersion}.
- **Fleet:** ${n} server identities \`fleet-srv-001\`… (each its own AZBACKUP_HOME, cache, certificate, passphrase file and \`--hostname\`; every step its own engine process; release key derivation, argon2id 64 MiB × 3), one vault in an Azurite container (Azurite ${JSON.parse(readFileSync(join(o.root, 'node_modules', 'azurite', 'package.json'), 'utf8')).version}, one process, loopback). Each server backs up ${fmtMiB(perServer)}: ${fmtMiB(ownBytes)} of its own (${servers[0]?.ownFiles} mixed files, about 5 % of them duplicates of others, seeded per server) and the same ${fmtMiB(shared.bytes)} of shared files (${shared.files} files) in every server. Deduplication is per server namespace by design (ARCHITECTURE §2, chunk IDs are keyed per server), so the shared files are stored once per server: first backups stored ${stored.length ? `${fmtMiB(Math.min(...stored))}–${fmtMiB(Math.max(...stored))}` : '—'} per server, vault ${fmtMiB(vaultBytes)} in Azurite at the end. Data generated in ${fmtS(genMs)}; setup (vault, ${n} certificates made and uploaded, ${fmtN(setupRequests)} requests) ${fmtS(setupMs)}, not part of the phases.
- **Prune during backups:** every ${PRUNE_EVERY}th server (${pruners.length}: the 1st, 6th, …) backs up twice in the first round (with a scratch/ folder of ${fmtMiB(Math.round(o.mib * MIB / 4))}, then without), then, while the other ${n - pruners.length} back up their changed files, forgets its first point (\`forget --permanent\`), prunes and backs up. Prunes: ${pr.length} ran${overlaps.length ? `, each while ${Math.min(...overlaps) === Math.max(...overlaps) ? Math.min(...overlaps) : `${Math.min(...overlaps)}–${Math.max(...overlaps)}`} other servers' backups were running` : ''}, packs deleted ${fmtN(pr.reduce((a, r) => a + (r.packsDeleted ?? 0), 0))}, repacked ${fmtN(pr.reduce((a, r) => a + (r.packsRepacked ?? 0), 0))}, ${fmtMiB(pr.reduce((a, r) => a + (r.bytesFreed ?? 0), 0))} freed.
- **Restores:** ${identical} of ${n} byte-identical with their sources (${fmtN(comparedFiles)} files, ${fmtMiB(comparedBytes)}; restore also verifies every file's SHA-256 itself). **check --read-data:** clean for ${cleanChecks} of ${n}. **Server list** (\`azbackup servers\`): ${listing.servers} servers, ${listing.right ? 'each once with its ID and a valid registration proof' : '**wrong**'}. **Fleet report** (\`fleet report --json\`, no passphrase): ${report.ran ? (report.wrong.length || report.rows !== n ? `**wrong** (${report.rows} rows; ${report.wrong.slice(0, 3).join('; ')})` : `${report.rows} rows, each server once with its host name, valid proof, live point count, a last point within this run, status OK and no locks left`) : 'did not run'}.
- **Memory of the whole machine** (MemTotal − MemAvailable from /proc/meminfo every 200 ms; other users' work on this shared machine is in it too): baseline ${fmtMiB(mem.baseline)} before the run, peak ${fmtMiB(mem.peak)} (+${fmtMiB(mem.peak - mem.baseline)}). The bench's own process tree (engines, GNU time, Azurite, the bench with its proxy; resident memory less shared file pages, summed, sampled alike) peaked at ${fmtMiB(mem.treePeak)}; Azurite's own peak RSS ${fmtMiB(azuriteHwm)}.

| phase | what | wall | servers ok | machine memory in use, peak | bench's process tree, private RSS peak | largest engine peak RSS | engine CPU (user+sys) | load avg (1 min) |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Azure requests (counted at a loopback proxy in front of Azurite; kind = method and \`comp\`/\`restype\`; 404s are expected existence probes):

| phase | requests | by kind | by status |
|---|---|---|---|
${reqRows.join('\n')}
| all phases | ${fmtN(Object.values(totals).reduce((a, b) => a + b, 0))} | ${reqCell(totals)} | |
${notes.length ? `\n${notes.map((x) => `- ${x}`).join('\n')}\n` : ''}${problems.length ? `\n**Problems:**\n\n${problems.map((x) => `- ${x.replace(/\n/g, '\n  ')}`).join('\n')}\n` : ''}${END}`;

    process.stdout.write(`\n${section}\n`);
    if (o.results !== '-') {
      const path = resolve(o.results);
      const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
      const a = old.indexOf(BEGIN), b = old.indexOf(END);
      const text = a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END.length) : `${old.replace(/\s*$/, '')}\n\n${section}\n`;
      writeFileSync(path, text);
      log(`wrote the fleet section of ${path}`);
    }
    log(`total ${fmtS(totalMs)}; ${problems.length ? `FAILED: ${problems.length} problem(s)` : 'fleet scenario passed'}`);
    return problems.length ? 1 : 0;
  } finally {
    mem.stop();
    await az.stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}
