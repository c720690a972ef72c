// `member add|list|remove|test`: the SSH endpoints this protection server reaches (README "Members
// over SSH"). A member's host key is trusted only when the admin vouches for it: its fingerprint given
// with --host-key-fingerprint, or --accept-new-host-key (trust on first use, said in the output).
import { AzbError } from '../protocol/errors.js';
import { checkEndpoint, checkMemberName, deleteMember, describeMember, findMember, FINGERPRINT, listMembers, requireMember, saveMember, type Member } from '../member/members.js';
import { knownKeysFor, readKnownHosts, scanHostKeys, testMember, updateKnownHosts, type HostKey } from '../member/ssh.js';
import { now } from '../clock.js';
import type { Command } from './command.js';

export interface MemberAddArgs { name: string; host: string; port?: number; user?: string; identityFile: string; hostKeyFingerprint?: string; acceptNewHostKey?: boolean }

/** A member as results show it. */
function memberData(m: Member): Record<string, unknown> {
  return { name: m.name, host: m.host, port: m.port, ...(m.user ? { user: m.user } : {}), identityFile: m.identityFile, hostKeyFingerprints: m.hostKeyFingerprints, hostKeyTrust: m.hostKeyTrust, added: m.added };
}

const HOW_TO_CHECK = 'On the member, print its host key fingerprints with: for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$f"; done (Windows: C:\\ProgramData\\ssh). Then give the one you read there with --host-key-fingerprint SHA256:...';

/**
 * The keys to trust for a new member: those known_hosts already holds for the endpoint (another member
 * on it), else the scanned key whose fingerprint the admin gave, else, on --accept-new-host-key, all
 * the scanned keys. Anything else is refused.
 */
function keysToTrust(name: string, where: string, scanned: HostKey[], known: HostKey[], args: MemberAddArgs): { keys: HostKey[]; trust: Member['hostKeyTrust'] } {
  const seen = scanned.map((k) => `${k.fingerprint} (${k.type})`).join(', ');
  if (known.length > 0) {
    const still = scanned.filter((k) => known.some((n) => n.line === k.line));
    if (still.length === 0) {
      throw new AzbError('AZB_MEMBER_HOST_KEY_CHANGED', `${where} now offers ${seen}, not the key AzBackup already trusts for it (${known.map((k) => k.fingerprint).join(', ')}, for another member on the same host and port). Nothing was added.`, {
        target: name, hint: 'Check the key on the member; if it truly changed, remove every member on that host and port and add them again with --host-key-fingerprint.',
      });
    }
  }
  if (args.hostKeyFingerprint !== undefined) {
    const match = scanned.filter((k) => k.fingerprint === args.hostKeyFingerprint);
    if (match.length === 0) {
      throw new AzbError('AZB_MEMBER_HOST_KEY_UNKNOWN', `${where} offers ${seen}; none is the fingerprint given, ${args.hostKeyFingerprint}. This can be a wrong fingerprint, another host, or an attacker in the middle. Nothing was added.`, { target: name, hint: HOW_TO_CHECK });
    }
    return { keys: match, trust: 'Fingerprint' };
  }
  if (known.length > 0) return { keys: scanned.filter((k) => known.some((n) => n.line === k.line)), trust: 'Fingerprint' };
  if (args.acceptNewHostKey) return { keys: scanned, trust: 'FirstUse' };
  throw new AzbError('AZB_MEMBER_HOST_KEY_UNKNOWN', `${where} offers the host key${scanned.length === 1 ? '' : 's'} ${seen}, which AzBackup does not know. Nothing was added.`, {
    target: name, hint: `${HOW_TO_CHECK} (Or, on a network you trust, --accept-new-host-key to trust it on first use.)`,
  });
}

