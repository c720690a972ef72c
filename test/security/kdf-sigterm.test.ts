// Item 7: the engine stays responsive to SIGTERM while it derives a key from a passphrase: it exits
// promptly with the cancelled code even while the (slow but allowed) derivation still runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import * as keys from '../../core/crypto/keys.js';
import { KDF_CHILD_ARG } from '../../core/crypto/keys.js';
import { ENGINE_PATH } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';
import { registrationOf } from './attacker.js';

// The most work a key file may ask for (core/crypto/keys.ts KDF_LIMITS): seconds on this machine.
const SLOW = { algorithm: 'argon2id', memoryKiB: 262144, passes: 4, parallelism: 1 } as const;

/** The pid of `parent`'s key-derivation child, if it runs one now. */
function kdfChildOf(parent: number): number | undefined {
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(KDF_CHILD_ARG)) return Number(pid);
    } catch { /* gone meanwhile */ }
  }
  return undefined;
}

function slowKeyFile(): keys.KeyFile {
  const file = { version: 1, created: new Date().toISOString(), hostname: 'srv01', kdf: { ...SLOW, salt: randomBytes(16).toString('base64') }, wrapped: randomBytes(60).toString('base64') } as unknown as keys.KeyFile;
  file.sha256 = keys.keyFileDigest(file);
  return file;
}

describe('SIGTERM during key derivation', () => {
  it('abandons a derivation when its signal aborts, while the same derivation without a signal still runs', async () => {
    // No time limit: the same work started at the same moment, not aborted, must still be running
    // when the aborted one has already given up (so it did not wait for its own work to end).
    const derive = keys.deriveKek as unknown as (p: string, k: keys.KdfParams, o?: { signal?: AbortSignal }) => Promise<Buffer>;
    const kdf = { ...SLOW, memoryKiB: 131072, passes: 3, salt: randomBytes(16).toString('base64') };
    const ac = new AbortController();
    let referenceDone = false;
    const reference = derive('a long enough passphrase', kdf).then(() => { referenceDone = true; });
    const aborted = derive('a long enough passphrase', kdf, { signal: ac.signal }).then(() => undefined, (e: unknown) => e);
    setTimeout(() => ac.abort(), 50);
    const err = await aborted;
    expect((err as { code?: string } | undefined)?.code).toBe('AZB_CANCELLED');
    expect(referenceDone).toBe(false);
    await reference;
  }, 60_000);

  it('the engine exits with the cancelled code on SIGTERM without finishing the derivation it is in', async () => {
    const fx = await registeredServer({ hostname: 'srv01' });
    const { serverId } = registrationOf(fx).reg;
    // Six slow key files: a wrong passphrase makes the engine try each (seconds apiece).
    const slow = slowKeyFile();
    for (let i = 0; i < 6; i++) writeFileSync(join(fx.vault, 'servers', serverId, 'keys', randomBytes(16).toString('hex')), JSON.stringify(slowKeyFile()));
    const child = spawn(ENGINE_PATH, ['points', '--vault', fx.vault, '--json'], { env: { ...process.env, ...fx.env, AZBACKUP_PASSPHRASE: 'not the passphrase of srv01' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    let closed = false;
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => { closed = true; resolve(code); }));
    // Deriving: the engine has started its key-derivation child (found in /proc, no fixed wait).
    while (!closed && kdfChildOf(child.pid!) === undefined) await sleep(20);
    expect(closed).toBe(false);
    // A reference: a derivation of half that cost (half the passes), in its own child, started now. A
    // correct engine is gone long before it ends; one that let the derivation it is in run to its end
    // (or went on to the next key file) would end after it.
    const reference = spawn(ENGINE_PATH, [KDF_CHILD_ARG], { stdio: ['pipe', 'pipe', 'ignore'] });
    let referenceDone = false;
    const referenceClosed = new Promise<void>((resolve) => reference.on('close', () => { referenceDone = true; resolve(); }));
    reference.stdout.resume();
    reference.stdin.end(JSON.stringify({ passphrase: Buffer.from('another passphrase').toString('base64'), kdf: { ...slow.kdf, passes: SLOW.passes / 2 } }));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await done;
    clearTimeout(killer);
    expect(referenceDone).toBe(false);
    expect(code).toBe(5);
    reference.kill('SIGKILL');
    await referenceClosed;
  }, 60_000);
});
