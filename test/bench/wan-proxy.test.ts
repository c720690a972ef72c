// bench/wan-proxy.mjs counts what the bench reports (requests by kind and status, bytes, packs read) and
// cuts a restore with a reset: deterministic counts, checked here with no delay and no cap (the link's
// timing is shown by the bench's calibration transfer, not asserted in a test).
import { createServer, request, Agent, type Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
let wan: Any;
let sink: Server;
let proxy: Any;

function call(port: number, method: string, path: string, body?: Buffer, agent?: Agent): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const q = request({ host: '127.0.0.1', port, method, path, agent: agent ?? false, headers: body ? { 'content-length': body.length } : {} }, (r) => {
      let bytes = 0;
      r.on('data', (c: Buffer) => { bytes += c.length; });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, bytes }));
      r.on('error', reject);
    });
    q.on('error', reject);
    q.end(body);
  });
}

beforeAll(async () => {
  wan = await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'bench', 'wan-proxy.mjs')).href);
  // Stands in for Azurite: GET answers ?n= bytes (404 for /missing), PUT swallows the body.
  sink = createServer((req, res) => {
    if (req.method === 'PUT') { req.resume(); req.on('end', () => { res.writeHead(201, { 'content-length': 0 }); res.end(); }); return; }
    if (req.url!.startsWith('/missing')) { res.writeHead(404, { 'content-length': 0 }); res.end(); return; }
    const n = Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0);
    res.writeHead(200, { 'content-length': n });
    res.end(Buffer.alloc(n, 1));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  proxy = await wan.startWanProxy({ target: { host: '127.0.0.1', port: (sink.address() as { port: number }).port }, delayMs: 0, mibPerS: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => sink?.close(r));
});

describe('wan-proxy', () => {
  it('names request kinds by method and comp/restype', () => {
    expect(wan.requestKind('GET', '/acct/c/servers/s/packs/ab/x')).toBe('GET blob');
    expect(wan.requestKind('GET', '/acct/c?restype=container&comp=list&prefix=a')).toBe('GET list');
    expect(wan.requestKind('PUT', '/acct/c?restype=container')).toBe('PUT restype=container');
    expect(wan.requestKind('PUT', '/acct/c/b?comp=block&blockid=AA')).toBe('PUT block');
    expect(wan.requestKind('PUT', '/acct/c/b?comp=lease', { 'x-ms-lease-action': 'acquire' })).toBe('PUT lease (acquire)');
  });

  it('counts requests by kind and status, bytes each way, and the distinct packs read with their body bytes', async () => {
    const mark = proxy.mark();
    const pack = '/devstoreaccount1/bench/servers/0123/packs/ab/abcdef';
    expect((await call(proxy.port, 'GET', `${pack}?n=1000`)).bytes).toBe(1000);
    expect((await call(proxy.port, 'GET', `${pack}?n=500`)).bytes).toBe(500);
    expect((await call(proxy.port, 'GET', '/devstoreaccount1/bench/servers/0123/packs/cd/other?n=7')).bytes).toBe(7);
    expect((await call(proxy.port, 'GET', '/devstoreaccount1/bench/servers/0123/index/x?n=300')).bytes).toBe(300);
    expect((await call(proxy.port, 'GET', '/missing/blob')).status).toBe(404);
    expect((await call(proxy.port, 'PUT', '/devstoreaccount1/bench/b?comp=block&blockid=AA', Buffer.alloc(4096, 2))).status).toBe(201);
    const s = proxy.since(mark);
    expect(s.requests).toBe(6);
    expect(s.byKind).toEqual({ 'GET blob': 5, 'PUT block': 1 });
    expect(s.byStatus).toEqual({ 200: 4, 404: 1, 201: 1 });
    expect([...s.packs.entries()].sort()).toEqual([['ab/abcdef', 1500], ['cd/other', 7]]);
    expect(s.packGets).toBe(3);
    expect(s.packBytes).toBe(1507);
    // Bodies plus header bytes: at least the bodies, and headers were counted each way.
    expect(s.downBytes).toBeGreaterThan(1807);
    expect(s.upBytes).toBeGreaterThan(4096);
    expect(s.broken).toBe(0);
  });

  it('resets every connection after N response bytes, refuses new ones until told, then serves again', async () => {
    const agent = new Agent({ keepAlive: true });
    // An idle kept-alive connection is reset too, not only the one carrying the bytes.
    await call(proxy.port, 'GET', '/x?n=10', undefined, agent);
    const before = proxy.totals.resets;
    const mark = proxy.mark();
    proxy.armReset(64 * 1024);
    await expect(call(proxy.port, 'GET', '/devstoreaccount1/bench/servers/0/packs/aa/big?n=4194304')).rejects.toThrow();
    expect(proxy.totals.resets - before).toBeGreaterThanOrEqual(2);
    const refusedBefore = proxy.totals.refused;
    await expect(call(proxy.port, 'GET', '/x?n=10')).rejects.toThrow();
    expect(proxy.totals.refused).toBe(refusedBefore + 1);
    const s = proxy.since(mark);
    expect(s.broken).toBe(1);
    // What reached the client before the reset is counted, and it is far less than the object.
    expect(s.packBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(s.packBytes).toBeLessThan(4194304);
    proxy.stopRefusing();
    expect((await call(proxy.port, 'GET', '/x?n=10')).bytes).toBe(10);
    agent.destroy();
  });
});
