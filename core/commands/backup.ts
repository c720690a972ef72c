// `backup`: files (or a stream from stdin) of this server into a new recovery point, as a job.
import { isAbsolute, resolve } from 'node:path';
import { runBackup, startScan } from '../backup/archiver.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import { acquireLock } from '../repo/locks.js';
import type { Command } from './command.js';
import { asJob, openServerFor, serverCacheDir, signingKeyFor, type VaultArgs, STORAGE_SECRETS } from './context.js';
import { pointData } from './points.js';
import { makeDirs } from '../fs/make-dirs.js';

export interface BackupArgs extends VaultArgs { paths?: string[]; exclude?: string[]; tags?: string[]; stdinName?: string; accessTier?: 'Hot' | 'Cool' | 'Cold' }

export const backupCommand: Command<BackupArgs> = {
  name: 'backup',
  argsSchema: 'azbackup:args.backup',
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const paths = (args.paths ?? []).map((p) => (isAbsolute(p) ? p : resolve(p)));
    // "./x" and "../x" are relative to the current folder, as paths are; other patterns match anywhere.
    const excludes = (args.exclude ?? []).map((g) => (/^\.\.?[\\/]/.test(g) ? resolve(g) : g));
    if (args.stdinName === undefined && paths.length === 0) throw new AzbError('AZB_ARGS_INVALID', 'Nothing to back up: give one or more paths, or a stream name for stdin.', { target: 'paths', hint: 'Example: azbackup backup /srv/data' });
    if (args.stdinName !== undefined && paths.length > 0) throw new AzbError('AZB_ARGS_INVALID', 'Back up either paths or stdin, not both.', { target: 'paths' });
    if (args.stdinName !== undefined && (!/^[^/\\\0]+$/.test(args.stdinName) || args.stdinName === '.' || args.stdinName === '..')) {
      throw new AzbError('AZB_ARGS_INVALID', `'${args.stdinName}' is not a usable file name for the stream.`, { target: 'stdinName', hint: 'Give a plain file name such as db.sql.' });
    }
    const scan = args.stdinName === undefined ? startScan(paths, excludes, ctx.sink) : undefined;
    const { vault, repo } = await openServerFor(ctx, args, args.accessTier ? { accessTier: args.accessTier } : {});
    const signingKey = await signingKeyFor(repo);
    const cacheDir = serverCacheDir(args, repo);
    try { await makeDirs(cacheDir, 0o700); } catch (err) {
      throw new AzbError('AZB_CACHE_UNUSABLE', `Cannot create the cache folder ${cacheDir}: ${(err as NodeJS.ErrnoException).code}.`, { target: cacheDir, hint: 'Give a writable --cache-dir.' });
    }
    const result = await asJob(ctx, 'Backup', vault.store.location, repo.serverId, async () => {
      const lock = await acquireLock(repo, 'backup', 'backup', (code, message, target) => ctx.sink.warning(code, message, target));
      try {
        const r = await runBackup(repo, {
          sources: paths, excludes, ...(scan ? { scan } : {}), lock, cacheDir, signingKey, tags: args.tags ?? [], signal: ctx.signal, sink: ctx.sink,
          ...(args.stdinName !== undefined ? { stdin: { stream: ctx.stdin ?? process.stdin, name: args.stdinName } } : {}),
        });
        return { ...r, stats: { ...r.manifest.stats, pointId: r.pointId } };
      } finally {
        await lock.release();
      }
    });
    ctx.sink.result('RecoveryPoint', pointData(vault.store.location, { id: result.pointId, manifest: result.manifest, certificate: repo.record.certificate }));
    return result.skipped.length > 0 || ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
  },
};
