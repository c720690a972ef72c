// `restore`: items of a recovery point to their original location or to another folder, as a job.
// Works for another server's points too: give --server and that server's passphrase.
import { isAbsolute, resolve, win32 } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import { runRestore, type ConflictAction } from '../restore/restorer.js';
import type { Command } from './command.js';
import { asJob, openServerFor, type VaultArgs, STORAGE_SECRETS } from './context.js';
import { findPointFor } from './points.js';
import { resolveGroupArgs, type GroupArgs } from './online.js';
import { findRegistration } from '../config/home.js';
import { exportTar, planTarExport } from '../restore/tar-export.js';
import { checkMemberTarget, exportToMember, prepareMemberTarget } from '../restore/to-member.js';
import type { CommandContext } from './command.js';

/** `restore --to-tar -`: the items as a pax tar on stdout (core/restore/tar-export.ts), events on stderr. */
async function restoreToTar(ctx: CommandContext, args: RestoreArgs): Promise<number> {
  const out = ctx.dataOut;
  if (!out) {
    throw new AzbError('AZB_USAGE', '--to-tar - writes the tar to stdout, which carries the events of an rpc request; it is for the CLI (azbackup restore POINT --to-tar -).', { target: 'toTar', hint: 'Run azbackup restore POINT [ITEMS] --to-tar - | tar -x -C DEST.' });
  }
  const other = args.target !== undefined ? '--target' : args.originalLocation ? '--original-location' : args.conflict !== undefined ? '--conflict' : undefined;
  if (other) throw new AzbError('AZB_USAGE', `--to-tar - writes a tar stream, not files; ${other} cannot go with it.`, { target: 'toTar', hint: 'Leave out the options for a restore into folders.' });
  const { vault, repo } = await openServerFor(ctx, args);
  const stats = await asJob(ctx, 'Restore', vault.store.location, repo.serverId, async () => withLock(repo, 'read', 'restore to tar', undefined, async () => {
    await repo.loadIndexForReading((code, message, target) => ctx.sink.warning(code, message, target));
    const point = await findPointFor(repo, args.point, ctx.sink, args.items ?? [], args.dataSource);
    const s = await exportTar(repo, point, args.items ?? [], out, { signal: ctx.signal, sink: ctx.sink });
    return { stats: { ...s, pointId: point.id } };
  }));
  ctx.sink.result('RestoreResult', { ...stats.stats, target: '(tar on stdout)', vault: vault.store.location });
  return ctx.sink.warnings > 0 ? 3 : 0;
}

/**
 * `restore --to-member NAME --target PATH`: the items as a verified tar stream into GNU tar on a member
 * over SSH (core/restore/to-member.ts).
 */
async function restoreToMember(ctx: CommandContext, args: RestoreArgs, memberName: string): Promise<number> {
  const other = args.toTar !== undefined ? '--to-tar' : args.originalLocation ? '--original-location' : args.conflict !== undefined ? '--conflict' : args.ignoreFreeSpace ? '--ignore-free-space' : args.restoreSelinuxLabels ? '--restore-selinux-labels' : undefined;
  if (other) throw new AzbError('AZB_USAGE', `--to-member unpacks the items with tar on the member, which overwrites what is there; ${other} cannot go with it.`, { target: 'toMember', hint: 'Leave it out, or restore into a folder on this server instead.' });
  const target = checkMemberTarget(args.target);
  // The member first: a refused host key or a missing folder fails before the vault is opened.
  const member = await prepareMemberTarget(memberName, target, ctx.signal);
  const { vault, repo } = await openServerFor(ctx, args);
  const stats = await asJob(ctx, 'Restore', vault.store.location, repo.serverId, async () => withLock(repo, 'read', 'restore to member', undefined, async () => {
    await repo.loadIndexForReading((code, message, t) => ctx.sink.warning(code, message, t));
    const point = await findPointFor(repo, args.point, ctx.sink, args.items ?? [], args.dataSource);
    const plan = await planTarExport(repo, point, args.items ?? []);
    const s = await exportToMember(repo, plan, member, target, { signal: ctx.signal, sink: ctx.sink, clearSetuid: args.preserveSetuid !== true });
    return { stats: { ...s, pointId: point.id } };
  }));
  ctx.sink.result('RestoreResult', { ...stats.stats, target, member: member.name, vault: vault.store.location });
  return ctx.sink.warnings > 0 ? 3 : 0;
}

