// The same backup / restore / check / prune cycle on every vault backend: a local folder and Azure Blob
// (a real Azurite on 127.0.0.1). One parameterised suite, so the backends cannot drift apart.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, startEngine } from '../helpers/engine.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startForwardProxy } from '../helpers/forward-proxy.js';
import { describeTree, makeDataTree } from '../helpers/data-tree.js';
import { listTree, registeredServer, type FixtureBackend } from '../helpers/vault-fixture.js';

let azurite: AzuriteServer | undefined;
beforeAll(async () => { azurite = await startAzurite(); }, 180_000); // Azurite starts slowly on a busy machine
afterAll(async () => { await azurite?.stop(); });

const backends: [string, () => FixtureBackend][] = [
  ['local folder', () => ({ kind: 'local' })],
  ['Azure Blob (Azurite)', () => ({ kind: 'azurite', blobEndpoint: azurite!.blobEndpoint, connectionString: azurite!.connectionString })],
];

/** Packs in a fixture's vault, on either backend (uploads in progress are not listed by either). */
async function packsIn(fx: { vault: string }): Promise<number> {
  if (!fx.vault.startsWith('http')) return listTree(fx.vault).filter((l) => l.includes('/packs/') && !l.includes('/.tmp-')).length;
  const container = BlobServiceClient.fromConnectionString(azurite!.connectionString).getContainerClient(fx.vault.slice(fx.vault.lastIndexOf('/') + 1));
  let n = 0;
  for await (const blob of container.listBlobsFlat({ prefix: 'servers/' })) if (blob.name.includes('/packs/')) n++;
  return n;
}

describe.each(backends)('vault on %s', (_name, backend) => {
  it('backs up, restores identical, is incremental, checks clean, prunes', async () => {
    const fx = await registeredServer({ backend: backend() });
    const src = join(fx.root, 'src');
    mkdirSync(src);
    makeDataTree(src);
    const first = await fx.az(['backup', src]);
    expect(first.code, first.stdout.slice(-400)).toBe(0);
    const again = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(again).toMatchObject({ filesNew: 0, filesChanged: 0, blobsAdded: 0 });
    const target = join(fx.root, 'restored');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    expect(describeTree(join(target, src))).toEqual(describeTree(src));
    const check = await fx.az(['check', '--read-data']);
    expect(resultOf(check, 'CheckResult')).toMatchObject({ problems: 0, points: 2 });
    expect((await fx.az(['forget', '--permanent', String(resultOf(first, 'RecoveryPoint')['pointId'])])).code).toBe(0);
    expect(resultOf(await fx.az(['prune']), 'PruneResult')).toMatchObject({ points: 1 });
    expect((await fx.az(['check', '--read-data'])).code).toBe(0);
  }, 120_000);

  it('resumes after a kill without uploading twice, and refuses a second backup meanwhile', async () => {
    const fx = await registeredServer({ backend: backend() });
    // A stream backup whose producer the test controls: the backup is certainly still running (waiting
    // for the rest of its data) when the second backup starts and when it is killed, however fast it is.
    const MiB = 1024 * 1024;
    const data = randomBytes(96 * MiB);
    const first = startEngine(['backup', '--stdin', '--stdin-name', 'big.bin', '--json'], fx.env);
    first.write(data.subarray(0, 64 * MiB));
    // Wait until two packs are in the vault (the first 32 MiB uploaded).
    for (let i = 0; i < 3000 && (await packsIn(fx)) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await packsIn(fx), first.stdout().slice(-300)).toBeGreaterThanOrEqual(2);
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'small.txt'), 'small');
    const second = await fx.az(['backup', src]);
    first.child.kill('SIGKILL');
    await first.done;
    expect(onlyError(second).code).toBe('AZB_BACKUP_RUNNING');
    expect(first.stdout()).not.toContain('"type":"result"');
    const resumed = await fx.az(['backup', '--stdin', '--stdin-name', 'big.bin'], { stdin: data });
    expect(resumed.code, resumed.stdout.slice(-400)).toBe(0);
    expect(resumed.events.some((e) => e.type === 'log' && /Indexed \d+ pack\(s\) left by an interrupted backup/.test(e.message))).toBe(true);
    expect(Number(resultOf(resumed, 'RecoveryPoint')['bytesStored'])).toBeLessThan(data.length * 0.9);
    expect((await fx.az(['points'])).events.filter((e) => e.type === 'item')).toHaveLength(1);
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(fx.root, 'r', 'big.bin')).equals(data)).toBe(true);
  }, 300_000); // a hang guard: on a loaded 2-core machine the Azurite run alone took over 2 minutes
});

