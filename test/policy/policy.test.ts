// Policy limits: each one refused with its own code, saying the limit.
import { describe, expect, it } from 'vitest';
import { isRunWeek, mondayOf, validatePolicy, type Policy } from '../../core/policy/policy.js';
import { AzbError } from '../../core/protocol/errors.js';

function policy(change: (p: Policy) => void = () => {}): Policy {
  const p: Policy = {
    name: 'files', fileSpecs: [{ path: '/srv/data' }],
    schedule: { daysOfWeek: ['Monday', 'Wednesday'], timesOfDay: ['21:00', '09:00'], weeklyFrequency: 1 },
    retention: { days: 30 }, state: 'Active',
  };
  change(p);
  return p;
}

function refusal(p: Policy): AzbError {
  try { validatePolicy(p); } catch (err) { if (err instanceof AzbError) return err; throw err; }
  throw new Error('the policy was accepted');
}

describe('validatePolicy', () => {
  it('accepts a policy at every limit and sorts its days and times', () => {
    const p = validatePolicy(policy((x) => {
      x.schedule.timesOfDay = ['23:59', '00:00', '12:30'];
      x.schedule.daysOfWeek = ['Saturday', 'Sunday'];
      x.schedule.weeklyFrequency = 4;
      x.retention = {
        days: 30, weekly: { weeks: 5163, daysOfWeek: ['Sunday'], timesOfDay: ['00:00'] },
        monthly: { months: 1188, daysOfMonth: [1, 28, 0], timesOfDay: ['12:30'] },
        yearly: { years: 99, monthsOfYear: ['December'], daysOfMonth: [0], timesOfDay: ['23:59'] },
      };
    }));
    expect(p.schedule.timesOfDay).toEqual(['00:00', '12:30', '23:59']);
    expect(p.schedule.daysOfWeek).toEqual(['Sunday', 'Saturday']);
  });

  it.each([
    ['4 times a day', (p: Policy) => { p.schedule.timesOfDay = ['01:00', '02:00', '03:00', '04:00']; }, 'AZB_SCHEDULE_INVALID', /at most 3 backups a day; 4 times/],
    ['no day', (p: Policy) => { p.schedule.daysOfWeek = []; }, 'AZB_SCHEDULE_INVALID', /no day of the week/],
    ['no time', (p: Policy) => { p.schedule.timesOfDay = []; }, 'AZB_SCHEDULE_INVALID', /no time of day/],
    ['a bad time', (p: Policy) => { p.schedule.timesOfDay = ['24:00']; }, 'AZB_SCHEDULE_INVALID', /'24:00' is not a time of day/],
    ['a time twice', (p: Policy) => { p.schedule.timesOfDay = ['09:00', '09:00']; }, 'AZB_SCHEDULE_INVALID', /same time twice/],
    ['a day twice', (p: Policy) => { p.schedule.daysOfWeek = ['Monday', 'Monday']; }, 'AZB_SCHEDULE_INVALID', /same day twice/],
    ['weekly frequency 5', (p: Policy) => { p.schedule.weeklyFrequency = 5; }, 'AZB_SCHEDULE_INVALID', /1 to 4 .* 5 was given/],
    ['weekly frequency 0', (p: Policy) => { p.schedule.weeklyFrequency = 0; }, 'AZB_SCHEDULE_INVALID', /0 was given/],
    ['31 daily days', (p: Policy) => { p.retention.days = 31; }, 'AZB_RETENTION_INVALID', /1 to 30 days on a standalone server; 31 was given/],
    ['0 daily days', (p: Policy) => { p.retention.days = 0; }, 'AZB_RETENTION_INVALID', /0 was given/],
    ['6000 weeks', (p: Policy) => { p.retention.weekly = { weeks: 6000, daysOfWeek: ['Monday'], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /Weeks retention is 1 to 5163 weeks; 6000 was given/],
    ['1189 months', (p: Policy) => { p.retention.monthly = { months: 1189, daysOfMonth: [1], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /1 to 1188 months; 1189/],
    ['100 years', (p: Policy) => { p.retention.yearly = { years: 100, monthsOfYear: ['March'], daysOfMonth: [1], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /1 to 99 years; 100/],
    ['a weekly day the schedule does not run', (p: Policy) => { p.retention.weekly = { weeks: 4, daysOfWeek: ['Sunday'], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /names Sunday, on which the schedule takes no backup/],
    ['a monthly time the schedule does not run', (p: Policy) => { p.retention.monthly = { months: 4, daysOfMonth: [1], timesOfDay: ['22:00'] }; }, 'AZB_RETENTION_INVALID', /names 22:00/],
    ['day 29 of the month', (p: Policy) => { p.retention.monthly = { months: 4, daysOfMonth: [29], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /Day of month 29 is not allowed/],
    ['a yearly tier with no month', (p: Policy) => { p.retention.yearly = { years: 2, monthsOfYear: [], daysOfMonth: [1], timesOfDay: ['21:00'] }; }, 'AZB_RETENTION_INVALID', /no month/],
    ['the same file spec twice', (p: Policy) => { p.fileSpecs = [{ path: '/srv/data' }, { path: '/srv/data/' }]; }, 'AZB_FILESPEC_OVERLAP', /\/srv\/data is given twice/],
    ['a spec inside another', (p: Policy) => { p.fileSpecs = [{ path: '/srv' }, { path: '/srv/data/x' }]; }, 'AZB_FILESPEC_OVERLAP', /\/srv and \/srv\/data\/x overlap/],
    ['a relative spec', (p: Policy) => { p.fileSpecs = [{ path: 'data' }]; }, 'AZB_FILESPEC_INVALID', /not an absolute path/],
    ['nothing to back up', (p: Policy) => { p.fileSpecs = []; }, 'AZB_POLICY_INVALID', /backs up nothing/],
    ['specs and a command', (p: Policy) => { p.command = { command: 'pg_dump', streamName: 'db.sql' }; }, 'AZB_POLICY_INVALID', /both file specs and a command/],
    ['a bad name', (p: Policy) => { p.name = '../x'; }, 'AZB_POLICY_INVALID', /not a usable policy name/],
  ])('refuses %s', (_case, change, code, message) => {
    const err = refusal(policy(change));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.hint).toBeTruthy();
  });

  it('allows siblings that share a prefix, and a spec inside a non-recursive one', () => {
    expect(() => validatePolicy(policy((p) => { p.fileSpecs = [{ path: '/srv/data' }, { path: '/srv/data2' }, { path: '/srv/..x' }]; }))).not.toThrow();
    expect(() => validatePolicy(policy((p) => { p.fileSpecs = [{ path: '/srv', nonRecursive: true }, { path: '/srv/data' }]; }))).not.toThrow();
  });
});

describe('isRunWeek', () => {
  it('runs every Nth week counted from the anchor week, across a daylight-saving change', () => {
    const p = validatePolicy(policy((x) => { x.schedule.weeklyFrequency = 2; }));
    p.anchorWeek = mondayOf(new Date(2026, 2, 18)); // Wednesday 18 March 2026
    expect(p.anchorWeek).toBe('2026-03-16');
    const weeks = [0, 1, 2, 3, 4, 5].map((n) => isRunWeek(p, new Date(2026, 2, 16 + 7 * n, 21)));
    expect(weeks).toEqual([true, false, true, false, true, false]);
    expect(isRunWeek(p, new Date(2026, 2, 22, 23, 59))).toBe(true); // Sunday of the anchor week
    expect(isRunWeek(p, new Date(2026, 2, 23, 0, 1))).toBe(false);
  });

  it('always runs with a weekly frequency of 1', () => {
    const p = validatePolicy(policy());
    p.anchorWeek = '2026-01-05';
    expect(isRunWeek(p, new Date(2026, 5, 9))).toBe(true);
  });
});