export interface RestoreArgs extends VaultArgs, GroupArgs { point: string; target?: string; originalLocation?: boolean; items?: string[]; conflict?: ConflictAction; preserveSetuid?: boolean; ignoreFreeSpace?: boolean; restoreSelinuxLabels?: boolean; toTar?: '-'; toMember?: string }

export const restoreCommand: Command<RestoreArgs> = {
  name: 'restore',
  argsSchema: 'azbackup:args.restore',
  job: { operation: 'Restore' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, given) {
    const { args } = await resolveGroupArgs(given);
    if (args.target !== undefined && args.originalLocation) {
      throw new AzbError('AZB_USAGE', 'Give either a target folder or --original-location, not both.', { target: 'originalLocation', hint: 'Drop -Target / --target to restore to the original location, or drop -OriginalLocation / --original-location.' });
    }
    if (args.toMember !== undefined) return restoreToMember(ctx, args, args.toMember);
    if (args.toTar !== undefined) return restoreToTar(ctx, args);
    const { vault, repo } = await openServerFor(ctx, args);
    const target = args.target === undefined ? undefined : isAbsolute(args.target) ? args.target : resolve(args.target);
    const stats = await asJob(ctx, 'Restore', vault.store.location, repo.serverId, async () => {
      return withLock(repo, 'read', 'restore', undefined, async (lock) => {
        await repo.loadIndexForReading((code, message, target) => ctx.sink.warning(code, message, target));
        // Another server's points go to their paths on this machine only when that is asked for in so many
        // words: those paths may mean something else here.
        if (target === undefined && !args.originalLocation && args.server !== undefined && (await findRegistration(vault.manifest.vaultId))?.serverId !== repo.serverId) {
          throw new AzbError('AZB_RESTORE_TARGET_REQUIRED', `Recovery points of server ${repo.record.hostname} are not restored to their original location on this machine unless that is asked for.`, {
            target: args.server, hint: 'Give a folder to restore into with -Target / --target, or -OriginalLocation / --original-location to put the items back at their paths on this machine.',
          });
        }
        const point = await findPointFor(repo, args.point, ctx.sink, args.items ?? [], args.dataSource);
        if (point.signedBy) ctx.sink.log(`Recovery point ${point.id.slice(0, 12)}… is signed by ${point.signedBy.subject} (certificate ${point.signedBy.thumbprint}${repo.pin ? ', the one this server registered with' : `, the one ${repo.record.hostname}'s registration record names`}).`);
        // A stream backup (a database dump, say) has a name but no place on disk: it needs a target.
        // A Windows path (C:\\Data, \\\\srv\\share) has a place, on Windows (runRestore says so elsewhere).
        const placeless = point.manifest.sources.filter((s) => !isAbsolute(s) && !win32.isAbsolute(s));
        if (target === undefined && placeless.length > 0) {
          throw new AzbError('AZB_RESTORE_TARGET_REQUIRED', `Recovery point ${point.id.slice(0, 12)}… holds ${placeless.join(', ')}, backed up from a stream, which has no original location.`, {
            target: placeless[0], hint: 'Give a folder to restore it into with -Target / --target.',
          });
        }
        const s = await runRestore(repo, { point, ...(target !== undefined ? { target } : {}), items: args.items ?? [], conflict: args.conflict ?? (target === undefined ? 'OverwriteIfChanged' : 'CreateCopy'), preserveSetuid: args.preserveSetuid === true, ignoreFreeSpace: args.ignoreFreeSpace === true, restoreSelinuxLabels: args.restoreSelinuxLabels === true, signal: ctx.signal, sink: ctx.sink });
        return { stats: { ...s, pointId: point.id } };
      });
    });
    ctx.sink.result('RestoreResult', { ...stats.stats, target: target ?? '(original location)', vault: vault.store.location });
    return ctx.sink.warnings > 0 ? 3 : 0;
  },
};
