// 50 registrations of one host name at once into one vault (issue 15): 50 servers that share a name
// (cloned images, one GPO) become 50 distinct namespaces; one machine that registers 50 times at once
// (a startup script beside an admin's fan-out) gets exactly one. Never a damaged vault or home.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCommand } from '../../core/commands/register.js';
import { runCommand } from '../../core/protocol/dispatch.js';
import { JsonSink, type EngineEvent } from '../../core/protocol/events.js';
import { listServers, registerServer, verifyRegistration } from '../../core/repo/registration.js';
import { openServer } from '../../core/repo/server.js';
import { openVault, putCertificate } from '../../core/repo/vault.js';
import { LocalFolderStore } from '../../core/storage/local.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { onlyError, resultOf, runEngine } from '../helpers/engine.js';
import { testCertificate } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';
import { withRegistrationLock } from '../../core/config/home.js';

const COUNT = 50;
const PASSPHRASE = 'a good long passphrase 1';

let root: string;
let vault: string;
let cert: ReturnType<typeof writeTestCertificate>;
const az = (args: string[], env: Record<string, string | undefined>) => runEngine([...args, '--json'], {
  env: { AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: PASSPHRASE, AZBACKUP_CERT_PASSWORD: cert.password, ...env },
});

beforeAll(async () => {
  root = tempDir('azb-reg50-');
  vault = join(root, 'vault');
  cert = writeTestCertificate(root, 'web01');
  const home = { AZBACKUP_HOME: join(root, 'setup-home') };
  expect((await az(['vault', 'create', vault], home)).code).toBe(0);
  expect((await az(['vault', 'add-cert', cert.cerPath, '--vault', vault], home)).code).toBe(0);
});

/** Runs `register` in this process (the engine's own code path, without 50 process starts) and returns its events. */
async function registerHere(): Promise<{ code: number; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const code = await runCommand(registerCommand as never, { vault, certificate: cert.pemPath, hostname: 'web01' },
    new JsonSink((line) => { events.push(JSON.parse(line) as EngineEvent); }), { secrets: { passphrase: PASSPHRASE, password: cert.password } });
  return { code, events };
}

