// Tar import (backup --from-tar ROOT) and tar export (restore --to-tar -): real archives made by the
// system's GNU tar (GNU and pax formats), imported through the built engine, restored to a folder and
// exported and extracted again by GNU tar; compared byte for byte and by metadata. Bad streams (cut,
// garbage, empty, escaping the root, sparse) fail with their code and write no point.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, statSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_PATH, onlyError, parseEvents, resultOf, runEngine } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { tempDir } from '../helpers/tmp.js';
import { savePointOf } from '../helpers/crafted-points.js';
import { unescapeSkipped } from '../../core/backup/skip-report.js';
import { base256, paxTimeNs, parsePaxRecords } from '../../core/backup/tar-import.js';
import { compareTree, formatDifferences, takeManifest } from '../roundtrip/manifest.js';

/** An archive written by tar-stream's pack (for members GNU tar would never write). */
async function packed(entries: { name: string; type: 'file' | 'directory' | 'character-device' | 'fifo' | 'symlink' | 'link'; body?: string; linkname?: string }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => { chunks.push(c as Buffer); });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = { name: e.name, type: e.type, mode: 0o644, ...(e.linkname ? { linkname: e.linkname } : {}) };
      if (e.type === 'file') p.entry(header, e.body ?? '', done); else p.entry(header, done);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** `tar -C dir -cf - paths` with GNU tar, in a format, as bytes. */
function tarOf(dir: string, paths: string[], format: 'gnu' | 'pax', extra: string[] = []): Buffer {
  return execFileSync('tar', ['-C', dir, `--format=${format}`, ...extra, '-cf', '-', ...paths], { maxBuffer: 1 << 30 });
}

async function pointCount(fx: VaultFixture): Promise<number> {
  const run = await fx.az(['points']);
  expect(run.code, run.stdout).toBe(0);
  return run.events.filter((e) => e.type === 'item').length;
}

async function importTar(fx: VaultFixture, root: string, stream: Buffer) {
  return fx.az(['backup', '--from-tar', root], { stdin: stream });
}

