import { describe, expect, it } from 'vitest';
import { evaluateRules, maxNotAfter, type CertificateFacts } from '../../core/cert/rules.js';

const now = new Date('2026-06-01T00:00:00Z');
const good: CertificateFacts = {
  version: 3, keyType: 'rsa', keyBits: 2048, extKeyUsage: ['1.3.6.1.5.5.7.3.2'],
  notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'),
  hasPrivateKey: false, privateKeyMatches: undefined,
};
const statusOf = (f: Partial<CertificateFacts>, requireKey = false) =>
  Object.fromEntries(evaluateRules({ ...good, ...f }, requireKey, now).map((r) => [r.rule, r.status]));

describe('certificate rules', () => {
  it('passes a compliant certificate on every rule, in a fixed order', () => {
    const results = evaluateRules(good, false, now);
    expect(results.map((r) => r.rule)).toEqual(['X509Version3', 'RsaKeySize', 'ClientAuthenticationEku', 'ValidityPeriod', 'TimeValid', 'PrivateKey']);
    expect(results.map((r) => r.status)).toEqual(['Passed', 'Passed', 'Passed', 'Passed', 'Passed', 'NotRequired']);
  });
  it('fails X.509 v1', () => expect(statusOf({ version: 1 })['X509Version3']).toBe('Failed'));
  it('fails a 1024-bit key and accepts exactly 2048', () => {
    expect(statusOf({ keyBits: 1024 })['RsaKeySize']).toBe('Failed');
    expect(statusOf({ keyBits: 2047 })['RsaKeySize']).toBe('Failed');
    expect(statusOf({ keyBits: 2048 })['RsaKeySize']).toBe('Passed');
  });
  it('fails a non-RSA key', () => expect(statusOf({ keyType: 'ec', keyBits: undefined })['RsaKeySize']).toBe('Failed'));
  it('fails a missing EKU extension and an EKU without client auth', () => {
    expect(statusOf({ extKeyUsage: undefined })['ClientAuthenticationEku']).toBe('Failed');
    expect(statusOf({ extKeyUsage: ['1.3.6.1.5.5.7.3.1'] })['ClientAuthenticationEku']).toBe('Failed');
  });
  it('accepts exactly three calendar years and refuses one second more', () => {
    const nb = new Date('2025-03-01T00:00:00Z');
    expect(statusOf({ notBefore: nb, notAfter: maxNotAfter(nb) })['ValidityPeriod']).toBe('Passed');
    expect(statusOf({ notBefore: nb, notAfter: new Date(maxNotAfter(nb).getTime() + 1000) })['ValidityPeriod']).toBe('Failed');
    expect(statusOf({ notBefore: nb, notAfter: new Date('2030-03-01T00:00:00Z') })['ValidityPeriod']).toBe('Failed');
  });
  it('fails expired and not-yet-valid certificates', () => {
    expect(statusOf({ notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') })['TimeValid']).toBe('Failed');
    expect(statusOf({ notBefore: new Date('2026-07-01T00:00:00Z'), notAfter: new Date('2027-07-01T00:00:00Z') })['TimeValid']).toBe('Failed');
  });
  it('checks the private key only when required, and a mismatched key fails', () => {
    expect(statusOf({}, true)['PrivateKey']).toBe('Failed');
    expect(statusOf({ hasPrivateKey: true, privateKeyMatches: true }, true)['PrivateKey']).toBe('Passed');
    expect(statusOf({ hasPrivateKey: true, privateKeyMatches: false }, true)['PrivateKey']).toBe('Failed');
    expect(statusOf({ hasPrivateKey: true, privateKeyMatches: false }, false)['PrivateKey']).toBe('NotRequired');
  });
});
