// Writing blobs and signed recovery points from a test, as the fixture's server: what a compromised
// server, a bug or damage could leave in a vault.
import { openStore } from '../../core/commands/context.js';
import { openVault } from '../../core/repo/vault.js';
import { openServer, type PointManifest } from '../../core/repo/server.js';
import { findRegistration, loadSigningKey } from '../../core/config/home.js';
import { BlobSaver } from '../../core/backup/blob-saver.js';
import { decodeTree, encodeTree, type TreeNode } from '../../core/repo/tree.js';
import type { VaultFixture } from './vault-fixture.js';

/** Opens the fixture's server in this process, with its signing key and a blob saver. Close vault.store after. */
export async function craftingPoints(fx: VaultFixture) {
  process.env['AZBACKUP_HOME'] = fx.home;
  const vault = await openVault(await openStore(fx.vault));
  const reg = (await findRegistration(vault.manifest.vaultId))!;
  const repo = await openServer(vault, reg.serverId, fx.passphrase);
  await repo.loadIndex();
  return { vault, repo, key: await loadSigningKey(reg, repo.masterKey), saver: new BlobSaver(repo) };
}

/** A format-2 point of `nodes` under one source root `source` (an absolute path); returns its ID. */
export async function savePointOf(fx: VaultFixture, source: string, build: (saveTree: (nodes: TreeNode[]) => Promise<string>, saveData: (bytes: Buffer) => Promise<string>) => Promise<TreeNode[]>): Promise<string> {
  const { vault, repo, key, saver } = await craftingPoints(fx);
  try {
    const saveTree = async (nodes: TreeNode[]) => (await saver.save('tree', encodeTree(nodes))).toString('hex');
    const saveData = async (bytes: Buffer) => (await saver.save('data', bytes)).toString('hex');
    const top = await saveTree(await build(saveTree, saveData));
    const root = await saveTree([{ name: source, type: 'dir', mode: 0o755, mtimeNs: '0', subtree: top }]);
    await saver.finish(true);
    const stats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 };
    return await repo.savePoint({ version: 2, serverId: repo.serverId, hostname: 'srv01', time: new Date().toISOString(), sources: [source], tree: root, parent: null, tags: [], stats }, key);
  } finally {
    await vault.store.close();
  }
}

/** A format-2 point whose root tree is the nodes `build` returns (several roots, any names), with `extra` manifest fields; returns its ID. */
export async function savePointOfRoots(fx: VaultFixture, build: (saveTree: (nodes: TreeNode[]) => Promise<string>, saveData: (bytes: Buffer) => Promise<string>) => Promise<TreeNode[]>, extra: Partial<PointManifest> = {}): Promise<string> {
  const { vault, repo, key, saver } = await craftingPoints(fx);
  try {
    const saveTree = async (nodes: TreeNode[]) => (await saver.save('tree', encodeTree(nodes))).toString('hex');
    const saveData = async (bytes: Buffer) => (await saver.save('data', bytes)).toString('hex');
    const roots = await build(saveTree, saveData);
    const root = await saveTree(roots);
    await saver.finish(true);
    const stats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 };
    return await repo.savePoint({ version: 2, serverId: repo.serverId, hostname: 'srv01', time: new Date().toISOString(), sources: roots.map((r) => r.name!), tree: root, parent: null, tags: [], stats, ...extra }, key);
  } finally {
    await vault.store.close();
  }
}

/** Rewrites the newest point with `edit` applied to every node of its single source folder; returns the new point's ID. */
export async function rewriteNewestPoint(fx: VaultFixture, edit: (n: TreeNode) => TreeNode): Promise<string> {
  const { vault, repo, key, saver } = await craftingPoints(fx);
  try {
    const points = await repo.readAllPoints();
    const point = points[points.length - 1]!;
    const source = decodeTree(await repo.readBlob(Buffer.from(point.manifest.tree, 'hex'), 'tree'))[0]!;
    const nodes = decodeTree(await repo.readBlob(Buffer.from(source.subtree!, 'hex'), 'tree')).map(edit);
    const subtree = await saver.save('tree', encodeTree(nodes));
    const root = await saver.save('tree', encodeTree([{ ...source, subtree: subtree.toString('hex') }]));
    await saver.finish(true);
    const manifest: PointManifest = { ...point.manifest, version: 2, time: new Date().toISOString(), tree: root.toString('hex') };
    return await repo.savePoint(manifest, key);
  } finally {
    await vault.store.close();
  }
}