/** The source tree: a file, a hard link, a symlink, a FIFO, a long name, an empty file, odd modes. */
function makeSource(): string {
  const src = tempDir('azb-tar-src-');
  const data = join(src, 'srv', 'data');
  mkdirSync(join(data, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'hello tar\n');
  linkSync(join(data, 'a.txt'), join(data, 'sub', 'hard.txt'));
  symlinkSync('../a.txt', join(data, 'sub', 'link'));
  writeFileSync(join(data, 'empty'), '');
  writeFileSync(join(data, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  const long = 'l'.repeat(90);
  mkdirSync(join(data, long, long), { recursive: true });
  writeFileSync(join(data, long, long, 'n'.repeat(120)), 'deep');
  writeFileSync(join(data, 'exec.sh'), '#!/bin/sh\n', { mode: 0o750 });
  execFileSync('mkfifo', [join(data, 'pipe')]);
  utimesSync(join(data, 'a.txt'), 1_600_000_000.123456, 1_600_000_000.123456);
  return src;
}

describe('backup --from-tar', () => {
  let fx: VaultFixture;
  let src: string;
  beforeAll(async () => {
    fx = await registeredServer();
    src = makeSource();
  }, 120_000);

  for (const format of ['gnu', 'pax'] as const) {
    it(`imports a ${format} archive as the tree below ROOT; restored, it equals the source`, async () => {
      const run = await importTar(fx, '/srv/data', tarOf(src, ['srv/data'], format));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const point = resultOf(run, 'RecoveryPoint') as { pointId: string; sources: string[] };
      expect(point.sources).toEqual(['/srv/data']);
      const out = tempDir('azb-tar-out-');
      const restored = await fx.az(['restore', point.pointId, '--target', out, '--preserve-setuid']);
      expect(restored.code, restored.stdout).toBe(0);
      const expected = takeManifest(join(src, 'srv', 'data'));
      expected.delete('pipe'); // FIFOs are left out by rule
      // pax keeps sub-second mtimes; GNU format whole seconds only: those are compared to the second.
      const diffs = compareTree(expected, join(out, 'srv', 'data'), { owners: true })
        .filter((d) => !(format === 'gnu' && d.kind === 'mtime'));
      expect(diffs, formatDifferences(diffs)).toEqual([]);
      if (format === 'gnu') {
        const got = takeManifest(join(out, 'srv', 'data'));
        for (const [p, want] of expected) expect(got.get(p)!.mtimeNs / 1_000_000_000n, p).toBe(want.mtimeNs / 1_000_000_000n);
      }
      // The FIFO is in the skipped-files report with AZB_SKIP_SPECIAL, as a walk of the disk lists it.
      const jobs = await fx.az(['jobs']);
      const job = jobs.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { operation: string; skippedFilesPath: string | null } }).data).find((j) => j.operation === 'Backup')!;
      const lines = readFileSync(job.skippedFilesPath!, 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t'));
      expect(lines.map(([code, path]) => [code, unescapeSkipped(path!).toString('utf8')])).toEqual([['AZB_SKIP_SPECIAL', '/srv/data/pipe']]);
    }, 120_000);
  }

  it('devices and FIFOs with odd names are listed byte-exact as AZB_SKIP_SPECIAL; a hard-linked symlink is a link', async () => {
    const stream = await packed([
      { name: 'srv/data', type: 'directory' },
      { name: 'srv/data/tty', type: 'character-device' },
      { name: 'srv/data/fifo', type: 'fifo' },
      { name: 'srv/data/f', type: 'file', body: 'kept' },
      { name: 'srv/data/sym', type: 'symlink', linkname: 'f' },
      { name: 'srv/data/sym2', type: 'link', linkname: 'srv/data/sym' },
    ]);
    const run = await importTar(fx, '/srv/data', stream);
    expect(run.code, run.stdout).toBe(0);
    const pointId = (resultOf(run, 'RecoveryPoint') as { pointId: string }).pointId;
    const jobs = await fx.az(['jobs']);
    const job = jobs.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { operation: string; skippedFilesPath: string | null } }).data).find((j) => j.operation === 'Backup')!;
    const lines = readFileSync(job.skippedFilesPath!, 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t'));
    expect(lines.map(([code, path]) => [code, unescapeSkipped(path!).toString('latin1')]).sort()).toEqual([
      ['AZB_SKIP_SPECIAL', '/srv/data/fifo'], ['AZB_SKIP_SPECIAL', '/srv/data/tty'],
    ].sort());
    const out = tempDir('azb-tar-out-');
    const restored = await fx.az(['restore', pointId, '--target', out]);
    expect(restored.code, restored.stdout).toBe(0);
    expect(execFileSync('find', [join(out, 'srv', 'data'), '-mindepth', '1', '-printf', '%f %y %l\n'], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['f f ', 'sym l f', 'sym2 l f']);
  }, 120_000);

  for (const format of ['gnu', 'pax'] as const) {
    it(`a FIFO whose name is not UTF-8 and holds a newline is listed byte-exact (${format})`, async () => {
      const dir = tempDir('azb-tar-fifo-');
      mkdirSync(join(dir, 'srv', 'data'), { recursive: true });
      // Through the shell: Node passes arguments as UTF-8 strings, which cannot hold the byte 0xff.
      execFileSync('bash', ['-c', 'mkfifo "$D/srv/data/p-$(printf \'\\377\\nx\')"'], { env: { ...process.env, D: dir } });
      const run = await importTar(fx, '/srv/data', tarOf(dir, ['srv/data'], format));
      expect(run.code, run.stdout).toBe(0);
      const jobs = await fx.az(['jobs']);
      const job = jobs.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { operation: string; skippedFilesPath: string | null } }).data).find((j) => j.operation === 'Backup')!;
      const lines = readFileSync(job.skippedFilesPath!, 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t'));
      expect(lines.map(([code, path]) => [code, unescapeSkipped(path!).toString('hex')])).toEqual([['AZB_SKIP_SPECIAL', Buffer.concat([Buffer.from('/srv/data/p-'), Buffer.from([0xff, 0x0a]), Buffer.from('x')]).toString('hex')]]);
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);
  }

  it('over rpc: the tar stream follows the request line on stdin', async () => {
    const request = JSON.stringify({ protocolVersion: 1, command: 'backup', args: { fromTar: { root: '/srv/data' } }, secrets: { passphrase: fx.passphrase } });
    const env = { ...fx.env, AZBACKUP_PASSPHRASE: undefined };
    const run = await runEngine(['rpc'], { env, stdin: Buffer.concat([Buffer.from(request + '\n'), tarOf(src, ['srv/data'], 'pax')]) });
    expect(run.code, run.stdout).toBe(0);
    const point = resultOf(run, 'RecoveryPoint') as { sources: string[]; filesNew: number };
    expect(point.sources).toEqual(['/srv/data']);
    expect(point.filesNew).toBe(6); // a.txt, its hard link, empty, big.bin, the deep file, exec.sh (the FIFO is left out)
  }, 60_000);

  it('imports the same data again as unchanged blobs (deduplicated)', async () => {
    const first = await importTar(fx, '/srv/data', tarOf(src, ['srv/data'], 'pax'));
    expect(first.code, first.stdout).toBe(0);
    const again = await importTar(fx, '/srv/data', tarOf(src, ['srv/data'], 'gnu'));
    expect(again.code, again.stdout).toBe(0);
    const stats = resultOf(again, 'RecoveryPoint') as { bytesAdded: number; bytesRead: number };
    expect(stats.bytesRead).toBeGreaterThan(3 * 1024 * 1024);
    expect(stats.bytesAdded, 'every chunk was in the vault already').toBe(0);
  }, 120_000);
});

