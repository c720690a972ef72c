import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireLock, conflicts, isStale, type LockRecord } from '../../core/repo/locks.js';
import type { AzbError } from '../../core/protocol/errors.js';
import { memoryServer } from '../helpers/memory-server.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (e) { return (e as AzbError).code; }
  return undefined;
}

describe('locks', () => {
  it('follow the compatibility table of FORMAT.md', () => {
    expect(conflicts('read', 'read')).toBe(false);
    expect(conflicts('read', 'backup')).toBe(false);
    expect(conflicts('backup', 'read')).toBe(false);
    expect(conflicts('backup', 'backup')).toBe(true);
    for (const t of ['read', 'backup', 'exclusive'] as const) {
      expect(conflicts('exclusive', t)).toBe(true);
      expect(conflicts(t, 'exclusive')).toBe(true);
    }
  });

  it('refuse a second backup and an exclusive lock while a backup runs; release frees them', async () => {
    const { repo } = await memoryServer();
    const backup = await acquireLock(repo, 'backup', 'backup');
    expect(await codeOf(acquireLock(repo, 'backup', 'backup'))).toBe('AZB_BACKUP_RUNNING');
    expect(await codeOf(acquireLock(repo, 'exclusive', 'prune'))).toBe('AZB_VAULT_LOCKED');
    const reader = await acquireLock(repo, 'read', 'restore');
    await backup.release();
    expect(await codeOf(acquireLock(repo, 'exclusive', 'prune'))).toBe('AZB_VAULT_LOCKED');
    await reader.release();
    const ex = await acquireLock(repo, 'exclusive', 'prune');
    expect(await codeOf(acquireLock(repo, 'read', 'restore'))).toBe('AZB_VAULT_LOCKED');
    await ex.release();
    await ex.release(); // twice is fine
    const names: string[] = [];
    for await (const o of repo.vault.store.list(`${repo.prefix}locks/`)) names.push(o.name);
    expect(names).toEqual([]);
  });

  it('refresh replaces the lock object and keeps the lock held', async () => {
    const { repo } = await memoryServer();
    const lock = await acquireLock(repo, 'backup', 'backup');
    await lock.refresh();
    const names: string[] = [];
    for await (const o of repo.vault.store.list(`${repo.prefix}locks/`)) names.push(o.name);
    expect(names).toHaveLength(1);
    expect(await codeOf(acquireLock(repo, 'backup', 'backup'))).toBe('AZB_BACKUP_RUNNING');
    await lock.release();
  });

  it('ignore and remove stale locks: old, or held by a dead process on this host', async () => {
    const now = Date.now();
    const rec = (o: Partial<LockRecord>): LockRecord => ({ type: 'exclusive', hostname: 'elsewhere', pid: 1, created: new Date(now).toISOString(), refreshed: new Date(now).toISOString(), operation: 'prune', ...o });
    expect(isStale(rec({ refreshed: new Date(now - 31 * 60_000).toISOString() }), now)).toBe(true);
    expect(isStale(rec({}), now)).toBe(false);
    expect(isStale(rec({ hostname: hostname(), pid: 2 ** 22 + 12345 }), now)).toBe(true);
    expect(isStale(rec({ hostname: hostname(), pid: process.pid }), now)).toBe(false);

    const { repo } = await memoryServer();
    await repo.vault.store.put(`${repo.prefix}locks/${'0'.repeat(32)}`, Buffer.from(JSON.stringify(rec({ hostname: hostname(), pid: 2 ** 22 + 12345 }))));
    const lock = await acquireLock(repo, 'exclusive', 'prune');
    await lock.release();
  });

  describe('with the clock moved', () => {
    afterEach(() => { vi.useRealTimers(); });

    it('treat an unreadable lock object as exclusive until 30 minutes after it was written, and name it', async () => {
      vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      const { repo } = await memoryServer();
      const name = `${repo.prefix}locks/${'a'.repeat(32)}`;
      await repo.vault.store.put(name, Buffer.from('{"type":"backu'));
      const refused = await acquireLock(repo, 'read', 'restore').then(() => undefined, (e: AzbError) => e);
      expect(refused?.code).toBe('AZB_VAULT_LOCKED');
      expect(refused?.target).toBe(name);
      expect(refused?.message).toContain('unreadable lock object');
      vi.setSystemTime(Date.now() + 31 * 60_000);
      const lock = await acquireLock(repo, 'exclusive', 'prune');
      expect(await repo.vault.store.stat(name)).toBeUndefined(); // removed as stale
      await lock.release();
    });

    it('are lost once not refreshed for the stale time, and stay lost after a later refresh', async () => {
      vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      const { repo } = await memoryServer();
      const lock = await acquireLock(repo, 'backup', 'backup');
      await lock.assertHeld();
      vi.setSystemTime(Date.now() + 29 * 60_000);
      await lock.refresh(); // in time: held
      await lock.assertHeld();
      vi.setSystemTime(Date.now() + 31 * 60_000); // e.g. the machine was suspended, or the vault unreachable
      expect(await codeOf(lock.assertHeld())).toBe('AZB_LOCK_LOST');
      await lock.refresh();
      expect(await codeOf(lock.assertHeld())).toBe('AZB_LOCK_LOST');
      await lock.release();
    });
  });

  it('are lost when another process removed the lock object', async () => {
    const { repo } = await memoryServer();
    const lock = await acquireLock(repo, 'exclusive', 'prune');
    for await (const o of repo.vault.store.list(`${repo.prefix}locks/`)) await repo.vault.store.delete(o.name);
    const err = await lock.assertHeld().then(() => undefined, (e: AzbError) => e);
    expect(err?.code).toBe('AZB_LOCK_LOST');
    expect(err?.message).toMatch(/nothing more was written/);
    await lock.release();
  });

  it('stay held when a refresh replaces the lock object while assertHeld looks it up', async () => {
    const { repo } = await memoryServer();
    const lock = await acquireLock(repo, 'backup', 'backup');
    const store = repo.vault.store;
    const stat = store.stat.bind(store);
    let refreshing: Promise<void> | undefined;
    // The lookup starts, then the refresh writes the new object and deletes the old one, then the lookup ends.
    store.stat = async (name: string) => {
      refreshing ??= lock.refresh();
      await refreshing;
      return stat(name);
    };
    await lock.assertHeld();
    store.stat = stat;
    await lock.assertHeld();
    await lock.release();
  });
});
