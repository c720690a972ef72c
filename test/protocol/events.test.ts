// JsonSink (core/protocol/events.ts): events as the module reads them, valid against their schemas.
import { describe, expect, it } from 'vitest';
import { JsonSink } from '../../core/protocol/events.js';
import { describeErrors, validator } from '../../core/protocol/schemas.js';
import { formatBytes } from '../../core/backup/archiver.js';

describe('progress events', () => {
  it('carry an estimate of the seconds left when there is one, as a whole number, and validate', () => {
    const lines: string[] = [];
    const sink = new JsonSink((l) => lines.push(l));
    sink.progress('Backup', '1/2 files', 50.4, '/data/a', 12.2);
    sink.progress('Backup', '1/2 files', 50, '/data/a');
    sink.progress('Backup', '1/2 files', 50, '/data/a', Number.POSITIVE_INFINITY);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toEqual({ type: 'progress', activity: 'Backup', status: '1/2 files', percent: 50, currentItem: '/data/a', secondsRemaining: 13 });
    expect(events[1]).not.toHaveProperty('secondsRemaining');
    expect(events[2]).not.toHaveProperty('secondsRemaining');
    const valid = validator('azbackup:event.progress');
    for (const e of events) expect(valid(e), describeErrors(valid.errors)).toBe(true);
  });

  it('show rates below 1 KiB/s as whole bytes', () => {
    expect(formatBytes(21.27659574468085)).toBe('21 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
