// Reads a certificate file (.cer DER or PEM, .pem with an optional key, .pfx/.p12) into the facts the
// rules check. Node's X509Certificate inspects the certificate; node-forge opens PKCS#12 and reads the
// version field, which Node does not expose.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import forge from 'node-forge';
import { AzbError, fileError } from '../protocol/errors.js';
import type { CertificateFacts } from './rules.js';

export type CertificateFileFormat = 'der' | 'pem' | 'pfx';

/** A certificate read from a file, with its private key when the file holds one. */
export interface LoadedCertificate {
  format: CertificateFileFormat;
  x509: X509Certificate;
  privateKey: KeyObject | undefined;
  facts: CertificateFacts;
}

/** Upper-case SHA-1 hex of the DER certificate, as Windows shows a thumbprint. */
export function thumbprintOf(x509: X509Certificate): string {
  return x509.fingerprint.replace(/:/g, '').toUpperCase();
}

/** Subject in "CN=…, O=…" order as it appears in the certificate. */
export function subjectOf(x509: X509Certificate): string {
  return x509.subject.split('\n').join(', ');
}

/** Reads a file that must exist and be a regular file; maps errors to coded ones. */
export async function readRegularFile(path: string, what = 'File'): Promise<Buffer> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    return await readFile(path);
  } catch (err) {
    throw fileError(err, path, what);
  }
}

const MAX_CERT_FILE = 1024 * 1024;

/** Loads a certificate file. `password` opens a .pfx or an encrypted PEM key. */
export async function loadCertificateFile(path: string, password?: string): Promise<LoadedCertificate> {
  const bytes = await readRegularFile(path, 'Certificate file');
  if (bytes.length === 0) throw unreadable(path, 'the file is empty');
  if (bytes.length > MAX_CERT_FILE) throw unreadable(path, 'the file is larger than 1 MiB, too large for a certificate');

  const head = bytes.subarray(0, 64).toString('latin1');
  if (head.includes('-----BEGIN')) return loadPem(path, bytes.toString('utf8'), password);
  // DER: try an X.509 certificate first, then PKCS#12.
  const x509 = tryX509(bytes);
  if (x509) return finish(path, 'der', x509, undefined);
  return loadPfx(path, bytes, password);
}

function tryX509(data: Buffer | string): X509Certificate | undefined {
  try { return new X509Certificate(data); } catch { return undefined; }
}

function loadPem(path: string, text: string, password: string | undefined): LoadedCertificate {
  const certBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  if (!certBlock) throw new AzbError('AZB_CERT_NO_CERTIFICATE', `${path} holds no certificate (no BEGIN CERTIFICATE block).`, {
    target: path, hint: 'Give the .cer, .pem or .pfx file that contains the certificate.',
  });
  const x509 = tryX509(certBlock[0]);
  if (!x509) throw unreadable(path, 'the CERTIFICATE block is not a valid X.509 certificate');
  const keyBlock = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(text);
  let key: KeyObject | undefined;
  if (keyBlock) {
    const encrypted = keyBlock[0].includes('ENCRYPTED') || /Proc-Type: 4,ENCRYPTED/.test(keyBlock[0]);
    if (encrypted && !password) throw passwordRequired(path);
    try {
      key = createPrivateKey(encrypted ? { key: keyBlock[0], passphrase: password } : { key: keyBlock[0] });
    } catch {
      if (encrypted) throw wrongPassword(path);
      throw unreadable(path, 'the PRIVATE KEY block cannot be read');
    }
  }
  return finish(path, 'pem', x509, key);
}