describe.each(backends)('a missing pack on %s', (_name, backend) => {
  it('restore names the files it could not restore and restores the rest; check names the pack', async () => {
    const b = backend();
    const fx = await registeredServer({ backend: b });
    const src = join(fx.root, 'src');
    mkdirSync(src);
    // a.bin goes into the packs of a first backup, b.txt into the pack of a second one.
    writeFileSync(join(src, 'a.bin'), randomBytes(4 * 1024 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const { openStore } = await import('../../core/commands/context.js');
    const store = await openStore(fx.vault, b.kind === 'azurite' ? { storageConnectionString: b.connectionString } : {});
    // Largest first: trees have packs of their own (FORMAT.md section 7), a.bin's data is the big one.
    const packsNow = async () => { const n: { name: string; size: number }[] = []; for await (const o of store.list('servers/')) if (o.name.includes('/packs/')) n.push(o); return n.sort((x, y) => y.size - x.size).map((o) => o.name); };
    const firstPacks = await packsNow();
    writeFileSync(join(src, 'b.txt'), 'small file\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const lost = { name: firstPacks[0]! };
    await store.delete(lost.name);
    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout.slice(-600)).toBe(3);
    const warned = r.events.filter((e) => e.type === 'warning' && e.code === 'AZB_RESTORE_FILE_DAMAGED').map((e) => (e as { target?: string }).target);
    expect(warned, JSON.stringify(r.events.filter((e) => e.type === 'warning'))).toEqual([join(target, src, 'a.bin')]);
    expect(readFileSync(join(target, src, 'b.txt'), 'utf8')).toBe('small file\n');
    const check = await fx.az(['check']);
    expect(check.code).toBe(4);
    expect(check.events.some((e) => e.type === 'item' && (e as unknown as { data: { object: string } }).data.object === lost.name)).toBe(true);
  }, 120_000);
});

describe('locks on each backend', () => {
  // A lock left by a backup on another host two minutes ago that stopped refreshing it.
  async function plantForeignLock(fx: Awaited<ReturnType<typeof registeredServer>>, b: FixtureBackend): Promise<void> {
    const { openStore } = await import('../../core/commands/context.js');
    const store = await openStore(fx.vault, b.kind === 'azurite' ? { storageConnectionString: b.connectionString } : {});
    let serverPrefix = '';
    for await (const o of store.list('servers/')) if (o.name.endsWith('/server.json')) serverPrefix = o.name.replace(/server\.json$/, '');
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    await store.put(`${serverPrefix}locks/${'a'.repeat(32)}`, Buffer.from(JSON.stringify({ type: 'backup', hostname: 'elsewhere', pid: 4242, created: twoMinutesAgo, refreshed: twoMinutesAgo, operation: 'backup' })));
  }

  it('on Azure, a lock whose holder stopped renewing its lease is stale within a minute', async () => {
    const b = backends[1]![1]();
    const fx = await registeredServer({ backend: b });
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'x');
    await plantForeignLock(fx, b);
    const run = await fx.az(['backup', src]);
    expect(run.code, run.stdout.slice(-300)).toBe(0);
  }, 60_000);

  it('on a folder, the same lock holds until it is 30 minutes old (no leases there)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'x');
    await plantForeignLock(fx, { kind: 'local' });
    expect(onlyError(await fx.az(['backup', src])).code).toBe('AZB_BACKUP_RUNNING');
  }, 60_000);

  it('on Azure, a running backup holds a lease on its lock, so nobody else can delete it', async () => {
    const b = backends[1]![1]();
    const fx = await registeredServer({ backend: b });
    // A stream backup waiting for the rest of its data holds its lock until the test ends the stream.
    const live = startEngine(['backup', '--stdin', '--stdin-name', 'dump.sql', '--json'], fx.env);
    live.write(Buffer.from('INSERT INTO t VALUES (1);\n'.repeat(1000)));
    const container = BlobServiceClient.fromConnectionString(azurite!.connectionString).getContainerClient(fx.vault.slice(fx.vault.lastIndexOf('/') + 1));
    let lockName: string | undefined;
    let leased = false;
    for (let i = 0; i < 1000 && !leased; i++) {
      for await (const blob of container.listBlobsFlat({ prefix: 'servers/' })) {
        if (blob.name.includes('/locks/')) { lockName = blob.name; leased = blob.properties.leaseState === 'leased'; }
      }
      if (!leased) await new Promise((r) => setTimeout(r, 10));
    }
    expect(leased).toBe(true);
    await expect(container.getBlobClient(lockName!).delete()).rejects.toMatchObject({ statusCode: 412 });
    live.end();
    expect((await live.done).code).toBe(0);
    const left: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'servers/' })) if (blob.name.includes('/locks/')) left.push(blob.name);
    expect(left).toEqual([]);
  }, 120_000);
});

