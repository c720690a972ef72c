// The Azure path through a WAN-shaped proxy (test/helpers/wan-proxy.ts, 10 ms each way) in front of
// Azurite, through the built engine (issue 17): how many requests an unchanged backup and a full restore
// make, and that a restore keeps several pack reads in flight. Counts and concurrency only; the bench
// (npm run bench) measures time and throughput.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOf } from '../helpers/engine.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { startWanProxy, type WanProxy } from '../helpers/wan-proxy.js';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const summary = (p: WanProxy) => Object.entries(p.requests.reduce<Record<string, number>>((m, r) => { m[r.kind] = (m[r.kind] ?? 0) + 1; return m; }, {})).map(([k, n]) => `${k} ${n}`).join(', ');

let azurite: AzuriteServer | undefined;
let proxy: WanProxy;
let fx: VaultFixture;
let src: string;
const files = new Map<string, string>();
/** Pack bytes a full restore reads (the first test measures it). */
let fullPackBytes = 0;
const packBytes = (p: WanProxy) => p.requests.filter((q) => q.kind === 'GET blob' && q.path.includes('/packs/')).reduce((n, q) => n + q.responseBytes, 0);

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startWanProxy(azurite.port, { delayMs: 10 });
  fx = await registeredServer({ backend: { kind: 'azurite', blobEndpoint: proxy.endpoint, connectionString: proxy.connectionString } });
  src = join(fx.root, 'src');
  for (let d = 0; d < 20; d++) {
    const dir = join(src, `d${d % 4}`, `e${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 3; f++) { const b = randomBytes(3000 + d * 100 + f); writeFileSync(join(dir, `f${f}`), b); files.set(join(dir, `f${f}`), sha(b)); }
  }
  // More than READ_AHEAD_BUDGET (32 MiB) in all, so later packs are asked for while big.bin is written.
  for (const [name, size] of [['big.bin', 40 * MIB], ['big2.bin', 32 * MIB]] as const) {
    const big = randomBytes(size);
    writeFileSync(join(src, name), big);
    files.set(join(src, name), sha(big));
  }
  const first = await fx.az(['backup', src]);
  expect(first.code, first.stdout.slice(-400)).toBe(0);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

describe('Azure path under latency', () => {
  it('an unchanged backup makes few requests', async () => {
    proxy.reset();
    const r = await fx.az(['backup', src]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    console.log(`unchanged backup: ${proxy.requests.length} requests (${summary(proxy)}): ${proxy.requests.map((q) => `${q.kind} ${q.path.replace(/^.*?\/vault-[0-9a-f]+\//, '').replace(/[0-9a-f]{64}/g, '…')} ${q.status}`).join('; ')}`);
    expect(proxy.requests.length).toBeLessThanOrEqual(40);
  }, 120_000);

  it('a full restore makes a request per pack, reads packs several at once, and reports packsRead', async () => {
    proxy.reset();
    const target = join(fx.root, 'restored');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    const result = resultOf(r, 'RestoreResult');
    for (const [path, digest] of files) expect(sha(readFileSync(join(target, path)))).toBe(digest);
    const packGets = proxy.requests.filter((q) => q.kind === 'GET blob' && q.path.includes('/packs/'));
    const packs = new Set(packGets.map((q) => q.path));
    console.log(`full restore of ${files.size} files, 72 MiB: ${proxy.requests.length} requests (${summary(proxy)}), ${packs.size} packs, ${proxy.maxInFlight.get('GET blob')} GETs in flight at most`);
    fullPackBytes = packBytes(proxy);
    expect(packs.size).toBe(result['packsRead']);
    expect(packGets.length).toBe(packs.size); // one read per pack: header and trees included
    expect(packs.size).toBeGreaterThanOrEqual(6); // 72 MiB of random data in packs of at most 16 MiB, and a tree pack
    expect(proxy.maxInFlight.get('GET blob')).toBeGreaterThanOrEqual(2); // READ_AHEAD_BUDGET: two whole packs
  }, 120_000);

  it('a restore cut off from the vault resumes: what it wrote is not read again, and it ends identical and verified', async () => {
    expect(fullPackBytes).toBeGreaterThan(72 * MIB);
    proxy.reset();
    // The link goes down once 8 MiB of big.bin are written (under its partial name): the reads in
    // flight fail, and the engine gives up after its (shortened) retries.
    const target = join(fx.root, 'cut');
    const partial = join(target, src, `.azb-partial-${files.get(join(src, 'big.bin'))!.slice(0, 16)}-big.bin`);
    proxy.cutWhen = () => { try { return statSync(partial).size >= 8 * MIB; } catch { return false; } };
    const quick = { AZBACKUP_AZURE_MAX_TRIES: '2', AZBACKUP_AZURE_RETRY_DELAY_MS: '20', AZBACKUP_AZURE_TRY_TIMEOUT_MS: '2000' };
    const cut = await fx.az(['restore', 'latest', '--target', target], { env: quick });
    expect(cut.code).not.toBe(0);
    expect(cut.events.find((e) => e.type === 'error'), JSON.stringify(cut.events.filter((e) => e.type !== 'progress')).slice(0, 1500)).toMatchObject({ code: 'AZB_VAULT_UNREACHABLE' });
    // What the first run left: complete files, and big.bin's written part under its partial name.
    let written = 0;
    for (const path of files.keys()) { try { written += statSync(join(target, path)).size; } catch { /* not written */ } }
    const partials = readdirSync(join(target, src)).filter((n) => n.startsWith('.azb-partial-'));
    for (const n of partials) written += statSync(join(target, src, n)).size;
    console.log(`cut-off restore left ${written} bytes (${partials.length} partial file(s)); a full restore reads ${fullPackBytes} pack bytes`);
    expect(partials.some((n) => n.endsWith('-big.bin'))).toBe(true);
    expect(written).toBeGreaterThanOrEqual(8 * MIB);
    proxy.reset();
    const again = await fx.az(['restore', 'latest', '--target', target]);
    expect(again.code, again.stdout.slice(-400)).toBe(0);
    for (const [path, digest] of files) expect(sha(readFileSync(join(target, path)))).toBe(digest);
    expect(readdirSync(join(target, src)).filter((n) => n.startsWith('.azb-partial-'))).toEqual([]);
    const result = resultOf(again, 'RestoreResult');
    expect(Number(result['verified']) + Number(result['unchanged'])).toBe(files.size);
    // The second run reads at most what the first did not write, and a chunk of at most 8 MiB (the
    // largest chunk; the partial file's last chunk may be cut) and the segments' 1 MiB gaps besides.
    const again2 = packBytes(proxy);
    console.log(`resumed restore read ${again2} pack bytes (${proxy.requests.length} requests)`);
    expect(again2).toBeLessThanOrEqual(fullPackBytes - written + 8 * MIB + 2 * MIB);
  }, 120_000);

});
