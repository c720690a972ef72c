// Loop-mounted file systems for the snapshot tests (README "Snapshot-consistent reads"): real btrfs and
// ext4 on image files, unmounted and removed when the file ends. Needs root, as CI has.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: { dir: string; mnt: string }[] = [];

/** Fails loudly without root: these tests never skip. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('the snapshot tests loop-mount file systems: run them as root (CI does)');
}

/** Makes a `sizeMiB` image of `fsType`, mounts it, and returns the mount point. */
export function loopMount(fsType: 'btrfs' | 'ext4', sizeMiB: number): string {
  requireRoot();
  const dir = mkdtempSync(join(tmpdir(), `azb-${fsType}-`));
  const image = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  execFileSync(fsType === 'btrfs' ? 'mkfs.btrfs' : 'mkfs.ext4', ['-q', image], { stdio: 'ignore' });
  execFileSync('mount', ['-o', 'loop', image, mnt]);
  made.push({ dir, mnt });
  return mnt;
}

/** Unmounts and removes every file system loopMount made (call it in afterAll). */
export function unmountAll(): void {
  for (const { dir, mnt } of made.splice(0)) {
    try { execFileSync('umount', [mnt]); } catch { try { execFileSync('umount', ['-l', mnt]); } catch { /* already gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Creates a btrfs subvolume. */
export function subvolume(path: string): string {
  execFileSync('btrfs', ['subvolume', 'create', path], { stdio: 'ignore' });
  return path;
}

/** The subvolumes of the btrfs file system mounted at `mnt`, as `btrfs subvolume list` names them. */
export function subvolumes(mnt: string): string[] {
  return execFileSync('btrfs', ['subvolume', 'list', mnt], { encoding: 'utf8' }).split('\n').filter((l) => l.trim()).map((l) => l.replace(/^.* path /, ''));
}
