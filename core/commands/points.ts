// `points`, `ls`, `point remove`, `point undelete`: browse recovery points and the items in them, soft-delete
// a point and bring it back.
import { hostname, userInfo } from 'node:os';
import { compileGlob } from '../fs/glob.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { withLock } from '../repo/locks.js';
import { deleteStateObjects, purgeAfter, readPointStates, setPointState, SOFT_DELETE_DAYS, type PointState } from '../repo/point-states.js';
import { vaultError } from '../repo/storage-errors.js';
import { isUnreadablePoint, type RecoveryPoint, type ServerRepo } from '../repo/server.js';
import { displayBytes, displayName, nodeTargetBytes, type TreeNode } from '../repo/tree.js';
import { resolveItem, splitPointPath } from '../restore/restorer.js';
import { rootNameOf } from '../fs/winpath.js';
import { isTreeDamaged, readTree } from '../restore/tree-reader.js';
import type { Command } from './command.js';
import { asJob, openServerFor, type VaultArgs, STORAGE_SECRETS } from './context.js';
import { resolveGroupArgs, type GroupArgs } from './online.js';

/** The flat form of a recovery point in events (binds by name to the next cmdlet); with its soft-delete state. */
export function pointData(vault: string, p: RecoveryPoint, state?: PointState): Record<string, unknown> {
  const s = p.manifest.stats;
  const st: Record<string, unknown> = state?.state === 'deleted'
    ? { deletedAt: state.time, purgeAfter: purgeAfter(state).toISOString(), deleteReason: state.reason }
    : state?.state === 'restored' ? { restoredAt: state.time } : {};
  return {
    pointId: p.id, serverId: p.manifest.serverId, hostname: p.manifest.hostname, time: p.manifest.time, sources: p.manifest.sources, tags: p.manifest.tags,
    filesNew: s.filesNew, filesChanged: s.filesChanged, filesUnchanged: s.filesUnchanged, filesSkipped: s.filesSkipped, dirs: s.dirs,
    bytesRead: s.bytesRead, bytesAdded: s.bytesAdded, bytesStored: s.bytesStored, blobsAdded: s.blobsAdded, durationMs: s.durationMs, vault,
    ...(p.manifest.policy ? { policy: p.manifest.policy } : {}),
    ...(p.manifest.protectionGroup ? { protectionGroup: p.manifest.protectionGroup } : {}), ...(p.manifest.dataSource ? { dataSource: p.manifest.dataSource } : {}),
    ...(p.manifest.retainUntil ? { retainUntil: p.manifest.retainUntil } : {}),
    ...(p.manifest.reads ? { snapshotMode: p.manifest.snapshotMode ?? 'Auto', reads: p.manifest.reads } : {}), ...st,
  };
}

/** A warning callback that sends to the sink. */
function warnTo(sink: EventSink) {
  return (code: string, message: string, target: string) => sink.warning(code, message, target);
}

/** The refusal to use a soft-deleted point as it is. */
function deletedError(repo: ServerRepo, state: PointState): AzbError {
  const short = state.pointId.slice(0, 12);
  return new AzbError('AZB_POINT_DELETED', `Recovery point ${short}… was deleted on ${state.time} (${state.reason}). It can be brought back until ${purgeAfter(state).toISOString()}, but not used while it is deleted.`, {
    target: repo.pointObject(state.pointId), hint: `Bring it back first: Restore-AzRecoveryPoint -PointId ${short} (CLI: azbackup undelete ${short}).`,
  });
}

/** The components of a point's source as its root node names it (a Windows point records C:\\Data as C:/Data). */
function sourceParts(p: RecoveryPoint, source: string): Buffer[] {
  if (p.manifest.pathStyle === 'windows') { try { return splitPointPath(rootNameOf(source, 'win32')); } catch { /* as written */ } }
  return splitPointPath(source);
}

