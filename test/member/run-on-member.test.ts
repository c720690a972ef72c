// runOnMember, the function the tar import uses: the command's output as a stream, and how it ended
// (exit status, the tail of its error output, a coded connection error), against a real sshd.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mounts, startSshd, type Sshd } from '../helpers/mounts.js';
import type { Member } from '../../core/member/members.js';
import { runOnMember, scanHostKeys, updateKnownHosts } from '../../core/member/ssh.js';

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('runOnMember', () => {
  let mounts: Mounts;
  let sshd: Sshd;
  let member: Member;
  const savedHome = process.env['AZBACKUP_HOME'];

  beforeAll(async () => {
    mounts = new Mounts();
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
    process.env['AZBACKUP_HOME'] = mounts.folder('home');
    const keys = await scanHostKeys({ name: 'm1', host: '127.0.0.1', port: sshd.port });
    await updateKnownHosts({ add: keys });
    member = { name: 'm1', host: '127.0.0.1', port: sshd.port, user: 'root', identityFile: sshd.clientKey, hostKeyFingerprints: keys.map((k) => k.fingerprint), hostKeyTrust: 'FirstUse', added: new Date().toISOString() };
  }, 60_000);

  afterAll(() => {
    if (savedHome === undefined) delete process.env['AZBACKUP_HOME']; else process.env['AZBACKUP_HOME'] = savedHome;
    mounts?.cleanup();
  });

  it('streams the output and reports status 0', async () => {
    const run = runOnMember(member, ['seq', '1', '50000']);
    const out = await collect(run.stdout);
    expect(out.equals(execFileSync('seq', ['1', '50000']))).toBe(true);
    expect(await run.done).toEqual({ status: 0, signal: null, stopped: false, stderrTail: [] });
  });

  it('reports the exit status and the last 5 lines of error output of a failing command', async () => {
    const run = runOnMember(member, ['sh', '-c', 'printf partial; for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 7']);
    expect((await collect(run.stdout)).toString()).toBe('partial');
    expect(await run.done).toEqual({ status: 7, signal: null, stopped: false, stderrTail: ['line 3', 'line 4', 'line 5', 'line 6', 'line 7'] });
  });

  it('reports a coded connection error, not a status, when ssh cannot log in', async () => {
    const run = runOnMember({ ...member, user: 'nobody-here' }, ['true']);
    expect((await collect(run.stdout)).length).toBe(0);
    const end = await run.done;
    expect(end.status).toBe(255);
    expect(end.stopped).toBe(false);
    expect(end.connectionError?.code).toBe('AZB_MEMBER_AUTH_FAILED');
  });

  it('ends ssh when its signal is aborted', async () => {
    const stop = new AbortController();
    const run = runOnMember(member, ['sh', '-c', 'echo started; sleep 300'], { signal: stop.signal });
    run.stdout.once('data', () => stop.abort());
    await collect(run.stdout);
    const end = await run.done;
    expect(end.stopped).toBe(true);
    expect(end.connectionError).toBeUndefined();
  });
});
