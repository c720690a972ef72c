// The file-metadata cache (core/backup/file-cache.ts): only a cache, so damage rebuilds it (with a
// warning) instead of failing the backup; a cache location that cannot be written is a coded error.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { FileCache } from '../../core/backup/file-cache.js';
import { onlyError, resultOf } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';
import { registeredServer } from '../helpers/vault-fixture.js';

const entry = { dev: '1', ino: '2', size: 3, mtimeNs: '4', ctimeNs: '5', content: ['ab'.repeat(32)], sparse: false, digest: 'cd'.repeat(32) };

describe('file cache', () => {
  it('keeps entries across opens', () => {
    const dir = tempDir();
    const cache = new FileCache(join(dir, 'files.db'));
    cache.put(Buffer.from('/a'), entry);
    cache.close();
    const again = new FileCache(join(dir, 'files.db'));
    expect(again.get(Buffer.from('/a'))).toEqual(entry);
    expect(again.get(Buffer.from('/b'))).toBeUndefined();
    again.close();
  });

  it('drops the chunk lists of engines before format 2, so every file is read again once', () => {
    const dir = tempDir();
    const path = join(dir, 'files.db');
    const old = new DatabaseSync(path);
    old.exec('CREATE TABLE files (path BLOB PRIMARY KEY, dev TEXT, ino TEXT, size INTEGER, mtime_ns TEXT, ctime_ns TEXT, content TEXT, sparse INTEGER) WITHOUT ROWID');
    old.prepare('INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(Buffer.from('/a'), '1', '2', 3, '4', '5', JSON.stringify(entry.content), 0);
    old.close();
    const cache = new FileCache(path);
    expect(cache.get(Buffer.from('/a'))).toBeUndefined();
    cache.close();
    const tables = new DatabaseSync(path).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => (r as { name: string }).name);
    expect(tables).toEqual(['files_v2']);
  });

  it("treats a row that breaks a file node's invariants as a miss", () => {
    const dir = tempDir();
    const cache = new FileCache(join(dir, 'files.db'));
    cache.put(Buffer.from('/a'), { ...entry, digest: 'not hex' });
    cache.put(Buffer.from('/b'), { ...entry, content: ['short'] });
    expect(cache.get(Buffer.from('/a'))).toBeUndefined();
    expect(cache.get(Buffer.from('/b'))).toBeUndefined();
    cache.close();
  });

  it('moves a damaged cache aside and starts a new one, saying so', () => {
    const dir = tempDir();
    const path = join(dir, 'files.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a)); // not a database
    const rebuilt: string[] = [];
    const cache = new FileCache(path, (movedTo) => rebuilt.push(movedTo));
    expect(rebuilt).toHaveLength(1);
    expect(existsSync(rebuilt[0]!)).toBe(true);
    cache.put(Buffer.from('/a'), entry);
    expect(cache.get(Buffer.from('/a'))).toEqual(entry);
    cache.close();
  });

  it('refuses a cache location that cannot be written, with AZB_CACHE_UNUSABLE', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    expect(() => new FileCache(join(dir, 'not-a-folder', 'files.db'))).toThrow(expect.objectContaining({ code: 'AZB_CACHE_UNUSABLE' }));
  });

  it('in a backup: a damaged cache costs one full read, a warning and exit 3, never the backup', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'some content');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const db = readdirSync(join(fx.root, 'cache'), { recursive: true }).map(String).find((p) => p.endsWith('files.db'))!;
    writeFileSync(join(fx.root, 'cache', db), Buffer.alloc(8192, 0x5a));
    const run = await fx.az(['backup', src]);
    expect(run.code, run.stdout.slice(-400)).toBe(3);
    expect(run.events.some((e) => e.type === 'warning' && e.code === 'AZB_CACHE_REBUILT')).toBe(true);
    // The file was read again, found in the vault, and nothing new was stored.
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ filesUnchanged: 0, bytesAdded: 0 });
    const next = await fx.az(['backup', src]);
    expect(next.code).toBe(0);
    expect(resultOf(next, 'RecoveryPoint')).toMatchObject({ filesUnchanged: 1 });
    // A cache location that is a file: a coded error, nothing written to the vault.
    writeFileSync(join(fx.root, 'cache-file'), 'x');
    expect(onlyError(await fx.az(['backup', src], { env: { AZBACKUP_CACHE: join(fx.root, 'cache-file') } })).code).toBe('AZB_CACHE_UNUSABLE');
  });
});

describe('file cache modes', () => {
  it('is owner-only whatever the umask (it names every file backed up)', () => {
    const dir = tempDir();
    const old = process.umask(0);
    try {
      const cache = new FileCache(join(dir, 'sub', 'files.db'));
      cache.put(Buffer.from('/a'), entry);
      cache.close();
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'sub', 'files.db')).mode & 0o777).toBe(0o600);
  });
});
