// Builds the engine: esbuild bundles core/ into one CommonJS file, then Node's SEA machinery
// turns that file into one native executable (bundle/dist/azbackup[.exe]).
// Runs on the pinned Node 24 (npm scripts put node_modules/.bin first on PATH).
// --win (npm run build:win) cross-builds the Windows engine, bundle/dist/azbackup.exe, next to whatever
// else bundle/dist holds: the same bundle and blob, made by this Node, injected into the pinned win-x64
// node.exe (win-node.mjs).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMPORT_META_URL_BANNER, buildDefines, buildKind } from './defines.mjs';
import { winNodeExe } from './win-node.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --out DIR builds elsewhere (tools/package.mjs builds its release engine apart from bundle/dist, which may
// hold the test build the tests are running).
const outIndex = process.argv.indexOf('--out');
if (outIndex >= 0 && (!process.argv[outIndex + 1] || process.argv[outIndex + 1].startsWith('--'))) {
  console.error('build: --out needs a folder');
  process.exit(2);
}
const dist = outIndex >= 0 ? resolve(process.argv[outIndex + 1]) : join(root, 'bundle', 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// release (default) or test (--test): see defines.mjs.
const kind = buildKind();
// The platform the executable is for: this machine's, or Windows (--win) from any.
const forWindows = process.argv.includes('--win') || process.platform === 'win32';
const crossBuild = forWindows && process.platform !== 'win32';

if (!process.version.startsWith('v24.')) {
  console.error(`build: expected the pinned Node 24, got ${process.version}; run through npm (npm run build)`);
  process.exit(1);
}

if (outIndex >= 0) {
  // Never empty a folder named on the command line: it could be anything.
  if (existsSync(dist) && readdirSync(dist).length > 0) {
    console.error(`build: --out ${dist} is not empty; name a new or empty folder`);
    process.exit(2);
  }
} else if (!crossBuild) {
  // A cross-build leaves the native engine (and the tests using it) alone: it replaces only its own files.
  rmSync(dist, { recursive: true, force: true });
}
mkdirSync(dist, { recursive: true });

// Both bundles: one minified CommonJS file for Node 24.
// cliui (under yargs) pins string-width 7, yargs itself 8: one copy in the bundle, not two (each builds an
// Intl.Segmenter and large Unicode regexes when loaded, on every CLI start). Same API (width of a string).
const alias = { 'string-width': join(root, 'node_modules', 'string-width') };
const common = { alias, bundle: true, platform: 'node', format: 'cjs', target: 'node24', minifySyntax: true, minifyWhitespace: true, legalComments: 'none', logLevel: 'warning', define: buildDefines(kind) };

// The backup read worker (core/backup/read-worker.ts) runs on worker threads; a single executable has
// no file to start them from, so its bundle is embedded in the engine as text.
const workerBundle = await build({ ...common, entryPoints: [join(root, 'core', 'backup', 'read-worker.ts')], write: false });
const workerSource = workerBundle.outputFiles[0].text;
// The same for the decode worker (core/repo/decode-worker.ts): restore's decrypt, decompress and ID check.
const decodeBundle = await build({ ...common, entryPoints: [join(root, 'core', 'repo', 'decode-worker.ts')], write: false });
const decodeSource = decodeBundle.outputFiles[0].text;

// Its intermediate files have names of their own, so a native build may run into the same folder at once.
const stem = crossBuild ? 'azbackup-win' : 'azbackup';
const bundleFile = join(dist, `${stem}.cjs`);
await build({
  ...common,
  entryPoints: [join(root, 'core', 'main.ts')],
  outfile: bundleFile,
  sourcemap: false,
  // ESM dependencies (yargs) read import.meta.url, which a CommonJS bundle lacks. It must not be the
  // executable's own path: yargs's y18n then reads <exe>/../../../locales/en_US.json, which lets a stray
  // file change the engine's messages and fails the whole command with EACCES when that folder is
  // unreadable to the user running it. A fixed path under / that nothing creates gives y18n ENOENT
  // (= built-in English strings) everywhere. It must be absolute on the platform it runs on (createRequire
  // throws otherwise), so it is made at start: under / elsewhere, under the Windows folder on Windows,
  // which like / only administrators may add folders to (C:\ itself lets any user make one).
  banner: { js: IMPORT_META_URL_BANNER },
  define: { ...buildDefines(kind), AZBACKUP_ENGINE_VERSION: JSON.stringify(pkg.version), AZBACKUP_READ_WORKER_SOURCE: JSON.stringify(workerSource), AZBACKUP_DECODE_WORKER_SOURCE: JSON.stringify(decodeSource), 'import.meta.url': '__azbImportMetaUrl' },
});

// SEA: execArgvExtension "none" so NODE_OPTIONS on a server cannot inject code into the agent.
// useCodeCache: V8's code cache is specific to the V8 build that made it, and a Windows node.exe rejects
// the Linux one (and says so on every run), so a cross-built executable goes without.
const blobFile = join(dist, `${stem}.blob`);
const seaConfig = join(dist, `${stem}.sea-config.json`);
writeFileSync(seaConfig, JSON.stringify({
  main: bundleFile,
  output: blobFile,
  disableExperimentalSEAWarning: true,
  execArgvExtension: 'none',
  useCodeCache: !crossBuild,
}, null, 2));
// Node says where it wrote the blob (on stderr); only other output is shown.
const blobbed = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], { encoding: 'utf8' });
const blobOutput = `${blobbed.stderr}`.split('\n').filter((l) => l && !l.startsWith('Wrote single executable preparation blob'));
if (blobOutput.length > 0) console.error(blobOutput.join('\n'));
if (blobbed.status !== 0) process.exit(1);

const exe = join(dist, forWindows ? 'azbackup.exe' : 'azbackup');
rmSync(exe, { force: true });
copyFileSync(crossBuild ? winNodeExe(root) : process.execPath, exe);
chmodSync(exe, 0o755);
const postjectArgs = [exe, 'NODE_SEA_BLOB', blobFile, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'];
if (process.platform === 'darwin' && !crossBuild) postjectArgs.push('--macho-segment-name', 'NODE_SEA');
const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
// postject warns about ELF note sections it cannot name; harmless, so only other output is shown.
const injected = spawnSync(process.execPath, [postject, ...postjectArgs], { encoding: 'utf8' });
const noise = /Can't find string offset for section name/;
const shown = `${injected.stdout}${injected.stderr}`.split('\n').filter((l) => l && !noise.test(l));
if (injected.status !== 0) { console.error(shown.join('\n')); process.exit(1); }
rmSync(blobFile);
rmSync(seaConfig);
if (crossBuild) rmSync(bundleFile);
console.log(`build: ${exe} (engine ${pkg.version}, ${kind} build, Node ${process.version}${crossBuild ? ', win-x64' : ''})`);
