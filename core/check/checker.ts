// Check: the structure of a server namespace always (index files, packs present with the right size,
// recovery points and their signatures, every tree and every blob they reference); with read-data,
// every byte of (a sample of) the packs. Each damaged object is named with what it affects.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { PackError, readPackFooter, packKeyFromHeader, openBlob } from '../repo/pack.js';
import { storageId } from '../crypto/seal.js';
import { keyFileIntact, type KeyFile } from '../crypto/keys.js';
import { decodeTree, displayName, type TreeNode } from '../repo/tree.js';
import { verifyRegistration, type IndexFile, type ServerRepo } from '../repo/server.js';
import { certificateObject, listCertificates } from '../repo/vault.js';

/** One problem found: the damaged object, what is wrong, and which recovery points and files it affects. */
export interface CheckProblem { object: string; problem: string; affectedPoints: string[]; affectedFiles: string[] }

/** Summary of a check. */
export interface CheckSummary {
  serverId: string; indexFiles: number; packs: number; points: number; trees: number; blobsReferenced: number;
  packsRead: number; bytesRead: number; readDataPercent: number; problems: number;
}

const MAX_FILES_PER_PROBLEM = 20;

/** Runs the check; problems are emitted as they are found and returned. */
export async function runCheck(repo: ServerRepo, o: { readDataPercent: number; sink: EventSink; signal: AbortSignal }): Promise<{ problems: CheckProblem[]; summary: CheckSummary }> {
  const { sink } = o;
  const problems: CheckProblem[] = [];
  const report = (p: CheckProblem) => { problems.push(p); };
  const summary: CheckSummary = { serverId: repo.serverId, indexFiles: 0, packs: 0, points: 0, trees: 0, blobsReferenced: 0, packsRead: 0, bytesRead: 0, readDataPercent: o.readDataPercent, problems: 0 };
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
  if (!(await verifyRegistration(repo.vault, repo.record).catch(() => false))) {
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
  for (const [id, p] of indexedPacks) {
    const size = listed.get(id);
    const why = size === undefined ? 'pack named in the index is missing' : size !== p.size ? `pack has ${size} bytes, the index says ${p.size}` : undefined;
    if (why === undefined) continue;
    const problem: CheckProblem = { object: repo.packObject(id), problem: why, affectedPoints: [], affectedFiles: [] };
    report(problem);
    damagedPackProblem.set(id, problem);
    for (const b of p.blobs) damagedBlobs.set(b.id, problem.object);
  }
  for (const id of listed.keys()) if (!indexedPacks.has(id)) sink.log(`Pack ${id.slice(0, 12)}… is in no index (left by an interrupted backup; the next backup indexes it, prune removes it).`);

  // Read data: whole packs, storage ID, footer against index, every blob decrypted and checked against its ID.
  if (o.readDataPercent > 0) {
    const ids = [...indexedPacks.keys()].filter((id) => listed.has(id) && !damagedPackProblem.has(id)).sort();
    const sample = o.readDataPercent >= 100 ? ids : ids.filter(() => Math.random() * 100 < o.readDataPercent);
    // A sample is never empty: a small vault with a low percentage still has one pack read.
    if (sample.length === 0 && ids.length > 0) sample.push(ids[Math.floor(Math.random() * ids.length)]!);
    let done = 0;
    for (const id of sample) {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The check was cancelled.');
      const name = repo.packObject(id);
      const entry = indexedPacks.get(id)!;
      const fail = (why: string, blobs: string[]) => {
        for (const b of blobs) damagedBlobs.set(b, name);
        const p = { object: name, problem: why, affectedPoints: [], affectedFiles: [] };
        damagedPackProblem.set(id, p);
        report(p);
      };
      let data: Buffer;
      try { data = await store.get(name); } catch (err) { fail(`pack cannot be read: ${(err as Error).message}`, entry.blobs.map((b) => b.id)); continue; }
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
      if (badBlobs.length > 0) fail(`${badBlobs.length} blob(s) fail authentication or do not match their IDs`, badBlobs);
      else if (!hashOk || !footerOk) fail(!hashOk ? 'pack content does not match its name (a byte outside the blobs was altered)' : 'pack footer does not match the index', []);
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
  const checkBlob = (blob: string, pointId: string, file: string) => {
    referenced.add(blob);
    const damaged = damagedBlobs.get(blob);
    if (damaged) affect(blobProblem(blob, 'damaged blob', damaged), pointId, file);
    else if (!repo.index.has(Buffer.from(blob, 'hex'))) affect(blobProblem(blob, `blob ${blob.slice(0, 12)}… is in no index`, `${repo.prefix}blob/${blob}`), pointId, file);
  };
  async function walk(treeId: string, path: string, pointId: string): Promise<void> {
    checkBlob(treeId, pointId, path || '/');
    if (visitedTrees.has(`${pointId}:${treeId}`) || damagedBlobs.has(treeId) || !repo.index.has(Buffer.from(treeId, 'hex'))) return;
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
      if (n.subtree) await walk(n.subtree, p, pointId);
    }
  }
  for (const id of pointIds) {
    if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The check was cancelled.');
    let point;
    try {
      point = await repo.readPoint(id);
    } catch (err) {
      report({ object: repo.pointObject(id), problem: err instanceof AzbError ? err.message : String(err), affectedPoints: [id], affectedFiles: [] });
      continue;
    }
    await walk(point.manifest.tree, '', id);
  }
  summary.blobsReferenced = referenced.size;
  summary.problems = problems.length;
  for (const p of problems) sink.item('CheckProblem', { ...p });
  sink.progress('Check', 'Done', 100);
  return { problems, summary };
}
