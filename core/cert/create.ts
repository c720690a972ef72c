// Creates a self-signed client-authentication certificate (the seed's MakeCert step): the RSA key comes
// from node:crypto, node-forge builds and signs the X.509 v3 certificate and the PKCS#12 file.
import { generateKeyPair, randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { link, open, rename, unlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { AzbError, fileError } from '../protocol/errors.js';
import { ALLOWED_NEW_KEY_SIZES, MIN_RSA_BITS, maxNotAfter, MAX_VALIDITY_YEARS } from './rules.js';
import { parseSubject, type SubjectAttribute } from './subject.js';
import { thumbprintOf, subjectOf } from './load.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface NewCertificateOptions {
  subject: string;
  /** File base name; default: the CN with unsafe characters replaced. */
  name?: string;
  outputDirectory?: string;
  keySize?: number;
  validityDays?: number;
  keyFormat?: 'pfx' | 'pem';
  /** Protects the .pfx (required) or encrypts the PEM key (optional). */
  password?: string;
  /** Replace existing files of the same name. */
  force?: boolean;
  /** Clock, for tests. */
  now?: Date;
}

export interface NewCertificateResult {
  thumbprint: string; subject: string; issuer: string; serialNumber: string;
  notBefore: string; notAfter: string; keySize: number;
  certificatePath: string; privateKeyPath: string; privateKeyFormat: 'pfx' | 'pem';
}

/** Checks every option before any work, so bad input writes nothing. */
export function checkNewCertificateOptions(o: NewCertificateOptions): { attrs: SubjectAttribute[]; name: string; keySize: number; validityDays: number; format: 'pfx' | 'pem' } {
  const keySize = o.keySize ?? 2048;
  if (keySize < MIN_RSA_BITS) {
    throw new AzbError('AZB_CERT_KEY_TOO_SHORT', `A ${keySize}-bit RSA key is too short; AzBackup requires at least ${MIN_RSA_BITS} bits.`, {
      target: 'keySize', hint: `Use a key size of ${ALLOWED_NEW_KEY_SIZES.join(', ')}.`,
    });
  }
  if (!ALLOWED_NEW_KEY_SIZES.includes(keySize)) {
    throw new AzbError('AZB_CERT_KEY_SIZE_UNSUPPORTED', `Key size ${keySize} is not supported.`, {
      target: 'keySize', hint: `Use a key size of ${ALLOWED_NEW_KEY_SIZES.join(', ')}.`,
    });
  }
  const validityDays = o.validityDays ?? 365;
  if (validityDays < 1) {
    throw new AzbError('AZB_CERT_VALIDITY_INVALID', `Validity of ${validityDays} days is not possible.`, { target: 'validityDays', hint: 'Give at least 1 day.' });
  }
  const now = o.now ?? new Date();
  if (new Date(now.getTime() + validityDays * 86_400_000) > maxNotAfter(now)) {
    throw new AzbError('AZB_CERT_VALIDITY_TOO_LONG', `Validity of ${validityDays} days is longer than the ${MAX_VALIDITY_YEARS} years AzBackup allows.`, {
      target: 'validityDays', hint: `Give at most ${Math.floor((maxNotAfter(now).getTime() - now.getTime()) / 86_400_000)} days; renew the certificate before it expires.`,
    });
  }
  const format = o.keyFormat ?? 'pfx';
  if (format === 'pfx' && !o.password) {
    throw new AzbError('AZB_CERT_PASSWORD_REQUIRED', 'A password is required to protect the .pfx file.', {
      target: 'password', hint: 'Give -PfxPassword (PowerShell), or --password-file / AZBACKUP_CERT_PASSWORD (CLI); or use the PEM key format.',
    });
  }
  const attrs = parseSubject(o.subject);
  const cn = attrs.find((a) => a.shortName === 'CN')!.value;
  const name = o.name ?? cn.replace(/[^A-Za-z0-9._-]+/g, '_');
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new AzbError('AZB_ARGS_INVALID', `'${name}' is not a usable file name.`, { target: 'name', hint: 'Use letters, digits, dot, dash and underscore; do not start with a dot.' });
  }
  return { attrs, name, keySize, validityDays, format };
}

/** Creates the key, the certificate and its files. Refuses to overwrite unless `force`. */
export async function newCertificate(o: NewCertificateOptions, onProgress?: (status: string, percent: number) => void): Promise<NewCertificateResult> {
  const { attrs, name, keySize, validityDays, format } = checkNewCertificateOptions(o);
  const dir = resolve(o.outputDirectory ?? '.');
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new AzbError('AZB_DIRECTORY_NOT_FOUND', `${dir} is not a directory.`, { target: dir, hint: 'Give an existing directory for the certificate files.' });
  } catch (err) {
    if (err instanceof AzbError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AzbError('AZB_DIRECTORY_NOT_FOUND', `Output directory not found: ${dir}`, { target: dir, hint: 'Create the directory first or give another one.' });
    throw fileError(err, dir, 'Directory');
  }
  const cerPath = join(dir, `${name}.cer`);
  const keyPath = join(dir, `${name}.${format === 'pfx' ? 'pfx' : 'key'}`);
  if (!o.force) for (const p of [cerPath, keyPath]) await mustNotExist(p);

  onProgress?.(`Generating a ${keySize}-bit RSA key`, 10);
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: keySize, publicExponent: 0x10001 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;

  onProgress?.('Signing the certificate', 70);
  const now = o.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + validityDays * 86_400_000);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  // Positive serial: 16 random bytes with the top bit cleared.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const forgeAttrs = attrs.map((a) => (a.shortName === 'E' ? { name: 'emailAddress', value: a.value } : { shortName: a.shortName, value: a.value }));
  cert.setSubject(forgeAttrs);
  cert.setIssuer(forgeAttrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const x509 = new X509Certificate(der);

  onProgress?.('Writing files', 90);
  let keyBytes: Buffer;
  if (format === 'pfx') {
    const p12 = forge.pkcs12.toPkcs12Asn1(forgeKey, [cert], o.password!, {
      algorithm: 'aes256', generateLocalKeyId: true, friendlyName: `AzBackup ${attrs.find((a) => a.shortName === 'CN')!.value}`,
    });
    keyBytes = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
  } else {
    const keyObj = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    keyBytes = Buffer.from(o.password
      ? keyObj.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: o.password }) as string
      : keyObj.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  // Private key first, then the public .cer: a .cer never exists without its key.
  await writeNewFile(keyPath, keyBytes, 0o600, o.force === true);
  await writeNewFile(cerPath, der, 0o644, o.force === true);

  return {
    thumbprint: thumbprintOf(x509),
    subject: subjectOf(x509),
    issuer: x509.issuer.split('\n').join(', '),
    serialNumber: x509.serialNumber.toUpperCase(),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    keySize,
    certificatePath: cerPath,
    privateKeyPath: keyPath,
    privateKeyFormat: format,
  };
}

async function mustNotExist(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileError(err, path);
  }
  throw fileError(Object.assign(new Error('EEXIST'), { code: 'EEXIST' }), path);
}

/** Writes a file with the given mode from the first byte (never world-readable in between): temp + fsync + rename. */
async function writeNewFile(path: string, data: Buffer, mode: number, replace: boolean): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // link() fails with EEXIST when the name is taken: create-only without a check-then-act race.
    if (replace) await rename(tmp, path);
    else { await link(tmp, path); await unlink(tmp); }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof AzbError) throw err;
    throw fileError(err, path);
  }
}
