// Whether a path can be protected (README "What can be backed up"): it must be on a local, fixed,
// writable disk file system that answers. As the agent we model refuses network shares, removable
// drives, read-only and offline volumes and file systems it cannot protect, so does this, before the
// first byte is read, with a stable code per reason.
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AzbError, type ErrorCode } from '../protocol/errors.js';
import { mountOf, readMounts, type Mount } from './mountinfo.js';
import { FsProbe, ProbeTimedOut } from './probe.js';

export type SourceReason = 'Eligible' | 'Network' | 'Removable' | 'ReadOnly' | 'Offline' | 'FileSystem' | 'AccessDenied';

/** The verdict on one path. */
export interface SourceVerdict {
  path: string;
  eligible: boolean;
  reason: SourceReason;
  /** The stable code of a refusal (AZB_SOURCE_*), null when eligible. */
  code: string | null;
  message: string;
  hint?: string;
  /** The mount that holds the path, when it could be told. */
  mountPoint?: string; fileSystem?: string; device?: string;
  /** st_dev of the path when checked: a backup compares it to see that the mount is still the same. */
  dev?: string;
}

/** Disk file systems AzBackup protects on Linux (README lists them). */
export const ACCEPTED_FILE_SYSTEMS: readonly string[] = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'ntfs3'];

/** Kernel network and cluster file systems. */
const NETWORK_TYPES = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', '9p', 'ceph', 'glusterfs', 'davfs', 'afs', 'lustre', 'gpfs',
  'beegfs', 'orangefs', 'pvfs2', 'ncpfs', 'coda', 'virtiofs', 'ocfs2', 'gfs2']);
/** FUSE file systems (type "fuse.<name>") that reach over a network. */
const NETWORK_FUSE = new Set(['sshfs', 'glusterfs', 'ceph', 'cephfs', 'rclone', 's3fs', 'gcsfuse', 'davfs', 'davfs2', 'curlftpfs', 'smbnetfs',
  'afpfs', 'goofys', 'blobfuse', 'blobfuse2', 'juicefs', 'seaweedfs', 'mfs', 'moosefs', 'lizardfs', 'sshfs-fuse', 'gvfsd-fuse', 'onedriver']);

export function isNetworkType(fsType: string): boolean {
  if (NETWORK_TYPES.has(fsType)) return true;
  const fuse = /^fuse\.(.+)$/.exec(fsType);
  return fuse !== null && NETWORK_FUSE.has(fuse[1]!);
}

/** The default time a device gets to answer before it counts as offline. */
export const SOURCE_TIMEOUT_MS = 10_000;

/** Where sysfs is read from: the environment may point it at a captured sample (tests). */
function sysfsRoot(): string {
  return process.env['AZBACKUP_SYSFS_ROOT'] ?? '/sys';
}

function decodeDev(dev: bigint): string {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return `${major}:${minor}`;
}

/**
 * "major:minor" of the block device under a mount. File systems such as btrfs report an anonymous
 * device (major 0) as st_dev; their mount source then names the block device.
 */
async function blockDeviceOf(m: Mount): Promise<string | undefined> {
  if (!m.device.startsWith('0:')) return m.device;
  if (!m.source.startsWith('/dev/')) return undefined;
  try {
    const st = await stat(m.source, { bigint: true });
    return st.isBlockDevice() ? decodeDev(st.rdev) : undefined;
  } catch { return undefined; }
}

async function readFlag(path: string): Promise<boolean | undefined> {
  try { return (await readFile(path, 'utf8')).trim() === '1'; } catch { return undefined; }
}

/** What sysfs says of a block device: removable (of the whole disk, for a partition) and read-only. */
async function deviceFlags(majMin: string): Promise<{ removable: boolean; readOnly: boolean }> {
  const link = join(sysfsRoot(), 'dev', 'block', majMin);
  let dir: string;
  try { dir = await realpath(link); } catch { return { removable: false, readOnly: false }; }
  const isPartition = (await readFlag(join(dir, 'partition'))) !== undefined;
  const removable = (await readFlag(join(isPartition ? dirname(dir) : dir, 'removable'))) ?? false;
  const readOnly = (await readFlag(join(dir, 'ro'))) ?? false;
  return { removable, readOnly };
}

const HINTS: Record<Exclude<SourceReason, 'Eligible'>, string> = {
  Network: 'Back it up on the server whose disk holds it, or copy it to a local disk first.',
  Removable: 'Back up fixed disks only; copy what you need from the removable device to a fixed disk first.',
  ReadOnly: 'Remount it read-write (mount -o remount,rw) or copy the data to a writable local disk.',
  Offline: 'Mount the file system (or bring its device online) and check the path, then run the backup again.',
  FileSystem: `Back up data on a local disk file system (${ACCEPTED_FILE_SYSTEMS.join(', ')}); for application data, back up a dump (-FromCommand).`,
  AccessDenied: 'Run the backup as an account that can read the path (root for system files).',
};

