// Every kind of file, and the skipped-files report (README "Skipped files"): sockets, FIFOs and devices
// are listed, not backed up; files and folders that vanish, that this account may not read, or whose
// paths are longer than PATH_MAX are skipped and listed with a stable code; names with newlines and
// bytes that are not UTF-8 are backed up byte-exact and shown unambiguously; 10,000-level-deep trees
// go through backup, ls, check and restore without a stack overflow.
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINE_PATH, onlyError, resultOf, runEngine } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { tempDir } from '../helpers/tmp.js';
import { craftingPoints, savePointOf } from '../helpers/crafted-points.js';
import { scanSources, type ScanResult } from '../../core/backup/scanner.js';
import { escapeSkipped, SkipReport, unescapeSkipped } from '../../core/backup/skip-report.js';
import { runBackup } from '../../core/backup/archiver.js';
import { JsonSink } from '../../core/protocol/events.js';
import type { TreeNode } from '../../core/repo/tree.js';

interface JobData { jobId: string; status: string; warnings: number; skippedFilesPath: string | null; stats: Record<string, unknown>; warningList: { code: string; target?: string }[] }

/** The newest job (of an operation). */
async function lastJob(fx: VaultFixture, operation?: string): Promise<JobData> {
  const run = await fx.az(['jobs']);
  expect(run.code, run.stdout).toBe(0);
  return run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: JobData & { operation: string } }).data).find((j) => operation === undefined || j.operation === operation)!;
}

