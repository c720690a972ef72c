// The passphrase stored for unattended runs: encrypted by the real systemd-creds (as root, with the
// host key), with DPAPI on Windows, or an owner-only file; a failure of systemd-creds or DPAPI is a coded
// error, never a clear file. DPAPI does not exist here: a stand-in for powershell.exe runs the engine's
// own script in the real pwsh, with a stand-in ProtectedData class that checks the scope and entropy.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzbError } from '../../core/protocol/errors.js';
import { credentialFile, dpapiFile, forgetStoredPassphrase, passphraseFile, readStoredPassphrase, storedPassphraseInfo, storePassphrase } from '../../core/policy/stored-passphrase.js';
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

/** ProtectedData as the engine's script uses it, for pwsh on Linux: a reversible transform, refusing a wrong scope or entropy. */
const PROTECTED_DATA_STANDIN = `Add-Type -TypeDefinition @'
namespace AzbTest {
  public enum DataProtectionScope { CurrentUser = 0, LocalMachine = 1 }
  public static class ProtectedData {
    static byte[] Mix(byte[] data, byte[] entropy, int skip, int pad) {
      var o = new byte[data.Length - skip + pad];
      for (int i = 0; i < data.Length - skip; i++) o[i + pad] = (byte)(data[i + skip] ^ entropy[i % entropy.Length] ^ 0x5a);
      return o;
    }
    public static byte[] Protect(byte[] data, byte[] entropy, DataProtectionScope scope) {
      if (scope != DataProtectionScope.LocalMachine) throw new System.ArgumentException("not machine scope");
      if (entropy == null || entropy.Length == 0) throw new System.ArgumentException("no entropy");
      var o = Mix(data, entropy, 0, 4); o[0] = 0x44; o[1] = 0x50; o[2] = 0x41; o[3] = 0x50;
      return o;
    }
    public static byte[] Unprotect(byte[] blob, byte[] entropy, DataProtectionScope scope) {
      if (scope != DataProtectionScope.LocalMachine || blob.Length < 4 || blob[0] != 0x44 || blob[3] != 0x50) throw new System.Security.Cryptography.CryptographicException("The data is invalid.");
      return Mix(blob, entropy, 4, 0);
    }
  }
}
'@
function Add-Type { param([string]$AssemblyName) }
`;

/** A stand-in for powershell.exe: logs what it was given, then runs the script it got in pwsh with the stand-in classes. */
function fakeWindowsPowerShell(dir: string): { path: string; log: string } {
  const pwsh = execFileSync('bash', [join(process.cwd(), 'tools/find-pwsh.sh')], { encoding: 'utf8' }).trim();
  const log = join(dir, 'calls.jsonl');
  // pwsh itself needs this environment (a dotnet global tool); what the engine passed is only logged.
  const pwshEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AZBACKUP_')));
  const path = join(dir, 'powershell.exe');
  writeFileSync(path, `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, env: process.env }) + '\\n');
const script = Buffer.from(args[args.indexOf('-EncodedCommand') + 1], 'base64').toString('utf16le');
// The engine's script names the real classes, which throw on Linux: point them at the stand-ins.
const full = ${JSON.stringify(PROTECTED_DATA_STANDIN)} + script.split('[System.Security.Cryptography.').join('[AzbTest.');
const r = spawnSync(${JSON.stringify(pwsh)}, ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(full, 'utf16le').toString('base64')], { input: fs.readFileSync(0), env: ${JSON.stringify(pwshEnv)} });
process.stdout.write(r.stdout); process.stderr.write(r.stderr); process.exit(r.status ?? 1);
`);
  chmodSync(path, 0o755);
  return { path, log };
}

