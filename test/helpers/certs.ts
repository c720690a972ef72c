// Builds certificates that break one AzBackup rule each (the engine refuses to make them), with
// node-forge directly, for the tests of `cert test` on both the TypeScript and PowerShell side.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface BadCertOptions {
  bits?: number;
  clientAuth?: boolean;
  noEku?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  version1?: boolean;
}

/** Writes <dir>/<name>.cer (DER), <name>.pem (cert + key) and <name>.pfx (password) and returns the paths. */
export function writeTestCertificate(dir: string, name: string, o: BadCertOptions = {}, password = 'fixture-password') {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: o.bits ?? 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  const now = new Date();
  cert.validity.notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
  cert.validity.notAfter = o.notAfter ?? new Date(now.getTime() + 365 * 86_400_000);
  const attrs = [{ shortName: 'CN', value: name }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  if (!o.version1) {
    const ext: object[] = [{ name: 'basicConstraints', cA: false }];
    if (!o.noEku) ext.push(o.clientAuth === false ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true });
    cert.setExtensions(ext);
  } else {
    cert.version = 0;
  }
  cert.sign(key, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const cerPath = join(dir, `${name}.cer`);
  const pemPath = join(dir, `${name}.pem`);
  const pfxPath = join(dir, `${name}.pfx`);
  writeFileSync(cerPath, der);
  writeFileSync(pemPath, forge.pki.certificateToPem(cert) + keyPem);
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [cert], password, { algorithm: 'aes256' });
  writeFileSync(pfxPath, Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'));
  return { cerPath, pemPath, pfxPath, password };
}
