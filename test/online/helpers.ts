// A protection server for the online protection tests: a registered server on a folder "disk" vault, a
// protection group with a files and a stream data source, and an Azure vault in Azurite behind the fault
// proxy. Group points are the engine's own backups, signed again by the test with the group fields that
// a group run writes (protectionGroup, dataSource) and, where a test needs it, another time.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openStore } from '../../core/commands/context.js';
import { findRegistration, loadSigningKey } from '../../core/config/home.js';
import { makeDataSource, validateShortTerm, type ProtectionGroup } from '../../core/group/group.js';
import { readGroupStatus, saveGroup, type GroupStatus } from '../../core/group/store.js';
import { openServer } from '../../core/repo/server.js';
import { openVault } from '../../core/repo/vault.js';
import type { AzuriteServer } from '../helpers/azurite.js';
import { resultOf } from '../helpers/engine.js';
import type { FaultProxy } from '../helpers/fault-proxy.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

export const FILES_DS = 'web01:/srv/www';
export const STREAM_DS = 'db01:db.sql';

export interface ProtectionServer { fx: VaultFixture; azure: string; group: string }

/** A registered server, its group pg1 (two data sources) and an empty Azure vault; with `uploadCert` the server's certificate is uploaded there. */
export async function protectionServer(azurite: AzuriteServer, proxy: FaultProxy, o: { uploadCert?: boolean } = {}): Promise<ProtectionServer> {
  const fx = await registeredServer();
  // The engine talks to Azurite through the fault proxy; short retries keep failure tests quick.
  Object.assign(fx.env, {
    AZBACKUP_STORAGE_CONNECTION_STRING: azurite.connectionString.replace(azurite.blobEndpoint, proxy.endpoint),
    AZBACKUP_AZURE_TRY_TIMEOUT_MS: '1500', AZBACKUP_AZURE_RETRY_DELAY_MS: '20', AZBACKUP_AZURE_MAX_TRIES: '3',
  });
  const azure = `${proxy.endpoint}/online-${randomBytes(6).toString('hex')}`;
  const made = await fx.az(['vault', 'create', azure]);
  expect(made.code, made.stdout).toBe(0);
  if (o.uploadCert !== false) {
    const added = await fx.az(['vault', 'add-cert', join(fx.root, 'srv01.cer'), '--vault', azure]);
    expect(added.code, added.stdout).toBe(0);
  }
  process.env['AZBACKUP_HOME'] = fx.home;
  const now = new Date();
  const group: ProtectionGroup = {
    name: 'pg1', vault: fx.vault, state: 'Active', created: now.toISOString(), shortTerm: validateShortTerm({ retentionRangeDays: 5 }),
    dataSources: [makeDataSource('web01', { path: '/srv/www' }, now), makeDataSource('db01', { command: 'pg_dump', arguments: ['shop'], streamName: 'db.sql' }, now)],
  };
  await saveGroup(group);
  return { fx, azure, group: group.name };
}

/**
 * A disk point of a data source: the engine backs up `src` (or `stdin` as db.sql), and the test signs it
 * again with the server's key, carrying the group fields (and `time` when given), as a group run writes it.
 */
export async function groupPoint(ps: ProtectionServer, dataSource: string, what: { src: string } | { stdin: Buffer }, time?: string): Promise<string> {
  const { fx } = ps;
  // The disk vault by name: with online protection enabled this server has two registrations.
  const run = 'src' in what ? await fx.az(['backup', what.src, '--vault', fx.vault]) : await fx.az(['backup', '--stdin', '--stdin-name', 'db.sql', '--vault', fx.vault], { stdin: what.stdin });
  expect(run.code, run.stdout.slice(-800)).toBe(0);
  const plainId = String(resultOf(run, 'RecoveryPoint')['pointId']);
  process.env['AZBACKUP_HOME'] = fx.home;
  const vault = await openVault(await openStore(fx.vault));
  try {
    const reg = (await findRegistration(vault.manifest.vaultId))!;
    const repo = await openServer(vault, reg.serverId, fx.passphrase, { pin: reg });
    const key = await loadSigningKey(reg, repo.masterKey);
    const plain = await repo.readPoint(plainId);
    const id = await repo.savePoint({ ...plain.manifest, protectionGroup: ps.group, dataSource, ...(time ? { time } : {}) }, key);
    // Only the group's point stays, as after a group run.
    await vault.store.delete(repo.pointObject(plainId));
    await repo.pointRemoved(plainId);
    return id;
  } finally {
    await vault.store.close();
  }
}

export async function groupStatus(ps: ProtectionServer): Promise<GroupStatus> {
  process.env['AZBACKUP_HOME'] = ps.fx.home;
  return readGroupStatus(ps.group);
}

export function groupFile(ps: ProtectionServer): ProtectionGroup {
  return JSON.parse(readFileSync(join(ps.fx.home, 'groups', `${ps.group}.json`), 'utf8')) as ProtectionGroup;
}
