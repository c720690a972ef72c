// Soft delete through the built engine (FORMAT.md section 10, "Soft delete: point states"): a forgotten
// point is hidden but kept for 14 days, can be brought back, and is deleted by the first prune after
// its 14 days; its state objects are sealed, and damage to them errs on the side of keeping data.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planPurge, type PointState } from '../../core/repo/point-states.js';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => ({ env: { AZBACKUP_TEST_NOW: new Date(ms).toISOString() } });
const packBytes = (vault: string) => listTree(vault).filter((l) => l.includes('/packs/')).reduce((n, l) => n + Number(l.split(':')[1]), 0);
const items = (r: EngineRun) => r.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
const stateFiles = (fx: VaultFixture) => listTree(fx.vault).filter((l) => l.includes('/point-states/')).map((l) => l.split(':')[0]!);

/** A server with two points: `old` (a file only it holds) and `newer`; returns their IDs. */
async function twoPoints(): Promise<{ fx: VaultFixture; src: string; old: string; newer: string; oldOnly: Buffer }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(src);
  const oldOnly = randomBytes(2 * 1024 * 1024);
  writeFileSync(join(src, 'old-only.bin'), oldOnly);
  writeFileSync(join(src, 'shared.txt'), 'kept by both points');
  const old = String(resultOf(await fx.az(['backup', src], at(T0)), 'RecoveryPoint')['pointId']);
  rmSync(join(src, 'old-only.bin'));
  const newer = String(resultOf(await fx.az(['backup', src], at(T0 + DAY)), 'RecoveryPoint')['pointId']);
  return { fx, src, old, newer, oldOnly };
}

