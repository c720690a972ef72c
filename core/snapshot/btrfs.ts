// btrfs snapshots (README "Snapshot-consistent reads"): a read-only snapshot of the subvolume that
// holds a source, made in a folder of that subvolume (a snapshot must be on the same file system), read,
// then deleted. Subvolumes nested below it and mounts below it are not in such a snapshot.
import { existsSync } from 'node:fs';
import { lstat, mkdir, realpath, rmdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { describeFailure } from './provider.js';
import { runCommand } from './run-command.js';

/** The folder, at the root of a subvolume, that holds AzBackup's snapshots while a backup reads them. */
export const SNAPSHOT_FOLDER = '.azbackup-snapshots';
/** Inode number of the root folder of every btrfs subvolume (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOLUME_ROOT_INO = 256n;
/** Inode number of what stands for a nested subvolume inside a snapshot (BTRFS_EMPTY_SUBVOL_DIR_OBJECTID). */
export const NESTED_SUBVOLUME_INO = 2n;

/** Folders btrfs is looked for in: fixed, never PATH (a PATH entry could be anyone's). */
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** The btrfs tool, or undefined when btrfs-progs is not installed. */
export function btrfsTool(): string | undefined {
  for (const dir of TOOL_DIRS) if (existsSync(`${dir}/btrfs`)) return `${dir}/btrfs`;
  return undefined;
}

/**
 * Where a source lives in its subvolume: the subvolume's root folder (as mounted here) and the
 * source's path below it. Undefined when the root is not reachable from here (the source is on a bind
 * mount of a sub-folder of a subvolume).
 */
export async function subvolumeOf(source: string): Promise<{ root: string; below: string } | undefined> {
  // A source that is a link is backed up as a link: its folder is resolved, not the link.
  const st = await lstat(source, { bigint: true });
  const real = st.isDirectory() ? await realpath(source) : join(await realpath(dirname(source)), basename(source));
  let at = st.isDirectory() ? real : dirname(real);
  const dev = (await lstat(at, { bigint: true })).dev;
  for (;;) {
    if ((await lstat(at, { bigint: true })).ino === SUBVOLUME_ROOT_INO) return { root: at, below: relative(at, real) };
    const up = dirname(at);
    // Reached "/", or a mount point that is no subvolume root (a bind mount of a sub-folder).
    if (up === at || (await lstat(up, { bigint: true })).dev !== dev) return undefined;
    at = up;
  }
}

/** Makes a read-only snapshot of the subvolume at `root`; its path, or throws an Error saying why. */
export async function createBtrfsSnapshot(tool: string, root: string, name: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const folder = join(root, SNAPSHOT_FOLDER);
  await requireOwnFolders(root, folder);
  const path = join(folder, name);
  const r = await runCommand(tool, ['subvolume', 'snapshot', '-r', root, path], { timeoutMs, env: { LC_ALL: 'C' }, ...(signal ? { signal } : {}) });
  if (r.code !== 0 || r.timedOut || r.cancelled) {
    // A snapshot made just before the kill would stay: remove what is there.
    if (existsSync(path)) await deleteBtrfsSnapshot(tool, path, timeoutMs).catch(() => undefined);
    else await rmdir(folder).catch(() => undefined);
    throw new Error(describeFailure('btrfs subvolume snapshot', r, timeoutMs));
  }
  // What will be read must be the snapshot just made: a subvolume root, in the folder checked above.
  const made = await lstat(path, { bigint: true });
  if (!made.isDirectory() || made.ino !== SUBVOLUME_ROOT_INO) {
    throw new Error(`${path} is not the snapshot btrfs was asked to make; nothing is read from it.`);
  }
  return path;
}

/**
 * The snapshot is read from `folder` later, so nobody but this account may be able to put anything in
 * its place: the folder must be a real folder of ours, mode 0700, and the subvolume root must not let
 * others rename it (writable by group or others without the sticky bit). Throws an Error saying why.
 */
async function requireOwnFolders(root: string, folder: string): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  const rootSt = await lstat(root);
  if ((rootSt.mode & 0o022) !== 0 && (rootSt.mode & 0o1000) === 0) {
    throw new Error(`${root} can be written by other accounts (mode ${(rootSt.mode & 0o7777).toString(8)}), so a snapshot folder in it could be swapped while it is read`);
  }
  let created = true;
  await mkdir(folder, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw new Error(`cannot create ${folder}: ${err.code ?? err.message}`);
    created = false;
  });
  const st = await lstat(folder);
  if (!st.isDirectory() || st.uid !== uid || (!created && (st.mode & 0o077) !== 0)) {
    throw new Error(`${folder} is not AzBackup's snapshot folder (${st.isSymbolicLink() ? 'a link' : st.isDirectory() ? `owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}` : 'not a folder'}); remove it, then back up again`);
  }
}

/** Deletes a snapshot made by createBtrfsSnapshot, and its folder when no other snapshot is in it. */
export async function deleteBtrfsSnapshot(tool: string, path: string, timeoutMs: number): Promise<void> {
  const r = await runCommand(tool, ['subvolume', 'delete', path], { timeoutMs, env: { LC_ALL: 'C' } });
  if (r.code !== 0 || r.timedOut) throw new Error(describeFailure('btrfs subvolume delete', r, timeoutMs));
  await rmdir(dirname(path)).catch(() => undefined); // ENOTEMPTY: another backup's snapshot is there
}
