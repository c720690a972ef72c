// Which recovery points of a policy its retention keeps (README "Retention"). Calendar buckets in the
// server's local time zone: days, Monday-to-Sunday weeks, months, years. Each tier keeps the newest
// point of each of its last N buckets, counted back from the bucket of the policy's newest point (the
// anchor, as restic and Kopia anchor theirs), so that backups that stop running expire nothing. Every
// point of the 24 hours before the anchor is kept too: with 3 backups a day, today's morning stays.
import { DAYS_OF_WEEK, MONTHS, minutesOf, type Retention, type Schedule } from './policy.js';

export interface PointTime { id: string; time: string }

/** Why a point is kept. */
export type KeepReason = 'newest' | 'recent' | 'daily' | 'weekly' | 'monthly' | 'yearly';

/** Every point this close to the newest one is kept: the runs of the last day stay restorable, not only its newest. */
export const KEEP_ALL_WITHIN_MS = 24 * 3_600_000;

export interface RetentionPlan {
  /** Points kept, with every reason each is kept for. */
  keep: Map<string, KeepReason[]>;
  /** Points the retention expires, oldest first. */
  expire: PointTime[];
}

interface Local { point: PointTime; ms: number; day: number; week: number; month: number; year: number; monthOfYear: number; dayOfMonth: number; lastOfMonth: boolean; weekday: number; minutes: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Calendar parts of an instant in a time zone (undefined: the process's own, that is TZ or the system's). */
function localParts(ms: number, timeZone: string | undefined): Omit<Local, 'point' | 'ms'> {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'long' });
    formatters.set(key, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const year = Number(parts['year']);
  const monthOfYear = Number(parts['month']);
  const dayOfMonth = Number(parts['day']);
  const day = Date.UTC(year, monthOfYear - 1, dayOfMonth) / 86_400_000;
  const weekday = DAYS_OF_WEEK.indexOf(parts['weekday'] as (typeof DAYS_OF_WEEK)[number]);
  const lastOfMonth = new Date(Date.UTC(year, monthOfYear - 1, dayOfMonth + 1)).getUTCDate() === 1;
  return {
    day, week: day - ((weekday + 6) % 7), month: year * 12 + monthOfYear - 1, year, monthOfYear, dayOfMonth, lastOfMonth, weekday,
    minutes: Number(parts['hour']) * 60 + Number(parts['minute']),
  };
}

/**
 * The scheduled time a point was taken by: the latest schedule time of day at or before the point's
 * own (a run that started late, by a randomized delay, still belongs to its slot). `times` is sorted.
 */
function slotOf(minutes: number, times: readonly { text: string; minutes: number }[]): string | undefined {
  let slot: string | undefined;
  for (const t of times) if (t.minutes <= minutes) slot = t.text;
  return slot;
}

/**
 * The points `retention` keeps out of `points` (one policy's), and those it expires. Within a bucket
 * a long-term tier keeps the newest point taken on one of its days and times; when the run on those
 * days failed or was missed, the newest point of the bucket instead, so that a missed run leaves no gap.
 */
export function planRetention(points: readonly PointTime[], schedule: Schedule, retention: Retention, o: { timeZone?: string } = {}): RetentionPlan {
  const keep = new Map<string, KeepReason[]>();
  if (points.length === 0) return { keep, expire: [] };
  const locals: Local[] = points.map((point) => {
    const ms = Date.parse(point.time);
    return { point, ms, ...localParts(ms, o.timeZone) };
  }).sort((a, b) => b.ms - a.ms || b.point.id.localeCompare(a.point.id)); // newest first
  const anchor = locals[0]!;
  const mark = (l: Local, why: KeepReason) => { const r = keep.get(l.point.id); if (r) { if (!r.includes(why)) r.push(why); } else keep.set(l.point.id, [why]); };
  mark(anchor, 'newest');
  for (const l of locals) if (anchor.ms - l.ms < KEEP_ALL_WITHIN_MS && l !== anchor) mark(l, 'recent');

  /** Keeps the newest (qualifying, else any) point of each bucket whose key is in range. */
  const tier = (why: KeepReason, bucket: (l: Local) => number, inRange: (key: number) => boolean, qualifies: (l: Local) => boolean) => {
    const chosen = new Map<number, { any: Local; qualified?: Local }>();
    for (const l of locals) { // newest first: the first seen of each bucket is its newest
      const key = bucket(l);
      if (!inRange(key)) continue;
      const c = chosen.get(key);
      if (!c) chosen.set(key, qualifies(l) ? { any: l, qualified: l } : { any: l });
      else if (!c.qualified && qualifies(l)) c.qualified = l;
    }
    for (const c of chosen.values()) mark(c.qualified ?? c.any, why);
  };
  const times = schedule.timesOfDay.map((text) => ({ text, minutes: minutesOf(text) })).sort((a, b) => a.minutes - b.minutes);
  const slot = (l: Local) => slotOf(l.minutes, times);
  const onDay = (days: number[], l: Local) => days.includes(l.dayOfMonth) || (days.includes(0) && l.lastOfMonth);

  tier('daily', (l) => l.day, (k) => k > anchor.day - retention.days, () => true);
  const w = retention.weekly;
  if (w) {
    tier('weekly', (l) => l.week, (k) => k > anchor.week - 7 * w.weeks,
      (l) => w.daysOfWeek.includes(DAYS_OF_WEEK[l.weekday]!) && w.timesOfDay.includes(slot(l) ?? ''));
  }
  const m = retention.monthly;
  if (m) tier('monthly', (l) => l.month, (k) => k > anchor.month - m.months, (l) => onDay(m.daysOfMonth, l) && m.timesOfDay.includes(slot(l) ?? ''));
  const y = retention.yearly;
  if (y) {
    tier('yearly', (l) => l.year, (k) => k > anchor.year - y.years,
      (l) => y.monthsOfYear.includes(MONTHS[l.monthOfYear - 1]!) && onDay(y.daysOfMonth, l) && y.timesOfDay.includes(slot(l) ?? ''));
  }
  const expire = locals.filter((l) => !keep.has(l.point.id)).map((l) => l.point).reverse();
  return { keep, expire };
}
