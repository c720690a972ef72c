// Members: named SSH endpoints the protection server reaches (README "Members over SSH"). Each is
// members/<name>.json in the configuration home (FORMAT.md section 11), beside members/known_hosts,
// AzBackup's own host keys. Nothing secret is stored: the identity file is named by its path only.
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { homeDir, writePrivate } from '../config/home.js';
import { AzbError, fileError } from '../protocol/errors.js';

/** One member as stored. */
export interface Member {
  name: string;
  host: string;
  port: number;
  /** The account on the member; absent: ssh's default (the local account's name). */
  user?: string;
  /** Absolute path of the private key ssh offers (the key stays where the admin keeps it). */
  identityFile: string;
  /** SHA256 fingerprints of the host keys trusted for it, as ssh-keygen -l prints them. */
  hostKeyFingerprints: string[];
  /** How the host key came to be trusted: given by the admin, or accepted on first use. */
  hostKeyTrust: 'Fingerprint' | 'FirstUse';
  added: string;
}

export const DEFAULT_SSH_PORT = 22;

export function membersDir(): string {
  return join(homeDir(), 'members');
}

/** AzBackup's own known_hosts file: the only one ssh consults for a member. */
export function knownHostsPath(): string {
  return join(membersDir(), 'known_hosts');
}

function memberPath(name: string): string {
  return join(membersDir(), `${name}.json`);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// A DNS name, an IPv4 address or an IPv6 address (without brackets). Never starting with '-': ssh
// would read it as an option.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
// POSIX account names, and Windows ones (DOMAIN\user, user@domain).
const USER = /^[A-Za-z0-9_][A-Za-z0-9._@\\$-]{0,255}$/;
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

function invalid(target: string, message: string, hint: string): AzbError {
  return new AzbError('AZB_ARGS_INVALID', message, { target, hint });
}

/** Checks a member name (a file name in the home, and a word in messages). */
export function checkMemberName(name: string): string {
  if (!NAME.test(name)) throw invalid('name', `'${name}' is not a usable member name.`, 'Use 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit, e.g. db01.');
  return name;
}

export interface MemberEndpoint { host: string; port?: number; user?: string; identityFile: string }

/** Checks the endpoint of a new member and returns it with the identity file as an absolute path. */
export async function checkEndpoint(e: MemberEndpoint): Promise<{ host: string; port: number; user?: string; identityFile: string }> {
  if (!HOST.test(e.host) || e.host.length > 253) throw invalid('host', `'${e.host}' is not a host name or IP address.`, 'Give a DNS name or an IP address, e.g. db01.contoso.com or 10.0.0.5 (the port goes in --port).');
  const port = e.port ?? DEFAULT_SSH_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('port', `Port ${port} is not between 1 and 65535.`, `Leave it out for ${DEFAULT_SSH_PORT}.`);
  if (e.user !== undefined && !USER.test(e.user)) throw invalid('user', `'${e.user}' is not an account name.`, 'Give the account ssh logs in as, e.g. backup or CONTOSO\\backup.');
  const identityFile = isAbsolute(e.identityFile) ? e.identityFile : resolve(e.identityFile);
  if (identityFile.includes('\0') || /[\r\n]/.test(identityFile)) throw invalid('identityFile', 'The identity file path holds a control character.', 'Give the path of the private key file.');
  let st;
  try { st = await stat(identityFile); } catch (err) { throw fileError(err, identityFile, 'Identity file'); }
  if (!st.isFile()) throw invalid('identityFile', `The identity file ${identityFile} is not a file.`, 'Give the path of the private key file (not the .pub).');
  return { host: e.host.toLowerCase(), port, ...(e.user !== undefined ? { user: e.user } : {}), identityFile };
}

/** A stored member, or undefined. */
export async function findMember(name: string): Promise<Member | undefined> {
  if (!NAME.test(name)) return undefined;
  try {
    return JSON.parse(await readFile(memberPath(name), 'utf8')) as Member;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AzbError('AZB_HOME_UNUSABLE', `The member file ${memberPath(name)} cannot be read: ${(err as Error).message}.`, { target: memberPath(name), hint: 'Remove the file and add the member again.' });
  }
}

/** A stored member; AZB_MEMBER_NOT_FOUND (with the names there are) when there is none of that name. */
export async function requireMember(name: string): Promise<Member> {
  const m = await findMember(name);
  if (m) return m;
  const names = (await listMembers()).map((x) => x.name);
  throw new AzbError('AZB_MEMBER_NOT_FOUND', `There is no member named '${name}'.${names.length > 0 ? ` Members: ${names.join(', ')}.` : ' No member has been added.'}`, {
    target: name, hint: 'Add it with: azbackup member add NAME --host HOST --identity-file KEY --host-key-fingerprint SHA256:...',
  });
}

/** Every stored member, by name. */
export async function listMembers(): Promise<Member[]> {
  let names: string[];
  try { names = await readdir(membersDir()); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, membersDir(), 'Members folder');
  }
  const out: Member[] = [];
  for (const f of names.filter((n) => n.endsWith('.json')).sort()) {
    const m = await findMember(f.slice(0, -'.json'.length));
    if (m) out.push(m);
  }
  return out;
}

export async function saveMember(m: Member): Promise<void> {
  await writePrivate(memberPath(m.name), JSON.stringify(m, null, 2) + '\n', 'Member file');
}

/** Removes a member's file; true when there was one. */
export async function deleteMember(name: string): Promise<boolean> {
  try { await unlink(memberPath(name)); return true; } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError(err, memberPath(name), 'Member file');
  }
}

/** The host name as known_hosts and ssh-keyscan write it: host, or [host]:port off port 22. */
export function knownHostsName(m: { host: string; port: number }): string {
  return m.port === DEFAULT_SSH_PORT ? m.host : `[${m.host}]:${m.port}`;
}

/** The text shown for a member in messages: name (user@host:port). */
export function describeMember(m: Member): string {
  return `${m.name} (${m.user ? `${m.user}@` : ''}${m.host}:${m.port})`;
}
