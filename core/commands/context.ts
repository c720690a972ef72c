// Shared steps of the vault commands: find the vault (argument or this machine's registration), open
// its store, pick the server namespace, open it with the passphrase, and run the work as a job.
import { isAbsolute, resolve, join } from 'node:path';
import { cacheDir, findRegistration, listRegistrations, loadSigningKey, type Registration } from '../config/home.js';
import { finishJob, startJob, type JobStatus } from '../jobs/jobs.js';
import { AzbError, toAzbError } from '../protocol/errors.js';
import { listServers, openServer, type ServerRepo } from '../repo/server.js';
import { openVault, type Vault } from '../repo/vault.js';
import { openLocalFolderStore } from '../storage/local.js';
import { isStorageError, type ObjectStore } from '../storage/storage.js';
import type { CommandContext } from './command.js';

/** Args every vault command accepts. */
export interface VaultArgs { vault?: string; server?: string; cacheDir?: string }

/** Opens the object store at a vault location (a folder path; Azure URLs come with the Azure backend). */
export async function openStore(location: string): Promise<ObjectStore> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new AzbError('AZB_VAULT_LOCATION_UNSUPPORTED', `Vault location '${location.replace(/\?.*$/, '?…')}' is not a folder; Azure Blob vaults are not available in this engine yet.`, {
      target: location.replace(/\?.*$/, ''), hint: 'Use a local or mounted folder as the vault.',
    });
  }
  const path = isAbsolute(location) ? location : resolve(location);
  try {
    return await openLocalFolderStore(path);
  } catch (err) {
    if (isStorageError(err, 'unavailable')) {
      throw new AzbError('AZB_VAULT_NOT_FOUND', `No vault folder at ${path}.`, { target: path, hint: "Check the path, or create a vault with 'azbackup vault create'." });
    }
    throw err;
  }
}

/** The vault location to use: the argument, else the only vault this machine is registered with. */
export async function vaultLocation(args: VaultArgs): Promise<string> {
  if (args.vault) return args.vault;
  const regs = await listRegistrations();
  if (regs.length === 1) return regs[0]!.vault;
  throw new AzbError('AZB_VAULT_REQUIRED', regs.length === 0
    ? 'No vault given, and this server is registered with none.'
    : `No vault given, and this server is registered with ${regs.length} vaults (${regs.map((r) => r.vault).join(', ')}).`, {
    hint: 'Give the vault with -Vault / --vault.',
  });
}

/** Opens the vault named by the args. */
export async function openVaultFor(args: VaultArgs): Promise<Vault> {
  return openVault(await openStore(await vaultLocation(args)));
}

/** This machine's registration with a vault, or AZB_SERVER_NOT_REGISTERED. */
export async function requireRegistration(vault: Vault): Promise<Registration> {
  const reg = await findRegistration(vault.manifest.vaultId);
  if (!reg) {
    throw new AzbError('AZB_SERVER_NOT_REGISTERED', `This server is not registered with the vault at ${vault.store.location}.`, {
      target: vault.store.location, hint: "Register it with Register-AzBackupServer / 'azbackup register'.",
    });
  }
  return reg;
}

/** The server namespace to work on: `server` (ID, ID prefix or hostname) or this machine's own. */
export async function serverIdFor(vault: Vault, server: string | undefined): Promise<string> {
  if (!server) return (await requireRegistration(vault)).serverId;
  const servers = await listServers(vault);
  const matches = servers.filter((s) => s.serverId === server || (server.length >= 8 && s.serverId.startsWith(server)) || s.hostname.toLowerCase() === server.toLowerCase());
  if (matches.length === 1) return matches[0]!.serverId;
  if (matches.length === 0) throw new AzbError('AZB_SERVER_NOT_FOUND', `No server '${server}' is registered in the vault at ${vault.store.location}.`, { target: server, hint: 'List servers with Get-AzBackupServer / azbackup servers.' });
  throw new AzbError('AZB_SERVER_AMBIGUOUS', `'${server}' matches ${matches.length} servers.`, { target: server, hint: 'Give the server ID instead of the host name.' });
}

/** Opens a server namespace with the passphrase from the request's secrets. */
export async function openServerFor(ctx: CommandContext, args: VaultArgs): Promise<{ vault: Vault; repo: ServerRepo }> {
  const vault = await openVaultFor(args);
  const serverId = await serverIdFor(vault, args.server);
  const repo = await openServer(vault, serverId, ctx.secrets['passphrase']);
  return { vault, repo };
}

/** The cache folder of one server namespace. */
export function serverCacheDir(args: VaultArgs, repo: ServerRepo): string {
  return join(cacheDir(args.cacheDir), `${repo.vault.manifest.vaultId}-${repo.serverId.slice(0, 16)}`);
}

/** The key that signs recovery points: from this machine's registration (backups run only on the registered server). */
export async function signingKeyFor(repo: ServerRepo): Promise<import('node:crypto').KeyObject> {
  const reg = await findRegistration(repo.vault.manifest.vaultId);
  if (!reg || reg.serverId !== repo.serverId) {
    throw new AzbError('AZB_SERVER_NOT_REGISTERED', `This machine is not registered as server ${repo.record.hostname} of this vault; only that server can back up into its namespace.`, {
      hint: 'Back up from the registered server, or register this one.',
    });
  }
  return loadSigningKey(reg, repo.masterKey);
}

/** Runs `work` as a recorded job; the job ends Completed, CompletedWithWarnings, Failed or Cancelled. */
export async function asJob<T>(ctx: CommandContext, operation: string, vault: string, serverId: string | null, work: (jobId: string) => Promise<T>): Promise<T> {
  const jobId = startJob(operation, vault, serverId);
  ctx.sink.log(`Job ${jobId} started: ${operation}`);
  const warningsBefore = ctx.sink.warnings;
  try {
    const result = await work(jobId);
    const stats = (result && typeof result === 'object' ? (result as { stats?: Record<string, unknown> }).stats ?? null : null);
    const status: JobStatus = ctx.sink.warnings > warningsBefore ? 'CompletedWithWarnings' : 'Completed';
    finishJob(jobId, status, stats, [], ctx.sink.warnings - warningsBefore);
    return result;
  } catch (err) {
    const e = toAzbError(err);
    finishJob(jobId, e.code === 'AZB_CANCELLED' ? 'Cancelled' : 'Failed', null, [{ code: e.code, message: e.message }], ctx.sink.warnings - warningsBefore);
    throw err;
  }
}
