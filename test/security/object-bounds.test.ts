// Objects far larger than any the engine writes: sparse files planted in a vault (gigabytes that cost
// nothing on disk, no key needed) and zstd bombs sealed with the key. The engine must refuse them by
// their size, naming them, without reading them whole or decompressing them without limit.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createZstdCompress } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encrypt } from '../../core/crypto/aead.js';
import { MAX_SEALED_PLAINTEXT, unsealJson } from '../../core/crypto/seal.js';
import { openServer } from '../../core/repo/server.js';
import { openVault } from '../../core/repo/vault.js';
import { MAX_PACK_FOOTER, PACK_MAGIC, PackError, readPackFooter } from '../../core/repo/pack.js';
import { MAX_INDEX_SIZE, MAX_PACK_SIZE } from '../../core/storage/limits.js';
import { openLocalFolderStore } from '../../core/storage/local.js';
import { ENGINE_PATH, parseEvents, type EngineRun } from '../helpers/engine.js';
import { memoryServer } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { expectKind } from '../storage/suite.js';

const MiB = 1024 * 1024;

/** Runs the engine like fx.az under /usr/bin/time, and returns the run with its peak resident memory. */
async function azMeasured(fx: VaultFixture, args: string[]): Promise<EngineRun & { peakMiB: number }> {
  const child = spawn('/usr/bin/time', ['-f', 'AZB_PEAK_RSS_KB=%M', ENGINE_PATH, ...args, '--json'], { env: { ...process.env, ...fx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const [code] = await once(child, 'close') as [number];
  const peak = /AZB_PEAK_RSS_KB=(\d+)/.exec(stderr);
  expect(peak, stderr).not.toBeNull();
  return { code, stdout, stderr, events: parseEvents(stdout), peakMiB: Number(peak![1]) / 1024 };
}

/** A registered server with one backup; returns the fixture and its namespace folder. */
async function backedUp(): Promise<{ fx: VaultFixture; serverId: string; ns: string }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'alpha '.repeat(1000));
  expect((await fx.az(['backup', src])).code).toBe(0);
  const serverId = readdirSync(join(fx.vault, 'servers'))[0]!;
  return { fx, serverId, ns: join(fx.vault, 'servers', serverId) };
}

/** A sparse file of `bytes` (holes only: nothing on disk). */
function sparseFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

/** zstd of `bytes` spaces, compressed as a stream (a few KiB; the plaintext is never in memory). */
async function zstdBomb(bytes: number): Promise<Buffer> {
  const z = createZstdCompress();
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const chunk = Buffer.alloc(MiB, 0x20);
  for (let done = 0; done < bytes; done += chunk.length) if (!z.write(chunk)) await once(z, 'drain');
  z.end();
  await once(z, 'end');
  return Buffer.concat(out);
}

const warningsOf = (run: EngineRun, code: string) => run.events.filter((e) => e.type === 'warning' && e.code === code) as { message: string; target?: string }[];

describe('objects larger than their kind may be', () => {
  it('eight sparse index files over the bound are refused unread, by name, and the point still lists', async () => {
    const { fx, serverId } = await backedUp();
    const planted: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = randomBytes(32).toString('hex');
      sparseFile(join(fx.vault, 'servers', serverId, 'index', id), MAX_INDEX_SIZE + 32 * MiB);
      planted.push(`servers/${serverId}/index/${id}`);
    }
    const run = await azMeasured(fx, ['ls', 'latest', '--recurse']);
    // Before: each was read whole, 8 at once (2.3 GiB here; 8.4 GB with 1 GiB files).
    expect(run.peakMiB).toBeLessThan(400);
    expect(run.events.some((e) => e.type === 'item')).toBe(true);
    const damaged = warningsOf(run, 'AZB_INDEX_DAMAGED');
    expect(damaged.map((w) => w.target).sort()).toEqual([...planted].sort());
    for (const w of damaged) expect(w.message).toContain(`more than the ${MAX_INDEX_SIZE}`);
  }, 120_000);

  it('a zstd bomb sealed as a recovery point (with the key) is refused after 16 MiB of plaintext', async () => {
    const { fx, serverId, ns } = await backedUp();
    const vault = await openVault(await openLocalFolderStore(fx.vault));
    const repo = await openServer(vault, serverId, fx.passphrase);
    const bomb = Buffer.concat([Buffer.from([1]), encrypt(repo.keys.seal, Buffer.from('azbackup-v1 point'), await zstdBomb(400 * MiB))]);
    const id = createHash('sha256').update(bomb).digest('hex');
    writeFileSync(join(ns, 'points', id), bomb);
    const run = await azMeasured(fx, ['points']);
    // Before: the 400 MiB were decompressed, turned into a string and parsed (over 1 GiB here).
    expect(run.peakMiB).toBeLessThan(300);
    expect(run.events.filter((e) => e.type === 'item')).toHaveLength(1); // the real point
    expect(warningsOf(run, 'AZB_POINT_DAMAGED')).toEqual([expect.objectContaining({ target: `servers/${serverId}/points/${id}`, message: expect.stringContaining('too-large') })]);
  }, 120_000);

  it('a zstd bomb sealed as an index file stops at the index plaintext bound', async () => {
    const { repo } = await memoryServer();
    const sealed = Buffer.concat([Buffer.from([1]), encrypt(repo.keys.seal, Buffer.from('azbackup-v1 index'), await zstdBomb(MAX_SEALED_PLAINTEXT.index + MiB))]);
    expect(unsealJson(repo.keys.seal, 'index', sealed)).toEqual({ failure: 'too-large' });
    const smallBomb = Buffer.concat([Buffer.from([1]), encrypt(repo.keys.seal, Buffer.from('azbackup-v1 config'), await zstdBomb(MiB))]);
    expect(unsealJson(repo.keys.seal, 'config', smallBomb)).toEqual({ failure: 'too-large' });
  }, 120_000);

  it('a folder store refuses whole and ranged reads beyond an object kind\'s bound, naming the object', async () => {
    const root = tempDir('azb-bounds-');
    const store = await openLocalFolderStore(root);
    mkdirSync(join(root, 'servers', 'ab', 'packs', 'cd'), { recursive: true });
    mkdirSync(join(root, 'servers', 'ab', 'locks'), { recursive: true });
    sparseFile(join(root, 'vault.json'), 1024 * MiB);
    sparseFile(join(root, 'servers', 'ab', 'locks', 'l1'), 64 * 1024 + 1);
    sparseFile(join(root, 'servers', 'ab', 'packs', 'cd', 'p1'), MAX_PACK_SIZE + MiB);
    await expectKind(store.get('vault.json'), 'too-large', 'vault.json');
    await expectKind(store.get('servers/ab/locks/l1'), 'too-large', 'servers/ab/locks/l1');
    await expectKind(store.get('servers/ab/packs/cd/p1'), 'too-large', 'servers/ab/packs/cd/p1');
    await expectKind(store.get('servers/ab/packs/cd/p1', { offset: 0, length: MAX_PACK_SIZE + 1 }), 'too-large', 'servers/ab/packs/cd/p1');
    expect((await store.get('servers/ab/packs/cd/p1', { offset: MAX_PACK_SIZE, length: 4 })).equals(Buffer.alloc(4))).toBe(true);
  });

  it('a pack footer declared larger than the footer bound is refused before it is decrypted', async () => {
    const { repo } = await memoryServer();
    const pack = Buffer.alloc(MAX_PACK_FOOTER + 4 * MiB);
    PACK_MAGIC.copy(pack);
    pack.writeUInt32LE(MAX_PACK_FOOTER + MiB, pack.length - 4);
    let failure: unknown;
    try { readPackFooter(repo.keys, pack); } catch (err) { failure = err; }
    expect(failure).toBeInstanceOf(PackError);
    expect((failure as PackError).failure).toBe('too-large');
  });
});
