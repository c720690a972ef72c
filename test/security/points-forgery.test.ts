// Item 4: a second server that was given this server's passphrase must not be able to sign points
// that restore as this server's. Two ways it could: rewrite server.json with its own certificate and a
// fresh proof, or put its own certificate under this server's thumbprint name.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';
import { editServerRecord, itemsOf, keyOf, logsOf, manifestOf, openAsAnyone, proofSignature, registrationOf, replaceObject, warningsOf, writeSignedPoint } from './attacker.js';

async function twoServers() {
  const a = await registeredServer({ hostname: 'srv01' });
  const b = await registeredServer({ vault: a.vault, hostname: 'srv02' });
  const src = join(a.root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'genuine.txt'), 'written by srv01\n');
  const backup = await a.az(['backup', src]);
  expect(backup.code, backup.stdout).toBe(0);
  const genuine = String(resultOf(backup, 'RecoveryPoint')['pointId']);
  const { reg } = registrationOf(a);
  return { a, b, src, genuine, serverId: reg.serverId, vaultId: reg.vaultId };
}

describe('points another server could forge', () => {
  it('refuses points signed by another server that rewrote server.json with its own certificate and proof', async () => {
    const { a, b, genuine, serverId, vaultId } = await twoServers();
    const bKey = await keyOf(b, 'srv02');
    // srv02 knows srv01's passphrase (given to it for a restore) and can write to the vault.
    editServerRecord(a.vault, serverId, (rec) => {
      rec['certificate'] = bKey.thumbprint;
      rec.proof.signature = proofSignature(vaultId, rec as never, rec.proof.challenge, bKey.privateKey);
    });
    const repo = await openAsAnyone(a.vault, serverId, a.passphrase);
    const forgedManifest = { ...(await manifestOf(repo, genuine)), time: new Date(Date.now() + 60_000).toISOString(), tags: ['forged'] };
    const forged = await writeSignedPoint(repo, forgedManifest, bKey.privateKey, bKey.thumbprint);

    // On srv01 the forged point is refused, the genuine one still lists.
    const points = await a.az(['points']);
    const listed = itemsOf(points).map((p) => p['pointId']);
    expect(listed).not.toContain(forged);
    expect(listed).toContain(genuine);
    expect(warningsOf(points).some((w) => w.message.includes(forged) || w.target?.includes(forged))).toBe(true);

    // restore latest is the genuine point (the forged one is named in a warning), and says whose certificate signed it.
    const restored = await a.az(['restore', 'latest', '--target', join(a.root, 'r')]);
    expect(restored.code, restored.stdout).toBe(3);
    expect(warningsOf(restored).map((w) => w.target)).toEqual([`servers/${serverId}/points/${forged}`]);
    expect(resultOf(restored, 'RestoreResult')['pointId']).toBe(genuine);
    expect(logsOf(restored).some((m) => m.includes('CN=srv01') && m.includes(registrationOf(a).reg.certificate))).toBe(true);

    // check names both the rewritten record and the forged point.
    const check = await a.az(['check']);
    expect(check.code).toBe(4);
    const objects = itemsOf(check).map((p) => String(p['object']));
    expect(objects).toContain(`servers/${serverId}/server.json`);
    expect(objects).toContain(`servers/${serverId}/points/${forged}`);
  });

  it('refuses points signed by a certificate put under this server\'s thumbprint name, here and from another server', async () => {
    const { a, b, serverId } = await twoServers();
    const aThumb = registrationOf(a).reg.certificate;
    const bKey = await keyOf(b, 'srv02');
    replaceObject(a.vault, `certificates/${aThumb}.cer`, bKey.der);
    const repo = await openAsAnyone(a.vault, serverId, a.passphrase);
    const genuine = (await repo.listPointIds())[0]!;
    const forged = await writeSignedPoint(repo, { ...(await manifestOf(repo, genuine)), time: new Date(Date.now() + 60_000).toISOString(), tags: ['forged'] }, bKey.privateKey, aThumb);

    const here = await a.az(['points']);
    expect(itemsOf(here).map((p) => p['pointId'])).not.toContain(forged);
    expect(warningsOf(here).some((w) => /thumbprint/i.test(w.message))).toBe(true);
    // srv02 restoring srv01's data (no local registration for srv01): the certificate is checked against its name too.
    const there = await b.az(['points', '--server', serverId], { env: { AZBACKUP_PASSPHRASE: a.passphrase } });
    expect(itemsOf(there).map((p) => p['pointId'])).not.toContain(forged);
    const restore = await b.az(['restore', forged, '--server', serverId, '--target', join(b.root, 'r')], { env: { AZBACKUP_PASSPHRASE: a.passphrase } });
    expect(onlyError(restore).code).toBe('AZB_POINT_TAMPERED');
  });
});
