// Locks of a server namespace (FORMAT.md section 10): backup (one at a time, readers allowed),
// read (shared) and exclusive (prune, point removal). Objects under locks/ are the only ones rewritten.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AzbError } from '../protocol/errors.js';
import { pidAlive } from '../pid-alive.js';
import { isStorageError, leasingOf, type ObjectInfo, type ObjectLease } from '../storage/storage.js';
import { vaultError } from './storage-errors.js';
import type { ServerRepo, Warn } from './server.js';

/** Kind of lock. */
export type LockType = 'read' | 'backup' | 'exclusive';

/** Contents of a lock object. */
export interface LockRecord { type: LockType; hostname: string; pid: number; created: string; refreshed: string; operation: string }

/** How often a holder refreshes its lock. */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
/** A lock not refreshed for this long is stale. */
export const LOCK_STALE_MS = 30 * 60 * 1000;
/**
 * How far in the future a lock's `refreshed` may lie: the clocks of hosts sharing a vault differ a
 * little. A lock dated further ahead is stale, or a wrong clock (or a forged lock) would block for ever.
 */
export const LOCK_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** The name of a lock object this engine writes, below locks/: 16 random bytes in hex. */
const LOCK_OBJECT_ID = /^[0-9a-f]{32}$/;
/** Lease length on stores that lease (Azure): renewed every third of it, so it lapses soon after its holder dies. */
export const LOCK_LEASE_SECONDS = 60;

/** Whether holding `held` forbids taking `wanted`. */
export function conflicts(held: LockType, wanted: LockType): boolean {
  if (held === 'exclusive' || wanted === 'exclusive') return true;
  return held === 'backup' && wanted === 'backup';
}

/**
 * Whether a lock can be ignored: not refreshed for 30 minutes, refreshed more than the clock-skew
 * allowance in the future, or held by a dead process on this host.
 */
export function isStale(lock: LockRecord, now = Date.now(), thisHost = hostname()): boolean {
  const age = now - Date.parse(lock.refreshed);
  if (Number.isNaN(age) || age > LOCK_STALE_MS || age < -LOCK_CLOCK_SKEW_MS) return true;
  return lock.hostname === thisHost && lock.pid !== process.pid && !pidAlive(lock.pid);
}

/** Whether a parsed lock object has every field a lock needs (else it counts as unreadable). */
export function isLockRecord(v: unknown): v is LockRecord {
  const r = v as Partial<LockRecord> | null;
  return typeof r === 'object' && r !== null && (r.type === 'read' || r.type === 'backup' || r.type === 'exclusive')
    && typeof r.hostname === 'string' && Number.isSafeInteger(r.pid) && typeof r.created === 'string'
    && typeof r.refreshed === 'string' && !Number.isNaN(Date.parse(r.refreshed)) && typeof r.operation === 'string';
}

/**
 * A held lock. release() must be called (finally); refresh runs on a timer until then. A refresh that
 * fails is tried again at the next tick; once others may have judged the lock stale, it is lost for good
 * and assertHeld() says so (another process may have pruned meanwhile).
 */
export class Lock {
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private released = false;
  /** When others last had proof that the holder lives: its lock object written, or its lease renewed. */
  private heldAt = Date.now();
  private lost = false;
  constructor(private readonly repo: ServerRepo, private name: string, private readonly record: LockRecord, private lease?: ObjectLease) {
    this.timer = setInterval(() => { void this.refresh().catch(() => undefined); }, LOCK_REFRESH_MS);
    this.timer.unref();
    if (lease) {
      this.leaseTimer = setInterval(() => { void this.renewLease().catch(() => undefined); }, (LOCK_LEASE_SECONDS * 1000) / 3);
      this.leaseTimer.unref();
    }
  }

  /** How long others wait before they may treat this lock as stale (section 10). */
  private get staleAfterMs(): number {
    return this.lease ? LOCK_LEASE_SECONDS * 1000 : LOCK_STALE_MS;
  }

  /** Notes a lock that others may already have judged stale; it stays lost even if a later write works. */
  private noteGap(): void {
    if (Date.now() - this.heldAt >= this.staleAfterMs) this.lost = true;
  }

  private async renewLease(): Promise<void> {
    this.noteGap();
    if (this.lost || !this.lease) return;
    // Others count from when the request went out, not from when it came back.
    const sent = Date.now();
    await this.lease.renew();
    this.heldAt = Math.max(this.heldAt, sent);
  }

