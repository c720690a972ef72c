// `online enable` and `online copy` (README "Online protection"): a protection group's points copied to
// an Azure vault through a replicated namespace (core/online/, FORMAT.md section 14). And the group
// arguments of points / ls / restore: a group's disk vault, or with online its Azure copy.
import { findRegistration } from '../config/home.js';
import { validateOnline, type ProtectionGroup } from '../group/group.js';
import { requireGroup, saveGroup } from '../group/store.js';
import { copyGroupOnline } from '../online/copy.js';
import { enableReplica } from '../online/replicate.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import type { Command } from './command.js';
import { isAzureLocation, openServerFor, openVaultFor, shownLocation, signingKeyFor, STORAGE_SECRETS, type VaultArgs } from './context.js';

/** The group document as results show it (the ProtectionGroup kind). */
export function groupData(g: ProtectionGroup): Record<string, unknown> {
  return JSON.parse(JSON.stringify(g)) as Record<string, unknown>;
}

export interface OnlineEnableArgs {
  group: string; vault: string; onlineRetentionDays: number; maxOnlinePoints?: number; maxOnlineSizeGB?: number; onlineTimesOfDay?: string[];
}

export const onlineEnableCommand: Command<OnlineEnableArgs> = {
  name: 'online.enable',
  argsSchema: 'azbackup:args.online.enable',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const group = await requireGroup(args.group);
    // Limits first: a refused retention touches no vault.
    const settings = validateOnline({
      vault: args.vault, vaultId: '', retentionDays: args.onlineRetentionDays, enabled: '',
      ...(args.maxOnlinePoints !== undefined ? { maxPoints: args.maxOnlinePoints } : {}),
      ...(args.maxOnlineSizeGB !== undefined ? { maxSizeGB: args.maxOnlineSizeGB } : {}),
      ...(args.onlineTimesOfDay !== undefined ? { timesOfDay: args.onlineTimesOfDay } : {}),
    });
    if (!isAzureLocation(args.vault)) {
      throw new AzbError('AZB_ARGS_INVALID', `Online protection copies to an Azure Blob vault; '${shownLocation(args.vault)}' is not one.`, { target: 'vault', hint: 'Give the container URL, e.g. https://<account>.blob.core.windows.net/<container>.' });
    }
    const { repo: disk } = await openServerFor(ctx, { vault: group.vault });
    const signingKey = await signingKeyFor(disk);
    const diskRegistration = (await findRegistration(disk.vault.manifest.vaultId))!;
    const azure = await openVaultFor({ vault: args.vault }, ctx.secrets);
    const replica = await enableReplica({ disk, diskRegistration, signingKey, azure, passphrase: ctx.secrets['passphrase']!, sink: ctx.sink, signal: ctx.signal });
    ctx.sink.log(replica.created
      ? `The namespace of ${disk.record.hostname} is replicated into the Azure vault at ${azure.store.location} (same server ID and master key, a new key file).`
      : `The online copy of ${disk.record.hostname} in the Azure vault at ${azure.store.location} is there already and verifies; it is reused${replica.keyWritten ? ' (with a new key file for the current passphrase)' : ''}.`);
    const updated: ProtectionGroup = {
      ...group,
      online: { ...settings, vault: azure.store.location, vaultId: azure.manifest.vaultId, enabled: group.online?.vaultId === azure.manifest.vaultId ? group.online.enabled : new Date().toISOString() },
    };
    await saveGroup(updated);
    ctx.sink.result('ProtectionGroup', groupData(updated));
    return 0;
  },
};

export const onlineCopyCommand: Command<{ group: string; dataSource?: string }> = {
  name: 'online.copy',
  argsSchema: 'azbackup:args.online.copy',
  job: { operation: 'OnlineCopy' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: { result: (_k, d) => (d['dataSources'] as { name: string; status: string; packsCopied: number; code?: string }[]).map((s) => `${s.status.padEnd(9)} ${s.name}  ${s.packsCopied} pack(s)${s.code ? `  ${s.code}` : ''}`).join('\n') },
  async run(ctx, args) {
    const group = await requireGroup(args.group);
    const copy = await copyGroupOnline(ctx, group, args.dataSource ? { dataSources: [args.dataSource] } : {});
    ctx.sink.result('OnlineCopy', { ...copy });
    return ctx.sink.warnings > 0 || copy.dataSources.some((d) => d.status === 'Failed' || d.status === 'Refused') ? ExitCode.CompletedWithWarnings : 0;
  },
};

/** The group arguments of points, ls and restore. */
export interface GroupArgs { group?: string; dataSource?: string; online?: boolean }

/**
 * Vault args for a command given a group: its disk vault, or with `online` its Azure copy (a normal
 * registration of this machine). Without a group the args stay as they are; online or a data source
 * without a group is a usage error, as is a group with another vault or server.
 */
export async function resolveGroupArgs<A extends VaultArgs & GroupArgs>(args: A): Promise<{ args: A; group?: ProtectionGroup }> {
  if (args.group === undefined) {
    if (args.online || args.dataSource !== undefined) {
      throw new AzbError('AZB_USAGE', `${args.online ? '--online' : '--data-source'} needs the protection group: --group / -ProtectionGroup.`, { target: args.online ? 'online' : 'dataSource', hint: 'Name the group whose points to use.' });
    }
    return { args };
  }
  if (args.vault !== undefined || args.server !== undefined) {
    throw new AzbError('AZB_USAGE', `A protection group names its vaults; give --group without ${args.vault !== undefined ? '--vault' : '--server'}.`, { target: args.vault !== undefined ? 'vault' : 'server', hint: 'Leave out --vault / --server, or the group.' });
  }
  const g = await requireGroup(args.group);
  if (args.dataSource !== undefined && !g.dataSources.some((d) => d.name === args.dataSource)) {
    throw new AzbError('AZB_DATASOURCE_NOT_FOUND', `Protection group ${g.name} has no data source '${args.dataSource}'.`, { target: args.dataSource, hint: `List them with Get-AzBackupProtectionGroup -Name ${g.name}.` });
  }
  if (args.online && !g.online) {
    throw new AzbError('AZB_ONLINE_NOT_ENABLED', `Online protection is not enabled for protection group ${g.name}: it has no online points.`, { target: g.name, hint: `Enable it with Enable-AzBackupOnlineProtection -ProtectionGroup ${g.name}.` });
  }
  return { args: { ...args, vault: args.online ? g.online!.vault : g.vault }, group: g };
}
