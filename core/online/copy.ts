// Online copy (README "Online protection", FORMAT.md section 14): the newest disk point of each data
// source of a group that the Azure copy lacks goes to the replicated namespace byte for byte, in the
// backup's write order — packs, then an index file naming them, then the point — so an interruption at
// any moment leaves no point whose data is missing, and the next copy resumes (packs present are skipped).
import { createHash } from 'node:crypto';
import type { CommandContext } from '../commands/command.js';
import { asJob, openServerFor } from '../commands/context.js';
import { findRegistration } from '../config/home.js';
import { bytesPerGB, type ProtectionGroup } from '../group/group.js';
import { updateGroupStatus } from '../group/store.js';
import { AzbError, toAzbError } from '../protocol/errors.js';
import { withLock, type Lock } from '../repo/locks.js';
import { readPackFooter } from '../repo/pack.js';
import { recordNewestPoint } from '../repo/points.js';
import type { IndexedPack, RecoveryPoint, ServerRepo } from '../repo/server.js';
import { vaultError } from '../repo/storage-errors.js';
import { isStorageError } from '../storage/storage.js';
import { readTree } from '../restore/tree-reader.js';
import { now } from '../clock.js';
import { enforceOnlineRetention } from './retention.js';

export type OnlineCopyStatus = 'Copied' | 'UpToDate' | 'NoPoint' | 'Refused' | 'Skipped' | 'Failed';

/** What a copy did for one data source (the OnlineCopy result's dataSources). */
export interface OnlineDataSourceCopy {
  name: string; status: OnlineCopyStatus; pointId: string | null; packsCopied: number; bytesCopied: number; code?: string; message?: string;
}

export interface OnlineCopyResult {
  group: string; vault: string; dataSources: OnlineDataSourceCopy[]; pointsExpired: number; bytesFreed: number;
}

/** Failures that are not one data source's: the whole copy stops (the next copy resumes). */
const WHOLE_COPY = new Set(['AZB_CANCELLED', 'AZB_LOCK_LOST', 'AZB_VAULT_UNREACHABLE', 'AZB_VAULT_ACCESS_DENIED', 'AZB_PROXY_AUTH_FAILED', 'AZB_VAULT_NOT_FOUND', 'AZB_BACKUP_RUNNING', 'AZB_VAULT_LOCKED']);

/** The disk namespace and the online copy of a group, both opened with the passphrase and pinned by this machine's registrations. */
export async function openGroupVaults(ctx: CommandContext, group: ProtectionGroup): Promise<{ disk: ServerRepo; online: ServerRepo }> {
  const online = group.online;
  if (!online) {
    throw new AzbError('AZB_ONLINE_NOT_ENABLED', `Online protection is not enabled for protection group ${group.name}.`, {
      target: group.name, hint: `Enable it first: Enable-AzBackupOnlineProtection -ProtectionGroup ${group.name} -Vault <Azure vault> -OnlineRetentionDays N (azbackup online enable).`,
    });
  }
  const { repo: disk } = await openServerFor(ctx, { vault: group.vault });
  const reg = await findRegistration(online.vaultId);
  if (!reg || reg.serverId !== disk.serverId || reg.replicaOf !== disk.vault.manifest.vaultId) {
    throw new AzbError('AZB_ONLINE_NOT_ENABLED', `This machine has no online copy of the disk namespace of group ${group.name} registered for the Azure vault ${online.vault} (vault ${online.vaultId}).`, {
      target: online.vault, hint: `Run Enable-AzBackupOnlineProtection -ProtectionGroup ${group.name} again (it reuses what is in the Azure vault).`,
    });
  }
  const { repo } = await openServerFor(ctx, { vault: online.vault }).catch((err: unknown) => {
    // The online copy has its own key file: a passphrase changed on the disk since does not open it yet.
    if (err instanceof AzbError && err.code === 'AZB_PASSPHRASE_WRONG') {
      throw new AzbError('AZB_PASSPHRASE_WRONG', `The passphrase opens the disk namespace of group ${group.name} but not its online copy in ${online.vault}: the passphrase was changed on the disk after online protection was enabled.`, {
        target: online.vault, hint: `Run Enable-AzBackupOnlineProtection -ProtectionGroup ${group.name} (azbackup online enable) again with the current passphrase: it writes a key file for it in the Azure vault and deletes the old one.`,
      });
    }
    throw err;
  });
  if (repo.vault.manifest.vaultId !== online.vaultId) {
    throw new AzbError('AZB_ONLINE_NOT_ENABLED', `The Azure vault at ${online.vault} is now vault ${repo.vault.manifest.vaultId}, not the vault ${online.vaultId} online protection was enabled for.`, {
      target: online.vault, hint: `Enable online protection for group ${group.name} again.`,
    });
  }
  return { disk, online: repo };
}