/** `azbackup restore ... --to-tar -` piped into GNU tar -x in `dest`; the engine's and tar's outcome. */
function exportInto(fx: VaultFixture, args: string[], dest: string): { engine: number; tar: number; events: { type: string; code?: string }[]; tarErr: string } {
  const shell = `"$AZB_EXE" restore ${args.map((a) => `'${a}'`).join(' ')} --to-tar - --json 2>"$AZB_EVENTS" | tar -x -C "$AZB_DEST"; echo "\${PIPESTATUS[0]} \${PIPESTATUS[1]}"`;
  const eventsFile = join(dest, '..', `events-${Date.now()}.ndjson`);
  const r = spawnSync('bash', ['-c', shell], { env: { ...process.env, ...fx.env, AZB_EXE: ENGINE_PATH, AZB_EVENTS: eventsFile, AZB_DEST: dest }, encoding: 'utf8' });
  const [engine, tar] = r.stdout.trim().split(' ').map(Number);
  const events = readFileSync(eventsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { type: string; code?: string });
  return { engine: engine!, tar: tar!, events, tarErr: r.stderr };
}

describe('restore --to-tar -', () => {
  let fx: VaultFixture;
  let src: string;
  let pointId: string;
  beforeAll(async () => {
    fx = await registeredServer();
    src = makeSource();
    const run = await fx.az(['backup', join(src, 'srv', 'data')]);
    expect(run.code, run.stdout).toBe(0);
    pointId = (resultOf(run, 'RecoveryPoint') as { pointId: string }).pointId;
  }, 120_000);

  it('writes the point as a pax tar that GNU tar extracts equal to the source', async () => {
    const dest = join(tempDir('azb-tar-x-'), 'd');
    mkdirSync(dest);
    const r = exportInto(fx, [pointId], dest);
    expect([r.engine, r.tar], r.tarErr).toEqual([0, 0]);
    expect(r.events.some((e) => e.type === 'result')).toBe(true);
    const expected = takeManifest(join(src, 'srv', 'data'));
    expected.delete('pipe');
    const diffs = compareTree(expected, join(dest, src.slice(1), 'srv', 'data'), { owners: true });
    expect(diffs, formatDifferences(diffs)).toEqual([]);
  }, 120_000);

  it('writes only the items asked for', async () => {
    const dest = join(tempDir('azb-tar-x-'), 'd');
    mkdirSync(dest);
    const item = join(src, 'srv', 'data', 'sub');
    const r = exportInto(fx, [pointId, item], dest);
    expect([r.engine, r.tar], r.tarErr).toEqual([0, 0]);
    const listed = execFileSync('find', [dest, '-mindepth', '1'], { encoding: 'utf8' }).trim().split('\n').map((p) => p.slice(dest.length)).sort();
    expect(listed.filter((p) => !item.startsWith(p))).toEqual([`${item}/deeper`, `${item}/hard.txt`, `${item}/link`].sort());
    expect(readFileSync(join(dest, item, 'hard.txt'), 'utf8')).toBe('hello tar\n');
  }, 120_000);

  it('a file whose bytes do not match its digest cuts the stream: AZB_RESTORE_VERIFY_FAILED, and tar fails', async () => {
    // A point whose second file carries a wrong digest (as damage or a defect could leave it).
    const own = await registeredServer();
    const good = Buffer.alloc(1000, 1);
    const partA = Buffer.alloc(300_000, 2);
    const partB = Buffer.alloc(300_000, 5);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const id = await savePointOf(own, '/srv/bad', async (_saveTree, saveData) => [
      { name: 'a-good', type: 'file', mode: 0o644, mtimeNs: '1700000000000000000', uid: 0, gid: 0, size: good.length, content: [await saveData(good)], digest: sha(good) },
      { name: 'b-bad', type: 'file', mode: 0o644, mtimeNs: '1700000000000000000', uid: 0, gid: 0, size: 600_000, content: [await saveData(partA), await saveData(partB)], digest: sha(Buffer.alloc(600_000, 9)) },
    ]);
    const dest = join(tempDir('azb-tar-x-'), 'd');
    mkdirSync(dest);
    const r = exportInto(own, [id], dest);
    expect(r.engine).not.toBe(0);
    expect(r.tar, 'the consumer sees a cut stream').not.toBe(0);
    expect(r.events.filter((e) => e.type === 'error').map((e) => e.code)).toEqual(['AZB_RESTORE_VERIFY_FAILED']);
    expect(readFileSync(join(dest, 'srv', 'bad', 'a-good'))).toEqual(good);
    // The bad member never became whole: its last chunk was held back.
    const partial = join(dest, 'srv', 'bad', 'b-bad');
    expect(existsSync(partial) ? statSync(partial).size : 0).toBeLessThan(600_000);
  }, 120_000);

  it('refuses --to-tar with --target (AZB_USAGE), and over rpc', async () => {
    const both = await fx.az(['restore', pointId, '--target', tempDir('azb-tar-t-'), '--to-tar', '-']);
    // With --to-tar the events go to stderr (stdout is the tar).
    expect(both.stdout).toBe('');
    expect(onlyError({ ...both, stdout: both.stderr, events: parseEvents(both.stderr) }).code).toBe('AZB_USAGE');
    const viaRpc = await runEngine(['rpc'], { env: fx.env, stdin: JSON.stringify({ protocolVersion: 1, command: 'restore', args: { point: pointId, toTar: '-' } }) });
    expect((viaRpc.events.find((e) => e.type === 'error') as { code: string }).code).toBe('AZB_USAGE');
  }, 60_000);
});

