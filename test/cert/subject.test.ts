import { describe, expect, it } from 'vitest';
import { formatSubject, parseSubject } from '../../core/cert/subject.js';
import { AzbError } from '../../core/protocol/errors.js';

function codeOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return (e as AzbError).code; }
  return undefined;
}

describe('certificate subject', () => {
  it('turns a bare name into CN=', () => expect(parseSubject('server01')).toEqual([{ shortName: 'CN', value: 'server01' }]));
  it('parses several attributes in order, case-insensitive names', () => {
    expect(parseSubject('cn=srv01, O=Contoso, c=US')).toEqual([
      { shortName: 'CN', value: 'srv01' }, { shortName: 'O', value: 'Contoso' }, { shortName: 'C', value: 'US' }]);
  });
  it('keeps escaped commas in values and formats them back', () => {
    const attrs = parseSubject('CN=srv01, O=Contoso\\, Ltd');
    expect(attrs[1]).toEqual({ shortName: 'O', value: 'Contoso, Ltd' });
    expect(formatSubject(attrs)).toBe('CN=srv01, O=Contoso\\, Ltd');
  });
  it.each([
    ['O=Contoso', 'no CN'],
    ['CN=srv01, XX=1', 'unknown attribute'],
    ['CN=', 'empty value'],
    ['CN=srv01, C=USA', 'bad country'],
    ['CN=srv01, garbage', 'no equals'],
    [`CN=${'a'.repeat(65)}`, 'too long'],
    ['CN=a\u0001b', 'control character'],
  ])('refuses %s (%s) with AZB_CERT_SUBJECT_INVALID', (input) => {
    expect(codeOf(() => parseSubject(input))).toBe('AZB_CERT_SUBJECT_INVALID');
  });
});
