// The backup writes its recovery point only while its lock is still held (FORMAT.md section 10).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBackup } from '../../core/backup/archiver.js';
import { AzbError } from '../../core/protocol/errors.js';
import { JsonSink } from '../../core/protocol/events.js';
import { memoryServer } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';

describe('backup and its lock', () => {
  it('writes no index file and no recovery point once the lock is lost', async () => {
    const { repo, privateKey } = await memoryServer();
    const root = tempDir();
    const src = join(root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'some data\n'.repeat(1000));
    mkdirSync(join(root, 'cache'));
    let asked = 0;
    const lock = { assertHeld: async () => { asked++; throw new AzbError('AZB_LOCK_LOST', 'lost'); } };
    const events: string[] = [];
    const run = runBackup(repo, {
      sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: privateKey, tags: [], lock,
      signal: new AbortController().signal, sink: new JsonSink((l) => events.push(l)),
    });
    await expect(run).rejects.toMatchObject({ code: 'AZB_LOCK_LOST' });
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(await repo.listPointIds()).toEqual([]);
    // A prune may have deleted this run's packs meanwhile: no index may name them.
    expect(await repo.listIndexIds()).toEqual([]);

    // With the lock held, the same backup writes its point.
    const held = await runBackup(repo, {
      sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: privateKey, tags: [], lock: { assertHeld: async () => undefined },
      signal: new AbortController().signal, sink: new JsonSink((l) => events.push(l)),
    });
    expect(await repo.listPointIds()).toEqual([held.pointId]);
  });
});
