// Conformance tests every ObjectStore backend must pass (core/FORMAT.md section 2). A backend's test
// file calls storageSuite with a factory giving a fresh, empty store for each test.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError, type ObjectInfo, type ObjectStore, type StorageErrorKind } from '../../core/storage/storage.js';
import { MAX_SMALL_OBJECT } from '../../core/storage/limits.js';

/** A store under test and how to dispose of it. */
export interface StoreFixture { store: ObjectStore; cleanup(): Promise<void> }

/** The error `p` rejects with; fails the test when `p` resolves or rejects with a non-StorageError. */
export async function storageFailure(p: Promise<unknown>): Promise<StorageError> {
  let result: unknown;
  try {
    result = await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error(`expected a StorageError, but the call succeeded with ${String(result)}`);
}

/** Asserts `p` fails with a StorageError of `kind` about `name`. */
export async function expectKind(p: Promise<unknown>, kind: StorageErrorKind, name?: string): Promise<void> {
  const err = await storageFailure(p);
  expect(err.kind).toBe(kind);
  if (name !== undefined) expect(err.objectName).toBe(name);
}

/** Name and size of a listed or stat'ed object (its write time is checked on its own, below). */
export function nameAndSize(info: ObjectInfo): ObjectInfo;
export function nameAndSize(info: ObjectInfo | undefined): ObjectInfo | undefined;
export function nameAndSize(info: ObjectInfo | undefined): ObjectInfo | undefined {
  return info === undefined ? undefined : { name: info.name, size: info.size };
}

/** Name and size of every listed object under `prefix`, sorted by name. */
export async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(nameAndSize(info));
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Declares the conformance tests for one backend. */
export function storageSuite(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;
    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.store.close();
      await fixture.cleanup();
    });

    it('has a location', () => {
      expect(typeof store.location).toBe('string');
      expect(store.location.length).toBeGreaterThan(0);
    });

    it('round-trips put and get', async () => {
      await store.put('servers/ab/config', Buffer.from('hello vault'));
      const got = await store.get('servers/ab/config');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.toString()).toBe('hello vault');
    });

    it('stores an empty object', async () => {
      await store.put('empty', new Uint8Array(0));
      expect((await store.get('empty')).length).toBe(0);
      expect(nameAndSize(await store.stat('empty'))).toEqual({ name: 'empty', size: 0 });
      expect((await store.get('empty', { offset: 0, length: 0 })).length).toBe(0);
      await expectKind(store.get('empty', { offset: 0, length: 1 }), 'bad-range', 'empty');
    });

    it('keeps every byte value', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const data = Buffer.concat([all, Buffer.from(all).reverse(), Buffer.from([0, 0, 0xff, 0x0d, 0x0a, 0x1a, 0])]);
      await store.put('bin/all-bytes', data);
      expect((await store.get('bin/all-bytes')).equals(data)).toBe(true);
    });

    it('stores only the bytes of a Uint8Array view, not its whole ArrayBuffer', async () => {
      const backing = new Uint8Array(100).map((_, i) => i);
      await store.put('view', backing.subarray(10, 20));
      expect([...(await store.get('view'))]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    });

    it('reads byte ranges at the start, middle and end, and a zero-length range at the end', async () => {
      const data = Buffer.from('0123456789abcdef');
      await store.put('r', data);
      expect((await store.get('r', { offset: 0, length: 4 })).toString()).toBe('0123');
      expect((await store.get('r', { offset: 5, length: 6 })).toString()).toBe('56789a');
      expect((await store.get('r', { offset: 12, length: 4 })).toString()).toBe('cdef');
      expect((await store.get('r', { offset: 0, length: 16 })).equals(data)).toBe(true);
      expect((await store.get('r', { offset: 16, length: 0 })).length).toBe(0);
      expect((await store.get('r', { offset: 3, length: 0 })).length).toBe(0);
    });

    it('refuses ranges outside the object with bad-range', async () => {
      await store.put('r', Buffer.from('0123456789abcdef'));
      const bad = [
        { offset: 0, length: 17 },
        { offset: 15, length: 2 },
        { offset: 16, length: 1 },
        { offset: 17, length: 0 },
        { offset: -1, length: 2 },
        { offset: 0, length: -1 },
        { offset: 1.5, length: 2 },
        { offset: 0, length: 2.5 },
        { offset: Number.NaN, length: 1 },
        { offset: 0, length: Number.POSITIVE_INFINITY },
      ];
      for (const range of bad) await expectKind(store.get('r', range), 'bad-range', 'r');
      expect((await store.get('r')).toString()).toBe('0123456789abcdef');
    });

    it('reports a missing object as not-found, naming it', async () => {
      await expectKind(store.get('servers/ab/missing'), 'not-found', 'servers/ab/missing');
      await expectKind(store.get('nowhere/at/all', { offset: 0, length: 1 }), 'not-found', 'nowhere/at/all');
      await store.put('servers/ab/present', Buffer.from('x'));
      await expectKind(store.get('servers/ab/missing'), 'not-found', 'servers/ab/missing');
    });

    it('refuses a put on a taken name with exists and keeps the original', async () => {
      await store.put('locks/one', Buffer.from('original'));
      await expectKind(store.put('locks/one', Buffer.from('replacement')), 'exists', 'locks/one');
      await expectKind(store.put('locks/one', new Uint8Array(0)), 'exists', 'locks/one');
      expect((await store.get('locks/one')).toString()).toBe('original');
      expect(nameAndSize(await store.stat('locks/one'))).toEqual({ name: 'locks/one', size: 8 });
    });

    it('lets exactly one of many concurrent puts of one name win', async () => {
      const contents = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000 + i * 4099, i + 1));
      const results = await Promise.allSettled(contents.map((c) => store.put('race/target', c)));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(StorageError);
          expect((r.reason as StorageError).kind).toBe('exists');
        }
      }
      const stored = await store.get('race/target');
      expect(stored.equals(contents[winners[0]!]!)).toBe(true);
      expect(await listAll(store, 'race/')).toEqual([{ name: 'race/target', size: stored.length }]);
    });

    it('stats present and absent objects', async () => {
      await store.put('servers/ab/index/i1', Buffer.alloc(1234, 7));
      expect(nameAndSize(await store.stat('servers/ab/index/i1'))).toEqual({ name: 'servers/ab/index/i1', size: 1234 });
      expect(await store.stat('servers/ab/index/i2')).toBeUndefined();
      expect(await store.stat('nowhere/i1')).toBeUndefined();
    });

    it('gives the time of the last write in stat and list (an unreadable lock goes stale by it)', async () => {
      const before = Date.now();
      await store.put('servers/ab/locks/l9', Buffer.from('{}'));
      const after = Date.now();
      const listed: ObjectInfo[] = [];
      for await (const info of store.list('servers/ab/locks/')) listed.push(info);
      for (const info of [await store.stat('servers/ab/locks/l9'), listed[0]]) {
        // Stores keep whole seconds (Azure's Last-Modified) and may run on another clock: a wide window.
        expect(info?.modified).toBeGreaterThanOrEqual(before - 5_000);
        expect(info?.modified).toBeLessThanOrEqual(after + 5_000);
      }
    });

    describe('list', () => {
      const objects: Record<string, number> = {
        'vault.json': 2,
        'servers/ab/server.json': 11,
        'servers/ab/packs/cd/cd01': 3,
        'servers/ab/packs/cd/cd02': 0,
        'servers/ab/packs/ef/ef01': 5,
        'servers/ab/points/p1': 7,
        'servers/abc/server.json': 1,
      };
      const expected = (...names: string[]) =>
        names.sort().map((n) => ({ name: n, size: objects[n]! }));
      beforeEach(async () => {
        for (const [n, size] of Object.entries(objects)) await store.put(n, Buffer.alloc(size, 0x61));
      });

      it('lists everything for the empty prefix', async () => {
        expect(await listAll(store, '')).toEqual(expected(...Object.keys(objects)));
      });

      it('lists a folder prefix, including nested names', async () => {
        expect(await listAll(store, 'servers/ab/packs/')).toEqual(
          expected('servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02', 'servers/ab/packs/ef/ef01'));
        expect(await listAll(store, 'servers/ab/')).toEqual(expected(
          'servers/ab/server.json', 'servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02',
          'servers/ab/packs/ef/ef01', 'servers/ab/points/p1'));
        expect(await listAll(store, 'servers/ab/packs/cd/')).toEqual(
          expected('servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02'));
      });

      it('lists a prefix that ends inside a segment', async () => {
        expect(await listAll(store, 'servers/ab/pa')).toEqual(
          expected('servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02', 'servers/ab/packs/ef/ef01'));
        expect(await listAll(store, 'servers/ab')).toEqual(expected(
          'servers/ab/server.json', 'servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02',
          'servers/ab/packs/ef/ef01', 'servers/ab/points/p1', 'servers/abc/server.json'));
        expect(await listAll(store, 'servers/ab/packs/cd/cd0')).toEqual(
          expected('servers/ab/packs/cd/cd01', 'servers/ab/packs/cd/cd02'));
        expect(await listAll(store, 'v')).toEqual(expected('vault.json'));
      });

      it('lists an exact object name as a prefix', async () => {
        expect(await listAll(store, 'vault.json')).toEqual(expected('vault.json'));
        expect(await listAll(store, 'servers/ab/points/p1')).toEqual(expected('servers/ab/points/p1'));
      });

      it('lists nothing for a prefix with no objects', async () => {
        expect(await listAll(store, 'servers/zz/')).toEqual([]);
        expect(await listAll(store, 'servers/zz')).toEqual([]);
        expect(await listAll(store, 'servers/ab/locks/')).toEqual([]);
        expect(await listAll(store, 'servers/ab/packs/cd/cd03')).toEqual([]);
        expect(await listAll(store, 'nothing/deeper/still/')).toEqual([]);
        // An object, not a folder: nothing is "under" it.
        expect(await listAll(store, 'vault.json/')).toEqual([]);
        expect(await listAll(store, 'vault.json/x')).toEqual([]);
      });

      it('no longer lists a deleted object', async () => {
        await store.delete('servers/ab/packs/cd/cd01');
        expect(await listAll(store, 'servers/ab/packs/')).toEqual(
          expected('servers/ab/packs/cd/cd02', 'servers/ab/packs/ef/ef01'));
      });
    });

    it('deletes an object; get is then not-found and the name can be put again', async () => {
      await store.put('servers/ab/locks/l1', Buffer.from('lock'));
      await store.delete('servers/ab/locks/l1');
      await expectKind(store.get('servers/ab/locks/l1'), 'not-found', 'servers/ab/locks/l1');
      expect(await store.stat('servers/ab/locks/l1')).toBeUndefined();
      await store.put('servers/ab/locks/l1', Buffer.from('again'));
      expect((await store.get('servers/ab/locks/l1')).toString()).toBe('again');
    });

    it('deletes an absent object without error', async () => {
      await expect(store.delete('servers/ab/locks/never')).resolves.toBeUndefined();
      await expect(store.delete('never-a-folder/x')).resolves.toBeUndefined();
      await store.put('a', Buffer.from('1'));
      await store.delete('a');
      await expect(store.delete('a')).resolves.toBeUndefined();
    });

    it('refuses invalid names with invalid-name in put, get, stat and delete', async () => {
      const invalid = ['', '/a', 'a/', 'a//b', '../x', 'a/../b', './a', 'a/./b', '.', '..', 'a\\b', 'a b', 'a\0b', 'é', 'a:b', 'x'.repeat(1025)];
      for (const n of invalid) {
        await expectKind(store.put(n, Buffer.from('x')), 'invalid-name', n);
        await expectKind(store.get(n), 'invalid-name', n);
        await expectKind(store.get(n, { offset: 0, length: 0 }), 'invalid-name', n);
        await expectKind(store.stat(n), 'invalid-name', n);
        await expectKind(store.delete(n), 'invalid-name', n);
      }
      expect(await listAll(store, '')).toEqual([]);
    });

    it('refuses invalid list prefixes with invalid-name', async () => {
      for (const p of ['/', '/a', 'a//', '../', 'a/../b', 'a b']) await expectKind(listAll(store, p), 'invalid-name');
    });

    it('refuses to read a whole object larger than its kind may be (too-large), but stats it and reads a small range', async () => {
      const name = 'servers/ab/locks/big';
      await store.put(name, Buffer.alloc(MAX_SMALL_OBJECT + 1, 0x20));
      await expectKind(store.get(name), 'too-large', name);
      expect(nameAndSize(await store.stat(name))).toEqual({ name, size: MAX_SMALL_OBJECT + 1 });
      expect((await store.get(name, { offset: 0, length: 16 })).length).toBe(16);
      await store.put('servers/ab/locks/edge', Buffer.alloc(MAX_SMALL_OBJECT, 0x20));
      expect((await store.get('servers/ab/locks/edge')).length).toBe(MAX_SMALL_OBJECT);
    });

    it('round-trips a 20 MiB object and reads a range from its middle', async () => {
      const big = randomBytes(20 * 1024 * 1024);
      await store.put('servers/ab/packs/00/big', big);
      expect(nameAndSize(await store.stat('servers/ab/packs/00/big'))).toEqual({ name: 'servers/ab/packs/00/big', size: big.length });
      expect((await store.get('servers/ab/packs/00/big')).equals(big)).toBe(true);
      const offset = 10 * 1024 * 1024 - 123;
      const length = 1024 * 1024 + 7;
      const part = await store.get('servers/ab/packs/00/big', { offset, length });
      expect(part.length).toBe(length);
      expect(part.equals(big.subarray(offset, offset + length))).toBe(true);
      const tail = await store.get('servers/ab/packs/00/big', { offset: big.length - 4, length: 4 });
      expect(tail.equals(big.subarray(big.length - 4))).toBe(true);
    });
  });
}
