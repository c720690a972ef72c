// Prune and point removal through the built engine: only unused data goes; what remains restores.
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';

const packBytes = (vault: string) => listTree(vault).filter((l) => l.includes('/packs/')).reduce((n, l) => n + Number(l.split(':')[1]), 0);

describe('prune', () => {
  it('removes only the data of forgotten points; the remaining point restores and checks clean', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const oldData = randomBytes(3 * 1024 * 1024);
    const keep = randomBytes(2 * 1024 * 1024);
    writeFileSync(join(src, 'old.bin'), oldData);
    writeFileSync(join(src, 'keep.bin'), keep);
    const first = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
    rmSync(join(src, 'old.bin'));
    writeFileSync(join(src, 'new.bin'), randomBytes(1024 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const before = packBytes(fx.vault);

    const dry = await fx.az(['prune', '--dry-run']);
    expect(resultOf(dry, 'PruneResult')).toMatchObject({ dryRun: true, packsDeleted: 0 });
    expect(packBytes(fx.vault)).toBe(before);

    expect(onlyError(await fx.az(['forget', 'ffffff'])).code).toBe('AZB_POINT_NOT_FOUND');
    expect(resultOf(await fx.az(['forget', '--permanent', first]), 'RemovedRecoveryPoint')).toMatchObject({ pointId: first });
    const pruned = await fx.az(['prune']);
    expect(pruned.code, pruned.stdout).toBe(0);
    const stats = resultOf(pruned, 'PruneResult');
    expect(stats['points']).toBe(1);
    // Packs that held only old.bin are gone when old.bin had packs of its own; nothing the kept point needs is lost.
    expect(packBytes(fx.vault)).toBeLessThanOrEqual(before);
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(fx.root, 'r', src, 'keep.bin')).equals(keep)).toBe(true);
    // Pruning twice changes nothing.
    const again = resultOf(await fx.az(['prune']), 'PruneResult');
    expect(again).toMatchObject({ packsDeleted: 0 });
  });

  it('deletes every pack once all points are forgotten', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'x.bin'), randomBytes(1024 * 1024));
    const id = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
    expect(packBytes(fx.vault)).toBeGreaterThan(1024 * 1024);
    await fx.az(['forget', '--permanent', id]);
    expect(resultOf(await fx.az(['prune']), 'PruneResult')).toMatchObject({ points: 0, packsKept: 0 });
    expect(packBytes(fx.vault)).toBe(0);
  });

  it('sweeps temp files that killed writes left in the server\'s folder, once they are an hour old', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'x.bin'), randomBytes(64 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const packDir = listTree(fx.vault).find((l) => l.includes('/packs/'))!.split(':')[0]!.replace(/\/[^/]+$/, '');
    const stale = join(fx.vault, packDir, '.tmp-0123456789abcdef');
    const fresh = join(fx.vault, packDir, '.tmp-fedcba9876543210');
    writeFileSync(stale, randomBytes(1000));
    writeFileSync(fresh, randomBytes(1000));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    expect(resultOf(await fx.az(['prune', '--dry-run']), 'PruneResult')).toMatchObject({ tempFilesDeleted: 0 });
    expect(existsSync(stale)).toBe(true);
    expect(resultOf(await fx.az(['prune']), 'PruneResult')).toMatchObject({ tempFilesDeleted: 1, packsDeleted: 0 });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true); // may belong to a write still running
    expect((await fx.az(['check', '--read-data'])).code).toBe(0);
  });

  it('keeps packs whose index file was lost when points still use them (it reads their footers)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const first = randomBytes(1024 * 1024);
    writeFileSync(join(src, 'first.bin'), first);
    expect((await fx.az(['backup', src])).code).toBe(0);
    const indexesBefore = listTree(fx.vault).filter((l) => l.includes('/index/')).map((l) => l.split(':')[0]!);
    const second = randomBytes(1024 * 1024);
    writeFileSync(join(src, 'second.bin'), second);
    expect((await fx.az(['backup', src])).code).toBe(0);
    const packsBefore = packBytes(fx.vault);
    // The second backup's index file is lost: its pack is in no index, but the latest point uses it.
    const lost = listTree(fx.vault).filter((l) => l.includes('/index/')).map((l) => l.split(':')[0]!).filter((n) => !indexesBefore.includes(n));
    expect(lost).toHaveLength(1);
    rmSync(join(fx.vault, lost[0]!));

    const pruned = await fx.az(['prune']);
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ packsDeleted: 0 });
    expect(packBytes(fx.vault)).toBe(packsBefore);
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'r', src, 'second.bin')).equals(second)).toBe(true);
  });

  it('deletes nothing when points use data that is in no readable pack (AZB_PRUNE_DATA_MISSING)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), randomBytes(1024 * 1024));
    const first = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
    const packsOfFirst = listTree(fx.vault).filter((l) => l.includes('/packs/')).map((l) => l.split(':')[0]!);
    writeFileSync(join(src, 'b.bin'), randomBytes(1024 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    // A pack of the first backup is lost, and the first point is forgotten (its other data is now unused).
    const dataPack = packsOfFirst.map((n) => ({ n, size: Number(listTree(fx.vault).find((l) => l.startsWith(`${n}:`))!.split(':')[1]) }))
      .sort((a, b) => b.size - a.size)[0]!.n;
    rmSync(join(fx.vault, dataPack));
    expect((await fx.az(['forget', '--permanent', first])).code).toBe(0);
    const before = listTree(fx.vault);

    const pruned = await fx.az(['prune']);
    const err = onlyError(pruned);
    expect(err.code).toBe('AZB_PRUNE_DATA_MISSING');
    expect(err.message).toMatch(/deleted nothing/);
    expect(listTree(fx.vault)).toEqual(before);
  });

  it('removes a damaged point by ID (with a warning), lists the others meanwhile, and records the removal as a job', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), randomBytes(64 * 1024));
    const good = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
    writeFileSync(join(src, 'b.bin'), randomBytes(64 * 1024));
    const bad = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
    const badObject = listTree(fx.vault).map((l) => l.split(':')[0]!).find((n) => n.includes('/points/') && n.endsWith(bad))!;
    const bytes = readFileSync(join(fx.vault, badObject));
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(join(fx.vault, badObject), bytes);

    // Listing names the damaged point and still lists the good one.
    const points = await fx.az(['points']);
    expect(points.code).toBe(3);
    expect(points.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['pointId']))).toEqual([good]);
    expect(points.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_POINT_DAMAGED', target: badObject });
    // 'latest' for a reader is the newest point that can be read; the damaged one is named.
    const latest = await fx.az(['ls', 'latest', src]);
    expect(latest.code, latest.stdout).toBe(3);
    expect(latest.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_POINT_DAMAGED', target: badObject });
    expect(latest.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name']))).toEqual(['a.bin']);
    // Prune must read every point, so it refuses while the damaged one is there.
    expect(onlyError(await fx.az(['prune'])).code).toBe('AZB_OBJECT_DAMAGED');

    const removed = await fx.az(['forget', bad.slice(0, 10)]);
    expect(removed.code, removed.stdout).toBe(3);
    expect(removed.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_POINT_DAMAGED' });
    expect(resultOf(removed, 'RemovedRecoveryPoint')).toMatchObject({ pointId: bad, damaged: true });
    expect(existsSync(join(fx.vault, badObject))).toBe(false);
    const jobs = await fx.az(['jobs', '--previous', '1']);
    expect(jobs.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data)[0]).toMatchObject({ operation: 'RemovePoint', status: 'CompletedWithWarnings' });

    expect((await fx.az(['prune'])).code).toBe(0);
    expect((await fx.az(['check', '--read-data'])).code).toBe(0);
    const r = await fx.az(['restore', good, '--target', join(fx.root, 'r')]);
    expect(r.code, r.stdout).toBe(0);
  });
});
