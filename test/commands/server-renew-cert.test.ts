// `server renew-cert` through the built engine: a server moves to a new, uploaded certificate; its
// points (soft-deleted ones too) keep verifying and restoring, also after the old certificate is removed
// from the vault and from another server; the old certificate signs nothing new that anyone accepts; a
// renewal cut short finishes when run again; bad inputs are refused with codes and change nothing.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCertificateFile } from '../../core/cert/load.js';
import { openStore } from '../../core/commands/context.js';
import { findRegistration } from '../../core/config/home.js';
import { signWith } from '../../core/repo/registration.js';
import { openServer } from '../../core/repo/server.js';
import { openVault } from '../../core/repo/vault.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const items = (r: EngineRun) => r.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);
const savedHome = process.env['AZBACKUP_HOME'];
afterEach(() => { if (savedHome === undefined) delete process.env['AZBACKUP_HOME']; else process.env['AZBACKUP_HOME'] = savedHome; });

/** A server with points of 'v1' and 'v2' of a file, and a new certificate made and uploaded (not yet used). */
async function serverAndNewCertificate(hostname: string) {
  const fx = await registeredServer({ hostname });
  const src = join(fx.root, 'src');
  mkdirSync(src);
  const ids: string[] = [];
  for (const v of ['v1', 'v2']) {
    writeFileSync(join(src, 'a.txt'), v);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    ids.push(String(resultOf(b, 'RecoveryPoint')['pointId']));
  }
  const made = await fx.az(['cert', 'new', '--subject', `CN=${hostname}-next`, '-o', fx.root, '--password-file', join(fx.root, 'pfx.pw')]);
  expect(made.code, made.stdout).toBe(0);
  const uploaded = await fx.az(['vault', 'add-cert', join(fx.root, `${hostname}-next.cer`), '--vault', fx.vault]);
  expect(uploaded.code, uploaded.stdout).toBe(0);
  const server = items(await fx.az(['servers']))[0]!;
  return { fx, src, ids, serverId: String(server['serverId']), oldThumbprint: String(server['certificate']), newPfx: join(fx.root, `${hostname}-next.pfx`) };
}

const renew = (fx: VaultFixture, pfx: string, env: Record<string, string> = {}) => fx.az(['server', 'renew-cert', '--certificate', pfx, '--password-file', join(fx.root, 'pfx.pw')], { env });