  /**
   * Throws AZB_LOCK_LOST unless the lock has been held without a gap and its object is still there.
   * Called before a step that relies on it: writing a recovery point, deleting data.
   */
  async assertHeld(): Promise<void> {
    this.noteGap();
    // A lease held without a gap proves the object is there: nobody can delete a leased object (FORMAT.md §10).
    if (!this.lost && !this.released && this.lease && Date.now() - this.heldAt < LOCK_LEASE_SECONDS * 1000) return;
    if (!this.lost && !this.released) {
      // A refresh may replace the lock object while it is looked up: then the new one is looked up.
      for (let name = this.name; ; name = this.name) {
        let present: boolean;
        try { present = (await this.repo.vault.store.stat(name)) !== undefined; } catch (err) { throw vaultError(err, this.repo.location, 'the lock'); }
        if (present) return;
        if (name === this.name) break;
      }
      this.lost = true;
    }
    throw new AzbError('AZB_LOCK_LOST', `The ${this.record.type} lock of this operation was not refreshed in time or was removed by another process, so another operation may have changed the data meanwhile; nothing more was written.`, {
      target: this.name, hint: 'Check the connection to the vault, then run the operation again.',
    });
  }

  /** Writes a fresh lock object (leased again where the store leases) and removes the previous one. */
  async refresh(): Promise<void> {
    if (this.released) return;
    this.noteGap();
    const sent = Date.now();
    const fresh = { ...this.record, refreshed: new Date(sent).toISOString() };
    const name = `${this.repo.prefix}locks/${randomBytes(16).toString('hex')}`;
    await this.repo.vault.store.put(name, Buffer.from(JSON.stringify(fresh)));
    const leasing = leasingOf(this.repo.vault.store);
    const lease = leasing ? await leasing.lease(name, LOCK_LEASE_SECONDS) : undefined;
    const old = { name: this.name, lease: this.lease };
    this.name = name;
    this.lease = lease;
    this.heldAt = Math.max(this.heldAt, sent);
    await removeLockObject(this.repo, old.name, old.lease);
  }

  /** Removes the lock. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.repo.forgetNamespaceListing();
    if (this.timer) clearInterval(this.timer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    await removeLockObject(this.repo, this.name, this.lease).catch(() => undefined);
  }
}

async function removeLockObject(repo: ServerRepo, name: string, lease: ObjectLease | undefined): Promise<void> {
  if (lease) await lease.releaseAndDelete();
  else await repo.vault.store.delete(name);
}

/** A lock object as read: `unreadable` when it could not be read or parsed as a lock. */
interface ListedLock { name: string; lock: LockRecord; unreadable: boolean }

/**
 * The lock objects of the namespace, read. `listed`: a listing of locks/ the caller has already made.
 */
async function readLocks(repo: ServerRepo, except?: string, listed?: Iterable<ObjectInfo>): Promise<ListedLock[]> {
  const out: ListedLock[] = [];
  try {
    for await (const o of listed ?? repo.vault.store.list(`${repo.prefix}locks/`)) {
      if (o.name === except) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse((await repo.vault.store.get(o.name)).toString('utf8'));
      } catch (err) {
        if (isStorageError(err, 'not-found')) continue; // released meanwhile
        if (isStorageError(err) && !isStorageError(err, 'too-large')) throw err;
      }
      if (isLockRecord(parsed)) { out.push({ name: o.name, lock: parsed, unreadable: false }); continue; }
      // An unreadable lock object (damaged, oversized, or not a lock at all) is treated as an exclusive
      // lock refreshed when it was last written, so it goes stale by its age like any other (a store
      // that cannot tell its age: from now on).
      const written = new Date(o.modified ?? Date.now()).toISOString();
      out.push({ name: o.name, lock: { type: 'exclusive', hostname: '?', pid: 0, created: written, refreshed: written, operation: 'unreadable lock object' }, unreadable: true });
    }
  } catch (err) {
    throw vaultError(err, repo.location, 'the lock list');
  }
  return out;
}

/**
 * Removes a stale lock object of another holder. An unreadable one is reported, and removed only when
 * its name is one this engine gives lock objects: anything else under locks/ was not put there by a
 * lock holder, and is left for a person to look at.
 */