const CODES: Record<Exclude<SourceReason, 'Eligible'>, string> = {
  Network: 'AZB_SOURCE_NETWORK', Removable: 'AZB_SOURCE_REMOVABLE', ReadOnly: 'AZB_SOURCE_READ_ONLY',
  Offline: 'AZB_SOURCE_OFFLINE', FileSystem: 'AZB_SOURCE_FILE_SYSTEM', AccessDenied: 'AZB_SOURCE_ACCESS_DENIED',
};

function refused(path: string, reason: Exclude<SourceReason, 'Eligible'>, message: string, m?: Mount, code = CODES[reason]): SourceVerdict {
  return { path, eligible: false, reason, code, message, hint: HINTS[reason], ...(m ? { mountPoint: m.mountPoint, fileSystem: m.fsType, device: m.source } : {}) };
}

function onMount(m: Mount): string {
  return `${m.fsType} from ${m.source}, mounted at ${m.mountPoint}`;
}

/**
 * The verdict on a mount alone, without touching the path: what the mount table and sysfs say.
 * Undefined when the mount is one AzBackup protects.
 */
export async function judgeMount(path: string, m: Mount): Promise<SourceVerdict | undefined> {
  if (isNetworkType(m.fsType)) return refused(path, 'Network', `${path} is on a network file system (${onMount(m)}); AzBackup backs up local disks only.`, m);
  if (!ACCEPTED_FILE_SYSTEMS.includes(m.fsType)) {
    return refused(path, 'FileSystem', `${path} is on ${m.fsType} (${m.source}, mounted at ${m.mountPoint}), which is not a local disk file system AzBackup protects.`, m);
  }
  if (m.options.includes('ro') || m.superOptions.includes('ro')) return refused(path, 'ReadOnly', `${path} is on a read-only mount (${onMount(m)}).`, m);
  const device = await blockDeviceOf(m);
  if (device) {
    const flags = await deviceFlags(device);
    if (flags.removable) return refused(path, 'Removable', `${path} is on a removable device (${onMount(m)}).`, m);
    if (flags.readOnly) return refused(path, 'ReadOnly', `${path} is on a read-only device (${onMount(m)}).`, m);
  }
  return undefined;
}

/** The verdict on one path (absolute, or relative to the current folder). */
export async function testSource(given: string, o: { timeoutMs?: number; mounts?: Mount[]; probe?: FsProbe } = {}): Promise<SourceVerdict> {
  if (process.platform === 'win32') {
    return { path: given, eligible: true, reason: 'Eligible', code: null, message: `${given}: not checked by the engine on Windows; Test-AzBackupSource checks the volume with Get-Volume.` };
  }
  const timeoutMs = o.timeoutMs ?? SOURCE_TIMEOUT_MS;
  const path = resolve(given);
  const mounts = o.mounts ?? await readMounts();
  // A network mount is refused from the table alone: touching it could hang on a dead server.
  const lexical = mountOf(path, mounts);
  if (lexical && isNetworkType(lexical.fsType)) return (await judgeMount(path, lexical))!;
  const seconds = `${timeoutMs / 1000} s`;
  // Calls that touch the path go through the probe: a dead server or device hangs them, not the engine.
  const probe = o.probe ?? new FsProbe(timeoutMs);
  let dev: bigint;
  let canonical: string;
  try {
    const st = await probe.call('lstat', path);
    dev = BigInt(st.dev!);
    // A link is backed up as a link: it is judged by the folder that holds it.
    canonical = st.isSymbolicLink ? join((await probe.call('realpath', dirname(path))).path!, basename(path)) : (await probe.call('realpath', path)).path!;
  } catch (err) {
    if (err instanceof ProbeTimedOut) return refused(path, 'Offline', `${path} did not answer within ${seconds}: its device or server is not responding.`, lexical);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return refused(path, 'Offline', `${path} does not exist: the path is wrong, or the file system that held it is not mounted.`, undefined, 'AZB_SOURCE_NOT_FOUND');
    }
    if (code === 'EACCES' || code === 'EPERM') return refused(path, 'AccessDenied', `${path} cannot be reached by this account (${code}).`, lexical);
    return refused(path, 'Offline', `${path} cannot be read (${code ?? (err as Error).message}): its device is not answering.`, lexical);
  }
  const m = mountOf(canonical, mounts);
  if (!m) return refused(path, 'Offline', `No mounted file system holds ${path}.`);
  // The folder a file system is mounted on stays when it is unmounted: without this, a backup of an
  // unmounted data disk would back up the empty folder under it, and retention would expire the real points.
  const planned = await plannedMountAbove(canonical, m);
  if (planned) {
    return refused(path, 'Offline', `${path} is on ${m.mountPoint} (${m.fsType}), but /etc/fstab mounts ${planned.spec} at ${planned.mountPoint}, which is not mounted now.`, m);
  }
  const verdict = await judgeMount(path, m);
  if (verdict) return { ...verdict, dev: dev.toString() };
  try {
    await probe.call('statfs', canonical);
  } catch (err) {
    if (err instanceof ProbeTimedOut) return { ...refused(path, 'Offline', `The file system of ${path} (${onMount(m)}) did not answer within ${seconds}.`, m), dev: dev.toString() };
    return { ...refused(path, 'Offline', `The file system of ${path} (${onMount(m)}) cannot be queried (${(err as NodeJS.ErrnoException).code}).`, m), dev: dev.toString() };
  }
  return {
    path, eligible: true, reason: 'Eligible', code: null, message: `${path} can be backed up (${onMount(m)}).`,
    mountPoint: m.mountPoint, fileSystem: m.fsType, device: m.source, dev: dev.toString(),
  };
}

