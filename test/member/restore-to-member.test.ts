// restore --to-member: the verified tar export streamed into GNU tar on a member over SSH, with a real
// sshd on loopback as the member (test/helpers/mounts.ts startSshd). A tree with every tricky entry
// (long names and paths, symlinks, hard links, a sparse file, modes, setuid, owners, times before 1970,
// a name that is not UTF-8, binary user.* attributes) comes back byte for byte with its metadata; the
// failures are coded and name the member, and what they leave in the target is checked: only whole,
// right files, never one with the point's name and size but other bytes.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, parseEvents, resultOf, startEngine, type EngineRun } from '../helpers/engine.js';
import { makeDataTree } from '../helpers/data-tree.js';
import { Mounts, startSshd, type Sshd } from '../helpers/mounts.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { compareTree, formatDifferences, takeManifest } from '../roundtrip/manifest.js';
import type { PointManifest } from '../../core/repo/points.js';
import { decodeTree, encodeTree } from '../../core/repo/tree.js';

const MIB = 1024 * 1024;

function fingerprintOfPub(pub: string): string {
  const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' }))?.[1];
  if (!fp) throw new Error(`no fingerprint for ${pub}`);
  return fp;
}

/** Every path below dir (relative, sorted), bytes shown as latin1. */
function listAll(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P\\0'], { encoding: 'latin1' }).split('\0').filter(Boolean).sort();
}

/** The tricky entries makeDataTree lacks. */
function addTrickyEntries(root: string): void {
  const b = (s: string) => Buffer.from(s, 'latin1');
  const at = (...parts: Buffer[]) => Buffer.concat([Buffer.from(root), ...parts.flatMap((p) => [b('/'), p])]);
  // A 255-byte name in a path far over 100 (ustar) and 255 bytes.
  const deep = at(b('long'), b('d'.repeat(120)), b('e'.repeat(120)));
  mkdirSync(deep, { recursive: true });
  writeFileSync(Buffer.concat([deep, b('/'), b('n'.repeat(255))]), 'a long name deep down\n');
  symlinkSync(b('t'.repeat(200)), at(b('long'), b('long-link-target')));
  symlinkSync(b('target-\xff\xfe'), at(b('link-to-not-utf8')));
  writeFileSync(at(b('new\nline')), 'a newline in the name\n');
  // Setuid and setgid: cleared by default, as a restore to a folder does.
  writeFileSync(at(b('setuid-tool')), '#!/bin/sh\n');
  chmodSync(at(b('setuid-tool')), 0o6755);
  // Binary attribute values (GNU tar reads them from SCHILY.xattr records).
  writeFileSync(at(b('with-xattrs')), 'attributes\n');
  execFileSync('setfattr', ['-n', 'user.binary', '-v', '0x00ff10fe', join(root, 'with-xattrs')]);
  execFileSync('setfattr', ['-n', 'user.text', '-v', 'plain text', join(root, 'with-xattrs')]);
  // Owners by number (no such accounts) and times before 1970 and after 2038.
  writeFileSync(at(b('owned')), 'owned by 4242:4343\n');
  chownSync(join(root, 'owned'), 4242, 4343);
  utimesSync(join(root, 'owned'), -86_400 * 400.25, -86_400 * 400.25);
  writeFileSync(at(b('future')), 'after 2038\n');
  utimesSync(join(root, 'future'), 4_102_444_800.5, 4_102_444_800.5);
  // A hard link across folders, one of them with a name that is not UTF-8.
  linkSync(join(root, 'hard-a.txt'), Buffer.concat([at(b('long')), b('/hard-\xe9')]));
}

/** Writes `bytes` of random data. */
function writeRandom(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  for (let done = 0; done < bytes; done += MIB) writeSync(fd, randomBytes(Math.min(MIB, bytes - done)));
  closeSync(fd);
}

/** Flips one byte of a file at `at`. */
function flip(path: string, at: number): void {
  const data = readFileSync(path);
  data[at] = data[at]! ^ 0xff;
  writeFileSync(path, data);
}

