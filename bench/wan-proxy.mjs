// A WAN-shaped HTTP proxy for the bench: the engine talks to it as its blob endpoint, it forwards to
// Azurite on loopback. Between the engine and the proxy it behaves like a link: every byte waits for
// one shared token bucket per direction (the bandwidth cap, like a line that all connections share)
// and then takes `delayMs` to arrive (one-way latency); a new TCP connection costs one round trip
// before its first request (the handshake; TLS is not modelled, so a real HTTPS link costs more).
// It counts requests by kind (method + comp/restype) and status, bytes each way, and the pack objects
// (servers/*/packs/...) read by GET, and can reset every connection after N response bytes.
import { createServer, request as httpRequest, Agent } from 'node:http';

const PACK_RE = /\/servers\/[^/]+\/packs\/(.+)$/;
/** How far (ms of line time) one sender may run ahead of the line before the proxy stops reading it. */
const AHEAD_MS = 60;

/** One direction of the link: a token bucket at `bytesPerS` (0 = no cap) shared by all connections. */
class Direction {
  constructor(bytesPerS) { this.bytesPerS = bytesPerS; this.busyUntil = 0; }
  /** Time (performance.now ms) at which the last of `len` bytes has left the sender. */
  reserve(len) {
    const now = performance.now();
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = this.bytesPerS > 0 ? start + (len * 1000) / this.bytesPerS : start;
    return this.busyUntil;
  }
}

/**
 * Delivers actions in order, each at its own time: the head runs when due, then the next is armed.
 * `lastAt` is when the last action pushed so far is due.
 */
class Pipe {
  constructor() { this.queue = []; this.timer = undefined; this.closed = false; this.lastAt = 0; }
  push(at, fn) {
    if (this.closed) return;
    this.lastAt = Math.max(this.lastAt, at);
    this.queue.push({ at, fn });
    if (this.queue.length === 1) this.arm();
  }
  arm() {
    if (this.timer || this.queue.length === 0 || this.closed) return;
    const wait = Math.max(0, this.queue[0].at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      while (this.queue.length && this.queue[0].at <= now + 0.5 && !this.closed) this.queue.shift().fn();
      this.arm();
    }, wait);
  }
  close() { this.closed = true; this.queue = []; if (this.timer) clearTimeout(this.timer); this.timer = undefined; }
}

/** Kind of a blob request for the counts: "GET blob", "GET list", "PUT block", "PUT lease (acquire)", … */
export function requestKind(method, url, headers = {}) {
  const q = new URL(url, 'http://x').searchParams;
  const comp = q.get('comp'), restype = q.get('restype');
  let kind = comp ?? (restype ? `restype=${restype}` : 'blob');
  if (comp === 'lease' && headers['x-ms-lease-action']) kind = `lease (${headers['x-ms-lease-action']})`;
  return `${method} ${kind}`;
}

/**
 * Starts the proxy on 127.0.0.1 (a free port). `target`: {host, port} of Azurite. `delayMs`: one-way
 * delay (0 = none); `mibPerS`: cap per direction (0 = none).
 */