/** Where the planned mounts are read from: the environment may point it at a sample (tests). */
function fstabPath(): string {
  return process.env['AZBACKUP_FSTAB'] ?? '/etc/fstab';
}

/**
 * An /etc/fstab entry whose mount point lies between the path and the mount that holds it now: a file
 * system that should hold the path but is not mounted. Swap and entries without a folder do not count.
 */
async function plannedMountAbove(path: string, holder: Mount): Promise<{ spec: string; mountPoint: string } | undefined> {
  let text: string;
  try { text = await readFile(fstabPath(), 'utf8'); } catch { return undefined; }
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]!.startsWith('#')) continue;
    const mountPoint = fields[1]!.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))).replace(/\/+$/, '') || '/';
    if (!mountPoint.startsWith('/') || fields[2] === 'swap') continue;
    const under = path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (under && mountPoint.length > holder.mountPoint.length) return { spec: fields[0]!, mountPoint };
  }
  return undefined;
}

/**
 * For the source walk: a check of the mount points it meets (canonical paths, raw bytes as latin1),
 * from one reading of the mount table. Undefined for a path that is no mount point or one AzBackup
 * protects; else the refusal, which the walk reports instead of entering the mount.
 */
export async function mountPointGate(timeoutMs = SOURCE_TIMEOUT_MS): Promise<{ points: ReadonlySet<string>; judge(path: string): Promise<SourceVerdict | undefined> }> {
  if (process.platform === 'win32') return { points: new Set(), judge: async () => undefined };
  const byPoint = new Map<string, Mount>();
  for (const m of await readMounts('latin1')) byPoint.set(m.mountPoint, m); // the last one mounted hides the others
  const judged = new Map<number, SourceVerdict | undefined>();
  const probe = new FsProbe(timeoutMs);
  const judge = async (path: string): Promise<SourceVerdict | undefined> => {
    const m = byPoint.get(path);
    if (!m) return undefined;
    if (!judged.has(m.mountId)) {
      const shown = Buffer.from(path, 'latin1').toString('utf8');
      let verdict = await judgeMount(shown, m);
      if (!verdict) {
        try { await probe.call('statfs', shown); } catch (err) {
          verdict = refused(shown, 'Offline', err instanceof ProbeTimedOut ? `The file system mounted at ${shown} (${m.fsType}) did not answer within ${timeoutMs / 1000} s.` : `The file system mounted at ${shown} (${m.fsType}) cannot be queried (${(err as NodeJS.ErrnoException).code}).`, m);
        }
      }
      judged.set(m.mountId, verdict);
    }
    return judged.get(m.mountId);
  };
  return { points: new Set(byPoint.keys()), judge };
}

/** The error that stops a backup with refused sources: the first one's code, every one named. */
export function refusalError(refusals: readonly SourceVerdict[]): AzbError {
  const first = refusals[0]!;
  const message = refusals.length === 1 ? `Source refused: ${first.message}` : `${refusals.length} sources refused: ${refusals.map((v) => v.message).join(' ')}`;
  return new AzbError(first.code as ErrorCode, message, { target: first.path, hint: first.hint ?? HINTS.Offline });
}

/** Every path checked; throws refusalError when any is refused. Returns the verdicts by path. */
export async function requireEligible(paths: readonly string[], o: { timeoutMs?: number } = {}): Promise<Map<string, SourceVerdict>> {
  // On Windows the module checks volumes (Get-Volume) before it calls the engine.
  if (process.platform === 'win32') return new Map();
  const mounts = await readMounts();
  const verdicts = new Map<string, SourceVerdict>();
  const probe = new FsProbe(o.timeoutMs ?? SOURCE_TIMEOUT_MS);
  for (const p of paths) verdicts.set(p, await testSource(p, { ...o, mounts, probe }));
  const refusals = [...verdicts.values()].filter((v) => !v.eligible);
  if (refusals.length > 0) throw refusalError(refusals);
  return verdicts;
}
