// A reverse proxy in front of Azurite shaped like a WAN link: each request waits `delayMs` before it is
// forwarded and each response `delayMs` before it is sent back (a round trip of twice that), and the
// proxy counts what passes: requests by kind and object, how many were in flight at once, body bytes.
// It can also cut the link: once `cutWhen` says so (checked as requests come and responses go), every connection is
// reset and every later request refused until reset(). For deterministic assertions (counts,
// concurrency), never for timing ones.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AZURITE_ACCOUNT, AZURITE_KEY } from './azurite.js';

/** One request as the proxy saw it. */
export interface WanRequest { method: string; path: string; query: string; kind: string; status: number; responseBytes: number; done?: boolean }

export interface WanProxy {
  /** Blob endpoint through the proxy (use it in a connection string, see connectionString). */
  endpoint: string;
  connectionString: string;
  delayMs: number;
  /** Checked as each request comes and each piece of a response goes: true cuts the link (every connection reset, later requests refused). */
  cutWhen: ((p: WanProxy) => boolean) | undefined;
  /** Whether the link is cut. */
  isCut: boolean;
  requests: WanRequest[];
  /** Most requests in flight at once, by kind ("GET blob", …), since the last reset(). */
  maxInFlight: Map<string, number>;
  responseBytes: number;
  reset(): void;
  close(): Promise<void>;
}

/** "GET blob", "GET list", "PUT lease", "HEAD blob", … from the method and the comp/restype query. */
function kindOf(method: string, url: URL): string {
  const comp = url.searchParams.get('comp');
  if (comp === 'list' || url.searchParams.get('restype') === 'container') return `${method} ${comp ?? 'container'}`;
  return `${method} ${comp ?? 'blob'}`;
}

export async function startWanProxy(targetPort: number, o: { delayMs?: number } = {}): Promise<WanProxy> {
  const sockets = new Set<Socket>();
  const inFlight = new Map<string, number>();
  const later = (fn: () => void) => (proxy.delayMs > 0 ? setTimeout(fn, proxy.delayMs) : setImmediate(fn));
  const cut = () => {
    if (!proxy.isCut && proxy.cutWhen?.(proxy)) { proxy.isCut = true; for (const s of sockets) s.destroy(); }
    return proxy.isCut;
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (cut()) { req.socket.destroy(); return; }
    const url = new URL(req.url ?? '/', 'http://x');
    const kind = kindOf(req.method ?? '', url);
    const entry: WanRequest = { method: req.method ?? '', path: decodeURIComponent(url.pathname), query: decodeURIComponent(url.search), kind, status: 0, responseBytes: 0 };
    proxy.requests.push(entry);
    const now = (inFlight.get(kind) ?? 0) + 1;
    inFlight.set(kind, now);
    proxy.maxInFlight.set(kind, Math.max(proxy.maxInFlight.get(kind) ?? 0, now));
    let done = false;
    const finish = () => { if (!done) { done = true; inFlight.set(kind, (inFlight.get(kind) ?? 1) - 1); } };
    res.on('close', finish);
    // The request body is held back with the request (a WAN delays the whole request).
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => later(() => {
      const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
        later(() => {
          entry.status = up.statusCode ?? 0;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.on('data', (b: Buffer) => {
            entry.responseBytes += b.length;
            proxy.responseBytes += b.length;
            if (cut()) return;
            res.write(b);
          });
          up.on('end', () => { res.end(); entry.done = true; cut(); });
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(body));
    }));
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const proxy: WanProxy = {
    endpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    delayMs: o.delayMs ?? 0,
    cutWhen: undefined,
    isCut: false,
    requests: [],
    maxInFlight: new Map(),
    responseBytes: 0,
    reset() { proxy.requests = []; proxy.maxInFlight = new Map(); proxy.responseBytes = 0; proxy.cutWhen = undefined; proxy.isCut = false; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
