// Restore through the built engine: selections, locations, conflicts, other servers, and safety against
// hostile or damaged recovery points.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, symlinkSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import { encodeTree, type TreeNode } from '../../core/repo/tree.js';

async function withData(): Promise<{ fx: VaultFixture; src: string; pointId: string }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(join(src, 'reports', '2026'), { recursive: true });
  writeFileSync(join(src, 'reports', '2026', 'q1.txt'), 'first quarter\n');
  writeFileSync(join(src, 'reports', '2026', 'q2.txt'), 'second quarter\n');
  writeFileSync(join(src, 'notes.md'), '# notes\n');
  const b = await fx.az(['backup', src]);
  expect(b.code, b.stdout).toBe(0);
  return { fx, src, pointId: String(resultOf(b, 'RecoveryPoint')['pointId']) };
}

describe('restore', () => {
  it('restores chosen items, by ID prefix, to an alternate location', async () => {
    const { fx, src, pointId } = await withData();
    const target = join(fx.root, 'alt');
    const r = await fx.az(['restore', pointId.slice(0, 10), join(src, 'reports', '2026', 'q2.txt'), '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, pointId });
    expect(readFileSync(join(target, src, 'reports', '2026', 'q2.txt'), 'utf8')).toBe('second quarter\n');
    expect(existsSync(join(target, src, 'reports', '2026', 'q1.txt'))).toBe(false);
    expect(existsSync(join(target, src, 'notes.md'))).toBe(false);
  });

  it('restores an item once even when it is also inside another selected item', async () => {
    const { fx, src } = await withData();
    const target = join(fx.root, 'overlap');
    const r = await fx.az(['restore', 'latest', join(src, 'reports'), join(src, 'reports', '2026', 'q1.txt'), join(src, 'reports'), '--target', target]);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 2, copies: 0 });
    expect(readdirSync(join(target, src, 'reports', '2026')).sort()).toEqual(['q1.txt', 'q2.txt']);
  });

  it('restores to the original location with OverwriteIfChanged (default), CreateCopy, Skip and Overwrite; an identical file is never copied', async () => {
    const { fx, src } = await withData();
    const q1 = join(src, 'reports', '2026', 'q1.txt');
    const q2 = join(src, 'reports', '2026', 'q2.txt');
    // Nothing changed: every file is left as it is, and no "(1)" copy appears.
    const same = resultOf(await fx.az(['restore', 'latest']), 'RestoreResult');
    expect(same).toMatchObject({ files: 0, copies: 0 });
    expect(Number(same['unchanged'])).toBeGreaterThanOrEqual(3);
    // Same size and time but other bytes: the digest tells them apart.
    const mtimeNs = statSync(q2, { bigint: true }).mtimeNs;
    writeFileSync(q2, 'SECOND QUARTER\n');
    // The exact modification time back, to the nanosecond (utimes would round it).
    execFileSync('touch', ['-m', '-d', `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, '0')}`, q2]);
    expect(statSync(q2, { bigint: true }).mtimeNs).toBe(mtimeNs);
    writeFileSync(q1, 'edited after the backup\n');
    const changed = resultOf(await fx.az(['restore', 'latest', join(src, 'reports')]), 'RestoreResult');
    expect(changed).toMatchObject({ files: 2, copies: 0 });
    expect(readFileSync(q1, 'utf8')).toBe('first quarter\n');
    expect(readFileSync(q2, 'utf8')).toBe('second quarter\n');
    expect(readdirSync(join(src, 'reports', '2026')).sort()).toEqual(['q1.txt', 'q2.txt']);
    // CreateCopy keeps the local edit and copies only what differs.
    writeFileSync(q1, 'edited after the backup\n');
    expect(resultOf(await fx.az(['restore', 'latest', join(src, 'reports'), '--conflict', 'CreateCopy']), 'RestoreResult')).toMatchObject({ copies: 1, unchanged: 1 });
    expect(readFileSync(q1, 'utf8')).toBe('edited after the backup\n');
    expect(readFileSync(join(src, 'reports', '2026', 'q1 (1).txt'), 'utf8')).toBe('first quarter\n');
    expect(resultOf(await fx.az(['restore', 'latest', q1, '--conflict', 'Skip']), 'RestoreResult')).toMatchObject({ files: 0, skipped: 1 });
    expect(readFileSync(q1, 'utf8')).toBe('edited after the backup\n');
    expect(resultOf(await fx.az(['restore', 'latest', q1, '--conflict', 'Overwrite']), 'RestoreResult')).toMatchObject({ files: 1 });
    expect(readFileSync(q1, 'utf8')).toBe('first quarter\n');
    // No temp files left behind.
    expect(readdirSync(join(src, 'reports', '2026')).filter((n) => n.startsWith('.azb-'))).toEqual([]);
  });

  it('lists points and items, with recursion and name search', async () => {
    const { fx, src, pointId } = await withData();
    const points = (await fx.az(['points'])).events.filter((e) => e.type === 'item');
    expect(points).toHaveLength(1);
    const top = (await fx.az(['ls', 'latest'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { path: string } }).data.path);
    expect(top).toEqual([src]);
    const all = (await fx.az(['ls', pointId, src, '--recurse'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { path: string } }).data.path);
    expect(all).toEqual([join(src, 'notes.md'), join(src, 'reports'), join(src, 'reports', '2026'), join(src, 'reports', '2026', 'q1.txt'), join(src, 'reports', '2026', 'q2.txt')]);
    const found = (await fx.az(['ls', pointId, '--filter', 'q*.txt'])).events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { name: string } }).data.name);
    expect(found).toEqual(['q1.txt', 'q2.txt']);
    expect(onlyError(await fx.az(['ls', pointId, join(src, 'nope')])).code).toBe('AZB_ITEM_NOT_FOUND');
    expect((await fx.az(['points', '--after', '2999-01-01'])).events.filter((e) => e.type === 'item')).toHaveLength(0);
  });

  it("restores another server's point on a second server, given that server's passphrase", async () => {
    const { fx, src } = await withData();
    const other = await registeredServer({ hostname: 'srv02', vault: fx.vault, passphrase: 'second server passphrase 99' });
    // Without the first server's passphrase: refused.
    expect(onlyError(await other.az(['restore', 'latest', '--server', 'srv01', '--target', join(other.root, 'x')])).code).toBe('AZB_PASSPHRASE_WRONG');
    const target = join(other.root, 'from-srv01');
    const r = await other.az(['restore', 'latest', '--server', 'srv01', '--target', target], { env: { AZBACKUP_PASSPHRASE: fx.passphrase } });
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(target, src, 'notes.md'), 'utf8')).toBe('# notes\n');
    // The second server cannot back up into the first server's namespace.
    expect(onlyError(await other.az(['backup', src, '--server', 'srv01'], { env: { AZBACKUP_PASSPHRASE: fx.passphrase } })).code).toBe('AZB_SERVER_NOT_REGISTERED');
  });

  it.each([
    ['an unknown recovery point', (fx: VaultFixture) => ['restore', 'abcdef123456', '--target', join(fx.root, 't')], 'AZB_POINT_NOT_FOUND'],
    ['a target that is not writable', (fx: VaultFixture) => { writeFileSync(join(fx.root, 'file'), 'x'); return ['restore', 'latest', '--target', join(fx.root, 'file', 'sub')]; }, 'AZB_RESTORE_TARGET_NOT_WRITABLE'],
    ['a wrong passphrase', (fx: VaultFixture) => ['restore', 'latest', '--target', join(fx.root, 't')], 'AZB_PASSPHRASE_WRONG'],
  ])('refuses %s with a coded error and writes nothing to the vault', async (what, args, code) => {
    const { fx } = await withData();
    const before = listTree(fx.vault);
    const env = what === 'a wrong passphrase' ? { AZBACKUP_PASSPHRASE: 'not the right passphrase!!' } : {};
    expect(onlyError(await fx.az(args(fx), { env })).code).toBe(code);
    expect(listTree(fx.vault).filter((f) => !f.includes('/locks/'))).toEqual(before.filter((f) => !f.includes('/locks/')));
  });

  it('never writes outside the target, even from a hostile recovery point', async () => {
    const fx = await registeredServer();
    const canary = join(fx.root, 'outside');
    mkdirSync(canary);
    // Craft a signed recovery point with every trick in its trees (as a compromised server could).
    const { vault, repo, key, saver } = await craftingPoints(fx);
    const data = await saver.save('data', Buffer.from('pwned'));
    const file = (name: string): TreeNode => ({ name, type: 'file', mode: 0o644, mtimeNs: '0', size: 5, content: [data.toString('hex')] });
    const inner = await saver.save('tree', encodeTree([
      file('..'), file('a/../../escape.txt'), file('dup'), { ...file('dup'), size: 5 },
      { name: 'esc', type: 'symlink', mode: 0o777, mtimeNs: '0', target: canary },
    ]));
    const escDir = await saver.save('tree', encodeTree([file('through-link.txt')]));
    const evilDir = await saver.save('tree', encodeTree([
      { name: 'esc', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: escDir.toString('hex') },
    ]));
    const root = await saver.save('tree', encodeTree([
      { name: '/data', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: inner.toString('hex') },
      { name: '/data2', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: evilDir.toString('hex') },
      { ...file('/../../../../../../../tmp/azb-hostile-escape.txt') },
      { ...file(`/${canary.replace(/^\//, '')}/rootname.txt`) },
    ]));
    await saver.finish(true);
    const stats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 };
    await repo.savePoint({ version: 1, serverId: repo.serverId, hostname: 'srv01', time: new Date().toISOString(), sources: ['/data'], tree: root.toString('hex'), parent: null, tags: [], stats }, key);
    // Pre-create the symlink trap inside the target as well: restore must not follow it.
    const target = join(fx.root, 'target');
    mkdirSync(join(target, 'data2'), { recursive: true });
    symlinkSync(canary, join(target, 'data2', 'esc'));

    const r = await fx.az(['restore', 'latest', '--target', target, '--conflict', 'Overwrite']);
    expect([0, 3]).toContain(r.code);
    const warnings = r.events.filter((e) => e.type === 'warning');
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(canary)).toEqual([]);
    expect(existsSync('/tmp/azb-hostile-escape.txt')).toBe(false);
    expect(existsSync(join(fx.root, 'escape.txt'))).toBe(false);
    // The one legitimate file of the /data tree (the first "dup") was restored inside the target.
    expect(readFileSync(join(target, 'data', 'dup'), 'utf8')).toBe('pwned');
  });

  it('restores a backup of "/" into the target itself', async () => {
    const fx = await registeredServer();
    // A point whose source is "/" (backing up the real "/" is too big for a test), built as the engine does.
    const { vault, repo, key, saver } = await craftingPoints(fx);
    const data = await saver.save('data', Buffer.from('system file\n'));
    const digest = createHash('sha256').update('system file\n').digest('hex');
    const etc = await saver.save('tree', encodeTree([{ name: 'hosts', type: 'file', mode: 0o644, mtimeNs: '0', size: 12, content: [data.toString('hex')], digest }]));
    const slash = await saver.save('tree', encodeTree([{ name: 'etc', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: etc.toString('hex') }]));
    const root = await saver.save('tree', encodeTree([{ name: '/', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: slash.toString('hex') }]));
    await saver.finish(true);
    const stats = { filesNew: 1, filesChanged: 0, filesUnchanged: 0, filesSkipped: 0, dirs: 2, bytesRead: 12, bytesAdded: 12, bytesStored: 12, blobsAdded: 1, durationMs: 0 };
    await repo.savePoint({ version: 2, serverId: repo.serverId, hostname: 'srv01', time: new Date().toISOString(), sources: ['/'], tree: root.toString('hex'), parent: null, tags: [], stats }, key);
    await vault.store.close();

    const target = join(fx.root, 'whole-system');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, skipped: 0 });
    expect(readFileSync(join(target, 'etc', 'hosts'), 'utf8')).toBe('system file\n');
    const one = await fx.az(['restore', 'latest', '/etc/hosts', '--target', join(fx.root, 'one')]);
    expect(one.code, one.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'one', 'etc', 'hosts'), 'utf8')).toBe('system file\n');
  });

  it('restores any one name of a hard-linked file alone, and all names as one inode', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'a'), { recursive: true });
    mkdirSync(join(src, 'b'));
    writeFileSync(join(src, 'a', 'first.txt'), 'linked content\n');
    linkSync(join(src, 'a', 'first.txt'), join(src, 'b', 'second.txt'));
    // Eight names of one large file in one folder, started together: the data is read once.
    const big = randomBytes(2 * 1024 * 1024);
    mkdirSync(join(src, 'many'));
    writeFileSync(join(src, 'many', 'n0.bin'), big);
    for (let i = 1; i < 8; i++) linkSync(join(src, 'many', 'n0.bin'), join(src, 'many', `n${i}.bin`));
    const backup = await fx.az(['backup', src]);
    expect(resultOf(backup, 'RecoveryPoint')).toMatchObject({ filesNew: 2, bytesRead: 15 + big.length });
    // Only the second name (or only its folder): it carries the content too.
    const alone = await fx.az(['restore', 'latest', join(src, 'b'), '--target', join(fx.root, 'alone')]);
    expect(alone.code, alone.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'alone', src, 'b', 'second.txt'), 'utf8')).toBe('linked content\n');
    // Both names: written once, linked once.
    const both = await fx.az(['restore', 'latest', '--target', join(fx.root, 'both')]);
    expect(resultOf(both, 'RestoreResult')).toMatchObject({ files: 10, skipped: 0 });
    expect(statSync(join(fx.root, 'both', src, 'b', 'second.txt')).ino).toBe(statSync(join(fx.root, 'both', src, 'a', 'first.txt')).ino);
    expect(new Set(readdirSync(join(fx.root, 'both', src, 'many')).map((n) => statSync(join(fx.root, 'both', src, 'many', n)).ino)).size).toBe(1);
    // The name chosen to be written is skipped (it exists, conflict Skip): another name is written instead.
    const again = join(fx.root, 'again');
    mkdirSync(join(again, src, 'a'), { recursive: true });
    writeFileSync(join(again, src, 'a', 'first.txt'), 'already here\n');
    const skip = await fx.az(['restore', 'latest', join(src, 'a'), join(src, 'b'), '--target', again, '--conflict', 'Skip']);
    expect(resultOf(skip, 'RestoreResult')).toMatchObject({ files: 1, skipped: 1 });
    expect(readFileSync(join(again, src, 'b', 'second.txt'), 'utf8')).toBe('linked content\n');
  });

  it('with Overwrite, skips (and names) a file whose place a directory has taken, and restores the rest', async () => {
    const { fx, src } = await withData();
    const notes = join(src, 'notes.md');
    const { rmSync } = await import('node:fs');
    rmSync(notes);
    mkdirSync(join(notes, 'inside'), { recursive: true });
    const r = await fx.az(['restore', 'latest', src, '--conflict', 'Overwrite']);
    expect(r.code, r.stdout).toBe(3);
    expect(r.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_RESTORE_TYPE_CONFLICT', target: notes });
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 2, skipped: 1 });
    expect(existsSync(join(notes, 'inside'))).toBe(true);
  });

  it('restores an item whose Linux name holds a backslash, by that name', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a\\b.txt'), 'back\\slash\n');
    writeFileSync(join(src, 'other.txt'), 'other\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const r = await fx.az(['restore', 'latest', join(src, 'a\\b.txt'), '--target', join(fx.root, 'r')]);
    expect(r.code, r.stdout).toBe(0);
    expect(readdirSync(join(fx.root, 'r', src))).toEqual(['a\\b.txt']);
    // A source folder whose own name holds a backslash keeps it too.
    const odd = join(fx.root, 'bs\\dir');
    mkdirSync(odd);
    writeFileSync(join(odd, 'f.txt'), 'f\n');
    expect(resultOf(await fx.az(['backup', odd]), 'RecoveryPoint')['sources']).toEqual([odd]);
    const whole = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r2')]);
    expect(whole.code, whole.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'r2', odd, 'f.txt'), 'utf8')).toBe('f\n');
  });

  it('takes the point as --point too (ls --point ID PATH, restore --point ID ITEMS)', async () => {
    const { fx, src, pointId } = await withData();
    const ls = await fx.az(['ls', '--point', pointId.slice(0, 8), join(src, 'reports', '2026')]);
    expect(ls.code, ls.stdout).toBe(0);
    expect(ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name']))).toEqual(['q1.txt', 'q2.txt']);
    const r = await fx.az(['restore', join(src, 'notes.md'), '--point=latest', '--target', join(fx.root, 'p')]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, pointId });
    expect(onlyError(await fx.az(['ls', '--point'])).code).toBe('AZB_USAGE');
  });

  it('refuses a target on a pseudo file system at once (Node\'s own recursive mkdir would spin there forever)', async () => {
    const { fx } = await withData();
    const r = await fx.az(['restore', 'latest', '--target', '/proc/azbackup-restore-target']);
    expect(onlyError(r).code).toBe('AZB_RESTORE_TARGET_NOT_WRITABLE');
  }, 30_000);

  it('restores an item whose name is not UTF-8 by the name as ls shows it (\\xNN for each such byte), byte-exact', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const raw = Buffer.concat([Buffer.from(`${src}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]);
    writeFileSync(raw, 'bytes\n');
    writeFileSync(join(src, 'plain.txt'), 'plain\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const shown = (await fx.az(['ls', 'latest', src])).events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']));
    const odd = shown.find((p) => p.includes('\\x'))!;
    expect(odd).toBe(`${src}/bad\\xff\\xfe.txt`);
    const r = await fx.az(['restore', 'latest', odd, '--target', join(fx.root, 'r')]);
    expect(r.code, r.stdout).toBe(0);
    const restored = readdirSync(Buffer.from(join(fx.root, 'r', src)), { encoding: 'buffer' });
    expect(restored.map((n) => n.toString('hex'))).toEqual([Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]).toString('hex')]);
  });

  it('leaves the owner, mode and times of folders that exist alone, unless Overwrite is asked for', async () => {
    const { fx, src } = await withData();
    const folder = join(src, 'reports');
    chmodSync(folder, 0o700); // tightened by an admin after the backup (it was 0755)
    utimesSync(folder, new Date('2020-01-01'), new Date('2020-01-01'));
    for (const conflict of ['Skip', 'CreateCopy']) {
      const r = await fx.az(['restore', 'latest', src, '--conflict', conflict]);
      expect(r.code, r.stdout).toBe(0);
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(statSync(folder).mtime.getUTCFullYear()).toBe(2020);
    }
    expect((await fx.az(['restore', 'latest', src, '--conflict', 'Overwrite'])).code).toBe(0);
    expect(statSync(folder).mode & 0o777).toBe(0o755);
  });

  it('says so when the target is a file, not a folder', async () => {
    const { fx } = await withData();
    const file = join(fx.root, 'a-file');
    writeFileSync(file, 'x');
    const err = onlyError(await fx.az(['restore', 'latest', '--target', file]));
    expect(err).toMatchObject({ code: 'AZB_RESTORE_TARGET_NOT_WRITABLE', hint: 'Give a folder to restore into.' });
    expect(err.message).toContain('is a file');
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});

describe("'latest' scoped by the paths asked for", () => {
  it('is the newest point that holds them, as restic\'s latest --path: a later backup of another folder does not hide it', async () => {
    const fx = await registeredServer();
    const etc = join(fx.root, 'etc');
    const srv = join(fx.root, 'srv');
    mkdirSync(etc);
    mkdirSync(srv);
    writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(srv, 'data.txt'), 'data');
    const first = String(resultOf(await fx.az(['backup', etc]), 'RecoveryPoint')['pointId']);
    const second = String(resultOf(await fx.az(['backup', srv]), 'RecoveryPoint')['pointId']);
    const ls = await fx.az(['ls', 'latest', etc]);
    expect(ls.code, ls.stdout).toBe(0);
    expect(ls.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data['pointId'])).toEqual([first]);
    expect(ls.stdout).toContain(`'latest' for ${etc} is recovery point ${first.slice(0, 12)}`);
    const target = join(fx.root, 'restored');
    const r = await fx.az(['restore', 'latest', join(etc, 'hosts'), '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'RestoreResult')['pointId']).toBe(first);
    expect(readFileSync(join(target, etc, 'hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    // Unscoped, latest is the newest point; a path no point holds is said so.
    expect(resultOf(await fx.az(['restore', 'latest', '--target', join(fx.root, 'all')]), 'RestoreResult')['pointId']).toBe(second);
    const none = onlyError(await fx.az(['ls', 'latest', join(fx.root, 'nowhere')]));
    expect(none).toMatchObject({ code: 'AZB_POINT_NOT_FOUND', message: expect.stringContaining(`holds ${join(fx.root, 'nowhere')}`) });
  });
});

describe('a restore that fails half-way', () => {
  it('leaves no folder owner-only (0700 while it ran) and says what it had restored', async () => {
    const { fx, src } = await withData();
    // Half-way: the folders and the small files are written, then a file larger than the space left
    // fails the restore (ENOSPC on a real 1 MiB tmpfs, past the free-space check).
    writeFileSync(join(src, 'reports', 'big.bin'), randomBytes(2 * 1024 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const mnt = join(fx.root, 'tiny');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'azb-half-way', mnt]);
    const target = join(mnt, 'deep', 'target');
    let r;
    try {
      r = await fx.az(['restore', 'latest', '--target', target, '--ignore-free-space']);
      expect(onlyError(r).code).toBe('AZB_RESTORE_NO_SPACE');
      const umask = process.umask();
      const folders = [join(mnt, 'deep'), target, join(target, src), join(target, src, 'reports'), join(target, src, 'reports', '2026')];
      for (const dir of folders.slice(0, 3)) expect(existsSync(dir), dir).toBe(true);
      for (const dir of folders.slice(0, 2)) expect((statSync(dir).mode & 0o777).toString(8), dir).toBe((0o777 & ~umask).toString(8));
      // Folders of the point get their backed-up modes, also after the failure.
      for (const dir of folders.slice(2)) if (existsSync(dir)) expect(statSync(dir).mode & 0o777, dir).toBe(statSync(join(src, relative(join(target, src), dir))).mode & 0o777);
    } finally {
      execFileSync('umount', [mnt]);
    }
    expect(r.stdout).toMatch(/Restored before the failure: \d+ file\(s\), \d+ folder\(s\)/);
  });

  it('fails on an item that is not in the point before it writes anything', async () => {
    const { fx, src } = await withData();
    const target = join(fx.root, 'deep', 'target');
    const r = await fx.az(['restore', 'latest', join(src, 'notes.md'), join(src, 'no-such-file'), '--target', target]);
    expect(onlyError(r).code).toBe('AZB_ITEM_NOT_FOUND');
    expect(existsSync(join(fx.root, 'deep'))).toBe(false);
  });
});
