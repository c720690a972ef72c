// ReaderPool (core/backup/reader-pool.ts): files read on real worker threads give exactly the chunks the
// inline path gives; a worker that dies ends the read with AZB_WORKER_FAILED.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReaderPool } from '../../core/backup/reader-pool.js';
import type { ChunkJobEvent } from '../../core/backup/file-chunks.js';
import { DEFAULT_CHUNKER_PARAMS } from '../../core/chunker/fastcdc.js';
import { tempDir } from '../helpers/tmp.js';

const keys = { params: { ...DEFAULT_CHUNKER_PARAMS }, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32) };
let workerSource = '';
beforeAll(async () => {
  const out = await build({ entryPoints: [join(import.meta.dirname, '..', '..', 'core', 'backup', 'read-worker.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node24', write: false, logLevel: 'silent' });
  workerSource = out.outputFiles[0]!.text;
});

async function readAll(pool: ReaderPool, path: string, size: number, listedMtimeNs?: string): Promise<{ ids: string[]; bodies: number; done: ChunkJobEvent | undefined }> {
  const ids: string[] = [];
  let bodies = 0;
  let done: ChunkJobEvent | undefined;
  const mtimeNs = listedMtimeNs ?? (existsSync(path) ? statSync(path, { bigint: true }).mtimeNs.toString() : '0');
  for await (const e of pool.read({ path: Buffer.from(path), size, mtimeNs })) {
    if (e.kind === 'chunks') {
      for (let i = 0; i < e.bodies.length; i++) ids.push(Buffer.from(e.ids.subarray(32 * i, 32 * i + 32)).toString('hex'));
      bodies += e.bodies.reduce((n, b) => n + b.length, 0);
    } else done = e;
  }
  return { ids, bodies, done };
}

describe('reader pool', () => {
  it('gives on worker threads the same chunks as inline, for small, large and missing files', async () => {
    const dir = tempDir();
    const small = join(dir, 'small.txt');
    const large = join(dir, 'large.bin');
    writeFileSync(small, 'hello '.repeat(1000));
    writeFileSync(large, Buffer.concat([randomBytes(5 * 1024 * 1024), Buffer.alloc(6 * 1024 * 1024, 'a')]));
    const threads = new ReaderPool(keys, { workers: 2, source: workerSource });
    const inline = new ReaderPool(keys, { source: undefined });
    try {
      for (const [path, size] of [[small, 6000], [large, 11 * 1024 * 1024]] as const) {
        const a = await readAll(threads, path, size);
        const b = await readAll(inline, path, size);
        expect(a.ids.length).toBeGreaterThan(0);
        expect(a.ids).toEqual(b.ids);
        expect(a.bodies).toBe(b.bodies);
        expect(a.done).toMatchObject({ kind: 'done', bytesRead: size, changed: false });
      }
      expect((await readAll(threads, join(dir, 'missing'), 10)).done).toMatchObject({ kind: 'failed', code: 'ENOENT', stage: 'open' });
      // A file that changed since the scan listed it (grew; or another mtime) is read as it is now, and
      // flagged, so the backup warns (AZB_FILE_CHANGED).
      expect((await readAll(threads, small, 5000)).done).toMatchObject({ kind: 'done', bytesRead: 5000, changed: true });
      expect((await readAll(threads, small, 7000)).done).toMatchObject({ kind: 'done', bytesRead: 6000, changed: true }); // shrank
      // A small incompressible file goes across as it was read (stored as is): the same blob as inline.
      const noise = join(dir, 'noise.bin');
      writeFileSync(noise, randomBytes(3000));
      const [t, i] = [await readAll(threads, noise, 3000), await readAll(inline, noise, 3000)];
      expect(t.ids).toEqual(i.ids);
      expect([t.bodies, i.bodies]).toEqual([3000, 3000]);
      expect(t.done).toMatchObject({ kind: 'done', bytesRead: 3000, changed: false });
      expect((await readAll(threads, large, 11 * 1024 * 1024, '1')).done).toMatchObject({ kind: 'done', changed: true });
    } finally {
      await threads.close();
      await inline.close();
    }
  });

  it('ends a read with AZB_WORKER_FAILED when a worker dies', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'x');
    const pool = new ReaderPool(keys, { workers: 1, source: "require('node:worker_threads').parentPort.on('message', () => process.exit(7));" });
    try {
      await expect(readAll(pool, join(dir, 'f'), 1)).rejects.toMatchObject({ code: 'AZB_WORKER_FAILED' });
      await expect(readAll(pool, join(dir, 'f'), 1)).rejects.toMatchObject({ code: 'AZB_WORKER_FAILED' });
    } finally {
      await pool.close();
    }
  });
});
