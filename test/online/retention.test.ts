// Online retention's plan (core/online/retention.ts): per data source, counted back from its newest
// online point, by days and by the number of points; other data sources and points of none untouched.
import { describe, expect, it } from 'vitest';
import { planOnlineRetention, type OnlinePointTime } from '../../core/online/retention.js';

const DAY = 86_400_000;
const base = Date.parse('2026-12-01T21:00:00.000Z');
const point = (id: string, daysAgo: number, dataSource?: string, restored = false): OnlinePointTime => ({ id, time: new Date(base - daysAgo * DAY).toISOString(), dataSource, restored });

describe('planOnlineRetention', () => {
  const points = [
    point('a-30', 30, 'A'), point('a-10', 10, 'A'), point('a-7', 7, 'A'), point('a-1', 1, 'A'),
    point('b-50', 50, 'B'), point('b-40', 40, 'B'),
    point('plain', 90), point('c-60', 60, 'C'),
  ];

  it('expires points more than retentionDays before the data source\'s newest point (exactly that old is kept)', () => {
    const plan = planOnlineRetention(points, ['A', 'B'], { retentionDays: 6, maxPoints: 120 });
    // A's newest is 1 day ago: 7 days ago is 6 days before it (kept), 10 and 30 are past; B's 50 is 10 days before its 40.
    expect([...plan.keys()].sort()).toEqual(['a-10', 'a-30', 'b-50']);
    expect(plan.get('a-10')).toMatch(/older than the 6 days of online retention of A/);
  });

  it('counts days from the newest online point, not from today: a data source that stopped keeps its last points', () => {
    // B's newest is 40 days old; 50 is 10 days before it.
    expect([...planOnlineRetention(points, ['B'], { retentionDays: 20, maxPoints: 120 }).keys()]).toEqual([]);
    expect([...planOnlineRetention(points, ['B'], { retentionDays: 5, maxPoints: 120 }).keys()]).toEqual(['b-50']);
  });

  it('keeps at most maxPoints newest per data source', () => {
    const plan = planOnlineRetention(points, ['A', 'B'], { retentionDays: 120, maxPoints: 2 });
    expect([...plan.keys()].sort()).toEqual(['a-10', 'a-30']);
    expect(plan.get('a-30')).toMatch(/beyond the 2 newest online points of A/);
    expect([...planOnlineRetention(points, ['A'], { retentionDays: 120, maxPoints: 1 }).keys()].sort()).toEqual(['a-10', 'a-30', 'a-7']);
  });

  it('never touches other data sources, points of no data source, or points brought back by undelete', () => {
    const plan = planOnlineRetention([...points, point('a-20r', 20, 'A', true)], ['A'], { retentionDays: 1, maxPoints: 1 });
    expect([...plan.keys()].sort()).toEqual(['a-10', 'a-30', 'a-7']);
    expect(planOnlineRetention(points, [], { retentionDays: 1, maxPoints: 1 }).size).toBe(0);
  });
});
