// The rpc entry point against the built executable: request validation, exit codes, event shapes.
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, rpc } from '../helpers/engine.js';
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
});