describe('soft delete of recovery points', () => {
  it('hides a forgotten point, keeps its data for 14 days, and brings it back intact', async () => {
    const { fx, old, newer, oldOnly } = await twoPoints();
    const deletedAt = T0 + 2 * DAY;
    const removed = await fx.az(['forget', old], at(deletedAt));
    expect(removed.code, removed.stdout).toBe(0);
    const r = resultOf(removed, 'RemovedRecoveryPoint');
    expect(r).toMatchObject({ pointId: old, purgeAfter: new Date(deletedAt + 14 * DAY).toISOString() });
    expect(r['permanent']).toBeUndefined();

    expect(items(await fx.az(['points'], at(deletedAt))).map((p) => p['pointId'])).toEqual([newer]);
    const listed = items(await fx.az(['points', '--deleted'], at(deletedAt)));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ pointId: old, deletedAt: new Date(deletedAt).toISOString(), purgeAfter: new Date(deletedAt + 14 * DAY).toISOString() });
    expect(String(listed[0]!['deleteReason'])).toMatch(/^removed by .+ on .+/);

    // While deleted it is not used: not by ID (the error says how to bring it back), not as latest.
    for (const args of [['restore', old.slice(0, 10), '--target', join(fx.root, 'r0')], ['ls', old]]) {
      const e = onlyError(await fx.az(args, at(deletedAt)));
      expect(e.code).toBe('AZB_POINT_DELETED');
      expect(e.message).toContain(new Date(deletedAt + 14 * DAY).toISOString());
      expect(e.hint).toContain(`Restore-AzRecoveryPoint -PointId ${old.slice(0, 12)}`);
    }
    // Forgetting it again restarts nothing.
    const again = await fx.az(['forget', old], at(deletedAt + 3 * DAY));
    expect(resultOf(again, 'RemovedRecoveryPoint')['purgeAfter']).toBe(new Date(deletedAt + 14 * DAY).toISOString());
    expect(stateFiles(fx)).toHaveLength(1);

    // Prune inside the 14 days (one millisecond before they end) keeps everything the point needs.
    const before = packBytes(fx.vault);
    const pruned = await fx.az(['prune'], at(deletedAt + 14 * DAY - 1));
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ points: 2, pointsPurged: 0, pointsRecoverable: 1, packsDeleted: 0 });
    expect(packBytes(fx.vault)).toBe(before);

    const back = await fx.az(['undelete', old.slice(0, 8)], at(deletedAt + 5 * DAY));
    expect(back.code, back.stdout).toBe(0);
    expect(resultOf(back, 'RecoveryPoint')).toMatchObject({ pointId: old, restoredAt: new Date(deletedAt + 5 * DAY).toISOString() });
    expect(stateFiles(fx)).toHaveLength(1); // the 'deleted' state is replaced, not added to
    expect(items(await fx.az(['points'])).map((p) => p['pointId'])).toEqual([old, newer]);
    expect(items(await fx.az(['points', '--deleted']))).toEqual([]);
    const target = join(fx.root, 'r1');
    expect((await fx.az(['restore', old, '--target', target])).code).toBe(0);
    expect(readFileSync(join(target, fx.root, 'src', 'old-only.bin')).equals(oldOnly)).toBe(true);
    // Undelete of a live point changes nothing and says so.
    const noop = await fx.az(['undelete', newer]);
    expect(noop.code).toBe(0);
    expect(resultOf(noop, 'RecoveryPoint')['restoredAt']).toBeUndefined();
    expect(noop.stdout).toContain('is not deleted');
  });

  it('prune deletes the point and its data from the moment its 14 days are over; it cannot be brought back after', async () => {
    const { fx, old, newer } = await twoPoints();
    const deletedAt = T0 + 2 * DAY;
    expect((await fx.az(['forget', old], at(deletedAt))).code).toBe(0);
    const before = packBytes(fx.vault);
    const dry = resultOf(await fx.az(['prune', '--dry-run'], at(deletedAt + 14 * DAY)), 'PruneResult');
    expect(dry).toMatchObject({ dryRun: true, points: 1, pointsPurged: 1, pointsRecoverable: 0 });
    expect(Number(dry['bytesFreed'])).toBeGreaterThan(1024 * 1024);
    expect(items(await fx.az(['points', '--deleted'])).map((p) => p['pointId'])).toEqual([old]);

    const pruned = await fx.az(['prune'], at(deletedAt + 14 * DAY));
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ points: 1, pointsPurged: 1, pointsRecoverable: 0 });
    expect(packBytes(fx.vault)).toBeLessThan(before - 1024 * 1024);
    expect(listTree(fx.vault).some((l) => l.includes(`/points/${old}`))).toBe(false);
    expect(stateFiles(fx)).toEqual([]);
    expect(onlyError(await fx.az(['undelete', old])).code).toBe('AZB_POINT_NOT_FOUND');
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    expect(items(await fx.az(['points'])).map((p) => p['pointId'])).toEqual([newer]);
  });

  it('moves latest back when the newest point is deleted, raises no rollback alarm, and forward again when it is brought back', async () => {
    const { fx, old, newer } = await twoPoints();
    expect((await fx.az(['forget', 'latest'], at(T0 + 2 * DAY))).code).toBe(0);
    const ls = await fx.az(['ls', 'latest']);
    expect(ls.code, ls.stdout).toBe(0);
    expect(items(ls)[0]!['pointId']).toBe(old);
    const pts = await fx.az(['points']);
    expect(pts.events.some((e) => e.type === 'warning')).toBe(false);
    expect((await fx.az(['undelete', newer])).code).toBe(0);
    expect(items(await fx.az(['ls', 'latest']))[0]!['pointId']).toBe(newer);
    // Deleted again and purged: still no alarm, since this server deleted it.
    expect((await fx.az(['forget', newer], at(T0 + 3 * DAY))).code).toBe(0);
    expect((await fx.az(['prune'], at(T0 + 20 * DAY))).code).toBe(0);
    const after = await fx.az(['points']);
    expect(after.code, after.stdout).toBe(0);
    expect(after.events.filter((e) => e.type === 'warning')).toEqual([]);
  });

  it('--permanent deletes at once, a live or a soft-deleted point, with its state objects', async () => {
    const { fx, old, newer } = await twoPoints();
    expect((await fx.az(['forget', old])).code).toBe(0);
    expect(stateFiles(fx)).toHaveLength(1);
    const gone = await fx.az(['forget', '--permanent', old]);
    expect(resultOf(gone, 'RemovedRecoveryPoint')).toMatchObject({ pointId: old, permanent: true });
    expect(resultOf(gone, 'RemovedRecoveryPoint')['purgeAfter']).toBeUndefined();
    expect(stateFiles(fx)).toEqual([]);
    expect(items(await fx.az(['points', '--deleted']))).toEqual([]);
    expect(resultOf(await fx.az(['forget', '--permanent', newer]), 'RemovedRecoveryPoint')).toMatchObject({ permanent: true });
    expect(resultOf(await fx.az(['prune']), 'PruneResult')).toMatchObject({ points: 0, packsKept: 0 });
  });

  it('a damaged or moved state object makes its point count as live: never purged, reported by check, replaced by undelete', async () => {
    const { fx, old, newer } = await twoPoints();
    expect((await fx.az(['forget', old])).code).toBe(0);
    const [state] = stateFiles(fx);
    const file = join(fx.vault, state!);
    // Moved under another name: its storage ID no longer matches.
    const moved = join(fx.vault, state!.replace(/[0-9a-f]{64}$/, 'ab'.repeat(32)));
    renameSync(file, moved);
    const pts = await fx.az(['points']);
    expect(pts.code).toBe(3);
    expect(pts.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_OBJECT_DAMAGED' });
    expect(items(pts).map((p) => p['pointId'])).toEqual([old, newer]);
    // Moved into another point's folder: it names another point, so it is damaged there.
    const elsewhere = join(fx.vault, state!.replace(old, newer));
    mkdirSync(join(elsewhere, '..'), { recursive: true });
    renameSync(moved, elsewhere);
    expect(items(await fx.az(['points'])).map((p) => p['pointId'])).toEqual([old, newer]);
    renameSync(elsewhere, file);
    rmSync(join(elsewhere, '..'), { recursive: true });
    expect(items(await fx.az(['points', '--deleted'])).map((p) => p['pointId'])).toEqual([old]);
    // Flipped bits in place: the same.
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0x40;
    writeFileSync(file, bytes);
    expect(items(await fx.az(['points'])).map((p) => p['pointId'])).toEqual([old, newer]);
    const check = await fx.az(['check']);
    expect(check.code).toBe(4);
    const problems = items(check);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatchObject({ object: expect.stringContaining(`/point-states/${old}/`), affectedPoints: [old], problem: expect.stringContaining('never purged') });
    // Prune, long after the deletion, keeps the point and its damaged record.
    const pruned = await fx.az(['prune'], at(T0 + 60 * DAY));
    expect(pruned.code).toBe(3);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ points: 2, pointsPurged: 0, pointsRecoverable: 0 });
    expect(stateFiles(fx).length).toBeGreaterThan(0);
    // Bringing it back replaces the damaged record with a readable one.
    const back = await fx.az(['undelete', old]);
    expect(back.code, back.stdout).toBe(3); // the damaged record is named on the way
    expect(resultOf(back, 'RecoveryPoint')).toMatchObject({ pointId: old, restoredAt: expect.any(String) });
    expect(stateFiles(fx)).toHaveLength(1);
    expect((await fx.az(['check', '--read-data'])).code).toBe(0);
  });

  it('a restored point whose newest record is lost is not purged when an older deletion record is put back', async () => {
    const { fx, old } = await twoPoints();
    expect((await fx.az(['forget', old], at(T0 + 2 * DAY))).code).toBe(0);
    const deletedRecord = stateFiles(fx)[0]!;
    const kept = readFileSync(join(fx.vault, deletedRecord));
    expect((await fx.az(['undelete', old], at(T0 + 3 * DAY))).code).toBe(0);
    // Someone with write access puts the old 'deleted' record back and spoils the 'restored' one.
    const restoredRecord = stateFiles(fx)[0]!;
    writeFileSync(join(fx.vault, deletedRecord), kept);
    writeFileSync(join(fx.vault, restoredRecord), Buffer.from('spoiled'));
    const pruned = await fx.az(['prune'], at(T0 + 60 * DAY));
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ points: 2, pointsPurged: 0 });
    expect(listTree(fx.vault).some((l) => l.includes(`/points/${old}`))).toBe(true);
  });

  it('a deletion record never predates the record it replaces, whatever the clock says', async () => {
    const { fx, old } = await twoPoints();
    expect((await fx.az(['forget', old], at(T0 + 5 * DAY))).code).toBe(0);
    // Brought back from a machine whose clock is two days behind: still the newer record.
    const back = await fx.az(['undelete', old], at(T0 + 3 * DAY));
    expect(resultOf(back, 'RecoveryPoint')['restoredAt']).toBe(new Date(T0 + 5 * DAY + 1).toISOString());
    expect(items(await fx.az(['points'])).map((p) => p['pointId'])).toContain(old);
  });

  it('prune removes the state objects of a point that no longer exists', async () => {
    const { fx, old } = await twoPoints();
    expect((await fx.az(['forget', old])).code).toBe(0);
    // A point deleted outside AzBackup (its object gone) leaves a stray state object.
    rmSync(join(fx.vault, listTree(fx.vault).find((l) => l.includes(`/points/${old}`))!.split(':')[0]!));
    const pruned = await fx.az(['prune']);
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(resultOf(pruned, 'PruneResult')).toMatchObject({ points: 1, pointsPurged: 0, pointsRecoverable: 0 });
    expect(stateFiles(fx)).toEqual([]);
  });
});

