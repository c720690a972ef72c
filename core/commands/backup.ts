// `backup`: files (or a stream from stdin) of this server into a new recovery point, as a job.
import { isAbsolute, join, resolve } from 'node:path';
import { runBackup, startScan } from '../backup/archiver.js';
import { rootComponents } from '../backup/tar-import.js';
import { SkipReport, type SkipSummary } from '../backup/skip-report.js';
import { now } from '../clock.js';
import { invalidGlobReason } from '../fs/glob.js';
import { rootNameOf } from '../fs/winpath.js';
import { expandFilesFromLine, readExcludeFiles, readListFile } from '../fs/list-file.js';
import type { ScanOptions } from '../backup/scanner.js';
import type { PointManifest } from '../repo/points.js';
import { AzbError, ExitCode } from '../protocol/errors.js';
import { withLock } from '../repo/locks.js';
import type { ServerRepo } from '../repo/server.js';
import { getCertificate } from '../repo/vault.js';
import type { Command, CommandContext } from './command.js';
import { asJob, openServerFor, serverCacheDir, signingKeyFor, type VaultArgs, STORAGE_SECRETS } from './context.js';
import { pointData } from './points.js';
import { CERT_EXPIRY_WARNING_DAYS, renewHint } from './cert-expiry.js';
import { makeDirs } from '../fs/make-dirs.js';
import { mountPointGate, requireEligible, type SourceVerdict } from '../source/eligibility.js';
import { readSettings } from '../config/settings.js';
import { planSnapshots, takeSnapshots, type GivenReadFrom, type SnapshotMode, type SnapshotPlan } from '../snapshot/snapshots.js';
import { checkHookCommand, startHooks, type HookCommand, type HookSpec } from '../backup/hooks.js';
import { requireMember, type Member } from '../member/members.js';
import { memberCommandStream } from '../member/stream.js';

/**
 * The certificate that signs this server's recovery points (the one in its server.json) must be valid
 * for a new point: expired, the backup fails with AZB_CERT_EXPIRED; within 30 days of expiry it warns.
 */
async function checkSigningCertificate(ctx: CommandContext, repo: ServerRepo): Promise<void> {
  const thumbprint = repo.record.certificate;
  const cert = await getCertificate(repo.vault, thumbprint);
  if (!cert) {
    throw new AzbError('AZB_CERT_NOT_IN_VAULT', `The certificate ${thumbprint} this server registered with is no longer in the vault at ${repo.location}; its recovery points cannot be verified.`, {
      target: thumbprint, hint: 'Upload its .cer again with Add-AzBackupVaultCertificate / azbackup vault add-cert.',
    });
  }
  const notAfter = cert.validToDate;
  const hint = renewHint();
  if (Date.now() > notAfter.getTime()) {
    throw new AzbError('AZB_CERT_EXPIRED', `The certificate ${thumbprint} that signs the recovery points of ${repo.record.hostname} expired on ${notAfter.toISOString()}; it signs no new recovery point.`, { target: thumbprint, hint });
  }
  const daysLeft = Math.floor((notAfter.getTime() - Date.now()) / 86_400_000);
  if (daysLeft < CERT_EXPIRY_WARNING_DAYS) {
    ctx.sink.warning('AZB_CERT_EXPIRING', `The certificate ${thumbprint} that signs the recovery points of ${repo.record.hostname} expires on ${notAfter.toISOString()} (in ${daysLeft} day${daysLeft === 1 ? '' : 's'}); from then on this server can make no new recovery point. ${hint}`, thumbprint);
  }
}

export interface BackupArgs extends VaultArgs {
  paths?: string[]; exclude?: string[]; tags?: string[]; stdinName?: string; fromTar?: { root: string }; accessTier?: 'Hot' | 'Cool' | 'Cold'; retainUntil?: string;
  excludeFile?: string[]; filesFrom?: string[]; excludeCaches?: boolean; oneFileSystem?: boolean;
  snapshot?: SnapshotMode; readFrom?: { source: string; path: string; method?: GivenReadFrom['method'] }[];
  preCommand?: HookCommand; postCommand?: HookCommand;
  /** A command on a member whose output is the stream (README "Members over SSH"); with stdinName. */
  member?: string; remoteCommand?: string; remoteArguments?: string[];
}

