// npm run package (tools/package.mjs) end to end: the release archive is unpacked and installed with its
// own install.sh into a fresh prefix, then the README's walkthrough runs in a child pwsh that can see
// only that prefix (PATH and PSModulePath); the .deb is inspected with dpkg-deb and installed into a
// throwaway root with dpkg --root (never into this machine).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const archiveName = `azbackup-${version}-linux-x64`;
const debName = `azbackup_${version.replace(/-/g, '~')}_amd64.deb`;
const pwsh = execFileSync('bash', [join(root, 'tools', 'find-pwsh.sh')], { encoding: 'utf8' }).trim();

let work: string;
let dist: string;
let unpacked: string;

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

/** Unpacks the release archive into `dir` and returns the path of its top folder. */
function unpack(dir: string): string {
  const r = run('tar', ['-xzf', join(dist, `${archiveName}.tar.gz`), '-C', dir]);
  expect(r.status, r.stderr).toBe(0);
  return join(dir, archiveName);
}

function install(from: string, ...args: string[]): SpawnSyncReturns<string> {
  return run(join(from, 'install.sh'), args);
}

/**
 * A child pwsh that sees only `prefixBin` and pwsh's own folder on PATH (plus /usr/bin and /bin for the
 * system tools pwsh and the engine use, which hold no azbackup: asserted in the tests) and only
 * `modulePath` on PSModulePath; no AZBACKUP_* variable from this process, a home of its own.
 */
function childPwsh(script: string, opts: { prefixBin: string; modulePath: string; home: string; vars?: Record<string, string> }): SpawnSyncReturns<string> {
  const dotnet = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DOTNET_')));
  const file = join(opts.home, `script-${randomBytes(4).toString('hex')}.ps1`);
  writeFileSync(file, script);
  return run(pwsh, ['-NoProfile', '-NonInteractive', '-File', file], {
    env: {
      ...dotnet,
      HOME: opts.home,
      PATH: [opts.prefixBin, dirname(pwsh), '/usr/bin', '/bin'].join(':'),
      PSModulePath: opts.modulePath,
      AZBACKUP_HOME: join(opts.home, 'azbackup-home'),
      TMPDIR: opts.home,
      POWERSHELL_TELEMETRY_OPTOUT: '1',
      POWERSHELL_UPDATECHECK: 'Off',
      ...opts.vars,
    },
  });
}

