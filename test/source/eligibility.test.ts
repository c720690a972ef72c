// The eligibility check (core/source/eligibility.ts) against real mounts: ext4, xfs and btrfs on loop
// files, a read-only mount, tmpfs, sshfs to an sshd on loopback, a mount that goes away; and captured
// mount tables and sysfs samples for what cannot be mounted here (nfs, cifs, a removable USB disk).
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNetworkType, ACCEPTED_FILE_SYSTEMS } from '../../core/source/eligibility.js';
import { mountOf, parseMountinfo } from '../../core/source/mountinfo.js';
import { runEngine } from '../helpers/engine.js';
import { Mounts, sshfsPid, startSshd, type Sshd } from '../helpers/mounts.js';

interface Verdict { path: string; eligible: boolean; reason: string; code: string | null; message: string; hint?: string; fileSystem?: string; mountPoint?: string }

/** `azbackup source test` through the engine executable; the verdicts and the exit code. */
async function sourceTest(paths: string[], env: Record<string, string> = {}, extra: string[] = []): Promise<{ code: number; verdicts: Verdict[] }> {
  const run = await runEngine(['source', 'test', ...paths, ...extra, '--json'], { env });
  const verdicts = run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: Verdict }).data);
  expect(verdicts.length, run.stdout + run.stderr).toBe(paths.length);
  return { code: run.code, verdicts };
}

describe('mountinfo', () => {
  it('reads escaped mount points, optional fields and both option lists', () => {
    const [m] = parseMountinfo('36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n');
    expect(m).toEqual({
      mountId: 36, parentId: 35, device: '98:0', root: '/mnt1', mountPoint: '/mnt/my disk', options: ['rw', 'noatime'],
      fsType: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'],
    });
  });

  it('gives the deepest mount above a path, and of two on one folder the last mounted', () => {
    const mounts = parseMountinfo([
      '1 0 8:1 / / rw - ext4 /dev/sda1 rw',
      '2 1 8:2 / /srv rw - xfs /dev/sda2 rw',
      '3 2 0:50 / /srv/data rw - tmpfs tmpfs rw',
      '4 2 8:3 / /srv/data rw - ext4 /dev/sda3 rw',
      '5 1 8:4 / /srvx rw - ext4 /dev/sda4 rw',
    ].join('\n'));
    expect(mountOf('/srv/data/x', mounts)?.source).toBe('/dev/sda3');
    expect(mountOf('/srv/datax', mounts)?.source).toBe('/dev/sda2');
    expect(mountOf('/srvx/a', mounts)?.source).toBe('/dev/sda4');
    expect(mountOf('/etc', mounts)?.source).toBe('/dev/sda1');
  });

  it('knows network file systems, kernel and FUSE, and accepts only disk file systems', () => {
    for (const t of ['nfs', 'nfs4', 'cifs', 'smb3', '9p', 'ceph', 'glusterfs', 'davfs', 'fuse.sshfs', 'fuse.rclone', 'fuse.s3fs']) expect(isNetworkType(t), t).toBe(true);
    for (const t of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'fuse', 'fuseblk', 'overlay']) expect(isNetworkType(t), t).toBe(false);
    expect(ACCEPTED_FILE_SYSTEMS).toEqual(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'ntfs3']);
  });
});

