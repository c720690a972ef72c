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
    expect(resultOf(await fx.az(['forget', first]), 'RemovedRecoveryPoint')).toMatchObject({ pointId: first });
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
    await fx.az(['forget', id]);
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
});
