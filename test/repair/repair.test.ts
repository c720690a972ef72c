// Damage records and repair through the built engine (FORMAT.md section 10, "Damage records and
// repair"): a backup after a check found damage stores the damaged data again instead of reusing it;
// repair rebuilds the index, salvages damaged packs and rewrites points whose files lost data, marking
// them; every kind of damage the check tests make is tried.
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultOf, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const codes = (run: EngineRun, type: 'warning' | 'error') => run.events.filter((e) => e.type === type).map((e) => (e as { code: string }).code);
const items = (run: EngineRun) => run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Record<string, unknown> }).data);

function packs(fx: VaultFixture): { name: string; size: number }[] {
  return listTree(fx.vault).filter((l) => l.includes('/packs/')).map((l) => ({ name: l.split(':')[0]!, size: Number(l.split(':')[1]) })).sort((a, b) => b.size - a.size);
}

function flip(path: string, at: number, count = 4): void {
  const b = readFileSync(path);
  for (let i = 0; i < count; i++) b[at + i] = b[at + i]! ^ 0xff;
  writeFileSync(path, b);
}

/**
 * A server whose latest point holds a small file (backed up first, in packs of its own) and a large
 * random one (backed up second: its first 16 MiB fill the biggest pack alone).
 */
async function backedUp(): Promise<{ fx: VaultFixture; src: string; big: Buffer; small: Buffer }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  const big = randomBytes(20_000_000);
  const small = Buffer.from('small file\n'.repeat(1000));
  writeFileSync(join(src, 'sub', 'small.txt'), small);
  const b0 = await fx.az(['backup', src]);
  expect(b0.code, b0.stdout).toBe(0);
  writeFileSync(join(src, 'big.bin'), big);
  const b = await fx.az(['backup', src]);
  expect(b.code, b.stdout).toBe(0);
  return { fx, src, big, small };
}

async function restoreLatest(fx: VaultFixture, to: string): Promise<EngineRun> {
  return fx.az(['restore', 'latest', '--target', to]);
}

describe('damage records', () => {
  it('a backup after check found a damaged pack stores the data again; repair packs then leaves a healthy vault whose old point restores too', async () => {
    const { fx, src, big } = await backedUp();
    const dataPack = packs(fx)[0]!.name;
    flip(join(fx.vault, dataPack), 40); // in the first blob: a chunk of big.bin
    const check = await fx.az(['check', '--read-data']);
    expect(check.code).toBe(4);
    const recorded = resultOf(check, 'CheckResult')['damageRecorded'];
    expect(recorded).toMatch(/^[0-9a-f]{64}$/);
    expect(listTree(fx.vault).some((l) => l.includes(`/damage/${String(recorded)}`))).toBe(true);
    // A plain check (no read-data) keeps naming the recorded damage, and records nothing new.
    const plain = await fx.az(['check']);
    expect(plain.code).toBe(4);
    expect(items(plain).map((p) => p['object'])).toContain(dataPack);
    expect(resultOf(plain, 'CheckResult')['damageRecorded']).toBeUndefined();

    // The file changes a little: most of its chunks are unchanged, the damaged one among them.
    appendFileSync(join(src, 'big.bin'), 'tail');
    const b1 = await fx.az(['backup', src]);
    expect(b1.code, b1.stdout).toBe(0);
    const newPoint = String(resultOf(b1, 'RecoveryPoint')['pointId']);
    const r1 = await restoreLatest(fx, join(fx.root, 'r1'));
    expect(r1.code, r1.stdout).toBe(0);
    expect(sha(readFileSync(join(fx.root, 'r1', src, 'big.bin')))).toBe(sha(Buffer.concat([big, Buffer.from('tail')])));

    // Prune keeps the damaged pack (it is repair's to remove); repair packs removes it, and the first
    // point is whole again: every chunk it needs now has an intact copy.
    const repair = await fx.az(['repair', 'packs']);
    expect(repair.code, repair.stdout).toBe(0);
    expect(resultOf(repair, 'RepairResult')).toMatchObject({ packsRepaired: 1, packsDeleted: 1, blobsLost: 0, pointsRepaired: 0 });
    expect(existsIn(fx, dataPack)).toBe(false);
    expect(listTree(fx.vault).some((l) => l.includes('/damage/'))).toBe(false);
    const healthy = await fx.az(['check', '--read-data']);
    expect(healthy.code, healthy.stdout).toBe(0);
    const points = items(await fx.az(['points'])).map((p) => ({ id: String(p['pointId']), time: String(p['time']) }));
    expect(points).toHaveLength(3);
    const before = points.filter((p) => p.id !== newPoint).sort((a, b) => a.time.localeCompare(b.time)).at(-1)!;
    const r0 = await fx.az(['restore', before.id, '--target', join(fx.root, 'r0')]);
    expect(r0.code, r0.stdout).toBe(0);
    expect(sha(readFileSync(join(fx.root, 'r0', src, 'big.bin')))).toBe(sha(big));
  });
});

