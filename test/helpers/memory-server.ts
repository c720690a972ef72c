// An in-process vault on a MemoryStore with one registered server, for tests of the repository layer.
import { generateKeyPairSync } from 'node:crypto';
import { MemoryStore } from '../../core/storage/memory.js';
import { createVault, putCertificate } from '../../core/repo/vault.js';
import { registerServer } from '../../core/repo/registration.js';
import { openServer, type ServerRepo } from '../../core/repo/server.js';
import forge from 'node-forge';

process.env['AZBACKUP_TEST_KDF'] = 'fast';

/** A throwaway RSA key and a matching self-signed certificate (DER) with its thumbprint. */
export function testCertificate() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ shortName: 'CN', value: 'mem' }]);
  cert.setIssuer([{ shortName: 'CN', value: 'mem' }]);
  cert.setExtensions([{ name: 'extKeyUsage', clientAuth: true }]);
  cert.sign(key, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const thumbprint = forge.md.sha1.create().update(der.toString('binary')).digest().toHex().toUpperCase();
  return { privateKey, der, thumbprint };
}

/** A vault in memory, one server registered with `passphrase`, opened. */
export async function memoryServer(passphrase = 'memory passphrase 123'): Promise<{ store: MemoryStore; repo: ServerRepo; privateKey: import('node:crypto').KeyObject; passphrase: string }> {
  const store = new MemoryStore();
  const vault = await createVault(store);
  const cert = testCertificate();
  await putCertificate(vault, cert.thumbprint, cert.der);
  const { record } = await registerServer(vault, { hostname: 'mem01', thumbprint: cert.thumbprint, privateKey: cert.privateKey, passphrase });
  const repo = await openServer(vault, record.serverId, passphrase);
  return { store, repo, privateKey: cert.privateKey, passphrase };
}