/**
 * The paths the --files-from lists name (restic's rules, core/fs/list-file.ts). A line that matches
 * nothing is a warning; a list that names nothing that exists stops the backup (AZB_SOURCE_NOT_FOUND).
 */
async function pathsFromLists(ctx: CommandContext, files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const lines = await readListFile(file, 'files-from list', '--files-from / -FilesFrom');
    let found = 0;
    for (const { text, line } of lines) {
      const paths = await expandFilesFromLine(text);
      if (paths.length === 0) ctx.sink.warning('AZB_FILES_FROM_NO_MATCH', `${file}, line ${line}: '${text}' matches no file or folder; it is left out.`, `${file}:${line}`);
      found += paths.length;
      out.push(...paths);
    }
    if (found === 0) {
      throw new AzbError('AZB_SOURCE_NOT_FOUND', lines.length === 0 ? `The files-from list ${file} names nothing to back up (it has only blank lines and # comments).` : `None of the ${lines.length} entr${lines.length === 1 ? 'y' : 'ies'} of the files-from list ${file} is an existing file or folder; nothing was backed up.`, {
        target: file, hint: 'Put one existing path (or glob) a line in the list; relative lines are relative to the current folder.',
      });
    }
  }
  return out;
}

/**
 * The check of the sources, and what the walk needs of it: the st_dev each source had (the mount
 * points it may meet are read when the walk starts). A refusal comes back as the error, for the job
 * to fail with.
 */
async function sourceEligibility(paths: readonly string[]): Promise<AzbError | Pick<ScanOptions, 'expectedDev'>> {
  let verdicts: Map<string, SourceVerdict>;
  try { verdicts = await requireEligible(paths); } catch (err) {
    if (err instanceof AzbError) return err;
    throw err;
  }
  const expectedDev = new Map<string, string>();
  for (const [p, v] of verdicts) if (v.dev !== undefined) expectedDev.set(p, v.dev);
  return { expectedDev };
}

/** The job's record of what a backup skipped: every entry is in the file, the record counts them. */
function skippedStats(s: SkipSummary): Record<string, unknown> {
  return s.count > 0 ? { skipped: s.count, skippedByCode: s.byCode } : {};
}

/** What to back up, and what the point records of it. */
export interface BackupWork {
  paths: string[]; excludes: string[]; tags: string[];
  stdin?: { stream: AsyncIterable<Uint8Array>; name: string };
  /** A tar stream imported as the tree below `root` (core/backup/tar-import.ts). */
  tar?: { stream: AsyncIterable<Uint8Array>; root: string };
  policy?: string; retainUntil?: string; shallow?: ReadonlySet<string>;
  /** The protection group and data source the point belongs to (core/group). */
  protection?: { group: string; dataSource: string };
  accessTier?: 'Hot' | 'Cool' | 'Cold';
  scanOptions?: ScanOptions;
  /** -Snapshot (default Auto), and frozen copies the caller made (the module's VSS shadow copies). */
  snapshot?: SnapshotMode; readFrom?: GivenReadFrom[];
  /** Pre and post commands around the read (core/backup/hooks.ts). */
  hooks?: HookSpec;
}

/**
 * Backs up into this server's namespace as a recorded job, under the backup lock, and returns the new
 * point. Shared by `backup` and `policy run`.
 */
