// Creating a folder and its missing parents. Node's mkdir({ recursive: true }) never returns when a
// parent answers ENOENT to mkdir although it exists (/proc, /sys and other pseudo file systems): it
// retries forever at full CPU. These walk up at most once per path component instead. Paths may be
// bytes: Linux names need not be UTF-8.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The parent folder of `path` (the path itself for a root). */
function parentOf(path: string | Buffer): string | Buffer {
  if (typeof path === 'string') return dirname(path);
  const slash = path.lastIndexOf(0x2f);
  return slash <= 0 ? path.subarray(0, 1) : path.subarray(0, slash);
}

const isRoot = (path: string | Buffer) => Buffer.from(parentOf(path)).equals(Buffer.from(path));

/** Creates `path` and its missing parents with `mode`; a folder already there is fine. */
export async function makeDirs(path: string | Buffer, mode = 0o777): Promise<void> {
  const existingDir = async () => (await stat(path).catch(() => undefined))?.isDirectory() === true;
  try {
    await mkdir(path, { mode });
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && (await existingDir())) return;
    if (codeOf(err) !== 'ENOENT' || isRoot(path)) throw err;
  }
  await makeDirs(parentOf(path), mode);
  try {
    await mkdir(path, { mode });
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && (await existingDir())) return;
    throw err;
  }
}

/** makeDirs for the few places that must stay synchronous. */
export function makeDirsSync(path: string | Buffer, mode = 0o777): void {
  const existingDir = () => { try { return statSync(path).isDirectory(); } catch { return false; } };
  try {
    mkdirSync(path, { mode });
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && existingDir()) return;
    if (codeOf(err) !== 'ENOENT' || isRoot(path)) throw err;
  }
  makeDirsSync(parentOf(path), mode);
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && existingDir()) return;
    throw err;
  }
}
