// LOW: AZBACKUP_TEST_KDF (weak, fast key derivation for tests) must not work in a release executable.
// The switch is decided at build time (bundle/defines.mjs): this bundles core/crypto/keys.ts the way
// each kind of build does and asks it to create a key file with the variable set.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = join(import.meta.dirname, '..', '..');

async function kdfOfBuild(kind: 'release' | 'test'): Promise<Record<string, unknown>> {
  const { buildDefines } = await import(pathToFileURL(join(root, 'bundle', 'defines.mjs')).href) as { buildDefines: (kind: string) => Record<string, string> };
  const dir = tempDir('azb-testkdf-');
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, `import { createKeyFile } from ${JSON.stringify(join(root, 'core', 'crypto', 'keys.ts'))};
createKeyFile(Buffer.alloc(32, 1), 'a long enough passphrase', 'ab'.repeat(32), 'h').then((f) => console.log(JSON.stringify(f.kdf)));\n`);
  const out = join(dir, 'keys.cjs');
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node24', minifySyntax: true, logLevel: 'silent', define: buildDefines(kind) });
  const run = spawnSync(process.execPath, [out], { env: { ...process.env, AZBACKUP_TEST_KDF: 'fast' }, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('AZBACKUP_TEST_KDF', () => {
  it('is ignored by a release build: its key files always get the full argon2id cost', async () => {
    expect(await kdfOfBuild('release')).toMatchObject({ algorithm: 'argon2id', memoryKiB: 65536, passes: 3, parallelism: 1 });
  }, 60_000);

  it('is honoured by a test build (what npm test builds), so the suite stays fast', async () => {
    expect(await kdfOfBuild('test')).toMatchObject({ algorithm: 'argon2id', memoryKiB: 1024, passes: 1 });
  }, 60_000);
});
