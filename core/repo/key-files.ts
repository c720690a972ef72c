// The key files of a server namespace (FORMAT.md section 4): finding the one the passphrase opens,
// and replacing it when the passphrase changes. The master key itself never changes.
import { randomBytes } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError } from '../storage/storage.js';
import { checkKdfParams, createKeyFile, keyFileIntact, openKeyFile, type KeyFile } from '../crypto/keys.js';
import { serverPrefix, type ServerRecord } from './registration.js';
import { vaultError } from './storage-errors.js';
import type { Vault } from './vault.js';

/** How a namespace is opened. */
export interface OpenKeyOptions {
  /**
   * The key file this server accepts (its local registration's pin): any other key file that opens is
   * refused with AZB_KEY_NOT_CURRENT. Without it (another server's namespace, or no registration here)
   * any key file the passphrase opens is accepted.
   */
  keyId?: string;
  /** Stops the derivation under way (AZB_CANCELLED). */
  signal?: AbortSignal;
}

/** The key ID (last part of the name) of a key file object. */
export function keyIdOf(keyName: string): string {
  return keyName.slice(keyName.lastIndexOf('/') + 1);
}

const cancelled = () => new AzbError('AZB_CANCELLED', 'The operation was cancelled while the key files were being tried.');

/**
 * Tries the key files of the server with the passphrase (the pinned one first); returns the master key
 * and the key file that opened. Key files whose KDF parameters pass the limits (AZB_KEY_FILE_UNSAFE)
 * are never derived: they are passed over, and named when no other key file opens.
 */
export async function openMasterKey(vault: Vault, record: ServerRecord, passphrase: string, o: OpenKeyOptions = {}): Promise<{ masterKey: Buffer; keyName: string }> {
  const serverId = record.serverId;
  const prefix = serverPrefix(serverId);
  const pinned = o.keyId === undefined ? undefined : `${prefix}keys/${o.keyId}`;
  const damaged: string[] = [];
  let unsafe: AzbError | undefined;
  /** Reads one key file and tries the passphrase on it: the master key, or undefined (noted in damaged/unsafe). */
  const attempt = async (name: string): Promise<Buffer | undefined> => {
    if (o.signal?.aborted) throw cancelled();
    let file: KeyFile;
    try {
      file = JSON.parse((await vault.store.get(name)).toString('utf8')) as KeyFile;
    } catch (err) {
      if (isStorageError(err) && !isStorageError(err, 'not-found')) throw vaultError(err, vault.store.location, 'a key file');
      if (!isStorageError(err)) damaged.push(name);
      return undefined; // a damaged or vanished key file: another may open
    }
    if (!keyFileIntact(file)) { damaged.push(name); return undefined; }
    try {
      checkKdfParams(file.kdf, name);
    } catch (err) {
      unsafe ??= err as AzbError;
      return undefined;
    }
    return openKeyFile(file, passphrase, serverId, { name, ...(o.signal ? { signal: o.signal } : {}) }).catch((err: unknown) => {
      if (err instanceof AzbError) throw err; // cancelled
      return undefined;
    });
  };
  // The pinned key file is read by its name: when it opens, no listing is needed (the common case).
  const pinnedKey = pinned === undefined ? undefined : await attempt(pinned);
  if (pinnedKey && pinned) return { masterKey: pinnedKey, keyName: pinned };
  const keyNames: string[] = [];
  try {
    for await (const obj of vault.store.list(`${prefix}keys/`)) keyNames.push(obj.name);
  } catch (err) {
    throw vaultError(err, vault.store.location, 'the key files');
  }
  if (keyNames.length === 0) throw new AzbError('AZB_OBJECT_DAMAGED', `Server ${record.hostname} has no key file in the vault.`, { target: `${prefix}keys/` });
  let masterKey: Buffer | undefined;
  let keyName: string | undefined;
  // The pinned one was tried above (whatever it gave is in damaged/unsafe): the others, in name order.
  for (const name of keyNames.sort()) {
    if (name === pinned) continue;
    masterKey = await attempt(name);
    if (masterKey) { keyName = name; break; }
  }
  if (masterKey && keyName && pinned !== undefined && keyName !== pinned) {
    const pinnedThere = keyNames.includes(pinned);
    throw new AzbError('AZB_KEY_NOT_CURRENT', `Key file ${keyName} opens with this passphrase, but this server accepts only its current key file ${pinned}${pinnedThere ? '' : ', which is not in the vault'}: a key file of an earlier passphrase was put back into the vault${pinnedThere ? '' : ', or the current one was removed'}.`, {
      target: keyName,
      hint: pinnedThere
        ? 'Use the current passphrase (the one set last on this server), and remove the old key file from the vault.'
        : "Put back the current key file from a copy of the vault. Only if you trust this key file: remove \"keyId\" from this server's registration file (registrations/<vaultId>.json in the AzBackup home) to accept it.",
    });
  }
  if (!masterKey || !keyName) {
    if (unsafe) throw unsafe;
    if (damaged.length === keyNames.length) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Every key file of server ${record.hostname} is damaged (${damaged.join(', ')}); the passphrase cannot be checked.`, {
        target: damaged[0], hint: 'Restore the key file from a copy of the vault; without one, the data of this server cannot be opened.',
      });
    }
    throw new AzbError('AZB_PASSPHRASE_WRONG', `The passphrase does not open server ${record.hostname} (${serverId.slice(0, 12)}…).`, {
      target: serverId, hint: "Check the passphrase. If it is another server's (to restore that server's data), name that server with -Server / --server. Without the right passphrase the data of this server cannot be recovered.",
    });
  }
  return { masterKey, keyName };
}

/**
 * Adds a key file for a new passphrase and removes the one that was used to open (`keyName`); returns
 * the new key file's name. The master key stays the same: whoever kept a copy of the old key file and
 * knows the old passphrase can still unwrap it (FORMAT.md section 4).
 */
export async function replaceKeyFile(vault: Vault, record: ServerRecord, masterKey: Buffer, keyName: string, newPassphrase: string, o: { signal?: AbortSignal } = {}): Promise<string> {
  const serverId = record.serverId;
  const location = vault.store.location;
  const file = await createKeyFile(masterKey, newPassphrase, serverId, record.hostname, o);
  const name = `${serverPrefix(serverId)}keys/${randomBytes(16).toString('hex')}`;
  try {
    await vault.store.put(name, Buffer.from(JSON.stringify(file, null, 2)));
  } catch (err) {
    throw vaultError(err, location, 'a new key file');
  }
  // The new key must open before the old one goes: never leave the namespace without a working key.
  const check = await openKeyFile(JSON.parse((await vault.store.get(name)).toString('utf8')) as KeyFile, newPassphrase, serverId, { name });
  if (!check || !check.equals(masterKey)) throw new AzbError('AZB_INTERNAL', 'The new key file does not open; the old passphrase stays valid.');
  try {
    await vault.store.delete(keyName);
  } catch (err) {
    throw vaultError(err, location, 'the old key file');
  }
  return name;
}
