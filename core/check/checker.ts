// Check: the structure of a server namespace always (index files, packs present with the right size,
// recovery points and their signatures, every tree and every blob they reference); with read-data,
// every byte of (a sample of) the packs. Each damaged object is named with what it affects.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { BlobFetcher } from '../restore/blob-fetcher.js';
import { forEachLimit } from '../repo/for-each-limit.js';
import { readPointStates } from '../repo/point-states.js';
import { damageObject, readDamage, recordDamage, type DamagedPack } from '../repo/damage.js';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { PackError, readPackFooter, packKeyFromHeader, openBlob } from '../repo/pack.js';
import { storageId } from '../crypto/seal.js';
import { keyFileIntact, type KeyFile } from '../crypto/keys.js';
import { decodeTree, displayName, type TreeNode } from '../repo/tree.js';
import type { IndexFile } from '../repo/index-store.js';
import { registrationProblems, verifyRegistration } from '../repo/registration.js';
import type { ServerRepo } from '../repo/server.js';
import { certificateObject, listCertificates } from '../repo/vault.js';

/** One problem found: the damaged object, what is wrong, and which recovery points and files it affects. */
export interface CheckProblem { object: string; problem: string; affectedPoints: string[]; affectedFiles: string[] }

/** Summary of a check. */
export interface CheckSummary {
  serverId: string; indexFiles: number; packs: number; points: number; trees: number; blobsReferenced: number;
  packsRead: number; bytesRead: number; readDataPercent: number; problems: number;
  /** Distinct file contents rebuilt from their chunk lists and matched against their digests (read-data). */
  filesVerified: number;
  /** Points of format 1, whose files carry no digest and so cannot be verified. */
  pointsUnverifiable: number;
  /** Files that repair rewrote after vault damage took part of them (known losses, not problems). */
  filesDamaged: number;
  /** The damage record this check wrote for damage no record named yet (FORMAT.md section 10), if any. */
  damageRecorded?: string;
}

/** One distinct file content of the points walked: its node, and where it appears. */
interface FileUse { node: TreeNode; points: string[]; paths: string[] }

const MAX_FILES_PER_PROBLEM = 20;