/** The last line of a child's stdout, as JSON (the script prints its findings last). */
function lastJson(r: SpawnSyncReturns<string>): Record<string, unknown> {
  expect(r.status, `pwsh exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

beforeAll(() => {
  for (const dir of ['/usr/bin', '/bin']) expect(existsSync(join(dir, 'azbackup')), `${dir}/azbackup would hide the installed engine`).toBe(false);
  // Made by hand: tempDir() ties a folder to a test, and these outlive beforeAll (afterAll removes them).
  work = mkdtempSync(join(tmpdir(), 'azb-pkg-'));
  dist = join(work, 'dist');
  const r = run(process.execPath, [join(root, 'tools', 'package.mjs'), '--out', dist], { cwd: root });
  expect(r.status, `package failed\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  // One unpacked copy for every test: install.sh never writes to it (tests that damage it copy it first).
  mkdirSync(join(work, 'unpacked'));
  unpacked = unpack(join(work, 'unpacked'));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm run package', () => {
  it('writes the archive, the .deb and SHA256SUMS, and the archive holds engine, module, help, install.sh and its own checksums', () => {
    const outer = run('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: dist });
    expect(outer.status, outer.stdout + outer.stderr).toBe(0);
    expect(outer.stdout.trim().split('\n').sort()).toEqual([`${archiveName}.tar.gz: OK`, `${debName}: OK`]);

    const listing = run('tar', ['-tvzf', join(dist, `${archiveName}.tar.gz`)]).stdout.trim().split('\n');
    const entries = new Map(listing.map((l) => {
      const parts = l.split(/\s+/);
      return [parts.slice(5).join(' '), { mode: parts[0]!, owner: parts[1]! }] as const;
    }));
    const p = (rel: string) => `${archiveName}/${rel}`;
    for (const rel of ['bin/azbackup', 'bin/azbackup.dsc.resource.json', 'install.sh', 'README.txt', 'LICENSE', 'SHA256SUMS', 'modules/AzBackup/AzBackup.psd1', 'modules/AzBackup/AzBackup.psm1',
      'modules/AzBackup/en-US/about_AzBackup.help.txt', 'modules/AzBackup/private/Resolve-AzBackupEngine.ps1', 'modules/AzBackup/cmdlets/Start-AzBackup.ps1', 'modules/AzBackup/AzBackup.Format.ps1xml']) {
      expect(entries.has(p(rel)), `${rel} in the archive`).toBe(true);
    }
    expect(entries.get(p('bin/azbackup'))!.mode).toBe('-rwxr-xr-x');
    expect(entries.get(p('install.sh'))!.mode).toBe('-rwxr-xr-x');
    expect(entries.get(p('bin/azbackup.dsc.resource.json'))!.mode).toBe('-rw-r--r--');
    expect(entries.get(p('modules/AzBackup/AzBackup.psd1'))!.mode).toBe('-rw-r--r--');
    for (const e of entries.values()) expect(e.owner).toBe('0/0');
    // Every cmdlet file of the checkout is in the module; nothing from the repository besides.
    const cmdlets = run('git', ['-C', root, 'ls-files', 'cmdlets', 'module']).stdout.trim().split('\n')
      .map((f) => (f.startsWith('cmdlets/') ? `modules/AzBackup/${f}` : `modules/AzBackup/${f.slice('module/'.length)}`));
    const files = [...entries.keys()].filter((k) => !k.endsWith('/')).map((k) => k.slice(archiveName.length + 1));
    expect(files.filter((f) => f.startsWith('modules/')).sort()).toEqual(cmdlets.sort());
    expect(files.filter((f) => !f.startsWith('modules/')).sort()).toEqual(['LICENSE', 'README.txt', 'SHA256SUMS', 'bin/azbackup', 'bin/azbackup.dsc.resource.json', 'install.sh']);
    // The DSC v3 manifest beside the engine is the checkout's.
    expect(readFileSync(join(unpacked, 'bin', 'azbackup.dsc.resource.json'), 'utf8')).toBe(readFileSync(join(root, 'core', 'dsc', 'azbackup.dsc.resource.json'), 'utf8'));

    // The inner SHA256SUMS lists every file but itself, and they match.
    const inner = run('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: unpacked });
    expect(inner.status, inner.stdout + inner.stderr).toBe(0);
    expect(inner.stdout.trim().split('\n').map((l) => l.replace(/: OK$/, '')).sort()).toEqual(files.filter((f) => f !== 'SHA256SUMS').sort());
    expect(readFileSync(join(unpacked, 'README.txt'), 'utf8')).toContain(`AzBackup ${version} for Linux x64`);

    // It is a release build: its version matches, and the manifest's module version too.
    const engineVersion = JSON.parse(run(join(unpacked, 'bin', 'azbackup'), ['--version', '--json']).stdout) as { data: { engineVersion: string } };
    expect(engineVersion.data.engineVersion).toBe(version);
    expect(readFileSync(join(unpacked, 'modules', 'AzBackup', 'AzBackup.psd1'), 'utf8')).toContain(`ModuleVersion        = '${version}'`);
  });

  it('install.sh installs into a fresh prefix, and the walkthrough runs from there: vault, certificate, register, back up, list, restore, same bytes', () => {
    const prefix = join(tempDir('azb-pkg-prefix-'), 'usr-local');
    const installed = install(unpacked, '--prefix', prefix);
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`engine  ${prefix}/bin/azbackup`);
    expect(installed.stdout).toContain(`module  ${prefix}/share/powershell/Modules/AzBackup`);
    expect(installed.stdout).toContain(`dsc     ${prefix}/bin/azbackup.dsc.resource.json`);
    // DSC finds the manifest on PATH and runs its executable by name from there: the installed engine answers it.
    const dscManifest = JSON.parse(readFileSync(join(prefix, 'bin', 'azbackup.dsc.resource.json'), 'utf8')) as { get: { executable: string; args: string[] } };
    const dscGet = spawnSync(dscManifest.get.executable, dscManifest.get.args, { input: '{}', encoding: 'utf8', env: { PATH: `${prefix}/bin:/usr/bin:/bin`, AZBACKUP_HOME: tempDir('azb-pkg-dsc-') } });
    expect(dscGet.status, dscGet.stderr).toBe(0);
    expect(JSON.parse(dscGet.stdout)).toMatchObject({ _exist: false, uploadConcurrency: 4 });
    // Not on this process's PATH or pwsh's default module path: install.sh says how to add them.
    expect(installed.stdout).toContain(`export PATH="${prefix}/bin:$PATH"`);
    expect(installed.stdout).toContain(`is not on PowerShell's default module path`);
    expect(lstatSync(join(prefix, 'bin', 'azbackup')).mode & 0o777).toBe(0o755);
    const link = join(prefix, 'share', 'powershell', 'Modules', 'AzBackup', 'bin', 'azbackup');
    expect(readlinkSync(link)).toBe('../../../../../bin/azbackup');
    expect(realpathSync(link)).toBe(join(prefix, 'bin', 'azbackup'));

    const scratch = tempDir('azb-pkg-walk-');
    const data = join(scratch, 'data');
    mkdirSync(join(data, 'sub', 'deeper'), { recursive: true });
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha\n'),
      'with space.txt': Buffer.from('spaces\n'),
      'sub/random.bin': randomBytes(3 * 1024 * 1024 + 17),
      'sub/deeper/text.txt': Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n')),
      'empty.dat': Buffer.alloc(0),
    };
    for (const [rel, bytes] of Object.entries(files)) writeFileSync(join(data, rel), bytes);

    const script = `
$ErrorActionPreference = 'Stop'
$root = $env:AZB_PKG_SCRATCH
$data = Join-Path $root 'data'
Import-Module AzBackup
$module = Get-Module AzBackup
$engine = Get-AzBackupEngine
$pfxPassword = ConvertTo-SecureString -String 'pkg-test-pfx-password' -AsPlainText -Force
$vault = Join-Path $root 'vault'
$certs = New-Item -ItemType Directory -Path (Join-Path $root 'certs')
$null = New-AzBackupVault -Path $vault
$certificate = New-AzBackupCertificate -Subject 'CN=pkg-test' -OutputDirectory $certs.FullName -PfxPassword $pfxPassword
$null = $certificate | Add-AzBackupVaultCertificate -Vault $vault
$passphraseFile = Join-Path $root 'passphrase.txt'
$registration = Register-AzBackupServer -Vault $vault -Certificate $certificate.PrivateKeyPath -CertificatePassword $pfxPassword -GeneratePassphrase -PassphraseOutFile $passphraseFile -WarningAction SilentlyContinue
$passphrase = Get-Content $passphraseFile | ConvertTo-SecureString -AsPlainText -Force
$point = Start-AzBackup -Path $data -Passphrase $passphrase
$points = @(Get-AzRecoveryPoint -Passphrase $passphrase)
$target = Join-Path $root 'restore'
$restored = $points | Select-Object -Last 1 |
    Get-AzRecoverableItem -Path $data -Recurse -Passphrase $passphrase |
    Start-AzRecovery -Target $target -Passphrase $passphrase
[pscustomobject]@{
    ModuleBase    = $module.ModuleBase
    ModuleVersion = "$($module.Version)"
    ModulePath    = $env:PSModulePath
    Available     = @((Get-Module -ListAvailable AzBackup).ModuleBase)
    EnginePath    = $engine.Path
    EngineVersion = $engine.EngineVersion
    OnPath        = (Get-Command azbackup -CommandType Application | Select-Object -First 1).Source
    ServerId      = $registration.ServerId
    PointId       = $point.PointId
    PointIds      = @($points.PointId)
    RestoredFiles = $restored.Files
    Target        = $target
} | ConvertTo-Json -Compress
`;
    const home = tempDir('azb-pkg-home-');
    const modules = join(prefix, 'share', 'powershell', 'Modules');
    // AZBACKUP_TEST_KDF=fast is set on purpose: a release engine ignores it (a test build would write a weak key file).
    const r = childPwsh(script, { prefixBin: join(prefix, 'bin'), modulePath: modules, home, vars: { AZB_PKG_SCRATCH: scratch, AZBACKUP_TEST_KDF: 'fast' } });
    const found = lastJson(r);
    // Everything came from the prefix: the module (not the checkout's module/), the engine (not bundle/dist).
    expect(found['ModuleBase']).toBe(join(modules, 'AzBackup'));
    expect(found['ModuleVersion']).toBe(version.replace(/[-+].*$/, ''));
    expect(String(found['ModulePath']).split(':')).toContain(modules);
    expect(String(found['ModulePath'])).not.toContain(root);
    // First in PowerShell's search order (an AzBackup installed on this machine for real may come later).
    expect((found['Available'] as string[])[0]).toBe(join(modules, 'AzBackup'));
    expect(found['EnginePath']).toBe(link);
    expect(found['EngineVersion']).toBe(version);
    expect(found['OnPath']).toBe(join(prefix, 'bin', 'azbackup'));
    expect(found['ServerId']).toMatch(/\S/);
    expect(found['PointIds']).toEqual([found['PointId']]);
    expect(found['RestoredFiles']).toBe(Object.keys(files).length);
    // A restore into a target puts each item under its full original path.
    for (const [rel, bytes] of Object.entries(files)) {
      const back = readFileSync(join(String(found['Target']), data, rel));
      expect(back.equals(bytes), `${rel} restored byte for byte`).toBe(true);
    }
    // The release engine wrote the registration into the child's AZBACKUP_HOME, not the machine's.
    expect(existsSync(join(home, 'azbackup-home'))).toBe(true);
    // It is a release build: the key file has the real argon2id cost (FORMAT.md, key file), not the test one.
    const keyDir = join(scratch, 'vault', 'servers', String(found['ServerId']), 'keys');
    const keyFiles = readdirSync(keyDir);
    expect(keyFiles).toHaveLength(1);
    const kdf = (JSON.parse(readFileSync(join(keyDir, keyFiles[0]!), 'utf8')) as { kdf: { algorithm: string; memoryKiB: number; passes: number } }).kdf;
    expect(kdf).toMatchObject({ algorithm: 'argon2id', memoryKiB: 65536, passes: 3 });
  }, 240_000);

  it('install.sh again replaces the installed version; --uninstall removes engine and module and nothing else', () => {
    // A prefix with a space in it: every path in install.sh is quoted.
    const prefix = join(tempDir('azb-pkg-prefix-'), 'with space');
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    writeFileSync(join(prefix, 'bin', 'other-tool'), 'keep me');
    expect(install(unpacked, `--prefix=${prefix}`).status).toBe(0);
    const modulePsd1 = join(prefix, 'share', 'powershell', 'Modules', 'AzBackup', 'AzBackup.psd1');
    // A file left in the installed module by hand is gone after the reinstall: the folder is replaced whole.
    writeFileSync(join(dirname(modulePsd1), 'stale.ps1'), 'old');
    // This time with pwsh on PATH: install.sh asks it for its default module path, which lacks this prefix.
    const again = run(join(unpacked, 'install.sh'), ['--prefix', prefix], { env: { ...process.env, PATH: `${dirname(pwsh)}:${process.env['PATH']}` } });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('(pwsh) was not found');
    expect(again.stdout).toContain(`note: ${prefix}/share/powershell/Modules is not on PowerShell's default module path`);
    expect(again.stdout).toContain(`$env:PSModulePath = "${prefix}/share/powershell/Modules"`);
    expect(existsSync(join(dirname(modulePsd1), 'stale.ps1'))).toBe(false);
    expect(existsSync(modulePsd1)).toBe(true);
    expect(lstatSync(join(dirname(modulePsd1), 'bin', 'azbackup')).isSymbolicLink()).toBe(true);

    const removed = install(unpacked, '--uninstall', '--prefix', prefix);
    expect(removed.status, removed.stdout + removed.stderr).toBe(0);
    expect(existsSync(join(prefix, 'bin', 'azbackup'))).toBe(false);
    expect(existsSync(join(prefix, 'bin', 'azbackup.dsc.resource.json'))).toBe(false);
    expect(existsSync(dirname(modulePsd1))).toBe(false);
    expect(readFileSync(join(prefix, 'bin', 'other-tool'), 'utf8')).toBe('keep me');
    expect(removed.stdout).toContain('Registrations, policies and job history');

    const twice = install(unpacked, '--uninstall', '--prefix', prefix);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain('AZB_INSTALL_NOT_INSTALLED');
    expect(twice.stderr).toContain(prefix);
  }, 120_000);

  it('install.sh refuses bad arguments, a damaged archive and folders that are not AzBackup\'s, and then installs nothing', () => {
    const base = tempDir('azb-pkg-bad-');

    for (const args of [['--bogus'], ['--prefix'], ['--prefix='], ['extra']]) {
      const r = install(unpacked, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('AZB_INSTALL_USAGE');
      expect(r.stderr).toMatch(/--help|Example/);
    }
    const help = install(unpacked, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--uninstall');

    // A damaged file (one flipped byte in a cmdlet): refused before anything is copied.
    const damaged = join(base, 'damaged');
    cpSync(unpacked, damaged, { recursive: true });
    const cmdlet = join(damaged, 'modules', 'AzBackup', 'cmdlets', 'Start-AzBackup.ps1');
    const bytes = readFileSync(cmdlet);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(cmdlet, bytes);
    const prefixA = join(base, 'prefix-a');
    const r1 = install(damaged, '--prefix', prefixA);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain('AZB_INSTALL_DAMAGED');
    expect(r1.stderr).toContain('modules/AzBackup/cmdlets/Start-AzBackup.ps1');
    expect(existsSync(prefixA)).toBe(false);

    // A missing engine: refused too.
    const incomplete = join(base, 'incomplete');
    cpSync(unpacked, incomplete, { recursive: true });
    execFileSync('rm', [join(incomplete, 'bin', 'azbackup')]);
    const r2 = install(incomplete, '--prefix', prefixA);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('AZB_INSTALL_DAMAGED');
    expect(r2.stderr).toContain('bin/azbackup');
    expect(existsSync(prefixA)).toBe(false);

    // Someone else's AzBackup module folder or azbackup program: left alone.
    const prefixB = join(base, 'prefix-b');
    const foreignModule = join(prefixB, 'share', 'powershell', 'Modules', 'AzBackup');
    mkdirSync(foreignModule, { recursive: true });
    writeFileSync(join(foreignModule, 'notes.txt'), 'not a module');
    const r3 = install(unpacked, '--prefix', prefixB);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toContain('AZB_INSTALL_CONFLICT');
    expect(readFileSync(join(foreignModule, 'notes.txt'), 'utf8')).toBe('not a module');
    expect(existsSync(join(prefixB, 'bin', 'azbackup'))).toBe(false);
    const u3 = install(unpacked, '--uninstall', '--prefix', prefixB);
    expect(u3.status).toBe(1);
    expect(u3.stderr).toContain('AZB_INSTALL_CONFLICT');
    expect(existsSync(join(foreignModule, 'notes.txt'))).toBe(true);

    const prefixC = join(base, 'prefix-c');
    mkdirSync(join(prefixC, 'bin'), { recursive: true });
    writeFileSync(join(prefixC, 'bin', 'azbackup'), '#!/bin/sh\necho something else\n');
    chmodSync(join(prefixC, 'bin', 'azbackup'), 0o755);
    const r4 = install(unpacked, '--prefix', prefixC);
    expect(r4.status).toBe(1);
    expect(r4.stderr).toContain('AZB_INSTALL_CONFLICT');
    expect(readFileSync(join(prefixC, 'bin', 'azbackup'), 'utf8')).toContain('something else');
    expect(existsSync(join(prefixC, 'share'))).toBe(false);

    // Another resource's file where AzBackup's DSC manifest would go: left alone, nothing installed.
    const prefixD = join(base, 'prefix-d');
    mkdirSync(join(prefixD, 'bin'), { recursive: true });
    writeFileSync(join(prefixD, 'bin', 'azbackup.dsc.resource.json'), '{"type": "Contoso/Other"}');
    const rDsc = install(unpacked, '--prefix', prefixD);
    expect(rDsc.status).toBe(1);
    expect(rDsc.stderr).toContain('AZB_INSTALL_CONFLICT');
    expect(readFileSync(join(prefixD, 'bin', 'azbackup.dsc.resource.json'), 'utf8')).toBe('{"type": "Contoso/Other"}');
    expect(existsSync(join(prefixD, 'bin', 'azbackup'))).toBe(false);

    // A prefix that cannot be a folder (a file is in the way).
    const fileInTheWay = join(base, 'a-file');
    writeFileSync(fileInTheWay, 'x');
    const r5 = install(unpacked, '--prefix', fileInTheWay);
    expect(r5.status).toBe(1);
    expect(r5.stderr).toContain('AZB_INSTALL_DENIED');
    expect(r5.stderr).toContain('--prefix');
  }, 120_000);

  it('the .deb: dpkg-deb shows its fields and paths; dpkg --root installs it into a throwaway root, where its module finds its engine, and removes it', () => {
    const deb = join(dist, debName);
    const info = run('dpkg-deb', ['-f', deb]);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain('Package: azbackup\n');
    expect(info.stdout).toContain(`Version: ${version.replace(/-/g, '~')}\n`);
    expect(info.stdout).toContain('Architecture: amd64\n');
    expect(info.stdout).toContain('Recommends: powershell\n');
    expect(info.stdout).not.toMatch(/^Depends:/m);
    const contents = run('dpkg-deb', ['-c', deb]).stdout.trim().split('\n');
    const byPath = new Map(contents.map((l) => { const parts = l.split(/\s+/); return [parts.slice(5).join(' '), { mode: parts[0]!, owner: parts[1]! }] as const; }));
    expect(byPath.get('./usr/bin/azbackup')?.mode).toBe('-rwxr-xr-x');
    expect(byPath.get('./usr/bin/azbackup.dsc.resource.json')?.mode).toBe('-rw-r--r--');
    expect(byPath.get('./usr/local/share/powershell/Modules/AzBackup/AzBackup.psd1')?.mode).toBe('-rw-r--r--');
    expect(byPath.has('./usr/local/share/powershell/Modules/AzBackup/cmdlets/Start-AzRecovery.ps1')).toBe(true);
    expect(byPath.has('./usr/local/share/powershell/Modules/AzBackup/en-US/about_AzBackup.help.txt')).toBe(true);
    expect(byPath.has('./usr/local/share/powershell/Modules/AzBackup/bin/azbackup -> ../../../../../../bin/azbackup')).toBe(true);
    expect(byPath.has('./usr/share/doc/azbackup/copyright')).toBe(true);
    for (const e of byPath.values()) expect(e.owner).toBe('root/root');

    const fakeRoot = tempDir('azb-pkg-dpkg-');
    mkdirSync(join(fakeRoot, 'var', 'lib', 'dpkg', 'info'), { recursive: true });
    mkdirSync(join(fakeRoot, 'var', 'lib', 'dpkg', 'updates'), { recursive: true });
    writeFileSync(join(fakeRoot, 'var', 'lib', 'dpkg', 'status'), '');
    const dpkg = (...args: string[]) => run('dpkg', [`--root=${fakeRoot}`, '--log=/dev/null', '--force-script-chrootless', ...args]);
    const installed = dpkg('-i', deb);
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);
    expect(dpkg('-s', 'azbackup').stdout).toContain('Status: install ok installed');
    const verify = dpkg('--verify', 'azbackup');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toBe('');

    const modules = join(fakeRoot, 'usr', 'local', 'share', 'powershell', 'Modules');
    const home = tempDir('azb-pkg-home-');
    const r = childPwsh('$ErrorActionPreference = "Stop"; Import-Module AzBackup; $e = Get-AzBackupEngine; [pscustomobject]@{ Base = (Get-Module AzBackup).ModuleBase; Engine = $e.Path; Real = (Get-Item $e.Path).ResolvedTarget; Version = $e.EngineVersion } | ConvertTo-Json -Compress',
      { prefixBin: join(fakeRoot, 'usr', 'bin'), modulePath: modules, home });
    const found = lastJson(r);
    expect(found['Base']).toBe(join(modules, 'AzBackup'));
    expect(found['Engine']).toBe(join(modules, 'AzBackup', 'bin', 'azbackup'));
    expect(found['Real']).toBe(join(fakeRoot, 'usr', 'bin', 'azbackup'));
    expect(found['Version']).toBe(version);

    const removed = dpkg('-r', 'azbackup');
    expect(removed.status, removed.stdout + removed.stderr).toBe(0);
    expect(existsSync(join(fakeRoot, 'usr', 'bin', 'azbackup'))).toBe(false);
    expect(existsSync(join(modules, 'AzBackup'))).toBe(false);
  }, 120_000);

  it('tools/package.mjs refuses arguments it does not know, and a module version that is not package.json\'s', () => {
    for (const args of [['--bogus'], ['stray'], ['--out']]) {
      const r = run(process.execPath, [join(root, 'tools', 'package.mjs'), ...args], { cwd: root });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('AZB_PACKAGE_USAGE');
    }
    // A copy of the checkout's parts the check reads, with a manifest one version behind.
    const copy = tempDir('azb-pkg-version-');
    mkdirSync(join(copy, 'tools'));
    mkdirSync(join(copy, 'module'));
    cpSync(join(root, 'tools', 'package.mjs'), join(copy, 'tools', 'package.mjs'));
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    writeFileSync(join(copy, 'module', 'AzBackup.psd1'), readFileSync(join(root, 'module', 'AzBackup.psd1'), 'utf8').replace(/ModuleVersion\s*=\s*'[^']*'/, "ModuleVersion = '0.0.1'"));
    const r = run(process.execPath, [join(copy, 'tools', 'package.mjs'), '--out', join(copy, 'dist')], { cwd: copy });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('AZB_PACKAGE_VERSION_MISMATCH');
    expect(r.stderr).toContain(`package.json says ${version}, module/AzBackup.psd1 says ModuleVersion 0.0.1`);
    expect(existsSync(join(copy, 'dist'))).toBe(false);

    // build.mjs --out never empties a folder it is given: a non-empty one is refused, untouched.
    const busy = tempDir('azb-pkg-busy-');
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const b = run(process.execPath, [join(root, 'bundle', 'build.mjs'), '--out', busy], { cwd: root });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('is not empty');
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('mine');
    const noFolder = run(process.execPath, [join(root, 'bundle', 'build.mjs'), '--out'], { cwd: root });
    expect(noFolder.status).toBe(2);
    expect(noFolder.stderr).toContain('--out needs a folder');
  });
});