export async function backupAsJob(ctx: CommandContext, args: VaultArgs, work: BackupWork): Promise<{ repo: ServerRepo; pointId: string; manifest: PointManifest; skipped: SkipSummary; otherFileSystems: string[] }> {
  // Every source is checked before anything is read (README "What can be backed up"); a refusal fails
  // the job below. The walk then never enters a mount it would refuse, and sees whether a source's file
  // system was swapped since the check.
  const eligibility = work.stdin === undefined && work.tar === undefined ? await sourceEligibility(work.paths) : undefined;
  const eligible = eligibility && !(eligibility instanceof AzbError) ? eligibility : undefined;
  // Snapshots (core/snapshot/) are planned now and made in the job; with none to make and no pre command
  // (which may write what is backed up, a dump), the walk starts now, as it always did.
  const snapshotMode = work.snapshot ?? 'Auto';
  const provider = eligible ? (await readSettings()).snapshotProvider : undefined;
  const plans: SnapshotPlan[] | undefined = eligible ? await planSnapshots(work.paths, snapshotMode, work.readFrom, provider) : undefined;
  const snapshotsToMake = plans !== undefined && (snapshotMode === 'Required' || plans.some((p) => p.how !== 'live'));
  const scan = eligible && !snapshotsToMake && !work.hooks?.pre ? startScan(work.paths, work.excludes, ctx.sink, work.shallow, { ...work.scanOptions, ...eligible, mountGate: await mountPointGate() }) : undefined;
  // A source that is missing fails the job, not the walk that nobody waits for.
  scan?.catch(() => undefined);
  // The config from the cache location's copy, proved the vault's by the listing the lock makes (withLock below).
  const { vault, repo } = await openServerFor(ctx, args, { configCopy: true, ...(work.accessTier ? { accessTier: work.accessTier } : {}) });
  const signingKey = await signingKeyFor(repo);
  const cacheDir = serverCacheDir(args, repo);
  try { await makeDirs(cacheDir, 0o700); } catch (err) {
    throw new AzbError('AZB_CACHE_UNUSABLE', `Cannot create the cache folder ${cacheDir}: ${(err as NodeJS.ErrnoException).code}.`, { target: cacheDir, hint: 'Give a writable --cache-dir.' });
  }
  const result = await asJob(ctx, 'Backup', vault.store.location, repo.serverId, async (jobId) => {
    if (eligibility instanceof AzbError) throw eligibility;
    await checkSigningCertificate(ctx, repo);
    return withLock(repo, 'backup', work.policy ? `backup by policy ${work.policy}` : 'backup', (code, message, target) => ctx.sink.warning(code, message, target), async (lock) => {
      // Pre command → snapshot → post command (the application waits only for the snapshot) → read →
      // snapshot removed. Without a snapshot the post command runs once the data is read. Whatever
      // fails or is stopped, the snapshot is removed and the post command has run before the job ends.
      const hooks = await startHooks({ sink: ctx.sink, signal: ctx.signal, jobId, ...(work.policy ? { policy: work.policy } : {}) }, work.hooks);
      let snapshots: Awaited<ReturnType<typeof takeSnapshots>> | undefined;
      try {
        snapshots = plans ? await takeSnapshots(plans, snapshotMode, { sink: ctx.sink, signal: ctx.signal, jobId, ...(provider ? { provider } : {}) }) : undefined;
        // The mounts are read now, after the pre command and the snapshot, which may have changed them.
        const walk = scan ?? (eligible ? startScan(work.paths, work.excludes, ctx.sink, work.shallow, {
          ...work.scanOptions, ...eligible, mountGate: await mountPointGate(), ...(snapshots ? { readFrom: snapshots.readFrom } : {}),
        }) : undefined);
        // The application may resume before the read only when everything is read from snapshots: every
        // source, and no mount or nested subvolume below one (those are read live).
        if (snapshots && walk && work.paths.every((p) => snapshots!.readFrom.has(p)) && (await walk).notInSnapshot.length === 0) {
          await hooks.runPost('SnapshotTaken');
        }
        const r = await runBackup(repo, {
          sources: work.paths, excludes: work.excludes, ...(walk ? { scan: walk } : {}), skipReport: new SkipReport(jobId, ctx.sink), ...(work.scanOptions ? { scanOptions: work.scanOptions } : {}), lock, cacheDir, signingKey, tags: work.tags, signal: ctx.signal, sink: ctx.sink,
          ...(work.stdin ? { stdin: work.stdin } : {}), ...(work.tar ? { tar: work.tar } : {}), ...(work.policy ? { policy: work.policy } : {}), ...(work.retainUntil ? { retainUntil: work.retainUntil } : {}),
          ...(work.protection ? { protection: work.protection } : {}),
          ...(snapshots ? { reads: snapshots.reads, snapshotMode } : {}),
        });
        await hooks.runPost('Succeeded');
        return { ...r, stats: { ...r.manifest.stats, pointId: r.pointId, ...skippedStats(r.skipped) } };
      } finally {
        await snapshots?.release();
        await hooks.runPost(ctx.signal.aborted ? 'Cancelled' : 'Failed');
      }
    }, { listNamespace: true }); // the backup lists damage/, index/ and packs/ next: one listing serves the lock and them
  }, work.policy ?? null);
  return { repo, pointId: result.pointId, manifest: result.manifest, skipped: result.skipped, otherFileSystems: result.otherFileSystems };
}

