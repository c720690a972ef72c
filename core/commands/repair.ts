// `repair`: rebuild the index from the packs' footers, salvage damaged packs, rewrite points that lost
// data (FORMAT.md section 10, "Damage records and repair"), under the exclusive lock, as a job.
import { ExitCode } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import { emptyStats, repairIndex, repairPacks, repairPoints, type RepairPart } from '../repair/repair.js';
import type { Command } from './command.js';
import { asJob, openServerFor, signingKeyFor, type VaultArgs, STORAGE_SECRETS } from './context.js';

const ORDER: readonly RepairPart[] = ['index', 'packs', 'points'];

export const repairCommand: Command<VaultArgs & { parts?: RepairPart[]; dryRun?: boolean }> = {
  name: 'repair',
  argsSchema: 'azbackup:args.repair',
  job: { operation: 'Repair' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: {
    item: (_k, d) => (d['lostTree'] ? `DAMAGED ${String(d['path'])}: its folder's content is lost (point ${String(d['pointId']).slice(0, 12)})`
      : `DAMAGED ${String(d['path'])}: ${String(d['lostBytes'])} of ${String(d['size'])} bytes lost (point ${String(d['pointId']).slice(0, 12)})`),
    result: (_k, d) => `${d['dryRun'] ? 'Would repair' : 'Repaired'}: ${String(d['packsIndexed'])} pack(s) indexed, ${String(d['packsRepaired'])} damaged pack(s) (${String(d['blobsSalvaged'])} blob(s) salvaged, ${String(d['blobsLost'])} lost), ${String(d['pointsRepaired'])} point(s) rewritten (${String(d['filesDamaged'])} file(s) lost data).`,
  },
  async run(ctx, args) {
    const { vault, repo } = await openServerFor(ctx, args);
    const parts = ORDER.filter((p) => args.parts === undefined || args.parts.includes(p));
    const dryRun = args.dryRun === true;
    // Rewritten points are signed like a backup's: only the server's own registration may repair points.
    const signingKey = parts.includes('points') && !dryRun ? await signingKeyFor(repo) : undefined;
    const r = await asJob(ctx, 'Repair', vault.store.location, repo.serverId, async () => {
      return withLock(repo, 'exclusive', 'repair', (code, message, target) => ctx.sink.warning(code, message, target), async (lock) => {
        const stats = emptyStats(dryRun);
        const o = { dryRun, sink: ctx.sink, signal: ctx.signal, lock };
        if (parts.includes('index')) await repairIndex(repo, o, stats);
        if (parts.includes('packs')) await repairPacks(repo, o, stats);
        if (parts.includes('points')) await repairPoints(repo, { ...o, signingKey: signingKey! }, stats);
        // Data lost for good is said as a warning too, so the job's history names it.
        if (stats.filesDamaged + stats.treesLost > 0) {
          ctx.sink.warning('AZB_REPAIR_DATA_LOST', `${dryRun ? 'Repair would mark' : 'Repair marked'} ${stats.filesDamaged} file(s) of ${stats.pointsRepaired} recovery point(s) as damaged (${stats.bytesLost} bytes lost) and ${stats.treesLost} folder(s) as lost. A backup of a file the source still has stores it whole again.`, repo.prefix);
        } else if (stats.blobsLost > 0 && !parts.includes('points')) {
          ctx.sink.warning('AZB_REPAIR_DATA_LOST', `${stats.blobsLost} blob(s) could not be salvaged: back up again (files the source still has are stored again), then run 'azbackup repair points' for the points that still need them.`, repo.prefix);
        }
        return { stats };
      });
    });
    ctx.sink.result('RepairResult', { ...r.stats, parts: [...parts], vault: vault.store.location });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
  },
};
