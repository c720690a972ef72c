// The packs of a namespace (FORMAT.md section 7) as objects: listing, reading whole packs and their
// footers, uploading, and reading single blobs through the in-memory index.
import type { KeyObject } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import { isStorageError, putFromFile } from '../storage/storage.js';
import { storageId } from '../crypto/seal.js';
import type { BlobLocation, BlobType } from './blob-index.js';
import type { IndexedPack } from './index-store.js';
import { PACK_HEADER_SIZE, PackError, openBlob, packKeyFromHeader, readPackFooter, type FinishedPack } from './pack.js';
import type { ServerRepo } from './server.js';
import { vaultError } from './storage-errors.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Pack IDs in the vault (listing packs/), with their sizes. */
export async function listPackIds(repo: ServerRepo): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for await (const o of repo.listUnder('packs/')) {
      const id = o.name.slice(o.name.lastIndexOf('/') + 1);
      if (HEX64.test(id)) out.set(id, o.size);
    }
  } catch (err) {
    throw vaultError(err, repo.location, 'the pack list');
  }
  return out;
}

/** Reads a whole pack, checking its storage ID. */
export async function readPack(repo: ServerRepo, packId: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await repo.vault.store.get(repo.packObject(packId));
  } catch (err) {
    throw vaultError(err, repo.location, `pack ${packId.slice(0, 12)}`);
  }
  if (storageId(data) !== packId) throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: its content does not match its name.`, { target: repo.packObject(packId) });
  return data;
}

/** Reads the footer of a pack (used to index packs a crashed backup left unindexed). */
export async function readPackBlobs(repo: ServerRepo, packId: string): Promise<IndexedPack> {
  const data = await readPack(repo, packId);
  try {
    return { id: packId, size: data.length, blobs: readPackFooter(repo.keys, data) };
  } catch (err) {
    if (err instanceof PackError) throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: ${err.message}.`, { target: repo.packObject(packId) });
    throw err;
  }
}

/** Uploads a finished pack and indexes it in memory. An identical pack already there counts as uploaded. */
export async function savePack(repo: ServerRepo, pack: FinishedPack): Promise<void> {
  try {
    if (pack.path !== undefined) await putFromFile(repo.vault.store, repo.packObject(pack.id), pack.path);
    else await repo.vault.store.put(repo.packObject(pack.id), pack.data!);
  } catch (err) {
    if (!isStorageError(err, 'exists')) throw vaultError(err, repo.location, `pack ${pack.id.slice(0, 12)}`);
  }
  repo.addPackToIndex({ id: pack.id, size: pack.size, blobs: pack.blobs });
}

/** The key of a pack, from its header (cached on the repo). */
export async function packKeyOf(repo: ServerRepo, packId: string): Promise<KeyObject> {
  let key = repo.packKeys.get(packId);
  if (key) return key;
  let header: Buffer;
  try {
    header = await repo.vault.store.get(repo.packObject(packId), { offset: 0, length: PACK_HEADER_SIZE });
  } catch (err) {
    throw vaultError(err, repo.location, `pack ${packId.slice(0, 12)}`);
  }
  try {
    key = packKeyFromHeader(repo.keys, header);
  } catch {
    throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: bad header.`, { target: repo.packObject(packId) });
  }
  repo.packKeys.set(packId, key);
  return key;
}

/**
 * A pack's header is read with the first range of the pack when that range starts this close to it:
 * one request instead of two, for at most 1 MiB more, about what one more round trip costs on a WAN
 * (40 ms at 25–50 MiB/s). A range further in costs a separate header read.
 */
export const HEADER_FOLD_GAP = 1024 * 1024;

/**
 * Bytes [start, end) of a pack. When the pack's key is not known yet and the range starts near the
 * header, the header is read in the same request and the key taken from it.
 */
export async function readPackSpan(repo: ServerRepo, packId: string, start: number, end: number): Promise<Buffer> {
  const fold = !repo.packKeys.has(packId) && start <= PACK_HEADER_SIZE + HEADER_FOLD_GAP;
  const from = fold ? 0 : start;
  let data: Buffer;
  try {
    data = await repo.vault.store.get(repo.packObject(packId), { offset: from, length: end - from });
  } catch (err) {
    throw vaultError(err, repo.location, `pack ${packId.slice(0, 12)}`);
  }
  if (fold && !repo.packKeys.has(packId)) {
    try {
      repo.packKeys.set(packId, packKeyFromHeader(repo.keys, data));
    } catch {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Pack ${packId.slice(0, 12)}… is damaged: bad header.`, { target: repo.packObject(packId) });
    }
  }
  return from === start ? data : data.subarray(start - from);
}

/** Location of a blob, or a coded error when the index does not have it. */
export function locateBlob(repo: ServerRepo, id: Buffer): BlobLocation {
  const loc = repo.index.get(id);
  if (!loc) {
    const hex = id.toString('hex');
    if (repo.damage.wasLeftOut(hex)) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${hex.slice(0, 12)}… is damaged (a check recorded it) and no intact copy is in the vault.`, {
        target: hex, hint: "Back up again if the source still has the file (it is stored again), then run 'azbackup repair' (Repair-AzBackupVault).",
      });
    }
    throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${hex.slice(0, 12)}… is in no index.`, { target: hex, hint: "Run 'azbackup check' to see what is affected." });
  }
  return loc;
}

/** Reads, decrypts and verifies one blob (its HMAC must equal its ID). */
export async function readBlob(repo: ServerRepo, id: Buffer, expectType?: BlobType): Promise<Buffer> {
  const loc = locateBlob(repo, id);
  if (expectType && loc.type !== expectType) throw new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… is a ${loc.type} blob, expected ${expectType}.`, { target: id.toString('hex') });
  const key = await packKeyOf(repo, loc.packId);
  let stored: Buffer;
  try {
    stored = await repo.vault.store.get(repo.packObject(loc.packId), { offset: loc.offset, length: loc.length });
  } catch (err) {
    throw vaultError(err, repo.location, `pack ${loc.packId.slice(0, 12)}`);
  }
  return openStoredBlob(repo, key, id, stored, loc);
}

/**
 * Decrypts a blob already read from its pack, and checks its content against its ID unless `idCheck`
 * is false (only for the data of a file whose digest is checked, FORMAT.md section 9).
 */
export function openStoredBlob(repo: ServerRepo, key: KeyObject, id: Buffer, stored: Uint8Array, loc: BlobLocation, idCheck = true): Buffer {
  let chunk: Buffer;
  try {
    chunk = openBlob(key, id, stored, loc.rawLength);
  } catch (err) {
    if (err instanceof PackError) throw packDamaged(repo, loc, err.message);
    throw err;
  }
  if (idCheck && !repo.blobMatchesId(chunk, id, loc.type)) throw blobIdMismatch(repo, id, loc);
  return chunk;
}

/** The error of a blob that does not open (authentication, encoding, length): the same inline and on a decode worker. */
export function packDamaged(repo: ServerRepo, loc: BlobLocation, why: string): AzbError {
  return new AzbError('AZB_OBJECT_DAMAGED', `Pack ${loc.packId.slice(0, 12)}… is damaged: ${why}.`, { target: repo.packObject(loc.packId), hint: "Run 'azbackup check' to see what is affected." });
}

/** The error of a blob whose plaintext does not match its ID: the same inline and on a decode worker. */
export function blobIdMismatch(repo: ServerRepo, id: Buffer, loc: BlobLocation): AzbError {
  return new AzbError('AZB_OBJECT_DAMAGED', `Blob ${id.toString('hex').slice(0, 12)}… does not match its ID.`, { target: repo.packObject(loc.packId) });
}