describe('50 concurrent registrations of one host name', () => {
  it('50 servers named alike become 50 distinct namespaces, each whole, verifiable and opened by its own passphrase', async () => {
    process.env['AZBACKUP_TEST_KDF'] = 'fast';
    const store = new LocalFolderStore(vault);
    const v = await openVault(store);
    const own = testCertificate();
    await putCertificate(v, own.thumbprint, own.der);
    const made = await Promise.all(Array.from({ length: COUNT }, (_, i) => registerServer(v, { hostname: 'web01', thumbprint: own.thumbprint, privateKey: own.privateKey, passphrase: `passphrase of server ${i} !` })));
    const ids = made.map((m) => m.record.serverId);
    expect(new Set(ids).size).toBe(COUNT);
    const listed = (await listServers(await openVault(new LocalFolderStore(vault)))).filter((s) => ids.includes(s.serverId));
    expect(listed).toHaveLength(COUNT);
    for (const s of listed) {
      expect(s.hostname).toBe('web01');
      expect(await verifyRegistration(v, s)).toBe(true);
    }
    // Each namespace opens with its own passphrase and not with another's.
    for (const i of [0, 17, COUNT - 1]) {
      expect((await openServer(v, ids[i]!, `passphrase of server ${i} !`)).masterKey.equals(made[i]!.masterKey)).toBe(true);
      const wrong = await openServer(v, ids[i]!, `passphrase of server ${(i + 1) % COUNT} !`).then(() => 'opened', (e: { code?: string }) => e.code);
      expect(wrong).toBe('AZB_PASSPHRASE_WRONG');
    }
  });

  it('one machine registering 50 times at once makes one namespace: one registers, 49 say nothing changed', async () => {
    process.env['AZBACKUP_HOME'] = join(root, 'home-once');
    process.env['AZBACKUP_CACHE'] = join(root, 'cache-once');
    const before = (await listServers(await openVault(new LocalFolderStore(vault)))).length;
    const runs = await Promise.all(Array.from({ length: COUNT }, () => registerHere()));
    const failures = runs.flatMap((r) => r.events.filter((e) => e.type === 'error'));
    expect(failures).toEqual([]);
    const results = runs.map((r) => r.events.find((e) => e.type === 'result') as Extract<EngineEvent, { type: 'result' }>);
    expect(results.filter((r) => r.data['changed'] === true)).toHaveLength(1);
    expect(results.filter((r) => r.data['changed'] === false)).toHaveLength(COUNT - 1);
    expect(new Set(results.map((r) => r.data['serverId'])).size).toBe(1);
    const after = await listServers(await openVault(new LocalFolderStore(vault)));
    expect(after.length).toBe(before + 1);
    // The home holds one whole registration, naming that namespace, and no lock left behind.
    const files = readdirSync(join(root, 'home-once', 'registrations')).sort();
    expect(files.filter((f) => !/\.(json|key)$/.test(f))).toEqual([]);
    const reg = JSON.parse(readFileSync(join(root, 'home-once', 'registrations', files.find((f) => f.endsWith('.json'))!), 'utf8')) as { serverId: string };
    expect(reg.serverId).toBe(results[0]!.data['serverId']);
  });

  it('across engine processes too: four at once on one machine make one namespace, and four machines four', async () => {
    const before = (await listServers(await openVault(new LocalFolderStore(vault)))).length;
    const register = (home: string) => az(['register', '--vault', vault, '--certificate', cert.pemPath, '--hostname', 'web01'], { AZBACKUP_HOME: join(root, home), AZBACKUP_CACHE: join(root, 'cache') });
    const sameMachine = await Promise.all([1, 2, 3, 4].map(() => register('home-proc')));
    const otherMachines = await Promise.all([1, 2, 3, 4].map((i) => register(`home-proc-${i}`)));
    for (const r of [...sameMachine, ...otherMachines]) expect(r.code, r.stdout).toBe(0);
    expect(sameMachine.filter((r) => resultOf(r, 'Registration')['changed'] === true)).toHaveLength(1);
    expect(new Set(sameMachine.map((r) => resultOf(r, 'Registration')['serverId'])).size).toBe(1);
    expect(new Set(otherMachines.map((r) => resultOf(r, 'Registration')['serverId'])).size).toBe(4);
    // Names that repeat are allowed, and said: -Server web01 is ambiguous in this vault.
    expect(otherMachines.every((r) => r.events.some((e) => e.type === 'warning' && e.code === 'AZB_HOSTNAME_IN_USE'))).toBe(true);
    expect((await listServers(await openVault(new LocalFolderStore(vault)))).length).toBe(before + 5);
    const ambiguous = await az(['points', '--vault', vault, '--server', 'web01'], { AZBACKUP_HOME: join(root, 'home-proc') });
    expect(onlyError(ambiguous).code).toBe('AZB_SERVER_AMBIGUOUS');
  });

  it('takes over the lock of a registration whose process is gone, and leaves no lock behind', async () => {
    const home = join(root, 'home-stale');
    const vaultId = (JSON.parse(readFileSync(join(vault, 'vault.json'), 'utf8')) as { vaultId: string }).vaultId;
    mkdirSync(join(home, 'registrations'), { recursive: true, mode: 0o700 });
    // A process that has ended: its pid is free (and not reused within this test).
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(home, 'registrations', `${vaultId}.lock`), `${gone} 0123456789abcdef\n`, { mode: 0o600 });
    const r = await az(['register', '--vault', vault, '--certificate', cert.pemPath, '--hostname', 'web01'], { AZBACKUP_HOME: home, AZBACKUP_CACHE: join(root, 'cache') });
    expect(r.code, r.stdout).toBe(0);
    expect(resultOf(r, 'Registration')['changed']).toBe(true);
    expect(readdirSync(join(home, 'registrations')).filter((f) => !/\.(json|key)$/.test(f))).toEqual([]);
  });

  it('a second registration that differs is refused and names the difference; a wrong passphrase is refused with its own code', async () => {
    const env = { AZBACKUP_HOME: join(root, 'home-proc'), AZBACKUP_CACHE: join(root, 'cache') };
    const renamed = await az(['register', '--vault', vault, '--certificate', cert.pemPath, '--hostname', 'web02'], env);
    expect(onlyError(renamed)).toMatchObject({ code: 'AZB_SERVER_ALREADY_REGISTERED', message: expect.stringContaining('its host name is web01, not web02') });
    const wrong = await az(['register', '--vault', vault, '--certificate', cert.pemPath, '--hostname', 'web01'], { ...env, AZBACKUP_PASSPHRASE: 'not the passphrase of it' });
    expect(onlyError(wrong).code).toBe('AZB_PASSPHRASE_WRONG');
  });

  it('a registration lock held by a live process makes a registration wait, then give up with AZB_REGISTRATION_IN_PROGRESS naming it', async () => {
    const home = join(root, 'home-held');
    const saved = process.env['AZBACKUP_HOME'];
    process.env['AZBACKUP_HOME'] = home;
    try {
      mkdirSync(join(home, 'registrations'), { recursive: true, mode: 0o700 });
      const lock = join(home, 'registrations', 'a1b2c3.lock');
      writeFileSync(lock, `${process.pid} 0123456789abcdef\n`, { mode: 0o600 }); // this live process holds it
      let ran = false;
      const err = await withRegistrationLock('a1b2c3', async () => { ran = true; }, 300).catch((e: unknown) => e);
      expect(ran).toBe(false);
      expect(err).toMatchObject({ code: 'AZB_REGISTRATION_IN_PROGRESS', target: lock, message: expect.stringContaining(`process ${process.pid}`) });
      expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} 0123456789abcdef\n`); // never taken from a live holder
    } finally {
      if (saved === undefined) delete process.env['AZBACKUP_HOME']; else process.env['AZBACKUP_HOME'] = saved;
    }
  });
});
