// Interrupted and concurrent backups through the built engine: a killed backup leaves no point and its
// uploaded packs are reused; two backups of one server, or backup and prune, never run together.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobSaver, stagingError } from '../../core/backup/blob-saver.js';
import { encodeBlobBody } from '../../core/repo/pack.js';
import { ENGINE_PATH, onlyError, parseEvents, resultOf, startEngine } from '../helpers/engine.js';
import { memoryServer } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const packs = (vault: string) => listTree(vault).filter((l) => l.includes('/packs/') && !l.includes('/.tmp-'));
const packBytes = (vault: string) => packs(vault).reduce((n, l) => n + Number(l.split(':')[1]), 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bigSource(fx: VaultFixture, mib: number): string {
  const src = join(fx.root, 'src');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < mib / 8; i++) writeFileSync(join(src, `part${i}.bin`), randomBytes(8 * 1024 * 1024));
  return src;
}

/** Starts a backup in the background; resolves with its exit code and stdout when it ends. */
function startBackup(fx: VaultFixture, src: string) {
  const child = spawn(ENGINE_PATH, ['backup', src, '--json'], { env: { ...process.env, ...fx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout })));
  return { child, done };
}

async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe('interrupted and concurrent backups', () => {
  it('resumes after a kill: no recovery point from the killed run, no pack uploaded twice', async () => {
    const fx = await registeredServer();
    // A stream backup fed by the test: it is still running (waiting for data) when it is killed.
    const data = randomBytes(160 * 1024 * 1024);
    const run = startEngine(['backup', '--stdin', '--stdin-name', 'big.bin', '--json'], fx.env);
    run.write(data.subarray(0, 100 * 1024 * 1024));
    await waitFor(() => packs(fx.vault).length >= 2);
    run.child.kill('SIGKILL');
    await run.done;
    const pointsDir = readdirSync(fx.vault, { recursive: true }).map(String).filter((p) => p.includes('/points/') && !p.endsWith('/points'));
    expect(pointsDir).toEqual([]);
    const uploadedBefore = packs(fx.vault).length;
    expect(uploadedBefore).toBeGreaterThanOrEqual(2);
    // The killed run left its open pack in the staging folder of the cache location.
    const staging = readdirSync(fx.env['AZBACKUP_CACHE']!).map((d) => join(fx.env['AZBACKUP_CACHE']!, d, 'packs'));
    expect(staging).toHaveLength(1);
    expect(readdirSync(staging[0]!).length).toBeGreaterThanOrEqual(1);

    const second = await fx.az(['backup', '--stdin', '--stdin-name', 'big.bin'], { stdin: data });
    expect(second.code, second.stdout).toBe(0);
    expect(second.events.some((e) => e.type === 'log' && /Indexed \d+ pack\(s\) left by an interrupted backup/.test(e.message))).toBe(true);
    // Random data does not compress: every byte stored once means pack bytes ≈ data size.
    expect(packBytes(fx.vault)).toBeLessThan(data.length * 1.01 + 1024 * 1024);
    const p = resultOf(second, 'RecoveryPoint');
    expect(Number(p['bytesAdded'])).toBeLessThan(data.length);
    // The next run cleared what the killed one staged, and left nothing staged itself.
    expect(readdirSync(staging[0]!)).toEqual([]);
    // The killed run's job is reported as failed, not running forever.
    const jobs = (await fx.az(['jobs'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { status: string } }).data.status);
    expect(jobs).toEqual(['Completed', 'Failed']);
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(fx.root, 'r', 'big.bin')).equals(data)).toBe(true);
  }, 120_000);

  it('refuses a second backup of the same server while one runs', async () => {
    const fx = await registeredServer();
    const src = bigSource(fx, 8);
    const first = startEngine(['backup', '--stdin', '--stdin-name', 'dump.sql', '--json'], fx.env);
    first.write(Buffer.from('INSERT INTO t VALUES (1);\n'.repeat(1000)));
    await waitFor(() => listTree(fx.vault).some((l) => l.includes('/locks/')));
    const second = await fx.az(['backup', src]);
    first.end();
    const end = await first.done;
    expect(onlyError(second).code).toBe('AZB_BACKUP_RUNNING');
    expect(end.code, end.stdout.slice(-300)).toBe(0);
  }, 120_000);

  it('never loses data when prune runs during a backup', async () => {
    const fx = await registeredServer();
    const src = bigSource(fx, 64);
    // An older point to forget, so prune has something to delete.
    mkdirSync(join(fx.root, 'old'));
    writeFileSync(join(fx.root, 'old', 'gone.bin'), randomBytes(1024 * 1024));
    const old = String(resultOf(await fx.az(['backup', join(fx.root, 'old')]), 'RecoveryPoint')['pointId']);
    await fx.az(['forget', '--permanent', old]);
    const backup = startBackup(fx, src);
    await waitFor(() => packs(fx.vault).length >= 2);
    const prune = await fx.az(['prune']);
    const b = await backup.done;
    // Whichever got the lock first, the other was refused or ran after it; nothing is lost.
    if (prune.code !== 0) expect(onlyError(prune).code).toBe('AZB_VAULT_LOCKED');
    expect(b.code, b.stdout.slice(-500)).toBe(0);
    expect((await fx.az(['prune'])).code).toBe(0);
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout.slice(-1000)).toBe(0);
    const target = join(fx.root, 'r');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    for (const f of readdirSync(src)) expect(readFileSync(join(target, src, f)).equals(readFileSync(join(src, f)))).toBe(true);
    expect(existsSync(join(target, fx.root, 'old'))).toBe(false);
    void parseEvents;
  }, 120_000);
});