/** The packs holding every blob a point reaches (its trees and its files' content), from the disk index. */
async function packsOfPoint(disk: ServerRepo, point: RecoveryPoint, signal: AbortSignal): Promise<Set<string>> {
  const packs = new Set<string>();
  const seen = new Set<string>();
  const add = (id: string) => { if (!seen.has(id)) { seen.add(id); packs.add(disk.locate(Buffer.from(id, 'hex')).packId); } };
  const trees = [point.manifest.tree];
  while (trees.length > 0) {
    if (signal.aborted) throw new AzbError('AZB_CANCELLED', 'The online copy was stopped.');
    const treeId = trees.pop()!;
    if (seen.has(treeId)) continue;
    add(treeId);
    for (const n of await readTree(disk, treeId)) {
      for (const id of n.content ?? []) add(id);
      if (n.type === 'dir' && n.subtree) trees.push(n.subtree);
    }
  }
  return packs;
}

/** Create-only put that accepts an object already there with the same size (a copy cut short after the put). */
async function putOnce(online: ServerRepo, name: string, data: Buffer, what: string): Promise<boolean> {
  try {
    await online.vault.store.put(name, data);
    return true;
  } catch (err) {
    if (!isStorageError(err, 'exists')) throw vaultError(err, online.location, what);
    const there = await online.vault.store.stat(name).catch((e: unknown) => { throw vaultError(e, online.location, what); });
    if (there?.size !== data.length) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `${what} is in the Azure vault with ${there?.size ?? 'no'} bytes, but the disk's has ${data.length}.`, { target: name, hint: "Run 'azbackup check --vault <Azure vault>' and repair the online copy." });
    }
    return false;
  }
}

interface CopyState {
  ctx: CommandContext; group: ProtectionGroup; disk: ServerRepo; online: ServerRepo; lock: Lock;
  live: RecoveryPoint[]; diskPacks: Map<string, number>; onlinePacks: Map<string, number>; onlinePoints: Set<string>; limitBytes: number;
}

