// Creating a folder and its missing parents. Node's mkdir({ recursive: true }) never returns when a
// parent answers ENOENT to mkdir although it exists (/proc, /sys and other pseudo file systems): it
// retries forever at full CPU. These walk up at most once per path component instead.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Creates `path` and its missing parents with `mode`; a folder already there is fine. */
export async function makeDirs(path: string, mode = 0o777): Promise<void> {
  try {
    await mkdir(path, { mode });
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && (await stat(path).catch(() => undefined))?.isDirectory()) return;
    const parent = dirname(path);
    if (codeOf(err) !== 'ENOENT' || parent === path) throw err;
  }
  await makeDirs(dirname(path), mode);
  try {
    await mkdir(path, { mode });
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && (await stat(path).catch(() => undefined))?.isDirectory()) return;
    throw err;
  }
}

/** makeDirs for the few places that must stay synchronous. */
export function makeDirsSync(path: string, mode = 0o777): void {
  const existingDir = () => { try { return statSync(path).isDirectory(); } catch { return false; } };
  try {
    mkdirSync(path, { mode });
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && existingDir()) return;
    if (codeOf(err) !== 'ENOENT' || dirname(path) === path) throw err;
  }
  makeDirsSync(dirname(path), mode);
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && existingDir()) return;
    throw err;
  }
}
