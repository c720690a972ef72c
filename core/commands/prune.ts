// `prune`: delete the data no recovery point needs, under an exclusive lock, as a job.
import { ExitCode } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import { runPrune } from '../prune/pruner.js';
import type { Command } from './command.js';
import { asJob, openServerFor, type VaultArgs, STORAGE_SECRETS } from './context.js';

export const pruneCommand: Command<VaultArgs & { dryRun?: boolean; maxUnusedPercent?: number; maxRepackBytes?: number }> = {
  name: 'prune',
  argsSchema: 'azbackup:args.prune',
  job: { operation: 'Prune' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const { vault, repo } = await openServerFor(ctx, args);
    const r = await asJob(ctx, 'Prune', vault.store.location, repo.serverId, async () => {
      return withLock(repo, 'exclusive', 'prune', (code, message, target) => ctx.sink.warning(code, message, target), async (lock) => {
        return {
          stats: await runPrune(repo, {
            dryRun: args.dryRun === true, sink: ctx.sink, signal: ctx.signal, lock,
            ...(args.maxUnusedPercent !== undefined ? { maxUnusedPercent: args.maxUnusedPercent } : {}), ...(args.maxRepackBytes !== undefined ? { maxRepackBytes: args.maxRepackBytes } : {}),
          }),
        };
      });
    });
    ctx.sink.result('PruneResult', { ...r.stats, vault: vault.store.location });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