/** Every file below dir, recursively. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('restore --to-member', () => {
  let mounts: Mounts;
  let sshd: Sshd;
  let fx: VaultFixture;
  let src: string;
  let pointId: string;

  beforeAll(async () => {
    mounts = new Mounts();
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
    fx = await registeredServer({ hostname: 'protect01' });
    mounts.onCleanup(() => rmSync(fx.root, { recursive: true, force: true }));
    const added = await fx.az(['member', 'add', 'm1', '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', sshd.clientKey, '--host-key-fingerprint', fingerprintOfPub(`${sshd.hostKey}.pub`)]);
    expect(added.code, added.stdout).toBe(0);
    src = mounts.folder('src/srv/data');
    makeDataTree(src);
    addTrickyEntries(src);
    const backup = await fx.az(['backup', src]);
    expect(backup.code, backup.stdout).toBe(0);
    pointId = (resultOf(backup, 'RecoveryPoint') as { pointId: string }).pointId;
  }, 180_000);

  afterAll(() => mounts?.cleanup());

  const restore = (target: string, extra: string[] = [], member = 'm1') => fx.az(['restore', pointId, ...extra, '--to-member', member, '--target', target]);

  it('brings back every entry byte for byte with its metadata, and says how many files and bytes went', async () => {
    const target = mounts.folder('t-all');
    const expected = takeManifest(src);
    const r = await restore(target);
    expect(r.code, r.stdout).toBe(0);
    const diffs = compareTree(expected, join(target, src.slice(1)), { owners: true, setuidCleared: true });
    expect(diffs, formatDifferences(diffs)).toEqual([]);
    // Nothing beside the restored tree: its parent folders only.
    expect(listAll(target).filter((p) => !p.startsWith(src.slice(1)))).toEqual(src.slice(1).split('/').map((_, i, a) => a.slice(0, i + 1).join('/')).slice(0, -1));
    const result = resultOf(r, 'RestoreResult') as Record<string, unknown>;
    const files = [...expected.values()].filter((e) => e.type === 'file');
    // Hard-linked names count as files; their content is sent, verified and counted once.
    const bytesOnce = new Map(files.map((f) => [f.ino, f.size]));
    expect(result).toMatchObject({ member: 'm1', target, pointId, files: files.length, verified: bytesOnce.size, verifyFailed: 0 });
    expect(result['bytes']).toBe([...bytesOnce.values()].reduce((a, s) => a + s, 0));
    expect(result['symlinks']).toBe([...expected.values()].filter((e) => e.type === 'symlink').length);
    // The sparse file arrives with every byte (tar -x writes it dense).
    expect(statSync(join(target, src.slice(1), 'sparse.img')).size).toBe(64 * MIB);
  }, 180_000);

  it('restores the named items only, and keeps setuid with --preserve-setuid', async () => {
    const target = mounts.folder('t-items');
    const r = await restore(target, [join(src, 'long'), join(src, 'setuid-tool'), '--preserve-setuid']);
    expect(r.code, r.stdout).toBe(0);
    const all = takeManifest(src);
    const expectedLong = new Map([...all].filter(([p]) => p === 'long' || p.startsWith('long/')).map(([p, e]) => [p.slice('long'.length).replace(/^\//, ''), e]));
    const diffs = compareTree(expectedLong, join(target, src.slice(1), 'long'), { owners: true });
    // hard-a.txt's other name is not among the items: long/hard-\xe9 is a file of its own there.
    expect(diffs, formatDifferences(diffs)).toEqual([]);
    expect(statSync(join(target, src.slice(1), 'setuid-tool')).mode & 0o7777).toBe(0o6755);
    expect(existsSync(join(target, src.slice(1), 'docs'))).toBe(false);
  }, 120_000);

  it('refuses a target that is missing, relative or absent, an unknown member and options a tar cannot honour, writing nothing', async () => {
    const missing = join(mounts.base, 'no-such-folder');
    const e1 = onlyError(await restore(missing));
    expect(e1.code).toBe('AZB_DIRECTORY_NOT_FOUND');
    expect(e1.message).toContain('m1 (root@127.0.0.1');
    expect(e1.message).toContain(missing);
    expect(existsSync(missing)).toBe(false);
    expect(onlyError(await restore('srv/restore')).code).toBe('AZB_ARGS_INVALID');
    const notDir = join(mounts.folder('t-file'), 'a-file');
    writeFileSync(notDir, 'x');
    expect(onlyError(await restore(notDir)).code).toBe('AZB_ARGS_INVALID');
    expect(onlyError(await fx.az(['restore', pointId, '--to-member', 'm1'])).code).toBe('AZB_USAGE');
    const nobody = onlyError(await restore(mounts.folder('t-none'), [], 'nobody'));
    expect(nobody.code).toBe('AZB_MEMBER_NOT_FOUND');
    expect(nobody.message).toContain('m1');
    expect(onlyError(await restore(mounts.folder('t-none'), ['--conflict', 'Skip'])).code).toBe('AZB_USAGE');
    // With --to-tar - the events go to stderr.
    const both = await fx.az(['restore', pointId, '--to-member', 'm1', '--target', mounts.folder('t-none'), '--to-tar', '-']);
    expect(onlyError({ ...both, events: parseEvents(both.stderr) }).code).toBe('AZB_USAGE');
    // Over rpc too: the schema takes toMember, a string.
    const bad = await fx.az(['rpc'], { stdin: JSON.stringify({ protocolVersion: 1, command: 'restore', args: { point: pointId, toMember: 7, target: '/x' } }) + '\n' });
    expect(onlyError(bad).code).toMatch(/^AZB_(ARGS|REQUEST)_INVALID$/);
    expect(listAll(mounts.folder('t-none'))).toEqual([]);
  }, 120_000);

  it('refuses a member whose host key AzBackup does not know, before anything runs on it', async () => {
    const knownHosts = join(fx.home, 'members', 'known_hosts');
    const saved = readFileSync(knownHosts);
    writeFileSync(knownHosts, '');
    try {
      const target = mounts.folder('t-unknown-key');
      const e = onlyError(await restore(target));
      expect(e.code).toBe('AZB_MEMBER_HOST_KEY_UNKNOWN');
      expect(e.message).toContain('m1');
      expect(listAll(target)).toEqual([]);
    } finally {
      writeFileSync(knownHosts, saved);
    }
  }, 60_000);

  it("fails with the member's error when its tar fails mid-stream (a target that fills), never as a success", async () => {
    const target = mounts.tmpfs(join(mounts.base, 't-tiny'));
    const r = await restore(target);
    expect(r.code).toBe(1);
    const e = onlyError(r);
    expect(e.code).toBe('AZB_MEMBER_COMMAND_FAILED');
    expect(e.message).toContain('On member m1 (root@127.0.0.1');
    expect(e.message).toMatch(/tar -x' exited with status 2/);
    expect(e.message).toContain('No space left on device');
    expect(r.events.some((ev) => ev.type === 'result')).toBe(false);
  }, 120_000);

  it('fails naming the member when the connection is cut mid-stream', async () => {
    const big = mounts.folder('src-big/srv/big');
    // Sparse: cheap to back up, but every byte goes through the stream (a few seconds on loopback; the
    // member's tar is stopped once found, so the stream cannot end before the cut however fast it is).
    execFileSync('truncate', ['-s', '1G', join(big, 'zeros.img')]);
    const b = await fx.az(['backup', big]);
    expect(b.code, b.stdout).toBe(0);
    const bigPoint = (resultOf(b, 'RecoveryPoint') as { pointId: string }).pointId;
    const target = mounts.folder('t-cut');
    const live = startEngine(['restore', bigPoint, '--to-member', 'm1', '--target', target, '--json'], fx.env);
    live.end();
    let stderr = '';
    live.child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr += t; });
    // The member's tar, once it is writing: its parent is the sshd session, killed to cut the connection.
    let tarPid: number | undefined;
    for (let i = 0; i < 600 && tarPid === undefined; i++) {
      await sleep(50);
      try { tarPid = Number(execFileSync('pgrep', ['-n', '-f', `tar -x -f - -C ${target}`], { encoding: 'utf8' }).trim()); } catch { /* not yet */ }
      if (tarPid !== undefined && !existsSync(join(target, big.slice(1), 'zeros.img'))) tarPid = undefined;
    }
    expect(tarPid).toBeDefined();
    process.kill(tarPid!, 'SIGSTOP');
    const sshdSession = Number(readFileSync(`/proc/${tarPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    // env runs tar (exec), so tar's parent is the session process of sshd.
    expect(readFileSync(`/proc/${sshdSession}/comm`, 'utf8')).toMatch(/^sshd/);
    process.kill(sshdSession, 'SIGKILL');
    try { process.kill(tarPid!, 'SIGKILL'); } catch { /* gone with its session */ }
    const end = await live.done;
    expect(end.code, `${end.stdout}\n${stderr} ${String(end.signal)}`).toBe(1);
    const run: EngineRun = { code: end.code ?? -1, stdout: end.stdout, stderr: '', events: end.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as EngineRun['events'][number]) };
    const e = onlyError(run);
    expect(['AZB_MEMBER_COMMAND_FAILED', 'AZB_MEMBER_UNREACHABLE']).toContain(e.code);
    expect(e.message).toContain('m1 (root@127.0.0.1');
    expect(run.events.some((ev) => ev.type === 'result')).toBe(false);
    expect(statSync(join(target, big.slice(1), 'zeros.img')).size).toBeLessThan(1024 * MIB);
  }, 240_000);
});

describe('restore --to-member from a damaged vault', () => {
  let mounts: Mounts;
  let sshd: Sshd;

  beforeAll(async () => {
    mounts = new Mounts();
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
  }, 60_000);

  afterAll(() => mounts?.cleanup());

  async function fixtureWithMember(): Promise<VaultFixture> {
    const fx = await registeredServer({ hostname: 'protect02' });
    mounts.onCleanup(() => rmSync(fx.root, { recursive: true, force: true }));
    const added = await fx.az(['member', 'add', 'm2', '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', sshd.clientKey, '--host-key-fingerprint', fingerprintOfPub(`${sshd.hostKey}.pub`)]);
    expect(added.code, added.stdout).toBe(0);
    return fx;
  }

  /** a.txt and b.txt (small, whole), then z-big.bin (many chunks): the cut falls in z-big.bin. */
  function smallThenBig(root: string): { a: Buffer; b: Buffer; big: Buffer } {
    mkdirSync(root, { recursive: true });
    const a = randomBytes(1000);
    const b = randomBytes(200_000);
    writeFileSync(join(root, 'a.txt'), a);
    writeFileSync(join(root, 'b.txt'), b);
    writeRandom(join(root, 'z-big.bin'), 12 * MIB);
    return { a, b, big: readFileSync(join(root, 'z-big.bin')) };
  }

  it('a damaged pack: a coded error, the files before it whole, the cut one removed, none whole with wrong bytes', async () => {
    const fx = await fixtureWithMember();
    const src = join(mounts.folder('src-d'), 'srv', 'd');
    const data = smallThenBig(src);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    // A byte of the big file's data, late in the first pack (its blobs are written in walk order).
    const packs = filesBelow(join(fx.vault)).filter((p) => p.includes('/packs/')).sort((x, y) => statSync(y).size - statSync(x).size);
    expect(packs.length).toBeGreaterThan(0);
    flip(packs[0]!, Math.floor(statSync(packs[0]!).size * 0.7));
    const target = mounts.folder('t-damaged');
    const r = await fx.az(['restore', 'latest', '--to-member', 'm2', '--target', target]);
    expect(r.code).toBe(1);
    const e = onlyError(r);
    expect(['AZB_OBJECT_DAMAGED', 'AZB_RESTORE_VERIFY_FAILED']).toContain(e.code);
    expect(e.message).toContain('z-big.bin');
    expect(e.message).toContain('were written whole');
    expect(e.message).toMatch(/z-big\.bin, was removed/);
    const at = join(target, src.slice(1));
    expect(readFileSync(join(at, 'a.txt')).equals(data.a)).toBe(true);
    expect(readFileSync(join(at, 'b.txt')).equals(data.b)).toBe(true);
    expect(existsSync(join(at, 'z-big.bin'))).toBe(false);
    expect(r.events.some((ev) => ev.type === 'result')).toBe(false);
  }, 180_000);

  it('a digest that does not match: the stream is cut before the file is whole, and the file is not left on the member', async () => {
    const fx = await fixtureWithMember();
    const src = join(mounts.folder('src-v'), 'srv', 'v');
    const data = smallThenBig(src);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);
    // The point names another digest for z-big.bin: its bytes are intact, but not what the point says.
    const { repo, key, saver } = await craftingPoints(fx);
    const points = await repo.readAllPoints();
    const point = points[points.length - 1]!;
    const roots = decodeTree(await repo.readBlob(Buffer.from(point.manifest.tree, 'hex'), 'tree'));
    const source = roots[0]!;
    const nodes = decodeTree(await repo.readBlob(Buffer.from(source.subtree!, 'hex'), 'tree')).map((n) => (n.name === 'z-big.bin' ? { ...n, digest: 'ab'.repeat(32) } : n));
    const subtree = await saver.save('tree', encodeTree(nodes));
    const root = await saver.save('tree', encodeTree([{ ...source, subtree: subtree.toString('hex') }]));
    await saver.finish(true);
    const manifest: PointManifest = { ...point.manifest, time: new Date().toISOString(), tree: root.toString('hex') };
    const crafted = await repo.savePoint(manifest, key);
    const target = mounts.folder('t-digest');
    const r = await fx.az(['restore', crafted, '--to-member', 'm2', '--target', target]);
    expect(r.code).toBe(1);
    const e = onlyError(r);
    expect(e.code).toBe('AZB_RESTORE_VERIFY_FAILED');
    expect(e.message).toMatch(/z-big\.bin, was removed/);
    const at = join(target, src.slice(1));
    expect(readFileSync(join(at, 'a.txt')).equals(data.a)).toBe(true);
    expect(readFileSync(join(at, 'b.txt')).equals(data.b)).toBe(true);
    expect(existsSync(join(at, 'z-big.bin'))).toBe(false);
    // The member's tar saw the stream end inside z-big.bin (it was not let finish it as whole).
    expect(r.events.some((ev) => ev.type === 'log' && /m2: tar: Unexpected EOF/.test((ev as { message: string }).message))).toBe(true);
    // The intact point restores whole to the same place.
    const again = await fx.az(['restore', point.id, '--to-member', 'm2', '--target', target]);
    expect(again.code, again.stdout).toBe(0);
    expect(readFileSync(join(at, 'z-big.bin')).equals(data.big)).toBe(true);
  }, 180_000);
});
