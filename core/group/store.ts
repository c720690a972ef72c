// Where this machine keeps its protection groups (FORMAT.md section 11): <home>/groups/<name>.json, and
// beside it <name>.status.json, what the last runs did per data source (Get-AzBackupProtectionGroup reads
// it without the vault or the passphrase). Owner-only, like the whole home.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, readHomeJson, writePrivate } from '../config/home.js';
import { AzbError, fileError } from '../protocol/errors.js';
import { listPolicies } from '../policy/store.js';
import { forgetStoredPassphrase } from '../policy/stored-passphrase.js';
import type { ProtectionGroup } from './group.js';

/** What the last runs did for one data source. */
export interface DataSourceStatus {
  /** The newest disk point and its data source size (plain bytes of its files). */
  diskPoint?: { id: string; time: string; sizeBytes: number };
  diskPoints?: number;
  /** The newest point copied online, and how many points the online copy holds. */
  onlinePoint?: { id: string; time: string; sizeBytes: number };
  onlinePoints?: number;
  /** The last error of a disk backup or an online copy of this data source; cleared by the next success of the same kind. */
  lastError?: { code: string; message: string; time: string; phase: 'Disk' | 'Online' };
}

export interface GroupStatus {
  dataSources: Record<string, DataSourceStatus>;
  /** When an online copy of the group last succeeded. */
  lastOnlineCopy?: string;
  lastRun?: string;
}

export function groupsDir(): string {
  return join(homeDir(), 'groups');
}

function groupPath(name: string): string {
  return join(groupsDir(), `${name}.json`);
}

function statusPath(name: string): string {
  return join(groupsDir(), `${name}.status.json`);
}

function readJson<T>(path: string, what: string): Promise<T | undefined> {
  return readHomeJson<T>(path, what, 'Remove the file; a group file is made again with New-AzBackupProtectionGroup, a status file by the next run.');
}

export async function readGroup(name: string): Promise<ProtectionGroup | undefined> {
  return readJson<ProtectionGroup>(groupPath(name), 'Protection group file');
}

/** The saved group of that name, or AZB_GROUP_NOT_FOUND. */
export async function requireGroup(name: string): Promise<ProtectionGroup> {
  const g = await readGroup(name);
  if (!g) throw new AzbError('AZB_GROUP_NOT_FOUND', `No protection group named '${name}' on this server.`, { target: name, hint: 'List them with Get-AzBackupProtectionGroup / azbackup group get.' });
  return g;
}

export async function listGroups(): Promise<ProtectionGroup[]> {
  let names: string[];
  try {
    names = await readdir(groupsDir());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, groupsDir(), 'Protection groups folder');
  }
  const out: ProtectionGroup[] = [];
  for (const n of names.filter((x) => /^[A-Za-z0-9][A-Za-z0-9_-]*\.json$/.test(x) && !x.endsWith('.status.json')).sort()) {
    const g = await readGroup(n.slice(0, -'.json'.length));
    if (g) out.push(g);
  }
  return out;
}

export async function saveGroup(g: ProtectionGroup): Promise<void> {
  await writePrivate(groupPath(g.name), JSON.stringify(g, null, 2) + '\n', 'Protection group file');
}

export async function deleteGroup(name: string): Promise<void> {
  for (const path of [groupPath(name), statusPath(name)]) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw fileError(err, path, 'Protection group file'); });
  }
}

export async function readGroupStatus(name: string): Promise<GroupStatus> {
  return (await readJson<GroupStatus>(statusPath(name), 'Protection group status file')) ?? { dataSources: {} };
}

/**
 * Changes a group's status record. Runs of one group do not overlap (the group run takes the backup lock
 * of the disk namespace first), so a read-change-write is enough.
 */
export async function updateGroupStatus(name: string, change: (s: GroupStatus) => void): Promise<GroupStatus> {
  const s = await readGroupStatus(name).catch(() => ({ dataSources: {} } as GroupStatus));
  change(s);
  await writePrivate(statusPath(name), JSON.stringify(s, null, 2) + '\n', 'Protection group status file');
  return s;
}

/** The group, other than `except`, that holds a data source of this name. */
export async function groupHolding(dataSource: string, except?: string): Promise<ProtectionGroup | undefined> {
  return (await listGroups()).find((g) => g.name !== except && g.dataSources.some((d) => d.name === dataSource));
}

/**
 * Forgets the passphrase stored for a vault once neither a policy nor a protection group of this server
 * runs unattended against it any more (both use the same stored passphrase).
 */
export async function forgetPassphraseIfUnused(vault: string | undefined, vaultId: string | undefined): Promise<void> {
  if (!vault || !vaultId) return;
  if ((await listPolicies()).some((p) => p.vault === vault) || (await listGroups()).some((g) => g.vault === vault)) return;
  await forgetStoredPassphrase(vaultId);
}

