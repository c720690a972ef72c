// What an attacker with write access to a local-folder vault does in the security tests: open a
// server namespace in-process (knowing its passphrase), rewrite plain objects, and sign with a key.
import { createHash, createSign, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCertificateFile, thumbprintOf } from '../../core/cert/load.js';
import { openVault, type Vault } from '../../core/repo/vault.js';
import { openServer, type ServerRepo } from '../../core/repo/server.js';
import type { PointManifest } from '../../core/repo/points.js';
import { openLocalFolderStore } from '../../core/storage/local.js';
import type { VaultFixture } from '../helpers/vault-fixture.js';

process.env['AZBACKUP_TEST_KDF'] = 'fast';

/** The registration file the engine keeps for this fixture (home/registrations/<vaultId>.json). */
export function registrationOf(fx: VaultFixture): { path: string; reg: Record<string, unknown> & { vaultId: string; serverId: string; certificate: string } } {
  const dir = join(fx.home, 'registrations');
  const name = readdirSync(dir).find((n) => n.endsWith('.json'))!;
  const path = join(dir, name);
  return { path, reg: JSON.parse(readFileSync(path, 'utf8')) };
}

/** The fixture server's certificate and private key (made by the fixture with `cert new`). */
export async function keyOf(fx: VaultFixture, hostname: string): Promise<{ thumbprint: string; privateKey: KeyObject; der: Buffer }> {
  const c = await loadCertificateFile(join(fx.root, `${hostname}.pfx`), 'fixture-pfx-password');
  return { thumbprint: thumbprintOf(c.x509), privateKey: c.privateKey!, der: c.x509.raw };
}

export async function openVaultAt(path: string): Promise<Vault> {
  return openVault(await openLocalFolderStore(path));
}

/** Opens a namespace the way anyone who knows its passphrase can (no local registration involved). */
export async function openAsAnyone(vaultPath: string, serverId: string, passphrase: string): Promise<ServerRepo> {
  return openServer(await openVaultAt(vaultPath), serverId, passphrase);
}

/** The manifest of a point, read without any signature check (the attacker has the seal key). */
export async function manifestOf(repo: ServerRepo, pointId: string): Promise<PointManifest> {
  const env = await repo.readSealed<{ manifest: string }>('point', repo.pointObject(pointId), pointId);
  return JSON.parse(env.manifest) as PointManifest;
}

/** Writes a point into the namespace signed with `privateKey`, naming certificate `thumbprint` in its envelope. */
export async function writeSignedPoint(repo: ServerRepo, manifest: PointManifest, privateKey: KeyObject, thumbprint: string): Promise<string> {
  const text = JSON.stringify(manifest);
  const envelope = { manifest: text, signature: createSign('sha256').update(Buffer.from(text, 'utf8')).sign(privateKey, 'base64'), certificate: thumbprint };
  return repo.writeSealed('point', envelope, (i) => repo.pointObject(i));
}

/** Rewrites servers/<id>/server.json (a plain object: no key is needed to change it). */
export function editServerRecord(vaultPath: string, serverId: string, edit: (rec: Record<string, unknown> & { proof: { challenge: string; signature: string } }) => void): void {
  const path = join(vaultPath, 'servers', serverId, 'server.json');
  const rec = JSON.parse(readFileSync(path, 'utf8'));
  edit(rec);
  rmSync(path, { force: true });
  writeFileSync(path, JSON.stringify(rec, null, 2) + '\n');
}

/** A registration proof over a record, as FORMAT.md section 3 defines it, signed with any key. */
export function proofSignature(vaultId: string, r: { serverId: string; hostname: string; created: string; certificate: string }, challenge: string, privateKey: KeyObject): string {
  const msg = `azbackup-register-v1\n${vaultId}\n${r.serverId}\n${r.hostname}\n${r.created}\n${r.certificate}\n${challenge}`;
  return createSign('sha256').update(Buffer.from(msg, 'utf8')).sign(privateKey, 'base64');
}

/** Replaces an object of a local-folder vault (the store itself never overwrites; an attacker can). */
export function replaceObject(vaultPath: string, name: string, data: Buffer): void {
  const path = join(vaultPath, name);
  rmSync(path, { force: true });
  writeFileSync(path, data);
}

export const sha1Upper = (b: Buffer) => createHash('sha1').update(b).digest('hex').toUpperCase();

type Run = Awaited<ReturnType<VaultFixture['az']>>;
export const warningsOf = (run: Run) => run.events.filter((e) => e.type === 'warning') as unknown as { code: string; message: string; target?: string }[];
export const itemsOf = (run: Run) => run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);
export const logsOf = (run: Run) => run.events.filter((e) => e.type === 'log').map((e) => String((e as unknown as { message: string }).message));