async function copyDataSource(s: CopyState, name: string): Promise<OnlineDataSourceCopy> {
  const { ctx, disk, online } = s;
  const base = { name, packsCopied: 0, bytesCopied: 0 };
  const series = s.live.filter((p) => p.manifest.dataSource === name);
  const point = series[series.length - 1];
  if (!point) return { ...base, status: 'NoPoint', pointId: null, message: `Data source ${name} has no disk point yet.` };
  const size = point.manifest.stats.bytesRead;
  if (size > s.limitBytes) {
    const gb = bytesPerGB();
    const message = `Data source ${name} is ${(size / gb).toFixed(1)} GB (its newest disk point read ${size} bytes), over the online limit of ${s.group.online!.maxSizeGB} GB per data source: its online copy is refused. Short-term (disk) protection continues.`;
    ctx.sink.warning('AZB_ONLINE_SIZE_LIMIT', message, name);
    return { ...base, status: 'Refused', pointId: point.id, code: 'AZB_ONLINE_SIZE_LIMIT', message };
  }
  if (s.onlinePoints.has(point.id)) return { ...base, status: 'UpToDate', pointId: point.id };
  if (point.certificate !== online.certificate) {
    const message = `Recovery point ${point.id.slice(0, 12)}… of ${name} is signed by certificate ${point.certificate}, not by ${online.certificate}, which the online copy's server.json names: it would not verify there, so it is not copied (FORMAT.md section 14, renewals).`;
    ctx.sink.warning('AZB_ONLINE_POINT_NOT_COPIED', message, point.id);
    return { ...base, status: 'Skipped', pointId: point.id, code: 'AZB_ONLINE_POINT_NOT_COPIED', message };
  }
  // 1. packs (skipping those the online copy has), 2. one index file for them, 3. the point.
  const indexedOnline = new Set(online.index.packIds());
  // A pack the Azure index names is taken as it is only if it is also listed there: one deleted behind
  // AzBackup's back is put again, so the point never goes up without its data.
  const needed = [...await packsOfPoint(disk, point, ctx.signal)].filter((id) => !(indexedOnline.has(id) && s.onlinePacks.has(id))).sort();
  const indexed: IndexedPack[] = [];
  let done = 0;
  const activity = `Online copy of ${name}`;
  for (const packId of needed) {
    if (ctx.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The online copy was stopped; the next copy resumes where it stopped.');
    const present = s.onlinePacks.get(packId);
    const diskSize = s.diskPacks.get(packId);
    if (present !== undefined && diskSize !== undefined && present !== diskSize) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is in the Azure vault with ${present} bytes, but the disk's has ${diskSize}.`, { target: online.packObject(packId), hint: "Run 'azbackup check --vault <Azure vault>' and repair the online copy." });
    }
    const data = await disk.readPack(packId); // its storage ID is checked
    let blobs;
    try { blobs = readPackFooter(disk.keys, data); } catch (err) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… of the disk vault is damaged: ${(err as Error).message}.`, { target: disk.packObject(packId), hint: "Run 'azbackup check' and 'azbackup repair' on the disk vault." });
    }
    if (present === undefined && await putOnce(online, online.packObject(packId), data, `pack ${packId.slice(0, 12)}`)) {
      base.packsCopied++;
      base.bytesCopied += data.length;
    }
    s.onlinePacks.set(packId, data.length);
    indexed.push({ id: packId, size: data.length, blobs });
    done++;
    ctx.sink.progress(activity, `pack ${done} of ${needed.length} copied`, (done / (needed.length + 2)) * 100, packId);
  }
  if (indexed.length > 0) {
    await s.lock.assertHeld();
    const indexId = await online.saveIndex(indexed);
    for (const p of indexed) online.addPackToIndex(p);
    ctx.sink.progress(activity, 'index written', ((needed.length + 1) / (needed.length + 2)) * 100, indexId);
  }
  await s.lock.assertHeld();
  let pointBytes: Buffer;
  try { pointBytes = await disk.vault.store.get(disk.pointObject(point.id)); } catch (err) { throw vaultError(err, disk.location, `recovery point ${point.id.slice(0, 12)}`); }
  if (createHash('sha256').update(pointBytes).digest('hex') !== point.id) {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Recovery point ${point.id.slice(0, 12)}… changed in the disk vault while it was copied.`, { target: disk.pointObject(point.id), hint: "Run 'azbackup check' on the disk vault." });
  }
  await putOnce(online, online.pointObject(point.id), pointBytes, `recovery point ${point.id.slice(0, 12)}`);
  s.onlinePoints.add(point.id);
  // The online registration's newest point: a later deletion in the Azure vault is noticed (AZB_POINT_MISSING).
  await recordNewestPoint(online, point.id, point.manifest.time);
  ctx.sink.progress(activity, 'recovery point written', 100, point.id);
  ctx.sink.log(`Recovery point ${point.id.slice(0, 12)}… of ${name} (${point.manifest.time}) is copied online: ${base.packsCopied} pack(s), ${base.bytesCopied} bytes.`);
  return { ...base, status: 'Copied', pointId: point.id };
}

/**
 * Copies the newest disk point of each data source (all of the group's, or those named) to the group's
 * online copy, then enforces online retention there, and records what it did in the group's status. A
 * data source that fails (over the size limit, damaged data) does not stop the others; a failure of the
 * vaults themselves (unreachable, lock lost, stopped) stops the copy, and the next one resumes.
 */
