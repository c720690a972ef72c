// `restore POINT [ITEMS] --to-member NAME --target PATH`: the verified tar export (tar-export.ts) streamed
// into GNU tar on a member over SSH (core/member/ssh.ts: host keys pinned, argv quoted for its shell).
//
// How it ends is always said as it is: the member's tar must exit 0 after the whole stream, or the
// restore fails with a coded error naming the member. When the export itself fails (a damaged pack, a
// digest that does not match), the stream is ended where the last whole file ended, so every file
// before it arrives whole, the member's tar fails on the short file, and that one file is then removed
// from the member: no file is left there with the point's name, mode and time but not its bytes.
import type { Writable } from 'node:stream';
import type { EventSink } from '../protocol/events.js';
import { AzbError } from '../protocol/errors.js';
import { describeMember, requireMember, type Member } from '../member/members.js';
import { memberCommandFailed, runOnMember, type MemberRunEnd } from '../member/ssh.js';
import type { ServerRepo } from '../repo/server.js';
import { writeTarExport, type TarExportPlan, type TarExportProgress, type TarExportStats } from './tar-export.js';

/** How long the member's tar gets to fail on a stream cut short before ssh is ended. */
const CUT_GRACE_MS = 60_000;

/**
 * The member's tar: GNU tar reading the stream from stdin into the target. LC_ALL=C: names are taken
 * as the bytes they are (no conversion from UTF-8 to the member's charset) and messages are English.
 * --numeric-owner: owners by number, as the point has them (a root login sets them; another account
 * gets its own). -p: modes as archived, not less the umask. --xattrs only when the stream carries
 * attributes, all of them (GNU tar sets only user.* unless told) but SELinux labels, which are left to
 * the member's policy as a restore to a folder leaves them by default.
 */
export function memberTarArgv(target: string, hasXattrs: boolean): string[] {
  return ['env', 'LC_ALL=C', 'tar', '-x', '-f', '-', '-C', target, '--numeric-owner', '-p', ...(hasXattrs ? ['--xattrs', '--xattrs-include=*', '--xattrs-exclude=security.selinux'] : [])];
}

// Exit statuses of the target check (below 100 are the shell's and ssh's own).
const NO_GNU_TAR = 101;
const TARGET_MISSING = 102;
const TARGET_NOT_DIR = 103;
const TARGET_NOT_WRITABLE = 104;
const TARGET_CHECK = [
  `command -v tar >/dev/null 2>&1 || exit ${NO_GNU_TAR}`,
  `tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar' || exit ${NO_GNU_TAR}`,
  `[ -e "$1" ] || exit ${TARGET_MISSING}`,
  `[ -d "$1" ] || exit ${TARGET_NOT_DIR}`,
  `[ -w "$1" ] || exit ${TARGET_NOT_WRITABLE}`,
].join('; ');

/** Checks the target path as given (before the member is asked anything). */
export function checkMemberTarget(target: string | undefined): string {
  if (target === undefined) {
    throw new AzbError('AZB_USAGE', '--to-member needs the folder on the member to restore into.', { target: 'target', hint: 'Add --target PATH (-Target): an absolute path of a folder that exists on the member, e.g. /srv/restore.' });
  }
  if (!target.startsWith('/')) {
    throw new AzbError('AZB_ARGS_INVALID', `The target '${target}' is not an absolute path; on a member it would depend on the account's home folder.`, { target: 'target', hint: 'Give an absolute path of a folder on the member, e.g. /srv/restore.' });
  }
  if (/[\x00-\x1f\x7f]/.test(target)) {
    throw new AzbError('AZB_ARGS_INVALID', 'The target path holds a control character.', { target: 'target', hint: 'Give the path of a folder on the member.' });
  }
  return target;
}

/** Looks the member up and checks, on it, that its tar is GNU tar and the target a writable folder. */
export async function prepareMemberTarget(memberName: string, target: string, signal: AbortSignal): Promise<Member> {
  const member = await requireMember(memberName);
  const run = runOnMember(member, ['sh', '-c', TARGET_CHECK, 'sh', target], { signal });
  run.stdout.resume();
  const end = await run.done;
  if (end.connectionError) throw end.connectionError;
  const who = describeMember(member);
  if (end.stopped) throw new AzbError('AZB_CANCELLED', `The restore was stopped while member ${member.name} was checked; nothing was written to it.`, { target: member.name, hint: 'Run it again when ready.' });
  switch (end.status) {
    case 0: return member;
    case NO_GNU_TAR: throw new AzbError('AZB_MEMBER_COMMAND_FAILED', `Member ${who} has no GNU tar (tar is missing, or tar --version does not say GNU tar); the restore needs it to unpack the stream. Nothing was written.`, { target: member.name, hint: 'Install GNU tar on the member (Debian: apt-get install tar; RHEL: dnf install tar).' });
    case TARGET_MISSING: throw new AzbError('AZB_DIRECTORY_NOT_FOUND', `The target ${target} does not exist on member ${who}. Nothing was written.`, { target, hint: `Create the folder on the member first (mkdir -p ${target}), or give one that exists.` });
    case TARGET_NOT_DIR: throw new AzbError('AZB_ARGS_INVALID', `The target ${target} on member ${who} is not a folder. Nothing was written.`, { target, hint: 'Give the path of a folder on the member.' });
    case TARGET_NOT_WRITABLE: throw new AzbError('AZB_RESTORE_TARGET_NOT_WRITABLE', `The account ${member.user ?? '(ssh default)'} cannot write to ${target} on member ${who}. Nothing was written.`, { target, hint: 'Give a folder that account can write to, or add the member with an account that can (root restores owners too).' });
    default: throw memberCommandFailed(member, 'sh', end, ' while the target folder was checked; nothing was written');
  }
}