/**
 * --read-from SOURCE=PATH (the module's VSS shadow copies): each SOURCE must be one of the paths backed
 * up, each once, and PATH absolute; not with --snapshot None (a frozen copy is a snapshot) nor --stdin.
 */
function checkReadFrom(args: BackupArgs, paths: readonly string[]): GivenReadFrom[] | undefined {
  if (!args.readFrom) return undefined;
  const bad = (message: string, hint = 'Give --read-from SOURCE=PATH with SOURCE one of the paths backed up and PATH the absolute path of its frozen copy.') => new AzbError('AZB_ARGS_INVALID', message, { target: 'readFrom', hint });
  if (args.stdinName !== undefined) throw bad('A stream from stdin has nothing to read from elsewhere: --read-from is for paths.');
  if (args.snapshot === 'None') throw bad('--read-from names frozen copies to read, which --snapshot None says not to use.', 'Leave out one of the two.');
  const seen = new Set<string>();
  return args.readFrom.map((r) => {
    const source = isAbsolute(r.source) ? r.source : resolve(r.source);
    if (!paths.includes(source)) throw bad(`--read-from names ${r.source}, which is not one of the paths backed up (${paths.join(', ')}).`);
    if (seen.has(source)) throw bad(`--read-from names ${r.source} twice.`);
    seen.add(source);
    if (!isAbsolute(r.path)) throw bad(`--read-from gives ${r.path} for ${r.source}: not an absolute path.`);
    return { source, path: r.path, method: r.method ?? 'external' };
  });
}

/**
 * --member with --remote-command (and its --remote-arg): the command to run on a member for a stream
 * backup. Undefined when no member is named.
 */
async function memberSource(args: BackupArgs): Promise<{ member: Member; argv: string[] } | undefined> {
  const bad = (target: string, message: string, hint: string) => new AzbError('AZB_ARGS_INVALID', message, { target, hint });
  if (args.member === undefined) {
    if (args.remoteCommand !== undefined || args.remoteArguments !== undefined) throw bad('remoteCommand', 'A remote command needs the member to run it on.', 'Add --member NAME (azbackup member list shows them).');
    return undefined;
  }
  if (args.remoteCommand === undefined || args.remoteCommand.trim() === '') throw bad('remoteCommand', `Nothing to run on member ${args.member}: give the command whose output to back up.`, 'Example: --member db01 --remote-command pg_dump --remote-arg mydb --stdin-name mydb.sql');
  if (args.stdinName === undefined) throw bad('stdinName', 'A stream from a member needs the file name it is stored under.', 'Add --stdin-name, e.g. mydb.sql.');
  const argv = [args.remoteCommand, ...(args.remoteArguments ?? [])];
  if (argv.some((a) => a.includes('\0'))) throw bad('remoteArguments', 'The remote command or one of its arguments holds a NUL character.', 'Remove it: no shell can pass it on.');
  return { member: await requireMember(args.member), argv };
}

