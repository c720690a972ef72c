// The short-term retention plan of a protection group (per data source: the retention range counted back
// from its newest point, at most 64 points of a Files source), when the online copy is due, and the tar
// command a Files data source runs on its member (run against the real GNU tar here).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateShortTerm, type DataSource, type ProtectionGroup } from '../../core/group/group.js';
import { groupPointsToExpire } from '../../core/group/retention.js';
import { onlineDue, tarArguments } from '../../core/group/run.js';
import type { RecoveryPoint } from '../../core/repo/server.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
let n = 0;
function point(minutesAgo: number, extra: { dataSource?: string; protectionGroup?: string } = {}): RecoveryPoint {
  const id = (n++).toString(16).padStart(64, '0');
  return { id, manifest: { version: 2, serverId: 's', hostname: 'h', time: new Date(T0 - minutesAgo * 60_000).toISOString(), sources: ['/'], tree: 't', parent: null, tags: [], stats: { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 }, ...extra } } as unknown as RecoveryPoint;
}

const files: DataSource = { name: 'web01:/srv', member: 'web01', kind: 'Files', path: '/srv', added: '' };
const dump: DataSource = { name: 'db01:shop.sql', member: 'db01', kind: 'Stream', command: 'pg_dump', streamName: 'shop.sql', added: '' };
function group(days: number, sources: DataSource[] = [files, dump]): ProtectionGroup {
  return { name: 'g1', vault: '/v', dataSources: sources, shortTerm: validateShortTerm({ retentionRangeDays: days }), state: 'Active', created: '' };
}

describe('groupPointsToExpire', () => {
  it('keeps the 64 newest points of a Files source and expires the rest, however young', () => {
    const pts = Array.from({ length: 66 }, (_, i) => point(i, { dataSource: files.name }));
    const plan = groupPointsToExpire(pts, group(448));
    expect(plan.expire.map((p) => p.id)).toEqual([pts[64]!.id, pts[65]!.id]);
    expect(plan.kept.get(files.name)).toBe(64);
    // Exactly 64: nothing expires.
    expect(groupPointsToExpire(pts.slice(0, 64), group(448)).expire).toEqual([]);
  });

  it('has no point cap for a Stream source, only the retention range', () => {
    const pts = Array.from({ length: 100 }, (_, i) => point(i, { dataSource: dump.name }));
    expect(groupPointsToExpire(pts, group(1)).expire).toEqual([]);
  });

  it('counts the range back from the data source\'s newest point, each data source on its own', () => {
    const day = 1440;
    // The dump's newest point is 20 days old (its member stopped answering): its last 3 days stay.
    const d = [point(20 * day, { dataSource: dump.name }), point(22 * day, { dataSource: dump.name }), point(23 * day + 1, { dataSource: dump.name })];
    const f = [point(0, { dataSource: files.name }), point(3 * day, { dataSource: files.name }), point(3 * day + 1, { dataSource: files.name })];
    const plan = groupPointsToExpire([...d, ...f], group(3));
    expect(plan.expire.map((p) => p.id).sort()).toEqual([d[2]!.id, f[2]!.id].sort());
    expect(plan.kept.get(dump.name)).toBe(2);
    expect(plan.kept.get(files.name)).toBe(2);
  });

  it('never plans points of other data sources, of no data source, or of data sources not run', () => {
    const others = [point(9999, { dataSource: 'gone01:/srv', protectionGroup: 'g1' }), point(9999), point(9999, { protectionGroup: 'g1' })];
    const mine = [point(0, { dataSource: dump.name }), point(99_999, { dataSource: dump.name })];
    expect(groupPointsToExpire([...others, ...mine], group(1)).expire.map((p) => p.id)).toEqual([mine[1]!.id]);
    expect(groupPointsToExpire([...others, ...mine], group(1), new Set([files.name])).expire).toEqual([]);
  });
});

describe('onlineDue', () => {
  const online = { vault: 'https://a.blob.core.windows.net/v', vaultId: 'x', retentionDays: 30, maxPoints: 120, maxSizeGB: 850, timesOfDay: ['09:00', '21:00'], enabled: '' };
  const g = { ...group(5), online };
  const at = (h: number, m = 0) => new Date(2026, 5, 1, h, m);
  it('is due once after each online time of day has passed, until a copy succeeds', () => {
    expect(onlineDue(g, { dataSources: {} }, at(10))).toBe(true);
    expect(onlineDue(g, { dataSources: {}, lastOnlineCopy: at(9, 30).toISOString() }, at(10))).toBe(false);
    expect(onlineDue(g, { dataSources: {}, lastOnlineCopy: at(9, 30).toISOString() }, at(21, 1))).toBe(true);
    // Before 09:00 the latest time passed is yesterday's 21:00.
    expect(onlineDue(g, { dataSources: {}, lastOnlineCopy: new Date(2026, 4, 31, 22).toISOString() }, at(8))).toBe(false);
    expect(onlineDue(g, { dataSources: {}, lastOnlineCopy: new Date(2026, 4, 31, 20).toISOString() }, at(8))).toBe(true);
  });
  it('is never due without online protection', () => {
    expect(onlineDue(group(5), { dataSources: {} }, at(23))).toBe(false);
  });
});

describe('tarArguments', () => {
  it('archives the path with names relative to / (what the tar import places below its root)', () => {
    const dir = tempDir('azb-group-tar-');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.txt'), 'a');
    symlinkSync('sub/a.txt', join(dir, 'link'));
    const argv = tarArguments(dir);
    const made = spawnSync(argv[0]!, argv.slice(1), { maxBuffer: 1 << 24 });
    expect(made.status, made.stderr.toString()).toBe(0);
    const listed = spawnSync('tar', ['-tf', '-'], { input: made.stdout, encoding: 'utf8' }).stdout.trim().split('\n').sort();
    const rel = dir.slice(1);
    expect(listed).toEqual([`${rel}/`, `${rel}/link`, `${rel}/sub/`, `${rel}/sub/a.txt`]);
    expect(tarArguments('/').at(-1)).toBe('.');
  });
});