export async function startWanProxy({ target, delayMs = 20, mibPerS = 50 }) {
  const bytesPerS = mibPerS * 1024 * 1024;
  const up = new Direction(bytesPerS), down = new Direction(bytesPerS);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  /** Every finished (or broken) request: {kind, status, upBytes, downBytes, pack, t0, t1}. */
  const log = [];
  const totals = { upBytes: 0, downBytes: 0, connections: 0, resets: 0, refused: 0 };
  const sockets = new Set();
  const fresh = new WeakSet();
  let reset; // { afterDownBytes, startAt, fired, refusing }

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const rec = { kind: requestKind(req.method, req.url, req.headers), status: 0, upBytes: 0, downBytes: 0, downBody: 0, pack: undefined, t0, t1: undefined };
    const m = req.method === 'GET' ? PACK_RE.exec(new URL(req.url, 'http://x').pathname) : null;
    if (m) rec.pack = m[1];
    const upPipe = new Pipe(), downPipe = new Pipe();
    let done = false;
    const finish = () => { if (done) return; done = true; rec.t1 = performance.now(); log.push(rec); };
    const headerBytes = (raw) => raw.reduce((a, s) => a + Buffer.byteLength(s) + 2, 16);

    // Request direction: headers (and the handshake of a new connection) then the body, shaped.
    const handshake = fresh.has(req.socket) ? 2 * delayMs : 0;
    fresh.delete(req.socket);
    const hb = headerBytes(req.rawHeaders);
    rec.upBytes += hb; totals.upBytes += hb;
    let upstream;
    upPipe.push(up.reserve(hb) + delayMs + handshake, () => {
      upstream = httpRequest({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, onResponse);
      upstream.on('error', () => { res.destroy(); finish(); });
    });
    req.on('data', (chunk) => {
      rec.upBytes += chunk.length; totals.upBytes += chunk.length;
      const leaves = up.reserve(chunk.length);
      upPipe.push(leaves + delayMs + handshake, () => upstream.write(chunk));
      // Backpressure: the sender may run ahead of the line by AHEAD_MS (a TCP window's worth); the
      // queue stays ≥ AHEAD_MS/2 deep so a late timer on a loaded machine does not idle the line.
      if (leaves - performance.now() > AHEAD_MS) { req.pause(); setTimeout(() => req.resume(), leaves - performance.now() - AHEAD_MS / 2); }
    });
    // The end travels right behind this request's last byte, not behind other connections' data.
    req.on('end', () => upPipe.push(Math.max(upPipe.lastAt, performance.now() + delayMs), () => upstream.end()));

    function onResponse(r) {
      rec.status = r.statusCode ?? 0;
      const rb = headerBytes(r.rawHeaders);
      rec.downBytes += rb; totals.downBytes += rb;
      downPipe.push(down.reserve(rb) + delayMs, () => res.writeHead(r.statusCode ?? 502, r.headers));
      r.on('data', (chunk) => {
        const leaves = down.reserve(chunk.length);
        // Bytes count when delivered to the engine, so a reset cuts exactly what went through.
        downPipe.push(leaves + delayMs, () => {
          rec.downBytes += chunk.length; rec.downBody += chunk.length; totals.downBytes += chunk.length;
          res.write(chunk);
          if (reset && !reset.fired && totals.downBytes - reset.startAt >= reset.afterDownBytes) fireReset();
        });
        if (leaves - performance.now() > AHEAD_MS) { r.pause(); setTimeout(() => r.resume(), leaves - performance.now() - AHEAD_MS / 2); }
      });
      r.on('end', () => downPipe.push(Math.max(downPipe.lastAt, performance.now() + delayMs), () => { res.end(); finish(); }));
      r.on('error', () => { res.destroy(); finish(); });
    }
    res.on('close', () => {
      if (!res.writableFinished) { upPipe.close(); downPipe.close(); upstream?.destroy(); rec.broken = true; }
      finish();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    if (reset?.refusing) { totals.refused++; socket.resetAndDestroy(); return; }
    totals.connections++;
    sockets.add(socket);
    fresh.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });

  function fireReset() {
    reset.fired = true;
    reset.refusing = true;
    reset.firedAtDownBytes = totals.downBytes;
    for (const s of sockets) { totals.resets++; s.resetAndDestroy(); }
    sockets.clear();
  }

  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    delayMs,
    mibPerS,
    totals,
    /** Index into the request log: requests after it belong to the next phase. */
    mark: () => log.length,
    /** The requests since `mark`, as logged (t0, t1: performance.now() ms). */
    records: (mark) => log.slice(mark),
    records: (mark) => log.slice(mark),
    /** Summary of the requests since `mark`: counts by kind and status, bytes (headers included), distinct
     * packs read and their body bytes. */
    since(mark) {
      const recs = log.slice(mark);
      const byKind = {}, byStatus = {}, packs = new Map();
      let upBytes = 0, downBytes = 0, packBytes = 0, broken = 0;
      for (const r of recs) {
        byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
        byStatus[r.status || 'reset'] = (byStatus[r.status || 'reset'] ?? 0) + 1;
        upBytes += r.upBytes; downBytes += r.downBytes;
        if (r.broken) broken++;
        if (r.pack) { packs.set(r.pack, (packs.get(r.pack) ?? 0) + r.downBody); packBytes += r.downBody; }
      }
      return { requests: recs.length, byKind, byStatus, upBytes, downBytes, packs, packGets: recs.filter((r) => r.pack).length, packBytes, broken };
    },
    /** After `afterDownBytes` more response bytes, reset every connection and refuse new ones until stopRefusing(). */
    armReset(afterDownBytes) { reset = { afterDownBytes, startAt: totals.downBytes, fired: false, refusing: false }; return reset; },
    stopRefusing() { if (reset) reset.refusing = false; reset = undefined; },
    close() { for (const s of sockets) s.destroy(); agent.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

/**
 * Calibration through the link without Azurite: a tiny local server answers GET /<bytes> with that many
 * bytes and PUT with 201; the proxy forwards to it like to Azurite. Returns the measured round trip of
 * a request on a new and on a kept-alive connection, and the throughput of one download and one upload
 * of `mib` MiB and of 4 parallel downloads, so the report shows the link is what it claims.
 */
export async function calibrateWan({ delayMs, mibPerS, mib = 32 }) {
  const body = Buffer.alloc(1024 * 1024, 7);
  const sink = createServer((req, res) => {
    if (req.method === 'PUT') { req.resume(); req.on('end', () => { res.writeHead(201, { 'content-length': 0 }); res.end(); }); return; }
    let left = Number(req.url.slice(1)) || 0;
    res.writeHead(200, { 'content-length': left });
    const pump = () => { while (left > 0) { const n = Math.min(left, body.length); left -= n; if (!res.write(n === body.length ? body : body.subarray(0, n))) { res.once('drain', pump); return; } } res.end(); };
    pump();
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const proxy = await startWanProxy({ target: { host: '127.0.0.1', port: sink.address().port }, delayMs, mibPerS });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const get = (bytes) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const q = httpRequest({ host: '127.0.0.1', port: proxy.port, path: `/${bytes}`, agent }, (r) => { let n = 0; r.on('data', (c) => { n += c.length; }); r.on('end', () => resolve({ ms: performance.now() - t0, n })); });
    q.on('error', reject); q.end();
  });
  const put = (bytes) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const q = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/up', method: 'PUT', agent, headers: { 'content-length': bytes } }, (r) => { r.resume(); r.on('end', () => resolve({ ms: performance.now() - t0 })); });
    q.on('error', reject);
    let left = bytes;
    const pump = () => { while (left > 0) { const n = Math.min(left, body.length); left -= n; if (!q.write(n === body.length ? body : body.subarray(0, n))) { q.once('drain', pump); return; } } q.end(); };
    pump();
  });
  try {
    const rttNew = (await get(0)).ms;
    const rttKept = (await get(0)).ms;
    const B = mib * 1024 * 1024;
    const one = await get(B);
    const upOne = await put(B);
    const t0 = performance.now();
    await Promise.all([get(B / 4), get(B / 4), get(B / 4), get(B / 4)]);
    const par = performance.now() - t0;
    const mibs = (ms) => mib / (ms / 1000);
    return { rttNewMs: rttNew, rttKeptMs: rttKept, downMiBs: mibs(one.ms), upMiBs: mibs(upOne.ms), down4MiBs: mibs(par), mib };
  } finally {
    agent.destroy();
    await proxy.close();
    await new Promise((r) => sink.close(() => r()));
  }
}
