// A vault (FORMAT.md section 3): the vault manifest and the uploaded certificates. Server namespaces
// live in server.ts; this file knows only what every server shares.
import { X509Certificate, randomBytes } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError, type ObjectStore } from '../storage/storage.js';
import { vaultError } from './storage-errors.js';

/** Contents of vault.json. */
export interface VaultManifest { format: 'azbackup-vault'; version: 1 | 2; vaultId: string; created: string }

/**
 * Format versions this engine reads. It writes format-2 objects into both; a new vault says 2, so an
 * engine older than format 2 refuses it instead of writing format-1 points into it (FORMAT.md, Versions).
 */
export const SUPPORTED_VAULT_VERSIONS = [1, 2];
/** The version of vaults this engine creates. */
export const CURRENT_VAULT_VERSION = 2;

/** An opened vault. */
export interface Vault { store: ObjectStore; manifest: VaultManifest }

/** Creates vault.json in an empty store. Refuses a store that already holds a vault. */
export async function createVault(store: ObjectStore): Promise<Vault> {
  const manifest: VaultManifest = { format: 'azbackup-vault', version: CURRENT_VAULT_VERSION, vaultId: randomBytes(16).toString('hex'), created: new Date().toISOString() };
  try {
    await store.put('vault.json', Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  } catch (err) {
    if (isStorageError(err, 'exists')) {
      throw new AzbError('AZB_VAULT_EXISTS', `A vault already exists at ${store.location}.`, { target: store.location, hint: 'Use the existing vault, or give another location.' });
    }
    throw vaultError(err, store.location, 'the vault manifest');
  }
  return { store, manifest };
}

/** Opens a vault: reads and checks vault.json. */
export async function openVault(store: ObjectStore): Promise<Vault> {
  let raw: Buffer;
  try {
    raw = await store.get('vault.json');
  } catch (err) {
    if (isStorageError(err, 'not-found')) {
      throw new AzbError('AZB_VAULT_NOT_A_VAULT', `${store.location} is not an AzBackup vault (no vault.json).`, {
        target: store.location, hint: "Create one with 'azbackup vault create' / New-AzBackupVault, or check the location.",
      });
    }
    throw vaultError(err, store.location, 'the vault manifest');
  }
  let manifest: VaultManifest;
  try {
    manifest = JSON.parse(raw.toString('utf8')) as VaultManifest;
  } catch {
    throw new AzbError('AZB_VAULT_NOT_A_VAULT', `vault.json at ${store.location} is not valid JSON.`, { target: store.location, hint: 'The vault manifest is damaged; restore it from a copy.' });
  }
  if (manifest?.format !== 'azbackup-vault' || typeof manifest.vaultId !== 'string' || !/^[0-9a-f]{32}$/.test(manifest.vaultId)) {
    throw new AzbError('AZB_VAULT_NOT_A_VAULT', `${store.location} is not an AzBackup vault (vault.json has another format).`, { target: store.location });
  }
  if (!SUPPORTED_VAULT_VERSIONS.includes(manifest.version)) {
    throw new AzbError('AZB_VAULT_VERSION_UNSUPPORTED', `The vault at ${store.location} has format version ${manifest.version}; this engine reads ${SUPPORTED_VAULT_VERSIONS.join(', ')}.`, {
      target: store.location, hint: 'Update AzBackup on this server.',
    });
  }
  return { store, manifest };
}

/** Object name of an uploaded certificate. */
export function certificateObject(thumbprint: string): string {
  return `certificates/${thumbprint}.cer`;
}

/** Uploads a certificate (DER). Returns false when the same certificate was already there. */
export async function putCertificate(vault: Vault, thumbprint: string, der: Buffer): Promise<boolean> {
  try {
    await vault.store.put(certificateObject(thumbprint), der);
    return true;
  } catch (err) {
    if (isStorageError(err, 'exists')) return false;
    throw vaultError(err, vault.store.location, 'a certificate');
  }
}

// Certificates read by this process, per opened vault: a backup checks its signing certificate, the
// registration proof and the newest point's signature with the same one, and each read was a request.
// Safe to keep: a certificate object is put create-only and never changed, and its bytes are checked
// against its thumbprint by whoever verifies with it (registration.ts loadCertificate).
const certificatesRead = new WeakMap<Vault, Map<string, Promise<Buffer>>>();

/** The DER bytes of an uploaded certificate (read once per process and vault), or undefined when absent. */
export async function readCertificateDer(vault: Vault, thumbprint: string): Promise<Buffer | undefined> {
  let read = certificatesRead.get(vault);
  if (!read) certificatesRead.set(vault, (read = new Map()));
  let der = read.get(thumbprint);
  if (!der) {
    der = vault.store.get(certificateObject(thumbprint));
    read.set(thumbprint, der);
  }
  try {
    return await der;
  } catch (err) {
    read.delete(thumbprint); // not kept: absent now may be uploaded later, a failure is tried again
    if (isStorageError(err, 'not-found')) return undefined;
    throw vaultError(err, vault.store.location, `certificate ${thumbprint}`);
  }
}

/** Forgets a certificate read before (it was removed from the vault). */
export function forgetCertificate(vault: Vault, thumbprint: string): void {
  certificatesRead.get(vault)?.delete(thumbprint);
}

/** Reads an uploaded certificate, or undefined when it was never uploaded. */
export async function getCertificate(vault: Vault, thumbprint: string): Promise<X509Certificate | undefined> {
  const der = await readCertificateDer(vault, thumbprint);
  if (der === undefined) return undefined;
  try {
    return new X509Certificate(der);
  } catch {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Certificate ${thumbprint} in the vault is not a valid certificate.`, { target: certificateObject(thumbprint), hint: 'Upload the certificate again.' });
  }
}

/** Thumbprints of every uploaded certificate. */
export async function listCertificates(vault: Vault): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const o of vault.store.list('certificates/')) {
      const m = /^certificates\/([0-9A-F]{40})\.cer$/.exec(o.name);
      if (m) out.push(m[1]!);
    }
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the certificate list');
  }
  return out.sort();
}
