// The configuration home (core/config/home.ts, settings.ts): damaged files there give AZB_HOME_UNUSABLE
// naming the file and what to do, through the built engine.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';

describe('configuration home', () => {
  it('names a damaged registration file and a damaged settings file', async () => {
    const fx = await registeredServer();
    const regDir = join(fx.home, 'registrations');
    const reg = readdirSync(regDir).find((n) => n.endsWith('.json'))!;
    writeFileSync(join(regDir, reg), '{ not json');
    const err = onlyError(await fx.az(['points']));
    expect(err).toMatchObject({ code: 'AZB_HOME_UNUSABLE', target: join(regDir, reg) });
    expect(err.hint).toMatch(/register again/i);

    writeFileSync(join(fx.home, 'settings.json'), '{ nope');
    const bad = onlyError(await fx.az(['settings', 'show']));
    expect(bad).toMatchObject({ code: 'AZB_HOME_UNUSABLE', target: join(fx.home, 'settings.json') });
    expect(bad.hint).toMatch(/set the machine settings again, or delete the file/i);
  });
});
