import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../core/storage/memory.js';
import { listAll, storageSuite } from './suite.js';

storageSuite('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

describe('MemoryStore', () => {
  it('is not changed by mutating the buffer given to put', async () => {
    const store = new MemoryStore();
    const data = Buffer.from('original');
    await store.put('a', data);
    data.fill(0x21);
    expect((await store.get('a')).toString()).toBe('original');
    const view = new Uint8Array([1, 2, 3, 4]);
    await store.put('b', view.subarray(1, 3));
    view.fill(9);
    expect([...(await store.get('b'))]).toEqual([2, 3]);
  });

  it('is not changed by mutating a buffer returned by get, whole or ranged', async () => {
    const store = new MemoryStore();
    await store.put('a', Buffer.from('original'));
    (await store.get('a')).fill(0x21);
    (await store.get('a', { offset: 2, length: 3 })).fill(0x21);
    expect((await store.get('a')).toString()).toBe('original');
    expect(await listAll(store, '')).toEqual([{ name: 'a', size: 8 }]);
  });

  it('keeps separate instances separate', async () => {
    const one = new MemoryStore();
    const two = new MemoryStore();
    await one.put('x', Buffer.from('1'));
    expect(await two.stat('x')).toBeUndefined();
    await two.put('x', Buffer.from('2'));
    expect((await one.get('x')).toString()).toBe('1');
  });
});
