// Online protection's replicated namespace (FORMAT.md section 14): the protection server's namespace,
// same server ID and master key, in an Azure vault, so that copies move packs and points as they are.
// Enabling is idempotent: a replica whose server.json verifies against this machine's registration is
// reused, and only what an earlier, interrupted enable left out is written.
import { randomBytes, type KeyObject } from 'node:crypto';
import { findRegistration, saveRegistration, type Registration } from '../config/home.js';
import { createKeyFile, keyFileIntact, openKeyFile, type KeyFile } from '../crypto/keys.js';
import { AzbError } from '../protocol/errors.js';
import { registrationMessage, registrationProblems, serverPrefix, signWith, type ServerRecord } from '../repo/registration.js';
import type { ServerRepo } from '../repo/server.js';
import { vaultError } from '../repo/storage-errors.js';
import { getCertificate, type Vault } from '../repo/vault.js';
import { isStorageError } from '../storage/storage.js';
import type { EventSink } from '../protocol/events.js';

export interface ReplicaOptions {
  /** The disk namespace, opened with the passphrase on this machine (pinned). */
  disk: ServerRepo;
  /** This machine's registration with the disk vault, and its signing key (checked against server.json). */
  diskRegistration: Registration;
  signingKey: KeyObject;
  /** The Azure vault, opened. */
  azure: Vault;
  passphrase: string;
  sink: EventSink;
  signal?: AbortSignal;
}

/** What enabling found or wrote. */
export interface Replica { registration: Registration; created: boolean; keyWritten: boolean }

async function getOrUndefined(vault: Vault, name: string, what: string): Promise<Buffer | undefined> {
  try {
    return await vault.store.get(name);
  } catch (err) {
    if (isStorageError(err, 'not-found')) return undefined;
    throw vaultError(err, vault.store.location, what);
  }
}

async function putObject(vault: Vault, name: string, data: Buffer, what: string): Promise<void> {
  try {
    await vault.store.put(name, data);
  } catch (err) {
    throw vaultError(err, vault.store.location, what);
  }
}

/**
 * The key file of the replica that the passphrase opens to the disk's master key (reused), or a new one
 * (written, read back and verified); key files of the replica that no longer open (an earlier passphrase)
 * are then deleted, as a passphrase change deletes the old key file (FORMAT.md section 4).
 */
async function replicaKeyFile(o: ReplicaOptions, hostname: string): Promise<{ keyId: string; written: boolean }> {
  const { azure, disk } = o;
  const prefix = serverPrefix(disk.serverId);
  const names: string[] = [];
  try {
    for await (const obj of azure.store.list(`${prefix}keys/`)) names.push(obj.name);
  } catch (err) {
    throw vaultError(err, azure.store.location, 'the key files of the online copy');
  }
  const stale: string[] = [];
  for (const name of names.sort()) {
    const bytes = await getOrUndefined(azure, name, 'a key file of the online copy');
    if (!bytes) continue;
    let file: KeyFile;
    try { file = JSON.parse(bytes.toString('utf8')) as KeyFile; } catch { continue; }
    if (!keyFileIntact(file)) continue;
    const key = await openKeyFile(file, o.passphrase, disk.serverId, { name, ...(o.signal ? { signal: o.signal } : {}) }).catch((err: unknown) => {
      if (err instanceof AzbError && err.code === 'AZB_CANCELLED') throw err;
      return undefined;
    });
    if (key?.equals(disk.masterKey)) return { keyId: name.slice(name.lastIndexOf('/') + 1), written: false };
    stale.push(name);
  }
  const file = await createKeyFile(disk.masterKey, o.passphrase, disk.serverId, hostname, o.signal ? { signal: o.signal } : {});
  const keyId = randomBytes(16).toString('hex');
  const name = `${prefix}keys/${keyId}`;
  await putObject(azure, name, Buffer.from(JSON.stringify(file, null, 2)), 'the key file of the online copy');
  const back = await openKeyFile(JSON.parse((await azure.store.get(name)).toString('utf8')) as KeyFile, o.passphrase, disk.serverId, { name });
  if (!back?.equals(disk.masterKey)) throw new AzbError('AZB_INTERNAL', 'The key file written to the online copy does not open; nothing else was changed.');
  for (const old of stale) {
    await azure.store.delete(old).catch((err: unknown) => { throw vaultError(err, azure.store.location, 'an old key file of the online copy'); });
    o.sink.log(`Key file ${old} of the online copy no longer opened with the passphrase (it was changed on the disk) and is deleted.`);
  }
  return { keyId, written: true };
}

/**
 * Replicates the disk namespace into the Azure vault, or reuses the replica there (FORMAT.md section 14).
 * Order: key file, config, server.json (last, so a replica cut short is invisible), then the local
 * registration with `replicaOf`.
 */
