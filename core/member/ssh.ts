// The SSH layer for members: the system OpenSSH client (README "Members over SSH", "Dependencies"),
// with host-key checking always on against AzBackup's own known_hosts, and ssh's failures turned into
// coded errors. Only the identity file's path is ever passed to ssh; no secret is in its arguments or
// environment (the environment is the engine's without AzBackup's secrets, as for snapshot commands).
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { writePrivate } from '../config/home.js';
import { AzbError, fileError } from '../protocol/errors.js';
import { childEnvironment } from '../child-env.js';
import { describeMember, knownHostsName, knownHostsPath, type Member } from './members.js';

/** Seconds ssh waits for the TCP connection and ssh-keyscan for an answer. */
export const CONNECT_TIMEOUT_SECONDS = 15;
/** Keep-alives: a connection whose peer stopped answering ends after about a minute, not never. */
const SERVER_ALIVE_INTERVAL = 15;
const SERVER_ALIVE_COUNT_MAX = 4;
/** Lines of ssh's (and the remote command's) error output a failure message quotes. */
const TAIL_LINES = 5;
/** The longest stderr line kept. */
const MAX_LINE = 1000;

/**
 * The ssh options of every connection to a member. -F none: the account's ~/.ssh/config does not apply,
 * so a member behaves the same for the scheduler (root, no profile) as for an admin at a prompt; host
 * keys come from AzBackup's known_hosts only and are never learned or updated by ssh itself.
 */
export function sshArguments(m: Member, connectTimeoutSeconds = CONNECT_TIMEOUT_SECONDS): string[] {
  const o = (kv: string) => ['-o', kv];
  return [
    '-F', 'none', '-T', '-x', '-a',
    ...o('BatchMode=yes'), ...o('StrictHostKeyChecking=yes'), ...o(`UserKnownHostsFile=${knownHostsPath()}`), ...o('GlobalKnownHostsFile=/dev/null'),
    ...o('UpdateHostKeys=no'), ...o('CheckHostIP=no'), ...o('HashKnownHosts=no'),
    ...o(`ConnectTimeout=${connectTimeoutSeconds}`), ...o(`ServerAliveInterval=${SERVER_ALIVE_INTERVAL}`), ...o(`ServerAliveCountMax=${SERVER_ALIVE_COUNT_MAX}`),
    ...o('IdentitiesOnly=yes'), ...o(`IdentityFile=${m.identityFile}`), ...o('PasswordAuthentication=no'), ...o('KbdInteractiveAuthentication=no'),
    ...o('ControlMaster=no'), ...o('ControlPath=none'), ...o('ClearAllForwardings=yes'), ...o('PermitLocalCommand=no'),
    '-p', String(m.port), ...(m.user ? ['-l', m.user] : []), '--', m.host,
  ];
}

/**
 * One argument for the member's shell: ssh joins its arguments with spaces and the remote shell parses
 * the line again, so each is single-quoted, with an embedded ' written as '\'' (POSIX sh rules; a
 * Windows member whose default shell is cmd.exe parses differently, README "Members over SSH").
 */
