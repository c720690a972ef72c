// `check`: verify a server namespace; with read-data, every byte of (a sample of) its packs.
import { withLock } from '../repo/locks.js';
import { runCheck } from '../check/checker.js';
import { ExitCode } from '../protocol/errors.js';
import type { Command } from './command.js';
import { asJob, openServerFor, type VaultArgs, STORAGE_SECRETS } from './context.js';

export const checkCommand: Command<VaultArgs & { readDataPercent?: number }> = {
  name: 'check',
  argsSchema: 'azbackup:args.check',
  job: { operation: 'Check' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  human: {
    item: (_k, d) => `DAMAGED ${String(d['object'])}: ${String(d['problem'])}${(d['affectedPoints'] as string[]).length ? `\n  affects points: ${(d['affectedPoints'] as string[]).map((p) => p.slice(0, 12)).join(', ')}` : ''}${(d['affectedFiles'] as string[]).length ? `\n  affects files: ${(d['affectedFiles'] as string[]).join(', ')}` : ''}`,
    result: (_k, d) => (Number(d['problems']) === 0 ? `No problems found (${d['points']} recovery points, ${d['packs']} packs, ${d['packsRead']} packs read, ${d['filesVerified']} files verified).` : `${d['problems']} problem(s) found.`),
  },
  async run(ctx, args) {
    const { vault, repo } = await openServerFor(ctx, args);
    const summary = await asJob(ctx, 'Check', vault.store.location, repo.serverId, async () => {
      return withLock(repo, 'read', 'check', (code, message, target) => ctx.sink.warning(code, message, target), async (lock) => {
        const r = await runCheck(repo, { readDataPercent: args.readDataPercent ?? 0, sink: ctx.sink, signal: ctx.signal });
        // Said once as a warning too, so the job is CompletedWithWarnings and its history names the damage.
        if (r.problems.length > 0) {
          const named = r.problems.slice(0, 5).map((p) => p.object).join(', ');
          ctx.sink.warning('AZB_VAULT_DAMAGED', `The check found ${r.problems.length} problem(s): ${named}${r.problems.length > 5 ? ', …' : ''}.`, r.problems[0]!.object);
        }
        return { stats: r.summary };
      });
    });
    ctx.sink.result('CheckResult', { ...summary.stats, vault: vault.store.location });
    return summary.stats.problems === 0 ? ExitCode.Ok : ExitCode.NotCompliant;
  },
};