function loadPfx(path: string, bytes: Buffer, password: string | undefined): LoadedCertificate {
  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
  } catch {
    throw unreadable(path, 'it is neither a DER or PEM certificate nor a PKCS#12 (.pfx) file');
  }
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, password ?? '');
  } catch (err) {
    const msg = err instanceof Error ? err.message : '';
    if (/MAC could not be verified|Invalid password/i.test(msg)) throw password ? wrongPassword(path) : passwordRequired(path);
    if (/Unsupported|not supported/i.test(msg) && /algorithm|OID|encryption/i.test(msg)) {
      throw unreadable(path, 'the PKCS#12 file uses an encryption scheme AzBackup cannot open; export it again with AES-256');
    }
    throw unreadable(path, 'it is neither a DER or PEM certificate nor a PKCS#12 (.pfx) file');
  }
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  const certs = certBags.map((b) => b.cert).filter((c): c is forge.pki.Certificate => Boolean(c));
  if (certs.length === 0) throw new AzbError('AZB_CERT_NO_CERTIFICATE', `${path} holds no certificate.`, { target: path, hint: 'Export the .pfx again including the certificate.' });
  const keyPem = keyBags[0]?.key ? forge.pki.privateKeyToPem(keyBags[0].key) : undefined;
  const key = keyPem ? createPrivateKey(keyPem) : undefined;
  // With several certificates (a chain), pick the one matching the key, else the first.
  let chosen: X509Certificate | undefined;
  for (const c of certs) {
    const x = tryX509(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(c)).getBytes(), 'binary'));
    if (!x) continue;
    if (!chosen) chosen = x;
    if (key && x.checkPrivateKey(key)) { chosen = x; break; }
  }
  if (!chosen) throw unreadable(path, 'the certificate inside the PKCS#12 file cannot be read');
  return finish(path, 'pfx', chosen, key);
}

function finish(path: string, format: CertificateFileFormat, x509: X509Certificate, key: KeyObject | undefined): LoadedCertificate {
  return { format, x509, privateKey: key, facts: certificateFacts(x509, key, path) };
}

/** The facts the rules look at, of a certificate (and the private key given with it); `where` names it in errors. */
export function certificateFacts(x509: X509Certificate, key: KeyObject | undefined, where: string): CertificateFacts {
  const details = x509.publicKey.asymmetricKeyDetails;
  return {
    version: x509Version(x509.raw, where),
    keyType: x509.publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details?.modulusLength,
    extKeyUsage: x509.keyUsage, // Node names the EKU list keyUsage; undefined when the extension is absent
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    hasPrivateKey: key !== undefined,
    privateKeyMatches: key === undefined ? undefined : safeCheckKey(x509, key),
  };
}

function safeCheckKey(x509: X509Certificate, key: KeyObject): boolean {
  try { return x509.checkPrivateKey(key); } catch { return false; }
}

/** Reads the version field of a DER certificate: tbsCertificate [0] EXPLICIT INTEGER, absent means v1. */
function x509Version(der: Buffer, path: string): number {
  try {
    const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
    const tbs = (cert.value as forge.asn1.Asn1[])[0]!;
    const first = (tbs.value as forge.asn1.Asn1[])[0]!;
    if (first.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && first.type === 0) {
      const int = (first.value as forge.asn1.Asn1[])[0]!;
      return (int.value as string).charCodeAt(0) + 1;
    }
    return 1;
  } catch {
    throw unreadable(path, 'its ASN.1 structure is damaged');
  }
}

function unreadable(path: string, why: string): AzbError {
  return new AzbError('AZB_CERT_UNREADABLE', `Cannot read certificate file ${path}: ${why}.`, {
    target: path, hint: 'Give a .cer (DER or PEM), .pem or .pfx file made by New-AzBackupCertificate or exported from a certificate store.',
  });
}

function passwordRequired(path: string): AzbError {
  return new AzbError('AZB_CERT_PASSWORD_REQUIRED', `${path} is protected by a password.`, {
    target: path, hint: 'Give the password with -Password (PowerShell), or --password-file / AZBACKUP_CERT_PASSWORD (CLI).',
  });
}

function wrongPassword(path: string): AzbError {
  return new AzbError('AZB_CERT_PASSWORD_WRONG', `The password does not open ${path}.`, {
    target: path, hint: 'Check the password that protects this file and try again.',
  });
}
