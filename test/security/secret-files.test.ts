// Passphrase and password files that other local accounts can read are refused, as storage key files
// (AZBACKUP_STORAGE_KEY_FILE and the like) already were: whoever reads one holds what it unlocks.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';

describe('secret files readable by others', () => {
  it.each([
    ['--passphrase-file', '644', (file: string) => ['points', '--passphrase-file', file]],
    ['--passphrase-file', '640', (file: string) => ['points', '--passphrase-file', file]],
    ['--new-passphrase-file', '604', (file: string) => ['passphrase', 'set', '--new-passphrase-file', file]],
    ['--password-file', '644', (file: string) => ['cert', 'new', '--subject', 'CN=x', '-o', join(file, '..'), '--password-file', file]],
  ])('%s with mode %s is refused with AZB_SECRET_FILE_UNPROTECTED, naming the file', async (_option, mode, args) => {
    const fx = await registeredServer();
    const file = join(fx.root, 'secret.txt');
    writeFileSync(file, `${fx.passphrase} but new\n`);
    chmodSync(file, parseInt(mode, 8));
    const run = await fx.az(args(file), { env: { AZBACKUP_PASSPHRASE: undefined } });
    const err = onlyError(run);
    expect(err.code).toBe('AZB_SECRET_FILE_UNPROTECTED');
    expect(err.target).toBe(file);
    expect(err.hint).toContain('chmod 600');
  });

  it('a passphrase file readable by its owner only is used', async () => {
    const fx = await registeredServer();
    const file = join(fx.root, 'passphrase.txt');
    writeFileSync(file, `${fx.passphrase}\n`, { mode: 0o600 });
    const run = await fx.az(['points', '--passphrase-file', file], { env: { AZBACKUP_PASSPHRASE: undefined } });
    expect(run.code, run.stdout).toBe(0);
  });
});