export async function enableReplica(o: ReplicaOptions): Promise<Replica> {
  const { disk, azure, diskRegistration } = o;
  const serverId = disk.serverId;
  const prefix = serverPrefix(serverId);
  const location = azure.store.location;
  const azureVaultId = azure.manifest.vaultId;
  if (azureVaultId === disk.vault.manifest.vaultId) {
    throw new AzbError('AZB_ARGS_INVALID', 'The online vault is the disk vault itself.', { target: location, hint: 'Give an Azure Blob vault other than the group\'s disk vault.' });
  }
  const thumbprint = diskRegistration.certificate;
  if (!(await getCertificate(azure, thumbprint))) {
    throw new AzbError('AZB_ONLINE_CERT_NOT_UPLOADED', `The certificate ${thumbprint} of this protection server has not been uploaded to the Azure vault at ${location}; the online copy could not be verified there.`, {
      target: thumbprint, hint: `Upload the server's .cer first: Add-AzBackupVaultCertificate -Vault ${location} / azbackup vault add-cert <server.cer> --vault ${location}. Nothing was written.`,
    });
  }
  const existing = await findRegistration(azureVaultId);
  if (existing && (existing.serverId !== serverId || existing.replicaOf !== disk.vault.manifest.vaultId)) {
    throw new AzbError('AZB_SERVER_ALREADY_REGISTERED', existing.serverId !== serverId
      ? `This machine is registered with the Azure vault at ${location} as server ${existing.serverId.slice(0, 12)}…, not as the protection server's namespace ${serverId.slice(0, 12)}…; one machine has one namespace per vault.`
      : `This machine's registration with the Azure vault at ${location} is not an online copy of the disk vault ${disk.vault.manifest.vaultId}.`, {
      target: location, hint: 'Use another Azure vault (container) for online protection.',
    });
  }
  const hostname = disk.record.hostname;
  const recordName = `${prefix}server.json`;
  const recordBytes = await getOrUndefined(azure, recordName, 'the server record of the online copy');
  const diskConfig = await getOrUndefined(disk.vault, `${prefix}config`, 'the server config');
  if (!diskConfig) throw new AzbError('AZB_OBJECT_DAMAGED', `The config of server ${hostname} is missing from the disk vault.`, { target: `${prefix}config` });
  const pin = { serverId, certificate: thumbprint };

  if (recordBytes) {
    // A replica is there: reuse it only if it verifies against this machine's registration.
    let record: ServerRecord;
    try { record = JSON.parse(recordBytes.toString('utf8')) as ServerRecord; } catch {
      throw new AzbError('AZB_REGISTRATION_MISMATCH', `${recordName} in the Azure vault at ${location} cannot be read.`, { target: recordName, hint: 'Remove the servers/<serverId>/ folder of the online copy (it holds no data this server can use) and enable online protection again.' });
    }
    const problems = await registrationProblems(azure, record, pin, o.signingKey);
    const config = await getOrUndefined(azure, `${prefix}config`, 'the config of the online copy');
    if (!config || !config.equals(diskConfig)) problems.push('its config is not the disk namespace\'s');
    if (problems.length > 0) {
      throw new AzbError('AZB_REGISTRATION_MISMATCH', `The online copy of this server in the Azure vault at ${location} does not match this server: ${problems.join('; ')}. Nothing was written.`, {
        target: recordName, hint: 'If the certificate was renewed since online protection was enabled, see README "Online protection" (renewals); otherwise find out who changed the Azure vault.',
      });
    }
    const key = await replicaKeyFile(o, hostname);
    const registration: Registration = existing && key.keyId === existing.keyId ? existing : {
      vaultId: azureVaultId, vault: location, serverId, hostname, certificate: thumbprint, registered: record.created,
      keyId: key.keyId, lastPoint: existing?.lastPoint ?? null, replicaOf: disk.vault.manifest.vaultId,
    };
    if (registration !== existing) await saveRegistration(registration, o.signingKey, disk.masterKey);
    return { registration, created: false, keyWritten: key.written };
  }

  // A new replica (or one an earlier enable left without its server.json).
  const key = await replicaKeyFile(o, hostname);
  const config = await getOrUndefined(azure, `${prefix}config`, 'the config of the online copy');
  if (!config) await putObject(azure, `${prefix}config`, diskConfig, 'the config of the online copy');
  else if (!config.equals(diskConfig)) {
    throw new AzbError('AZB_REGISTRATION_MISMATCH', `${prefix}config in the Azure vault at ${location} is not the disk namespace's config.`, { target: `${prefix}config`, hint: 'Remove the servers/<serverId>/ folder of the online copy and enable online protection again.' });
  }
  const challenge = randomBytes(32).toString('base64');
  const unsigned = { serverId, hostname, created: new Date().toISOString(), certificate: thumbprint };
  const record = { ...unsigned, proof: { challenge, signature: signWith(o.signingKey, registrationMessage(azureVaultId, unsigned, challenge)) } };
  await putObject(azure, recordName, Buffer.from(JSON.stringify(record, null, 2) + '\n'), 'the server record of the online copy');
  const registration: Registration = {
    vaultId: azureVaultId, vault: location, serverId, hostname, certificate: thumbprint, registered: record.created,
    keyId: key.keyId, lastPoint: null, replicaOf: disk.vault.manifest.vaultId,
  };
  await saveRegistration(registration, o.signingKey, disk.masterKey);
  return { registration, created: true, keyWritten: key.written };
}