export function quoteRemoteArgument(a: string): string {
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The remote command line of argv, every word quoted. */
export function remoteCommandLine(argv: readonly string[]): string {
  return argv.map(quoteRemoteArgument).join(' ');
}

/** How a command on a member ended. */
export interface MemberRunEnd {
  /** The exit status ssh reported: the remote command's, or 255 when ssh itself failed. */
  status: number | null;
  /** The signal that ended ssh, if one did. */
  signal: NodeJS.Signals | null;
  /** The caller's signal stopped the run (ssh, ended by SIGTERM, then exits 255 or by the signal). */
  stopped: boolean;
  /** The last lines of the error output (ssh's and the remote command's). */
  stderrTail: string[];
  /** What went wrong with the connection (host key, authentication, reachability), when ssh said so. */
  connectionError?: AzbError;
}

/**
 * A command running on a member: its output, and how it ends (never rejects). `stdin` is the
 * command's input when it was asked for (an error on it, such as EPIPE once ssh ended, is the
 * writer's to handle; `done` reports the end either way).
 */
export interface MemberRun { stdout: Readable; stdin?: Writable; done: Promise<MemberRunEnd> }

export interface MemberRunOptions {
  signal?: AbortSignal;
  connectTimeoutSeconds?: number;
  /** Give the command an input stream (MemberRun.stdin); otherwise its input is empty. */
  stdin?: boolean;
}

/**
 * Runs argv on a member (each argument quoted for its shell) and hands back its output as a stream.
 * `done` settles once ssh has ended and its output pipes are closed; a `signal` abort ends ssh.
 */
export function runOnMember(member: Member, argv: readonly string[], opts: MemberRunOptions = {}): MemberRun {
  if (argv.length === 0) throw new AzbError('AZB_ARGS_INVALID', 'No command to run on the member.', { target: 'remoteCommand' });
  return runRemoteLine(member, remoteCommandLine(argv), opts);
}

function runRemoteLine(member: Member, line: string, opts: MemberRunOptions): MemberRun {
  const child = spawn('ssh', [...sshArguments(member, opts.connectTimeoutSeconds), line], { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: childEnvironment(), windowsHide: true });
  let stopped = false;
  const onAbort = () => { stopped = true; child.kill('SIGTERM'); };
  if (opts.signal?.aborted) onAbort(); else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const tail: string[] = [];
  let partial = '';
  const keep = (l: string) => {
    const t = l.replace(/\r$/, '');
    if (t.trim() === '') return;
    tail.push(t.length > MAX_LINE ? `${t.slice(0, MAX_LINE)}…` : t);
    // The banner of a changed host key is two dozen lines; classify() needs its first line, so a few
    // more than the tail are kept until the end.
    if (tail.length > 40) tail.shift();
  };
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    const lines = (partial + t).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > MAX_LINE) { keep(partial); partial = ''; }
    lines.forEach(keep);
  });
  const done = new Promise<MemberRunEnd>((resolve) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => { spawnError = err as NodeJS.ErrnoException; });
    child.on('close', (status, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      keep(partial);
      if (spawnError) {
        const notFound = spawnError.code === 'ENOENT';
        resolve({ status: null, signal: null, stopped, stderrTail: [], connectionError: new AzbError(notFound ? 'AZB_SOURCE_COMMAND_NOT_FOUND' : 'AZB_MEMBER_UNREACHABLE', notFound ? 'The OpenSSH client (ssh) is not installed on this server, so no member can be reached.' : `ssh could not be started: ${spawnError.message}.`, { target: 'ssh', hint: 'Install the OpenSSH client (Debian: apt-get install openssh-client; Windows: the OpenSSH.Client capability).' }) });
        return;
      }
      const connectionError = status === 255 && !stopped ? classifySshFailure(member, tail) : undefined;
      resolve({ status, signal, stopped, stderrTail: tail.slice(-TAIL_LINES), ...(connectionError ? { connectionError } : {}) });
    });
  });
  return { stdout: child.stdout!, ...(opts.stdin && child.stdin ? { stdin: child.stdin } : {}), done };
}

/**
 * The coded error for what ssh printed when it exited 255 before or while running the command, or
 * undefined when it says nothing known (a connection cut mid-stream, or a command that exits 255).
 */
export function classifySshFailure(m: Member, stderr: readonly string[]): AzbError | undefined {
  const text = stderr.join('\n');
  const who = describeMember(m);
  const last = stderr.filter((l) => !/^@+$|^@\s/.test(l)).slice(-2).join(' ');
  if (/No \S+ host key is known for/.test(text)) {
    return new AzbError('AZB_MEMBER_HOST_KEY_UNKNOWN', `Member ${who}: AzBackup knows no host key of this kind for it, so ssh refused to connect (${last}).`, {
      target: m.name, hint: `Remove the member and add it again with --host-key-fingerprint (the fingerprint shown by ssh-keygen -lf on the member's host key .pub file).`,
    });
  }
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|Host key for .* has changed/.test(text)) {
    const seen = /(SHA256:[A-Za-z0-9+/]{43})/.exec(text)?.[1];
    return new AzbError('AZB_MEMBER_HOST_KEY_CHANGED', `Member ${who}: its host key is not the one AzBackup trusts${seen ? ` (it now offers ${seen}; trusted: ${m.hostKeyFingerprints.join(', ')})` : ''}. This can be an attacker in the middle, or a reinstalled member; nothing was run on it.`, {
      target: m.name, hint: 'Check the new key on the member (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); if it is right, remove the member and add it again with --host-key-fingerprint. A changed key is never accepted by itself.',
    });
  }
  if (/Permission denied|UNPROTECTED PRIVATE KEY FILE|Load key .*: (bad permissions|invalid format|incorrect passphrase)|Too many authentication failures/.test(text)) {
    const badKey = /UNPROTECTED PRIVATE KEY FILE|bad permissions/.test(text);
    return new AzbError('AZB_MEMBER_AUTH_FAILED', `Member ${who}: ssh could not log in with the identity file ${m.identityFile} (${last}).`, {
      target: m.name, hint: badKey ? `Make the identity file readable by its owner only: chmod 600 ${m.identityFile}.` : `Put the public key (${m.identityFile}.pub) in the member's authorized_keys for ${m.user ?? 'this account'}; a key with a passphrase must be loaded into ssh-agent.`,
    });
  }
  if (/ssh: connect to host|Could not resolve hostname|Connection timed out|kex_exchange_identification|Connection closed by .* port \d+\s*$|No route to host|Network is unreachable/m.test(text) && !/Connection to .* closed by remote host/.test(text)) {
    return new AzbError('AZB_MEMBER_UNREACHABLE', `Member ${who} cannot be reached (${last}).`, {
      target: m.name, hint: `Check that the member is up, that its SSH server listens on port ${m.port} and that no firewall is in the way (ConnectTimeout ${CONNECT_TIMEOUT_SECONDS} s).`,
    });
  }
  return undefined;
}

