// Prune repacks partly used packs: the plan (which packs, which blobs), and a vault that shrinks while
// every remaining point still restores bit for bit and checks clean.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { BlobSaver } from '../../core/backup/blob-saver.js';
import { AzbError } from '../../core/protocol/errors.js';
import { JsonSink } from '../../core/protocol/events.js';
import { copyBlobs, planRepack } from '../../core/prune/repack.js';
import type { IndexedPack } from '../../core/repo/server.js';
import { onlyError, resultOf } from '../helpers/engine.js';
import { memoryServer } from '../helpers/memory-server.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

function pack(id: string, blobs: [string, number][]): IndexedPack {
  let offset = 0;
  return { id, size: blobs.reduce((n, [, l]) => n + l, 0) + 100, blobs: blobs.map(([b, length]) => { const o = offset; offset += length; return { id: b, type: 'data' as const, offset: o, length, rawLength: length }; }) };
}

describe('planRepack', () => {
  const a = pack('A', [['a1', 1000], ['a2', 1000], ['a3', 1000], ['a4', 1000]]);
  const b = pack('B', [['b1', 1000], ['b2', 1000]]);
  const c = pack('C', [['c1', 1000], ['a1', 1000]]); // a second copy of a1
  const indexedIn = (id: string) => (id === 'a1' ? 'A' : id[0]!.toUpperCase());

  it('rewrites nothing while the unused share is within the limit', () => {
    const plan = planRepack([a, b], new Set(['a1', 'a2', 'a3', 'a4', 'b1', 'b2']), indexedIn, { maxUnusedPercent: 5, maxRepackBytes: Infinity });
    expect(plan.packs).toEqual([]);
    expect(plan.unusedBefore).toBe(0);
  });

  it('rewrites the most unused packs first and copies only used blobs that no staying pack holds', () => {
    // A: 3 of 4 blobs unused; B: all used; C: c1 used, its a1 is a second copy (the index has A's).
    const plan = planRepack([a, b, c], new Set(['a1', 'b1', 'b2', 'c1']), indexedIn, { maxUnusedPercent: 5, maxRepackBytes: Infinity });
    expect(plan.packs.map((p) => p.id)).toEqual(['A', 'C']);
    expect(plan.copy.map((x) => x.id).sort()).toEqual(['a1', 'c1']);
    expect(plan.unusedBefore).toBe(4000);
    expect(plan.unusedAfter).toBe(0);
  });

  it('stops at the repack size limit, and never with 100 %', () => {
    const used = new Set(['a1', 'b1', 'b2', 'c1']);
    expect(planRepack([a, b, c], used, indexedIn, { maxUnusedPercent: 5, maxRepackBytes: c.size }).packs.map((p) => p.id)).toEqual(['C']);
    expect(planRepack([a, b, c], used, indexedIn, { maxUnusedPercent: 5, maxRepackBytes: 10 }).packs).toEqual([]);
    expect(planRepack([a, b, c], used, indexedIn, { maxUnusedPercent: 100, maxRepackBytes: Infinity }).packs).toEqual([]);
  });

  it('drops a second copy without copying it when the first stays', () => {
    const plan = planRepack([a, c], new Set(['a1', 'a2', 'a3', 'a4']), indexedIn, { maxUnusedPercent: 5, maxRepackBytes: Infinity });
    expect(plan.packs.map((p) => p.id)).toEqual(['C']);
    expect(plan.copy).toEqual([]);
  });
});

