// A registered server on a fresh local vault, driven through the built executable: what most engine
// integration tests start from. Each fixture has its own AZBACKUP_HOME, cache and vault folder.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { resultOf, runEngine, type EngineRun } from './engine.js';
import { tempDir } from './tmp.js';

export interface VaultFixture {
  root: string;
  vault: string;
  home: string;
  passphrase: string;
  env: Record<string, string>;
  /** Runs the engine with --json and this fixture's vault, home, cache and passphrase. */
  az(args: string[], opts?: { env?: Record<string, string | undefined>; stdin?: string | Buffer }): Promise<EngineRun>;
}

/** Where a fixture's vault lives: a local folder, or a container of a running Azurite. */
export type FixtureBackend = { kind: 'local' } | { kind: 'azurite'; blobEndpoint: string; connectionString: string };

/** Creates a vault, a certificate, uploads it and registers a server. */
export async function registeredServer(o: { hostname?: string; passphrase?: string; vault?: string; backend?: FixtureBackend } = {}): Promise<VaultFixture> {
  const root = tempDir('azb-vault-');
  const home = join(root, 'home');
  const backend = o.backend ?? { kind: 'local' };
  const vault = o.vault ?? (backend.kind === 'azurite' ? `${backend.blobEndpoint}/vault-${randomBytes(6).toString('hex')}` : join(root, 'vault'));
  const passphrase = o.passphrase ?? 'correct horse battery staple 42';
  mkdirSync(home, { recursive: true });
  const env: Record<string, string> = { AZBACKUP_HOME: home, AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: passphrase };
  if (backend.kind === 'azurite') env['AZBACKUP_STORAGE_CONNECTION_STRING'] = backend.connectionString;
  const az: VaultFixture['az'] = (args, opts = {}) => runEngine([...args, '--json'], { env: { ...env, ...opts.env }, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
  if (!o.vault) expect((await az(['vault', 'create', vault])).code).toBe(0);
  const pw = join(root, 'pfx.pw');
  writeFileSync(pw, 'fixture-pfx-password', { mode: 0o600 }); // secret files must be owner-only
  const name = o.hostname ?? 'srv01';
  const made = await az(['cert', 'new', '--subject', `CN=${name}`, '-o', root, '--password-file', pw]);
  expect(made.code, made.stdout).toBe(0);
  const added = await az(['vault', 'add-cert', join(root, `${name}.cer`), '--vault', vault]);
  expect(added.code, added.stdout).toBe(0);
  const reg = await az(['register', '--vault', vault, '--certificate', join(root, `${name}.pfx`), '--password-file', pw, '--hostname', name]);
  expect(reg.code, reg.stdout + reg.stderr).toBe(0);
  resultOf(reg, 'Registration');
  return { root, vault, home, passphrase, env, az };
}

/** Every file under a folder with its size, as "relative/path:size" (to compare vault contents). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}