describe('Azure Blob vault throttling', () => {
  it('uploads no faster than the rate set in the machine settings', async () => {
    // The bytes of uploads, counted on the wire by a forward proxy, against the time from starting the
    // engine to the end of its last request. The throttle starts with an empty bucket when the engine
    // opens the vault, so it lets through at most rate × that time (+ one bucket, a tenth of a second):
    // a machine too loaded to keep up only makes the run longer, never this bound false. Unthrottled,
    // the 12 MiB go up in far less than the six seconds they take at 2 MiB/s. (The rate a throttled
    // upload reaches is timing: the bench's business, not a unit test's.)
    const proxy = await startForwardProxy();
    try {
      const fx = await registeredServer({ backend: backends[1]![1]() });
      const rate = 2 * 1024 * 1024;
      const set = await fx.az(['settings', 'set', '--work-days', 'Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', '--start-work-hour', '0', '--end-work-hour', '24',
        '--work-hour-bandwidth', '2MB', '--non-work-hour-bandwidth', '2MB', '--proxy-server', '127.0.0.1', '--proxy-port', String(proxy.port)]);
      expect(resultOf(set, 'MachineSetting')).toMatchObject({ throttled: true, currentBandwidth: rate });
      const src = join(fx.root, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'x.bin'), randomBytes(12 * 1024 * 1024));
      proxy.relayed.length = 0;
      const started = performance.now(); // the proxy's clock; the engine starts after this
      const run = await fx.az(['backup', src]);
      expect(run.code, run.stdout.slice(-300)).toBe(0);
      // Uploads that succeeded: a try the SDK retries sends its body again, unpaced.
      const uploads = proxy.relayed.filter((r) => r.method === 'PUT' && r.bodyBytes > 0 && r.status < 300);
      const bytes = uploads.reduce((n, r) => n + r.bodyBytes, 0);
      expect(bytes).toBeGreaterThan(12 * 1024 * 1024);
      const seconds = (Math.max(...proxy.relayed.map((r) => r.endMs)) - started) / 1000;
      // One bucket, and 64 KiB for the small bodies the throttle does not pace (block lists of staged uploads).
      const allowed = rate * seconds + rate / 10 + 64 * 1024;
      console.log(`throttled upload: ${bytes} bytes in ${seconds.toFixed(2)} s from the engine's start; at most ${Math.floor(allowed)} allowed (2 MiB/s)`);
      expect(bytes).toBeLessThanOrEqual(allowed);
      expect(resultOf(await fx.az(['settings', 'set', '--no-throttle', '--no-proxy']), 'MachineSetting')).toMatchObject({ throttled: false });
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

describe('Azure Blob vault through a proxy', () => {
  it('sends every request through the proxy set in the machine settings, and none after --no-proxy', async () => {
    const proxy = await startForwardProxy();
    const port = proxy.port;
    try {
      const fx = await registeredServer({ backend: backends[1]![1]() });
      const set = await fx.az(['settings', 'set', '--proxy-server', '127.0.0.1', '--proxy-port', String(port)]);
      expect(resultOf(set, 'MachineSetting')).toMatchObject({ proxyServer: '127.0.0.1', proxyPort: port });
      const src = join(fx.root, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'a.txt'), 'through the proxy');
      const before = proxy.relayed.length;
      expect((await fx.az(['backup', src])).code).toBe(0);
      expect(proxy.relayed.length - before).toBeGreaterThan(5);
      expect(resultOf(await fx.az(['settings', 'set', '--no-proxy']), 'MachineSetting')).toMatchObject({ proxyServer: '' });
      const after = proxy.relayed.length;
      expect((await fx.az(['points'])).code).toBe(0);
      expect(proxy.relayed.length).toBe(after);
      expect(onlyError(await fx.az(['settings', 'set', '--proxy-server', 'bad host!', '--proxy-port', '8080'])).code).toBe('AZB_ARGS_INVALID');
      expect(onlyError(await fx.az(['settings', 'set', '--proxy-server', 'p', '--proxy-port', '70000'])).code).toBe('AZB_ARGS_INVALID');
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

describe('Azure Blob vault through an authenticating proxy', () => {
  it('stores the proxy password owner-only, sends it to the proxy only, and forgets it with --no-proxy', async () => {
    const password = 'Pr0xy-s3cret-' + randomBytes(6).toString('hex');
    const proxy = await startForwardProxy({ auth: { username: 'svc-backup', password } });
    try {
      const fx = await registeredServer({ backend: backends[1]![1]() });
      const pwFile = join(fx.root, 'proxy.pw');
      writeFileSync(pwFile, password + '\n', { mode: 0o600 });
      const set = await fx.az(['settings', 'set', '--proxy-server', '127.0.0.1', '--proxy-port', String(proxy.port), '--proxy-username', 'svc-backup', '--proxy-password-file', pwFile]);
      expect(resultOf(set, 'MachineSetting')).toMatchObject({ proxyUsername: 'svc-backup', proxyPasswordStored: true, uploadConcurrency: 4 });
      const secretFile = join(fx.home, 'proxy.secret');
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(fx.home, 'settings.json'), 'utf8')).not.toContain(password);
      const src = join(fx.root, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'a.txt'), 'through an authenticating proxy');
      const run = await fx.az(['backup', src]);
      expect(run.code, run.stdout.slice(-400)).toBe(0);
      expect(proxy.relayed.length).toBeGreaterThan(5);
      expect(proxy.refused).toBe(0);
      // AZBACKUP_PROXY_PASSWORD overrides the stored one: a wrong one is refused by the proxy, with a coded error.
      const wrong = await fx.az(['points'], { env: { AZBACKUP_PROXY_PASSWORD: 'wrong-password' } });
      expect(wrong.code).not.toBe(0);
      expect(onlyError(wrong)).toMatchObject({ code: 'AZB_PROXY_AUTH_FAILED', category: 'AuthenticationError' });
      expect(String(onlyError(wrong).hint)).toContain('ProxyCredential');
      expect(proxy.refused).toBeGreaterThan(0);
      for (const r of [set, run, wrong]) expect(r.stdout + r.stderr).not.toContain(password);
      const removed = await fx.az(['settings', 'set', '--no-proxy']);
      expect(resultOf(removed, 'MachineSetting')).toMatchObject({ proxyServer: '', proxyPasswordStored: false });
      expect(existsSync(secretFile)).toBe(false);
      // A password without a user name is refused.
      expect(onlyError(await fx.az(['settings', 'set', '--proxy-server', 'p', '--proxy-port', '8080', '--proxy-password-file', pwFile])).code).toBe('AZB_ARGS_INVALID');
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('sets the upload concurrency, from 1 to 32', async () => {
    const fx = await registeredServer({ backend: backends[1]![1]() });
    expect(resultOf(await fx.az(['settings', 'set', '--upload-concurrency', '8']), 'MachineSetting')).toMatchObject({ uploadConcurrency: 8 });
    expect(resultOf(await fx.az(['settings', 'show']), 'MachineSetting')).toMatchObject({ uploadConcurrency: 8 });
    for (const bad of ['0', '33', '2.5']) expect(onlyError(await fx.az(['settings', 'set', '--upload-concurrency', bad])).code).toBe('AZB_ARGS_INVALID');
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'b.bin'), randomBytes(1024 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
  }, 60_000);
});

describe('Azure Blob vault over a faulty network', () => {
  it('backs up and restores bit-identical through 503s, dropped answers, stalls and cut bodies', async () => {
    const proxy = await startFaultProxy(azurite!.port);
    try {
      // The engine talks to the proxy as if it were the service; the proxy breaks a share of the requests.
      const connectionString = azurite!.connectionString.replace(azurite!.blobEndpoint, proxy.endpoint);
      const fx = await registeredServer({ backend: { kind: 'azurite', blobEndpoint: proxy.endpoint, connectionString } });
      Object.assign(fx.env, { AZBACKUP_AZURE_TRY_TIMEOUT_MS: '800', AZBACKUP_AZURE_RETRY_DELAY_MS: '50', AZBACKUP_AZURE_MAX_TRIES: '8' });
      const src = join(fx.root, 'src');
      mkdirSync(join(src, 'd'), { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(join(src, `big${i}.bin`), randomBytes(7 * 1024 * 1024));
      for (let i = 0; i < 30; i++) writeFileSync(join(src, 'd', `s${i}.txt`), `small ${i}\n`.repeat(100 + i));
      let faults = 0;
      proxy.chaos = (n, method) => {
        const a = n % 7 === 0 ? 503 : n % 11 === 0 ? 'drop-response' : n % 23 === 0 ? 'stall' : method === 'GET' && n % 13 === 0 ? 'stall-body' : undefined;
        if (a !== undefined) faults++;
        return a;
      };
      const b = await fx.az(['backup', src]);
      expect(b.code, b.stdout.slice(-500)).toBe(0);
      const target = join(fx.root, 'r');
      const r = await fx.az(['restore', 'latest', '--target', target]);
      expect(r.code, r.stdout.slice(-500)).toBe(0);
      expect(describeTree(join(target, src))).toEqual(describeTree(src));
      expect(faults).toBeGreaterThan(10);
      proxy.chaos = undefined;
      expect((await fx.az(['check', '--read-data'])).code).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('fails with a clear error and no visible recovery point when the service stays down, and the next run resumes', async () => {
    const proxy = await startFaultProxy(azurite!.port);
    try {
      const connectionString = azurite!.connectionString.replace(azurite!.blobEndpoint, proxy.endpoint);
      const fx = await registeredServer({ backend: { kind: 'azurite', blobEndpoint: proxy.endpoint, connectionString } });
      Object.assign(fx.env, { AZBACKUP_AZURE_TRY_TIMEOUT_MS: '500', AZBACKUP_AZURE_RETRY_DELAY_MS: '20', AZBACKUP_AZURE_MAX_TRIES: '3' });
      const src = join(fx.root, 'src');
      mkdirSync(src);
      for (let i = 0; i < 4; i++) writeFileSync(join(src, `p${i}.bin`), randomBytes(8 * 1024 * 1024));
      // One upload at a time, so the first pack sealed is the first one on the wire (with several, a small
      // last pack can go up first: it is read from its staging file and hashed sooner).
      expect((await fx.az(['settings', 'set', '--upload-concurrency', '1'])).code).toBe(0);
      // After the first pack is stored, every pack upload fails.
      let packPuts = 0;
      proxy.chaos = (_n, method, url) => (method === 'PUT' && url.includes('/packs/') && ++packPuts > 1 ? 503 : undefined);
      const failed = await fx.az(['backup', src]);
      expect(failed.code).toBe(1);
      expect(onlyError(failed).code).toMatch(/^AZB_VAULT_(IO|UNREACHABLE)$/);
      expect(failed.stdout).not.toMatch(/AccountKey|sig=/);
      proxy.chaos = undefined;
      expect((await fx.az(['points'])).events.filter((e) => e.type === 'item')).toHaveLength(0);
      const resumed = await fx.az(['backup', src]);
      expect(resumed.code, resumed.stdout.slice(-500)).toBe(0);
      expect(Number(resultOf(resumed, 'RecoveryPoint')['bytesStored'])).toBeLessThan(32 * 1024 * 1024 * 0.9);
      expect((await fx.az(['check', '--read-data'])).code).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

describe('Azure Blob vault credentials', () => {
  it('stores packs in the access tier asked for, and refuses a tier for a folder vault', async () => {
    const fx = await registeredServer({ backend: backends[1]![1]() });
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), randomBytes(1024 * 1024));
    expect((await fx.az(['backup', src, '--access-tier', 'Cool'])).code).toBe(0);
    const container = BlobServiceClient.fromConnectionString(azurite!.connectionString).getContainerClient(fx.vault.slice(fx.vault.lastIndexOf('/') + 1));
    const tiers: Record<string, string | undefined> = {};
    for await (const b of container.listBlobsFlat()) tiers[b.name.includes('/packs/') ? 'pack' : b.name.split('/').pop()!] = b.properties.accessTier;
    expect(tiers['pack']).toBe('Cool');
    expect(tiers['config']).not.toBe('Cool');
    const local = await registeredServer();
    expect(onlyError(await local.az(['backup', src, '--access-tier', 'Cool'])).code).toBe('AZB_ARGS_INVALID');
  }, 60_000);

  it('refuses a read-only SAS for a backup and an expired SAS for anything, writing nothing', async () => {
    const fx = await registeredServer({ backend: backends[1]![1]() });
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'x');
    const containerName = fx.vault.slice(fx.vault.lastIndexOf('/') + 1);
    const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
    const sas = (permissions: string, expiresOn: Date) => generateBlobSASQueryParameters({ containerName, permissions: ContainerSASPermissions.parse(permissions), startsOn: new Date(Date.now() - 3600_000), expiresOn }, key).toString();
    const noConn = { AZBACKUP_STORAGE_CONNECTION_STRING: undefined };
    const readOnly = await fx.az(['backup', src], { env: { ...noConn, AZBACKUP_STORAGE_SAS: sas('rl', new Date(Date.now() + 3600_000)) } });
    expect(onlyError(readOnly).code).toBe('AZB_VAULT_ACCESS_DENIED');
    expect(readOnly.stdout).not.toContain('sig=');
    const expired = await fx.az(['points'], { env: { ...noConn, AZBACKUP_STORAGE_SAS: sas('racwdl', new Date(Date.now() - 60_000)) } });
    expect(onlyError(expired).code).toBe('AZB_VAULT_ACCESS_DENIED');
    // With a full SAS the same backup works, and only that one point exists.
    const ok = await fx.az(['backup', src], { env: { ...noConn, AZBACKUP_STORAGE_SAS: sas('racwdl', new Date(Date.now() + 3600_000)) } });
    expect(ok.code, ok.stdout.slice(-300)).toBe(0);
    expect((await fx.az(['points'])).events.filter((e) => e.type === 'item')).toHaveLength(1);
  }, 60_000);

  it('refuses a missing credential, a wrong key and a SAS in the URL, with coded errors', async () => {
    const fx = await registeredServer({ backend: backends[1]![1]() });
    expect(onlyError(await fx.az(['points'], { env: { AZBACKUP_STORAGE_CONNECTION_STRING: undefined } })).code).toBe('AZB_STORAGE_CREDENTIAL_REQUIRED');
    const wrong = azurite!.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString('base64')}`);
    const denied = await fx.az(['points'], { env: { AZBACKUP_STORAGE_CONNECTION_STRING: wrong } });
    expect(onlyError(denied).code).toBe('AZB_VAULT_ACCESS_DENIED');
    expect(denied.stdout).not.toContain(wrong.match(/AccountKey=([^;]+)/)![1]!);
    expect(onlyError(await fx.az(['points', '--vault', `${fx.vault}?sv=2020&sig=abc`])).code).toBe('AZB_ARGS_INVALID');
    expect(onlyError(await fx.az(['points', '--vault', `${azurite!.blobEndpoint}/no-such-container`])).code).toBe('AZB_VAULT_NOT_FOUND');
    // Nothing listening at the endpoint: a network failure, said as one, with a network hint.
    const down = onlyError(await fx.az(['points', '--vault', `http://127.0.0.1:1/${AZURITE_ACCOUNT}/vault`], { env: { AZBACKUP_STORAGE_CONNECTION_STRING: undefined, AZBACKUP_STORAGE_KEY: AZURITE_KEY } }));
    expect(down).toMatchObject({ code: 'AZB_VAULT_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(down.hint).toMatch(/DNS.*firewall.*proxy/);
    expect(down.hint).not.toMatch(/create/i);
  }, 120_000);

  it('reads the account key from a file only its owner can read (AZBACKUP_STORAGE_KEY_FILE)', async () => {
    const fx = await registeredServer({ backend: backends[1]![1]() });
    const keyFile = join(fx.root, 'storage.key');
    writeFileSync(keyFile, `${AZURITE_KEY}\n`, { mode: 0o600 });
    const viaFile = { AZBACKUP_STORAGE_CONNECTION_STRING: undefined, AZBACKUP_STORAGE_KEY_FILE: keyFile };
    const ok = await fx.az(['points'], { env: viaFile });
    expect(ok.code, ok.stdout.slice(-300)).toBe(0);
    chmodSync(keyFile, 0o644);
    const open = onlyError(await fx.az(['points'], { env: viaFile }));
    expect(open).toMatchObject({ code: 'AZB_SECRET_FILE_UNPROTECTED', category: 'SecurityError', target: keyFile });
    expect(open.hint).toContain('chmod 600');
    expect(onlyError(await fx.az(['points'], { env: { ...viaFile, AZBACKUP_STORAGE_KEY_FILE: join(fx.root, 'missing.key') } })).code).toBe('AZB_FILE_NOT_FOUND');
    const empty = join(fx.root, 'empty.key');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(onlyError(await fx.az(['points'], { env: { ...viaFile, AZBACKUP_STORAGE_KEY_FILE: empty } })).code).toBe('AZB_SECRET_SOURCE');
    for (const r of [ok]) expect(r.stdout + r.stderr).not.toContain(AZURITE_KEY);
  }, 60_000);
});
