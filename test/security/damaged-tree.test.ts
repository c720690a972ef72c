// One tree that cannot be read (damaged, or a blob of the wrong type where a tree belongs) fails that
// folder, not the whole run: restore skips it and goes on, ls shows the rest, and prune (which cannot
// know what the tree references) names it and deletes nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';
import { craftingPoints, rewriteNewestPoint } from '../helpers/crafted-points.js';
import { decodeTree } from '../../core/repo/tree.js';

const warnings = (r: EngineRun, code: string) => r.events.filter((e) => e.type === 'warning' && e.code === code) as { message: string; target?: string }[];
const items = (r: EngineRun) => r.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']));

/** A point whose folder "bad" has a data blob (the content of good/a.txt) as its subtree. */
async function pointWithDamagedFolder() {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(join(src, 'good'), { recursive: true });
  mkdirSync(join(src, 'bad'));
  writeFileSync(join(src, 'good', 'a.txt'), 'good a\n');
  writeFileSync(join(src, 'bad', 'b.txt'), 'bad b\n');
  writeFileSync(join(src, 'top.txt'), 'top\n');
  expect((await fx.az(['backup', src])).code).toBe(0);
  // The ID of a data blob: the content of good/a.txt.
  const { repo, vault } = await craftingPoints(fx);
  const subtreeOf = async (id: string, name: string) => decodeTree(await repo.readBlob(Buffer.from(id, 'hex'), 'tree')).find((n) => n.name === name)!;
  const points = await repo.readAllPoints();
  const root = decodeTree(await repo.readBlob(Buffer.from(points[0]!.manifest.tree, 'hex'), 'tree'))[0]!;
  const good = await subtreeOf(root.subtree!, 'good');
  const dataBlob = (await subtreeOf(good.subtree!, 'a.txt')).content![0]!;
  await vault.store.close();
  const pointId = await rewriteNewestPoint(fx, (n) => (n.name === 'bad' ? { ...n, subtree: dataBlob } : n));
  return { fx, src, pointId, dataBlob };
}

describe('a tree that cannot be read fails its folder, not the run', () => {
  it('restore skips the folder with a warning naming it and restores the rest', async () => {
    const { fx, src, pointId } = await pointWithDamagedFolder();
    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', pointId, '--target', target]);
    expect(r.code, r.stdout).toBe(3);
    expect(warnings(r, 'AZB_TREE_DAMAGED').map((w) => w.target)).toEqual([join(target, src, 'bad')]);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 2, skipped: 1 });
    expect(readFileSync(join(target, src, 'good', 'a.txt'), 'utf8')).toBe('good a\n');
    expect(readFileSync(join(target, src, 'top.txt'), 'utf8')).toBe('top\n');
    expect(existsSync(join(target, src, 'bad'))).toBe(false);
    // The damaged folder chosen as the item itself: a warning, nothing else.
    const one = await fx.az(['restore', pointId, join(src, 'bad', 'b.txt'), '--target', join(fx.root, 'one')]);
    expect(one.code, one.stdout).toBe(3);
    expect(warnings(one, 'AZB_TREE_DAMAGED')).toHaveLength(1);
  });

  it('ls shows what it can, with a warning naming the folder it cannot read', async () => {
    const { fx, src, pointId } = await pointWithDamagedFolder();
    const all = await fx.az(['ls', pointId, '--recurse']);
    expect(all.code, all.stdout).toBe(3);
    expect(items(all)).toEqual([src, join(src, 'bad'), join(src, 'good'), join(src, 'good', 'a.txt'), join(src, 'top.txt')]);
    expect(warnings(all, 'AZB_TREE_DAMAGED').map((w) => w.target)).toEqual([join(src, 'bad')]);
    const inside = await fx.az(['ls', pointId, join(src, 'bad')]);
    expect(inside.code, inside.stdout).toBe(3);
    expect(items(inside)).toEqual([]);
    expect(warnings(inside, 'AZB_TREE_DAMAGED').map((w) => w.target)).toEqual([join(src, 'bad')]);
  });

  it('prune names the point and the tree it cannot read and deletes nothing (AZB_PRUNE_TREE_DAMAGED)', async () => {
    const { fx, pointId, dataBlob } = await pointWithDamagedFolder();
    // Data that only a removed point used: prune would delete it, were it not for the damaged tree.
    const other = join(fx.root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'o.bin'), Buffer.alloc(100_000, 7));
    const b = await fx.az(['backup', other]);
    expect((await fx.az(['forget', '--permanent', String(resultOf(b, 'RecoveryPoint')['pointId'])])).code).toBe(0);
    const before = listTree(fx.vault).filter((f) => !f.includes('/locks/'));
    for (const dry of [[], ['--dry-run']]) {
      const r = await fx.az(['prune', ...dry]);
      const err = onlyError(r);
      expect(err.code).toBe('AZB_PRUNE_TREE_DAMAGED');
      expect(err.message).toContain(pointId.slice(0, 12));
      expect(err.message).toContain(dataBlob.slice(0, 12));
      expect(warnings(r, 'AZB_TREE_DAMAGED').map((w) => w.message).join('\n')).toContain(pointId);
      expect(listTree(fx.vault).filter((f) => !f.includes('/locks/'))).toEqual(before);
    }
  });
});