describe('source test on real mounts', () => {
  let mounts: Mounts;
  let sshd: Sshd;
  let net: string;

  beforeAll(async () => {
    mounts = new Mounts();
    mounts.loop('ext4', mounts.folder('ext4'));
    mounts.loop('xfs', mounts.folder('xfs'));
    mounts.loop('btrfs', mounts.folder('btrfs'));
    const ro = mounts.loop('ext4', mounts.folder('ro'));
    writeFileSync(join(ro, 'kept.txt'), 'data');
    mounts.remount(ro, 'ro');
    mounts.tmpfs(mounts.folder('tmpfs'));
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
    const exported = mounts.folder('exported');
    writeFileSync(join(exported, 'report.txt'), 'remote data');
    net = mounts.sshfs(sshd, exported, mounts.folder('net'));
  }, 120_000);

  afterAll(() => mounts?.cleanup());

  it('accepts ext4, xfs and btrfs on local disks', async () => {
    const { code, verdicts } = await sourceTest(['ext4', 'xfs', 'btrfs'].map((n) => join(mounts.base, n)));
    expect(code).toBe(0);
    expect(verdicts.map((v) => [v.eligible, v.reason, v.code, v.fileSystem])).toEqual([
      [true, 'Eligible', null, 'ext4'], [true, 'Eligible', null, 'xfs'], [true, 'Eligible', null, 'btrfs'],
    ]);
    expect(verdicts[1]!.mountPoint).toBe(join(mounts.base, 'xfs'));
  });

  it('refuses a read-only mount, tmpfs and a network mount, each with its code, reason and hint; exit 4', async () => {
    const { code, verdicts } = await sourceTest(['ro', 'tmpfs', 'net'].map((n) => join(mounts.base, n)));
    expect(code).toBe(4);
    expect(verdicts.map((v) => [v.eligible, v.reason, v.code, v.fileSystem])).toEqual([
      [false, 'ReadOnly', 'AZB_SOURCE_READ_ONLY', 'ext4'],
      [false, 'FileSystem', 'AZB_SOURCE_FILE_SYSTEM', 'tmpfs'],
      [false, 'Network', 'AZB_SOURCE_NETWORK', 'fuse.sshfs'],
    ]);
    expect(verdicts[2]!.message).toContain('network file system');
    for (const v of verdicts) expect(v.hint, v.path).toMatch(/\w/);
  });

  it('gives every path under a source the verdict of its mount: a file inside a network mount, a folder inside tmpfs', async () => {
    mkdirSync(join(mounts.base, 'tmpfs', 'sub'), { recursive: true });
    const { verdicts } = await sourceTest([join(net, 'report.txt'), join(mounts.base, 'tmpfs', 'sub'), join(mounts.base, 'xfs', '.')]);
    expect(verdicts.map((v) => v.code)).toEqual(['AZB_SOURCE_NETWORK', 'AZB_SOURCE_FILE_SYSTEM', null]);
  });

  it('refuses a path that does not exist, and one under a file system /etc/fstab mounts but that is not mounted', async () => {
    const gone = mounts.loop('ext4', mounts.folder('gone'));
    const fstab = join(mounts.base, 'fstab');
    writeFileSync(fstab, `# captured layout\nUUID=1234 / ext4 defaults 0 1\n/dev/loop99 ${gone} ext4 defaults 0 2\n/swapfile none swap sw 0 0\n`);
    expect((await sourceTest([gone], { AZBACKUP_FSTAB: fstab })).verdicts[0]!.eligible).toBe(true);
    mounts.unmount(gone);
    const { code, verdicts } = await sourceTest([gone, join(mounts.base, 'no-such-folder')], { AZBACKUP_FSTAB: fstab });
    expect(code).toBe(4);
    expect(verdicts.map((v) => [v.reason, v.code])).toEqual([['Offline', 'AZB_SOURCE_OFFLINE'], ['Offline', 'AZB_SOURCE_NOT_FOUND']]);
    expect(verdicts[0]!.message).toContain(`mounts /dev/loop99 at ${gone}, which is not mounted now`);
  });

  it('counts a file system that does not answer within the time-out as offline, answers for the next path, and the engine exits', async () => {
    // The sshfs mount, listed as a local ext4 disk in a copy of the mount table, so that the check
    // gets past the table and waits on the file system; its server process is stopped, so it hangs.
    const hung = mounts.sshfs(sshd, mounts.folder('exported'), mounts.folder('hung'));
    const table = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => (l.includes(` ${hung} `) ? l.replace(/ - fuse\.sshfs \S+ /, ' - ext4 /dev/vdz ') : l)).join('\n');
    const mountinfo = join(mounts.base, 'mountinfo-hung');
    writeFileSync(mountinfo, table);
    const pid = sshfsPid(hung);
    process.kill(pid, 'SIGSTOP');
    try {
      // The hung call stays blocked in the kernel: the engine must still finish and exit with its code.
      const { code, verdicts } = await sourceTest([join(hung, 'report.txt'), join(mounts.base, 'ext4')], { AZBACKUP_MOUNTINFO: mountinfo }, ['--timeout-seconds', '1']);
      expect(code).toBe(4);
      expect(verdicts[0]).toMatchObject({ eligible: false, reason: 'Offline', code: 'AZB_SOURCE_OFFLINE' });
      expect(verdicts[1]).toMatchObject({ eligible: true, fileSystem: 'ext4' });
      expect(verdicts[0]!.message).toContain('did not answer within 1 s');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }, 60_000);
});