/** Copies this machine's registration files aside (to put an old one back later: a crash, or an old key kept). */
function saveRegistrationFiles(fx: VaultFixture): string {
  const dir = join(fx.root, `saved-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  for (const f of readdirSync(join(fx.home, 'registrations'))) copyFileSync(join(fx.home, 'registrations', f), join(dir, f));
  return dir;
}
function putRegistrationFilesBack(fx: VaultFixture, dir: string): void {
  for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(fx.home, 'registrations', f));
}

/** Writes a point signed with the key of `pfx`, claiming that certificate, as whoever holds that key could. */
async function pointSignedWith(fx: VaultFixture, pfx: string, thumbprint: string): Promise<string> {
  process.env['AZBACKUP_HOME'] = fx.home;
  const vault = await openVault(await openStore(fx.vault));
  try {
    const reg = (await findRegistration(vault.manifest.vaultId))!;
    const repo = await openServer(vault, reg.serverId, fx.passphrase);
    const key = (await loadCertificateFile(pfx, readFileSync(join(fx.root, 'pfx.pw'), 'utf8').trim())).privateKey!;
    const newest = (await repo.readAllPoints()).at(-1)!;
    const manifest = JSON.stringify({ ...newest.manifest, time: '2000-01-01T00:00:00.000Z', tags: ['forged'] });
    return await repo.writeSealed('point', { manifest, signature: signWith(key, Buffer.from(manifest, 'utf8')), certificate: thumbprint }, (i) => repo.pointObject(i));
  } finally {
    await vault.store.close();
  }
}

describe('server renew-cert', () => {
  it('moves the server to the new certificate: points stay, backups and restores go on, the old certificate can be removed and is accepted no more', async () => {
    const { fx, src, ids, serverId, oldThumbprint, newPfx } = await serverAndNewCertificate('renewer');
    // A soft-deleted point is carried over too: it can still be brought back after the renewal.
    expect((await fx.az(['forget', ids[0]!])).code).toBe(0);
    const oldRegistration = saveRegistrationFiles(fx);

    const r = await renew(fx, newPfx);
    expect(r.code, r.stdout).toBe(0);
    const res = resultOf(r, 'CertificateRenewal');
    expect(res).toMatchObject({ serverId, previousCertificate: oldThumbprint, pointsCarried: 2 });
    const newThumbprint = String(res['certificate']);
    expect(newThumbprint).not.toBe(oldThumbprint);
    const server = items(await fx.az(['servers']))[0]!;
    expect(server).toMatchObject({ serverId, certificate: newThumbprint, proofValid: true, thisServer: true });

    // Backups sign with the new certificate; old and new points restore.
    writeFileSync(join(src, 'a.txt'), 'v3');
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    const third = String(resultOf(b, 'RecoveryPoint')['pointId']);
    expect((await fx.az(['undelete', ids[0]!])).code).toBe(0);

    // The old certificate is no longer in use: it can be removed, and every point still verifies.
    const removed = await fx.az(['vault', 'remove-cert', oldThumbprint]);
    expect(removed.code, removed.stdout).toBe(0);
    expect(existsSync(join(fx.vault, 'certificates', `${oldThumbprint}.cer`))).toBe(false);
    expect(items(await fx.az(['points'])).map((p) => p['pointId']).sort()).toEqual([...ids, third].sort());
    for (const [id, text] of [[ids[0]!, 'v1'], [ids[1]!, 'v2'], [third, 'v3']] as const) {
      const out = join(fx.root, `restore-${text}`);
      const restored = await fx.az(['restore', id, '--target', out]);
      expect(restored.code, restored.stdout).toBe(0);
      expect(readFileSync(join(out, src, 'a.txt'), 'utf8')).toBe(text);
    }
    const check = await fx.az(['check']);
    expect(check.code, check.stdout).toBe(0);

    // Another server, given the passphrase, follows the renewal from the vault alone.
    const other = await registeredServer({ hostname: 'reader', vault: fx.vault, passphrase: 'the reader has a passphrase of its own' });
    const asOwner = { env: { AZBACKUP_PASSPHRASE: fx.passphrase } };
    expect(items(await other.az(['points', '--server', serverId], asOwner))).toHaveLength(3);
    const elsewhere = await other.az(['restore', ids[0]!, '--server', serverId, '--target', join(other.root, 'r')], asOwner);
    expect(elsewhere.code, elsewhere.stdout).toBe(0);

    // The old certificate is accepted no more: a point its key signs now is tampered, even backdated,
    // here and on the other server; and this machine's old registration cannot back up.
    const forged = await pointSignedWith(fx, join(fx.root, 'renewer.pfx'), oldThumbprint);
    expect(onlyError(await fx.az(['restore', forged, '--target', join(fx.root, 'f')])).code).toBe('AZB_POINT_TAMPERED');
    expect(onlyError(await other.az(['restore', forged, '--server', serverId, '--target', join(other.root, 'f')], asOwner)).code).toBe('AZB_POINT_TAMPERED');
    const listed = await fx.az(['points']);
    expect(listed.events.filter((e) => e.type === 'warning' && e.code === 'AZB_POINT_DAMAGED').map((e) => (e as { target?: string }).target)).toEqual([expect.stringContaining(forged)]);
    expect(items(listed)).toHaveLength(3);
    const current = saveRegistrationFiles(fx);
    putRegistrationFilesBack(fx, oldRegistration);
    expect(onlyError(await fx.az(['backup', src])).code).toBe('AZB_REGISTRATION_MISMATCH');
    putRegistrationFilesBack(fx, current);
    expect((await fx.az(['points'])).code).toBe(3); // the forged point's warning; the pin is the new one again
  }, 180_000); // a dozen engine runs, each signing or opening keys

  it('finishes a renewal cut short after the vault was written, when run again with the same certificate', async () => {
    const { fx, src, oldThumbprint, newPfx } = await serverAndNewCertificate('resumer');
    const before = saveRegistrationFiles(fx);
    expect((await renew(fx, newPfx)).code).toBe(0);
    putRegistrationFilesBack(fx, before); // as if the engine died before it updated the registration
    expect(onlyError(await fx.az(['backup', src])).code).toBe('AZB_REGISTRATION_MISMATCH');
    const again = await renew(fx, newPfx);
    expect(again.code, again.stdout).toBe(0);
    expect(resultOf(again, 'CertificateRenewal')).toMatchObject({ previousCertificate: oldThumbprint, pointsCarried: 2 });
    expect(listTree(fx.vault).filter((l) => l.includes('/renewals/'))).toHaveLength(1);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    expect(items(await fx.az(['points']))).toHaveLength(3);
  });

  it('makes the record fail its proof when a renewal is changed: the server backs up nothing, other servers trust none of its points', async () => {
    const { fx, src, serverId, newPfx } = await serverAndNewCertificate('tampered');
    expect((await renew(fx, newPfx)).code).toBe(0);
    const name = listTree(fx.vault).map((l) => l.split(':')[0]!).find((n) => n.includes('/renewals/'))!;
    const renewal = JSON.parse(readFileSync(join(fx.vault, name), 'utf8'));
    writeFileSync(join(fx.vault, name), JSON.stringify({ ...renewal, points: renewal.points.slice(1) }));
    expect(items(await fx.az(['servers']))[0]).toMatchObject({ proofValid: false });
    expect(onlyError(await fx.az(['backup', src])).code).toBe('AZB_REGISTRATION_MISMATCH');
    const other = await registeredServer({ hostname: 'reader2', vault: fx.vault, passphrase: 'the reader has a passphrase of its own' });
    const restored = await other.az(['restore', 'latest', '--server', serverId, '--target', join(other.root, 'r')], { env: { AZBACKUP_PASSPHRASE: fx.passphrase } });
    expect(restored.code).not.toBe(0);
    expect(restored.events.filter((e) => e.type === 'warning').map((e) => (e as { code: string }).code)).toContain('AZB_POINT_DAMAGED');
  });

  it('refuses bad inputs, each with its code, and changes nothing', async () => {
    const { fx, newPfx, oldThumbprint } = await serverAndNewCertificate('refuser');
    const weak = writeTestCertificate(fx.root, 'weak', { bits: 1024 }, 'fixture-pfx-password');
    const unuploaded = writeTestCertificate(fx.root, 'unuploaded', {}, 'fixture-pfx-password');
    const before = listTree(fx.vault).filter((l) => !l.includes('/locks/'));
    const cases: [string, Promise<EngineRun>, string][] = [
      ['a certificate without its private key', renew(fx, join(fx.root, 'refuser-next.cer')), 'AZB_CERT_PRIVATE_KEY_REQUIRED'],
      ['a certificate that breaks the rules', renew(fx, weak.pfxPath), 'AZB_CERT_NOT_COMPLIANT'],
      ['a certificate not uploaded to the vault', renew(fx, unuploaded.pfxPath), 'AZB_CERT_NOT_IN_VAULT'],
      ['the current certificate', renew(fx, join(fx.root, 'refuser.pfx')), 'AZB_ARGS_INVALID'],
      ['a wrong passphrase', renew(fx, newPfx, { AZBACKUP_PASSPHRASE: 'not the passphrase of this server' }), 'AZB_PASSPHRASE_WRONG'],
      ['a wrong certificate password', fx.az(['server', 'renew-cert', '--certificate', newPfx], { env: { AZBACKUP_CERT_PASSWORD: 'wrong password' } }), 'AZB_CERT_PASSWORD_WRONG'],
      ['another server', fx.az(['server', 'renew-cert', '--certificate', newPfx, '--server', 'refuser']), 'AZB_USAGE'],
    ];
    for (const [what, run, code] of cases) expect(onlyError(await run).code, what).toBe(code);
    const stranger = await registeredServer({ hostname: 'stranger' }); // registered with another vault only
    const notHere = await stranger.az(['server', 'renew-cert', '--vault', fx.vault, '--certificate', newPfx, '--password-file', join(fx.root, 'pfx.pw')], { env: { AZBACKUP_PASSPHRASE: fx.passphrase } });
    expect(onlyError(notHere).code).toBe('AZB_SERVER_NOT_REGISTERED');
    expect(listTree(fx.vault).filter((l) => !l.includes('/locks/'))).toEqual(before);
    expect(items(await fx.az(['servers']))[0]).toMatchObject({ certificate: oldThumbprint, proofValid: true });
    // Still in use: the old certificate cannot be removed while the server signs with it.
    expect(onlyError(await fx.az(['vault', 'remove-cert', oldThumbprint])).code).toBe('AZB_CERT_IN_USE');
  });
});
