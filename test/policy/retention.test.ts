// Retention: calendar buckets in local time, the newest point of each bucket, anchored on the newest point.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAYS_OF_WEEK, type Retention, type Schedule } from '../../core/policy/policy.js';
import { planRetention, type PointTime } from '../../core/policy/retention.js';

const UTC = { timeZone: 'UTC' };
const everyDay: Schedule = { daysOfWeek: [...DAYS_OF_WEEK], timesOfDay: ['09:00', '21:00'], weeklyFrequency: 1 };

/** Points at the given UTC times, named by their time. */
function at(...times: string[]): PointTime[] {
  return times.map((t) => ({ id: t, time: new Date(t).toISOString() }));
}

/** Points twice a day (09:00 and 21:00 UTC, plus `lateMinutes`) for `days` days up to `last` (YYYY-MM-DD). */
function twiceDaily(last: string, days: number, lateMinutes = 0): PointTime[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  const out: PointTime[] = [];
  for (let d = days - 1; d >= 0; d--) {
    for (const h of [9, 21]) {
      const t = new Date(end - d * 86_400_000 + h * 3_600_000 + lateMinutes * 60_000).toISOString();
      out.push({ id: t, time: t });
    }
  }
  return out;
}

const kept = (plan: ReturnType<typeof planRetention>) => [...plan.keep.keys()].sort();

