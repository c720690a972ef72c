import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalFolderStore, TEMP_PREFIX, openLocalFolderStore } from '../../core/storage/local.js';
import { tempDir } from '../helpers/tmp.js';
import { expectKind, listAll, storageSuite } from './suite.js';

storageSuite('LocalFolderStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'azb-store-'));
  return { store: await openLocalFolderStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

/** Every file under `dir`, as `/`-separated paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split(/[\\/]/).join('/'))
    .sort();
}

describe('LocalFolderStore', () => {
  const base = tempDir('azb-local-');
  let root: string;
  let store: LocalFolderStore;
  let n = 0;
  beforeEach(async () => {
    root = join(base, `root${n++}`);
    mkdirSync(root);
    store = await openLocalFolderStore(root);
  });

  it('keeps an object as a file at its name under the root', async () => {
    expect(store.location).toBe(root);
    await store.put('servers/ab/packs/cd/cd01', Buffer.from('pack bytes'));
    expect(readFileSync(join(root, 'servers', 'ab', 'packs', 'cd', 'cd01'), 'utf8')).toBe('pack bytes');
    expect(filesUnder(root)).toEqual(['servers/ab/packs/cd/cd01']);
  });

  it('leaves no temp file behind, after successful and failed puts', async () => {
    await store.put('vault.json', Buffer.from('{}'));
    await store.put('servers/ab/config', Buffer.from('c'));
    await store.put('servers/ab/packs/00/p1', Buffer.alloc(100_000, 1));
    await expectKind(store.put('servers/ab/config', Buffer.from('other')), 'exists');
    await expectKind(store.put('vault.json', Buffer.from('other')), 'exists');
    // A put that fails before linking: the parent "folder" is an object.
    await expectKind(store.put('vault.json/x', Buffer.from('x')), 'io');
    await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.put('servers/ab/race', Buffer.from([i]))));
    expect(filesUnder(root)).toEqual(['servers/ab/config', 'servers/ab/packs/00/p1', 'servers/ab/race', 'vault.json']);
  });

  it('opens only an existing folder: missing or file roots are unavailable', async () => {
    await expectKind(openLocalFolderStore(join(base, 'no-such-folder')), 'unavailable');
    await expectKind(openLocalFolderStore(join(base, 'no-such-folder', 'deeper')), 'unavailable');
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a folder');
    await expectKind(openLocalFolderStore(file), 'unavailable');
    await expectKind(openLocalFolderStore(join(file, 'below')), 'unavailable');
  });

  it('opens a relative root as its absolute path', async () => {
    const opened = await openLocalFolderStore(relative(process.cwd(), root));
    expect(opened.location).toBe(root);
    await opened.put('x', Buffer.from('1'));
    expect((await store.get('x')).toString()).toBe('1');
  });

  it('does not report a non-ENOENT failure as not-found', async () => {
    await store.put('a', Buffer.from('a file'));
    // The parent of 'a/b' is a file: ENOTDIR, which is an I/O problem, not an absent object.
    await expectKind(store.get('a/b'), 'io', 'a/b');
    await expectKind(store.get('a/b', { offset: 0, length: 1 }), 'io', 'a/b');
    await expectKind(store.stat('a/b'), 'io', 'a/b');
    // A folder where an object would be: EISDIR (or a non-file), also I/O.
    await store.put('d/e', Buffer.from('e'));
    await expectKind(store.get('d'), 'io', 'd');
    await expectKind(store.stat('d'), 'io', 'd');
    await expectKind(store.delete('d'), 'io', 'd');
    expect((await store.get('d/e')).toString()).toBe('e');
  });

  it('never lists temp files or entries that are not valid object names', async () => {
    await store.put('servers/ab/packs/00/p1', Buffer.from('p1'));
    writeFileSync(join(root, 'servers', 'ab', 'packs', '00', '.tmp-abc'), 'partial');
    writeFileSync(join(root, '.tmp-0123456789abcdef'), 'partial');
    writeFileSync(join(root, 'servers', 'ab', 'notes 1.txt'), 'a stray file');
    mkdirSync(join(root, 'servers', 'ab', 'bad name'));
    writeFileSync(join(root, 'servers', 'ab', 'bad name', 'x'), 'under a folder that is no valid segment');
    const only = [{ name: 'servers/ab/packs/00/p1', size: 2 }];
    expect(await listAll(store, '')).toEqual(only);
    expect(await listAll(store, 'servers/ab/')).toEqual(only);
    expect(await listAll(store, 'servers/ab/packs/00/')).toEqual(only);
    expect(await listAll(store, 'servers/ab/packs/00/.tmp')).toEqual([]);
    expect(await listAll(store, '.tmp-')).toEqual([]);
  });

  it('refuses names whose last segment is reserved for temp files', async () => {
    writeFileSync(join(root, '.tmp-abc'), 'partial');
    await expectKind(store.get('.tmp-abc'), 'invalid-name', '.tmp-abc');
    await expectKind(store.stat('.tmp-abc'), 'invalid-name', '.tmp-abc');
    await expectKind(store.delete('.tmp-abc'), 'invalid-name', '.tmp-abc');
    await expectKind(store.put(`servers/ab/${TEMP_PREFIX}x`, Buffer.from('x')), 'invalid-name');
    expect(existsSync(join(root, '.tmp-abc'))).toBe(true);
    // Only the last segment is reserved: a folder of that name is harmless.
    await store.put('.tmp-dir/x', Buffer.from('x'));
    expect(await listAll(store, '.tmp-dir/')).toEqual([{ name: '.tmp-dir/x', size: 1 }]);
  });

  it('reports a vanished root as unavailable, not as a missing object, and does not recreate it', async () => {
    await store.put('servers/ab/config', Buffer.from('c'));
    rmSync(root, { recursive: true });
    await expectKind(store.get('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(store.stat('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(store.delete('servers/ab/config'), 'unavailable', 'servers/ab/config');
    await expectKind(listAll(store, 'servers/'), 'unavailable');
    await expectKind(listAll(store, ''), 'unavailable');
    await expectKind(store.put('servers/ab/config', Buffer.from('c')), 'unavailable', 'servers/ab/config');
    expect(existsSync(root)).toBe(false);
  });

  it('serves ranged reads from cached handles correctly: many objects, concurrent reads, delete', async () => {
    {
      const objects = Array.from({ length: 40 }, (_, i) => Buffer.from(`object ${i} `.repeat(200 + i)));
      await Promise.all(objects.map((o, i) => store.put(`packs/o${i}`, o)));
      // More objects than cached handles, read in an interleaved order, many reads in flight at once.
      const reads = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < objects.length; i++) reads.push(store.get(`packs/o${i}`, { offset: 7 + round, length: 50 }).then((b) => b.equals(objects[i]!.subarray(7 + round, 57 + round))));
      }
      expect((await Promise.all(reads)).every(Boolean)).toBe(true);
      await store.delete('packs/o3');
      await expectKind(store.get('packs/o3', { offset: 0, length: 5 }), 'not-found', 'packs/o3');
      await store.close();
    }
  });
});

describe('LocalFolderStore.putFile (staged packs)', () => {
  const base = tempDir('azb-putfile-');
  /** A new vault folder under the test folder, opened. */
  const vaultAt = async (name: string) => { mkdirSync(join(base, name)); return openLocalFolderStore(join(base, name)); };
  /** A staged file of random bytes; returns them. */
  const stage = (path: string, size: number) => { const data = randomBytes(size); writeFileSync(path, data); return data; };

  it('links a staged file under the object name without changing it, create-only', async () => {
    const store = await vaultAt('v1');
    const staged = join(base, 'staged1');
    const data = stage(staged, 100_000);
    await store.putFile('servers/ab/packs/cd/obj', staged);
    expect((await store.get('servers/ab/packs/cd/obj')).equals(data)).toBe(true);
    // Same file system: the object is the staged file itself (one inode, two names), not a copy.
    expect(statSync(staged).ino).toBe(statSync(join(base, 'v1', 'servers', 'ab', 'packs', 'cd', 'obj')).ino);
    expect(readFileSync(staged).equals(data)).toBe(true);
    const other = join(base, 'staged2');
    writeFileSync(other, 'different');
    await expectKind(store.putFile('servers/ab/packs/cd/obj', other), 'exists');
    expect((await store.get('servers/ab/packs/cd/obj')).equals(data)).toBe(true);
    expect(filesUnder(join(base, 'v1')).filter((f) => f.includes(TEMP_PREFIX))).toEqual([]);
  });

  it('copies a staged file from another file system (no hard link across them)', async () => {
    // /dev/shm is a tmpfs on Linux, the test's temp folder is not: link() fails with EXDEV.
    const shm = mkdtempSync('/dev/shm/azb-putfile-');
    try {
      const store = await vaultAt('v2');
      expect(statSync(shm).dev).not.toBe(statSync(join(base, 'v2')).dev);
      const staged = join(shm, 'pack');
      const data = stage(staged, 300_000);
      await store.putFile('packs/ab/copied', staged);
      expect((await store.get('packs/ab/copied')).equals(data)).toBe(true);
      expect(statSync(join(base, 'v2', 'packs', 'ab', 'copied')).dev).not.toBe(statSync(staged).dev);
      expect(filesUnder(join(base, 'v2')).filter((f) => f.includes(TEMP_PREFIX))).toEqual([]);
      await expectKind(store.putFile('packs/ab/copied', staged), 'exists');
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('falls back to a copy into pack folders it creates, private, when no hard link can be made', async () => {
    // The fallback a vault on a file system without hard links takes (and Windows took when its flush
    // failed): the object's folders are made first, and the copy is flushed and made owner-only.
    const shm = mkdtempSync('/dev/shm/azb-putfile-');
    try {
      const store = await vaultAt('v4');
      const staged = join(shm, 'pack');
      const data = stage(staged, 200_000);
      chmodSync(staged, 0o644);
      await store.putFile('servers/0123/packs/9f/pack1', staged);
      const object = join(base, 'v4', 'servers', '0123', 'packs', '9f', 'pack1');
      expect(readFileSync(object).equals(data)).toBe(true);
      expect(statSync(object).mode & 0o777).toBe(0o600);
      for (const folder of ['servers', 'servers/0123', 'servers/0123/packs', 'servers/0123/packs/9f']) {
        expect(statSync(join(base, 'v4', folder)).mode & 0o777, folder).toBe(0o700);
      }
      // The staged file is read, never changed, and the store leaves no temp file behind.
      expect(readFileSync(staged).equals(data)).toBe(true);
      expect(filesUnder(join(base, 'v4')).filter((f) => f.includes(TEMP_PREFIX))).toEqual([]);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('reports a staged file that is gone as an I/O failure, not a missing object', async () => {
    const store = await vaultAt('v3');
    await expectKind(store.putFile('packs/ab/none', join(base, 'no-such-staged-file')), 'io');
    expect(filesUnder(join(base, 'v3'))).toEqual([]);
  });
});