export async function copyGroupOnline(ctx: CommandContext, group: ProtectionGroup, o: { dataSources?: string[] } = {}): Promise<OnlineCopyResult> {
  const names = o.dataSources ?? group.dataSources.map((d) => d.name);
  for (const n of names) {
    if (!group.dataSources.some((d) => d.name === n)) {
      throw new AzbError('AZB_DATASOURCE_NOT_FOUND', `Protection group ${group.name} has no data source '${n}'.`, { target: n, hint: `List them with Get-AzBackupProtectionGroup -Name ${group.name}.` });
    }
  }
  const { disk, online } = await openGroupVaults(ctx, group);
  const limits = group.online!;
  const limitBytes = limits.maxSizeGB * bytesPerGB();
  const warn = (code: string, message: string, target: string) => ctx.sink.warning(code, message, target);
  const result = await asJob(ctx, 'OnlineCopy', online.location, online.serverId, async () => {
    const copies: OnlineDataSourceCopy[] = [];
    let stopped: unknown;
    await withLock(disk, 'read', `online copy of group ${group.name}`, warn, async () => {
      await withLock(online, 'backup', `online copy of group ${group.name}`, warn, async (lock) => {
        await disk.loadIndexForReading(warn);
        const { live } = await disk.readPointsByState((id, err) => warn('AZB_POINT_DAMAGED', `Disk recovery point ${id} cannot be read and is not copied: ${err.message}`, disk.pointObject(id)), warn);
        await online.loadIndexSkippingDamaged(warn);
        const state: CopyState = {
          ctx, group, disk, online, lock, live, limitBytes,
          diskPacks: await disk.listPackIds(), onlinePacks: await online.listPackIds(), onlinePoints: new Set(await online.listPointIds()),
        };
        for (const name of names) {
          try {
            copies.push(await copyDataSource(state, name));
          } catch (err) {
            const e = toAzbError(err);
            copies.push({ name, status: 'Failed', pointId: null, packsCopied: 0, bytesCopied: 0, code: e.code, message: e.message });
            if (WHOLE_COPY.has(e.code)) { stopped = err; break; }
            warn(e.code, `The online copy of data source ${name} failed: ${e.message}`, name);
          }
        }
      });
    });
    const time = now().toISOString();
    const record = async (remaining?: Map<string, { count: number; newest?: RecoveryPoint }>) => {
      await updateGroupStatus(group.name, (st) => {
        for (const c of copies) {
          const d = (st.dataSources[c.name] ??= {});
          if (c.status === 'Refused' || c.status === 'Skipped' || c.status === 'Failed') d.lastError = { code: c.code ?? 'AZB_INTERNAL', message: c.message ?? '', time, phase: 'Online' };
          else if (d.lastError?.phase === 'Online') delete d.lastError;
        }
        for (const [name, r] of remaining ?? []) {
          const d = (st.dataSources[name] ??= {});
          d.onlinePoints = r.count;
          if (r.newest) d.onlinePoint = { id: r.newest.id, time: r.newest.manifest.time, sizeBytes: r.newest.manifest.stats.bytesRead };
          else delete d.onlinePoint;
        }
        if (!stopped) st.lastOnlineCopy = time;
      });
    };
    if (stopped) {
      await record().catch(() => undefined);
      throw stopped;
    }
    const retention = await enforceOnlineRetention(ctx, online, names, limits);
    await record(retention.remaining);
    const copied = copies.filter((c) => c.status === 'Copied').length;
    return {
      copy: { group: group.name, vault: online.location, dataSources: copies, pointsExpired: retention.pointsExpired, bytesFreed: retention.bytesFreed },
      stats: { group: group.name, dataSourcesCopied: copied, packsCopied: copies.reduce((n, c) => n + c.packsCopied, 0), bytesCopied: copies.reduce((n, c) => n + c.bytesCopied, 0), pointsExpired: retention.pointsExpired },
    };
  });
  return result.copy;
}