export const backupCommand: Command<BackupArgs> = {
  name: 'backup',
  argsSchema: 'azbackup:args.backup',
  job: { operation: 'Backup' },
  secrets: ['passphrase', ...STORAGE_SECRETS],
  async run(ctx, args) {
    const given = (args.paths ?? []).map((p) => (isAbsolute(p) ? p : resolve(p)));
    // A Windows source must have a recorded form (FORMAT.md §9, "Windows paths"): refused here, before any work.
    for (const p of given) rootNameOf(p, process.platform);
    // "./x" and "../x" are relative to the current folder, as paths are; other patterns match anywhere.
    const excludes = (args.exclude ?? []).map((g) => (/^\.\.?[\\/]/.test(g) ? resolve(g) : g));
    for (const g of args.exclude ?? []) {
      const why = invalidGlobReason(g);
      if (why) throw new AzbError('AZB_ARGS_INVALID', `Exclude pattern refused: ${why}.`, { target: 'exclude', hint: 'See README "Globs" for the pattern rules.' });
    }
    if (args.stdinName !== undefined && (args.filesFrom ?? []).length > 0) throw new AzbError('AZB_ARGS_INVALID', 'Back up either a --files-from list or stdin, not both.', { target: 'filesFrom' });
    excludes.push(...await readExcludeFiles(args.excludeFile ?? []));
    // Each path once, in the order given: the command line's, then the lists'.
    const paths = [...new Set([...given, ...await pathsFromLists(ctx, args.filesFrom ?? [])])];
    // A tar stream on stdin (core/backup/tar-import.ts): a source of its own, with no walk to shape.
    const tarRoot = args.fromTar !== undefined ? '/' + rootComponents(args.fromTar.root).map((p) => p.toString('utf8')).join('/') : undefined;
    if (tarRoot !== undefined) {
      const other = args.stdinName !== undefined ? '--stdin' : paths.length > 0 ? 'paths' : (args.exclude ?? args.excludeFile) !== undefined ? '--exclude' : args.readFrom ? '--read-from' : args.snapshot === 'Required' ? '--snapshot required' : args.excludeCaches || args.oneFileSystem ? '--exclude-caches / --one-file-system' : undefined;
      if (other !== undefined) {
        throw new AzbError('AZB_ARGS_INVALID', `--from-tar imports a tar stream from stdin; ${other} cannot go with it.`, { target: 'fromTar', hint: 'Shape what is archived with the tar command that writes the stream (its paths and --exclude).' });
      }
    }
    if (args.stdinName === undefined && tarRoot === undefined && paths.length === 0) throw new AzbError('AZB_ARGS_INVALID', 'Nothing to back up: give one or more paths, or a stream name for stdin.', { target: 'paths', hint: 'Example: azbackup backup /srv/data' });
    if (args.stdinName !== undefined && paths.length > 0) throw new AzbError('AZB_ARGS_INVALID', 'Back up either paths or stdin, not both.', { target: 'paths' });
    if (args.stdinName !== undefined && (!/^[^/\\\0]+$/.test(args.stdinName) || args.stdinName === '.' || args.stdinName === '..')) {
      throw new AzbError('AZB_ARGS_INVALID', `'${args.stdinName}' is not a usable file name for the stream.`, { target: 'stdinName', hint: 'Give a plain file name such as db.sql.' });
    }
    if (args.retainUntil !== undefined && !(Date.parse(args.retainUntil) > now().getTime())) {
      throw new AzbError('AZB_ARGS_INVALID', `RetainUntil '${args.retainUntil}' is not a time in the future.`, { target: 'retainUntil', hint: 'Give a future date (ISO 8601), e.g. 2027-01-31; leave it out to keep the point until it is removed.' });
    }
    if (args.stdinName !== undefined && args.snapshot === 'Required') {
      throw new AzbError('AZB_ARGS_INVALID', 'A stream from stdin has no snapshot: --snapshot required is for paths.', { target: 'snapshot', hint: 'Leave out --snapshot; to make the stream consistent, make the command that writes it consistent (pg_dump, mysqldump --single-transaction).' });
    }
    const readFrom = checkReadFrom(args, paths);
    const remote = await memberSource(args);
    if (args.preCommand) checkHookCommand(args.preCommand, 'preCommand');
    if (args.postCommand) checkHookCommand(args.postCommand, 'postCommand');
    const result = await backupAsJob(ctx, args, {
      paths, excludes, tags: args.tags ?? [], ...(args.snapshot ? { snapshot: args.snapshot } : {}), ...(readFrom ? { readFrom } : {}),
      hooks: { ...(args.preCommand ? { pre: args.preCommand } : {}), ...(args.postCommand ? { post: args.postCommand } : {}) },
      ...(args.stdinName !== undefined ? { stdin: { stream: remote ? memberCommandStream(remote.member, remote.argv, ctx.signal, (l) => ctx.sink.log(l)) : ctx.stdin ?? process.stdin, name: args.stdinName } } : {}),
      ...(tarRoot !== undefined ? { tar: { stream: ctx.stdin ?? process.stdin, root: tarRoot } } : {}),
      ...(args.retainUntil ? { retainUntil: new Date(args.retainUntil).toISOString() } : {}), ...(args.accessTier ? { accessTier: args.accessTier } : {}),
      scanOptions: { excludeCaches: args.excludeCaches === true, oneFileSystem: args.oneFileSystem === true },
    });
    ctx.sink.result('RecoveryPoint', {
      ...pointData(result.repo.location, { id: result.pointId, manifest: result.manifest, certificate: result.repo.record.certificate }),
      ...(result.otherFileSystems.length > 0 ? { otherFileSystems: result.otherFileSystems } : {}),
    });
    return result.skipped.warned > 0 || ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
  },
};
