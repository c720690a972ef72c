// `npm run package`: the release of this checkout, in dist/ (or --out DIR):
//   azbackup-<version>-linux-x64.tar.gz  bin/azbackup (+ its DSC v3 manifest), modules/AzBackup, install.sh, README.txt, LICENSE,
//                                        SHA256SUMS (of every file in it; install.sh checks it)
//   azbackup_<version>_amd64.deb         /usr/bin/azbackup (+ azbackup.dsc.resource.json), /usr/local/share/powershell/Modules/AzBackup
//   SHA256SUMS                           of the two
// It always builds its own release engine (bundle/build.mjs --out) in a folder of its own: bundle/dist may
// hold a test build (which honours AZBACKUP_TEST_KDF=fast and must never reach a server), and the tests
// may be running it. A release build takes ~10 s; freshness checks would save little and could be wrong.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Errors say what was wrong and what to do, with a stable code; exit 2 = usage, 1 = failure.
function fail(code, message, hint, exit = 1) {
  console.error(`package: error ${code}: ${message}`);
  if (hint) console.error(`package: ${hint}`);
  process.exit(exit);
}

let options;
try {
  options = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
} catch (e) {
  fail('AZB_PACKAGE_USAGE', e.message, 'Usage: node tools/package.mjs [--out DIR] (npm run package -- --out DIR)', 2);
}
if (options.help) {
  console.log('Usage: node tools/package.mjs [--out DIR]\nBuilds a release engine and writes the release archive, the .deb and SHA256SUMS to DIR (default dist/).');
  process.exit(0);
}
if (options.out === '') fail('AZB_PACKAGE_USAGE', '--out needs a folder', undefined, 2);
if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail('AZB_PACKAGE_PLATFORM', `packages are built for linux-x64 on linux-x64; this is ${process.platform}-${process.arch}`, 'Run npm run package on a Linux x64 machine.');
}
if (!process.version.startsWith('v24.')) {
  fail('AZB_PACKAGE_PLATFORM', `expected the pinned Node 24, got ${process.version}`, 'Run it through npm (npm run package) after "bash tools/setup.sh".');
}
for (const [tool, pkg] of [['tar', 'tar'], ['dpkg-deb', 'dpkg']]) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) fail('AZB_PACKAGE_TOOL_MISSING', `${tool} was not found`, `Install it (apt-get install ${pkg}), then run npm run package again.`);
}

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const moduleVersion = /ModuleVersion\s*=\s*'([^']*)'/.exec(readFileSync(join(root, 'module', 'AzBackup.psd1'), 'utf8'))?.[1];
if (moduleVersion !== version.replace(/[-+].*$/, '')) {
  fail('AZB_PACKAGE_VERSION_MISMATCH', `package.json says ${version}, module/AzBackup.psd1 says ModuleVersion ${moduleVersion}`, 'Give both the same version, then package again.');
}
const dscManifest = join(root, 'core', 'dsc', 'azbackup.dsc.resource.json');
const dscVersion = JSON.parse(readFileSync(dscManifest, 'utf8')).version;
if (dscVersion !== version) {
  fail('AZB_PACKAGE_VERSION_MISMATCH', `package.json says ${version}, core/dsc/azbackup.dsc.resource.json says version ${dscVersion}`, 'Give both the same version, then package again.');
}
// Debian sorts "~" before the release ("0.2.0~rc1" < "0.2.0"), as SemVer sorts "-rc1".
const debVersion = version.replace(/-/g, '~');

const out = resolve(options.out ?? join(root, 'dist'));
const name = `azbackup-${version}-linux-x64`;
const archive = join(out, `${name}.tar.gz`);
const deb = join(out, `azbackup_${debVersion}_amd64.deb`);
const sums = join(out, 'SHA256SUMS');
const work = join(out, `.package-${process.pid}`);
mkdirSync(out, { recursive: true });
// The work folder goes on any exit, fail() included (process.exit skips finally blocks, not 'exit' handlers).
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// Only what this script writes is replaced; anything else in --out stays.
for (const f of [archive, deb, sums]) rmSync(f, { force: true });

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) fail('AZB_PACKAGE_STEP_FAILED', `${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`, 'See its output above.');
  return r;
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every regular file under dir, as paths relative to it, sorted (symbolic links are not followed). */
function filesUnder(dir) {
  const found = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) found.push(relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

/** Owner-writable, world-readable modes throughout: 0755 for folders and executables, 0644 for the rest. */
function normaliseModes(dir, executables) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) normaliseModes(p, executables);
    else chmodSync(p, executables.has(p) ? 0o755 : 0o644);
  }
}

/** The module as installed: module/ with cmdlets/ inside it (the loader finds them there). */
function copyModule(target) {
  cpSync(join(root, 'module'), target, { recursive: true });
  cpSync(join(root, 'cmdlets'), join(target, 'cmdlets'), { recursive: true });
}

const sourceDateEpoch = process.env.SOURCE_DATE_EPOCH
  ?? (spawnSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).stdout?.trim() || `${Math.floor(Date.now() / 1000)}`);

