// Extended attributes (FORMAT.md §9) on a real ext4 file system (a loop mount, root only): user.*,
// POSIX ACLs (access and default), a file capability, trusted.* on a link, SELinux labels, odd names;
// backed up, restored to another folder of the same mount and compared with getfattr and getfacl.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_PATH, parseEvents, type EngineRun } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { savePointOf } from '../helpers/crafted-points.js';
import { tempDir } from '../helpers/tmp.js';
import { parseGetfattr, quoteBytes, unquoteBytes } from '../../core/fs/xattr.js';
import { encodeTree, decodeTree } from '../../core/repo/tree.js';
import { restoreHere } from '../helpers/restore-here.js';

const asRoot = process.platform === 'linux' && process.getuid?.() === 0;
const warnings = (r: EngineRun, code: string) => r.events.filter((e) => e.type === 'warning' && e.code === code) as { message: string; target?: string }[];
const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: 'latin1' });
/** Every attribute below `dir`, as getfattr shows it, paths relative to `dir`. */
const attrsBelow = (dir: string) => Object.fromEntries([...parseGetfattr(Buffer.from(sh('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'base64', '.'], dir), 'latin1'))]
  .map(([path, list]) => [Buffer.from(path, 'latin1').toString('hex'), list] as const).sort(([a], [b]) => (a < b ? -1 : 1)));
const hexName = (name: string | Buffer) => Buffer.from(name).toString('hex');
const aclsBelow = (dir: string) => sh('getfacl', ['-R', '-P', '-n', '.'], dir);

describe('extended attribute encoding', () => {
  it('quotes and unquotes names as getfattr does, and parses its output', () => {
    const odd = Buffer.from('a\nb\\c=d\xff', 'latin1');
    const quoted = quoteBytes(odd, [0x0a, 0x0d, 0x3d]);
    expect(quoted.toString('latin1')).toBe('a\\012b\\134c\\075d\xff');
    expect(unquoteBytes(quoted).equals(odd)).toBe(true);
    const out = Buffer.from('# file: /x/n\\012l\nuser.b=0sAP8=\nuser.a=0s\nuser.w\\075q=0sMQ==\n\n# file: /y\nuser.z\n\n', 'latin1');
    const parsed = parseGetfattr(out);
    expect([...parsed.keys()]).toEqual(['/x/n\nl', '/y']);
    expect(parsed.get('/x/n\nl')).toEqual([{ name: 'user.a', value: '' }, { name: 'user.b', value: 'AP8=' }, { name: 'user.w=q', value: 'MQ==' }]);
    expect(parsed.get('/y')).toEqual([{ name: 'user.z', value: '' }]);
  });

  it('encodes a node the same whatever the order of its attributes, and a tree without any as before', () => {
    const base = { name: 'f', type: 'file' as const, mode: 0o644, mtimeNs: '1' };
    const a = encodeTree([{ ...base, xattrs: [{ name: 'user.b', value: 'Yg==' }, { name: 'user.a', value: 'YQ==' }] }]);
    const b = encodeTree([{ ...base, xattrs: [{ name: 'user.a', value: 'YQ==' }, { name: 'user.b', value: 'Yg==' }] }]);
    expect(a.equals(b)).toBe(true);
    expect(decodeTree(a)[0]!.xattrs!.map((x) => x.name)).toEqual(['user.a', 'user.b']);
    expect(encodeTree([{ ...base, xattrs: [] }]).equals(encodeTree([base]))).toBe(true);
    expect(encodeTree([base]).toString()).not.toContain('xattrs');
  });
});

describe.runIf(asRoot)('extended attributes on ext4 (loop mount)', () => {
  let dir = '';
  let mnt = '';
  let image = '';
  let fx: VaultFixture;
  let src = '';
  const oddName = Buffer.from('odd-\xff-name', 'latin1');
  const largeValue = 'x'.repeat(40_000);

  beforeAll(async () => {
    // Not tempDir: it would be removed before the file system is unmounted.
    dir = mkdtempSync(join(tmpdir(), 'azb-xattr-'));
    chmodSync(dir, 0o755);
    image = join(dir, 'ext4.img');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('truncate', ['-s', '64M', image]);
    // ea_inode: values up to 64 KiB, so the per-node limit can be passed.
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', 'ea_inode', image]);
    execFileSync('mount', ['-o', 'loop', image, mnt]);
    chmodSync(mnt, 0o755);
    fx = await registeredServer();
    src = join(mnt, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a b.txt'), 'plain\n');
    sh('setfattr', ['-n', 'user.test', '-v', 'hello', join(src, 'a b.txt')]);
    sh('setfattr', ['-n', 'user.empty', join(src, 'a b.txt')]);
    writeFileSync(join(src, 'new\nline'), 'nl\n');
    sh('setfattr', ['-n', 'user.bin', '-v', '0x00ff0a', join(src, 'new\nline')]);
    writeFileSync(Buffer.concat([Buffer.from(src + '/'), oddName]), 'odd\n');
    // A name that is not UTF-8 cannot be a process argument from Node: the shell makes the byte.
    execFileSync('bash', ['-c', 'setfattr -n user.odd -v 1 "$1/odd-$(printf "\\377")-name"', 'set', src]);
    writeFileSync(join(src, 'ping'), '#!/bin/sh\n');
    chmodSync(join(src, 'ping'), 0o755);
    sh('setcap', ['cap_net_raw+ep', join(src, 'ping')]);
    mkdirSync(join(src, 'shared'));
    sh('setfacl', ['-m', 'u:65534:rwx,g:65534:r-x', join(src, 'shared')]);
    sh('setfacl', ['-d', '-m', 'u:65534:r-x', join(src, 'shared')]);
    writeFileSync(join(src, 'shared', 'doc'), 'acl\n');
    sh('setfacl', ['-m', 'u:65534:r--', join(src, 'shared', 'doc')]);
    writeFileSync(join(src, 'labelled'), 'label\n');
    sh('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', join(src, 'labelled')]);
    symlinkSync('a b.txt', join(src, 'link'));
    sh('setfattr', ['-h', '-n', 'trusted.note', '-v', 'on the link', join(src, 'link')]);
    writeFileSync(join(src, 'readonly'), 'ro\n');
    sh('setfattr', ['-n', 'user.ro', '-v', 'yes', join(src, 'readonly')]);
    chmodSync(join(src, 'readonly'), 0o444);
    writeFileSync(join(src, 'large'), 'large\n');
    sh('setfattr', ['-n', 'user.big1', '-v', largeValue, join(src, 'large')]);
    sh('setfattr', ['-n', 'user.big2', '-v', largeValue, join(src, 'large')]);
  });

  afterAll(() => {
    if (mnt) { try { execFileSync('umount', [mnt]); } catch { /* not mounted */ } }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backs up and restores user, ACL, capability, link and SELinux attributes; odd names round-trip', async () => {
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(3); // the over-large entry
    const tooLarge = warnings(b, 'AZB_XATTR_TOO_LARGE');
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]!.target).toBe(join(src, 'large'));

    const target = join(mnt, 'restored');
    const r = await fx.az(['restore', 'latest', '--target', target, '--restore-selinux-labels']);
    expect(r.code, r.stdout).toBe(0);
    const restored = join(target, src);
    const want = attrsBelow(src);
    const got = attrsBelow(restored);
    const names = (key: string) => (want[hexName(key)] ?? []).map((x) => x.name);
    expect(names('a b.txt')).toEqual(['user.empty', 'user.test']);
    expect(names('ping')).toEqual(['security.capability']);
    expect(names('shared')).toEqual(['system.posix_acl_access', 'system.posix_acl_default']);
    expect(names('shared/doc')).toEqual(['system.posix_acl_access']);
    expect(names('link')).toEqual(['trusted.note']);
    expect(names('labelled')).toEqual(['security.selinux']);
    expect(names('new\nline')).toEqual(['user.bin']);
    expect(want[hexName(Buffer.concat([Buffer.from('./'), oddName]).subarray(2))]?.map((x) => x.name)).toEqual(['user.odd']);
    // Everything came back, except the attributes of the entry over the limit.
    expect(Object.keys(want)).toContain(hexName('large'));
    delete want[hexName('large')];
    expect(got).toEqual(want);
    // An empty value followed by another attribute (setfattr drops an empty "0s" value there).
    expect(sh('getfattr', ['--absolute-names', '-d', '-m', '^user\\.', '-e', 'hex', join(restored, 'a b.txt')])).toContain('user.empty=0x\nuser.test=0x68656c6c6f');
    expect(aclsBelow(restored)).toBe(aclsBelow(src));
    expect(sh('getcap', [join(restored, 'ping')])).toMatch(/cap_net_raw[=+]ep/);

    // Without the flag the SELinux label is left to the system (a log line says so); the rest is there.
    const plain = join(mnt, 'plain');
    const p = await fx.az(['restore', 'latest', '--target', plain]);
    expect(p.code, p.stdout).toBe(0);
    expect(sh('getfattr', ['--absolute-names', '-d', '-m', '-', join(plain, src, 'labelled')])).not.toContain('security.selinux');
    expect(p.events.some((e) => e.type === 'log' && /1 SELinux label/.test(e.message))).toBe(true);
    expect(sh('getfattr', ['--absolute-names', '-n', 'user.test', '--only-values', join(plain, src, 'a b.txt')])).toBe('hello');
  });

  it('an incremental backup takes a change of attributes alone (same mtime, new ctime)', async () => {
    const file = join(src, 'a b.txt');
    expect((await fx.az(['backup', src])).code).toBe(3);
    const mtime = sh('stat', ['-c', '%Y.%y', file]);
    sh('setfattr', ['-n', 'user.test', '-v', 'changed', file]);
    sh('setfattr', ['-x', 'user.empty', file]);
    expect(sh('stat', ['-c', '%Y.%y', file])).toBe(mtime);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(3);
    const target = join(mnt, 'after-change');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    const attrs = sh('getfattr', ['--absolute-names', '-d', '-m', '^user\\.', join(target, file)]);
    expect(attrs).toContain('user.test="changed"');
    expect(attrs).not.toContain('user.empty');
  });

  it('without setfattr a restore says what it left out; without getfattr a backup warns once and keeps no attributes', async () => {
    const noTools = tempDir('azb-no-tools-');
    const r = await fx.az(['restore', 'latest', '--target', join(mnt, 'no-setfattr')], { env: { AZBACKUP_TEST_XATTR_TOOLS: noTools } });
    expect(r.code, r.stdout).toBe(3);
    const missing = warnings(r, 'AZB_XATTR_TOOLS_MISSING');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.message).toMatch(/^\d+ restored entries have extended attributes .* setfattr is not installed/);
    expect(sh('getfattr', ['-R', '-d', '-m', '^user\\.', join(mnt, 'no-setfattr')])).toBe('');
    const b = await fx.az(['backup', src], { env: { AZBACKUP_TEST_XATTR_TOOLS: noTools } });
    expect(b.code, b.stdout).toBe(3);
    expect(warnings(b, 'AZB_XATTR_TOOLS_MISSING')).toHaveLength(1);
    expect(warnings(b, 'AZB_XATTR_TOO_LARGE')).toHaveLength(0);
    const after = await fx.az(['restore', 'latest', '--target', join(mnt, 'no-getfattr')]);
    expect(after.code, after.stdout).toBe(0);
    expect(sh('getfattr', ['-R', '-d', '-m', '^user\\.', join(mnt, 'no-getfattr')])).toBe('');
    expect(sh('cat', [join(mnt, 'no-getfattr', src, 'a b.txt')])).toBe('plain\n');
  });

  it('a restore by another account skips trusted.* and security.* with one warning naming the count, and sets the rest', async () => {
    // Attributes back in the point (the previous test's latest point holds none).
    expect((await fx.az(['backup', src])).code).toBe(3);
    const target = join(mnt, 'as-nobody');
    mkdirSync(target);
    chownSync(target, 65534, 65534);
    execFileSync('chown', ['-R', '65534:65534', fx.root]);
    const r = await new Promise<EngineRun>((resolve, reject) => {
      const child = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ENGINE_PATH, 'restore', 'latest', '--target', target, '--json'], { env: { ...process.env, ...fx.env } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, events: parseEvents(stdout) }));
    });
    execFileSync('chown', ['-R', '0:0', fx.root]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const skipped = warnings(r, 'AZB_RESTORE_XATTR_SKIPPED');
    expect(skipped).toHaveLength(1);
    // security.capability of ping, trusted.note of the link (security.selinux is off without the flag).
    expect(skipped[0]!.message).toMatch(/^2 extended attribute\(s\) of 2 entries/);
    const restored = join(target, src);
    expect(sh('getfattr', ['--absolute-names', '-n', 'user.test', '--only-values', join(restored, 'a b.txt')])).toBe('changed');
    expect(aclsBelow(join(restored, 'shared'))).toBe(aclsBelow(join(src, 'shared')).replace(/# owner: 0\n# group: 0/g, '# owner: 65534\n# group: 65534'));
    expect(sh('getfattr', ['--absolute-names', '-d', '-m', '-', join(restored, 'ping')])).not.toContain('security.capability');
    // A file its owner may not write gets its user.* attributes all the same, and keeps its mode.
    expect(sh('getfattr', ['--absolute-names', '-n', 'user.ro', '--only-values', join(restored, 'readonly')])).toBe('yes');
    expect(sh('stat', ['-c', '%a', join(restored, 'readonly')])).toBe('444\n');
  });

  it('gives no attributes to a file a user put in place of a restored one before they were set', async () => {
    expect((await fx.az(['backup', src])).code).toBe(3);
    const target = join(mnt, 'raced');
    mkdirSync(target);
    chownSync(target, 65534, 65534);
    const ping = join(target, src, 'ping');
    const { events } = await restoreHere(fx, {
      target,
      // Stands for a local user who can write the folder winning the race: the restored file is
      // renamed away and the user's own program takes its name, hoping for its file capability.
      beforeFolderMetadata: async () => {
        renameSync(ping, `${ping}.moved`);
        writeFileSync(ping, '#!/bin/sh\necho mine\n', { mode: 0o755 });
        chownSync(ping, 65534, 65534);
      },
    });
    expect(sh('getfattr', ['--absolute-names', '-d', '-m', '-', ping])).not.toContain('security.capability');
    const failed = events.filter((e) => e.type === 'warning' && e.code === 'AZB_RESTORE_XATTR_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toContain(`${ping}: it was replaced while the restore ran`);
    // Everything else got its attributes.
    expect(sh('getfattr', ['--absolute-names', '-n', 'user.test', '--only-values', join(target, src, 'a b.txt')])).toBe('changed');
  });

  it('reports a malformed attribute list of a crafted point and restores the entry without it', async () => {
    const craft = join(mnt, 'crafted-src');
    await savePointOf(fx, craft, async () => [
      { name: 'bad-value', type: 'symlink', mode: 0o777, mtimeNs: '0', target: 'x', xattrs: [{ name: 'trusted.a', value: 'not base64!' }] },
      { name: 'bad-name', type: 'symlink', mode: 0o777, mtimeNs: '0', target: 'x', xattrs: [{ name: 'trusted\u0000x', value: 'MQ==' }] },
      { name: 'not-a-list', type: 'symlink', mode: 0o777, mtimeNs: '0', target: 'x', xattrs: 'user.a=1' as never },
      { name: 'good', type: 'symlink', mode: 0o777, mtimeNs: '0', target: 'x', xattrs: [{ name: 'trusted.ok', value: 'MQ==' }] },
    ]);
    const target = join(mnt, 'crafted');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(3);
    const failed = warnings(r, 'AZB_RESTORE_XATTR_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toMatch(/^The extended attributes of 3 entries/);
    for (const n of ['bad-value', 'bad-name', 'not-a-list']) expect(failed[0]!.message).toContain(n);
    expect(sh('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', join(target, craft, 'good')])).toContain('trusted.ok="1"');
  });
});
