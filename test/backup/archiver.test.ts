// Backups through the built engine: content, metadata, dedup, incremental runs, cache loss, stdin, skips.
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINE_PATH, onlyError, resultOf, runEngine } from '../helpers/engine.js';
import { describeTree, makeDataTree } from '../helpers/data-tree.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';

describe('backup', () => {
  it('backs up every kind of entry and restores it identical (content, modes, owners, times, links, holes, byte names)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    makeDataTree(src);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const point = resultOf(b, 'RecoveryPoint');
    expect(point).toMatchObject({ sources: [src], filesSkipped: 0 });
    expect(Number(point['filesNew']) + Number(point['filesUnchanged'])).toBe(9); // the second name of a hard link is not read again
    const target = join(fx.root, 'restored');
    const r = await fx.az(['restore', String(point['pointId']), '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    const owners = process.getuid?.() === 0;
    expect(describeTree(join(target, src), { owners })).toEqual(describeTree(src, { owners }));
    // The 64 MiB sparse file is restored with its holes, not inflated.
    expect(statSync(join(target, src, 'sparse.img')).blocks * 512).toBeLessThan(1024 * 1024);
    // Hard links restored as one inode.
    expect(statSync(join(target, src, 'hard-a.txt')).ino).toBe(statSync(join(target, src, 'docs', 'hard-b.txt')).ino);
  });

  it('is incremental: an unchanged re-run reads nothing and adds nothing; a change adds only the change', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `f${i}.txt`), `file ${i}\n`.repeat(20000 + i));
    const first = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(first).toMatchObject({ filesNew: 20, filesUnchanged: 0 });
    const again = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(again).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: 20, bytesRead: 0, blobsAdded: 0 });
    writeFileSync(join(src, 'f3.txt'), 'changed\n');
    const changed = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(changed).toMatchObject({ filesNew: 0, filesChanged: 1, filesUnchanged: 19, bytesRead: 8 });
    // Losing the cache costs time, not data: everything is read again but nothing new is stored.
    rmSync(join(fx.root, 'cache'), { recursive: true, force: true });
    const rebuilt = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(rebuilt).toMatchObject({ filesNew: 20, filesUnchanged: 0, blobsAdded: 0 });
    expect(Number(rebuilt['bytesRead'])).toBeGreaterThan(0);
  });

  it('deduplicates identical content across files and folders', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'a'), { recursive: true });
    mkdirSync(join(src, 'b'));
    const content = Buffer.alloc(5 * 1024 * 1024, 7).map((_, i) => (i * 31) % 251);
    writeFileSync(join(src, 'a', 'one.bin'), content);
    writeFileSync(join(src, 'b', 'two.bin'), content);
    const p = resultOf(await fx.az(['backup', src]), 'RecoveryPoint');
    expect(Number(p['bytesRead'])).toBe(2 * content.length);
    expect(Number(p['bytesAdded'])).toBeLessThan(content.length + 64 * 1024);
  });

  it('backs up a stream from stdin as one file', async () => {
    const fx = await registeredServer();
    const dump = 'INSERT INTO t VALUES (1);\n'.repeat(100000);
    const run = await runEngine(['backup', '--stdin', '--stdin-name', 'db.sql', '--json'], { env: fx.env, stdin: dump });
    expect(run.code, run.stdout).toBe(0);
    const p = resultOf(run, 'RecoveryPoint');
    expect(p['sources']).toEqual(['db.sql']);
    const target = join(fx.root, 'out');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    expect(readFileSync(join(target, 'db.sql'), 'utf8')).toBe(dump);
    // A stream has no original location: without a target, nothing is written (not /db.sql).
    const nowhere = await runEngine(['restore', 'latest', '--json'], { env: fx.env, cwd: fx.root });
    expect(onlyError(nowhere)).toMatchObject({ code: 'AZB_RESTORE_TARGET_REQUIRED', target: 'db.sql' });
  });

  it('takes exclude patterns as restic does: parentheses are literal, dot-files are not special, ./ is the current folder; excluding everything warns', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'report.txt'), 'r');
    writeFileSync(join(src, 'report (1).txt'), 'copy');
    writeFileSync(join(src, 'sub', 'inner.txt'), 'i');
    const b = await runEngine(['backup', src, '--exclude', '*(1)*', '--exclude', './src/sub', '--json'], { env: fx.env, cwd: fx.root });
    expect(b.code, b.stdout).toBe(0);
    expect(resultOf(b, 'RecoveryPoint')).toMatchObject({ filesNew: 1 });
    const items = (await fx.az(['ls', 'latest', src, '--recurse'])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name']));
    expect(items.sort()).toEqual(['report.txt']);
    // Dot-files are not special: '*' leaves them out too (and warns), '*.tmp' matches '.cache.tmp'.
    writeFileSync(join(src, '.hidden'), 'h');
    writeFileSync(join(src, '.cache.tmp'), 't');
    const all = await fx.az(['backup', src, '--exclude', '*']);
    expect(all.code, all.stdout).toBe(3);
    expect(all.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_EVERYTHING_EXCLUDED' });
    expect(resultOf(all, 'RecoveryPoint')).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: 0 });
    const tmp = await fx.az(['backup', src, '--exclude', '*.tmp']);
    expect(tmp.code, tmp.stdout).toBe(0);
    const names = (await fx.az(['ls', 'latest', src, '--recurse'])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name']));
    expect(names.sort()).toEqual(['.hidden', 'inner.txt', 'report (1).txt', 'report.txt', 'sub']);
    // Item filters use the same rules, at any depth.
    const dots = (await fx.az(['ls', 'latest', '--filter', '.*'])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']));
    expect(dots).toEqual([`${src}/.hidden`]);
    // A leading '!' (restic's "include again") is refused, not read another way.
    const bang = await fx.az(['backup', src, '--exclude', '!*.txt']);
    expect(onlyError(bang)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'exclude' });
    expect(onlyError(bang).message).toContain("starts with '!'");
  });

  it('skips unreadable files with a warning and ends CompletedWithWarnings (exit 3)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'locked-dir'), { recursive: true });
    writeFileSync(join(src, 'ok.txt'), 'fine');
    writeFileSync(join(src, 'secret.txt'), 'no access');
    writeFileSync(join(src, 'locked-dir', 'inner.txt'), 'x');
    chmodSync(join(src, 'secret.txt'), 0o000);
    chmodSync(join(src, 'locked-dir'), 0o000);
    // Run the engine as an unprivileged user (root reads everything), with its own home and a copy of the vault fixture.
    const nobody = 65534;
    // A copy of the engine the unprivileged user can reach: the work tree may sit under a folder only root
    // may enter (CI clones into one).
    const engine = join(fx.root, 'azbackup');
    copyFileSync(ENGINE_PATH, engine);
    chmodSync(engine, 0o755);
    for (const p of [fx.root, join(fx.root, 'home'), join(fx.root, 'vault')]) execFileSync('chown', ['-R', `${nobody}:${nobody}`, p]);
    chownSync(join(src, 'secret.txt'), 0, 0);
    chownSync(join(src, 'locked-dir'), 0, 0);
    const run = spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', engine, 'backup', src, '--json'], {
      env: { ...fx.env, PATH: process.env['PATH'] ?? '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(run.status, run.stdout + run.stderr).toBe(3);
    const out = run.stdout;
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string; target?: string; data?: Record<string, unknown> });
    const warned = events.filter((e) => e.type === 'warning' && e.code === 'AZB_FILE_SKIPPED').map((e) => e.target);
    expect(warned.sort()).toEqual([join(src, 'locked-dir'), join(src, 'secret.txt')].sort());
    const result = events.find((e) => e.type === 'result')!;
    expect(result.data).toMatchObject({ filesSkipped: 2 });
    // The job history keeps which files were skipped, for whoever reads it the next morning.
    const jobs = spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', engine, 'jobs', '--previous', '1', '--json'], {
      env: { ...fx.env, PATH: process.env['PATH'] ?? '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const job = (JSON.parse(jobs.stdout.trim().split('\n')[0]!) as { data: { status: string; warnings: number; warningList: { code: string; target: string }[] } }).data;
    expect(job).toMatchObject({ status: 'CompletedWithWarnings', warnings: 2 });
    expect(job.warningList.map((w) => [w.code, w.target]).sort()).toEqual([['AZB_FILE_SKIPPED', join(src, 'locked-dir')], ['AZB_FILE_SKIPPED', join(src, 'secret.txt')]].sort());
  }, 120_000);

  it('refuses a missing source and writes nothing to the vault', async () => {
    const fx = await registeredServer();
    const before = listTree(fx.vault);
    const run = await fx.az(['backup', join(fx.root, 'no-such-folder')]);
    expect(onlyError(run).code).toBe('AZB_SOURCE_NOT_FOUND');
    expect(listTree(fx.vault)).toEqual(before);
  });

  it('refuses to start when the cache location has too little free space', async () => {
    const { checkCacheSpace } = await import('../../core/backup/archiver.js');
    await expect(checkCacheSpace('/tmp', 1e18)).rejects.toMatchObject({ code: 'AZB_CACHE_FULL' });
    await expect(checkCacheSpace('/tmp', 1024)).resolves.toBeUndefined();
    await expect(checkCacheSpace('/no/such/dir', 1024)).rejects.toMatchObject({ code: 'AZB_CACHE_UNUSABLE' });
    // A small data set still needs room for the packs staged before their upload.
    await expect(checkCacheSpace('/tmp', 1024, 1e18)).rejects.toMatchObject({ code: 'AZB_CACHE_FULL', message: expect.stringContaining('staged'), hint: expect.stringContaining('upload concurrency') });
  });

  it('stores nothing in clear: file content and names do not appear in the vault', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const marker = 'UNIQUE-CLEAR-TEXT-MARKER-4711';
    writeFileSync(join(src, `${marker}.txt`), `${marker}\n`.repeat(100));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const grep = (dir: string): boolean => readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() ? grep(join(dir, e.name)) : readFileSync(join(dir, e.name)).includes(Buffer.from(marker)));
    expect(grep(fx.vault)).toBe(false);
    expect(JSON.stringify(listTree(fx.vault))).not.toContain(marker);
  });

  it('leaves out fifos (only file data is backed up) and says so in the log, not silently', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'data.txt'), 'data\n');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    expect(resultOf(b, 'RecoveryPoint')).toMatchObject({ filesNew: 1, filesSkipped: 0 });
    const log = b.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).find((m) => m.includes('left out'));
    expect(log).toContain(join(src, 'pipe'));
    expect(log).toMatch(/^1 socket/);
  });
});