{
  // 1. A release engine, apart from bundle/dist.
  const buildDir = join(work, 'build');
  run(process.execPath, [join(root, 'bundle', 'build.mjs'), '--out', buildDir]);
  const engine = join(buildDir, 'azbackup');
  const probe = spawnSync(engine, ['--version', '--json'], { encoding: 'utf8' });
  const built = /"engineVersion":"([^"]*)"/.exec(probe.stdout ?? '')?.[1];
  if (built !== version) fail('AZB_PACKAGE_STEP_FAILED', `the engine just built reports version ${built ?? '(none)'}, expected ${version}`, 'Rebuild (npm run build) and look at its output.');

  // 2. The archive's tree.
  const stage = join(work, name);
  mkdirSync(join(stage, 'bin'), { recursive: true });
  cpSync(engine, join(stage, 'bin', 'azbackup'));
  // DSC v3 finds resource manifests on PATH: the manifest goes beside the engine it names.
  cpSync(dscManifest, join(stage, 'bin', 'azbackup.dsc.resource.json'));
  copyModule(join(stage, 'modules', 'AzBackup'));
  cpSync(join(root, 'packaging', 'install.sh'), join(stage, 'install.sh'));
  cpSync(join(root, 'packaging', 'LICENSE'), join(stage, 'LICENSE'));
  writeFileSync(join(stage, 'README.txt'), readFileSync(join(root, 'packaging', 'README.txt'), 'utf8').replaceAll('@VERSION@', version).replaceAll('@DEBVERSION@', debVersion));
  normaliseModes(stage, new Set([join(stage, 'bin', 'azbackup'), join(stage, 'install.sh')]));
  const listed = filesUnder(stage).map((f) => `${sha256(join(stage, f))}  ${f}\n`).join('');
  writeFileSync(join(stage, 'SHA256SUMS'), listed, { mode: 0o644 });
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${sourceDateEpoch}`, '-czf', archive, '-C', work, name]);

  // 3. The .deb: /usr/bin for the engine; the module where pwsh looks by default on Linux, whichever way
  // pwsh itself was installed (its own $PSHOME/Modules differs between the Microsoft package, snap and
  // the dotnet tool). /usr/local is Debian's place for the admin's own software, so this is a local
  // package, not one for the Debian archive.
  const debRoot = join(work, 'deb');
  const debModule = join(debRoot, 'usr', 'local', 'share', 'powershell', 'Modules', 'AzBackup');
  mkdirSync(join(debRoot, 'DEBIAN'), { recursive: true });
  mkdirSync(join(debRoot, 'usr', 'bin'), { recursive: true });
  cpSync(engine, join(debRoot, 'usr', 'bin', 'azbackup'));
  cpSync(dscManifest, join(debRoot, 'usr', 'bin', 'azbackup.dsc.resource.json'));
  copyModule(debModule);
  mkdirSync(join(debModule, 'bin'));
  symlinkSync('../../../../../../bin/azbackup', join(debModule, 'bin', 'azbackup'));
  mkdirSync(join(debRoot, 'usr', 'share', 'doc', 'azbackup'), { recursive: true });
  cpSync(join(root, 'packaging', 'LICENSE'), join(debRoot, 'usr', 'share', 'doc', 'azbackup', 'copyright'));
  normaliseModes(debRoot, new Set([join(debRoot, 'usr', 'bin', 'azbackup')]));
  const payload = filesUnder(debRoot).filter((f) => !f.startsWith('DEBIAN/'));
  const installedKiB = Math.ceil(payload.reduce((n, f) => n + statSync(join(debRoot, f)).size, 0) / 1024);
  writeFileSync(join(debRoot, 'DEBIAN', 'md5sums'), payload.map((f) => `${createHash('md5').update(readFileSync(join(debRoot, f))).digest('hex')}  ${f}\n`).join(''), { mode: 0o644 });
  writeFileSync(join(debRoot, 'DEBIAN', 'control'), [
    'Package: azbackup',
    `Version: ${debVersion}`,
    'Architecture: amd64',
    'Maintainer: AzBackup developers <azbackup@example.invalid>',
    `Installed-Size: ${installedKiB}`,
    'Section: admin',
    'Priority: optional',
    // Microsoft's package name for PowerShell 7; not Depends: it may come from elsewhere (dotnet tool, snap).
    'Recommends: powershell',
    'Description: server backup agent driven from PowerShell 7',
    ' Files are chunked, deduplicated, compressed and encrypted with a passphrase',
    ' that never leaves the server, then stored in a vault: a local folder or an',
    ' Azure Blob Storage container. The engine is /usr/bin/azbackup; the',
    ' PowerShell module AzBackup is in /usr/local/share/powershell/Modules, on',
    ' PowerShell 7\'s default module path (Import-Module AzBackup).',
    '',
  ].join('\n'), { mode: 0o644 });
  // gzip: xz takes over a minute for the 130 MB engine; zstd is unreadable to dpkg before 1.21.18.
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', debRoot, deb], { env: { ...process.env, SOURCE_DATE_EPOCH: sourceDateEpoch }, stdio: ['ignore', 'ignore', 'inherit'] });

  writeFileSync(sums, [archive, deb].map((f) => `${sha256(f)}  ${relative(out, f)}\n`).join(''));
  for (const f of [archive, deb]) console.log(`package: ${f} (${(statSync(f).size / 1048576).toFixed(1)} MiB)`);
  console.log(`package: ${sums}`);
}
