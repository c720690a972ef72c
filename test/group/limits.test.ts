// The protection group document's limits (core/group/group.ts): each edge accepted, one past it refused
// with its code and a message that states the limit.
import { describe, expect, it } from 'vitest';
import { bytesPerGB, dataSourceName, effectiveSchedule, GROUP_LIMITS, makeDataSource, SYNC_FREQUENCIES, validateOnline, validateShortTerm } from '../../core/group/group.js';
import { AzbError } from '../../core/protocol/errors.js';

function codeOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(AzbError);
    return { code: (err as AzbError).code, message: (err as AzbError).message };
  }
  throw new Error('expected a refusal');
}

const online = { vault: 'https://acct.blob.core.windows.net/vault', vaultId: 'a'.repeat(32), enabled: '2026-12-03T00:00:00.000Z' };

describe('short-term objective', () => {
  it('keeps 1 to 448 days; 0 and 449 are refused with the range', () => {
    expect(validateShortTerm({ retentionRangeDays: 1 }).retentionRangeDays).toBe(1);
    expect(validateShortTerm({ retentionRangeDays: 448 }).retentionRangeDays).toBe(448);
    for (const days of [0, 449, 2.5]) {
      const e = codeOf(() => validateShortTerm({ retentionRangeDays: days }));
      expect(e.code).toBe('AZB_RETENTION_INVALID');
      expect(e.message).toContain('1 to 448');
    }
  });

  it('takes a synchronization frequency that divides the day, or a schedule, not both', () => {
    for (const every of SYNC_FREQUENCIES) {
      const s = effectiveSchedule(validateShortTerm({ retentionRangeDays: 5, synchronizationFrequencyMinutes: every }));
      expect(s.timesOfDay).toHaveLength(1440 / every);
      expect(s.daysOfWeek).toHaveLength(7);
    }
    expect(effectiveSchedule(validateShortTerm({ retentionRangeDays: 5, synchronizationFrequencyMinutes: 15 })).timesOfDay.slice(0, 3)).toEqual(['00:00', '00:15', '00:30']);
    expect(codeOf(() => validateShortTerm({ retentionRangeDays: 5, synchronizationFrequencyMinutes: 45 })).code).toBe('AZB_SCHEDULE_INVALID');
    expect(codeOf(() => validateShortTerm({ retentionRangeDays: 5, synchronizationFrequencyMinutes: 60, schedule: { daysOfWeek: ['Monday'], timesOfDay: ['01:00'], weeklyFrequency: 1 } })).code).toBe('AZB_SCHEDULE_INVALID');
  });

  it('defaults to every day at 20:00 and allows up to 24 times a day, sorted', () => {
    expect(validateShortTerm({ retentionRangeDays: 5 }).schedule).toEqual({ daysOfWeek: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'], timesOfDay: ['20:00'], weeklyFrequency: 1 });
    const times = Array.from({ length: 24 }, (_, h) => `${String(23 - h).padStart(2, '0')}:05`);
    const s = validateShortTerm({ retentionRangeDays: 5, schedule: { daysOfWeek: ['Friday', 'Monday'], timesOfDay: times, weeklyFrequency: 1 } }).schedule!;
    expect(s.timesOfDay[0]).toBe('00:05');
    expect(s.daysOfWeek).toEqual(['Monday', 'Friday']);
    const e = codeOf(() => validateShortTerm({ retentionRangeDays: 5, schedule: { daysOfWeek: ['Monday'], timesOfDay: [...times, '23:59'], weeklyFrequency: 1 } }));
    expect(e).toMatchObject({ code: 'AZB_SCHEDULE_INVALID' });
    expect(e.message).toContain('at most 24 times a day');
    expect(codeOf(() => validateShortTerm({ retentionRangeDays: 5, schedule: { daysOfWeek: ['Monday'], timesOfDay: ['25:00'], weeklyFrequency: 1 } })).code).toBe('AZB_SCHEDULE_INVALID');
    expect(codeOf(() => validateShortTerm({ retentionRangeDays: 5, schedule: { daysOfWeek: [], timesOfDay: ['01:00'], weeklyFrequency: 1 } })).code).toBe('AZB_SCHEDULE_INVALID');
  });
});

describe('online protection', () => {
  it('accepts 120 days, 120 points and 850 GB, with those as defaults for points and size', () => {
    expect(validateOnline({ ...online, retentionDays: 120 })).toMatchObject({ retentionDays: 120, maxPoints: 120, maxSizeGB: 850, timesOfDay: ['21:00'] });
    expect(validateOnline({ ...online, retentionDays: 1, maxPoints: 1, maxSizeGB: 1, timesOfDay: ['22:00', '06:00'] }).timesOfDay).toEqual(['06:00', '22:00']);
  });

  it.each([
    ['121 days', { retentionDays: 121 }, '1 to 120'],
    ['0 days', { retentionDays: 0 }, '1 to 120'],
    ['121 points', { retentionDays: 30, maxPoints: 121 }, '1 to 120'],
    ['851 GB', { retentionDays: 30, maxSizeGB: 851 }, '1 to 850'],
    ['a bad time', { retentionDays: 30, timesOfDay: ['9pm'] }, 'HH:MM'],
  ])('refuses %s', (_name, change, text) => {
    const e = codeOf(() => validateOnline(Object.assign({ ...online, retentionDays: 30 }, change)));
    expect(e.code).toBe('AZB_ONLINE_RETENTION_INVALID');
    expect(e.message).toContain(text);
  });

  it('counts GB as 2^30 bytes unless AZBACKUP_BYTES_PER_GB scales it (tests), and refuses a bad scale', () => {
    expect(bytesPerGB({})).toBe(1024 ** 3);
    expect(bytesPerGB({ AZBACKUP_BYTES_PER_GB: '1024' })).toBe(1024);
    expect(codeOf(() => bytesPerGB({ AZBACKUP_BYTES_PER_GB: '0' })).code).toBe('AZB_ARGS_INVALID');
    expect(codeOf(() => bytesPerGB({ AZBACKUP_BYTES_PER_GB: 'lots' })).code).toBe('AZB_ARGS_INVALID');
    expect(GROUP_LIMITS.online.sizeGB.max * bytesPerGB({ AZBACKUP_BYTES_PER_GB: '1024' })).toBe(870_400);
  });
});

describe('data sources', () => {
  it('are named member:path for files and member:stream for dumps', () => {
    const now = new Date('2026-12-03T00:00:00Z');
    expect(makeDataSource('web01', { path: '/srv/www/' }, now)).toMatchObject({ name: 'web01:/srv/www', kind: 'Files', path: '/srv/www' });
    expect(makeDataSource('db01', { command: 'pg_dump', arguments: ['-Fc', 'app'], streamName: 'app.dump' }, now)).toMatchObject({ name: 'db01:app.dump', kind: 'Stream', command: 'pg_dump', arguments: ['-Fc', 'app'] });
    expect(dataSourceName('web01', { path: '/' })).toBe('web01:/');
  });

  it('refuse a relative path, a stream name with / or :, and an empty command', () => {
    const now = new Date();
    for (const bad of [() => makeDataSource('m', { path: 'srv/www' }, now), () => makeDataSource('m', { path: 'C:\\data' }, now),
      () => makeDataSource('m', { command: 'pg_dump', streamName: 'a/b' }, now), () => makeDataSource('m', { command: 'pg_dump', streamName: 'a:b' }, now),
      () => makeDataSource('m', { command: '', streamName: 'x.sql' }, now)]) {
      expect(codeOf(bad).code).toBe('AZB_GROUP_INVALID');
    }
  });
});