async function removeStaleLock(repo: ServerRepo, { name, unreadable }: ListedLock, warn: Warn | undefined): Promise<void> {
  const lockObject = name.startsWith(`${repo.prefix}locks/`) && LOCK_OBJECT_ID.test(name.slice(repo.prefix.length + 'locks/'.length));
  if (unreadable) {
    warn?.('AZB_LOCK_UNREADABLE', `Lock object ${name} cannot be read as a lock; it was last written more than 30 minutes ago (or in the future) and is ignored${lockObject ? ' and removed' : ', but not removed: AzBackup never gives a lock object that name'}.`, name);
  }
  if (lockObject) await repo.vault.store.delete(name).catch(() => undefined);
}

function refusal(wanted: LockType, holder: LockRecord, name: string): AzbError {
  const who = `${holder.operation} on ${holder.hostname} (pid ${holder.pid}, since ${holder.created}; lock object ${name})`;
  if (wanted === 'backup' && holder.type === 'backup') {
    return new AzbError('AZB_BACKUP_RUNNING', `A backup of this server is already running: ${who}.`, { hint: 'Wait for it to finish, or stop it with Stop-AzBackupJob.' });
  }
  return new AzbError('AZB_VAULT_LOCKED', `The server namespace is locked by ${holder.type === 'exclusive' ? 'an exclusive' : 'a'} ${who}.`, {
    target: name,
    hint: 'Wait for that operation to finish. A lock is ignored once it is 30 minutes old without refresh, or when its process is gone.',
  });
}

/**
 * Takes a lock, or refuses with AZB_BACKUP_RUNNING / AZB_VAULT_LOCKED. Stale locks are removed;
 * unreadable lock objects are reported through `warn` (AZB_LOCK_UNREADABLE) when they are passed over.
 * The own lock object is put (and leased) first and the others are judged after it (FORMAT.md §10): of
 * two takers at once, at least one sees the other, which is what a look before the put could not add.
 * `o.listNamespace`: the look after the put lists the whole namespace, and the listing is kept for the
 * holder's first list of each folder (ServerRepo.listUnder): under the lock nobody else changes them.
 */
export async function acquireLock(repo: ServerRepo, type: LockType, operation: string, warn?: Warn, o: { listNamespace?: boolean } = {}): Promise<Lock> {
  const leasing = leasingOf(repo.vault.store);
  const now = new Date().toISOString();
  const record: LockRecord = { type, hostname: hostname(), pid: process.pid, created: now, refreshed: now, operation };
  const name = `${repo.prefix}locks/${randomBytes(16).toString('hex')}`;
  try {
    await repo.vault.store.put(name, Buffer.from(JSON.stringify(record)));
  } catch (err) {
    throw vaultError(err, repo.location, 'a lock');
  }
  let lease: ObjectLease | undefined;
  try {
    lease = leasing ? await leasing.lease(name, LOCK_LEASE_SECONDS) : undefined;
  } catch (err) {
    await repo.vault.store.delete(name).catch(() => undefined);
    throw vaultError(err, repo.location, 'a lock lease');
  }
  let conflict: { name: string; lock: LockRecord } | undefined;
  try {
    const listed = o.listNamespace ? await repo.listNamespace() : undefined;
    for (const found of await readLocks(repo, name, listed?.get('locks/'))) {
      // Where the store leases, a lock whose lease has lapsed is stale: its holder stopped renewing it.
      // A just-written lock is not leased yet for a moment, so that rule waits a minute after `created`.
      const lapsed = leasing !== undefined && Date.now() - Date.parse(found.lock.refreshed) > LOCK_LEASE_SECONDS * 1000 && !(await leasing.isLeased(found.name).catch(() => true));
      if (lapsed || isStale(found.lock)) { await removeStaleLock(repo, found, warn); continue; }
      if (conflicts(found.lock.type, type)) { conflict = found; break; }
    }
  } catch (err) {
    repo.forgetNamespaceListing();
    await removeLockObject(repo, name, lease).catch(() => undefined);
    throw err;
  }
  if (conflict) {
    repo.forgetNamespaceListing();
    await removeLockObject(repo, name, lease).catch(() => undefined);
    throw refusal(type, conflict.lock, conflict.name);
  }
  return new Lock(repo, name, record, lease);
}

/** Runs `work` holding a lock (acquireLock), released however `work` ends. */
export async function withLock<T>(repo: ServerRepo, type: LockType, operation: string, warn: Warn | undefined, work: (lock: Lock) => Promise<T>, o: { listNamespace?: boolean } = {}): Promise<T> {
  const lock = await acquireLock(repo, type, operation, warn, o);
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}
