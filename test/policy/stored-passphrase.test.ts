// The passphrase stored for unattended runs: encrypted by the real systemd-creds (as root, with the
// host key), or an owner-only file; a failure of systemd-creds is a coded error, never a clear file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzbError } from '../../core/protocol/errors.js';
import { credentialFile, forgetStoredPassphrase, passphraseFile, readStoredPassphrase, storedPassphraseInfo, storePassphrase } from '../../core/policy/stored-passphrase.js';
import { tempDir } from '../helpers/tmp.js';

const VAULT = '0123456789abcdef0123456789abcdef';
const SECRET = 'the passphrase of this server, 42';
const canEncrypt = process.getuid?.() === 0 && spawnSync('systemd-creds', ['--version']).status === 0;
const saved = { home: process.env['AZBACKUP_HOME'], path: process.env['PATH'] };

beforeEach(() => {
  const home = tempDir('azb-stored-');
  mkdirSync(home, { recursive: true });
  process.env['AZBACKUP_HOME'] = home;
});
afterEach(() => {
  if (saved.home === undefined) delete process.env['AZBACKUP_HOME']; else process.env['AZBACKUP_HOME'] = saved.home;
  process.env['PATH'] = saved.path;
});

describe('stored passphrase', () => {
  it('as a file: owner-only, read back, and forgotten', async () => {
    const stored = await storePassphrase(VAULT, SECRET, 'file');
    expect(stored).toEqual({ method: 'file', path: passphraseFile(VAULT) });
    expect(statSync(stored.path).mode & 0o777).toBe(0o600);
    expect(await readStoredPassphrase(VAULT)).toBe(SECRET);
    expect(await forgetStoredPassphrase(VAULT)).toBe(true);
    expect(await storedPassphraseInfo(VAULT)).toBeUndefined();
  });

  it.skipIf(!canEncrypt)('encrypted by systemd-creds: not in clear on disk, decrypted back, and replacing the file form', async () => {
    await storePassphrase(VAULT, SECRET, 'file');
    const stored = await storePassphrase(VAULT, SECRET, 'systemd-creds');
    expect(stored.path).toBe(credentialFile(VAULT));
    expect(existsSync(passphraseFile(VAULT))).toBe(false);
    expect(readFileSync(stored.path).includes(Buffer.from(SECRET))).toBe(false);
    expect(statSync(stored.path).mode & 0o777).toBe(0o600);
    expect(await readStoredPassphrase(VAULT)).toBe(SECRET);
  });

  it('fails with AZB_PASSPHRASE_STORE_FAILED when systemd-creds cannot run, and stores nothing', async () => {
    process.env['PATH'] = tempDir('azb-empty-path-');
    const err = await storePassphrase(VAULT, SECRET, 'systemd-creds').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AzbError);
    expect((err as AzbError).code).toBe('AZB_PASSPHRASE_STORE_FAILED');
    expect((err as AzbError).message).not.toContain(SECRET);
    expect(await storedPassphraseInfo(VAULT)).toBeUndefined();
  });
});
