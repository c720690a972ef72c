// The human/scripting CLI of the built executable: --version, --help, text and --json output, exit codes.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { onlyError, requireEngine, resultOf, runEngine } from '../helpers/engine.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import pkg from '../../package.json' with { type: 'json' };

describe('azbackup CLI', () => {
  const dir = tempDir();
  const pwFile = join(dir, 'pfx.pw');
  writeFileSync(pwFile, 'cli-pfx-password\n', { mode: 0o600 });

  it('--version prints engine and protocol version on one line', async () => {
    const run = await runEngine(['--version'], { json: false });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^azbackup ${pkg.version.replace(/\./g, '\\.')} \\(protocol 1; node v24\\.\\d+\\.\\d+; \\S+\\)\\n$`));
  });

  it('--version --json gives the Version result the module probes', async () => {
    const run = await runEngine(['--version', '--json']);
    expect(resultOf(run, 'Version')).toMatchObject({ engineVersion: pkg.version, protocolVersion: 1 });
  });

  it.each([[[]], [['cert']], [['cert', 'new']], [['cert', 'test']], [['rpc']], [['version']]])('--help works for %o', async (words) => {
    const run = await runEngine([...words, '--help'], { json: false });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('azbackup');
    expect(run.stdout).toContain('--json');
  });

  it('an unknown command is a usage error with --help too', async () => {
    const run = await runEngine(['bogus', '--help'], { json: false });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('AZB_USAGE');
    expect(run.stderr).toContain('Unknown command: bogus');
    expect(run.stdout).toBe('');
  });

  it('creates and tests a certificate in text mode, password from a file', async () => {
    const made = await runEngine(['cert', 'new', '--subject', 'CN=cli01', '-o', dir, '--password-file', pwFile], { json: false });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/thumbprint\s+: [0-9A-F]{40}/);
    const tested = await runEngine(['cert', 'test', join(dir, 'cli01.pfx'), '--password-file', pwFile, '--require-private-key'], { json: false });
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain('meets every AzBackup requirement');
    expect(tested.stdout.match(/^ OK /gm)).toHaveLength(6);
  });

  it('takes the password from AZBACKUP_CERT_PASSWORD and from stdin', async () => {
    const a = await runEngine(['cert', 'new', '--subject', 'CN=envpw', '-o', dir, '--json'], { env: { AZBACKUP_CERT_PASSWORD: 'env-password' } });
    expect(a.code).toBe(0);
    const b = await runEngine(['cert', 'test', join(dir, 'envpw.pfx'), '--password-stdin', '--json'], { stdin: 'env-password\n' });
    expect(resultOf(b, 'CertificateTest')).toMatchObject({ compliant: true, hasPrivateKey: true });
  });

  it('--json emits progress, log, item and result events that match their schemas', async () => {
    const run = await runEngine(['cert', 'new', '--subject', 'CN=json01', '-o', dir, '--key-format', 'pem', '--json']);
    expect(run.code).toBe(3); // completed with a warning: unencrypted PEM key
    const types = new Set(run.events.map((e) => e.type));
    expect([...types].sort()).toEqual(['log', 'progress', 'result', 'warning']);
    const cert = resultOf(run, 'Certificate');
    if (process.platform !== 'win32') expect(statSync(cert['privateKeyPath'] as string).mode & 0o777).toBe(0o600);
    const tested = await runEngine(['cert', 'test', cert['certificatePath'] as string, '--json', '--verbose']);
    expect(tested.events.filter((e) => e.type === 'item')).toHaveLength(6);
  });

  it('exits 4 when a certificate fails a rule, with the failed rules named', async () => {
    const bad = writeTestCertificate(dir, 'weak', { bits: 1024 });
    const run = await runEngine(['cert', 'test', bad.cerPath, '--json']);
    expect(run.code).toBe(4);
    expect(resultOf(run, 'CertificateTest')).toMatchObject({ compliant: false, failedRules: ['RsaKeySize'] });
  });

  it.each([
    [['cert', 'new', '--subject', 'CN=x', '--key-size', '1024', '--password-file', 'PWFILE'], 'AZB_CERT_KEY_TOO_SHORT', 2],
    [['cert', 'new', '--subject', 'CN=x', '--validity-days', '1825', '--password-file', 'PWFILE'], 'AZB_CERT_VALIDITY_TOO_LONG', 2],
    [['cert', 'new', '--subject', 'CN=x'], 'AZB_CERT_PASSWORD_REQUIRED', 2],
    [['cert', 'new', '--subject', 'CN=x', '--password-file', 'DIR/absent.pw'], 'AZB_FILE_NOT_FOUND', 1],
    [['cert', 'test', 'DIR/absent.cer'], 'AZB_FILE_NOT_FOUND', 1],
    [['cert', 'test', 'DIR'], 'AZB_PATH_IS_DIRECTORY', 1],
    [['cert', 'frobnicate'], 'AZB_USAGE', 2],
    [['--no-such-option'], 'AZB_USAGE', 2],
  ])('%o fails with %s', async (args, code, exit) => {
    const run = await runEngine([...args.map((a) => a.replace('PWFILE', pwFile).replace('DIR', dir)), '--json'], { cwd: dir });
    expect(onlyError(run).code).toBe(code);
    expect(run.code).toBe(exit);
  });

  it('prints errors for people on stderr with code and hint, no stack unless --debug', async () => {
    const run = await runEngine(['cert', 'test', join(dir, 'absent.cer')], { json: false });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^azbackup: error AZB_FILE_NOT_FOUND: Certificate file not found: .*absent\.cer\n  hint: /);
    expect(run.stderr).not.toMatch(/\bat .*\.cjs/);
    const dbg = await runEngine(['cert', 'test', join(dir, 'absent.cer'), '--debug', '--json']);
    expect(onlyError(dbg).stack).toContain('AzbError');
  });

  it('ignores NODE_OPTIONS: nothing can be injected into the agent', async () => {
    const evil = join(dir, 'evil.cjs');
    const marker = join(dir, 'pwned');
    writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x');`);
    const run = await runEngine(['--version'], { json: false, env: { NODE_OPTIONS: `--require ${evil}` } });
    expect(run.code).toBe(0);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('reads no files around its own location (a stray locales folder there changes nothing)', () => {
    // yargs looks for <its module>/../../../locales/<locale>.json; for an executable at dir/a/b/azbackup that
    // would be dir/locales. An unreadable such folder failed every command for non-root users.
    const dir = tempDir('azb-placed-');
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    const placed = join(dir, 'a', 'b', 'azbackup');
    copyFileSync(requireEngine(), placed);
    chmodSync(placed, 0o755);
    mkdirSync(join(dir, 'locales'));
    writeFileSync(join(dir, 'locales', 'en_US.json'), JSON.stringify({ 'Commands:': 'PLANTED-COMMANDS', 'Options:': 'PLANTED-OPTIONS' }));
    const help = execFileSync(placed, ['--help'], { cwd: dir, env: { PATH: '/usr/bin:/bin', LANG: 'en_US.UTF-8' } }).toString();
    expect(help).toContain('Commands:');
    expect(help).not.toContain('PLANTED');
  });

  it("gives its bundled modules an absolute import.meta.url on Windows too, never near the executable", async () => {
    // createRequire throws on a URL that is not absolute where the engine runs: on Windows the Linux
    // placeholder failed every command at start. The first line of the bundle, run as each platform.
    const { IMPORT_META_URL_BANNER: banner } = await import(join(import.meta.dirname, '..', '..', 'bundle', 'defines.mjs')) as { IMPORT_META_URL_BANNER: string };
    const urlOn = (platform: string, env: Record<string, string>) =>
      new Function('process', 'require', `${banner}\nreturn __azbImportMetaUrl;`)({ platform, env }, createRequire(import.meta.url)) as string;
    expect(urlOn('linux', {})).toBe('file:///azbackup-engine/bundle/dist/azbackup.cjs');
    expect(urlOn('win32', { SystemRoot: 'D:\\WINNT' })).toBe('file:///D:/WINNT/azbackup-engine/bundle/dist/azbackup.cjs');
    // A missing, relative or UNC SystemRoot (the engine's environment is not the place to choose it) gives C:\Windows.
    for (const systemRoot of [undefined, 'Windows', '\\\\server\\share', 'C:', '']) {
      const url = urlOn('win32', systemRoot === undefined ? {} : { SystemRoot: systemRoot });
      expect(url, String(systemRoot)).toBe('file:///C:/Windows/azbackup-engine/bundle/dist/azbackup.cjs');
    }
    const path = fileURLToPath(urlOn('win32', {}), { windows: true });
    expect(win32.isAbsolute(path) && /^[A-Z]:\\/.test(path)).toBe(true);
  });

  it('is one self-contained executable that runs from any directory', () => {
    const out = execFileSync(requireEngine(), ['--version'], { cwd: '/', env: { PATH: '/usr/bin:/bin' } }).toString();
    expect(out).toMatch(/^azbackup /);
  });
});

describe('the --point option of ls and restore', () => {
  it('becomes the positional point wherever it stands, also after global options with values', async () => {
    const { pointOptionAsPositional: moved } = await import('../../core/cli/app.js');
    expect(moved(['ls', '--point', 'abc123', '/data'])).toEqual(['ls', 'abc123', '/data']);
    expect(moved(['restore', '/data/a', '--point=latest', '--target', '/t'])).toEqual(['restore', 'latest', '/data/a', '--target', '/t']);
    expect(moved(['--vault', '/v', '--json', 'ls', '--point', 'latest'])).toEqual(['--vault', '/v', '--json', 'ls', 'latest']);
    // A vault folder named like a command is a value, not the command.
    expect(moved(['--vault', 'ls', 'restore', '--point', 'p1'])).toEqual(['--vault', 'ls', 'restore', 'p1']);
    // Other commands, and no --point: unchanged.
    expect(moved(['backup', '--point', 'x'])).toEqual(['backup', '--point', 'x']);
    expect(moved(['ls', 'latest'])).toEqual(['ls', 'latest']);
    expect(moved(['ls', '--point'])).toEqual(['ls', '--point']);
  });
});

describe('output to a reader that went away', () => {
  it('exits quietly, with the command\'s own exit code and no stack trace (azbackup jobs | head -1)', async () => {
    const home = tempDir('azb-epipe-');
    expect((await runEngine(['jobs'], { env: { AZBACKUP_HOME: home } })).code).toBe(0); // makes the history
    // A long history: far more output than a pipe holds, so writes go on after the reader has gone.
    const db = new DatabaseSync(join(home, 'jobs.db'));
    const insert = db.prepare("INSERT INTO jobs (id, operation, status, vault, server_id, start_time, end_time, pid, hostname, warnings) VALUES (?, 'Backup', 'Completed', '/v', NULL, ?, ?, 1, 'h', 0)");
    for (let i = 0; i < 3000; i++) insert.run(`job-${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
    db.close();
    for (const args of [['jobs'], ['jobs', '--json']]) {
      const child = spawn(requireEngine(), args, { env: { ...process.env, AZBACKUP_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      // Like head -1: read the first chunk, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
  });
});