describe('backup --from-tar: bad streams write no point', () => {
  let fx: VaultFixture;
  let src: string;
  beforeAll(async () => {
    fx = await registeredServer();
    src = makeSource();
  }, 120_000);

  const refused = async (root: string, stream: Buffer, code: string) => {
    const before = await pointCount(fx);
    const run = await importTar(fx, root, stream);
    expect(run.code, run.stdout).not.toBe(0);
    const err = onlyError(run);
    expect(err.code, err.message).toBe(code);
    expect(await pointCount(fx)).toBe(before);
    return err;
  };

  it('a stream cut in the middle of a member: AZB_TAR_TRUNCATED', async () => {
    const whole = tarOf(src, ['srv/data'], 'pax');
    await refused('/srv/data', whole.subarray(0, Math.floor(whole.length / 2) + 100), 'AZB_TAR_TRUNCATED');
  }, 60_000);

  it('a stream cut at a member boundary (no end-of-archive blocks): AZB_TAR_TRUNCATED', async () => {
    const one = join(src, 'srv', 'data', 'a.txt');
    const whole = execFileSync('tar', ['-C', src, '--format=gnu', '-cf', '-', 'srv/data/a.txt']);
    expect(readFileSync(one).length).toBeLessThan(512);
    await refused('/srv/data', whole.subarray(0, 1024), 'AZB_TAR_TRUNCATED'); // header and one data block
  }, 60_000);

  it('garbage: AZB_TAR_INVALID', async () => {
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 251;
    await refused('/srv/data', garbage, 'AZB_TAR_INVALID');
  }, 60_000);

  it('a header with a bad checksum: AZB_TAR_INVALID', async () => {
    const whole = Buffer.from(tarOf(src, ['srv/data'], 'gnu'));
    whole[0] = whole[0]! ^ 0x01; // the first header's name, not its checksum
    await refused('/srv/data', whole, 'AZB_TAR_INVALID');
  }, 60_000);

  it('a 0-byte stream: AZB_TAR_EMPTY', async () => {
    const err = await refused('/srv/data', Buffer.alloc(0), 'AZB_TAR_EMPTY');
    expect(err.message).toMatch(/0 bytes/);
  }, 60_000);

  it('an archive of nothing (end blocks only): AZB_TAR_EMPTY', async () => {
    await refused('/srv/data', Buffer.alloc(10240), 'AZB_TAR_EMPTY');
  }, 60_000);

  it('members outside ROOT: AZB_TAR_OUTSIDE_ROOT', async () => {
    const err = await refused('/srv/other', tarOf(src, ['srv/data'], 'pax'), 'AZB_TAR_OUTSIDE_ROOT');
    expect(err.message).toContain('/srv/data');
  }, 60_000);

  it('absolute member names: AZB_TAR_UNSAFE_PATH', async () => {
    await refused('/srv/data', tarOf(src, [join(src, 'srv', 'data', 'a.txt')], 'gnu', ['-P']), 'AZB_TAR_UNSAFE_PATH');
  }, 60_000);

  it("member names with '..': AZB_TAR_UNSAFE_PATH", async () => {
    // GNU tar strips '..' when it writes, so the archive is made by tar-stream's writer.
    const tar = await packed([{ name: 'srv/data/../../etc/passwd', type: 'file', body: 'x' }]);
    const err = await refused('/srv/data', tar, 'AZB_TAR_UNSAFE_PATH');
    expect(err.message).toContain('..');
  }, 60_000);

  it('GNU sparse members (tar -S): AZB_TAR_UNSUPPORTED, in both formats', async () => {
    const dir = tempDir('azb-tar-sparse-');
    mkdirSync(join(dir, 'srv', 'data'), { recursive: true });
    execFileSync('truncate', ['-s', '10M', join(dir, 'srv', 'data', 'holes')]);
    writeFileSync(join(dir, 'srv', 'data', 'holes'), 'x', { flag: 'r+' });
    for (const format of ['gnu', 'pax'] as const) await refused('/srv/data', tarOf(dir, ['srv/data'], format, ['-S']), 'AZB_TAR_UNSUPPORTED');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a ROOT that is not absolute, or --from-tar with paths: AZB_ARGS_INVALID', async () => {
    const rel = await importTar(fx, 'srv/data', tarOf(src, ['srv/data'], 'pax'));
    expect(onlyError(rel).code).toBe('AZB_ARGS_INVALID');
    const both = await fx.az(['backup', src, '--from-tar', '/srv/data'], { stdin: tarOf(src, ['srv/data'], 'pax') });
    expect(onlyError(both).code).toBe('AZB_ARGS_INVALID');
    // A tar stream comes on stdin alone: not beside --stdin or a member's command.
    for (const extra of [['--stdin'], ['--member', 'db01', '--remote-command', 'seq', '--stdin-name', 'x']]) {
      const mixed = await fx.az(['backup', '--from-tar', '/srv/data', ...extra], { stdin: tarOf(src, ['srv/data'], 'pax') });
      expect(onlyError(mixed).code, extra.join(' ')).toBe('AZB_USAGE');
    }
  }, 60_000);

  it('the rpc request refuses a fromTar that is not {root}', async () => {
    const bad = await runEngine(['rpc'], { env: fx.env, stdin: JSON.stringify({ protocolVersion: 1, command: 'backup', args: { fromTar: { root: '/srv/data', extra: 1 } } }) });
    expect(onlyError(bad).code).toBe('AZB_ARGS_INVALID');
    expect(onlyError(bad).message).toContain('fromTar');
  }, 60_000);
});