export const memberAddCommand: Command<MemberAddArgs> = {
  name: 'member.add',
  argsSchema: 'azbackup:args.member.add',
  secrets: [],
  human: { result: (_k, d) => `Member ${String(d['name'])} added: ${String(d['host'])}:${String(d['port'])}, host key ${(d['hostKeyFingerprints'] as string[]).join(', ')}${d['hostKeyTrust'] === 'FirstUse' ? ' (trusted on first use)' : ''}. Check it with: azbackup member test ${String(d['name'])}` },
  async run(ctx, args) {
    const name = checkMemberName(args.name);
    if (args.hostKeyFingerprint !== undefined && !FINGERPRINT.test(args.hostKeyFingerprint)) {
      throw new AzbError('AZB_ARGS_INVALID', `'${args.hostKeyFingerprint}' is not an SHA256 host key fingerprint.`, { target: 'hostKeyFingerprint', hint: 'Give it as ssh-keygen -lf prints it: SHA256: and 43 base64 characters.' });
    }
    if (args.hostKeyFingerprint !== undefined && args.acceptNewHostKey) {
      throw new AzbError('AZB_ARGS_INVALID', 'Give either --host-key-fingerprint or --accept-new-host-key, not both.', { target: 'acceptNewHostKey', hint: 'The fingerprint is the safer one: the key is then checked, not taken on trust.' });
    }
    if (await findMember(name)) {
      throw new AzbError('AZB_MEMBER_EXISTS', `A member named '${name}' already exists.`, { target: name, hint: `Remove it first (azbackup member remove ${name}), or choose another name.` });
    }
    const endpoint = await checkEndpoint(args);
    const where = `Member ${name} at ${endpoint.host}:${endpoint.port}`;
    const scanned = await scanHostKeys({ ...endpoint, name });
    const known = knownKeysFor(await readKnownHosts(), endpoint);
    const { keys, trust } = keysToTrust(name, where, scanned, known, args);
    if (trust === 'FirstUse') {
      ctx.sink.warning('AZB_MEMBER_HOST_KEY_TRUSTED_ON_FIRST_USE', `${where}: its host key${keys.length === 1 ? '' : 's'} ${keys.map((k) => `${k.fingerprint} (${k.type})`).join(', ')} ${keys.length === 1 ? 'is' : 'are'} trusted on first use (--accept-new-host-key), without a check; compare with the member when you can.`, name);
    }
    await updateKnownHosts({ add: keys });
    const member: Member = { name, ...endpoint, hostKeyFingerprints: [...new Set(keys.map((k) => k.fingerprint))], hostKeyTrust: trust, added: now().toISOString() };
    await saveMember(member);
    ctx.sink.result('Member', memberData(member));
    return ctx.sink.warnings > 0 ? 3 : 0;
  },
};

export const memberListCommand: Command<Record<string, never>> = {
  name: 'member.list',
  argsSchema: 'azbackup:args.member.list',
  secrets: [],
  human: { item: (_k, d) => `${String(d['name'])}\t${d['user'] ? `${String(d['user'])}@` : ''}${String(d['host'])}:${String(d['port'])}\t${(d['hostKeyFingerprints'] as string[]).join(', ')}` },
  async run(ctx) {
    for (const m of await listMembers()) ctx.sink.item('Member', memberData(m));
    return 0;
  },
};

export const memberRemoveCommand: Command<{ name: string }> = {
  name: 'member.remove',
  argsSchema: 'azbackup:args.member.remove',
  secrets: [],
  human: { result: (_k, d) => `Member ${String(d['name'])} removed${Number(d['knownHostKeysRemoved']) > 0 ? `, with its ${String(d['knownHostKeysRemoved'])} host key(s)` : ''}.` },
  async run(ctx, args) {
    const m = await requireMember(args.name);
    // Its host keys go too, unless another member uses the same host and port.
    const shared = (await listMembers()).some((o) => o.name !== m.name && o.host === m.host && o.port === m.port);
    await deleteMember(m.name);
    const removed = shared ? 0 : await updateKnownHosts({ removeFor: m });
    ctx.sink.result('RemovedMember', { name: m.name, knownHostKeysRemoved: removed });
    return 0;
  },
};

export const memberTestCommand: Command<{ name: string }> = {
  name: 'member.test',
  argsSchema: 'azbackup:args.member.test',
  secrets: [],
  human: { result: (_k, d) => `OK: ${String(d['message'])}` },
  async run(ctx, args) {
    const m = await requireMember(args.name);
    await testMember(m, { signal: ctx.signal });
    ctx.sink.result('MemberTest', { name: m.name, host: m.host, port: m.port, ok: true, message: `Member ${describeMember(m)} answered over ssh with its trusted host key.` });
    return 0;
  },
};
