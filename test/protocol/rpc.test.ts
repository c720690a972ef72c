// The rpc entry point against the built executable: request validation, exit codes, event shapes.
import { chmodSync, closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, rpc, startEngine } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { tempDir } from '../helpers/tmp.js';

describe('azbackup rpc', () => {
  it('answers a version request with a Version result and exit code 0', async () => {
    const run = await rpc({ protocolVersion: 1, command: 'version', args: {} });
    expect(run.code).toBe(0);
    expect(resultOf(run, 'Version')).toMatchObject({ protocolVersion: 1, engineVersion: expect.any(String) });
    expect(run.stderr).toBe('');
  });

  it.each([
    ['not JSON', 'this is { not json', 'AZB_REQUEST_INVALID_JSON', 2],
    ['an empty request', '', 'AZB_REQUEST_INVALID_JSON', 2],
    ['a JSON array', '[1,2]', 'AZB_REQUEST_INVALID', 2],
    ['a missing command', { protocolVersion: 1, args: {} }, 'AZB_REQUEST_INVALID', 2],
    ['an unknown top-level property', { protocolVersion: 1, command: 'version', args: {}, extra: 1 }, 'AZB_REQUEST_INVALID', 2],
    ['a future protocol version', { protocolVersion: 99, command: 'version', args: {} }, 'AZB_PROTOCOL_UNSUPPORTED', 2],
    ['an unknown command', { protocolVersion: 1, command: 'format.disk', args: {} }, 'AZB_COMMAND_UNKNOWN', 2],
    ['args of the wrong type', { protocolVersion: 1, command: 'cert.test', args: { path: 42 } }, 'AZB_ARGS_INVALID', 2],
    ['an unknown argument', { protocolVersion: 1, command: 'cert.test', args: { path: 'x', bogus: true } }, 'AZB_ARGS_INVALID', 2],
    ['a secret the command does not take', { protocolVersion: 1, command: 'version', args: {}, secrets: { password: 'x' } }, 'AZB_ARGS_INVALID', 2],
    ['a non-string secret', { protocolVersion: 1, command: 'cert.test', args: { path: 'x' }, secrets: { password: 1 } }, 'AZB_REQUEST_INVALID', 2],
  ])('refuses %s with one coded error event', async (_what, request, code, exit) => {
    const run = await rpc(request);
    const err = onlyError(run);
    expect(err.code).toBe(code);
    expect(err.hint ?? err.target).toBeTruthy();
    expect(run.code).toBe(exit);
    expect(err.exitCode).toBe(exit);
    expect(run.events.filter((e) => e.type === 'result')).toEqual([]);
    expect(err.stack).toBeUndefined();
  });

  it('refuses an oversized request without reading it all', async () => {
    const run = await rpc(JSON.stringify({ protocolVersion: 1, command: 'version', args: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(onlyError(run).code).toBe('AZB_REQUEST_TOO_LARGE');
  });

  it('never echoes a secret, even in errors about the request that carries it', async () => {
    const secret = 'Sup3r-Secret-Value-9431';
    const dir = tempDir();
    const runs = await Promise.all([
      rpc(`{"protocolVersion":1,"command":"cert.new","args":{},"secrets":{"password":"${secret}"}`), // truncated JSON
      rpc({ protocolVersion: 1, command: 'cert.new', args: { subject: 'CN=x', keySize: 1024, outputDirectory: dir }, secrets: { password: secret } }),
      rpc({ protocolVersion: 1, command: 'cert.test', args: { path: `${dir}/none.pfx` }, secrets: { password: secret } }),
      rpc({ protocolVersion: 1, command: 'version', args: {}, secrets: { passphrase: secret } }),
    ]);
    for (const run of runs) {
      expect(run.events.length).toBeGreaterThan(0);
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });

  it('reads a secret from an owner-only file named in secretFiles, and refuses bad ones with coded errors that never show it', async () => {
    const dir = tempDir();
    const secret = 'File-Held-Passphrase-7731';
    const ok = join(dir, 'pfx.pw');
    writeFileSync(ok, `${secret}\n`, { mode: 0o600 });
    const open = join(dir, 'open.pw');
    writeFileSync(open, secret, { mode: 0o644 });
    chmodSync(open, 0o644);
    const empty = join(dir, 'empty.pw');
    writeFileSync(empty, '\n', { mode: 0o600 });
    // cert.new takes the .pfx password: made with the password from the file, then read back with it.
    const made = await rpc({ protocolVersion: 1, command: 'cert.new', args: { subject: 'CN=filed', outputDirectory: dir }, secretFiles: { password: ok } });
    expect(made.code, made.stdout).toBe(0);
    const checked = await rpc({ protocolVersion: 1, command: 'cert.test', args: { path: join(dir, 'filed.pfx'), requirePrivateKey: true }, secrets: { password: secret } });
    expect(checked.code, checked.stdout).toBe(0);
    const wrong = await rpc({ protocolVersion: 1, command: 'cert.test', args: { path: join(dir, 'filed.pfx'), requirePrivateKey: true }, secretFiles: { password: empty } });
    const cases: [unknown, string][] = [
      [{ protocolVersion: 1, command: 'cert.test', args: { path: join(dir, 'filed.pfx') }, secretFiles: { password: open } }, 'AZB_SECRET_FILE_UNPROTECTED'],
      [{ protocolVersion: 1, command: 'cert.test', args: { path: join(dir, 'filed.pfx') }, secretFiles: { password: join(dir, 'none.pw') } }, 'AZB_FILE_NOT_FOUND'],
      [{ protocolVersion: 1, command: 'cert.test', args: { path: join(dir, 'filed.pfx') }, secrets: { password: secret }, secretFiles: { password: ok } }, 'AZB_SECRET_SOURCE'],
      [{ protocolVersion: 1, command: 'version', args: {}, secretFiles: { passphrase: ok } }, 'AZB_ARGS_INVALID'],
      [{ protocolVersion: 1, command: 'version', args: {}, secretFiles: { passphrase: '' } }, 'AZB_REQUEST_INVALID'],
    ];
    expect(onlyError(wrong).code).toBe('AZB_SECRET_SOURCE');
    for (const [request, code] of cases) {
      const run = await rpc(request);
      expect(onlyError(run).code, JSON.stringify(request)).toBe(code);
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });
});

// The control channel: how the module stops an engine on Windows (no SIGTERM there) and, since it is
// one path for every platform, on Linux too (pester/Start-AzBackup.Tests.ps1 "stopped with Ctrl+C").
describe('azbackup rpc with control "stdin"', () => {
  const backupRequest = (fx: VaultFixture, paths: string[]) => JSON.stringify({
    protocolVersion: 1, command: 'backup', args: { paths }, secrets: { passphrase: fx.passphrase }, control: 'stdin',
  }) + '\n';

  it('stops a running backup at a safe point on {"type":"cancel"}: exit 5, AZB_CANCELLED, no point; other lines change nothing', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'big');
    mkdirSync(src);
    // 64 GiB of holes: far more than the test lets it read.
    const fd = openSync(join(src, 'sparse.img'), 'w');
    ftruncateSync(fd, 64 * 1024 ** 3);
    closeSync(fd);
    const engine = startEngine(['rpc'], { ...fx.env, AZBACKUP_PASSPHRASE: undefined });
    engine.write(Buffer.from(backupRequest(fx, [src])));
    for (let i = 0; i < 1200 && !engine.stdout().includes('"type":"progress"'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(engine.stdout()).toContain('"type":"progress"');
    engine.write(Buffer.from('not json\n{"type":"hello"}\n' + 'x'.repeat(10_000) + '\n'));
    await new Promise((r) => setTimeout(r, 300));
    expect(engine.child.exitCode).toBeNull(); // still running: none of those lines is a cancel
    engine.write(Buffer.from('{"type":"cancel"}\n'));
    const done = await engine.done;
    expect(done.code, done.stdout.slice(-500)).toBe(5);
    expect(done.stdout).toContain('"code":"AZB_CANCELLED"');
    expect(done.stdout).not.toContain('"type":"result"');
    const points = await fx.az(['points']);
    expect(points.events.filter((e) => e.type === 'item')).toHaveLength(0);
  });

  it('cancels nothing when stdin ends: a request whose caller closes the channel at once runs to the end', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'small');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a');
    const engine = startEngine(['rpc'], { ...fx.env, AZBACKUP_PASSPHRASE: undefined });
    engine.end(Buffer.from(backupRequest(fx, [src])));
    const done = await engine.done;
    expect(done.code, done.stdout.slice(-500)).toBe(0);
    expect(done.stdout).toContain('"kind":"RecoveryPoint"');
  });
});
