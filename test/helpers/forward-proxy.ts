// A loopback HTTP forward proxy (plain HTTP: Azurite is http) that relays every request and records
// what it relayed: method, path, body bytes and when the request started and its answer ended.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One relayed request. Times are performance.now() milliseconds. */
export interface RelayedRequest { method: string; path: string; bodyBytes: number; startMs: number; endMs: number }

export interface ForwardProxy { port: number; relayed: RelayedRequest[]; close(): Promise<void> }

export async function startForwardProxy(): Promise<ForwardProxy> {
  const relayed: RelayedRequest[] = [];
  const server = createServer((req, res) => {
    const record: RelayedRequest = { method: req.method ?? '', path: '', bodyBytes: 0, startMs: performance.now(), endMs: 0 };
    const target = new URL(req.url!);
    record.path = target.pathname;
    req.on('data', (d: Buffer) => { record.bodyBytes += d.length; });
    const up = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('end', () => { record.endMs = performance.now(); relayed.push(record); });
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    relayed,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
