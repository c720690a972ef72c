import { describe, expect, it } from 'vitest';
import { checkThrottle, rateAt, type ThrottleSettings } from '../../core/config/settings.js';
import type { AzbError } from '../../core/protocol/errors.js';

const t: ThrottleSettings = { workDays: [1, 2, 3, 4, 5], startWorkHour: 9, endWorkHour: 18, workHourBandwidth: 100_000, nonWorkHourBandwidth: 900_000 };

describe('machine settings', () => {
  it('pick the work-hour rate on work days within the hours, the other rate otherwise', () => {
    expect(rateAt({ throttle: t }, new Date(2026, 10, 25, 9, 0))).toBe(100_000); // Wednesday 09:00
    expect(rateAt({ throttle: t }, new Date(2026, 10, 25, 17, 59))).toBe(100_000);
    expect(rateAt({ throttle: t }, new Date(2026, 10, 25, 18, 0))).toBe(900_000);
    expect(rateAt({ throttle: t }, new Date(2026, 10, 29, 12, 0))).toBe(900_000); // Sunday
    expect(rateAt({}, new Date())).toBeUndefined();
  });

  it.each([
    [{ workDays: [] }, 'workDays'],
    [{ workDays: [7] }, 'workDays'],
    [{ startWorkHour: 18, endWorkHour: 9 }, 'startWorkHour'],
    [{ endWorkHour: 25 }, 'startWorkHour'],
    [{ workHourBandwidth: 1000 }, 'workHourBandwidth'],
    [{ nonWorkHourBandwidth: Number.NaN }, 'nonWorkHourBandwidth'],
  ])('refuse %o naming %s', (bad, target) => {
    let err: AzbError | undefined;
    try { checkThrottle({ ...t, ...bad }); } catch (e) { err = e as AzbError; }
    expect(err).toMatchObject({ code: 'AZB_ARGS_INVALID', target });
  });
});
