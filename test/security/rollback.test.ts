// Item 6: deleting the newest point in the vault must not silently make an older one "latest". The
// server remembers the newest point it wrote; points, check and restore latest notice when it is gone
// outside a forget of its own.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { itemsOf, registrationOf, warningsOf } from './attacker.js';

async function twoPoints(): Promise<{ fx: VaultFixture; src: string; older: string; newer: string; serverId: string }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'version 1\n');
  const older = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
  writeFileSync(join(src, 'a.txt'), 'version 2\n');
  const newer = String(resultOf(await fx.az(['backup', src]), 'RecoveryPoint')['pointId']);
  return { fx, src, older, newer, serverId: registrationOf(fx).reg.serverId };
}

const codes = (run: Awaited<ReturnType<VaultFixture['az']>>) => warningsOf(run).map((w) => w.code);

describe('rollback: the newest point deleted in the vault', () => {
  it('is named by points and check, and restore latest refuses; an explicit point restores; the next backup clears it', async () => {
    const { fx, src, older, newer, serverId } = await twoPoints();
    rmSync(join(fx.vault, 'servers', serverId, 'points', newer));

    const points = await fx.az(['points']);
    expect(itemsOf(points).map((p) => p['pointId'])).toEqual([older]);
    expect(codes(points)).toContain('AZB_POINT_MISSING');
    expect(warningsOf(points).find((w) => w.code === 'AZB_POINT_MISSING')!.message).toContain(newer.slice(0, 12));
    expect(points.code).toBe(3);

    const check = await fx.az(['check']);
    expect(codes(check)).toContain('AZB_POINT_MISSING');
    expect(check.code).toBe(4);
    expect(itemsOf(check).map((p) => String(p['object']))).toContain(`servers/${serverId}/points/${newer}`);

    const latest = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r1')]);
    expect(onlyError(latest).code).toBe('AZB_POINT_MISSING');
    const explicit = await fx.az(['restore', older, '--target', join(fx.root, 'r2')]);
    expect(explicit.code, explicit.stdout).toBe(0);

    // A new backup is the newest point again: no more alarm.
    writeFileSync(join(src, 'a.txt'), 'version 3\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const after = await fx.az(['points']);
    expect(codes(after)).not.toContain('AZB_POINT_MISSING');
    expect(after.code).toBe(0);
  });

  it('raises no alarm when this server forgets its own newest point', async () => {
    const { fx, older, newer } = await twoPoints();
    const forget = await fx.az(['forget', newer]);
    expect(forget.code, forget.stdout).toBe(0);
    const points = await fx.az(['points']);
    expect(codes(points)).toEqual([]);
    expect(itemsOf(points).map((p) => p['pointId'])).toEqual([older]);
    expect((await fx.az(['check'])).code).toBe(0);
    const latest = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(latest.code, latest.stdout).toBe(0);
    expect(resultOf(latest, 'RestoreResult')['pointId']).toBe(older);
    // Forgetting the last one too leaves nothing expected.
    expect((await fx.az(['forget', older])).code).toBe(0);
    expect(codes(await fx.az(['points']))).toEqual([]);
  });
});
