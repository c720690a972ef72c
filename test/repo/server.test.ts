import { describe, expect, it } from 'vitest';
import type { PointManifest } from '../../core/repo/points.js';
import { listServers, verifyRegistration } from '../../core/repo/registration.js';
import { openServer } from '../../core/repo/server.js';
import { openVault } from '../../core/repo/vault.js';
import type { AzbError } from '../../core/protocol/errors.js';
import { sealJson } from '../../core/crypto/seal.js';
import { memoryServer, testCertificate } from '../helpers/memory-server.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (e) { return (e as AzbError).code; }
  return undefined;
}

const manifest = (serverId: string): PointManifest => ({
  version: 1, serverId, hostname: 'mem01', time: new Date().toISOString(), sources: ['/data'], tree: 'aa'.repeat(32), parent: null, tags: [],
  stats: { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 },
});

describe('server namespace', () => {
  it('is registered with a verifiable proof and opens only with its passphrase', async () => {
    const { store, repo, passphrase } = await memoryServer();
    const vault = await openVault(store);
    const servers = await listServers(vault);
    expect(servers.map((s) => s.serverId)).toEqual([repo.serverId]);
    expect(await verifyRegistration(vault, servers[0]!)).toBe(true);
    expect(await verifyRegistration(vault, { ...servers[0]!, proof: { ...servers[0]!.proof, challenge: 'Zm9v' } })).toBe(false);
    expect((await openServer(vault, repo.serverId, passphrase)).masterKey.equals(repo.masterKey)).toBe(true);
    expect(await codeOf(openServer(vault, repo.serverId, 'not the passphrase at all'))).toBe('AZB_PASSPHRASE_WRONG');
    expect(await codeOf(openServer(vault, repo.serverId, undefined))).toBe('AZB_PASSPHRASE_REQUIRED');
    expect(await codeOf(openServer(vault, 'ff'.repeat(32), passphrase))).toBe('AZB_SERVER_NOT_FOUND');
  });

  it('never stores the passphrase or the master key in the vault', async () => {
    const { store, repo, passphrase } = await memoryServer();
    for await (const o of store.list('')) {
      const bytes = await store.get(o.name);
      expect(bytes.includes(Buffer.from(passphrase))).toBe(false);
      expect(bytes.includes(repo.masterKey)).toBe(false);
      expect(bytes.includes(Buffer.from(repo.masterKey.toString('base64')))).toBe(false);
    }
  });

  it('changes the passphrase without touching data: the old one stops working', async () => {
    const { store, repo, passphrase } = await memoryServer();
    await repo.changePassphrase('the new passphrase 456');
    const vault = await openVault(store);
    expect(await codeOf(openServer(vault, repo.serverId, passphrase))).toBe('AZB_PASSPHRASE_WRONG');
    expect((await openServer(vault, repo.serverId, 'the new passphrase 456')).masterKey.equals(repo.masterKey)).toBe(true);
  });

  it('signs recovery points and refuses tampered ones', async () => {
    const { store, repo, privateKey } = await memoryServer();
    const id = await repo.savePoint(manifest(repo.serverId), privateKey);
    expect((await repo.readPoint(id)).manifest.sources).toEqual(['/data']);
    // A point sealed with the right key but signed by another key is tampered.
    const other = testCertificate();
    const text = JSON.stringify({ ...manifest(repo.serverId), sources: ['/evil'] });
    const { createSign } = await import('node:crypto');
    const forged = sealJson(repo.keys.seal, 'point', { manifest: text, signature: createSign('sha256').update(text).sign(other.privateKey, 'base64'), certificate: repo.record.certificate });
    const { storageId } = await import('../../core/crypto/seal.js');
    const forgedId = storageId(forged);
    await store.put(repo.pointObject(forgedId), forged);
    expect(await codeOf(repo.readPoint(forgedId))).toBe('AZB_POINT_TAMPERED');
    // Signed correctly, but with another uploaded certificate (another server that learnt this one's
    // passphrase to restore its data): not this server's point.
    const { putCertificate, openVault: reopen } = await import('../../core/repo/vault.js');
    await putCertificate(await reopen(store), other.thumbprint, other.der);
    const crossSigned = sealJson(repo.keys.seal, 'point', { manifest: text, signature: createSign('sha256').update(text).sign(other.privateKey, 'base64'), certificate: other.thumbprint });
    await store.put(repo.pointObject(storageId(crossSigned)), crossSigned);
    const refused = await repo.readPoint(storageId(crossSigned)).then(() => undefined, (e: AzbError) => e);
    expect(refused?.code).toBe('AZB_POINT_TAMPERED');
    expect(refused?.message).toContain(other.thumbprint);
    // A flipped byte is damage, named as such.
    const bytes = await store.get(repo.pointObject(id));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
    await store.delete(repo.pointObject(id));
    await store.put(repo.pointObject(id), bytes);
    expect(await codeOf(repo.readPoint(id))).toBe('AZB_OBJECT_DAMAGED');
  });
});
