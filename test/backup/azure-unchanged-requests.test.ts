// Issue 17: an incremental backup with nothing changed makes at most 10 requests to an Azure vault.
// Counted at a proxy in front of Azurite (test/helpers/wan-proxy.ts, no delay), by kind and by object,
// through the built engine. And what the saving must not cost: an index file written by another
// process is read, one a repair superseded is not used, and a lock held by someone else still refuses
// the backup, leaving no lock object of its own.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOf } from '../helpers/engine.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { startWanProxy, type WanProxy, type WanRequest } from '../helpers/wan-proxy.js';

let azurite: AzuriteServer | undefined;
let proxy: WanProxy;
let fx: VaultFixture;
let container: ContainerClient;
let src: string;
/** The server's namespace prefix in the container (servers/<id>/). */
let ns: string;

/** "KIND object" for each request, the namespace prefix and IDs shortened: "GET blob keys/…". */
const named = (r: WanRequest) => {
  const path = r.path.replace(/^\/[^/]+\/[^/]+\/?/, '');
  const object = r.kind === 'GET list' ? (new URLSearchParams(r.query).get('prefix') ?? '').replace(ns, '') || '(namespace)' : path.replace(ns, '');
  return `${r.kind} ${object.replace(/[0-9a-f]{64}|[0-9a-f]{32}|[0-9A-F]{40}/g, '…')}`;
};
const byKind = (rs: WanRequest[]) => rs.reduce<Record<string, number>>((m, r) => { m[r.kind] = (m[r.kind] ?? 0) + 1; return m; }, {});
const indexReads = (rs: WanRequest[]) => rs.filter((r) => r.kind === 'GET blob' && r.path.includes('/index/')).map((r) => r.path.slice(r.path.lastIndexOf('/') + 1));
const cacheIndexDir = (cache: string) => join(cache, readdirSync(cache).find((d) => /^[0-9a-f]{32}-[0-9a-f]{16}$/.test(d))!, 'index');
const listIds = async (sub: string) => { const out: string[] = []; for await (const b of container.listBlobsFlat({ prefix: `${ns}${sub}` })) out.push(b.name.slice(b.name.lastIndexOf('/') + 1)); return out.sort(); };

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startWanProxy(azurite.port, { delayMs: 0 });
  fx = await registeredServer({ backend: { kind: 'azurite', blobEndpoint: proxy.endpoint, connectionString: proxy.connectionString } });
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(fx.vault.slice(fx.vault.lastIndexOf('/') + 1));
  src = join(fx.root, 'src');
  mkdirSync(src);
  for (let i = 0; i < 12; i++) writeFileSync(join(src, `f${i}`), randomBytes(4000 + i));
  const first = await fx.az(['backup', src]);
  expect(first.code, first.stdout.slice(-400)).toBe(0);
  for await (const b of container.listBlobsFlat({ prefix: 'servers/' })) { ns = b.name.slice(0, 'servers/'.length + 65); break; }
  expect(ns).toMatch(/^servers\/[0-9a-f]{64}\/$/);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

