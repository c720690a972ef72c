// Secrets for the human CLI: from an environment variable, a file, or stdin — never from an argument
// (process arguments are visible to every user of the machine).
import { AzbError } from '../protocol/errors.js';
import { readSecretFile } from '../config/secret-file.js';
import { readStdin } from '../protocol/rpc.js';

export interface SecretSource { envName?: string; file?: string; stdin?: boolean; label: string }

/** Returns the secret, or undefined when no source gave one. Trailing newlines of a file/stdin are dropped. */
export async function readSecret(src: SecretSource): Promise<string | undefined> {
  const given = [src.file !== undefined, src.stdin === true].filter(Boolean).length;
  if (given > 1) throw new AzbError('AZB_SECRET_SOURCE', `Give the ${src.label} one way only: a file or stdin.`, { hint: 'Use either the --…-file option or the --…-stdin option.' });
  // Owner-only, like the storage credential files: a file others can read gives away what it unlocks.
  // (readSecretFile skips the mode check on Windows, where access is governed by ACLs, not mode bits.)
  if (src.file !== undefined) return readSecretFile(src.file, src.label, { ownerOnly: true });
  if (src.stdin) return nonEmpty((await readStdin()).replace(/\r?\n$/, ''), src.label);
  if (src.envName === undefined) return undefined;
  const env = process.env[src.envName];
  return env === undefined || env === '' ? undefined : env;
}

function nonEmpty(v: string, label: string): string {
  if (v.length === 0) throw new AzbError('AZB_SECRET_SOURCE', `The ${label} given is empty.`, { hint: `Put the ${label} in the file or on stdin.` });
  return v;
}