describe('pack uploads in flight', () => {
  // Pack puts on this in-memory vault wait until the test releases them, one at a time. Blobs go in
  // already encoded and packs are assembled in memory, so between two releases the saver runs on
  // promises alone: when the event loop gets to the next macrotask (setImmediate), the saver has started
  // every upload it is going to start and waits for one to end. No timing is involved.
  /** 96 blobs of 1 MiB: fifteen fit a 16 MiB pack, so six full packs and a seventh. */
  const PACKS_OF_96_MIB = 7;
  async function packUploadsInFlight(uploadConcurrency: number | undefined, limit: number): Promise<{ inFlight: number[]; packs: number }> {
    const { store, repo } = await memoryServer();
    if (uploadConcurrency !== undefined) Object.assign(store, { uploadConcurrency });
    const put = store.put.bind(store);
    const held: (() => void)[] = [];
    let packs = 0;
    store.put = async (name: string, data: Uint8Array) => {
      if (!name.includes('/packs/')) return put(name, data);
      packs++;
      await new Promise<void>((release) => held.push(release));
      return put(name, data);
    };
    const saver = new BlobSaver(repo);
    let ended = false;
    const run = (async () => {
      for (let i = 0; i < 96; i++) { // 96 MiB of random data: six full 16 MiB packs and a seventh
        const chunk = randomBytes(1024 * 1024);
        await saver.saveEncoded('data', repo.blobId(chunk), encodeBlobBody(chunk), chunk.length);
      }
      await saver.finish(true);
    })().finally(() => { ended = true; });
    const inFlight: number[] = [];
    for (let released = 0; ; released++) {
      // Sealing a pack may finish on the thread pool, later under load: wait (by turns, not by a clock
      // the assertion depends on) until as many uploads as allowed have started, then one turn more so
      // that an upload over the limit would show too.
      const want = Math.min(limit, PACKS_OF_96_MIB - released);
      for (let turns = 0; held.length < want && turns < 100_000; turns++) await new Promise((r) => (turns < 100 ? setImmediate(r) : setTimeout(r, 1)));
      await new Promise((r) => setImmediate(r));
      if (held.length === 0) break;
      inFlight.push(held.length); // uploads started and not yet ended, with the saver waiting
      held.shift()!();
    }
    expect(ended).toBe(true); // nothing in flight, so the saver did not wait for anything: it ended
    await run;
    expect(saver.stats.packsUploaded).toBe(packs);
    return { inFlight, packs };
  }

  it('follows the store\'s upload concurrency (the machine setting for cloud vaults), 2 by default', async () => {
    for (const [setting, limit] of [[3, 3], [undefined, 2], [1, 1]] as const) {
      const { inFlight, packs } = await packUploadsInFlight(setting, limit);
      expect(packs).toBe(PACKS_OF_96_MIB);
      // Each time the saver waits, it has as many packs on their way up as allowed (fewer only at the end).
      expect(inFlight, `upload concurrency ${setting}`).toEqual(Array.from({ length: packs }, (_, i) => Math.min(limit, packs - i)));
    }
  }, 60_000);
});