/** Whether a point holds this path: one of its sources is the path or a folder above it. */
function pointHolds(p: RecoveryPoint, path: string): boolean {
  const want = splitPointPath(path);
  return p.manifest.sources.some((s) => { const sp = sourceParts(p, s); return sp.length <= want.length && sp.every((c, i) => c.equals(want[i]!)); });
}

/**
 * Finds a live point by full ID, unique ID prefix (≥ 6 hex digits) or "latest". A soft-deleted point is
 * refused (AZB_POINT_DELETED): it must be brought back before it is used. "latest" with `scope` (the
 * paths a restore or listing is about) is the newest point that holds all of them, as restic's
 * `latest --path` is: a backup of /srv alone does not hide the last one that held /etc.
 */
export async function findPoint(repo: ServerRepo, ref: string, sink?: EventSink, scope: readonly string[] = []): Promise<RecoveryPoint> {
  if (ref === 'latest') {
    // The newest point this server wrote must still be there, else an older one would pass as latest.
    await repo.assertNewestPointPresent();
    // Readers (given a sink) take the newest point that can be read and name the damaged ones.
    const { live } = await repo.readPointsByState(sink ? (id, err) => sink.warning('AZB_POINT_DAMAGED', `Recovery point ${id} cannot be read and is passed over for 'latest': ${err.message}`, repo.pointObject(id)) : undefined, sink ? warnTo(sink) : undefined);
    const candidates = scope.length === 0 ? live : live.filter((p) => scope.every((path) => pointHolds(p, path)));
    const last = candidates[candidates.length - 1];
    if (!last) {
      if (live.length === 0) throw new AzbError('AZB_POINT_NOT_FOUND', `Server ${repo.record.hostname} has no recovery point yet.`, { hint: 'Run a backup first.' });
      throw new AzbError('AZB_POINT_NOT_FOUND', `No recovery point of server ${repo.record.hostname} holds ${scope.join(', ')}.`, {
        target: scope[0], hint: 'List the points that hold a path with Get-AzRecoveryPoint -Path / azbackup points --path.',
      });
    }
    if (scope.length > 0 && last !== live[live.length - 1]) sink?.log(`'latest' for ${scope.join(', ')} is recovery point ${last.id.slice(0, 12)}… of ${last.manifest.time}: newer points do not hold it.`);
    return last;
  }
  const id = await pointIdOf(repo, ref);
  const state = (await readPointStates(repo, sink ? warnTo(sink) : undefined)).states.get(id);
  if (state?.state === 'deleted') throw deletedError(repo, state);
  return repo.readPoint(id);
}

/**
 * findPoint within one data source's series (the group arguments of ls and restore): 'latest' is the
 * newest live point of that data source; a point named by ID must belong to it.
 */
export async function findPointFor(repo: ServerRepo, ref: string, sink: EventSink, scope: readonly string[], dataSource: string | undefined): Promise<RecoveryPoint> {
  if (dataSource === undefined) return findPoint(repo, ref, sink, scope);
  if (ref !== 'latest') {
    const p = await findPoint(repo, ref, sink, scope);
    if (p.manifest.dataSource !== dataSource) {
      throw new AzbError('AZB_POINT_NOT_FOUND', `Recovery point ${p.id.slice(0, 12)}… is not a point of data source ${dataSource}.`, { target: ref, hint: 'List the data source\'s points with Get-AzRecoveryPoint -ProtectionGroup G -DataSource D.' });
    }
    return p;
  }
  await repo.assertNewestPointPresent();
  const { live } = await repo.readPointsByState((id, err) => sink.warning('AZB_POINT_DAMAGED', `Recovery point ${id} cannot be read and is passed over for 'latest': ${err.message}`, repo.pointObject(id)), warnTo(sink));
  const own = live.filter((p) => p.manifest.dataSource === dataSource && scope.every((path) => pointHolds(p, path)));
  const last = own[own.length - 1];
  if (!last) throw new AzbError('AZB_POINT_NOT_FOUND', `No recovery point of data source ${dataSource} in the vault at ${repo.location}${scope.length > 0 ? ` holds ${scope.join(', ')}` : ''}.`, { target: dataSource, hint: 'Run the group (or the online copy) first.' });
  return last;
}

