// The mount table as the kernel gives it to this process (/proc/self/mountinfo, proc(5)): which file
// system holds a path, of what type, from what device, mounted with which options. Read fresh for each
// check, because mounts come and go while an engine runs.
import { readFile } from 'node:fs/promises';

/** One line of mountinfo. Paths are unescaped (the kernel writes space, tab, newline, \ as octal). */
export interface Mount {
  mountId: number; parentId: number;
  /** "major:minor" of the file system (st_dev of files on it). */
  device: string;
  /** The folder of the file system that is mounted here ("/" unless a bind mount of a sub-folder). */
  root: string;
  mountPoint: string;
  /** Per-mount options (ro/rw, nosuid, …). */
  options: string[];
  fsType: string;
  /** The mount source: a device (/dev/sda1), host:/export, //server/share, or a name (tmpfs). */
  source: string;
  superOptions: string[];
}

/** Where the mount table is read from: the environment may point it at a captured sample (tests). */
export function mountinfoPath(): string {
  return process.env['AZBACKUP_MOUNTINFO'] ?? '/proc/self/mountinfo';
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; lines that do not have its shape are ignored (none do on a real kernel). */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    const [id, parent, device, root, mountPoint, options] = fields as [string, string, string, string, string, string];
    mounts.push({
      mountId: Number(id), parentId: Number(parent), device, root: unescape(root), mountPoint: unescape(mountPoint),
      options: options.split(','), fsType: unescape(fields[dash + 1]!), source: unescape(fields[dash + 2]!),
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/**
 * The mount table. Paths are text (utf8) for checks of paths given as text, or raw bytes as latin1
 * for the source walk, which keeps names as bytes (core/backup/scanner.ts).
 */
export async function readMounts(encoding: 'utf8' | 'latin1' = 'utf8'): Promise<Mount[]> {
  return parseMountinfo(await readFile(mountinfoPath(), encoding));
}

function isUnder(path: string, mountPoint: string): boolean {
  return mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
}

/**
 * The mount that holds an absolute, canonical path: the deepest mount point above it, and of several
 * at the same point the last mounted (it hides the others). Undefined only for a table without "/".
 */
export function mountOf(path: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (!isUnder(path, m.mountPoint)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}
