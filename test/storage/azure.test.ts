// AzureBlobStore against a real Azurite: the conformance suite (single puts, and staged block uploads),
// then what only the Azure backend has: credentials, SAS permissions, the container check, Content-MD5,
// access tiers, and retries through a fault-injecting HTTP proxy (stalls, lost responses, 503s).
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters, type ContainerClient } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureBlobStore, PUT_ID_METADATA, openAzureBlobStore, type AzureBlobStoreOptions } from '../../core/storage/azure.js';
import type { StorageError } from '../../core/storage/storage.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { expectKind, listAll, nameAndSize, storageFailure, storageSuite } from './suite.js';
import { tempDir } from '../helpers/tmp.js';

let azurite: AzuriteServer;
let service: BlobServiceClient;
beforeAll(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
}, 180_000); // Azurite starts slowly on a busy machine
afterAll(async () => { await azurite?.stop(); });

const sharedKey = () => new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
const md5 = (data: Uint8Array) => createHash('md5').update(data).digest();
/** Fast retries for tests (the defaults back off for seconds). */
const quick = { retryDelayMs: 5, maxRetryDelayMs: 20 } as const;

/** A fresh, empty container with a random name. */
async function newContainer(): Promise<ContainerClient> {
  const container = service.getContainerClient(`t${randomBytes(8).toString('hex')}`);
  await container.create();
  return container;
}

/** A container SAS token with `permissions`, valid from `fromMs` to `toMs` relative to now. */
function containerSas(containerName: string, permissions: string, fromMs = -60_000, toMs = 3_600_000): string {
  return generateBlobSASQueryParameters({
    containerName,
    permissions: ContainerSASPermissions.parse(permissions),
    startsOn: new Date(Date.now() + fromMs),
    expiresOn: new Date(Date.now() + toMs),
  }, sharedKey()).toString();
}

