// The folder store itself, with links and special files planted in a vault: every operation refuses
// them as `unsafe`, naming them, and nothing outside the vault is read, written, listed or deleted.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLocalFolderStore } from '../../core/storage/local.js';
import { expectKind, listAll } from '../storage/suite.js';
import { tempDir } from '../helpers/tmp.js';

/** A vault folder and, beside it, a folder a planted link points into. */
async function planted() {
  const base = tempDir('azb-unsafe-');
  const root = join(base, 'vault');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'outside the vault');
  const store = await openLocalFolderStore(root);
  return { root, outside, store };
}

describe('LocalFolderStore with planted links and special files', () => {
  it('refuses a link as an object: get, ranged get, stat, delete, put', async () => {
    const { root, outside, store } = await planted();
    mkdirSync(join(root, 'locks'));
    symlinkSync(join(outside, 'victim'), join(root, 'locks', 'l1'));
    await expectKind(store.get('locks/l1'), 'unsafe', 'locks/l1');
    await expectKind(store.get('locks/l1', { offset: 0, length: 3 }), 'unsafe', 'locks/l1');
    await expectKind(store.stat('locks/l1'), 'unsafe', 'locks/l1');
    await expectKind(store.delete('locks/l1'), 'unsafe', 'locks/l1');
    await expectKind(store.put('locks/l1', Buffer.from('x')), 'unsafe', 'locks/l1');
    await expectKind(listAll(store, 'locks/'), 'unsafe', 'locks/l1');
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('outside the vault');
  });

  it('refuses a link as a folder on the way to an object, naming the folder', async () => {
    const { root, outside, store } = await planted();
    mkdirSync(join(root, 'servers', 'ab'), { recursive: true });
    symlinkSync(outside, join(root, 'servers', 'ab', 'index'));
    await expectKind(store.get('servers/ab/index/victim'), 'unsafe', 'servers/ab/index');
    await expectKind(store.stat('servers/ab/index/victim'), 'unsafe', 'servers/ab/index');
    await expectKind(store.delete('servers/ab/index/victim'), 'unsafe', 'servers/ab/index');
    await expectKind(store.put('servers/ab/index/new', Buffer.from('x')), 'unsafe', 'servers/ab/index');
    await expectKind(listAll(store, 'servers/ab/index/'), 'unsafe', 'servers/ab/index');
    await expectKind(listAll(store, 'servers/'), 'unsafe', 'servers/ab/index');
    expect(await store.sweepTemporary('servers/ab/index/', 0)).toBe(0);
    expect(readdirSync(outside)).toEqual(['victim']);
  });

  it('refuses a FIFO and a socket without blocking on them', async () => {
    const { root, store } = await planted();
    expect(spawnSync('mkfifo', [join(root, 'vault.json')]).status).toBe(0);
    await expectKind(store.get('vault.json'), 'unsafe', 'vault.json');
    await expectKind(store.stat('vault.json'), 'unsafe', 'vault.json');
    await expectKind(store.delete('vault.json'), 'unsafe', 'vault.json');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      await expectKind(store.get('sock'), 'unsafe', 'sock');
      await expectKind(listAll(store, ''), 'unsafe');
    } finally {
      server.close();
    }
    expect(statSync(join(root, 'vault.json')).isFIFO()).toBe(true);
  });

  it('creates folders 0700 and files 0600, also for staged files put by link', async () => {
    const { root, outside, store } = await planted();
    await store.put('servers/ab/keys/k1', Buffer.from('key'));
    const staged = join(outside, 'staged-pack');
    writeFileSync(staged, 'pack bytes', { mode: 0o644 });
    await store.putFile('servers/ab/packs/cd/p1', staged);
    for (const [path, mode] of [['servers', 0o700], ['servers/ab', 0o700], ['servers/ab/keys', 0o700], ['servers/ab/keys/k1', 0o600], ['servers/ab/packs/cd', 0o700], ['servers/ab/packs/cd/p1', 0o600]] as const) {
      expect((statSync(join(root, path)).mode & 0o777).toString(8), path).toBe(mode.toString(8));
    }
  });
});
