// Item 7: the engine stays responsive to SIGTERM while it derives a key from a passphrase: it exits
// promptly with the cancelled code even while the (slow but allowed) derivation still runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import * as keys from '../../core/crypto/keys.js';
import { ENGINE_PATH } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';
import { registrationOf } from './attacker.js';

// The most work a key file may ask for (core/crypto/keys.ts KDF_LIMITS): seconds on this machine.
const SLOW = { algorithm: 'argon2id', memoryKiB: 262144, passes: 4, parallelism: 1 } as const;

function slowKeyFile(): keys.KeyFile {
  const file = { version: 1, created: new Date().toISOString(), hostname: 'srv01', kdf: { ...SLOW, salt: randomBytes(16).toString('base64') }, wrapped: randomBytes(60).toString('base64') } as unknown as keys.KeyFile;
  file.sha256 = keys.keyFileDigest(file);
  return file;
}

describe('SIGTERM during key derivation', () => {
  it('abandons a derivation when its signal aborts', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    const derive = keys.deriveKek as unknown as (p: string, k: keys.KdfParams, o?: { signal?: AbortSignal }) => Promise<Buffer>;
    const err = await derive('a long enough passphrase', { ...SLOW, salt: randomBytes(16).toString('base64') }, { signal: ac.signal }).then(() => undefined, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(600);
    expect((err as { code?: string } | undefined)?.code).toBe('AZB_CANCELLED');
  });

  it('the engine exits with the cancelled code within 2 s of SIGTERM while it derives', async () => {
    const fx = await registeredServer({ hostname: 'srv01' });
    const { serverId } = registrationOf(fx).reg;
    // Six slow key files: a wrong passphrase makes the engine try each (seconds apiece).
    for (let i = 0; i < 6; i++) writeFileSync(join(fx.vault, 'servers', serverId, 'keys', randomBytes(16).toString('hex')), JSON.stringify(slowKeyFile()));
    const child = spawn(ENGINE_PATH, ['points', '--vault', fx.vault, '--json'], { env: { ...process.env, ...fx.env, AZBACKUP_PASSPHRASE: 'not the passphrase of srv01' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    const done = new Promise<{ code: number | null; at: number }>((resolve) => child.on('close', (code) => resolve({ code, at: Date.now() })));
    await sleep(2500); // started, and deriving
    const sent = Date.now();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const { code, at } = await done;
    clearTimeout(killer);
    expect(at - sent).toBeLessThan(2000);
    expect(code).toBe(5);
  }, 60_000);
});