describe('BlobSaver staging (packs in the cache location)', () => {
  it('stages packs in its folder, uploads them from there and leaves the folder empty', async () => {
    const { repo } = await memoryServer();
    const staging = join(tempDir('azb-staging-'), 'packs');
    const saver = new BlobSaver(repo, staging);
    await saver.prepare();
    const chunks = Array.from({ length: 12 }, () => randomBytes(3 * 1024 * 1024));
    const ids: Buffer[] = [];
    for (const c of chunks) ids.push(await saver.save('data', c));
    await saver.finish(true);
    expect(saver.stats.packsUploaded).toBeGreaterThanOrEqual(2); // 36 MiB: more than one 16 MiB pack
    expect(readdirSync(staging)).toEqual([]);
    for (let i = 0; i < chunks.length; i++) expect((await repo.readBlob(ids[i]!, 'data')).equals(chunks[i]!)).toBe(true);
  });

  it('empties a staging folder a killed run left, and drops staged packs of a cancelled run', async () => {
    const { repo } = await memoryServer();
    const staging = join(tempDir('azb-staging-'), 'packs');
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'pack-left-by-a-killed-run'), randomBytes(1000));
    const saver = new BlobSaver(repo, staging);
    await saver.prepare();
    expect(readdirSync(staging)).toEqual([]);
    const chunk = randomBytes(5 * 1024 * 1024);
    await saver.saveEncoded('data', repo.blobId(chunk), encodeBlobBody(chunk), chunk.length);
    await waitFor(() => readdirSync(staging).length === 1); // the open pack
    await saver.finish(false);
    expect(readdirSync(staging)).toEqual([]);
    expect(saver.stats.packsUploaded).toBe(0);
  });

  it('ends the backup with a coded error when a staged pack cannot be written', async () => {
    const { repo } = await memoryServer();
    const dir = tempDir('azb-staging-');
    const staging = join(dir, 'packs');
    const saver = new BlobSaver(repo, staging);
    await saver.prepare();
    // The folder is replaced by a file after the start: creating the pack's file fails (ENOTDIR).
    rmSync(staging, { recursive: true });
    writeFileSync(staging, 'not a folder');
    const chunk = randomBytes(1024 * 1024);
    await saver.saveEncoded('data', repo.blobId(chunk), encodeBlobBody(chunk), chunk.length);
    await expect(saver.finish(true)).rejects.toMatchObject({ code: 'AZB_CACHE_UNUSABLE', target: staging });
    expect(saver.stats.packsUploaded).toBe(0);
    // A full disk has its own code and says what to do.
    for (const code of ['ENOSPC', 'EDQUOT']) {
      expect(stagingError(Object.assign(new Error('no space'), { code }), staging)).toMatchObject({ code: 'AZB_CACHE_FULL', target: staging, hint: expect.stringContaining('--cache-dir') });
    }
    expect(stagingError(Object.assign(new Error('denied'), { code: 'EACCES' }), staging)).toMatchObject({ code: 'AZB_CACHE_UNUSABLE', message: expect.stringContaining('EACCES') });
  });

  it('refuses a staging folder it cannot create with AZB_CACHE_UNUSABLE', async () => {
    const { repo } = await memoryServer();
    const dir = tempDir('azb-staging-');
    writeFileSync(join(dir, 'a-file'), 'x');
    const saver = new BlobSaver(repo, join(dir, 'a-file', 'packs'));
    await expect(saver.prepare()).rejects.toMatchObject({ code: 'AZB_CACHE_UNUSABLE', target: join(dir, 'a-file', 'packs') });
  });
});
