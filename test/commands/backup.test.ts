// The backup command through the built engine: the source walk starts before the passphrase is checked
// (the two overlap), so the order in which their failures are reported is pinned here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';

describe('backup command', () => {
  it('reports a wrong passphrase before a missing source, and a missing source once the passphrase opens', async () => {
    const fx = await registeredServer();
    const missing = join(fx.root, 'no-such-folder');
    const before = listTree(fx.vault);
    const wrong = await fx.az(['backup', missing], { env: { AZBACKUP_PASSPHRASE: 'not the passphrase of this server' } });
    expect(onlyError(wrong).code).toBe('AZB_PASSPHRASE_WRONG');
    expect(onlyError(wrong).hint).toContain('--server'); // another server's passphrase is a common mix-up
    expect(wrong.stderr).not.toMatch(/unhandled|rejection/i);
    const gone = await fx.az(['backup', missing]);
    expect(onlyError(gone)).toMatchObject({ code: 'AZB_SOURCE_NOT_FOUND', target: missing });
    expect(gone.stderr).not.toMatch(/unhandled|rejection/i);
    // Neither failed run wrote to the vault (locks come and go; no pack, index or point).
    expect(listTree(fx.vault).filter((f) => !f.includes('/locks/'))).toEqual(before.filter((f) => !f.includes('/locks/')));
  });

  it('backs up what the early walk found, with the scan totals in the progress events', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha');
    writeFileSync(join(src, 'sub', 'b.txt'), 'bravo bravo');
    const run = await fx.az(['backup', src]);
    expect(run.code, run.stdout).toBe(0);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ filesNew: 2, dirs: 2, bytesRead: 16 });
    const progress = run.events.filter((e) => e.type === 'progress').map((e) => (e as { status?: string }).status ?? '');
    expect(progress.some((s) => /^\d+\/2 files/.test(s))).toBe(true);
  });
});