describe('source test with captured mount tables and sysfs (what cannot be mounted here)', () => {
  let mounts: Mounts;
  beforeAll(() => { mounts = new Mounts(); });
  afterAll(() => mounts?.cleanup());

  /** A copy of this machine's mount table with extra lines; the paths they name are real folders. */
  function table(extra: string[]): string {
    const path = join(mounts.base, `mountinfo-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, `${readFileSync('/proc/self/mountinfo', 'utf8')}${extra.join('\n')}\n`);
    return path;
  }

  it('refuses nfs4 and cifs shares from the table alone', async () => {
    const nfs = mounts.folder('nfs');
    const cifs = mounts.folder('cifs');
    const mountinfo = table([
      `612 26 0:58 / ${nfs} rw,relatime shared:312 - nfs4 fileserver.contoso.com:/export/data rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.5,local_lock=none,addr=10.0.0.9`,
      `613 26 0:59 / ${cifs} rw,relatime shared:313 - cifs //winsrv01/share rw,vers=3.1.1,cache=strict,username=backup,uid=0,noforceuid,gid=0,noforcegid,addr=10.0.0.10,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rsize=4194304,wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1,closetimeo=1`,
    ]);
    const { verdicts } = await sourceTest([join(nfs, 'projects'), cifs], { AZBACKUP_MOUNTINFO: mountinfo });
    expect(verdicts.map((v) => [v.reason, v.code, v.fileSystem])).toEqual([['Network', 'AZB_SOURCE_NETWORK', 'nfs4'], ['Network', 'AZB_SOURCE_NETWORK', 'cifs']]);
    expect(verdicts[0]!.message).toContain('fileserver.contoso.com:/export/data');
  });

  it('refuses a partition of a removable USB disk, from sysfs', async () => {
    const usb = mounts.folder('usb');
    const mountinfo = table([`700 26 8:17 / ${usb} rw,nosuid,nodev,relatime shared:400 - ext4 /dev/sdb1 rw`]);
    // The layout of /sys for /dev/sdb1 on a USB stick (captured; trimmed to what is read).
    const sys = mounts.folder('sys');
    const disk = join(sys, 'devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb');
    mkdirSync(join(disk, 'sdb1'), { recursive: true });
    writeFileSync(join(disk, 'removable'), '1\n');
    writeFileSync(join(disk, 'ro'), '0\n');
    writeFileSync(join(disk, 'sdb1', 'partition'), '1\n');
    writeFileSync(join(disk, 'sdb1', 'ro'), '0\n');
    mkdirSync(join(sys, 'dev/block'), { recursive: true });
    symlinkSync('../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1', join(sys, 'dev/block/8:17'));
    const env = { AZBACKUP_MOUNTINFO: mountinfo, AZBACKUP_SYSFS_ROOT: sys };
    expect((await sourceTest([usb], env)).verdicts[0]).toMatchObject({ reason: 'Removable', code: 'AZB_SOURCE_REMOVABLE', fileSystem: 'ext4' });
    // The same disk, fixed: eligible; write-protected: read-only.
    writeFileSync(join(disk, 'removable'), '0\n');
    expect((await sourceTest([usb], env)).verdicts[0]).toMatchObject({ eligible: true });
    writeFileSync(join(disk, 'sdb1', 'ro'), '1\n');
    expect((await sourceTest([usb], env)).verdicts[0]).toMatchObject({ reason: 'ReadOnly', code: 'AZB_SOURCE_READ_ONLY' });
  });

  it('refuses proc, sysfs and overlay as not disk file systems', async () => {
    const over = mounts.folder('overlay');
    const mountinfo = table([`800 26 0:90 / ${over} rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w`]);
    const { verdicts } = await sourceTest(['/proc/self', '/sys/kernel', over], { AZBACKUP_MOUNTINFO: mountinfo });
    expect(verdicts.map((v) => [v.code, v.fileSystem])).toEqual([['AZB_SOURCE_FILE_SYSTEM', 'proc'], ['AZB_SOURCE_FILE_SYSTEM', 'sysfs'], ['AZB_SOURCE_FILE_SYSTEM', 'overlay']]);
  });
});

describe('source test, bad input', () => {
  it('wants at least one path', async () => {
    const run = await runEngine(['source', 'test', '--json']);
    expect(run.code).toBe(2);
  });

  it('refuses a time-out that is not a positive number of seconds', async () => {
    const run = await runEngine(['rpc'], { stdin: JSON.stringify({ protocolVersion: 1, command: 'source.test', args: { paths: ['/tmp'], timeoutSeconds: 0 } }) });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('AZB_ARGS_INVALID');
  });
});
