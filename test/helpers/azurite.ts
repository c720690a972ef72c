// Starts a real Azurite blob service on a free 127.0.0.1 port for a test file, and stops it afterwards.
// The Azure-backend tests build on this; nothing talks to a real cloud.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Azurite's documented development account (public, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  port: number;
  /** Blob endpoint, e.g. http://127.0.0.1:41234/devstoreaccount1 */
  blobEndpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Waits until Azurite listens on `port`, or fails when it exits. No deadline of its own: how long
 * Azurite takes to start depends on the machine's load (over 20 s was seen on two busy cores), so the
 * test's hook timeout is the only guard against a hang.
 */
async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Azurite exited with ${child.exitCode ?? child.signalCode}: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts Azurite (blob service only) with its data in a fresh temp folder. With `tls`, it serves HTTPS
 * with that certificate and accepts Entra ID bearer tokens (--oauth basic: issuer, audience and lifetime
 * are checked, the signature is not).
 */
export async function startAzurite(o: { tls?: { certPath: string; keyPath: string } } = {}): Promise<AzuriteServer> {
  const require = createRequire(import.meta.url);
  const main = join(require.resolve('azurite/package.json'), '..', 'dist', 'src', 'blob', 'main.js');
  const location = mkdtempSync(join(tmpdir(), 'azb-azurite-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    let output = '';
    const tlsArgs = o.tls ? ['--cert', o.tls.certPath, '--key', o.tls.keyPath, '--oauth', 'basic'] : [];
    const child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--skipApiVersionCheck', '--loose', '--silent', ...tlsArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    // Not left running when the test process ends first (e.g. its hook timed out while Azurite started).
    const killAtExit = () => { child.kill('SIGKILL'); };
    process.once('exit', killAtExit);
    child.once('exit', () => process.off('exit', killAtExit));
    try {
      await waitForPort(port, child, () => output);
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 2 && /EADDRINUSE/.test(output)) continue; // the free port was taken meanwhile
      rmSync(location, { recursive: true, force: true });
      throw err;
    }
    const scheme = o.tls ? 'https' : 'http';
    const blobEndpoint = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    return {
      port,
      blobEndpoint,
      connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(location, { recursive: true, force: true });
      },
    };
  }
}
