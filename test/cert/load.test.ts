import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCertificateFile } from '../../core/cert/load.js';
import { evaluateRules } from '../../core/cert/rules.js';
import type { AzbError } from '../../core/protocol/errors.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (e) { return (e as AzbError).code; }
  return undefined;
}
const failed = async (path: string, password?: string, requireKey = false) =>
  evaluateRules((await loadCertificateFile(path, password)).facts, requireKey).filter((r) => !r.passed).map((r) => r.rule);

describe('loadCertificateFile', () => {
  const dir = tempDir();
  const good = writeTestCertificate(dir, 'good');

  it('reads DER .cer, PEM with key and .pfx alike', async () => {
    const der = await loadCertificateFile(good.cerPath);
    const pem = await loadCertificateFile(good.pemPath);
    const pfx = await loadCertificateFile(good.pfxPath, good.password);
    expect(der.format).toBe('der');
    expect(pem.format).toBe('pem');
    expect(pfx.format).toBe('pfx');
    expect(pem.x509.fingerprint).toBe(der.x509.fingerprint);
    expect(pfx.x509.fingerprint).toBe(der.x509.fingerprint);
    expect(der.facts.hasPrivateKey).toBe(false);
    expect(pem.facts.privateKeyMatches).toBe(true);
    expect(pfx.facts.privateKeyMatches).toBe(true);
    expect(der.facts.version).toBe(3);
  });

  it('reads a PEM .cer without a key', async () => {
    const p = join(dir, 'pemonly.cer');
    writeFileSync(p, readFileSync(good.pemPath, 'utf8').split('-----BEGIN RSA')[0]!);
    expect((await loadCertificateFile(p)).facts.hasPrivateKey).toBe(false);
  });

  it('reports each broken rule of a non-compliant certificate', async () => {
    expect(await failed(writeTestCertificate(dir, 'short', { bits: 1024 }).cerPath)).toEqual(['RsaKeySize']);
    expect(await failed(writeTestCertificate(dir, 'noeku', { noEku: true }).cerPath)).toEqual(['ClientAuthenticationEku']);
    expect(await failed(writeTestCertificate(dir, 'server', { clientAuth: false }).cerPath)).toEqual(['ClientAuthenticationEku']);
    expect(await failed(writeTestCertificate(dir, 'v1', { version1: true }).cerPath)).toEqual(['X509Version3', 'ClientAuthenticationEku']);
    const now = Date.now();
    expect(await failed(writeTestCertificate(dir, 'five', { notAfter: new Date(now + 5 * 365 * 86_400_000) }).cerPath)).toEqual(['ValidityPeriod']);
    expect(await failed(writeTestCertificate(dir, 'expired', { notBefore: new Date(now - 400 * 86_400_000), notAfter: new Date(now - 86_400_000) }).cerPath)).toEqual(['TimeValid']);
    expect(await failed(writeTestCertificate(dir, 'future', { notBefore: new Date(now + 86_400_000), notAfter: new Date(now + 300 * 86_400_000) }).cerPath)).toEqual(['TimeValid']);
    expect(await failed(good.cerPath, undefined, true)).toEqual(['PrivateKey']);
  });

  it('detects a private key that does not belong to the certificate', async () => {
    const other = writeTestCertificate(dir, 'other');
    const mixed = join(dir, 'mixed.pem');
    const otherKey = readFileSync(other.pemPath, 'utf8').slice(readFileSync(other.pemPath, 'utf8').indexOf('-----BEGIN RSA'));
    writeFileSync(mixed, readFileSync(good.pemPath, 'utf8').split('-----BEGIN RSA')[0]! + otherKey);
    expect(await failed(mixed, undefined, true)).toEqual(['PrivateKey']);
  });

  it.each([
    ['missing file', () => join(dir, 'absent.cer'), undefined, 'AZB_FILE_NOT_FOUND'],
    ['a directory', () => { const d = join(dir, 'adir'); mkdirSync(d, { recursive: true }); return d; }, undefined, 'AZB_PATH_IS_DIRECTORY'],
    ['garbage', () => { const p = join(dir, 'garbage.cer'); writeFileSync(p, 'this is not a certificate at all'); return p; }, undefined, 'AZB_CERT_UNREADABLE'],
    ['random bytes', () => { const p = join(dir, 'random.pfx'); writeFileSync(p, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256))); return p; }, undefined, 'AZB_CERT_UNREADABLE'],
    ['an empty file', () => { const p = join(dir, 'empty.cer'); writeFileSync(p, ''); return p; }, undefined, 'AZB_CERT_UNREADABLE'],
    ['truncated DER', () => { const p = join(dir, 'trunc.cer'); writeFileSync(p, readFileSync(good.cerPath).subarray(0, 200)); return p; }, undefined, 'AZB_CERT_UNREADABLE'],
    ['PEM without certificate', () => { const p = join(dir, 'keyonly.pem'); writeFileSync(p, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'); return p; }, undefined, 'AZB_CERT_NO_CERTIFICATE'],
    ['pfx with a wrong password', () => good.pfxPath, 'wrong-password', 'AZB_CERT_PASSWORD_WRONG'],
    ['pfx without a password', () => good.pfxPath, undefined, 'AZB_CERT_PASSWORD_REQUIRED'],
  ])('refuses %s with a coded error', async (_what, make, password, code) => {
    expect(await codeOf(loadCertificateFile(make(), password))).toBe(code);
  });
});
