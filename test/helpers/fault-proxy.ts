// An HTTP proxy in front of Azurite that breaks requests: by rule (method + URL substring, `times` times)
// or by a `chaos` function of the request number. Used by the Azure store tests and the engine's
// end-to-end fault tests.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AZURITE_ACCOUNT } from './azurite.js';

export type FaultAction = 'stall' | 'stall-body' | 'drop-response' | 503;
export interface FaultRule { method: string; path: string; action: FaultAction; times: number }
export interface FaultProxy {
  /** Called with the number of each request (from 1); a returned action breaks that request. */
  chaos: ((n: number, method: string, url: string) => FaultAction | undefined) | undefined;
  endpoint: string;
  rules: FaultRule[];
  /** "METHOD /path?query" of every request seen. */
  seen: string[];
  reset(): void;
  close(): Promise<void>;
}

/** An HTTP proxy in front of Azurite that breaks the requests its rules match (rule.path: a substring
 * of the URL), `times` times each: no answer at all, half a body and then nothing, the answer dropped
 * after the request was carried out, or 503 ServerBusy. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const rules: FaultRule[] = [];
  const seen: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    const rule = rules.find((r) => r.times > 0 && r.method === req.method && (req.url ?? '').includes(r.path));
    if (rule) rule.times--;
    const action = rule?.action ?? proxy.chaos?.(seen.length, req.method ?? '', req.url ?? '');
    if (action === 'stall') {
      req.resume(); // take the body, never answer
      return;
    }
    if (action === 503) {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'x-ms-error-code': 'ServerBusy', 'content-length': '0' });
        res.end();
      });
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (action === 'drop-response') {
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (action === 'stall-body') {
        let first = true;
        up.on('data', (chunk: Buffer) => {
          if (first) res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)));
          first = false;
        });
        return;
      }
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`,
    rules,
    seen,
    chaos: undefined,
    reset() { rules.length = 0; seen.length = 0; proxy.chaos = undefined; },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
