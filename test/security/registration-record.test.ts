// Item 5: one edited field of server.json (no key needed) must not let backups go on writing points
// that can never be read: a backup checks its own registration record before it writes anything.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError } from '../helpers/engine.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';
import { editServerRecord, itemsOf, registrationOf } from './attacker.js';

async function backedUp() {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'first\n');
  expect((await fx.az(['backup', src])).code).toBe(0);
  writeFileSync(join(src, 'b.txt'), 'second\n');
  return { fx, src, serverId: registrationOf(fx).reg.serverId };
}

describe('a backup checks its own registration record first', () => {
  it.each([
    ['the certificate thumbprint', (rec: Record<string, unknown>) => { rec['certificate'] = '0'.repeat(40); }],
    ['the host name', (rec: Record<string, unknown>) => { rec['hostname'] = 'renamed'; }],
  ])('refuses to back up when %s in server.json was changed, and writes nothing', async (_what, edit) => {
    const { fx, src, serverId } = await backedUp();
    const record = join(fx.vault, 'servers', serverId, 'server.json');
    const original = readFileSync(record);
    editServerRecord(fx.vault, serverId, edit);
    const before = listTree(fx.vault);
    const run = await fx.az(['backup', src]);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_REGISTRATION_MISMATCH');
    expect(err.hint).toMatch(/server\.json/);
    expect(run.code).not.toBe(0);
    // Nothing new in the vault but (possibly) the lock the backup did not get to take.
    expect(listTree(fx.vault).filter((l) => !l.includes('/locks/'))).toEqual(before.filter((l) => !l.includes('/locks/')));
    // Every point stays readable; with the record put back, backups work again.
    expect(itemsOf(await fx.az(['points']))).toHaveLength(1);
    writeFileSync(record, original);
    expect((await fx.az(['backup', src])).code).toBe(0);
    expect(itemsOf(await fx.az(['points']))).toHaveLength(2);
  });
});
