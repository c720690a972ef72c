// Members over SSH with a real sshd on loopback as the member (test/helpers/mounts.ts startSshd) and
// the system OpenSSH client: host keys learned only against a fingerprint (or on first use, said),
// a changed key refused, the coded failures of an unreachable member and a refused key, and dumps
// streamed from the member into a recovery point and restored bit-identical, or refused whole when
// the command or the connection fails mid-stream.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, parseEvents, resultOf, startEngine, type EngineRun } from '../helpers/engine.js';
import { Mounts, startSshd, type Sshd } from '../helpers/mounts.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

function fingerprintOfPub(pub: string): string {
  const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' }))?.[1];
  if (!fp) throw new Error(`no fingerprint for ${pub}`);
  return fp;
}

function items(run: EngineRun, kind: string): Record<string, unknown>[] {
  return run.events.filter((e) => e.type === 'item' && e.kind === kind).map((e) => (e as { data: Record<string, unknown> }).data);
}

/** Every process below pid (children, grandchildren, ...). */
function descendants(pid: number): number[] {
  let out: string;
  try { out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }); } catch { return []; }
  const kids = out.split('\n').filter(Boolean).map(Number);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) await sleep(100);
  if (!ok()) throw new Error(`gave up waiting for ${what}`);
}

describe('members over SSH', () => {
  let mounts: Mounts;
  let sshd: Sshd;
  let fx: VaultFixture;
  let fingerprint: string;
  let work: string;

  beforeAll(async () => {
    mounts = new Mounts();
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
    fingerprint = fingerprintOfPub(`${sshd.hostKey}.pub`);
    fx = await registeredServer({ hostname: 'protect01' });
    mounts.onCleanup(() => rmSync(fx.root, { recursive: true, force: true }));
    work = mounts.folder('work');
  }, 120_000);

  afterAll(() => mounts?.cleanup());

  const add = (name: string, extra: string[], opts: { env?: Record<string, string> } = {}) =>
    fx.az(['member', 'add', name, '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', sshd.clientKey, ...extra], opts);
  const pointCount = async () => (await fx.az(['points'])).events.filter((e) => e.type === 'item').length;
  const restoreLatest = async (name: string): Promise<Buffer> => {
    const target = join(work, `restore-${randomBytes(4).toString('hex')}`);
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    return readFileSync(join(target, name));
  };

  it('refuses a member whose host key nobody vouched for, naming the fingerprint it saw and how to check it', async () => {
    const r = await add('db01', []);
    expect(r.code).toBe(1);
    const e = onlyError(r);
    expect(e.code).toBe('AZB_MEMBER_HOST_KEY_UNKNOWN');
    expect(e.message).toContain(fingerprint);
    expect(e.hint).toContain('ssh-keygen -lf');
    expect(e.hint).toContain('--host-key-fingerprint');
    expect(items(await fx.az(['member', 'list']), 'Member')).toEqual([]);
    expect(existsSync(join(fx.home, 'members', 'db01.json'))).toBe(false);
  });

  it('refuses a fingerprint that is not the key the member offers, and one that is not a fingerprint', async () => {
    const other = fingerprintOfPub(`${sshd.clientKey}.pub`);
    const r = await add('db01', ['--host-key-fingerprint', other]);
    const e = onlyError(r);
    expect(e.code).toBe('AZB_MEMBER_HOST_KEY_UNKNOWN');
    expect(e.message).toContain(other);
    expect(e.message).toContain(fingerprint);
    expect(items(await fx.az(['member', 'list']), 'Member')).toEqual([]);

    const malformed = onlyError(await add('db01', ['--host-key-fingerprint', 'MD5:aa:bb']));
    expect([malformed.code, malformed.target]).toEqual(['AZB_ARGS_INVALID', 'hostKeyFingerprint']);
    const both = onlyError(await add('db01', ['--host-key-fingerprint', fingerprint, '--accept-new-host-key']));
    expect([both.code, both.target]).toEqual(['AZB_ARGS_INVALID', 'acceptNewHostKey']);
  });

  it('refuses bad names, hosts, users and identity files with what was wrong', async () => {
    const cases: [string[], string, string][] = [
      [['member', 'add', '../etc', '--host', '127.0.0.1', '--identity-file', sshd.clientKey], 'AZB_ARGS_INVALID', 'name'],
      [['member', 'add', 'x', '--host=-oProxyCommand=touch /tmp/azb-pwned', '--identity-file', sshd.clientKey], 'AZB_ARGS_INVALID', 'host'],
      [['member', 'add', 'x', '--host', '127.0.0.1', '--user=-oProxyCommand=x', '--identity-file', sshd.clientKey], 'AZB_ARGS_INVALID', 'user'],
      [['member', 'add', 'x', '--host', '127.0.0.1', '--port', '70000', '--identity-file', sshd.clientKey], 'AZB_ARGS_INVALID', ''],
      [['member', 'add', 'x', '--host', '127.0.0.1', '--identity-file', join(work, 'no-such-key')], 'AZB_FILE_NOT_FOUND', join(work, 'no-such-key')],
      [['member', 'add', 'x', '--host', '127.0.0.1', '--identity-file', work], 'AZB_ARGS_INVALID', 'identityFile'],
    ];
    for (const [args, code, target] of cases) {
      const r = await fx.az(args);
      const e = onlyError(r);
      expect(e.code, args.join(' ')).toBe(code);
      if (target) expect(e.target, args.join(' ')).toBe(target);
    }
    expect(existsSync('/tmp/azb-pwned')).toBe(false);
  });

  it('adds a member whose fingerprint matches, stores it owner-only, lists it and tests it', async () => {
    const r = await add('db01', ['--host-key-fingerprint', fingerprint]);
    expect(r.code, r.stdout).toBe(0);
    const m = resultOf(r, 'Member');
    expect(m).toMatchObject({ name: 'db01', host: '127.0.0.1', port: sshd.port, user: 'root', identityFile: sshd.clientKey, hostKeyFingerprints: [fingerprint], hostKeyTrust: 'Fingerprint' });
    for (const f of ['db01.json', 'known_hosts']) expect(statSync(join(fx.home, 'members', f)).mode & 0o777, f).toBe(0o600);
    const known = readFileSync(join(fx.home, 'members', 'known_hosts'), 'utf8');
    expect(known).toBe(`[127.0.0.1]:${sshd.port} ${readFileSync(`${sshd.hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    // The key's path is stored, never the key.
    expect(readFileSync(join(fx.home, 'members', 'db01.json'), 'utf8')).not.toContain('PRIVATE KEY');

    expect(items(await fx.az(['member', 'list']), 'Member').map((x) => x['name'])).toEqual(['db01']);
    const t = await fx.az(['member', 'test', 'db01']);
    expect(t.code, t.stdout).toBe(0);
    expect(resultOf(t, 'MemberTest')).toMatchObject({ name: 'db01', ok: true });

    const again = onlyError(await add('db01', ['--host-key-fingerprint', fingerprint]));
    expect(again.code).toBe('AZB_MEMBER_EXISTS');
  });

  it('says AZB_MEMBER_NOT_FOUND for a name that is not a member', async () => {
    for (const args of [['member', 'test', 'nope'], ['member', 'remove', 'nope'], ['backup', '--member', 'nope', '--remote-command', 'true', '--stdin-name', 'x']]) {
      const e = onlyError(await fx.az(args));
      expect(e.code, args.join(' ')).toBe('AZB_MEMBER_NOT_FOUND');
      expect(e.message).toContain('db01'); // the members there are
    }
  });

  it('trusts a new host key on first use only when told, and says so', async () => {
    const home = join(work, 'tofu-home');
    mkdirSync(home, { recursive: true });
    const r = await add('tofu', ['--accept-new-host-key'], { env: { AZBACKUP_HOME: home } });
    expect(r.code, r.stdout).toBe(3);
    const w = r.events.find((e) => e.type === 'warning') as { code: string; message: string } | undefined;
    expect(w?.code).toBe('AZB_MEMBER_HOST_KEY_TRUSTED_ON_FIRST_USE');
    expect(w?.message).toContain(fingerprint);
    expect(resultOf(r, 'Member')).toMatchObject({ hostKeyTrust: 'FirstUse', hostKeyFingerprints: [fingerprint] });
    const t = await fx.az(['member', 'test', 'tofu'], { env: { AZBACKUP_HOME: home } });
    expect(t.code, t.stdout).toBe(0);
  });

  it('reports an unreachable member, then a changed host key, and never accepts the new key', async () => {
    const dir = mounts.folder('sshd-moving');
    const moving = await startSshd(dir);
    const fp = fingerprintOfPub(`${moving.hostKey}.pub`);
    const r = await fx.az(['member', 'add', 'moving', '--host', '127.0.0.1', '--port', String(moving.port), '--user', 'root', '--identity-file', moving.clientKey, '--host-key-fingerprint', fp]);
    expect(r.code, r.stdout).toBe(0);
    moving.stop();
    await moving.stopped;

    const down = onlyError(await fx.az(['member', 'test', 'moving']));
    expect(down.code).toBe('AZB_MEMBER_UNREACHABLE');
    expect(down.message).toContain('moving');
    expect(down.message).toContain('Connection refused');
    const addDown = onlyError(await fx.az(['member', 'add', 'gone', '--host', '127.0.0.1', '--port', String(moving.port), '--identity-file', moving.clientKey, '--accept-new-host-key']));
    expect(addDown.code).toBe('AZB_MEMBER_UNREACHABLE');

    const knownBefore = readFileSync(join(fx.home, 'members', 'known_hosts'), 'utf8');
    const reinstalled = await startSshd(dir, { port: moving.port, newHostKey: true });
    mounts.onCleanup(() => reinstalled.stop());
    const newFp = fingerprintOfPub(`${reinstalled.hostKey}.pub`);
    expect(newFp).not.toBe(fp);
    const changed = onlyError(await fx.az(['member', 'test', 'moving']));
    expect(changed.code).toBe('AZB_MEMBER_HOST_KEY_CHANGED');
    expect(changed.message).toContain(newFp);
    expect(changed.message).toContain(fp);
    const before = await pointCount();
    const backup = onlyError(await fx.az(['backup', '--member', 'moving', '--remote-command', 'echo', '--remote-arg', 'secret data', '--stdin-name', 'x.txt']));
    expect(backup.code).toBe('AZB_MEMBER_HOST_KEY_CHANGED');
    expect(await pointCount()).toBe(before);
    // Adding another member on the same endpoint does not slip the new key in either.
    const sneak = onlyError(await fx.az(['member', 'add', 'moving2', '--host', '127.0.0.1', '--port', String(moving.port), '--identity-file', moving.clientKey, '--accept-new-host-key']));
    expect(sneak.code).toBe('AZB_MEMBER_HOST_KEY_CHANGED');
    expect(readFileSync(join(fx.home, 'members', 'known_hosts'), 'utf8')).toBe(knownBefore);

    const removed = await fx.az(['member', 'remove', 'moving']);
    expect(resultOf(removed, 'RemovedMember')).toEqual({ name: 'moving', knownHostKeysRemoved: 1 });
    expect(readFileSync(join(fx.home, 'members', 'known_hosts'), 'utf8')).not.toContain(`[127.0.0.1]:${moving.port}`);
    expect(readFileSync(join(fx.home, 'members', 'known_hosts'), 'utf8')).toContain(`[127.0.0.1]:${sshd.port}`);
  });

  it('reports a key the member does not accept as AZB_MEMBER_AUTH_FAILED', async () => {
    const stranger = join(work, 'stranger_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const r = await fx.az(['member', 'add', 'stranger', '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', stranger, '--host-key-fingerprint', fingerprint]);
    expect(r.code, r.stdout).toBe(0);
    const e = onlyError(await fx.az(['member', 'test', 'stranger']));
    expect(e.code).toBe('AZB_MEMBER_AUTH_FAILED');
    expect(e.message).toContain('Permission denied');
    expect(e.hint).toContain(`${stranger}.pub`);
    const before = await pointCount();
    const b = onlyError(await fx.az(['backup', '--member', 'stranger', '--remote-command', 'seq', '--remote-arg', '10', '--stdin-name', 'x']));
    expect(b.code).toBe('AZB_MEMBER_AUTH_FAILED');
    expect(await pointCount()).toBe(before);
  });

  it('refuses an identity file others can read, saying how to fix it', async () => {
    const loose = join(work, 'loose_ed25519');
    writeFileSync(loose, readFileSync(sshd.clientKey), { mode: 0o644 });
    chmodSync(loose, 0o644);
    const r = await fx.az(['member', 'add', 'loose', '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', loose, '--host-key-fingerprint', fingerprint]);
    expect(r.code, r.stdout).toBe(0);
    const e = onlyError(await fx.az(['member', 'test', 'loose']));
    expect(e.code).toBe('AZB_MEMBER_AUTH_FAILED');
    expect(e.hint).toBe(`Make the identity file readable by its owner only: chmod 600 ${loose}.`);
  });

  it('refuses a member whose host key left AzBackup\'s known_hosts, as unknown', async () => {
    const known = join(fx.home, 'members', 'known_hosts');
    const saved = readFileSync(known);
    writeFileSync(known, '');
    try {
      const e = onlyError(await fx.az(['member', 'test', 'db01']));
      expect(e.code).toBe('AZB_MEMBER_HOST_KEY_UNKNOWN');
      expect(e.message).toContain('db01');
    } finally {
      writeFileSync(known, saved);
    }
    expect((await fx.az(['member', 'test', 'db01'])).code).toBe(0);
  });

  it('backs up a dump streamed from the member and restores it bit-identical', async () => {
    const r = await fx.az(['backup', '--member', 'db01', '--remote-command', 'seq', '--remote-arg', '1', '--remote-arg', '200000', '--stdin-name', 'seq.txt']);
    expect(r.code, r.stdout).toBe(0);
    resultOf(r, 'RecoveryPoint');
    const expected = execFileSync('seq', ['1', '200000'], { maxBuffer: 16 * 1024 * 1024 });
    const restored = await restoreLatest('seq.txt');
    expect(restored.length).toBe(expected.length);
    expect(createHash('sha256').update(restored).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));

    // Binary data, from a file whose name needs quoting on the member.
    const dir = mounts.folder(`dump dir 'q' $HOME;x`);
    const file = join(dir, 'db "1".bin');
    const data = randomBytes(5 * 1024 * 1024 + 17);
    writeFileSync(file, data);
    const b = await fx.az(['backup', '--member', 'db01', '--remote-command', 'cat', '--remote-arg', file, '--stdin-name', 'db.bin']);
    expect(b.code, b.stdout).toBe(0);
    expect((await restoreLatest('db.bin')).equals(data)).toBe(true);
  });

  it('passes arguments with spaces, quotes, $, ;, globs and backquotes to the remote command as they are', async () => {
    const marker = join(work, 'injected');
    const args = ['a b', "it's", '"double"', '$HOME', '${PATH}', `x; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, '*', '', '--opt', 'tab\there', "'", "''", '\\n', 'ünïcode ✓'];
    // A value that starts with - goes as --remote-arg=VALUE; the others as a word of their own, which yargs
    // passes on untouched (in the = form it strips quotes wrapping the whole value: README "Members over SSH").
    const r = await fx.az(['backup', '--member', 'db01', '--remote-command', 'printf', '--remote-arg', '%s\\n', ...args.flatMap((a) => (a.startsWith('-') ? [`--remote-arg=${a}`] : ['--remote-arg', a])), '--stdin-name', 'args.txt']);
    expect(r.code, r.stdout).toBe(0);
    expect((await restoreLatest('args.txt')).toString('utf8')).toBe(args.map((a) => `${a}\n`).join(''));
    expect(existsSync(marker)).toBe(false);
    // The log names the command, never its arguments (they may hold what the admin keeps private).
    const logs = r.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).join('\n');
    expect(logs).toContain(`Running 'printf' (${args.length + 1} arguments) on member db01`);
    expect(logs).not.toContain(marker);
  });

  it('fails the job naming the member when the remote command exits non-zero mid-stream, and writes no point', async () => {
    const before = await pointCount();
    const r = await fx.az(['backup', '--member', 'db01', '--remote-command', 'sh', '--remote-arg=-c', '--remote-arg', 'seq 1 300000; echo "pg_dump: error: table t is locked" >&2; exit 3', '--stdin-name', 'broken.sql']);
    expect(r.code, r.stdout).toBe(1);
    const e = onlyError(r);
    expect(e.code).toBe('AZB_MEMBER_COMMAND_FAILED');
    expect(e.message).toContain('db01');
    expect(e.message).toContain('status 3');
    expect(e.message).toContain('table t is locked');
    expect(e.message).toContain('no recovery point was written');
    expect(await pointCount()).toBe(before);
    const jobs = await fx.az(['jobs']);
    const last = items(jobs, 'Job').at(-1) ?? resultOf(jobs, 'Job');
    expect(last).toMatchObject({ status: 'Failed' });
  });

  it('fails the job when the SSH connection is cut mid-stream, with no secret in ssh\'s arguments or environment', async () => {
    const before = await pointCount();
    const started = join(work, 'cut-started');
    const live = startEngine(['backup', '--member', 'db01', '--remote-command', 'sh', '--remote-arg=-c', '--remote-arg', `seq 1 100000; touch ${started}; sleep 300`, '--stdin-name', 'cut.sql', '--json'],
      { ...fx.env, AZURE_CLIENT_CERTIFICATE_PASSWORD: 'cert-secret-4711', AZURE_CLIENT_SECRET: 'client-secret-4711', SSH_AUTH_SOCK: '/run/azb-test-agent.sock' });
    await waitFor('the remote command to have written its output', () => existsSync(started));

    // The ssh client the engine started: no secret in its command line or environment.
    const ssh = descendants(live.child.pid!).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'ssh'; } catch { return false; } });
    expect(ssh).toHaveLength(1);
    const cmdline = readFileSync(`/proc/${ssh[0]}/cmdline`, 'utf8');
    const environ = readFileSync(`/proc/${ssh[0]}/environ`, 'utf8').split('\0');
    expect(cmdline).toContain(sshd.clientKey);
    expect(cmdline).not.toContain(fx.passphrase);
    expect(environ.join('\n')).not.toContain(fx.passphrase);
    expect(environ.filter((v) => v.startsWith('AZBACKUP_'))).toEqual([]);
    expect(environ.join('\n')).not.toContain('-4711');
    expect(environ).toContain('SSH_AUTH_SOCK=/run/azb-test-agent.sock'); // the admin's agent still works

    // Cut the connection on the member's side: every sshd process of the session.
    const session = descendants(sshd.process.pid!);
    expect(session.length).toBeGreaterThan(0);
    for (const p of session) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    const end = await live.done;
    expect(end.code).toBe(1);
    const e = onlyError({ code: end.code ?? -1, stdout: end.stdout, stderr: '', events: parseEvents(end.stdout) });
    expect(e.code).toBe('AZB_MEMBER_COMMAND_FAILED');
    expect(e.message).toContain('db01');
    expect(e.message).toContain('status 255');
    expect(await pointCount()).toBe(before);
    // The member still answers afterwards (only that session was cut).
    expect((await fx.az(['member', 'test', 'db01'])).code).toBe(0);
  }, 120_000);

  it('ends Cancelled, with no point, when the backup is stopped while the remote command runs', async () => {
    const before = await pointCount();
    const started = join(work, 'stop-started');
    const live = startEngine(['backup', '--member', 'db01', '--remote-command', 'sh', '--remote-arg=-c', '--remote-arg', `seq 1 1000; touch ${started}; sleep 300`, '--stdin-name', 'stopped.sql', '--json'], fx.env);
    await waitFor('the remote command to have started', () => existsSync(started));
    live.child.kill('SIGTERM');
    const end = await live.done;
    expect(end.code).toBe(5);
    expect(onlyError({ code: end.code ?? -1, stdout: end.stdout, stderr: '', events: parseEvents(end.stdout) }).code).toBe('AZB_CANCELLED');
    expect(await pointCount()).toBe(before);
    // The engine's ssh client ended with it (the member's own sleep is the member's business).
    const sshClients = () => {
      let pids: number[];
      try { pids = execFileSync('pgrep', ['-f', 'stop-started; sleep 300'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number); } catch { pids = []; }
      return pids.filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'ssh'; } catch { return false; } });
    };
    await waitFor('the engine\'s ssh client to end', () => sshClients().length === 0);
  }, 120_000);

  it('refuses remote commands without a member, and a member with stdin or paths', async () => {
    const cases: [string[], string][] = [
      [['backup', '--remote-command', 'pg_dump', '--stdin-name', 'x'], 'AZB_ARGS_INVALID'],
      [['backup', '--member', 'db01', '--stdin-name', 'x'], 'AZB_ARGS_INVALID'],
      [['backup', '--member', 'db01', '--remote-command', 'seq', '--stdin'], 'AZB_USAGE'],
    ];
    for (const [args, code] of cases) expect(onlyError(await fx.az(args)).code, args.join(' ')).toBe(code);
  });
});
