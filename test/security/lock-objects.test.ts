// Lock objects someone planted or damaged: they must not block a server for ever (a lock dated far in
// the future), and what cannot be read as a lock is reported, and removed only when it has the name of
// a lock object (never anything else a listing of locks/ shows).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOCK_CLOCK_SKEW_MS, acquireLock, isStale, type LockRecord } from '../../core/repo/locks.js';
import type { AzbError } from '../../core/protocol/errors.js';
import { memoryServer } from '../helpers/memory-server.js';

const rec = (o: Partial<LockRecord>): LockRecord => {
  const now = new Date().toISOString();
  return { type: 'exclusive', hostname: 'elsewhere', pid: 1, created: now, refreshed: now, operation: 'prune', ...o };
};

describe('lock objects', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('treat a lock refreshed further in the future than the clock-skew allowance as stale', async () => {
    const now = Date.now();
    expect(LOCK_CLOCK_SKEW_MS).toBe(10 * 60_000);
    expect(isStale(rec({ refreshed: new Date(now + 5 * 60_000).toISOString() }), now)).toBe(false);
    expect(isStale(rec({ refreshed: new Date(now + 11 * 60_000).toISOString() }), now)).toBe(true);
    expect(isStale(rec({ refreshed: '2999-01-01T00:00:00.000Z' }), now)).toBe(true);
    expect(isStale(rec({ refreshed: 'not a time' }), now)).toBe(true);

    // Through acquireLock: an exclusive lock dated in the year 2999 no longer blocks the server.
    const { repo } = await memoryServer();
    await repo.vault.store.put(`${repo.prefix}locks/${'f'.repeat(32)}`, Buffer.from(JSON.stringify(rec({ refreshed: '2999-01-01T00:00:00.000Z' }))));
    const lock = await acquireLock(repo, 'read', 'restore');
    await lock.release();
  });

  it('count a lock whose time cannot be parsed as unreadable: exclusive until it has aged, then reported', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const { repo } = await memoryServer();
    const name = `${repo.prefix}locks/${'c'.repeat(32)}`;
    await repo.vault.store.put(name, Buffer.from(JSON.stringify(rec({ refreshed: 'soon' }))));
    const refused = await acquireLock(repo, 'read', 'restore').then(() => undefined, (e: AzbError) => e);
    expect(refused?.code).toBe('AZB_VAULT_LOCKED');
    expect(refused?.target).toBe(name);
    vi.setSystemTime(Date.now() + 31 * 60_000);
    const warnings: [string, string, string][] = [];
    const lock = await acquireLock(repo, 'read', 'restore', (...w) => warnings.push(w));
    await lock.release();
    expect(warnings).toEqual([['AZB_LOCK_UNREADABLE', expect.stringContaining(name), name]]);
    expect(await repo.vault.store.stat(name)).toBeUndefined();
  });

  it('report an unreadable object under locks/ and never remove one that lacks a lock object name', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const { repo } = await memoryServer();
    const stray = `${repo.prefix}locks/passwd`;
    const nested = `${repo.prefix}locks/sub/${'d'.repeat(32)}`;
    const damaged = `${repo.prefix}locks/${'e'.repeat(32)}`;
    await repo.vault.store.put(stray, Buffer.from('root:x:0:0:root:/root:/bin/bash\n'));
    await repo.vault.store.put(nested, Buffer.from('not a lock'));
    await repo.vault.store.put(damaged, Buffer.from('{"type":"backu'));
    vi.setSystemTime(Date.now() + 31 * 60_000);
    const warnings: [string, string, string][] = [];
    const lock = await acquireLock(repo, 'exclusive', 'prune', (...w) => warnings.push(w));
    await lock.release();
    expect(warnings.map((w) => [w[0], w[2]]).sort()).toEqual([[ 'AZB_LOCK_UNREADABLE', damaged], ['AZB_LOCK_UNREADABLE', nested], ['AZB_LOCK_UNREADABLE', stray]].sort());
    expect(warnings.find((w) => w[2] === stray)?.[1]).toContain('not removed');
    expect(await repo.vault.store.stat(stray)).toBeDefined();
    expect(await repo.vault.store.stat(nested)).toBeDefined();
    expect(await repo.vault.store.stat(damaged)).toBeUndefined();
  });
});