describe('pax helpers', () => {
  it('reads pax times exactly, to the nanosecond, negative ones too', () => {
    expect(paxTimeNs('1700000000.123456789')).toBe('1700000000123456789');
    expect(paxTimeNs('1700000000.5')).toBe('1700000000500000000');
    expect(paxTimeNs('1700000000')).toBe('1700000000000000000');
    expect(paxTimeNs('-1.25')).toBe('-1250000000');
    expect(paxTimeNs('12x')).toBeUndefined();
  });

  it('reads base-256 (GNU) numbers, negative ones exactly (tar-stream reads them one too high)', () => {
    const field = (v: bigint) => { const b = Buffer.alloc(12); let x = BigInt.asUintN(88, v); for (let i = 11; i > 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; } b[0] = v < 0n ? 0xff : 0x80; return b; };
    for (const v of [0n, 5n, -1n, -2n, -506529821n, -2147483648n, 8n ** 11n + 3n]) expect(base256(field(v)), String(v)).toBe(v);
  });

  it('keeps the raw bytes of pax records that are not UTF-8, and refuses malformed ones', () => {
    const name = Buffer.from([0x66, 0xff, 0x0a, 0x67]);
    const rec = (k: string, v: Buffer) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      return Buffer.concat([Buffer.from(String(len)), body]);
    };
    const parsed = parsePaxRecords(Buffer.concat([rec('path', name), rec('mtime', Buffer.from('1.5'))]));
    expect(parsed.get('path')).toEqual(name);
    expect(parsed.get('mtime')!.toString()).toBe('1.5');
    expect(() => parsePaxRecords(Buffer.from('99 path=x\n'))).toThrow(/malformed pax/);
  });
});