function existsIn(fx: VaultFixture, name: string): boolean {
  return listTree(fx.vault).some((l) => l.split(':')[0] === name);
}

describe('repair', () => {
  it.each([
    ['four bytes flipped in a blob', (p: string, size: number) => { void size; flip(p, 40); }, true],
    ['the pack cut short', (p: string) => truncateSync(p, 1000), false],
    ['the pack missing', (p: string) => unlinkSync(p), false],
  ])('a data pack with %s and the source gone: the point is rewritten with the file marked, restore names it, check is clean', async (_what, damage, readData) => {
    const { fx, src, small } = await backedUp();
    const dataPack = packs(fx)[0]!;
    damage(join(fx.vault, dataPack.name), dataPack.size);
    rmSync(src, { recursive: true }); // nothing to back up again
    const check = await fx.az(['check', ...(readData ? ['--read-data'] : [])]);
    expect(check.code).toBe(4);
    expect(resultOf(check, 'CheckResult')['damageRecorded']).toMatch(/^[0-9a-f]{64}$/);

    const before = listTree(fx.vault);
    const dry = await fx.az(['repair', '--dry-run']);
    expect(dry.code, dry.stdout).toBe(3);
    expect(resultOf(dry, 'RepairResult')).toMatchObject({ dryRun: true, pointsRepaired: 1, filesDamaged: 1 });
    expect(listTree(fx.vault)).toEqual(before); // a dry run writes nothing

    const repair = await fx.az(['repair']);
    expect(repair.code, repair.stdout).toBe(3);
    expect(codes(repair, 'warning')).toContain('AZB_REPAIR_DATA_LOST');
    const stats = resultOf(repair, 'RepairResult');
    expect(stats).toMatchObject({ parts: ['index', 'packs', 'points'], pointsRepaired: 1, filesDamaged: 1, treesLost: 0 });
    expect(Number(stats['bytesLost'])).toBeGreaterThan(0);
    const marked = items(repair).filter((i) => i['path'] === join(src, 'big.bin'));
    expect(marked).toHaveLength(1);
    expect(marked[0]).toMatchObject({ size: 20_000_000 });

    // One point, tagged and naming the one it replaced; check (read-data) is clean and counts the file.
    // The latest point is replaced (the first one never held big.bin): tagged, naming the one it replaced.
    const points = items(await fx.az(['points']));
    expect(points).toHaveLength(2);
    expect(points.filter((p) => (p['tags'] as string[]).includes('repaired'))).toHaveLength(1);
    const clean = await fx.az(['check', '--read-data']);
    expect(clean.code, clean.stdout).toBe(0);
    expect(resultOf(clean, 'CheckResult')).toMatchObject({ problems: 0, filesDamaged: 1 });

    // Restore: the intact file whole, the damaged one with what remained, named in a warning.
    const r = await restoreLatest(fx, join(fx.root, 'r'));
    expect(r.code, r.stdout).toBe(3);
    const w = r.events.find((e) => e.type === 'warning' && (e as { code: string }).code === 'AZB_RESTORE_FILE_DAMAGED') as { message: string } | undefined;
    expect(w?.message).toContain('big.bin');
    expect(readFileSync(join(fx.root, 'r', src, 'sub', 'small.txt')).equals(small)).toBe(true);
    expect(readFileSync(join(fx.root, 'r', src, 'big.bin')).length).toBe(Number(marked[0]!['remainingBytes']));
    // Prune runs again (nothing references lost data any more).
    const prune = await fx.az(['prune']);
    expect(prune.code, prune.stdout).toBe(0);
    // A second repair finds nothing to do.
    const again = await fx.az(['repair']);
    expect(again.code, again.stdout).toBe(0);
    expect(resultOf(again, 'RepairResult')).toMatchObject({ packsRepaired: 0, pointsRepaired: 0 });
  });

  it.each([['flipped', true], ['deleted', false]])('an index file %s: repair index rebuilds it from the pack footers', async (_what, flipIt) => {
    const { fx, src, big } = await backedUp();
    const indexes = listTree(fx.vault).map((l) => l.split(':')[0]!).filter((n) => n.includes('/index/'));
    for (const i of indexes) { if (flipIt) flip(join(fx.vault, i), 30, 1); else unlinkSync(join(fx.vault, i)); }
    const repair = await fx.az(['repair', 'index']);
    expect(repair.code, repair.stdout).toBe(0);
    expect(resultOf(repair, 'RepairResult')).toMatchObject({ parts: ['index'], packsIndexed: packs(fx).length, indexFilesReplaced: flipIt ? indexes.length : 0 });
    const after = listTree(fx.vault).map((l) => l.split(':')[0]!).filter((n) => n.includes('/index/'));
    expect(after).toHaveLength(1);
    expect(after.some((n) => indexes.includes(n))).toBe(false);
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    const r = await restoreLatest(fx, join(fx.root, 'r'));
    expect(r.code, r.stdout).toBe(0);
    expect(sha(readFileSync(join(fx.root, 'r', src, 'big.bin')))).toBe(sha(big));
  });

  it('a pack of trees damaged: repair marks the lost folders; a point that cannot be read is left to forget', async () => {
    const { fx, src } = await backedUp();
    // A new empty folder and an empty file add trees and no data: that backup's pack holds trees only.
    const known = new Set(packs(fx).map((p) => p.name));
    mkdirSync(join(src, 'new', 'deeper'), { recursive: true });
    writeFileSync(join(src, 'new', 'deeper', 'empty'), '');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const treePack = packs(fx).find((p) => !known.has(p.name))!;
    flip(join(fx.vault, treePack.name), 40);
    expect((await fx.az(['check', '--read-data'])).code).toBe(4);
    const repair = await fx.az(['repair']);
    expect(repair.code, repair.stdout).toBe(3);
    expect(Number(resultOf(repair, 'RepairResult')['treesLost'])).toBeGreaterThan(0);
    expect(items(repair).some((i) => i['lostTree'] === true)).toBe(true);
    expect((await fx.az(['check', '--read-data'])).code).toBe(0);
    void src;

    // A recovery point object itself damaged: repair cannot rewrite it and says what to do.
    const point = listTree(fx.vault).map((l) => l.split(':')[0]!).find((n) => n.includes('/points/'))!;
    flip(join(fx.vault, point), 60, 1);
    const again = await fx.az(['repair', 'points']);
    expect(again.code, again.stdout).toBe(3);
    const w = again.events.find((e) => e.type === 'warning' && (e as { code: string }).code === 'AZB_POINT_DAMAGED') as { message: string } | undefined;
    expect(w?.message).toMatch(/forget --permanent/);
  });

  it('refuses what it cannot do with a clear error', async () => {
    const { fx } = await backedUp();
    const bad = await fx.az(['repair', 'everything']);
    expect(bad.code).toBe(2);
    const wrong = await fx.az(['repair'], { env: { AZBACKUP_PASSPHRASE: 'not the passphrase' } });
    expect(wrong.code).toBe(1);
    expect(codes(wrong, 'error')[0]).toMatch(/^AZB_PASSPHRASE/);
    // A repair is a job, even when it failed at once.
    const jobs = items(await fx.az(['jobs', '--previous', '1']));
    expect(jobs[0]).toMatchObject({ operation: 'Repair', status: 'Failed' });
    void readdirSync;
  });
});