/** The entries of a skipped.txt: [code, raw path bytes (latin1), reason]; checks its header line. */
function readSkipped(file: string): { code: string; path: string; reason: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  expect(lines[0]).toMatch(/^# AzBackup skipped files of job /);
  expect(lines.at(-1)).toBe('');
  return lines.slice(1, -1).map((l) => {
    const [code, path, reason, ...rest] = l.split('\t');
    expect(rest, l).toEqual([]);
    return { code: code!, path: unescapeSkipped(path!).toString('latin1'), reason: reason! };
  });
}

/** A unix socket file at `path` (Python binds it and leaves the file behind). */
function makeSocket(path: string): void {
  execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', path]);
}

/** Removes a tree of any depth (fd-relative and iterative: rmSync cannot reach paths over PATH_MAX). */
function removeDeep(top: string): void {
  execFileSync('python3', ['-c', `
import os, sys, stat
def rm(top):
    stack = [(os.open(top, os.O_RDONLY | os.O_DIRECTORY), iter(os.listdir(top)), None)]
    while stack:
        fd, names, name = stack[-1]
        n = next(names, None)
        if n is None:
            stack.pop(); os.close(fd)
            if stack: os.rmdir(name, dir_fd=stack[-1][0])
            continue
        st = os.stat(n, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            cfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            stack.append((cfd, iter(os.listdir(cfd)), n))
        else:
            os.unlink(n, dir_fd=fd)
    os.rmdir(top)
rm(sys.argv[1])
`, top]);
}

/** A chain of `depth` folders named `name` below `top`, made with relative mkdir/chdir, and a file at the bottom. */
function makeChain(top: string, depth: number, name: string, content: string): void {
  execFileSync('python3', ['-c', `
import os, sys
os.chdir(sys.argv[1])
for i in range(int(sys.argv[2])):
    os.mkdir(sys.argv[3]); os.chdir(sys.argv[3])
open('bottom.txt', 'w').write(sys.argv[4])
`, top, String(depth), name, content]);
}

/** How deep a chain of `name` folders below `top` goes, and what its bottom.txt holds. */
function readChain(top: string, name: string): { depth: number; content: string | null } {
  const out = execFileSync('python3', ['-c', `
import os, sys, json
os.chdir(sys.argv[1]); d = 0
while os.path.isdir(sys.argv[2]):
    os.chdir(sys.argv[2]); d += 1
print(json.dumps({'depth': d, 'content': open('bottom.txt').read() if os.path.exists('bottom.txt') else None}))
`, top, name], { encoding: 'utf8' });
  return JSON.parse(out) as { depth: number; content: string | null };
}

describe('every kind of file, and the skipped-files report', () => {
  it('lists sockets, FIFOs, character and block devices with a reason each, backs up the rest, and stays Completed', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'data.txt'), 'data\n');
    makeSocket(join(src, 'app.sock'));
    execFileSync('mkfifo', [join(src, 'sub', 'pipe')]);
    execFileSync('mknod', [join(src, 'null-dev'), 'c', '1', '3']);
    execFileSync('mknod', [join(src, 'loop-dev'), 'b', '7', '200']);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout + b.stderr).toBe(0); // left out by rule: listed, not warnings
    expect(resultOf(b, 'RecoveryPoint')).toMatchObject({ filesNew: 1, filesSkipped: 0 });
    const job = await lastJob(fx);
    expect(job).toMatchObject({ status: 'Completed', warnings: 0, stats: { skipped: 4, skippedByCode: { AZB_SKIP_SPECIAL: 4 } } });
    expect(job.skippedFilesPath).toBe(join(fx.home, 'job-files', job.jobId, 'skipped.txt'));
    const entries = readSkipped(job.skippedFilesPath!);
    expect(entries.map((e) => [e.path, e.code, e.reason]).sort()).toEqual([
      [join(src, 'app.sock'), 'AZB_SKIP_SPECIAL', 'socket: only file data is backed up'],
      [join(src, 'loop-dev'), 'AZB_SKIP_SPECIAL', 'block device: only file data is backed up'],
      [join(src, 'null-dev'), 'AZB_SKIP_SPECIAL', 'character device: only file data is backed up'],
      [join(src, 'sub', 'pipe'), 'AZB_SKIP_SPECIAL', 'FIFO: only file data is backed up'],
    ].sort());
    // The command line's own listing names the file too.
    const human = await runEngine(['jobs', '--previous', '1'], { env: fx.env, json: false });
    expect(human.stdout).toContain(`${job.jobId}  Backup   Completed`);
    expect(human.stdout).toContain(`  skipped: ${job.skippedFilesPath}\n`);
    // Private to the account, as the job history.
    expect(execFileSync('stat', ['-c', '%a', job.skippedFilesPath!], { encoding: 'utf8' }).trim()).toBe('600');
    const ls = await fx.az(['ls', 'latest', src, '--recurse']);
    expect(ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['name'])).sort()).toEqual(['data.txt', 'sub']);
    // A backup that skipped nothing has no file.
    rmSync(join(src, 'app.sock')); rmSync(join(src, 'sub', 'pipe')); rmSync(join(src, 'null-dev')); rmSync(join(src, 'loop-dev'));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const clean = await lastJob(fx);
    expect(clean.skippedFilesPath).toBeNull();
    expect(clean.stats['skipped']).toBeUndefined();
  });

  it('backs up names with newlines, backslashes and bytes that are not UTF-8 byte-exact, and lists such names unambiguously', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const enc = (s: string) => Buffer.from(s, 'latin1');
    const names = [enc('line\nbreak.txt'), enc('back\\nslash.txt'), Buffer.concat([enc('bad-'), Buffer.from([0xff, 0xfe, 0xc3]), enc('.bin')]), Buffer.from('grüße-\u{1F600}.txt', 'utf8')];
    names.forEach((n, i) => writeFileSync(Buffer.concat([enc(`${src}/`), n]), `content ${i}\n`));
    const fifoName = Buffer.concat([enc('fifo\n\t'), Buffer.from([0x80]), enc('\\x80')]);
    execFileSync('python3', ['-c', 'import os,sys; os.mkfifo(bytes.fromhex(sys.argv[1]))', Buffer.concat([enc(`${src}/`), fifoName]).toString('hex')]);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(resultOf(b, 'RecoveryPoint')).toMatchObject({ filesNew: 4 });
    const target = join(fx.root, 'restored');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    const restoredDir = Buffer.from(join(target, src), 'utf8');
    const restored = readdirSync(restoredDir, { encoding: 'buffer' }).map((n) => n.toString('hex')).sort();
    expect(restored).toEqual(names.map((n) => n.toString('hex')).sort());
    names.forEach((n, i) => expect(readFileSync(Buffer.concat([restoredDir, enc('/'), n])).toString()).toBe(`content ${i}\n`));
    // The report line of the FIFO: one line, each byte written so that it reads back exactly.
    const job = await lastJob(fx, 'Backup');
    const text = readFileSync(job.skippedFilesPath!, 'utf8');
    expect(text).toContain(`AZB_SKIP_SPECIAL\t${src}/fifo\\n\\t\\x80\\\\x80\tFIFO: only file data is backed up\n`);
    expect(readSkipped(job.skippedFilesPath!).map((e) => e.path)).toEqual([Buffer.concat([enc(`${src}/`), fifoName]).toString('latin1')]);
  });

  it('escapes names one way only: every byte sequence reads back as itself', () => {
    const samples = [Buffer.from('plain/ascii name.txt'), Buffer.from([0x5c, 0x6e, 0x0a, 0x5c, 0x5c, 0x78, 0x66, 0x66, 0xff]), Buffer.from([0xed, 0xa0, 0x80]) /* a UTF-16 surrogate: not UTF-8 */,
      Buffer.from([0xe2, 0x82]) /* cut short */, Buffer.from([0xc0, 0xaf]) /* overlong "/" */, Buffer.from('ünïcödé \u{1F600}', 'utf8'), Buffer.from([0x7f, 0x01, 0x09, 0x0d])];
    for (let i = 0; i < 256; i++) samples.push(Buffer.from([i, 0x41, i]));
    for (const raw of samples) {
      const text = escapeSkipped(raw);
      expect(text).not.toMatch(/[\n\r\t\u0000-\u001f\u007f\ufffd]/);
      expect(unescapeSkipped(text).toString('hex'), text).toBe(raw.toString('hex'));
    }
    expect(escapeSkipped(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(escapeSkipped(Buffer.from('a\\b\nc', 'latin1'))).toBe('a\\\\b\\nc');
  });

  it('lists a file and a folder that vanish between the listing and the read, and a folder that vanishes during the walk', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'gone-dir'), { recursive: true });
    writeFileSync(join(src, 'keep.txt'), 'keep');
    writeFileSync(join(src, 'gone.txt'), 'soon gone');
    writeFileSync(join(src, 'gone-dir', 'inner.txt'), 'soon gone too');
    const { vault, repo, key } = await craftingPoints(fx);
    try {
      mkdirSync(join(fx.root, 'cache-here'));
      const scan: ScanResult = await scanSources([src], []);
      // Gone after the listing, before the backup reads them.
      rmSync(join(src, 'gone.txt'));
      rmSync(join(src, 'gone-dir'), { recursive: true });
      const lines: string[] = [];
      const sink = new JsonSink((l) => { lines.push(l); });
      const jobId = 'test-vanished-1';
      const report = new SkipReport(jobId, sink);
      const r = await runBackup(repo, { sources: [src], excludes: [], scan: Promise.resolve(scan), skipReport: report, cacheDir: join(fx.root, 'cache-here'), signingKey: key, tags: [], signal: new AbortController().signal, sink });
      expect(r.skipped).toMatchObject({ count: 2, warned: 2, byCode: { AZB_SKIP_VANISHED: 2 } });
      expect(r.manifest.stats).toMatchObject({ filesNew: 1, filesSkipped: 2 });
      const entries = readSkipped(r.skipped.file!);
      expect(entries.map((e) => [e.path, e.code]).sort()).toEqual([[join(src, 'gone-dir', 'inner.txt'), 'AZB_SKIP_VANISHED'], [join(src, 'gone.txt'), 'AZB_SKIP_VANISHED']]);
      expect(entries[0]!.reason).toMatch(/^file removed while the backup ran \(ENOENT\)$/);
      const warned = lines.map((l) => JSON.parse(l) as { type: string; code?: string; target?: string }).filter((e) => e.type === 'warning');
      expect(warned.map((w) => [w.code, w.target]).sort()).toEqual([['AZB_FILE_SKIPPED', join(src, 'gone-dir', 'inner.txt')], ['AZB_FILE_SKIPPED', join(src, 'gone.txt')]]);
    } finally {
      await vault.store.close();
    }

    // A folder removed after its parent was listed and before the walk lists it. The walk goes
    // through a folder's entries in the order readdir gives them: the first one gets 1,000 files, so
    // the progress callback (every 1,000 files) fires before the second one is listed, and removes it.
    const walk = join(fx.root, 'walk');
    mkdirSync(join(walk, 'p'), { recursive: true });
    mkdirSync(join(walk, 'q'));
    const [first, second] = readdirSync(walk) as [string, string];
    for (let i = 0; i < 1000; i++) writeFileSync(join(walk, first, `f${i}`), '');
    writeFileSync(join(walk, second, 'x.txt'), 'x');
    let removed = false;
    const scan = await scanSources([walk], [], (files) => { if (files === 1000 && !removed) { rmSync(join(walk, second), { recursive: true }); removed = true; } });
    expect(removed).toBe(true);
    expect(scan.skipped).toEqual([{ path: join(walk, second), code: 'AZB_SKIP_VANISHED', reason: 'folder removed while the backup ran (ENOENT)' }]);
    expect(scan.files).toBe(1000);
  });

  it('lists files and folders it may not read, and refuses a source it cannot read at all (as an unprivileged user)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'locked-dir'), { recursive: true });
    writeFileSync(join(src, 'ok.txt'), 'fine');
    writeFileSync(join(src, 'secret.txt'), 'no access');
    writeFileSync(join(src, 'locked-dir', 'inner.txt'), 'x');
    const closed = join(fx.root, 'closed');
    mkdirSync(closed);
    writeFileSync(join(closed, 'a.txt'), 'a');
    const closedFile = join(fx.root, 'closed.txt');
    writeFileSync(closedFile, 'x');
    // root reads everything: run the engine as nobody, with the fixture's home and vault made its own.
    const nobody = 65534;
    const engine = join(fx.root, 'azbackup');
    copyFileSync(ENGINE_PATH, engine);
    chmodSync(engine, 0o755);
    for (const p of [fx.root, join(fx.root, 'home'), join(fx.root, 'vault')]) execFileSync('chown', ['-R', `${nobody}:${nobody}`, p]);
    for (const p of [join(src, 'secret.txt'), join(src, 'locked-dir'), closed, closedFile]) { chownSync(p, 0, 0); chmodSync(p, 0o000); }
    const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', engine, ...args, '--json'], {
      env: { ...fx.env, PATH: process.env['PATH'] ?? '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string; message?: string; data?: Record<string, unknown> });
    const run = asNobody(['backup', src]);
    expect(run.status, run.stdout + run.stderr).toBe(3);
    const jobs = asNobody(['jobs', '--previous', '1']);
    const job = events(jobs.stdout).find((e) => e.type === 'item')!.data as unknown as JobData;
    expect(job).toMatchObject({ status: 'CompletedWithWarnings', stats: { skipped: 2, skippedByCode: { AZB_SKIP_ACCESS_DENIED: 2 } } });
    expect(readSkipped(job.skippedFilesPath!).map((e) => [e.path, e.code, e.reason]).sort()).toEqual([
      [join(src, 'locked-dir'), 'AZB_SKIP_ACCESS_DENIED', 'permission denied (EACCES): this account may not read the folder'],
      [join(src, 'secret.txt'), 'AZB_SKIP_ACCESS_DENIED', 'permission denied (EACCES): this account may not read the file'],
    ]);
    // Sources it cannot read at all: a clear error, a Failed job, nothing written.
    for (const source of [closed, closedFile]) {
      const denied = asNobody(['backup', source]);
      expect(denied.status, denied.stdout).toBe(1);
      const err = events(denied.stdout).filter((e) => e.type === 'error');
      expect(err).toHaveLength(1);
      expect(err[0]).toMatchObject({ code: 'AZB_SOURCE_ACCESS_DENIED', message: `The source ${source} cannot be read by this account (EACCES); nothing was backed up.` });
      const failed = events(asNobody(['jobs', '--previous', '1']).stdout).find((e) => e.type === 'item')!.data as unknown as JobData;
      expect(failed).toMatchObject({ status: 'Failed', skippedFilesPath: null });
    }
  }, 120_000);

  it('skips and lists paths longer than PATH_MAX, and backs up everything shorter', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const name = 'n'.repeat(200);
    makeChain(src, 25, name, 'deep down'); // ~5,000 bytes of path: made with relative mkdir/chdir
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout + b.stderr).toBe(3);
    const job = await lastJob(fx);
    const entries = readSkipped(job.skippedFilesPath!);
    expect(entries).toHaveLength(1);
    const levels = Math.floor((4095 - src.length) / 201) + 1; // the first level whose path is 4,096 bytes or more
    expect(entries[0]!.path).toBe(src + `/${name}`.repeat(levels));
    expect(entries[0]!.code).toBe('AZB_SKIP_PATH_TOO_LONG');
    expect(entries[0]!.reason).toBe(`the path is ${src.length + 201 * levels} bytes, longer than the 4095 a Linux system call accepts (PATH_MAX); the entry and what is below it are not backed up`);
    const ls = await fx.az(['ls', 'latest', '--recurse']);
    const paths = ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']));
    expect(Math.max(...paths.map((p) => p.length))).toBe(src.length + 201 * (levels - 1));
    removeDeep(src);
  }, 120_000);

  it('backs up a 10,000-level-deep tree as far as PATH_MAX allows; ls, check and restore a 10,000-level point without a stack overflow', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    makeChain(src, 10_000, 'd', 'at the bottom');
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout + b.stderr).toBe(3);
    const job = await lastJob(fx);
    const levels = Math.floor((4095 - src.length) / 2) + 1;
    expect(readSkipped(job.skippedFilesPath!).map((e) => [e.code, e.path])).toEqual([['AZB_SKIP_PATH_TOO_LONG', src + '/d'.repeat(levels)]]);
    expect(resultOf(b, 'RecoveryPoint')).toMatchObject({ filesNew: 0, dirs: levels });
    const target = join(fx.root, 'restored');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readChain(join(target, src), 'd')).toEqual({ depth: levels - 1, content: null });
    removeDeep(target);
    removeDeep(src);

    // A point 10,000 levels deep (as a vault may hold: written by an engine that reads such paths, or
    // crafted), with a file at the bottom.
    const deepSource = join(fx.root, 'deep');
    const pointId = await savePointOf(fx, deepSource, async (saveTree, saveData) => {
      const content = 'at the bottom\n';
      const { createHash } = await import('node:crypto');
      let nodes: TreeNode[] = [{ name: 'bottom.txt', type: 'file', mode: 0o644, mtimeNs: '0', size: content.length, content: [await saveData(Buffer.from(content))], digest: createHash('sha256').update(content).digest('hex') }];
      for (let i = 0; i < 10_000; i++) nodes = [{ name: 'd', type: 'dir', mode: 0o755, mtimeNs: '0', subtree: await saveTree(nodes) }];
      return nodes;
    });
    const ls = await fx.az(['ls', pointId, '--recurse']);
    expect(ls.code, ls.stderr).toBe(0);
    const items = ls.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
    expect(items).toHaveLength(10_002); // the source folder, 10,000 below it, and the file
    expect(String(items.find((i) => i['name'] === 'bottom.txt')!['path'])).toBe(deepSource + '/d'.repeat(10_000) + '/bottom.txt');
    const check = await fx.az(['check', '--read-data']);
    expect(check.code, check.stdout.slice(-2000) + check.stderr).toBe(0);
    const prune = await fx.az(['prune']); // walks every live point's trees
    expect(prune.code, prune.stdout.slice(-2000) + prune.stderr).toBe(0);
    const deepTarget = join(fx.root, 'restored-deep');
    const rd = await fx.az(['restore', pointId, '--target', deepTarget]);
    expect(rd.code, rd.stdout.slice(-2000) + rd.stderr).toBe(0);
    expect(readChain(join(deepTarget, deepSource), 'd')).toEqual({ depth: 10_000, content: 'at the bottom\n' });
    removeDeep(deepTarget);
    expect(existsSync(deepTarget)).toBe(false);
  }, 600_000);

  it('lists every skipped path in the file while the job keeps the first 100 as warnings and counts the rest', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const nobody = 65534;
    const engine = join(fx.root, 'azbackup');
    copyFileSync(ENGINE_PATH, engine);
    chmodSync(engine, 0o755);
    for (const p of [fx.root, join(fx.root, 'home'), join(fx.root, 'vault')]) execFileSync('chown', ['-R', `${nobody}:${nobody}`, p]);
    for (let i = 0; i < 2500; i++) { const p = join(src, `locked-${i}`); writeFileSync(p, 'x', { mode: 0o600 }); }
    for (let i = 0; i < 300; i++) execFileSync('mkfifo', [join(src, `fifo-${i}`)]);
    const run = spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', engine, 'backup', src, '--json'], {
      env: { ...fx.env, PATH: process.env['PATH'] ?? '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(3);
    const warnings = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string; message?: string }).filter((e) => e.type === 'warning');
    expect(warnings.filter((w) => w.code === 'AZB_FILE_SKIPPED')).toHaveLength(100);
    const more = warnings.filter((w) => w.code === 'AZB_FILES_SKIPPED_MORE');
    expect(more).toHaveLength(1);
    expect(more[0]!.message).toMatch(/^2400 more path\(s\) were skipped than the 100 named in warnings; every one is listed in \/.*\/skipped\.txt\.$/);
    const jobs = spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', engine, 'jobs', '--previous', '1', '--json'], { env: { ...fx.env, PATH: process.env['PATH'] ?? '' }, encoding: 'utf8' });
    const job = (JSON.parse(jobs.stdout.trim().split('\n')[0]!) as { data: JobData }).data;
    expect(job.stats).toMatchObject({ skipped: 2800, skippedByCode: { AZB_SKIP_ACCESS_DENIED: 2500, AZB_SKIP_SPECIAL: 300 }, filesSkipped: 2500 });
    expect(job.warningList).toHaveLength(100);
    const entries = readSkipped(job.skippedFilesPath!);
    expect(entries).toHaveLength(2800);
    expect(new Set(entries.map((e) => e.path)).size).toBe(2800);
    expect(entries.filter((e) => e.code === 'AZB_SKIP_ACCESS_DENIED').map((e) => e.path).sort()).toEqual(Array.from({ length: 2500 }, (_, i) => join(src, `locked-${i}`)).sort());
  }, 180_000);

  it('says so when the list cannot be written, and still warns for the first skipped paths', async () => {
    const home = join(tempDir('azb-skiphome-'), 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'job-files'), 'a file where the folder of job files belongs');
    const saved = process.env['AZBACKUP_HOME'];
    process.env['AZBACKUP_HOME'] = home;
    try {
      const lines: string[] = [];
      const report = new SkipReport('test-unwritable-1', new JsonSink((l) => { lines.push(l); }));
      report.add({ path: '/srv/a', code: 'AZB_SKIP_ACCESS_DENIED', reason: 'permission denied (EACCES): this account may not read the file' });
      report.add({ path: '/srv/b.sock', code: 'AZB_SKIP_SPECIAL', reason: 'socket: only file data is backed up' });
      const summary = await report.close();
      expect(summary).toEqual({ count: 2, warned: 1, byCode: { AZB_SKIP_ACCESS_DENIED: 1, AZB_SKIP_SPECIAL: 1 }, file: null });
      const warnings = lines.map((l) => JSON.parse(l) as { type: string; code: string; message: string; target?: string });
      expect(warnings.map((w) => [w.code, w.target])).toEqual([['AZB_FILE_SKIPPED', '/srv/a'], ['AZB_SKIPPED_REPORT_UNWRITABLE', join(home, 'job-files', 'test-unwritable-1', 'skipped.txt')]]);
      expect(warnings[1]!.message).toMatch(/could not be written to .*skipped\.txt \(E[A-Z]+\); the warnings name the first 100\.$/);
    } finally {
      if (saved === undefined) delete process.env['AZBACKUP_HOME']; else process.env['AZBACKUP_HOME'] = saved;
    }
  });

  it('refuses nothing silently: a missing source is still AZB_SOURCE_NOT_FOUND', async () => {
    const fx = await registeredServer();
    const run = await fx.az(['backup', join(fx.root, 'none')]);
    expect(onlyError(run).code).toBe('AZB_SOURCE_NOT_FOUND');
    expect((await lastJob(fx)).skippedFilesPath).toBeNull();
  });
});
