// Secrets kept in files (a passphrase file, a storage key file): read the same way everywhere.
import { readFile, stat } from 'node:fs/promises';
import { AzbError, fileError } from '../protocol/errors.js';

/**
 * The secret in `path`, one trailing newline dropped. An empty file is AZB_SECRET_SOURCE. With
 * `ownerOnly`, a file that group or others may read is refused (AZB_SECRET_FILE_UNPROTECTED), as ssh
 * refuses such key files: whoever reads it holds what it unlocks.
 */
export async function readSecretFile(path: string, label: string, o: { ownerOnly?: boolean } = {}): Promise<string> {
  let text: string;
  try {
    if (o.ownerOnly && process.platform !== 'win32' && ((await stat(path)).mode & 0o077) !== 0) {
      throw new AzbError('AZB_SECRET_FILE_UNPROTECTED', `${path} (${label}) can be read by other users.`, { target: path, hint: `Make it private to its owner: chmod 600 ${path}` });
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AzbError) throw err;
    throw fileError(err, path, `${label} file`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw new AzbError('AZB_SECRET_SOURCE', `The ${label} file ${path} is empty.`, { target: path, hint: `Put the ${label} in the file.` });
  return value;
}