describe('planPurge', () => {
  const state = (pointId: string, s: PointState['state'], time: number): PointState => ({ pointId, state: s, time: new Date(time).toISOString(), reason: 'test', objects: [`obj-${pointId}`] });
  const a = 'a'.repeat(64); const b = 'b'.repeat(64); const c = 'c'.repeat(64); const gone = 'd'.repeat(64);
  const states = new Map([[a, state(a, 'deleted', T0)], [b, state(b, 'restored', T0)], [c, state(c, 'deleted', T0 + DAY)], [gone, state(gone, 'deleted', T0)]]);

  it('purges a deleted point at exactly 14 days, not a millisecond before; never a restored one', () => {
    const before = planPurge(states, [a, b, c], new Date(T0 + 14 * DAY - 1));
    expect(before.expired.map((s) => s.pointId)).toEqual([]);
    expect(before.recoverable.map((s) => s.pointId)).toEqual([a, c]);
    const atLimit = planPurge(states, [a, b, c], new Date(T0 + 14 * DAY));
    expect(atLimit.expired.map((s) => s.pointId)).toEqual([a]);
    expect(atLimit.recoverable.map((s) => s.pointId)).toEqual([c]);
    expect(planPurge(states, [a, b, c], new Date(T0 + 1000 * DAY)).expired.map((s) => s.pointId)).toEqual([a, c]);
  });

  it('names the state objects of points that are gone as stray; never purges a point whose state is unknown', () => {
    const unknown = 'e'.repeat(64);
    const withUnknown = new Map([...states, [unknown, { ...state(unknown, 'unknown', T0), time: '' }]]);
    const plan = planPurge(withUnknown, [a, b, c, unknown], new Date(T0 + 1000 * DAY));
    expect(plan.stray).toEqual([{ pointId: gone, objects: [`obj-${gone}`] }]);
    expect([...plan.expired, ...plan.recoverable].map((s) => s.pointId)).not.toContain(unknown);
  });
});
