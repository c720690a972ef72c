// The restore's read planner: adjacent blobs of a pack come in one request, each blob checked and exact.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobSaver } from '../../core/backup/blob-saver.js';
import { BlobFetcher } from '../../core/restore/blob-fetcher.js';
import { memoryServer } from '../helpers/memory-server.js';

describe('BlobFetcher', () => {
  it('reads adjacent blobs of a pack in one request and returns each blob exactly, as often as planned', async () => {
    const { repo } = await memoryServer();
    const saver = new BlobSaver(repo);
    const chunks = Array.from({ length: 20 }, (_, i) => randomBytes(10_000 + i));
    const ids = [];
    for (const c of chunks) ids.push((await saver.save('data', c)).toString('hex'));
    await saver.finish(true);
    const store = repo.vault.store;
    let gets = 0;
    const realGet = store.get.bind(store);
    store.get = (name, range) => { if (name.includes('/packs/')) gets++; return realGet(name, range); };
    const fetcher = new BlobFetcher(repo);
    fetcher.plan([...ids, ids[3]!]); // blob 3 is used twice
    for (let i = 0; i < ids.length; i++) expect((await fetcher.blob(ids[i]!)).equals(chunks[i]!)).toBe(true);
    expect((await fetcher.blob(ids[3]!)).equals(chunks[3]!)).toBe(true);
    expect(gets).toBeLessThanOrEqual(2); // one segment (plus the pack header for its key)
    // A blob outside the plan is still read, on its own.
    const extra = randomBytes(5000);
    const extraSaver = new BlobSaver(repo);
    const extraId = (await extraSaver.save('data', extra)).toString('hex');
    await extraSaver.finish(true);
    expect((await fetcher.blob(extraId)).equals(extra)).toBe(true);
  });
});