/** Asserts that nothing in a failure, its cause included (hidden properties too), shows a secret. */
function expectNoSecret(err: StorageError, ...secrets: string[]): void {
  const everything = `${err.message}\n${err.stack}\n${inspect(err, { showHidden: true, depth: 30 })}\n${JSON.stringify(err)}`;
  for (const s of [AZURITE_KEY, azurite.connectionString, ...secrets]) expect(everything).not.toContain(s);
  for (const s of secrets) {
    const sig = new URLSearchParams(s.replace(/^[^?]*\?/, '')).get('sig');
    if (sig) {
      expect(everything).not.toContain(sig);
      expect(everything).not.toContain(encodeURIComponent(sig));
    }
  }
  expect(everything).not.toMatch(/sig=[^…]/);
  expect(everything).not.toMatch(/authorization['"]?\s*:|SharedKey |Bearer /i);
}

function storeFactory(extra: Partial<AzureBlobStoreOptions> = {}) {
  return async () => {
    const container = await newContainer();
    const store = await openAzureBlobStore({
      containerUrl: container.url,
      credential: { kind: 'connectionString', value: azurite.connectionString },
      ...quick,
      ...extra,
    });
    return { store, cleanup: async () => { await container.deleteIfExists(); } };
  };
}

storageSuite('azure blob (Azurite)', storeFactory());
// Every object above 2 KiB staged in 1 MiB blocks: the race test then mixes Put Blob and Put Block List.
storageSuite('azure blob (Azurite), staged block uploads', storeFactory({ singlePutLimit: 2048, blockSize: 1024 * 1024 }));

describe('AzureBlobStore', () => {
  let container: ContainerClient;
  beforeEach(async () => { container = await newContainer(); });

  const open = (extra: Partial<AzureBlobStoreOptions> = {}) => openAzureBlobStore({
    containerUrl: container.url,
    credential: { kind: 'connectionString', value: azurite.connectionString },
    ...quick,
    ...extra,
  });

  it('has the container URL as location, without query string or credentials', async () => {
    const expected = `${azurite.blobEndpoint}/${container.containerName}`;
    expect((await open()).location).toBe(expected);
    const sasUrl = `${expected}?${containerSas(container.containerName, 'racwdl')}`;
    const fromSas = await open({ containerUrl: sasUrl, credential: { kind: 'sas', sasUrl } });
    expect(fromSas.location).toBe(expected);
    await fromSas.put('via-sas', Buffer.from('s'));
    expect((await fromSas.get('via-sas')).toString()).toBe('s');
    const withUser = await open({
      containerUrl: expected.replace('http://', 'http://someone:secret@') + '/#frag',
      credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY },
    });
    expect(withUser.location).toBe(expected);
    expect((await withUser.get('via-sas')).toString()).toBe('s');
  });

  it('accepts a SAS as a bare token and as the account URL with a token', async () => {
    const token = containerSas(container.containerName, 'racwdl');
    for (const sasUrl of [token, `?${token}`, `${azurite.blobEndpoint}?${token}`]) {
      const store = await open({ credential: { kind: 'sas', sasUrl } });
      await store.put(`t/${randomBytes(4).toString('hex')}`, Buffer.from('x'));
    }
    expect((await listAll(await open(), 't/')).length).toBe(3);
  });

  it('reports a missing container as unavailable, naming the container', async () => {
    const missingUrl = `${azurite.blobEndpoint}/no-such-container`;
    const token = containerSas('no-such-container', 'racwdl');
    for (const credential of [
      { kind: 'connectionString', value: azurite.connectionString },
      { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY },
      { kind: 'sas', sasUrl: token },
    ] as const) {
      const err = await storageFailure(openAzureBlobStore({ containerUrl: missingUrl, credential, ...quick }));
      expect(err.kind).toBe('unavailable');
      expect(err.message).toContain("'no-such-container'");
      expect(err.message).toContain(missingUrl);
      expectNoSecret(err, token);
    }
  });

  it('reports a container deleted under an open store as unavailable, never not-found', async () => {
    const store = await open();
    await store.put('servers/ab/config', Buffer.from('c'));
    await container.delete();
    await expectKind(store.get('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(store.get('servers/ab/config', { offset: 0, length: 1 }), 'unavailable', 'servers/ab/config');
    await expectKind(store.get('servers/ab/config', { offset: 0, length: 0 }), 'unavailable', 'servers/ab/config');
    await expectKind(store.stat('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(store.put('servers/ab/other', Buffer.from('o')), 'unavailable', 'servers/ab/other');
    await expectKind(store.put('servers/ab/big', Buffer.alloc(5000)), 'unavailable', 'servers/ab/big');
    await expectKind(store.delete('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(listAll(store, 'servers/'), 'unavailable');
    const err = await storageFailure(store.get('servers/ab/config'));
    expect(err.message).toMatch(/container no longer exists.*ContainerNotFound/);
  });

  it('refuses a wrong account key with denied, without showing the key', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const err = await storageFailure(open({ credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: wrongKey } }));
    expect(err.kind).toBe('denied');
    expect(err.message).toMatch(/refused \(HTTP 403 AuthorizationFailure\)/);
    expectNoSecret(err, wrongKey);
    const wrongConn = azurite.connectionString.replace(AZURITE_KEY, wrongKey);
    const err2 = await storageFailure(open({ credential: { kind: 'connectionString', value: wrongConn } }));
    expect(err2.kind).toBe('denied');
    expectNoSecret(err2, wrongKey, wrongConn);
  });

  it('with a read-only SAS reads, and refuses writes, deletes and listing with denied', async () => {
    const writer = await open();
    await writer.put('servers/ab/config', Buffer.from('config'));
    const token = containerSas(container.containerName, 'r');
    const reader = await open({ credential: { kind: 'sas', sasUrl: `${container.url}?${token}` }, singlePutLimit: 100_000, blockSize: 64 * 1024 });
    expect((await reader.get('servers/ab/config')).toString()).toBe('config');
    expect(nameAndSize(await reader.stat('servers/ab/config'))).toEqual({ name: 'servers/ab/config', size: 6 });
    expect(await reader.stat('servers/ab/none')).toBeUndefined();
    await expectKind(reader.get('servers/ab/none'), 'not-found', 'servers/ab/none');
    for (const call of [
      () => reader.put('servers/ab/new', Buffer.from('n')),
      () => reader.put('servers/ab/config', Buffer.from('n')),
      () => reader.put('servers/ab/packs/00/big', Buffer.alloc(300_000)),
      () => reader.delete('servers/ab/config'),
      () => listAll(reader, 'servers/'),
    ]) {
      const err = await storageFailure(call());
      expect(err.kind).toBe('denied');
      expectNoSecret(err, token);
    }
    expect((await writer.get('servers/ab/config')).toString()).toBe('config');
    expect(await writer.stat('servers/ab/new')).toBeUndefined();
  });

  it('refuses an expired SAS with denied', async () => {
    const token = containerSas(container.containerName, 'racwdl', -7_200_000, -3_600_000);
    const err = await storageFailure(open({ credential: { kind: 'sas', sasUrl: `${container.url}?${token}` } }));
    expect(err.kind).toBe('denied');
    expectNoSecret(err, token);
  });

  it('refuses credentials that do not fit the container URL with denied', async () => {
    const token = containerSas(container.containerName, 'racwdl');
    const cases: AzureBlobStoreOptions['credential'][] = [
      { kind: 'sas', sasUrl: `http://127.0.0.2:1/${AZURITE_ACCOUNT}/${container.containerName}?${token}` },
      { kind: 'sas', sasUrl: `${azurite.blobEndpoint}/other-container?${token}` },
      { kind: 'sas', sasUrl: container.url },
      { kind: 'connectionString', value: azurite.connectionString.replace('127.0.0.1', '127.0.0.2') },
      { kind: 'connectionString', value: 'not a connection string' },
    ];
    for (const credential of cases) {
      const err = await storageFailure(open({ credential }));
      expect(err.kind).toBe('denied');
      expectNoSecret(err, token);
    }
  });

  it('refuses what is not a container URL with unavailable', async () => {
    for (const containerUrl of ['not a url', 'ftp://127.0.0.1/devstoreaccount1/c1', azurite.blobEndpoint, `${container.url}/deeper`, `${azurite.blobEndpoint}/Upper_Case`]) {
      const err = await storageFailure(open({ containerUrl, credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY } }));
      expect(err.kind).toBe('unavailable');
    }
  });

  it('sends Content-MD5, so the stored MD5 is that of the data, and tags the put', async () => {
    const store = await open();
    const data = randomBytes(100_000);
    await store.put('servers/ab/index/i1', data);
    const props = await container.getBlobClient('servers/ab/index/i1').getProperties();
    expect(Buffer.from(props.contentMD5!).equals(md5(data))).toBe(true);
    expect(props.metadata?.[PUT_ID_METADATA]).toMatch(/^[0-9a-f]{32}$/);
    expect(props.blobType).toBe('BlockBlob');
  });

  it('stages objects above the single-put limit in blocks and commits them create-only', async () => {
    const store = await open({ singlePutLimit: 1024 * 1024, blockSize: 512 * 1024, uploadConcurrency: 3 });
    const data = randomBytes(3 * 1024 * 1024);
    await store.put('servers/ab/packs/00/big', data);
    const blob = container.getBlockBlobClient('servers/ab/packs/00/big');
    const blocks = await blob.getBlockList('all');
    expect(blocks.committedBlocks?.map((b) => b.size)).toEqual(Array(6).fill(512 * 1024));
    expect(blocks.uncommittedBlocks ?? []).toEqual([]);
    expect(Buffer.from((await blob.getProperties()).contentMD5!).equals(md5(data))).toBe(true);
    expect((await store.get('servers/ab/packs/00/big')).equals(data)).toBe(true);
    const part = await store.get('servers/ab/packs/00/big', { offset: 512 * 1024 - 10, length: 20 });
    expect(part.equals(data.subarray(512 * 1024 - 10, 512 * 1024 + 10))).toBe(true);
    // A taken name is refused before any block is uploaded.
    await expectKind(store.put('servers/ab/packs/00/big', randomBytes(2 * 1024 * 1024)), 'exists', 'servers/ab/packs/00/big');
    expect((await blob.getBlockList('uncommitted')).uncommittedBlocks ?? []).toEqual([]);
    expect((await store.get('servers/ab/packs/00/big')).equals(data)).toBe(true);
    // At the limit exactly: one Put Blob, no blocks.
    await store.put('servers/ab/packs/00/edge', randomBytes(1024 * 1024));
    expect((await container.getBlockBlobClient('servers/ab/packs/00/edge').getBlockList('all')).committedBlocks ?? []).toEqual([]);
  });

  it('puts a staged file streamed from disk, with Content-MD5, create-only; a large one in blocks', async () => {
    const dir = tempDir('azb-putfile-');
    const store = await open({ singlePutLimit: 1024 * 1024, blockSize: 512 * 1024 });
    const data = randomBytes(700_000);
    writeFileSync(join(dir, 'pack'), data);
    await store.putFile('servers/ab/packs/00/staged', join(dir, 'pack'));
    const props = await container.getBlobClient('servers/ab/packs/00/staged').getProperties();
    expect(Buffer.from(props.contentMD5!).equals(md5(data))).toBe(true);
    expect(props.metadata?.[PUT_ID_METADATA]).toMatch(/^[0-9a-f]{32}$/);
    expect((await store.get('servers/ab/packs/00/staged')).equals(data)).toBe(true);
    expect(readFileSync(join(dir, 'pack')).equals(data)).toBe(true); // the staged file is left as it was
    writeFileSync(join(dir, 'other'), randomBytes(1000));
    await expectKind(store.putFile('servers/ab/packs/00/staged', join(dir, 'other')), 'exists', 'servers/ab/packs/00/staged');
    expect((await store.get('servers/ab/packs/00/staged')).equals(data)).toBe(true);
    const big = randomBytes(1536 * 1024);
    writeFileSync(join(dir, 'big'), big);
    await store.putFile('servers/ab/packs/00/bigstaged', join(dir, 'big'));
    expect((await container.getBlockBlobClient('servers/ab/packs/00/bigstaged').getBlockList('all')).committedBlocks?.length).toBe(3);
    expect((await store.get('servers/ab/packs/00/bigstaged')).equals(big)).toBe(true);
    writeFileSync(join(dir, 'empty'), '');
    await store.putFile('servers/ab/packs/00/empty', join(dir, 'empty'));
    expect((await store.get('servers/ab/packs/00/empty')).length).toBe(0);
    await expectKind(store.putFile('servers/ab/packs/00/none', join(dir, 'no-such-file')), 'io');
    expect(await store.stat('servers/ab/packs/00/none')).toBeUndefined();
  });

  it('sets the access tier on packs only', async () => {
    const store = await open({ accessTier: 'Cool', singlePutLimit: 1000, blockSize: 512 });
    await store.put('servers/ab/packs/cd/cd01', Buffer.alloc(100, 1));
    await store.put('servers/ab/packs/cd/cd02', Buffer.alloc(1500, 2)); // staged
    await store.put('servers/ab/index/i1', Buffer.alloc(100, 3));
    expect((await container.getBlobClient('servers/ab/packs/cd/cd01').getProperties()).accessTier).toBe('Cool');
    expect((await container.getBlobClient('servers/ab/packs/cd/cd02').getProperties()).accessTier).toBe('Cool');
    const index = await container.getBlobClient('servers/ab/index/i1').getProperties();
    expect(index.accessTier).not.toBe('Cool');
    expect(index.accessTierInferred).toBe(true);
  });

  it('lists only blobs whose names are object names, and no folder entries', async () => {
    const store = await open();
    await store.put('servers/ab/ok', Buffer.from('1'));
    for (const foreign of ['servers/ab/with space', 'servers/ab/ümlaut', 'servers//double']) {
      await container.getBlockBlobClient(foreign).upload('x', 1);
    }
    // What a hierarchical-namespace (Data Lake) account lists for a folder.
    await container.getBlockBlobClient('servers/ab/packs').upload('', 0, { metadata: { hdi_isfolder: 'true' } });
    expect(await listAll(store, '')).toEqual([{ name: 'servers/ab/ok', size: 1 }]);
    expect(await listAll(store, 'servers/ab/')).toEqual([{ name: 'servers/ab/ok', size: 1 }]);
  });

  it('lists more than one page of blobs', async () => {
    const store = await open();
    const names = Array.from({ length: 5003 }, (_, i) => `servers/ab/packs/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < names.length; i += 200) {
      await Promise.all(names.slice(i, i + 200).map((n) => container.getBlockBlobClient(n).upload('', 0)));
    }
    const listed = await listAll(store, 'servers/ab/packs/');
    expect(listed.map((o) => o.name)).toEqual(names);
  });

  it('reports an endpoint with nothing listening as unreachable, without waiting for a stall timeout', async () => {
    const port = await freePort();
    const containerUrl = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}/vault`;
    // A stall timeout far beyond the test's own: the answer comes from the refused connection, or the
    // test times out. (No wall-clock bound: it would only measure how loaded the machine is.)
    const patient = { tryTimeoutMs: 10 * 60_000 };
    const err = await storageFailure(openAzureBlobStore({ containerUrl, credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY }, maxTries: 1, ...patient }));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain(containerUrl);
    const err2 = await storageFailure(openAzureBlobStore({ containerUrl, credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY }, maxTries: 3, ...quick, ...patient }));
    expect(err2.kind).toBe('unreachable');
  });

  describe('retries through a faulty connection', () => {
    let proxy: FaultProxy;
    beforeAll(async () => { proxy = await startFaultProxy(azurite.port); });
    afterAll(async () => { await proxy?.close(); });
    beforeEach(() => proxy.reset());

    const viaProxy = (extra: Partial<AzureBlobStoreOptions> = {}) => openAzureBlobStore({
      containerUrl: `${proxy.endpoint}/${container.containerName}`,
      credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: AZURITE_KEY },
      ...quick,
      ...extra,
    });
    const requestsTo = (method: string, name: string) => proxy.seen.filter((r) => r.startsWith(`${method} `) && r.includes(`/${container.containerName}/${name}`)).length;

    it('aborts and retries a request that gets no answer', async () => {
      const store = await viaProxy({ tryTimeoutMs: 750 });
      await store.put('servers/ab/config', Buffer.from('config'));
      proxy.rules.push({ method: 'GET', path: '/servers/ab/config', action: 'stall', times: 1 });
      const started = Date.now();
      expect((await store.get('servers/ab/config')).toString()).toBe('config');
      expect(Date.now() - started).toBeGreaterThanOrEqual(740);
      expect(requestsTo('GET', 'servers/ab/config')).toBe(2);
    });

    it('aborts and retries a download whose body stops halfway', async () => {
      const store = await viaProxy({ tryTimeoutMs: 750 });
      const data = randomBytes(200_000);
      await store.put('servers/ab/packs/00/p1', data);
      proxy.rules.push({ method: 'GET', path: '/servers/ab/packs/00/p1', action: 'stall-body', times: 2 });
      expect((await store.get('servers/ab/packs/00/p1')).equals(data)).toBe(true);
      expect(requestsTo('GET', 'servers/ab/packs/00/p1')).toBe(3);
    });

    it('retries a staged-file upload that gets no answer, reading the file again', async () => {
      const dir = tempDir('azb-putfile-');
      const store = await viaProxy({ tryTimeoutMs: 750 });
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/packs/00/f2', action: 'stall', times: 1 });
      const data = randomBytes(300_000);
      writeFileSync(join(dir, 'pack'), data);
      await store.putFile('servers/ab/packs/00/f2', join(dir, 'pack'));
      expect((await store.get('servers/ab/packs/00/f2')).equals(data)).toBe(true);
      expect(requestsTo('PUT', 'servers/ab/packs/00/f2')).toBe(2);
    });

    it('aborts and retries an upload that gets no answer', async () => {
      const store = await viaProxy({ tryTimeoutMs: 750 });
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/packs/00/p2', action: 'stall', times: 1 });
      const data = randomBytes(300_000);
      await store.put('servers/ab/packs/00/p2', data);
      expect((await store.get('servers/ab/packs/00/p2')).equals(data)).toBe(true);
      expect(requestsTo('PUT', 'servers/ab/packs/00/p2')).toBe(2);
    });

    it('gives up with unreachable when the service never answers', async () => {
      const store = await viaProxy({ tryTimeoutMs: 750, maxTries: 2 });
      proxy.rules.push({ method: 'HEAD', path: '/servers/ab/x', action: 'stall', times: 5 });
      const err = await storageFailure(store.stat('servers/ab/x'));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain('no response for 0.75 s');
      expect(requestsTo('HEAD', 'servers/ab/x')).toBe(2);
    });

    it('retries 503 ServerBusy, then reports it as unreachable', async () => {
      const store = await viaProxy();
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/busy', action: 503, times: 2 });
      await store.put('servers/ab/busy', Buffer.from('b'));
      expect(requestsTo('PUT', 'servers/ab/busy')).toBe(3);
      proxy.rules.push({ method: 'GET', path: '/servers/ab/busy', action: 503, times: 5 });
      const err = await storageFailure(store.get('servers/ab/busy'));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain('HTTP 503 ServerBusy');
      expect(requestsTo('GET', 'servers/ab/busy')).toBe(5);
    });

    it('does not retry what another attempt cannot change: denied, not-found, exists, bad-range', async () => {
      const wrongKey = randomBytes(64).toString('base64');
      await expectKind(viaProxy({ credential: { kind: 'sharedKey', account: AZURITE_ACCOUNT, key: wrongKey } }), 'denied');
      expect(proxy.seen.filter((r) => r.startsWith('HEAD ')).length).toBe(1);
      const store = await viaProxy();
      await store.put('servers/ab/once', Buffer.from('0123'));
      await expectKind(store.put('servers/ab/once', Buffer.from('x')), 'exists');
      expect(requestsTo('PUT', 'servers/ab/once')).toBe(2);
      await expectKind(store.get('servers/ab/none'), 'not-found');
      expect(requestsTo('GET', 'servers/ab/none')).toBe(1);
      await expectKind(store.get('servers/ab/once', { offset: 4, length: 1 }), 'bad-range');
      expect(requestsTo('GET', 'servers/ab/once')).toBe(1);
    });

    it('treats its own put whose response was lost as written, not as exists', async () => {
      const store = await viaProxy();
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/locks/l1', action: 'drop-response', times: 1 });
      await store.put('servers/ab/locks/l1', Buffer.from('mine'));
      expect(requestsTo('PUT', 'servers/ab/locks/l1')).toBe(2);
      expect((await store.get('servers/ab/locks/l1')).toString()).toBe('mine');
      await expectKind(store.put('servers/ab/locks/l1', Buffer.from('mine')), 'exists', 'servers/ab/locks/l1');
    });

    it('treats a staged put whose commit response was lost as written', async () => {
      const store = await viaProxy({ singlePutLimit: 1000, blockSize: 400 });
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/packs/11/p3?comp=blocklist', action: 'drop-response', times: 1 });
      const data = randomBytes(1500);
      await store.put('servers/ab/packs/11/p3', data);
      expect(proxy.seen.filter((r) => r.includes('p3?comp=blocklist')).length).toBe(2);
      expect((await store.get('servers/ab/packs/11/p3')).equals(data)).toBe(true);
    });

    it('still reports exists when a lost response hid another writer’s object', async () => {
      const store = await viaProxy();
      await container.getBlockBlobClient('servers/ab/locks/l2').upload('theirs', 6);
      proxy.rules.push({ method: 'PUT', path: '/servers/ab/locks/l2', action: 'drop-response', times: 1 });
      await expectKind(store.put('servers/ab/locks/l2', Buffer.from('mine')), 'exists', 'servers/ab/locks/l2');
      expect(requestsTo('PUT', 'servers/ab/locks/l2')).toBe(2);
      expect((await store.get('servers/ab/locks/l2')).toString()).toBe('theirs');
    });
  });

  it('can be constructed over an existing ContainerClient', async () => {
    const store = new AzureBlobStore(container, container.url, quick);
    await store.put('x', Buffer.from('1'));
    expect((await store.get('x')).toString()).toBe('1');
    await store.close();
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