/** Runs the no-op `exit 0` on a member (every shell knows it); throws the coded failure. */
export async function testMember(m: Member, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const run = runRemoteLine(m, 'exit 0', opts);
  run.stdout.resume();
  const end = await run.done;
  if (end.connectionError) throw end.connectionError;
  if (end.status !== 0) throw memberCommandFailed(m, 'exit 0', end);
}

/** AZB_MEMBER_COMMAND_FAILED for a command that did not end well (the command's name only, not its arguments). */
export function memberCommandFailed(m: Member, command: string, end: MemberRunEnd, after = ''): AzbError {
  const how = end.stopped ? 'was stopped' : end.signal ? `ended by ${end.signal}` : end.status === 255 ? 'ended with status 255: the SSH connection was lost, or the command exited 255' : `exited with status ${String(end.status)}`;
  const tail = end.stderrTail.length > 0 ? ` Last error output: ${end.stderrTail.join(' | ')}` : '';
  return new AzbError('AZB_MEMBER_COMMAND_FAILED', `On member ${describeMember(m)}, '${command}' ${how}${after}.${tail}`, {
    target: m.name, hint: `Run it by hand to see why: ssh ${m.user ? `${m.user}@` : ''}${m.host} -p ${m.port} ${command} ...`,
  });
}

/** One host key as ssh-keyscan prints it, with its SHA256 fingerprint. */
export interface HostKey { line: string; type: string; fingerprint: string }

/** The SHA256 fingerprint of a base64 public key blob, as ssh-keygen -l prints it. */
export function fingerprintOf(base64Key: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(base64Key, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

function parseKeyLine(line: string): HostKey | undefined {
  const [, type, key] = line.trim().split(/\s+/);
  if (!type || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return undefined;
  return { line: line.trim(), type, fingerprint: fingerprintOf(key) };
}

/** The host keys a member offers now, fetched with ssh-keyscan (nothing is trusted here). */
export async function scanHostKeys(m: { host: string; port: number; name: string }): Promise<HostKey[]> {
  const out = await new Promise<{ stdout: string; stderr: string; error?: NodeJS.ErrnoException }>((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn('ssh-keyscan', ['-T', String(CONNECT_TIMEOUT_SECONDS), '-p', String(m.port), '--', m.host], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment(), windowsHide: true });
    let error: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => { error = err as NodeJS.ErrnoException; });
    child.stdout.setEncoding('utf8').on('data', (t: string) => { stdout += t; });
    child.stderr!.setEncoding('utf8').on('data', (t: string) => { stderr += t; });
    child.on('close', () => resolve({ stdout, stderr, ...(error ? { error } : {}) }));
  });
  if (out.error) {
    throw new AzbError('AZB_SOURCE_COMMAND_NOT_FOUND', `ssh-keyscan could not be started (${out.error.code ?? out.error.message}); it fetches the member's host key.`, { target: 'ssh-keyscan', hint: 'Install the OpenSSH client (Debian: apt-get install openssh-client; Windows: the OpenSSH.Client capability).' });
  }
  const name = knownHostsName(m);
  const keys = out.stdout.split('\n').filter((l) => l.startsWith(`${name} `)).map(parseKeyLine).filter((k): k is HostKey => k !== undefined);
  if (keys.length === 0) {
    const why = out.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).slice(-2).join(' ');
    throw new AzbError('AZB_MEMBER_UNREACHABLE', `Member ${m.name} at ${m.host}:${m.port} offered no host key${why ? ` (${why})` : ''}.`, {
      target: m.name, hint: `Check that the member is up, that its SSH server listens on port ${m.port} and that no firewall is in the way.`,
    });
  }
  return keys;
}

/** The lines of AzBackup's known_hosts. */
export async function readKnownHosts(): Promise<string[]> {
  try {
    return (await readFile(knownHostsPath(), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, knownHostsPath(), 'known_hosts file');
  }
}

/** The keys known_hosts holds for an endpoint. */
export function knownKeysFor(lines: readonly string[], m: { host: string; port: number }): HostKey[] {
  const name = knownHostsName(m);
  return lines.filter((l) => l.split(/\s+/)[0] === name).map(parseKeyLine).filter((k): k is HostKey => k !== undefined);
}

/** Adds keys for an endpoint to known_hosts (each once) and/or drops every key of `removeFor`. */
export async function updateKnownHosts(change: { add?: readonly HostKey[]; removeFor?: { host: string; port: number } }): Promise<number> {
  const lines = await readKnownHosts();
  const drop = change.removeFor ? knownHostsName(change.removeFor) : undefined;
  const kept = drop ? lines.filter((l) => l.split(/\s+/)[0] !== drop) : [...lines];
  for (const k of change.add ?? []) if (!kept.includes(k.line)) kept.push(k.line);
  await writePrivate(knownHostsPath(), kept.map((l) => `${l}\n`).join(''), 'known_hosts file');
  return lines.length - kept.length + (change.add?.length ?? 0);
}
