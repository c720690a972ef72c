// Smoke test of the Azurite helper: a real blob service, reached with @azure/storage-blob.
import { BlobServiceClient } from '@azure/storage-blob';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteServer } from './azurite.js';

describe('Azurite test helper', () => {
  let azurite: AzuriteServer;
  beforeAll(async () => { azurite = await startAzurite(); }, 180_000); // Azurite starts slowly on a busy machine
  afterAll(async () => { await azurite?.stop(); });

  it('serves blobs on 127.0.0.1: create a container, upload, list', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient('smoke-test');
    await container.create();
    await container.getBlockBlobClient('hello.txt').upload('hello', 5);
    const containers: string[] = [];
    for await (const c of service.listContainers()) containers.push(c.name);
    expect(containers).toContain('smoke-test');
    const blobs: string[] = [];
    for await (const b of container.listBlobsFlat()) blobs.push(b.name);
    expect(blobs).toEqual(['hello.txt']);
    expect(azurite.blobEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
  });

  it('stops and frees its port', async () => {
    const other = await startAzurite();
    await other.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(other.port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 180_000);
});
