// A loopback HTTP forward proxy (plain HTTP: Azurite is http) that relays every request and records
// what it relayed: method, path, body bytes and when the request started and its answer ended.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One relayed request and the status of its answer. Times are performance.now() milliseconds. */
export interface RelayedRequest { method: string; path: string; bodyBytes: number; status: number; startMs: number; endMs: number }

export interface ForwardProxy { port: number; relayed: RelayedRequest[]; refused: number; close(): Promise<void> }

/** With `auth`, requests without that user and password (Basic) get 407 and are counted in `refused`. */
export async function startForwardProxy(o: { auth?: { username: string; password: string } } = {}): Promise<ForwardProxy> {
  const relayed: RelayedRequest[] = [];
  const expected = o.auth ? `Basic ${Buffer.from(`${o.auth.username}:${o.auth.password}`).toString('base64')}` : undefined;
  const server = createServer((req, res) => {
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) {
      proxy.refused++;
      req.resume();
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', connection: 'close' });
      res.end();
      return;
    }
    const record: RelayedRequest = { method: req.method ?? '', path: '', bodyBytes: 0, status: 0, startMs: performance.now(), endMs: 0 };
    const target = new URL(req.url!);
    record.path = target.pathname;
    req.on('data', (d: Buffer) => { record.bodyBytes += d.length; });
    const up = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      record.status = r.statusCode ?? 502;
      res.writeHead(record.status, r.headers);
      r.pipe(res);
      r.on('end', () => { record.endMs = performance.now(); relayed.push(record); });
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy: ForwardProxy = {
    port: (server.address() as AddressInfo).port,
    relayed,
    refused: 0,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return proxy;
}
