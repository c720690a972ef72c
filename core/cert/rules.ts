// AzBackup's certificate requirements (the seed): x.509 v3, RSA >= 2048 bits, Client Authentication
// EKU, validity <= 3 years, currently valid, and (when asked) the matching private key at hand.
// One function per rule so `cert test` can report each one and `cert new` can refuse early.

/** OID of the Client Authentication extended key usage. */
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
/** Smallest RSA modulus AzBackup accepts. */
export const MIN_RSA_BITS = 2048;
/** RSA sizes `cert new` generates. */
export const ALLOWED_NEW_KEY_SIZES: readonly number[] = [2048, 3072, 4096];
/** Longest validity accepted, in calendar years. */
export const MAX_VALIDITY_YEARS = 3;

export type RuleName = 'X509Version3' | 'RsaKeySize' | 'ClientAuthenticationEku' | 'ValidityPeriod' | 'TimeValid' | 'PrivateKey';
export type RuleStatus = 'Passed' | 'Failed' | 'NotRequired';

export interface RuleResult { rule: RuleName; status: RuleStatus; passed: boolean; detail: string }

/** The facts about a certificate that the rules look at (see load.ts). */
export interface CertificateFacts {
  version: number;
  keyType: string;
  keyBits: number | undefined;
  extKeyUsage: string[] | undefined;
  notBefore: Date;
  notAfter: Date;
  hasPrivateKey: boolean;
  privateKeyMatches: boolean | undefined;
}

/** Latest notAfter allowed for a certificate that starts at notBefore. */
export function maxNotAfter(notBefore: Date): Date {
  const d = new Date(notBefore.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + MAX_VALIDITY_YEARS);
  return d;
}

function result(rule: RuleName, passed: boolean, detail: string): RuleResult {
  return { rule, status: passed ? 'Passed' : 'Failed', passed, detail };
}

/** Evaluates every rule, in a fixed order, at time `now`. */
export function evaluateRules(f: CertificateFacts, requirePrivateKey: boolean, now: Date = new Date()): RuleResult[] {
  const out: RuleResult[] = [];
  out.push(result('X509Version3', f.version === 3, `Certificate is X.509 version ${f.version}.`));

  if (f.keyType !== 'rsa') out.push(result('RsaKeySize', false, `Key type is ${f.keyType.toUpperCase()}; AzBackup requires RSA.`));
  else out.push(result('RsaKeySize', (f.keyBits ?? 0) >= MIN_RSA_BITS, `RSA key of ${f.keyBits} bits (minimum ${MIN_RSA_BITS}).`));

  if (!f.extKeyUsage) out.push(result('ClientAuthenticationEku', false, 'No Extended Key Usage extension; Client Authentication (1.3.6.1.5.5.7.3.2) is required.'));
  else {
    const ok = f.extKeyUsage.includes(CLIENT_AUTH_OID);
    out.push(result('ClientAuthenticationEku', ok, ok ? 'Client Authentication EKU present.' : `EKU lists ${f.extKeyUsage.join(', ')} but not Client Authentication (1.3.6.1.5.5.7.3.2).`));
  }

  const days = Math.round((f.notAfter.getTime() - f.notBefore.getTime()) / 86_400_000);
  const periodOk = f.notAfter.getTime() > f.notBefore.getTime() && f.notAfter.getTime() <= maxNotAfter(f.notBefore).getTime();
  out.push(result('ValidityPeriod', periodOk, `Valid for ${days} days (at most ${MAX_VALIDITY_YEARS} years).`));

  if (now < f.notBefore) out.push(result('TimeValid', false, `Not valid before ${f.notBefore.toISOString()}.`));
  else if (now > f.notAfter) out.push(result('TimeValid', false, `Expired on ${f.notAfter.toISOString()}.`));
  else out.push(result('TimeValid', true, `Valid until ${f.notAfter.toISOString()}.`));

  if (!requirePrivateKey) {
    out.push({ rule: 'PrivateKey', status: 'NotRequired', passed: true, detail: f.hasPrivateKey ? 'Private key present (not required).' : 'No private key in this file (not required).' });
  } else if (!f.hasPrivateKey) {
    out.push(result('PrivateKey', false, 'The file holds no private key; registration needs the .pfx or PEM key.'));
  } else {
    out.push(result('PrivateKey', f.privateKeyMatches === true, f.privateKeyMatches ? 'Private key present and matches the certificate.' : 'A private key is present but does not match the certificate.'));
  }
  return out;
}
