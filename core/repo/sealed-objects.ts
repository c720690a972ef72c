// Sealed objects of a namespace (FORMAT.md section 5: config, index files, points): named by the
// SHA-256 of their stored bytes, which a reader checks before it decrypts.
import { AzbError } from '../protocol/errors.js';
import { isStorageError, type ObjectStore } from '../storage/storage.js';
import { sealJson, storageId, unsealJson, type SealedKind } from '../crypto/seal.js';
import { vaultError } from './storage-errors.js';

/** Reads a sealed object and checks its name (storage ID) and authentication. */
export async function readSealedObject<T>(store: ObjectStore, sealKey: Buffer, kind: SealedKind, name: string, id: string, verified?: (data: Buffer) => Promise<void>): Promise<T> {
  let data: Buffer;
  try {
    data = await store.get(name);
  } catch (err) {
    throw vaultError(err, store.location, `${kind} ${id.slice(0, 12)}`);
  }
  const value = openSealedBytes<T>(sealKey, kind, name, id, data);
  await verified?.(data);
  return value;
}

/** Opens the stored bytes of sealed object `name` (read from the vault or a checked copy): name, then authentication. */
export function openSealedBytes<T>(sealKey: Buffer, kind: SealedKind, name: string, id: string, data: Buffer): T {
  if (storageId(data) !== id) throw new AzbError('AZB_OBJECT_DAMAGED', `${kind} ${id.slice(0, 12)}… is damaged: its content does not match its name.`, { target: name, hint: "Run 'azbackup check' to see what is affected." });
  const opened = unsealJson<T>(sealKey, kind, data);
  if (!('value' in opened)) throw new AzbError('AZB_OBJECT_DAMAGED', `${kind} ${id.slice(0, 12)}… is damaged (${opened.failure}).`, { target: name, hint: "Run 'azbackup check' to see what is affected." });
  return opened.value;
}

/** Writes a sealed object under its storage ID; an identical object already there is fine. */
export async function writeSealedObject(store: ObjectStore, sealKey: Buffer, kind: SealedKind, value: unknown, nameOf: (id: string) => string, written?: (id: string, data: Buffer) => Promise<void>): Promise<string> {
  const data = sealJson(sealKey, kind, value);
  const id = storageId(data);
  try {
    await store.put(nameOf(id), data);
  } catch (err) {
    if (!isStorageError(err, 'exists')) throw vaultError(err, store.location, kind);
  }
  await written?.(id, data);
  return id;
}