/** Runs the check; problems are emitted as they are found and returned. */
export async function runCheck(repo: ServerRepo, o: { readDataPercent: number; sink: EventSink; signal: AbortSignal }): Promise<{ problems: CheckProblem[]; summary: CheckSummary }> {
  const { sink } = o;
  const problems: CheckProblem[] = [];
  const report = (p: CheckProblem) => { problems.push(p); };
  const summary: CheckSummary = { serverId: repo.serverId, indexFiles: 0, packs: 0, points: 0, trees: 0, blobsReferenced: 0, packsRead: 0, bytesRead: 0, readDataPercent: o.readDataPercent, problems: 0, filesVerified: 0, pointsUnverifiable: 0, filesDamaged: 0 };
  const store = repo.vault.store;

  // Shared objects: certificates must match their names; the registration proof must verify.
  sink.progress('Check', 'Certificates and registration', 0);
  for (const thumb of await listCertificates(repo.vault)) {
    const name = certificateObject(thumb);
    try {
      const der = await store.get(name);
      const sha1 = createHash('sha1').update(der).digest('hex').toUpperCase();
      new X509Certificate(der);
      if (sha1 !== thumb) report({ object: name, problem: 'certificate content does not match its thumbprint', affectedPoints: [], affectedFiles: [] });
    } catch {
      report({ object: name, problem: 'certificate cannot be read', affectedPoints: [], affectedFiles: [] });
    }
  }
  if (repo.pin) {
    // This server's own record: it must also name the certificate and server ID pinned at registration.
    for (const why of await registrationProblems(repo.vault, repo.record, repo.pin).catch((err: unknown) => [`it cannot be checked: ${(err as Error).message}`])) {
      report({ object: `${repo.prefix}server.json`, problem: `the registration record does not match this server's registration: ${why}`, affectedPoints: [], affectedFiles: [] });
    }
  } else if (!(await verifyRegistration(repo.vault, repo.record).catch(() => false))) {
    report({ object: `${repo.prefix}server.json`, problem: 'registration proof does not verify against the uploaded certificate', affectedPoints: [], affectedFiles: [] });
  }

  // Key files: each must be intact (one that is not would read as a wrong passphrase).
  for await (const o of store.list(`${repo.prefix}keys/`)) {
    let intact = false;
    try { intact = keyFileIntact(JSON.parse((await store.get(o.name)).toString('utf8')) as KeyFile); } catch { intact = false; }
    if (!intact) report({ object: o.name, problem: 'key file is damaged', affectedPoints: [], affectedFiles: [] });
  }

  // Points are listed before the index is read: a backup running meanwhile (check allows it) writes its
  // index files before its point, so every point listed here has its blobs in the index read below.
  const pointIds = await repo.listPointIds();
  // The newest point this server wrote must be among them (rollback: FORMAT.md section 11).
  const missing = await repo.warnIfNewestPointMissing((code, message, target) => sink.warning(code, message, target), pointIds);
  if (missing) {
    report({ object: repo.pointObject(missing.id), problem: `the newest recovery point this server wrote (${missing.time}) is missing: it was deleted outside a forget of this server, so an older point looks like the latest`, affectedPoints: [missing.id], affectedFiles: [] });
  }

  // Point states (soft delete): a damaged one is ignored by every reader (its point counts as live), so
  // it is reported, not fatal. Soft-deleted points are checked like the others: they can be brought back.
  const { damaged: damagedStates } = await readPointStates(repo);
  for (const d of damagedStates) {
    report({ object: repo.pointStateObject(d.pointId, d.stateId), problem: 'point state (soft delete record) is damaged: its point counts as not deleted and is never purged until it is removed or brought back again', affectedPoints: [d.pointId], affectedFiles: [] });
  }

  // Index files: each must match its name and decrypt.
  sink.progress('Check', 'Index files', 5);
  const indexIds = await repo.listIndexIds();
  const files = new Map<string, IndexFile>();
  for (const id of indexIds) {
    try {
      files.set(id, await repo.readSealed<IndexFile>('index', repo.indexObject(id), id));
    } catch (err) {
      report({ object: repo.indexObject(id), problem: err instanceof AzbError ? err.message : String(err), affectedPoints: [], affectedFiles: [] });
    }
  }
  summary.indexFiles = indexIds.length;
  const superseded = new Set<string>();
  for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
  // Damage earlier checks recorded: a record that cannot be read is a problem of its own.
  const recorded = (await readDamage(repo, (id, why) => report({ object: damageObject(repo, id), problem: `damage record cannot be read (${why}): the damage it named is no longer left out of the index until a check records it again`, affectedPoints: [], affectedFiles: [] }))).set;
  // Damaged index files are reported above. The rest loads, and the packs only a damaged file listed are
  // indexed from their footers, so the points using them are not blamed for a damaged index.
  await repo.loadIndexForReading(() => undefined);
  const indexedPacks = new Map<string, { size: number; blobs: IndexFile['packs'][number]['blobs'] }>();
  for (const [id, f] of files) if (!superseded.has(id)) for (const p of f.packs) indexedPacks.set(p.id, { size: p.size, blobs: p.blobs });

  // Packs: present, right size. A missing or cut pack damages every blob the index lists in it, so the
  // points and files using them are named below, as for a pack that fails --read-data.
  sink.progress('Check', 'Packs', 10);
  const listed = await repo.listPackIds();
  summary.packs = listed.size;
  const damagedBlobs = new Map<string, string>(); // blob → object name
  const damagedPackProblem = new Map<string, CheckProblem>();
  const damageKind = new Map<string, 'all' | 'blobs' | 'outside'>(); // what this check found, by pack
  for (const [id, p] of indexedPacks) {
    const size = listed.get(id);
    const why = size === undefined ? 'pack named in the index is missing' : size !== p.size ? `pack has ${size} bytes, the index says ${p.size}` : undefined;
    if (why === undefined) continue;
    const problem: CheckProblem = { object: repo.packObject(id), problem: why, affectedPoints: [], affectedFiles: [] };
    report(problem);
    damagedPackProblem.set(id, problem);
    damageKind.set(id, 'all');
    for (const b of p.blobs) damagedBlobs.set(b.id, problem.object);
  }
  // Packs an earlier check recorded damaged stay damage until repair removes them; the copies named are
  // out of the index (a backup stored them again where it could), and are not read again below.
  for (const d of recorded.list()) {
    if (damagedPackProblem.has(d.id)) continue;
    const entry = indexedPacks.get(d.id);
    // A recorded pack that prune's repacking already removed is no damage any more (repair deletes the record).
    if (!entry && !listed.has(d.id)) { sink.log(`Pack ${d.id.slice(0, 12)}…, recorded damaged on ${d.time}, is gone from the vault and every index; 'azbackup repair packs' deletes its record.`); continue; }
    const blobs = d.blobs === 'all' ? (entry?.blobs.map((b) => b.id) ?? []) : d.blobs;
    const problem: CheckProblem = { object: repo.packObject(d.id), problem: `recorded damaged by a check on ${d.time} (${d.reason}); run 'azbackup repair packs' (Repair-AzBackupVault -Packs)`, affectedPoints: [], affectedFiles: [] };
    report(problem);
    damagedPackProblem.set(d.id, problem);
    for (const b of blobs) damagedBlobs.set(b, problem.object);
  }
  for (const id of listed.keys()) if (!indexedPacks.has(id)) sink.log(`Pack ${id.slice(0, 12)}… is in no index (left by an interrupted backup; the next backup indexes it, prune removes it).`);

  const sampledPacks = new Set<string>();
  // Read data: whole packs, storage ID, footer against index, every blob decrypted and checked against its ID.
  if (o.readDataPercent > 0) {
    const ids = [...indexedPacks.keys()].filter((id) => listed.has(id) && !damagedPackProblem.has(id)).sort();
    const sample = o.readDataPercent >= 100 ? ids : ids.filter(() => Math.random() * 100 < o.readDataPercent);
    // A sample is never empty: a small vault with a low percentage still has one pack read.
    if (sample.length === 0 && ids.length > 0) sample.push(ids[Math.floor(Math.random() * ids.length)]!);
    for (const id of sample) sampledPacks.add(id);
    let done = 0;
    for (const id of sample) {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The check was cancelled.');
      const name = repo.packObject(id);
      const entry = indexedPacks.get(id)!;
      const fail = (why: string, blobs: string[], kind: 'all' | 'blobs' | 'outside') => {
        damageKind.set(id, kind);
        for (const b of blobs) damagedBlobs.set(b, name);
        const p = { object: name, problem: why, affectedPoints: [], affectedFiles: [] };
        damagedPackProblem.set(id, p);
        report(p);
      };
      let data: Buffer;
      try { data = await store.get(name); } catch (err) { fail(`pack cannot be read: ${(err as Error).message}`, entry.blobs.map((b) => b.id), 'all'); continue; }
      summary.packsRead++;
      summary.bytesRead += data.length;
      sink.progress('Check', `Reading data: pack ${++done}/${sample.length}`, 15 + (70 * done) / Math.max(sample.length, 1));
      const badBlobs: string[] = [];
      let key: KeyObject | undefined;
      try { key = packKeyFromHeader(repo.keys, data); } catch { /* reported below */ }
      for (const b of entry.blobs) {
        const stored = data.subarray(b.offset, b.offset + b.length);
        try {
          if (!key || stored.length !== b.length) throw new PackError('truncated', 'short');
          const chunk = openBlob(key, Buffer.from(b.id, 'hex'), stored, b.rawLength);
          if (!repo.blobMatchesId(chunk, Buffer.from(b.id, 'hex'), b.type)) throw new PackError('blob-format', 'id mismatch');
        } catch {
          badBlobs.push(b.id);
        }
      }
      let footerOk = true;
      try {
        const footer = readPackFooter(repo.keys, data);
        footerOk = footer.length === entry.blobs.length && footer.every((f, i) => f.id === entry.blobs[i]!.id && f.offset === entry.blobs[i]!.offset && f.length === entry.blobs[i]!.length);
      } catch { footerOk = false; }
      const hashOk = storageId(data) === id;
      if (badBlobs.length > 0) fail(`${badBlobs.length} blob(s) fail authentication or do not match their IDs`, badBlobs, 'blobs');
      else if (!hashOk || !footerOk) fail(!hashOk ? 'pack content does not match its name (a byte outside the blobs was altered)' : 'pack footer does not match the index', [], 'outside');
    }
  }

  // Recovery points and trees.
  sink.progress('Check', 'Recovery points and trees', 85);
  summary.points = pointIds.length;
  const visitedTrees = new Set<string>();
  const referenced = new Set<string>();
  const problemsByBlob = new Map<string, CheckProblem>();
  const blobProblem = (blob: string, why: string, object: string): CheckProblem => {
    let p = problemsByBlob.get(blob);
    if (!p) {
      const packProblem = [...damagedPackProblem.values()].find((x) => x.object === object);
      p = packProblem ?? { object, problem: why, affectedPoints: [], affectedFiles: [] };
      if (!packProblem) report(p);
      problemsByBlob.set(blob, p);
    }
    return p;
  };
  const affect = (p: CheckProblem, pointId: string, file: string) => {
    if (!p.affectedPoints.includes(pointId)) p.affectedPoints.push(pointId);
    if (p.affectedFiles.length < MAX_FILES_PER_PROBLEM && !p.affectedFiles.includes(file)) p.affectedFiles.push(file);
  };
  // A blob is usable when the index places it in a pack with no damage found for that copy: a copy a
  // backup stored again after the damage was recorded serves the points that need it.
  const usable = (blob: string): boolean => {
    const loc = repo.index.get(Buffer.from(blob, 'hex'));
    return loc !== undefined && damagedBlobs.get(blob) !== repo.packObject(loc.packId);
  };
  const checkBlob = (blob: string, pointId: string, file: string) => {
    referenced.add(blob);
    if (usable(blob)) return;
    const damaged = damagedBlobs.get(blob);
    if (damaged) affect(blobProblem(blob, 'damaged blob', damaged), pointId, file);
    else affect(blobProblem(blob, `blob ${blob.slice(0, 12)}… is in no index`, `${repo.prefix}blob/${blob}`), pointId, file);
  };
  // Files by content (digest and chunk list): a file kept unchanged in many points is verified once.
  const fileUses = new Map<string, FileUse>();
  const fileProblem = (use: FileUse, why: string) => {
    report({ object: repo.pointObject(use.points[0]!), problem: `file ${use.paths[0]}: ${why}`, affectedPoints: [...use.points], affectedFiles: use.paths.slice(0, MAX_FILES_PER_PROBLEM) });
  };
  const noteFile = (n: TreeNode, path: string, pointId: string, version: number) => {
    if (n.type !== 'file') return;
    if (n.damage) summary.filesDamaged++;
    // A format-2 point has a digest on every file (hard-linked names included), and its chunk
    // lengths add up to the size; both are checked without reading any data.
    if (version >= 2 && (typeof n.digest !== 'string' || !/^[0-9a-f]{64}$/.test(n.digest))) {
      report({ object: repo.pointObject(pointId), problem: `file ${path}: no content digest (every file of a format-2 point has one)`, affectedPoints: [pointId], affectedFiles: [path] });
      return;
    }
    if (n.digest === undefined) return;
    const content = n.content ?? [];
    const key = `${n.digest}:${n.size}:${content.join(',')}`;
    let use = fileUses.get(key);
    if (!use) {
      use = { node: n, points: [], paths: [] };
      fileUses.set(key, use);
      let sum = 0;
      let known = true;
      for (const c of content) {
        const loc = repo.index.get(Buffer.from(c, 'hex'));
        if (!loc) { known = false; break; } // reported as a blob in no index
        sum += loc.rawLength;
      }
      if (known && sum !== n.size) {
        use.points.push(pointId);
        use.paths.push(path);
        fileProblem(use, `its chunks hold ${sum} bytes, its size is ${String(n.size)} (a wrong chunk list)`);
        (use as { bad?: boolean }).bad = true;
        return;
      }
    }
    if (!use.points.includes(pointId)) use.points.push(pointId);
    if (use.paths.length < MAX_FILES_PER_PROBLEM && !use.paths.includes(path)) use.paths.push(path);
  };
  async function walk(treeId: string, path: string, pointId: string, version: number): Promise<void> {
    checkBlob(treeId, pointId, path || '/');
    if (visitedTrees.has(`${pointId}:${treeId}`) || !usable(treeId)) return;
    visitedTrees.add(`${pointId}:${treeId}`);
    let nodes: TreeNode[];
    try {
      nodes = decodeTree(await repo.readBlob(Buffer.from(treeId, 'hex'), 'tree'));
    } catch (err) {
      const loc = repo.index.get(Buffer.from(treeId, 'hex'));
      affect(blobProblem(treeId, `tree cannot be read: ${(err as Error).message}`, loc ? repo.packObject(loc.packId) : treeId), pointId, path || '/');
      return;
    }
    summary.trees++;
    for (const n of nodes) {
      const p = path === '' ? displayName(n) : `${path}/${displayName(n)}`;
      for (const c of n.content ?? []) checkBlob(c, pointId, p);
      noteFile(n, p, pointId, version);
      if (n.subtree) await walk(n.subtree, p, pointId, version);
    }
  }
  const signers = new Map<string, number>();
  for (const id of pointIds) {
    if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The check was cancelled.');
    let point;
    try {
      point = await repo.readPoint(id);
    } catch (err) {
      report({ object: repo.pointObject(id), problem: err instanceof AzbError ? err.message : String(err), affectedPoints: [id], affectedFiles: [] });
      continue;
    }
    if (point.signedBy) {
      const key = `${point.signedBy.subject} (certificate ${point.signedBy.thumbprint})`;
      signers.set(key, (signers.get(key) ?? 0) + 1);
    }
    if (point.manifest.version < 2) {
      summary.pointsUnverifiable++;
      sink.warning('AZB_POINT_UNVERIFIABLE', `Recovery point ${id.slice(0, 12)}… was written before format 2: its files carry no content digest, so check can verify its blobs but not that its chunk lists rebuild its files.`, repo.pointObject(id));
    }
    await walk(point.manifest.tree, '', id, point.manifest.version);
  }
  // Whose certificate signed the points (only this server's may: each is verified above).
  for (const [who, n] of signers) sink.log(`${n} recovery point(s) signed by ${who}${repo.pin ? ', the certificate this server registered with' : `, the certificate ${repo.record.hostname}'s registration record names`}.`);

  // Read data: every file whose chunks lie in a pack read above is rebuilt from its chunk list and
  // matched against its digest, so a wrong, missing or mis-ordered chunk list is found even when every
  // blob is intact. Files are taken in the order their data lies in the packs, as a restore does.
  if (o.readDataPercent > 0) {
    const toVerify = [...fileUses.values()].filter((u) => !(u as { bad?: boolean }).bad && (u.node.content ?? []).every((c) => {
      const loc = repo.index.get(Buffer.from(c, 'hex'));
      return loc !== undefined && usable(c);
    }) && (o.readDataPercent >= 100 || (u.node.content ?? []).some((c) => sampledPacks.has(repo.index.get(Buffer.from(c, 'hex'))!.packId))));
    const fetcher = new BlobFetcher(repo);
    fetcher.plan(toVerify.flatMap((u) => u.node.content ?? []));
    const where = (u: FileUse) => {
      const first = u.node.content?.[0];
      const loc = first ? repo.index.get(Buffer.from(first, 'hex')) : undefined;
      return loc ? `${loc.packId}:${String(loc.offset).padStart(12, '0')}` : '';
    };
    toVerify.sort((a, b) => (where(a) < where(b) ? -1 : where(a) > where(b) ? 1 : 0));
    let done = 0;
    await forEachLimit(toVerify, 4, async (use) => {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The check was cancelled.');
      const hash = createHash('sha256');
      try {
        for (const c of use.node.content ?? []) hash.update(await fetcher.blob(c));
      } catch (err) {
        fileProblem(use, `its chunks cannot be read: ${(err as Error).message}`);
        return;
      }
      const got = hash.digest('hex');
      if (got !== use.node.digest) fileProblem(use, `its chunk list does not rebuild its content (SHA-256 ${got.slice(0, 12)}…, digest ${use.node.digest!.slice(0, 12)}…): a wrong, missing or mis-ordered chunk list`);
      else summary.filesVerified++;
      if (++done % 100 === 0) sink.progress('Check', `Verifying files: ${done}/${toVerify.length}`, 90);
    });
  }
  // Damage found here that no record names yet is recorded, so backups stop deduplicating against it
  // and readers take any other copy (FORMAT.md section 10). Damage outside the blobs is recorded too: the
  // blobs are sound, but repair packs rewrites the pack.
  const found: DamagedPack[] = [];
  for (const [id, kind] of damageKind) {
    const problem = damagedPackProblem.get(id)!;
    const blobs = kind === 'all' ? 'all' : [...damagedBlobs].filter(([, object]) => object === problem.object).map(([b]) => b);
    found.push({ id, blobs, reason: problem.problem });
  }
  if (found.length > 0) {
    const id = await recordDamage(repo, recorded, found);
    if (id) {
      summary.damageRecorded = id;
      sink.log(`The damage found is recorded in ${damageObject(repo, id)}: backups store those blobs again instead of reusing them, and 'azbackup repair' (Repair-AzBackupVault) salvages what is left.`);
    }
  }
  summary.blobsReferenced = referenced.size;
  summary.problems = problems.length;
  for (const p of problems) sink.item('CheckProblem', { ...p });
  sink.progress('Check', 'Done', 100);
  return { problems, summary };
}
