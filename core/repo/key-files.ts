// The key files of a server namespace (FORMAT.md section 4): finding the one the passphrase opens,
// and replacing it when the passphrase changes. The master key itself never changes.
import { randomBytes } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError } from '../storage/storage.js';
import { createKeyFile, keyFileIntact, openKeyFile, type KeyFile } from '../crypto/keys.js';
import { serverPrefix, type ServerRecord } from './registration.js';
import { vaultError } from './storage-errors.js';
import type { Vault } from './vault.js';

/** Tries every key file of the server with the passphrase; returns the master key and the key file that opened. */
export async function openMasterKey(vault: Vault, record: ServerRecord, passphrase: string): Promise<{ masterKey: Buffer; keyName: string }> {
  const serverId = record.serverId;
  const prefix = serverPrefix(serverId);
  const keyNames: string[] = [];
  try {
    for await (const o of vault.store.list(`${prefix}keys/`)) keyNames.push(o.name);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the key files');
  }
  if (keyNames.length === 0) throw new AzbError('AZB_OBJECT_DAMAGED', `Server ${record.hostname} has no key file in the vault.`, { target: `${prefix}keys/` });
  let masterKey: Buffer | undefined;
  let keyName: string | undefined;
  const damaged: string[] = [];
  for (const name of keyNames.sort()) {
    let file: KeyFile;
    try {
      file = JSON.parse((await vault.store.get(name)).toString('utf8')) as KeyFile;
    } catch (err) {
      if (isStorageError(err) && !isStorageError(err, 'not-found')) throw vaultError(err, vault.store.location, 'a key file');
      if (!isStorageError(err)) damaged.push(name);
      continue; // a damaged or vanished key file: another may open
    }
    if (!keyFileIntact(file)) { damaged.push(name); continue; }
    masterKey = await openKeyFile(file, passphrase, serverId).catch(() => undefined);
    if (masterKey) { keyName = name; break; }
  }
  if ((!masterKey || !keyName) && damaged.length === keyNames.length) {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Every key file of server ${record.hostname} is damaged (${damaged.join(', ')}); the passphrase cannot be checked.`, {
      target: damaged[0], hint: 'Restore the key file from a copy of the vault; without one, the data of this server cannot be opened.',
    });
  }
  if (!masterKey || !keyName) {
    throw new AzbError('AZB_PASSPHRASE_WRONG', `The passphrase does not open server ${record.hostname} (${serverId.slice(0, 12)}…).`, {
      target: serverId, hint: "Check the passphrase. If it is another server's (to restore that server's data), name that server with -Server / --server. Without the right passphrase the data of this server cannot be recovered.",
    });
  }
  return { masterKey, keyName };
}

/** Adds a key file for a new passphrase and removes the one that was used to open (`keyName`). */
export async function replaceKeyFile(vault: Vault, record: ServerRecord, masterKey: Buffer, keyName: string, newPassphrase: string): Promise<void> {
  const serverId = record.serverId;
  const location = vault.store.location;
  const file = await createKeyFile(masterKey, newPassphrase, serverId, record.hostname);
  const name = `${serverPrefix(serverId)}keys/${randomBytes(16).toString('hex')}`;
  try {
    await vault.store.put(name, Buffer.from(JSON.stringify(file, null, 2)));
  } catch (err) {
    throw vaultError(err, location, 'a new key file');
  }
  // The new key must open before the old one goes: never leave the namespace without a working key.
  const check = await openKeyFile(JSON.parse((await vault.store.get(name)).toString('utf8')) as KeyFile, newPassphrase, serverId);
  if (!check || !check.equals(masterKey)) throw new AzbError('AZB_INTERNAL', 'The new key file does not open; the old passphrase stays valid.');
  try {
    await vault.store.delete(keyName);
  } catch (err) {
    throw vaultError(err, location, 'the old key file');
  }
}
