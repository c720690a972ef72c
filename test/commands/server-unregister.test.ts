// `server unregister` through the built engine: the server leaves the vault (local registration, signing
// key, policies and their schedules, stored passphrase, cache); its points stay, or with --delete-backup
// are soft-deleted, and another server (or this machine registered anew) with the passphrase lists them
// and brings them back. Bad inputs: not registered, wrong passphrase, a job of this server running.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, startEngine, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const items = (r: EngineRun) => r.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);

/** A registered server with `n` points of a small folder. */
async function serverWithPoints(n: number, hostname = 'leaver'): Promise<{ fx: VaultFixture; src: string; serverId: string }> {
  const fx = await registeredServer({ hostname });
  const src = join(fx.root, 'src');
  mkdirSync(src);
  for (let i = 0; i < n; i++) {
    writeFileSync(join(src, 'a.txt'), `version ${i}`);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
  }
  const serverId = String(items(await fx.az(['servers']))[0]!['serverId']);
  return { fx, src, serverId };
}

const registrationFiles = (fx: VaultFixture) => (existsSync(join(fx.home, 'registrations')) ? readdirSync(join(fx.home, 'registrations')) : []);

describe('server unregister', () => {
  it('says what it would do with --dry-run and changes nothing', async () => {
    const { fx } = await serverWithPoints(2);
    const before = listTree(fx.vault);
    const r = await fx.az(['server', 'unregister', '--delete-backup', '--dry-run']);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'UnregisteredServer')).toMatchObject({ hostname: 'leaver', deleteBackup: true, pointsDeleted: 2, pointsKept: 0, whatIf: true, policiesRemoved: [] });
    expect(listTree(fx.vault)).toEqual(before);
    expect(registrationFiles(fx).filter((f) => f.endsWith('.json') || f.endsWith('.key'))).toHaveLength(2);
    expect((await fx.az(['points'])).code).toBe(0);
  });

  it('forgets the registration, policies, stored passphrase and cache, keeps the points, and a new registration restores them with --server', async () => {
    const { fx, src, serverId } = await serverWithPoints(1);
    const units = join(fx.root, 'units');
    const policyFile = join(fx.root, 'p.json');
    writeFileSync(policyFile, JSON.stringify({ name: 'nightly', fileSpecs: [{ path: src }], schedule: { daysOfWeek: ['Monday'], timesOfDay: ['21:00'], weeklyFrequency: 1 }, retention: { days: 3 } }));
    const schedEnv = { AZBACKUP_UNIT_ROOT: units, AZBACKUP_SCHEDULER: 'cron' };
    expect((await fx.az(['policy', 'set', policyFile, '--store-passphrase'], { env: schedEnv })).code).toBe(0);
    const cron = join(units, 'etc/cron.d/azbackup-policy-nightly');
    expect(existsSync(cron)).toBe(true);
    expect(registrationFiles(fx).some((f) => f.endsWith('.passphrase'))).toBe(true);
    expect(readdirSync(join(fx.root, 'cache')).length).toBeGreaterThan(0);
    const vaultBefore = listTree(fx.vault).filter((l) => !l.includes('/locks/'));

    const r = await fx.az(['server', 'unregister'], { env: schedEnv });
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'UnregisteredServer')).toMatchObject({ serverId, deleteBackup: false, pointsDeleted: 0, pointsKept: 1, whatIf: false, policiesRemoved: ['nightly'] });
    expect(registrationFiles(fx)).toEqual([]);
    expect(existsSync(cron)).toBe(false);
    expect(existsSync(join(fx.home, 'policies', 'nightly.json'))).toBe(false);
    expect(readdirSync(join(fx.root, 'cache'))).toEqual([]);
    // The namespace in the vault is untouched (server.json, key file, points; no lock left behind).
    expect(listTree(fx.vault).filter((l) => !l.includes('/locks/'))).toEqual(vaultBefore);
    expect(onlyError(await fx.az(['points'])).code).toBe('AZB_VAULT_REQUIRED');
    expect(onlyError(await fx.az(['points', '--vault', fx.vault])).code).toBe('AZB_SERVER_NOT_REGISTERED');
    expect(onlyError(await fx.az(['server', 'unregister', '--vault', fx.vault])).code).toBe('AZB_SERVER_NOT_REGISTERED');

    // The same machine registers again (a new namespace); the old points restore with --server.
    const again = await fx.az(['register', '--vault', fx.vault, '--certificate', join(fx.root, 'leaver.pfx'), '--password-file', join(fx.root, 'pfx.pw'), '--hostname', 'leaver2']);
    expect(again.code, again.stdout).toBe(0);
    expect(resultOf(again, 'Registration')['serverId']).not.toBe(serverId);
    expect(items(await fx.az(['points', '--server', serverId]))).toHaveLength(1);
    const out = join(fx.root, 'restored');
    const restored = await fx.az(['restore', 'latest', '--server', serverId, '--target', out]);
    expect(restored.code, restored.stdout).toBe(0);
    expect(readFileSync(join(out, src, 'a.txt'), 'utf8')).toBe('version 0');
  });

  it('with --delete-backup soft-deletes every point; another server with the passphrase lists them and brings them back', async () => {
    const { fx, src, serverId } = await serverWithPoints(2);
    const r = await fx.az(['server', 'unregister', '--delete-backup']);
    expect(r.code, r.stdout).toBe(0);
    const res = resultOf(r, 'UnregisteredServer');
    expect(res).toMatchObject({ deleteBackup: true, pointsDeleted: 2, pointsKept: 0 });
    const purge = Date.parse(String(res['purgeAfter']));
    expect(purge - Date.now()).toBeGreaterThan(13.9 * 86_400_000);

    // A second server of the vault, with the first one's passphrase.
    const other = await registeredServer({ hostname: 'keeper', vault: fx.vault, passphrase: 'the keeper has its own passphrase' });
    const asOwner = { env: { AZBACKUP_PASSPHRASE: fx.passphrase } };
    expect(items(await other.az(['points', '--server', serverId], asOwner))).toHaveLength(0);
    const deleted = items(await other.az(['points', '--server', serverId, '--deleted'], asOwner));
    expect(deleted).toHaveLength(2);
    expect(String(deleted[0]!['deleteReason'])).toMatch(/unregistered with its backups/);
    expect(onlyError(await other.az(['restore', String(deleted[1]!['pointId']), '--server', serverId, '--target', join(other.root, 'x')], asOwner)).code).toBe('AZB_POINT_DELETED');
    expect(onlyError(await other.az(['undelete', String(deleted[1]!['pointId']), '--server', serverId])).code).toBe('AZB_PASSPHRASE_WRONG');
    const back = await other.az(['undelete', String(deleted[1]!['pointId']), '--server', serverId], asOwner);
    expect(back.code, back.stdout).toBe(0);
    const out = join(other.root, 'restored');
    const restored = await other.az(['restore', String(deleted[1]!['pointId']), '--server', serverId, '--target', out], asOwner);
    expect(restored.code, restored.stdout).toBe(0);
    expect(readFileSync(join(out, src, 'a.txt'), 'utf8')).toBe('version 1');
  });

  it('refuses with a wrong passphrase, on a server that is not registered, with --server, and while a job of this server runs; removing nothing', async () => {
    const { fx, serverId } = await serverWithPoints(1);
    const wrong = await fx.az(['server', 'unregister', '--delete-backup'], { env: { AZBACKUP_PASSPHRASE: 'not the passphrase at all' } });
    expect(onlyError(wrong).code).toBe('AZB_PASSPHRASE_WRONG');
    expect(onlyError(await fx.az(['server', 'unregister', '--server', serverId])).code).toBe('AZB_USAGE');

    const stranger = await registeredServer({ hostname: 'elsewhere' }); // registered with another vault
    const notHere = await stranger.az(['server', 'unregister', '--vault', fx.vault], { env: { AZBACKUP_PASSPHRASE: fx.passphrase } });
    expect(onlyError(notHere).code).toBe('AZB_SERVER_NOT_REGISTERED');

    // A stream backup waits for its stdin: a job of this server in progress.
    const live = startEngine(['backup', '--stdin', '--stdin-name', 'dump', '--json'], fx.env);
    live.write(Buffer.from('some data '));
    for (let i = 0; i < 200 && !live.stdout().includes('"Job '); i++) await new Promise((r) => setTimeout(r, 50));
    const busy = await fx.az(['server', 'unregister']);
    const err = onlyError(busy);
    expect(err.code).toBe('AZB_JOB_RUNNING');
    expect(err.hint).toMatch(/Stop-AzBackupJob/);
    live.end();
    expect((await live.done).code).toBe(0);

    // Nothing was removed by the refusals: the server still backs up and lists its two points.
    expect(registrationFiles(fx).filter((f) => f.endsWith('.json') || f.endsWith('.key'))).toHaveLength(2);
    expect(items(await fx.az(['points']))).toHaveLength(2);
  });
});
