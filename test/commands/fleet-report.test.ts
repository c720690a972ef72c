// `fleet report`: four servers registered into one folder vault through the engine (one healthy with a
// running backup, one whose last point is 40 hours old with a lock its holder left, one never backed up
// whose certificate expires soon with an unreadable lock object, one whose server.json was damaged) and a
// namespace planted with a script for a host name. The report runs with no passphrase and from a home
// with no registration. One Azurite run shows the same on an Azure vault.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../core/protocol/events.js';
import { onlyError, resultOf, runEngine, type EngineRun } from '../helpers/engine.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';
import { tempDir } from '../helpers/tmp.js';

type Row = Record<string, unknown> & { serverId: string; hostname: string | null; status: string; codes: string[]; reason: string };

const rows = (run: EngineRun): Row[] => run.events.filter((e): e is Extract<EngineEvent, { type: 'item' }> => e.type === 'item' && e.kind === 'FleetServer').map((e) => e.data as Row);
const warnings = (run: EngineRun) => run.events.filter((e): e is Extract<EngineEvent, { type: 'warning' }> => e.type === 'warning');
const HOUR = 3_600_000;

describe('fleet report on a folder vault', () => {
  let root: string;
  let vault: string;
  const ids: Record<string, string> = {};
  /** The report as a reader with no passphrase and no registration runs it. */
  const report = (args: string[] = [], env: Record<string, string> = {}) => runEngine(['fleet', 'report', '--vault', vault, '--json', ...args], {
    env: { AZBACKUP_HOME: join(root, 'reader-home'), AZBACKUP_CACHE: join(root, 'reader-cache'), AZBACKUP_PASSPHRASE: undefined, AZBACKUP_TEST_NOW: undefined, ...env },
  });

  beforeAll(async () => {
    root = tempDir('azb-fleet-');
    vault = join(root, 'vault');
    const data = join(root, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.bin'), randomBytes(200_000));
    const base = { AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'correct horse battery staple 42' };
    expect((await runEngine(['vault', 'create', vault, '--json'], { env: { ...base, AZBACKUP_HOME: join(root, 'h0') } })).code).toBe(0);
    // Each server has a home of its own (one machine registers once per vault) and a certificate made
    // here, so that one can expire in 10 days.
    const register = async (name: string, notAfter?: Date) => {
      const env = { ...base, AZBACKUP_HOME: join(root, `home-${name}`), AZBACKUP_CACHE: join(root, `cache-${name}`) };
      writeTestCertificate(root, name, notAfter ? { notAfter } : {});
      writeFileSync(join(root, 'pfx.pw'), 'fixture-password', { mode: 0o600 });
      expect((await runEngine(['vault', 'add-cert', join(root, `${name}.cer`), '--vault', vault, '--json'], { env })).code).toBe(0);
      const reg = await runEngine(['register', '--vault', vault, '--certificate', join(root, `${name}.pfx`), '--password-file', join(root, 'pfx.pw'), '--hostname', name, '--json'], { env });
      expect([0, 3], reg.stdout).toContain(reg.code);
      ids[name] = String(resultOf(reg, 'Registration')['serverId']);
      return env;
    };
    const ok = await register('srv-ok');
    const old = await register('srv-old');
    await register('srv-new', new Date(Date.now() + 10 * 24 * HOUR));
    await register('srv-damaged');
    for (const env of [ok, old]) expect((await runEngine(['backup', data, '--vault', vault, '--json'], { env })).code).toBe(0);
    const ns = (name: string) => join(vault, 'servers', ids[name]!);
    // srv-old: its point 40 h old, its packs written 3 days ago, and a backup lock its dead holder left 2 h ago.
    const past = (d: Date, file: string) => utimesSync(file, d, d);
    for (const p of readdirSync(join(ns('srv-old'), 'points'))) past(new Date(Date.now() - 40 * HOUR), join(ns('srv-old'), 'points', p));
    for (const l of listTree(join(ns('srv-old'), 'packs'))) past(new Date(Date.now() - 72 * HOUR), join(ns('srv-old'), 'packs', l.split(':')[0]!));
    const lock = (type: string, host: string, at: Date) => JSON.stringify({ type, hostname: host, pid: 4242, created: at.toISOString(), refreshed: at.toISOString(), operation: 'backup' });
    mkdirSync(join(ns('srv-old'), 'locks'), { recursive: true });
    writeFileSync(join(ns('srv-old'), 'locks', randomBytes(16).toString('hex')), lock('backup', 'srv-old', new Date(Date.now() - 2 * HOUR)));
    // srv-ok: a backup running on another host right now.
    mkdirSync(join(ns('srv-ok'), 'locks'), { recursive: true });
    writeFileSync(join(ns('srv-ok'), 'locks', randomBytes(16).toString('hex')), lock('backup', 'other-host', new Date()));
    // srv-new: a lock object that is not JSON.
    mkdirSync(join(ns('srv-new'), 'locks'), { recursive: true });
    writeFileSync(join(ns('srv-new'), 'locks', randomBytes(16).toString('hex')), '{"type": "backup", trunc');
    // srv-damaged: its server.json is no longer JSON.
    writeFileSync(join(ns('srv-damaged'), 'server.json'), '{"serverId": "' + ids['srv-damaged'] + '", "hostname": "srv-dam');
    // A planted namespace: right JSON, wrong fields, a script for a host name, and one point object.
    ids['planted'] = randomBytes(32).toString('hex');
    mkdirSync(join(vault, 'servers', ids['planted'], 'points'), { recursive: true });
    writeFileSync(join(vault, 'servers', ids['planted'], 'server.json'), JSON.stringify({ serverId: ids['planted'], hostname: '<script>alert(1)</script>', created: 'yesterday' }));
    writeFileSync(join(vault, 'servers', ids['planted'], 'points', 'f'.repeat(64)), 'x');
    // ... and a lock whose host name and operation carry terminal escape sequences.
    mkdirSync(join(vault, 'servers', ids['planted'], 'locks'));
    writeFileSync(join(vault, 'servers', ids['planted'], 'locks', randomBytes(16).toString('hex')), JSON.stringify({
      type: 'read', hostname: 'evil\u001b[2Jhost', pid: 1, created: new Date().toISOString(), refreshed: new Date().toISOString(), operation: 'restore\u001b]0;owned\u0007',
    }));
  }, 180_000);

  it('reports every server, worst first, with the reasons, and no passphrase', async () => {
    const before = listTree(vault);
    const run = await report(['--html', join(root, 'fleet.html')]);
    expect(run.code, run.stdout + run.stderr).toBe(3); // warnings: two damaged records, one unreadable lock
    const all = rows(run);
    expect(all.map((r) => r.serverId).sort()).toEqual(Object.values(ids).sort());
    const by = (name: string) => all.find((r) => r.serverId === ids[name])!;
    // Worst first: the three Critical rows, then the Warning, then the OK one.
    expect(all.map((r) => r.status)).toEqual(['Critical', 'Critical', 'Critical', 'Warning', 'OK']);
    expect(all.at(-1)!.serverId).toBe(ids['srv-ok']);

    const okRow = by('srv-ok');
    expect(okRow).toMatchObject({ hostname: 'srv-ok', status: 'OK', pointCount: 1, activeLocks: 1, staleLocks: 0, proofValid: true, codes: ['AZB_LOCK_HELD'] });
    expect(okRow.ageHours as number).toBeLessThan(1);
    expect(okRow.reason).toMatch(/Last recovery point .* ago\. A backup is running on other-host/);
    const okPacks = listTree(join(vault, 'servers', ids['srv-ok']!, 'packs'));
    expect(okRow['packCount']).toBe(okPacks.length);
    expect(okRow['storedBytes']).toBe(okPacks.reduce((n, l) => n + Number(l.split(':')[1]), 0));
    expect(okRow['bytesPerDay7']).toBe(Math.round((okRow['storedBytes'] as number) / 7));

    const oldRow = by('srv-old');
    expect(oldRow).toMatchObject({ hostname: 'srv-old', status: 'Critical', codes: ['AZB_BACKUP_OVERDUE', 'AZB_LOCK_STALE'], staleLocks: 1, activeLocks: 0 });
    expect(oldRow.ageHours as number).toBeGreaterThanOrEqual(40);
    expect(oldRow.ageHours as number).toBeLessThan(41);
    expect(oldRow.reason).toMatch(/last recovery point is 40\.\d h old, more than 24 h/);
    expect(oldRow.reason).toContain('stale backup lock for backup on srv-old (pid 4242)');
    // Its packs were written 3 days ago: in the 7- and 30-day trends, at a 7th and a 30th a day.
    expect(oldRow['bytesPerDay30']).toBe(Math.round((oldRow['storedBytes'] as number) / 30));

    const newRow = by('srv-new');
    expect(newRow).toMatchObject({ status: 'Warning', pointCount: 0, storedBytes: 0, lastPoint: null, ageHours: null, activeLocks: 1 });
    expect(newRow.codes.sort()).toEqual(['AZB_BACKUP_NEVER', 'AZB_CERT_EXPIRING', 'AZB_LOCK_UNREADABLE']);
    expect(newRow.reason).toMatch(/expires on .* \(in (9|10) days\)/);
    expect(Date.parse(String(newRow['certificateExpires'])) - Date.now()).toBeGreaterThan(9 * 24 * HOUR);

    const damaged = by('srv-damaged');
    // Damaged, and (the namespace holds no point) never backed up either.
    expect(damaged).toMatchObject({ hostname: null, status: 'Critical', codes: ['AZB_SERVER_RECORD_DAMAGED', 'AZB_BACKUP_NEVER'], proofValid: null, registered: null });
    expect(damaged.reason).toContain('server.json is damaged: it is not JSON');
    const planted = by('planted');
    expect(planted).toMatchObject({ hostname: '<script>alert(1)</script>', status: 'Critical', pointCount: 1, proofValid: null });
    expect(planted.codes).toEqual(['AZB_SERVER_RECORD_DAMAGED', 'AZB_LOCK_HELD']);
    // Text from plain vault objects never reaches a terminal with its control characters.
    expect(planted['locks']).toEqual([expect.stringMatching(/^read lock for restore\?]0;owned\? on evil\?\[2Jhost \(pid 1\) since /)]);
    expect(run.stdout).not.toMatch(/\\u001b|\\u0007/);
    expect(planted.reason).toContain('it has no registration time');

    expect(warnings(run).map((w) => w.code).sort()).toEqual(['AZB_LOCK_UNREADABLE', 'AZB_SERVER_RECORD_DAMAGED', 'AZB_SERVER_RECORD_DAMAGED']);
    const summary = resultOf(run, 'FleetReport');
    expect(summary).toMatchObject({ servers: 5, critical: 3, warning: 1, ok: 1, maxAgeHours: 24, html: join(root, 'fleet.html') });
    const growth = summary['growth'] as { date: string; addedBytes: number; storedBytes: number }[];
    const today = new Date().toISOString().slice(0, 10);
    const threeDaysAgo = new Date(Date.now() - 72 * HOUR).toISOString().slice(0, 10);
    expect(growth.map((g) => g.date)).toEqual([threeDaysAgo, today]);
    expect(growth[0]!.addedBytes).toBe(oldRow['storedBytes']);
    expect(growth[1]!.storedBytes).toBe(summary['storedBytes']);

    // The page: the planted host name is text, never markup.
    const html = readFileSync(join(root, 'fleet.html'), 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html.match(/<tr class="server /g)).toHaveLength(5);
    // The report writes nothing to the vault (names and sizes as before; the lock objects stay too).
    expect(listTree(vault)).toEqual(before);
  });

  it('judges against the test clock and --max-age-hours', async () => {
    // 30 hours later: srv-ok is overdue and its backup lock has gone stale; srv-new has had its day.
    const later = rows(await report([], { AZBACKUP_TEST_NOW: new Date(Date.now() + 30 * HOUR).toISOString() }));
    const by = (rs: Row[], name: string) => rs.find((r) => r.serverId === ids[name])!;
    expect(by(later, 'srv-ok')).toMatchObject({ status: 'Critical', codes: ['AZB_BACKUP_OVERDUE', 'AZB_LOCK_STALE'] });
    expect(by(later, 'srv-new').codes[0]).toBe('AZB_BACKUP_NEVER');
    expect(by(later, 'srv-new').status).toBe('Critical');
    // A limit of 48 h: srv-old's 40-hour-old point is in time; its stale lock still wants a look.
    const lenient = rows(await report(['--max-age-hours', '48']));
    expect(by(lenient, 'srv-old')).toMatchObject({ status: 'Warning', codes: ['AZB_LOCK_STALE'] });
  });

  it('refuses a bad limit and an HTML path in a missing folder, with coded errors', async () => {
    for (const bad of ['0', 'abc', '9000']) {
      const run = await report(['--max-age-hours', bad]);
      expect(run.code, bad).toBe(2);
      expect(onlyError(run).code, bad).toMatch(/^AZB_(ARGS_INVALID|USAGE)$/);
      expect(rows(run), bad).toEqual([]);
    }
    const missing = join(root, 'no-such-folder', 'fleet.html');
    const run = await report(['--html', missing]);
    expect(run.code).toBe(1);
    expect(onlyError(run)).toMatchObject({ code: 'AZB_FILE_NOT_FOUND', target: missing });
    // Not a vault at all: the vault's own error, not a report.
    const notVault = await runEngine(['fleet', 'report', '--vault', join(root, 'data'), '--json']);
    expect(onlyError(notVault).code).toBe('AZB_VAULT_NOT_A_VAULT');
  });
});

describe('fleet report on an Azure vault (Azurite)', () => {
  let azurite: AzuriteServer;
  beforeAll(async () => { azurite = await startAzurite(); }, 180_000);
  afterAll(async () => { await azurite?.stop(); });

  it('lists the namespaces, sizes and times from the blob listing, and reports a damaged record', async () => {
    const fx = await registeredServer({ hostname: 'az01', backend: { kind: 'azurite', blobEndpoint: azurite.blobEndpoint, connectionString: azurite.connectionString } });
    const data = join(fx.root, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.bin'), randomBytes(100_000));
    expect((await fx.az(['backup', data, '--vault', fx.vault])).code).toBe(0);
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(fx.vault.slice(fx.vault.lastIndexOf('/') + 1));
    let packBytes = 0;
    for await (const b of container.listBlobsFlat({ prefix: 'servers/' })) if (b.name.includes('/packs/')) packBytes += b.properties.contentLength ?? 0;
    const damagedId = randomBytes(32).toString('hex');
    await container.getBlockBlobClient(`servers/${damagedId}/server.json`).upload('[1, 2', 5);

    const run = await runEngine(['fleet', 'report', '--vault', fx.vault, '--json'], {
      env: { AZBACKUP_HOME: join(fx.root, 'reader'), AZBACKUP_STORAGE_CONNECTION_STRING: azurite.connectionString, AZBACKUP_PASSPHRASE: undefined },
    });
    expect(run.code, run.stdout).toBe(3);
    const [first, second] = rows(run);
    expect(first).toMatchObject({ serverId: damagedId, hostname: null, status: 'Critical', codes: ['AZB_SERVER_RECORD_DAMAGED', 'AZB_BACKUP_NEVER'] });
    expect(second).toMatchObject({ hostname: 'az01', status: 'OK', pointCount: 1, storedBytes: packBytes, proofValid: true });
    expect(Math.abs(Date.parse(String(second!['lastPoint'])) - Date.now())).toBeLessThan(10 * 60_000);
  }, 120_000);
});