describe('prune repacks a partly used pack', () => {
  let fx: VaultFixture;
  let src: string;
  const vaultBytes = () => listTree(join(fx.vault, 'servers')).reduce((n, e) => n + Number(e.split(':').pop()), 0);

  beforeAll(async () => {
    fx = await registeredServer({ hostname: 'repack01' });
    src = join(fx.root, 'src');
    mkdirSync(src);
    // 200 files of 16 KiB of random bytes: all in one pack. Half of them go away before the second point.
    for (let i = 0; i < 200; i++) writeFileSync(join(src, `f${i}.bin`), randomBytes(16 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    for (let i = 0; i < 200; i += 2) rmSync(join(src, `f${i}.bin`));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const first = (await fx.az(['points'])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['pointId']))[0]!;
    expect((await fx.az(['forget', '--permanent', first])).code).toBe(0);
  }, 120_000);

  it('says what it would do with --dry-run, and does nothing', async () => {
    const before = vaultBytes();
    const dry = resultOf(await fx.az(['prune', '--dry-run']), 'PruneResult');
    expect(dry).toMatchObject({ dryRun: true, packsRepacked: 1 });
    expect(Number(dry['bytesFreed'])).toBeGreaterThan(1.4 * 1024 * 1024);
    expect(vaultBytes()).toBe(before);
  });

  it('refuses a --max-unused or --max-repack-size that is not one', async () => {
    for (const args of [['--max-unused', '150%'], ['--max-unused', 'lots'], ['--max-repack-size', 'big']]) {
      const r = await fx.az(['prune', ...args]);
      expect(r.code).toBe(2);
      expect(onlyError(r).code).toBe('AZB_USAGE');
    }
  });

  it('does not repack beyond --max-repack-size, nor under --max-unused 100%', async () => {
    expect(resultOf(await fx.az(['prune', '--max-repack-size', '1KB']), 'PruneResult')).toMatchObject({ packsRepacked: 0 });
    expect(resultOf(await fx.az(['prune', '--max-unused', '100%']), 'PruneResult')).toMatchObject({ packsRepacked: 0 });
  });

  it('rewrites it: the vault shrinks by about the unused half, and the point restores and checks clean', async () => {
    const before = vaultBytes();
    const r = await fx.az(['prune']);
    expect(r.code, r.stdout).toBe(0);
    const stats = resultOf(r, 'PruneResult');
    expect(stats).toMatchObject({ packsRepacked: 1 });
    const after = vaultBytes();
    expect(before - after).toBeGreaterThan(1.4 * 1024 * 1024); // 100 × 16 KiB unused, less overheads
    expect(after).toBeLessThan(before);
    const target = join(fx.root, 'restored');
    const restored = await fx.az(['restore', 'latest', '--target', target]);
    expect(restored.code, restored.stdout).toBe(0);
    expect(resultOf(restored, 'RestoreResult')).toMatchObject({ verifyFailed: 0 });
    for (let i = 1; i < 200; i += 2) expect(readFileSync(join(target, src, `f${i}.bin`)).equals(readFileSync(join(src, `f${i}.bin`)))).toBe(true);
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    // Nothing left to repack: a second prune keeps everything.
    expect(resultOf(await fx.az(['prune']), 'PruneResult')).toMatchObject({ packsRepacked: 0, packsDeleted: 0 });
  });
});

describe('copyBlobs', () => {
  it('stops with AZB_INTERNAL_INVARIANT, before anything is deleted, when a copied blob is in no new pack', async () => {
    const { repo } = await memoryServer();
    const first = new BlobSaver(repo);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await first.save('data', randomBytes(10_000))).toString('hex'));
    await first.finish(true);
    const packsBefore = [...(await repo.listPackIds()).keys()].sort();
    const plan = { packs: [...first.packsWritten], copy: ids.map((id) => ({ id, type: 'data' as const })), unusedBefore: 0, unusedAfter: 0, total: 0 };
    // A saver that silently drops the second blob: the defect the check exists for.
    const realSave = BlobSaver.prototype.save;
    const spy = vi.spyOn(BlobSaver.prototype, 'save').mockImplementation(async function (this: BlobSaver, type, data, id) {
      if (id && id.toString('hex') === ids[1]) return id;
      return realSave.call(this, type, data, id);
    });
    try {
      const err = await copyBlobs(repo, plan, { sink: new JsonSink(() => undefined), signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AzbError);
      expect((err as AzbError).code).toBe('AZB_INTERNAL_INVARIANT');
      expect((err as AzbError).message).toContain(`copied 2 of 3 blobs (first missing: ${ids[1]!.slice(0, 12)}`);
    } finally {
      spy.mockRestore();
    }
    // Every old pack is still there, and still holds the blob.
    for (const id of packsBefore) expect((await repo.listPackIds()).has(id)).toBe(true);
    expect((await repo.readBlob(Buffer.from(ids[1]!, 'hex'), 'data')).length).toBe(10_000);
  });
});
