import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNewCertificateOptions, newCertificate } from '../../core/cert/create.js';
import { loadCertificateFile } from '../../core/cert/load.js';
import { evaluateRules } from '../../core/cert/rules.js';
import type { AzbError } from '../../core/protocol/errors.js';
import { tempDir } from '../helpers/tmp.js';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try { await (typeof p === 'function' ? p() : p); } catch (e) { return (e as AzbError).code; }
  return undefined;
}

describe('newCertificate', () => {
  const dir = tempDir();

  it('creates a compliant .cer and a .pfx that opens with the password and holds the matching key', async () => {
    const r = await newCertificate({ subject: 'CN=srv01, O=Contoso', outputDirectory: dir, password: 'pfx-pass-1' });
    expect(r.certificatePath).toBe(join(dir, 'srv01.cer'));
    expect(r.privateKeyPath).toBe(join(dir, 'srv01.pfx'));
    const x = new X509Certificate(readFileSync(r.certificatePath));
    expect(x.fingerprint.replace(/:/g, '')).toBe(r.thumbprint);
    expect(x.subject).toBe('CN=srv01\nO=Contoso');
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x.ca).toBe(false);
    expect(new Date(r.notAfter).getTime() - new Date(r.notBefore).getTime()).toBe(365 * 86_400_000);
    const pfx = await loadCertificateFile(r.privateKeyPath, 'pfx-pass-1');
    expect(pfx.facts.privateKeyMatches).toBe(true);
    expect(evaluateRules(pfx.facts, true).every((res) => res.passed)).toBe(true);
    // The .cer holds no private key material.
    expect(readFileSync(r.certificatePath).toString('latin1')).not.toContain('PRIVATE KEY');
  });

  it('creates the private key file readable by its owner only', async () => {
    const r = await newCertificate({ subject: 'CN=mode', outputDirectory: dir, password: 'pfx-pass-1' });
    if (process.platform !== 'win32') expect(statSync(r.privateKeyPath).mode & 0o777).toBe(0o600);
  });

  it('writes an encrypted PEM key when a password is given, and a plain one otherwise', async () => {
    const enc = await newCertificate({ subject: 'CN=pemenc', outputDirectory: dir, keyFormat: 'pem', password: 'pem-pass', keySize: 3072 });
    expect(enc.privateKeyPath.endsWith('pemenc.key')).toBe(true);
    expect(readFileSync(enc.privateKeyPath, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(enc.keySize).toBe(3072);
    const plain = await newCertificate({ subject: 'CN=pemplain', outputDirectory: dir, keyFormat: 'pem' });
    expect(readFileSync(plain.privateKeyPath, 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it('never overwrites existing files without force, and leaves them intact', async () => {
    const first = await newCertificate({ subject: 'CN=keep', outputDirectory: dir, password: 'p1' });
    const before = readFileSync(first.privateKeyPath);
    expect(await codeOf(newCertificate({ subject: 'CN=keep', outputDirectory: dir, password: 'p2' }))).toBe('AZB_FILE_EXISTS');
    expect(readFileSync(first.privateKeyPath).equals(before)).toBe(true);
    const replaced = await newCertificate({ subject: 'CN=keep', outputDirectory: dir, password: 'p2', force: true });
    expect(replaced.thumbprint).not.toBe(first.thumbprint);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    [{ keySize: 1024 }, 'AZB_CERT_KEY_TOO_SHORT'],
    [{ keySize: 2049 }, 'AZB_CERT_KEY_SIZE_UNSUPPORTED'],
    [{ validityDays: 5 * 365 }, 'AZB_CERT_VALIDITY_TOO_LONG'],
    [{ validityDays: 0 }, 'AZB_CERT_VALIDITY_INVALID'],
    [{ password: undefined }, 'AZB_CERT_PASSWORD_REQUIRED'],
    [{ subject: 'O=NoCn' }, 'AZB_CERT_SUBJECT_INVALID'],
    [{ name: '../escape' }, 'AZB_ARGS_INVALID'],
  ])('refuses %o with %s and writes nothing', async (bad, code) => {
    const sub = tempDir();
    expect(await codeOf(newCertificate({ subject: 'CN=bad', outputDirectory: sub, password: 'x', ...bad }))).toBe(code);
    expect(readdirSync(sub)).toEqual([]);
  });

  it('refuses a missing output directory and a file given as directory', async () => {
    expect(await codeOf(newCertificate({ subject: 'CN=x', outputDirectory: join(dir, 'nope'), password: 'x' }))).toBe('AZB_DIRECTORY_NOT_FOUND');
    const f = join(dir, 'afile');
    writeFileSync(f, 'x');
    expect(await codeOf(newCertificate({ subject: 'CN=x', outputDirectory: f, password: 'x' }))).toBe('AZB_DIRECTORY_NOT_FOUND');
  });

  it('accepts validity up to three calendar years from now', async () => {
    const now = new Date('2027-03-01T00:00:00Z'); // the next 3 years hold one leap day
    expect(checkNewCertificateOptions({ subject: 'CN=a', password: 'x', validityDays: 1096, now }).validityDays).toBe(1096);
    expect(await codeOf(() => checkNewCertificateOptions({ subject: 'CN=a', password: 'x', validityDays: 1097, now }))).toBe('AZB_CERT_VALIDITY_TOO_LONG');
  });
});