/** The full ID of the one point whose ID starts with `ref` (≥ 6 hex digits), without reading it; soft-deleted points included. */
async function pointIdOf(repo: ServerRepo, ref: string): Promise<string> {
  const ids = await repo.listPointIds();
  const matches = /^[0-9a-f]{6,64}$/.test(ref) ? ids.filter((id) => id.startsWith(ref)) : [];
  if (matches.length !== 1) {
    throw new AzbError('AZB_POINT_NOT_FOUND', matches.length > 1 ? `'${ref}' matches ${matches.length} recovery points.` : `No recovery point '${ref}' for server ${repo.record.hostname}.`, {
      target: ref, hint: "List points with Get-AzRecoveryPoint / 'azbackup points' (-Deleted / --deleted for soft-deleted ones); give more digits of the ID or 'latest'.",
    });
  }
  return matches[0]!;
}

export interface PointsArgs extends VaultArgs, GroupArgs { path?: string; after?: string; before?: string; tag?: string; deleted?: boolean }

export const pointsCommand: Command<PointsArgs> = {
  name: 'points',
  argsSchema: 'azbackup:args.points',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: { item: (_k, d) => `${String(d['pointId']).slice(0, 12)}  ${String(d['time'])}  ${String(d['hostname']).padEnd(16)} ${(d['sources'] as string[]).join(', ')}` },
  async run(ctx, given) {
    const { args, group } = await resolveGroupArgs(given);
    const { repo } = await openServerFor(ctx, args);
    const after = args.after ? Date.parse(args.after) : undefined;
    const before = args.before ? Date.parse(args.before) : undefined;
    if ((args.after && Number.isNaN(after)) || (args.before && Number.isNaN(before))) throw new AzbError('AZB_ARGS_INVALID', 'After/Before must be dates (ISO 8601).', { target: args.after ? 'after' : 'before' });
    const want = args.path ? splitPointPath(args.path) : undefined;
    // A damaged point is named, not allowed to hide the others: Remove-AzRecoveryPoint can remove it by ID.
    const byState = await repo.readPointsByState((id, err) => ctx.sink.warning('AZB_POINT_DAMAGED', `Recovery point ${id} cannot be read and is not listed: ${err.message}`, repo.pointObject(id)), warnTo(ctx.sink));
    // --deleted lists the soft-deleted points only: those that can still be brought back.
    const points = args.deleted ? byState.deleted : byState.live;
    await repo.warnIfNewestPointMissing((code, message, target) => ctx.sink.warning(code, message, target));
    for (const p of points) {
      const t = Date.parse(p.manifest.time);
      if (after !== undefined && t < after) continue;
      if (before !== undefined && t > before) continue;
      if (args.tag && !p.manifest.tags.includes(args.tag)) continue;
      // A group's points: those of its data sources (or of the one named).
      if (group && (args.dataSource !== undefined ? p.manifest.dataSource !== args.dataSource : !group.dataSources.some((d) => d.name === p.manifest.dataSource))) continue;
      if (want && !p.manifest.sources.some((s) => { const sp = sourceParts(p, s); const n = Math.min(sp.length, want.length); return sp.slice(0, n).every((c, i) => c.equals(want[i]!)); })) continue;
      ctx.sink.item('RecoveryPoint', pointData(repo.location, p, byState.states.get(p.id)));
    }
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

export interface LsArgs extends VaultArgs, GroupArgs { point: string; path?: string; recurse?: boolean; filter?: string }

function itemData(vault: string, point: RecoveryPoint, path: string, n: TreeNode): Record<string, unknown> {
  const item: Record<string, unknown> = {
    pointId: point.id, serverId: point.manifest.serverId, vault, path, name: displayName(n), type: n.type,
    size: n.size ?? 0, mode: n.mode, modified: new Date(Number(BigInt(n.mtimeNs) / 1_000_000n)).toISOString(),
  };
  if (n.type === 'symlink') item['target'] = displayBytes(nodeTargetBytes(n));
  return item;
}

export const lsCommand: Command<LsArgs> = {
  name: 'ls',
  argsSchema: 'azbackup:args.ls',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: { item: (_k, d) => `${d['type'] === 'dir' ? 'd' : d['type'] === 'symlink' ? 'l' : '-'} ${String(d['size']).padStart(12)}  ${String(d['modified']).slice(0, 19)}  ${String(d['path'])}` },
  async run(ctx, given) {
    const { args } = await resolveGroupArgs(given);
    const { repo } = await openServerFor(ctx, args);
    await repo.loadIndexForReading((code, message, target) => ctx.sink.warning(code, message, target));
    const point = await findPointFor(repo, args.point, ctx.sink, args.path && splitPointPath(args.path).length > 0 ? [args.path] : [], args.dataSource);
    // The backup's glob dialect (core/fs/glob.ts): '*.lock' finds /etc/.pwd.lock at any depth.
    const matches = args.filter ? compileGlob(args.filter) : undefined;
    const emit = (path: string, n: TreeNode) => {
      if (matches && !matches(path)) return;
      ctx.sink.item('RecoverableItem', itemData(repo.location, point, path, n));
    };
    const recurse = args.recurse === true || args.filter !== undefined;
    // A folder whose tree cannot be read is named in a warning; the rest is listed.
    const children = async (path: string, treeId: string | undefined): Promise<TreeNode[]> => {
      if (!treeId) return [];
      try {
        return await readTree(repo, treeId);
      } catch (err) {
        if (!isTreeDamaged(err)) throw err;
        ctx.sink.warning('AZB_TREE_DAMAGED', `The content of ${path} cannot be listed: its ${err.message}.`, path);
        return [];
      }
    };
    const walk = async (path: string, nodes: TreeNode[]): Promise<void> => {
      for (const n of nodes) {
        const p = path === '' ? displayName(n) : `${path}/${displayName(n)}`;
        emit(p, n);
        if (recurse && n.type === 'dir') await walk(p, await children(p, n.subtree));
      }
    };
    if (!args.path || splitPointPath(args.path).length === 0) {
      await walk('', await children(`recovery point ${point.id.slice(0, 12)}…`, point.manifest.tree));
    } else {
      let found;
      try {
        found = await resolveItem(repo, point, args.path);
      } catch (err) {
        if (!isTreeDamaged(err)) throw err;
        ctx.sink.warning('AZB_TREE_DAMAGED', `${args.path} cannot be listed: the folder ${err.message}`, err.target ?? args.path);
        return ExitCode.CompletedWithWarnings;
      }
      const base = '/' + found.components.map(displayBytes).join('/');
      if (found.node.type === 'dir') await walk(base, await children(base, found.node.subtree)); else emit(base, found.node);
    }
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

export interface PointRemoveArgs extends VaultArgs { point: string; permanent?: boolean }

/** Who changes a point's state, for its state object (no secret: a user and host name). */
export function actor(): string {
  let user = 'unknown user';
  try { user = userInfo().username; } catch { /* no passwd entry */ }
  return `${user} on ${hostname()}`;
}

export const pointRemoveCommand: Command<PointRemoveArgs> = {
  name: 'point.remove',
  argsSchema: 'azbackup:args.point.remove',
  job: { operation: 'RemovePoint' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const { repo } = await openServerFor(ctx, args);
    const removed = await asJob(ctx, 'RemovePoint', repo.location, repo.serverId, async () => {
      return withLock(repo, 'exclusive', 'remove recovery point', undefined, async (lock) => {
        // By ID a point is removed even when it cannot be read: a damaged point must not stay forever,
        // blocking every prune (which needs to read all points).
        const id = args.point === 'latest' ? (await findPoint(repo, 'latest', ctx.sink)).id : await pointIdOf(repo, args.point);
        let info: { time: string; hostname: string; damaged?: true };
        try {
          const point = await repo.readPoint(id);
          info = { time: point.manifest.time, hostname: point.manifest.hostname };
        } catch (err) {
          if (!isUnreadablePoint(err)) throw err;
          ctx.sink.warning('AZB_POINT_DAMAGED', `Recovery point ${id.slice(0, 12)}… cannot be read (${err.message}); it is removed at once, without soft delete: nothing of it could be restored, and prune cannot run while it is there.`, repo.pointObject(id));
          const written = (await repo.vault.store.stat(repo.pointObject(id)).catch(() => undefined))?.modified;
          info = { time: new Date(written ?? Date.now()).toISOString(), hostname: repo.record.hostname, damaged: true };
        }
        const state = (await readPointStates(repo, warnTo(ctx.sink))).states.get(id);
        if (args.permanent || info.damaged) {
          await lock.assertHeld();
          try {
            await repo.vault.store.delete(repo.pointObject(id));
          } catch (err) {
            throw vaultError(err, repo.location, `recovery point ${id.slice(0, 12)}`);
          }
          await deleteStateObjects(repo, id, state?.objects ?? []);
          await repo.pointRemoved(id);
          ctx.sink.log('The point is removed for good. Its data stays in the vault until prune removes what no other point uses.');
          return { pointId: id, ...info, permanent: true as const, stats: { pointId: id, permanent: true } };
        }
        let deleted = state;
        if (state?.state === 'deleted') {
          ctx.sink.log(`Recovery point ${id.slice(0, 12)}… was deleted already, on ${state.time}; its ${SOFT_DELETE_DAYS} days are not restarted.`);
        } else {
          deleted = await setPointState(repo, id, 'deleted', `removed by ${actor()}`, state, lock);
        }
        // Also when it was deleted already: a removal cut short before this step, or made on another
        // machine, left it as this server's newest point.
        await repo.pointRemoved(id);
        const until = purgeAfter(deleted!).toISOString();
        ctx.sink.log(`Recovery point ${id.slice(0, 12)}… is deleted; it can be brought back with Restore-AzRecoveryPoint until ${until}. Prune keeps its data until then.`);
        return { pointId: id, ...info, purgeAfter: until, stats: { pointId: id, purgeAfter: until } };
      });
    });
    const { stats: _stats, ...out } = removed;
    ctx.sink.result('RemovedRecoveryPoint', { ...out, vault: repo.location });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};

export const pointUndeleteCommand: Command<VaultArgs & { point: string }> = {
  name: 'point.undelete',
  argsSchema: 'azbackup:args.point.undelete',
  job: { operation: 'RestorePoint' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const { repo } = await openServerFor(ctx, args);
    const restored = await asJob(ctx, 'RestorePoint', repo.location, repo.serverId, async () => {
      // Exclusive: a prune must not purge the point between the check and the new state.
      return withLock(repo, 'exclusive', 'bring back recovery point', undefined, async (lock) => {
        const id = await pointIdOf(repo, args.point);
        const point = await repo.readPoint(id);
        let state = (await readPointStates(repo, warnTo(ctx.sink))).states.get(id);
        if (state === undefined) {
          ctx.sink.log(`Recovery point ${id.slice(0, 12)}… is not deleted; nothing to bring back.`);
        } else {
          // A deleted point comes back; one whose record is damaged gets a readable one.
          if (state.state !== 'restored') state = await setPointState(repo, id, 'restored', `brought back by ${actor()}`, state, lock);
          // Also when it was brought back already: an undelete cut short before this step.
          await repo.pointRestored(point);
          ctx.sink.log(`Recovery point ${id.slice(0, 12)}… of ${point.manifest.time} is back. Retention will not expire it again; remove it by ID when it is no longer needed.`);
        }
        return { point, state, stats: { pointId: id } };
      });
    });
    ctx.sink.result('RecoveryPoint', pointData(repo.location, restored.point, restored.state));
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