/** A stand-in for icacls.exe: logs its arguments, exits with `code`. */
function fakeIcacls(dir: string, code = 0): { path: string; log: string } {
  const log = join(dir, 'icacls.jsonl');
  const path = join(dir, 'icacls.exe');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${code === 0 ? 'echo "processed 1 files"' : 'echo "Access is denied." >&2'}\nexit ${code}\n`);
  chmodSync(path, 0o755);
  return { path, log };
}

describe('stored passphrase with DPAPI (Windows)', () => {
  const UNICODE = 'Passwort für Ünïcode-Server ✓ 42';
  const savedPassphrase = process.env['AZBACKUP_PASSPHRASE'];
  afterEach(() => { if (savedPassphrase === undefined) delete process.env['AZBACKUP_PASSPHRASE']; else process.env['AZBACKUP_PASSPHRASE'] = savedPassphrase; });

  it('encrypts with machine scope and entropy, decrypts back, and the secret is never in the arguments or environment of powershell.exe', async () => {
    const dir = tempDir('azb-dpapi-');
    const fake = fakeWindowsPowerShell(dir);
    const icacls = fakeIcacls(dir);
    process.env['AZBACKUP_PASSPHRASE'] = UNICODE; // must not reach the child
    await storePassphrase(VAULT, UNICODE, 'file');
    const stored = await storePassphrase(VAULT, UNICODE, 'dpapi', { windowsPowerShell: fake.path, icacls: icacls.path });
    // The blob is then readable by SYSTEM and the Administrators only (well-known SIDs, nothing inherited).
    expect(readFileSync(icacls.log, 'utf8')).toBe(`${stored.path} /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F\n`);
    expect(stored).toEqual({ method: 'dpapi', path: dpapiFile(VAULT) });
    expect(existsSync(passphraseFile(VAULT))).toBe(false);
    const blob = Buffer.from(readFileSync(stored.path, 'utf8'), 'base64');
    expect(blob.subarray(0, 4).toString()).toBe('DPAP'); // ProtectedData.Protect made it, with LocalMachine and an entropy
    expect(blob.includes(Buffer.from(UNICODE))).toBe(false);
    expect(statSync(stored.path).mode & 0o777).toBe(0o600);
    expect(await storedPassphraseInfo(VAULT)).toEqual({ method: 'dpapi', path: stored.path });
    expect(await readStoredPassphrase(VAULT, { windowsPowerShell: fake.path })).toBe(UNICODE);

    const calls = readFileSync(fake.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string> });
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.args.slice(0, 6)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', expect.any(String)]);
      const text = JSON.stringify(c);
      for (const form of [UNICODE, Buffer.from(UNICODE).toString('base64')]) expect(text).not.toContain(form);
      expect(Object.keys(c.env).filter((k) => k.startsWith('AZBACKUP_'))).toEqual([]);
    }
    expect(await forgetStoredPassphrase(VAULT)).toBe(true);
    expect(existsSync(stored.path)).toBe(false);
  });

  it('fails with AZB_PASSPHRASE_STORE_FAILED when Windows PowerShell cannot run, and stores nothing', async () => {
    const err = await storePassphrase(VAULT, SECRET, 'dpapi', { windowsPowerShell: join(tempDir('azb-no-ps-'), 'powershell.exe') }).then(() => undefined, (e: unknown) => e);
    expect((err as AzbError).code).toBe('AZB_PASSPHRASE_STORE_FAILED');
    expect((err as AzbError).message).toContain('DPAPI');
    expect((err as AzbError).message).not.toContain(SECRET);
    expect(await storedPassphraseInfo(VAULT)).toBeUndefined();
  });

  it('stores nothing when the file\'s access cannot be limited (icacls fails)', async () => {
    const dir = tempDir('azb-dpapi-');
    const err = await storePassphrase(VAULT, SECRET, 'dpapi', { windowsPowerShell: fakeWindowsPowerShell(dir).path, icacls: fakeIcacls(dir, 5).path }).then(() => undefined, (e: unknown) => e);
    expect((err as AzbError).code).toBe('AZB_PASSPHRASE_STORE_FAILED');
    expect((err as AzbError).message).toMatch(/SYSTEM and the Administrators \(icacls: .*Access is denied/);
    expect(existsSync(dpapiFile(VAULT))).toBe(false);
    expect(await storedPassphraseInfo(VAULT)).toBeUndefined();
  });

  it('takes nothing but base64 from powershell.exe as the blob', async () => {
    const dir = tempDir('azb-dpapi-');
    const chatty = join(dir, 'chatty.exe');
    writeFileSync(chatty, '#!/bin/sh\necho "WARNING: profile loaded"\nexit 0\n');
    chmodSync(chatty, 0o755);
    const err = await storePassphrase(VAULT, SECRET, 'dpapi', { windowsPowerShell: chatty, icacls: fakeIcacls(dir).path }).then(() => undefined, (e: unknown) => e);
    expect((err as AzbError).code).toBe('AZB_PASSPHRASE_STORE_FAILED');
    expect((err as AzbError).message).toContain('did not answer with base64');
    expect(await storedPassphraseInfo(VAULT)).toBeUndefined();
  });

  it('says a blob that does not decrypt (another machine\'s, or damaged) must be stored again', async () => {
    const dir = tempDir('azb-dpapi-');
    const fake = fakeWindowsPowerShell(dir);
    const stored = await storePassphrase(VAULT, SECRET, 'dpapi', { windowsPowerShell: fake.path, icacls: fakeIcacls(dir).path });
    writeFileSync(stored.path, Buffer.from('not a DPAPI blob').toString('base64'), { mode: 0o600 });
    const err = await readStoredPassphrase(VAULT, { windowsPowerShell: fake.path }).then(() => undefined, (e: unknown) => e);
    expect((err as AzbError).code).toBe('AZB_PASSPHRASE_STORE_FAILED');
    expect((err as AzbError).message).toContain(stored.path);
    // DPAPI's own words, as one plain line (not the CLIXML of an uncaught error under -EncodedCommand).
    expect((err as AzbError).message).toMatch(/cannot be decrypted: .*exited with 1: .*The data is invalid\.\.$/);
    expect((err as AzbError).message).not.toContain('<Objs');
    expect((err as AzbError).hint).toContain('machine that made it');
  });
});