describe('planRetention', () => {
  it('keeps the newest point of each of the last N days, counted back from the newest point', () => {
    const points = twiceDaily('2026-06-30', 20);
    const plan = planRetention(points, everyDay, { days: 7 }, UTC);
    expect(kept(plan)).toEqual([...['24', '25', '26', '27', '28', '29', '30'].map((d) => `2026-06-${d}T21:00:00.000Z`), '2026-06-30T09:00:00.000Z'].sort());
    expect(plan.keep.get('2026-06-30T21:00:00.000Z')).toEqual(['newest', 'daily']);
    expect(plan.expire).toHaveLength(40 - 8);
    expect(plan.keep.get('2026-06-30T09:00:00.000Z')).toEqual(['recent']); // within 24 hours of the newest
    expect(plan.expire[0]!.id).toBe('2026-06-11T09:00:00.000Z'); // oldest first
  });

  it('expires nothing more when backups stop: the anchor is the newest point, not the clock', () => {
    const points = twiceDaily('2025-01-10', 10);
    const plan = planRetention(points, everyDay, { days: 30 }, UTC);
    // Only the 09:00 points of the first nine days go: none by age, though the last is long ago.
    expect(plan.expire.map((p) => p.id)).toEqual(points.filter((p, i) => i % 2 === 0 && i < 18).map((p) => p.id));
  });

  it('keeps the weekly point taken on the tier\'s day and time, and the newest of a week whose run was missed', () => {
    const schedule: Schedule = { daysOfWeek: ['Sunday', 'Wednesday'], timesOfDay: ['09:00', '21:00'], weeklyFrequency: 1 };
    // Sundays 2026-06-07, 14, 21, 28; Wednesdays 3, 10, 17, 24. The Sunday 21:00 run of the 14th failed.
    const points = at(
      '2026-06-03T09:00Z', '2026-06-03T21:00Z', '2026-06-07T09:00Z', '2026-06-07T21:04Z',
      '2026-06-10T09:00Z', '2026-06-10T21:00Z', '2026-06-14T09:00Z',
      '2026-06-17T09:00Z', '2026-06-17T21:00Z', '2026-06-21T09:00Z', '2026-06-21T21:00Z',
      '2026-06-24T09:00Z', '2026-06-24T21:00Z',
    );
    const retention: Retention = { days: 1, weekly: { weeks: 4, daysOfWeek: ['Sunday'], timesOfDay: ['21:00'] } };
    const plan = planRetention(points, schedule, retention, UTC);
    const weekly = [...plan.keep].filter(([, why]) => why.includes('weekly')).map(([id]) => id).sort();
    expect(weekly).toEqual([
      '2026-06-07T21:04Z', // late by a randomized delay: still the 21:00 run
      '2026-06-14T09:00Z', // no 21:00 point that week: the newest of the week
      '2026-06-21T21:00Z',
      '2026-06-24T21:00Z', // the anchor's week has no Sunday yet: its newest
    ].map((t) => new Date(t).toISOString()).map((t) => points.find((p) => p.time === t)!.id));
    // The week of 1 June is the fifth week back: out of range.
    expect(plan.keep.has('2026-06-03T21:00Z')).toBe(false);
  });

  it('keeps monthly points of the last day of the month, February included', () => {
    const schedule: Schedule = { daysOfWeek: [...DAYS_OF_WEEK], timesOfDay: ['21:00'], weeklyFrequency: 1 };
    const points = at('2026-01-30T21:00Z', '2026-01-31T21:00Z', '2026-02-27T21:00Z', '2026-02-28T21:00Z', '2026-03-01T21:00Z', '2026-03-15T21:00Z');
    const plan = planRetention(points, schedule, { days: 1, monthly: { months: 3, daysOfMonth: [0], timesOfDay: ['21:00'] } }, UTC);
    expect(kept(plan)).toEqual(['2026-01-31T21:00Z', '2026-02-28T21:00Z', '2026-03-15T21:00Z']);
  });

  it('keeps yearly points of the chosen month and day for N years back', () => {
    const schedule: Schedule = { daysOfWeek: [...DAYS_OF_WEEK], timesOfDay: ['21:00'], weeklyFrequency: 1 };
    const points = at('2022-12-31T21:00Z', '2023-12-30T21:00Z', '2023-12-31T21:00Z', '2024-06-01T21:00Z', '2024-12-31T21:00Z', '2025-03-01T21:00Z');
    const plan = planRetention(points, schedule, { days: 1, yearly: { years: 3, monthsOfYear: ['December'], daysOfMonth: [0], timesOfDay: ['21:00'] } }, UTC);
    expect(kept(plan)).toEqual(['2023-12-31T21:00Z', '2024-12-31T21:00Z', '2025-03-01T21:00Z']);
  });

  it('buckets by the local calendar: across the spring daylight-saving change in Berlin', () => {
    // 2026-03-29 02:00 CET becomes 03:00 CEST. 23:30Z on the 28th is 00:30 on the 29th in Berlin.
    const points = at('2026-03-28T20:00Z', '2026-03-28T23:30Z', '2026-03-30T21:30Z');
    const plan = planRetention(points, everyDay, { days: 2 }, { timeZone: 'Europe/Berlin' });
    expect(kept(plan)).toEqual(['2026-03-28T23:30Z', '2026-03-30T21:30Z']);
    // In UTC the same point falls on the 28th, out of the last two days.
    const utc = planRetention(points, everyDay, { days: 2 }, UTC);
    expect(kept(utc)).toEqual(['2026-03-30T21:30Z']);
  });

  it('keeps nothing extra for an empty list, and always the newest point', () => {
    expect(planRetention([], everyDay, { days: 1 }, UTC).expire).toEqual([]);
    const one = at('2026-01-01T00:00Z');
    expect(kept(planRetention(one, everyDay, { days: 1 }, UTC))).toEqual(['2026-01-01T00:00Z']);
  });

  it('holds its invariants for any points and tiers (seeded)', () => {
    const day = fc.constantFrom(...DAYS_OF_WEEK);
    fc.assert(fc.property(
      fc.array(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2027, 0, 1) }), { maxLength: 300 }),
      fc.integer({ min: 1, max: 30 }), fc.option(fc.integer({ min: 1, max: 60 })), fc.option(fc.integer({ min: 1, max: 30 })), fc.option(fc.integer({ min: 1, max: 5 })),
      fc.uniqueArray(day, { minLength: 1, maxLength: 7 }),
      fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'),
      (times, days, weeks, months, years, weekDays, timeZone) => {
        const points = times.map((ms, i) => ({ id: `p${i}`, time: new Date(ms).toISOString() }));
        const retention: Retention = {
          days,
          ...(weeks ? { weekly: { weeks, daysOfWeek: weekDays, timesOfDay: ['21:00'] } } : {}),
          ...(months ? { monthly: { months, daysOfMonth: [1, 0], timesOfDay: ['09:00'] } } : {}),
          ...(years ? { yearly: { years, monthsOfYear: ['January'], daysOfMonth: [1], timesOfDay: ['09:00'] } } : {}),
        };
        const plan = planRetention(points, everyDay, retention, { timeZone });
        const expired = new Set(plan.expire.map((p) => p.id));
        // A partition of the points.
        expect(plan.keep.size + expired.size).toBe(points.length);
        for (const id of plan.keep.keys()) expect(expired.has(id)).toBe(false);
        // The newest point is kept; at most one point per bucket of each tier.
        if (points.length > 0) {
          const newest = Math.max(...times);
          expect(points.some((p) => Date.parse(p.time) === newest && plan.keep.get(p.id)?.includes('newest'))).toBe(true);
        }
        const recentOnly = [...plan.keep.values()].filter((why) => why.length === 1 && why[0] === 'recent').length;
        expect(plan.keep.size - recentOnly).toBeLessThanOrEqual(1 + days + (weeks ?? 0) + (months ?? 0) + (years ?? 0));
        // Applying the retention again to what it kept keeps all of it.
        const kept2 = planRetention(points.filter((p) => plan.keep.has(p.id)), everyDay, retention, { timeZone });
        expect(kept2.expire).toEqual([]);
      },
    ), { seed: 20261202, numRuns: 200 });
  });
});