describe('unchanged backup to an Azure vault', () => {
  it('makes 10 requests or fewer, each named, and still writes its recovery point', async () => {
    proxy.reset();
    const r = await fx.az(['backup', src]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    const point = resultOf(r, 'RecoveryPoint');
    const requests = proxy.requests.map(named);
    // Read the vault and this server's record, key file and certificate; lock (put, lease, then one
    // listing of the namespace: other locks, damage, index files, packs, and the config's MD5 that proves
    // the local copy); write the point; unlock.
    expect(requests).toEqual([
      'GET blob vault.json', 'GET blob server.json', 'GET list renewals/', 'GET blob keys/…', 'GET blob certificates/….cer',
      'PUT blob locks/…', 'PUT lease locks/…', 'GET list (namespace)', 'PUT blob points/…', 'DELETE blob locks/…',
    ]);
    expect(byKind(proxy.requests)).toEqual({ 'GET blob': 4, 'GET list': 2, 'PUT blob': 2, 'PUT lease': 1, 'DELETE blob': 1 });
    expect(proxy.requests.every((q) => q.status >= 200 && q.status < 300)).toBe(true);
    expect(proxy.requests.find((q) => q.path.includes('/points/'))?.path).toContain(String(point['pointId']));
    expect(await listIds('points/')).toContain(point['pointId']);
    expect(await listIds('locks/')).toEqual([]);
  }, 60_000);

  it('reads an index file another process wrote, and dedups against it', async () => {
    // Another run of this server, with a cache location of its own, stores a new file: new pack, index file and point.
    const other = join(fx.root, 'other-cache');
    const added = randomBytes(50_000);
    writeFileSync(join(src, 'added.bin'), added);
    const elsewhere = await fx.az(['backup', src], { env: { AZBACKUP_CACHE: other } });
    expect(elsewhere.code, elsewhere.stdout.slice(-400)).toBe(0);
    const newIndex = (await listIds('index/')).filter((id) => !readdirSync(cacheIndexDir(fx.env['AZBACKUP_CACHE']!)).includes(id));
    expect(newIndex).toHaveLength(1);
    proxy.reset();
    const r = await fx.az(['backup', src]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    // The new index file is read (once, and nothing else), so added.bin is not uploaded again: no pack is put.
    expect(indexReads(proxy.requests)).toEqual(newIndex);
    expect(proxy.requests.filter((q) => q.kind === 'PUT blob').map(named)).toEqual(['PUT blob locks/…', 'PUT blob points/…']);
    expect(resultOf(r, 'RecoveryPoint')).toMatchObject({ bytesAdded: 0, blobsAdded: 0 });
    expect(readdirSync(cacheIndexDir(fx.env['AZBACKUP_CACHE']!)).sort()).toEqual(await listIds('index/'));
  }, 60_000);

  it('does not use a copy of an index file a repair superseded', async () => {
    const before = await listIds('index/');
    const repaired = await fx.az(['repair', 'index'], { env: { AZBACKUP_CACHE: join(fx.root, 'other-cache') } });
    expect(repaired.code, repaired.stdout.slice(-400)).toBe(0);
    const after = await listIds('index/');
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
    proxy.reset();
    const r = await fx.az(['backup', src]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    expect(indexReads(proxy.requests)).toEqual(after);
    expect(proxy.requests.filter((q) => q.kind === 'PUT blob').map(named)).toEqual(['PUT blob locks/…', 'PUT blob points/…']);
    // The copies of the superseded files are gone; the cache holds what the vault lists, nothing else.
    expect(readdirSync(cacheIndexDir(fx.env['AZBACKUP_CACHE']!))).toEqual(after);
  }, 60_000);

  it('reads the config from the vault when the local copy does not open, and writes nothing when the vault has none or another one', async () => {
    const copy = join(cacheIndexDir(fx.env['AZBACKUP_CACHE']!), '..', 'config');
    const vaultConfig = (await container.getBlobClient(`${ns}config`).downloadToBuffer());
    writeFileSync(copy, randomBytes(vaultConfig.length));
    proxy.reset();
    const r = await fx.az(['backup', src]);
    expect(r.code, r.stdout.slice(-400)).toBe(0);
    expect(proxy.requests.map(named)).toContain('GET blob config');
    expect(readFileSync(copy).equals(vaultConfig)).toBe(true);
    // The config gone from the vault: the copy opens, but the listing does not show the config, so the
    // backup stops under its lock and writes no point (and releases the lock).
    await container.getBlobClient(`${ns}config`).delete();
    try {
      const points = await listIds('points/');
      const gone = await fx.az(['backup', src]);
      expect(gone.code).not.toBe(0);
      expect(gone.events.find((e) => e.type === 'error')).toMatchObject({ code: 'AZB_OBJECT_DAMAGED', target: `${ns}config` });
      expect(await listIds('points/')).toEqual(points);
      expect(await listIds('locks/')).toEqual([]);
      // Another config of the same size in the vault: its MD5 in the listing differs, so it is read, and refused.
      await container.getBlockBlobClient(`${ns}config`).uploadData(randomBytes(vaultConfig.length));
      const other = await fx.az(['backup', src]);
      expect(other.events.find((e) => e.type === 'error')).toMatchObject({ code: 'AZB_OBJECT_DAMAGED', target: `${ns}config` });
      expect(await listIds('points/')).toEqual(points);
    } finally {
      await container.getBlockBlobClient(`${ns}config`).uploadData(vaultConfig);
    }
  }, 60_000);

  it('is refused by an exclusive lock another host holds, and leaves no lock object of its own', async () => {
    const now = new Date().toISOString();
    const held = `${ns}locks/${randomBytes(16).toString('hex')}`;
    const record = JSON.stringify({ type: 'exclusive', hostname: 'other-host', pid: 4242, created: now, refreshed: now, operation: 'prune' });
    await container.getBlockBlobClient(held).upload(record, record.length);
    const lease = container.getBlobClient(held).getBlobLeaseClient();
    await lease.acquireLease(60);
    try {
      const points = await listIds('points/');
      const r = await fx.az(['backup', src]);
      expect(r.code).not.toBe(0);
      expect(r.events.find((e) => e.type === 'error')).toMatchObject({ code: 'AZB_VAULT_LOCKED' });
      expect(await listIds('locks/')).toEqual([held.slice(held.lastIndexOf('/') + 1)]);
      expect(await listIds('points/')).toEqual(points);
    } finally {
      await lease.releaseLease();
      await container.getBlobClient(held).delete();
    }
  }, 60_000);

  it('reads an index file the vault holds other bytes of (same size, other MD5) instead of its copy, and warns', async () => {
    const [id] = await listIds('index/');
    const blob = container.getBlockBlobClient(`${ns}index/${id}`);
    const good = await blob.downloadToBuffer();
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0xff;
    await blob.uploadData(bad);
    try {
      proxy.reset();
      const r = await fx.az(['backup', src]);
      expect(indexReads(proxy.requests)).toEqual([id]);
      expect(r.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_INDEX_DAMAGED', target: `${ns}index/${id}` });
    } finally {
      await blob.uploadData(good);
    }
  }, 60_000);
});