/** `\ooo` escapes of every byte but [A-Za-z0-9._/-]: the path for printf in the removal command, ASCII only. */
function printfEscaped(path: Buffer): string {
  return [...path].map((b) => (/[A-Za-z0-9._/-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('');
}

/** Removes the file the cut stream left short on the member; says what happened, for the error message. */
async function removeCutFile(member: Member, target: string, path: Buffer): Promise<string> {
  const shown = `${target.replace(/\/+$/, '')}/${path.toString('utf8')}`;
  // The trailing x keeps a name ending in a newline whole through $(...).
  const script = 'p=$(printf "$2"; echo x); f="$1/${p%x}"; if [ -f "$f" ] && [ ! -L "$f" ]; then rm -f -- "$f"; fi';
  const run = runOnMember(member, ['sh', '-c', script, 'sh', target, printfEscaped(path)]);
  run.stdout.resume();
  const end = await run.done;
  if (end.status === 0) return ` The files before it on member ${member.name} were written whole; the one cut short, ${shown}, was removed.`;
  return ` The files before it on member ${member.name} were written whole; the one cut short, ${shown}, could not be removed (${end.connectionError?.message ?? `status ${String(end.status)}`}): it is incomplete, remove it by hand.`;
}

/** The member's tar ended before the stream did, or failed at its end: the coded error for it. */
function memberFailure(member: Member, end: MemberRunEnd, stats: TarExportStats | undefined, sentBytes: number): AzbError {
  if (end.connectionError) return end.connectionError;
  if (end.stopped) return new AzbError('AZB_CANCELLED', `The restore to member ${member.name} was stopped after ${sentBytes} bytes of the tar stream; what was written so far is on the member, the file being written may be incomplete.`, { target: member.name, hint: 'Run it again when ready.' });
  const what = stats ? ` after the whole stream (${stats.files} files, ${stats.bytes} bytes)` : ` after ${sentBytes} bytes of the tar stream; the restore is incomplete`;
  return memberCommandFailed(member, 'tar -x', end, what);
}

/**
 * Streams a planned export into the member's tar. Resolves with the export's counts once the member's
 * tar has exited 0; throws a coded error otherwise.
 */
export async function exportToMember(repo: ServerRepo, plan: TarExportPlan, member: Member, target: string, o: { signal: AbortSignal; sink: EventSink; clearSetuid: boolean }): Promise<TarExportStats> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (o.signal.aborted) onAbort(); else o.signal.addEventListener('abort', onAbort, { once: true });
  const argv = memberTarArgv(target, plan.hasXattrs);
  o.sink.log(`Streaming ${plan.members.length} entries of recovery point ${plan.point.id.slice(0, 12)}… to 'tar -x' in ${target} on member ${describeMember(member)} over ssh.`);
  const run = runOnMember(member, argv, { signal: stop.signal, stdin: true });
  const stdin = run.stdin as Writable;
  stdin.on('error', () => undefined); // EPIPE once ssh ended: reported from how ssh ended
  run.stdout.resume(); // tar -x without -v prints nothing there
  // ssh ending early (the member's tar failed, the connection was cut) must end the export too.
  let ended: MemberRunEnd | undefined;
  const done = run.done.then((end) => { ended = end; if (!stdin.writableFinished) stdin.destroy(new Error('ssh ended before the tar stream did')); return end; });
  const progress: TarExportProgress = { openFile: undefined, bytesOut: 0 };
  try {
    let stats: TarExportStats;
    try {
      const exporting = writeTarExport(repo, plan, stdin, { signal: stop.signal, sink: o.sink, progress, clearSetuid: o.clearSetuid });
      exporting.catch(() => undefined);
      // ssh ending first fails the restore at once, whatever the export is waiting for.
      stats = await Promise.race([exporting, done.then(() => { throw new Error('ssh ended before the tar stream did'); })]);
      await new Promise<void>((resolve) => stdin.end(() => resolve()));
    } catch (err) {
      if (ended !== undefined || stdin.destroyed) {
        // The member's side failed first: that is the error (the export only saw a closed pipe).
        throw memberFailure(member, await done, undefined, progress.bytesOut);
      }
      if (err instanceof AzbError && err.code === 'AZB_CANCELLED') { stop.abort(); await done; throw err; }
      // The export failed (vault side): end the stream where it is, so the whole files before arrive,
      // let the member's tar fail on the short one, then remove that one.
      stdin.end();
      const timer = setTimeout(() => stop.abort(), CUT_GRACE_MS);
      const end = await done;
      clearTimeout(timer);
      for (const l of end.stderrTail) o.sink.log(`${member.name}: ${l}`);
      const cut = progress.openFile;
      let after = ` Nothing after it was sent to member ${member.name}.`;
      if (cut !== undefined) after = end.connectionError ? ` The connection to member ${member.name} failed too (${end.connectionError.message}); ${target}/${cut.toString('utf8')} may be there incomplete.` : await removeCutFile(member, target, cut);
      if (err instanceof AzbError) throw new AzbError(err.code, `${err.message}${after}`, { ...(err.target !== undefined ? { target: err.target } : {}), ...(err.hint !== undefined ? { hint: err.hint } : {}) });
      throw err;
    }
    const end = await done;
    for (const l of end.stderrTail) o.sink.log(`${member.name}: ${l}`);
    if (end.status !== 0 || end.connectionError || end.stopped) throw memberFailure(member, end, stats, progress.bytesOut);
    o.sink.log(`Member ${member.name}: tar -x exited 0 after ${progress.bytesOut} bytes of tar stream (${stats.files} files, ${stats.bytes} bytes of content).`);
    return stats;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    if (ended === undefined) { stop.abort(); await done; }
  }
}
