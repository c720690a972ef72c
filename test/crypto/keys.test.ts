import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyFile, deriveKeys, openKeyFile, packKey } from '../../core/crypto/keys.js';

process.env['AZBACKUP_TEST_KDF'] = 'fast';

describe('key files', () => {
  const master = randomBytes(32);
  const serverId = 'ab'.repeat(32);

  it('wraps and unwraps the master key with the passphrase', async () => {
    const file = await createKeyFile(master, 'a long enough passphrase', serverId, 'srv01');
    expect(file.kdf.algorithm).toBe('argon2id');
    expect(JSON.stringify(file)).not.toContain(master.toString('base64'));
    expect((await openKeyFile(file, 'a long enough passphrase', serverId))?.equals(master)).toBe(true);
  });

  it('refuses a wrong passphrase and a key file moved to another server', async () => {
    const file = await createKeyFile(master, 'a long enough passphrase', serverId, 'srv01');
    expect(await openKeyFile(file, 'a long enough passphrasE', serverId)).toBeUndefined();
    expect(await openKeyFile(file, 'a long enough passphrase', 'cd'.repeat(32))).toBeUndefined();
  });

  it('detects a damaged key file', async () => {
    const file = await createKeyFile(master, 'a long enough passphrase', serverId, 'srv01');
    const raw = Buffer.from(file.wrapped, 'base64');
    raw[20] = raw[20]! ^ 1;
    expect(await openKeyFile({ ...file, wrapped: raw.toString('base64') }, 'a long enough passphrase', serverId)).toBeUndefined();
  });

  it('uses the calibrated argon2id cost unless the test switch is set', async () => {
    delete process.env['AZBACKUP_TEST_KDF'];
    try {
      const file = await createKeyFile(master, 'a long enough passphrase', serverId, 'srv01');
      expect(file.kdf).toMatchObject({ algorithm: 'argon2id', memoryKiB: 65536, passes: 3, parallelism: 1 });
    } finally {
      process.env['AZBACKUP_TEST_KDF'] = 'fast';
    }
  });

  it('derives distinct keys per purpose and per pack', () => {
    const k = deriveKeys(master);
    const all = [k.blobId, k.chunker, k.seal, k.pack].map((b) => b.toString('hex'));
    expect(new Set(all).size).toBe(4);
    expect(packKey(k, randomBytes(16)).equals(packKey(k, randomBytes(16)))).toBe(false);
    expect(deriveKeys(master).seal.equals(k.seal)).toBe(true);
  });
});
