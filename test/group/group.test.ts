// Protection groups end to end, through the built engine: two real loopback sshd members (A: a folder
// of files, read with tar over SSH; B: a PostgreSQL 15 dump), one group on the protection server's disk
// vault. One point per data source with its group and data source, restores bit-identical, dedup on the
// second run, a tar that fails mid-stream and a changed host key costing only their own data source,
// retention per data source (days and the 64-point cap, on points crafted in the vault), the refusals,
// the schedule files, and the stored passphrase shared with policies.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import { describeTree, makeDataTree } from '../helpers/data-tree.js';
import { freePort, requireRoot, startSshd, type Sshd } from '../helpers/mounts.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { tempDir } from '../helpers/tmp.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const REAL_TAR = spawnSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).stdout.trim();
// pg_dump 15.14 and later write a random \restrict key into every dump unless given one: with a fixed
// key two dumps of an unchanged database are the same bytes.
const RESTRICT_KEY = spawnSync(`${PG_BIN}/pg_dump`, ['--help'], { encoding: 'utf8' }).stdout?.includes('--restrict-key') ? ['--restrict-key=azbtestkey'] : [];

function items(run: EngineRun, kind: string): Record<string, unknown>[] {
  return run.events.filter((e) => e.type === 'item' && e.kind === kind).map((e) => (e as { data: Record<string, unknown> }).data);
}
function warnings(run: EngineRun): { code: string; message: string }[] {
  return run.events.filter((e) => e.type === 'warning') as unknown as { code: string; message: string }[];
}
function fingerprintOfPub(pub: string): string {
  return /(SHA256:[A-Za-z0-9+/]{43})/.exec(execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' }))![1]!;
}

describe('protection groups', () => {
  let root: string;
  let fx: VaultFixture;
  let sshdA: Sshd;
  let sshdB: Sshd;
  let data: string;
  let pg: string;
  let pgPort: string;
  let failFlag: string;
  let env: Record<string, string>;
  const FILES = () => `files01:${data}`;
  const DUMP = 'db01:shop.sql';
  const psql = (db: string, args: string[]) => execFileSync(`${PG_BIN}/psql`, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg, '-p', pgPort, '-U', 'postgres', '-d', db, ...args], { encoding: 'utf8' }).trim();
  const az = (args: string[], o: { env?: Record<string, string | undefined> } = {}) => fx.az(args, { env: { ...env, ...o.env } });
  const points = async () => items(await az(['points']), 'RecoveryPoint');

  beforeAll(async () => {
    requireRoot();
    if (!existsSync(`${PG_BIN}/initdb`)) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): tools/setup.sh installs it (package postgresql-15).`);
    root = tempDir('azb-group-');
    chmodSync(root, 0o755); // the cluster's folder must be reachable by postgres
    // Member A's tar is a wrapper first on its PATH: it cuts the stream and exits 2 while the flag file exists.
    const bin = join(root, 'member-bin');
    mkdirSync(bin);
    failFlag = join(root, 'fail-tar');
    writeFileSync(join(bin, 'tar'), `#!/bin/sh\nif [ -e '${failFlag}' ]; then '${REAL_TAR}' "$@" | head -c 30000; echo 'tar: simulated read error' >&2; exit 2; fi\nexec '${REAL_TAR}' "$@"\n`, { mode: 0o755 });
    sshdA = await startSshd(join(root, 'sshd-a'), { config: [`SetEnv PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`] });
    sshdB = await startSshd(join(root, 'sshd-b'));
    data = join(root, 'srv-data');
    mkdirSync(data);
    makeDataTree(data);
    rmSync(join(data, 'sparse.img')); // 64 MiB read on every run: the tar import's own tests cover it
    pg = join(root, 'pg');
    mkdirSync(pg);
    execFileSync('chown', ['postgres:postgres', pg]);
    pgPort = String(await freePort());
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', `${pg}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'pipe' });
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', `${pg}/data`, '-l', `${pg}/server.log`, '-w', '-o', `-k ${pg} -p ${pgPort} -c listen_addresses=''`, 'start'], { stdio: 'pipe' });
    psql('postgres', ['-c', 'create database shop']);
    psql('shop', ['-c', "create table orders (id int primary key, note text); insert into orders select g, 'order ' || g from generate_series(1, 5000) g"]);
    fx = await registeredServer({ hostname: 'dpm01' });
    // Schedules go to a folder of the test, never to the machine's /etc.
    env = { AZBACKUP_UNIT_ROOT: join(root, 'units'), AZBACKUP_SCHEDULER: 'cron' };
    for (const [name, s] of [['files01', sshdA], ['db01', sshdB]] as const) {
      const added = await az(['member', 'add', name, '--host', '127.0.0.1', '--port', String(s.port), '--user', 'root', '--identity-file', s.clientKey, '--host-key-fingerprint', fingerprintOfPub(`${s.hostKey}.pub`)]);
      expect(added.code, added.stdout).toBe(0);
    }
    const made = await az(['group', 'new', 'dpm1', '--vault', fx.vault]);
    expect(made.code, made.stdout).toBe(0);
    expect(resultOf(made, 'ProtectionGroup')).toMatchObject({ name: 'dpm1', state: 'Active', shortTerm: { retentionRangeDays: 5 }, online: null, dataSources: [] });
    const a = await az(['group', 'add-source', 'dpm1', '--member', 'files01', '--path', `${data}/`]);
    expect(a.code, a.stdout).toBe(0);
    expect(resultOf(a, 'DataSource')).toMatchObject({ name: FILES(), kind: 'Files', path: data, diskPoint: null });
    const b = await az(['group', 'add-source', 'dpm1', '--member', 'db01', '--command', '/usr/sbin/runuser', '--arg=-u', '--arg', 'postgres', '--arg=--', '--arg', `${PG_BIN}/pg_dump`,
      '--arg=--host', '--arg', pg, '--arg=--port', '--arg', pgPort, ...RESTRICT_KEY.map((k) => `--arg=${k}`), '--arg', 'shop', '--stream-name', 'shop.sql']);
    expect(b.code, b.stdout).toBe(0);
    expect(resultOf(b, 'DataSource')).toMatchObject({ name: DUMP, kind: 'Stream', streamName: 'shop.sql' });
  }, 180_000);

  afterAll(() => {
    try { execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', `${pg}/data`, '-m', 'immediate', 'stop'], { stdio: 'pipe' }); } catch { /* not started */ }
    sshdA?.stop();
    sshdB?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    if (fx) rmSync(fx.root, { recursive: true, force: true });
  });

  it('makes one point per data source, marked with its group and data source, and both restore bit-identical', async () => {
    const run = await az(['group', 'run', 'dpm1']);
    expect(run.code, run.stdout).toBe(0);
    const made = items(run, 'RecoveryPoint');
    expect(made.map((p) => p['dataSource']).sort()).toEqual([DUMP, FILES()].sort());
    for (const p of made) expect(p['protectionGroup']).toBe('dpm1');
    const result = resultOf(run, 'ProtectionGroupRun');
    expect(result['dataSources']).toEqual(expect.arrayContaining([
      { name: FILES(), status: 'Completed', pointId: made.find((p) => p['dataSource'] === FILES())!['pointId'] },
      { name: DUMP, status: 'Completed', pointId: made.find((p) => p['dataSource'] === DUMP)!['pointId'] },
    ]));
    expect(result['online']).toBeNull();
    // The listing shows the same fields.
    const listed = await points();
    expect(listed.map((p) => `${String(p['protectionGroup'])}|${String(p['dataSource'])}`).sort()).toEqual([`dpm1|${DUMP}`, `dpm1|${FILES()}`].sort());

    const filesPoint = String(made.find((p) => p['dataSource'] === FILES())!['pointId']);
    const target = join(root, 'restored-files');
    const r = await az(['restore', filesPoint, '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(describeTree(join(target, data.slice(1)), { owners: true })).toEqual(describeTree(data, { owners: true }));

    const dumpPoint = String(made.find((p) => p['dataSource'] === DUMP)!['pointId']);
    const dumpTarget = join(root, 'restored-dump');
    const d = await az(['restore', dumpPoint, '--target', dumpTarget]);
    expect(d.code, d.stdout).toBe(0);
    // pg_dump's plain output of an unchanged database is the same bytes each time.
    const direct = execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_dump`, '--host', pg, '--port', pgPort, ...RESTRICT_KEY, 'shop']);
    expect(direct.length).toBeGreaterThan(10_000);
    expect(readFileSync(join(dumpTarget, 'shop.sql')).equals(direct)).toBe(true);

    // Get reports each data source's newest point and its size (bytes read: the whole data source).
    const got = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    const ds = got['dataSources'] as Record<string, unknown>[];
    const f = ds.find((x) => x['name'] === FILES())!;
    expect(f['diskPoint']).toMatchObject({ id: filesPoint, sizeBytes: made.find((p) => p['dataSource'] === FILES())!['bytesRead'] });
    expect(f).toMatchObject({ diskPoints: 1, maxDiskPoints: 64, lastError: null, sizeLimitBytes: null, overSizeLimit: false });
    expect(ds.find((x) => x['name'] === DUMP)).toMatchObject({ diskPoints: 1, maxDiskPoints: null, sizeBytes: direct.length });
  }, 120_000);

  it('stores little on a second run of unchanged data sources (deduplication)', async () => {
    const run = await az(['group', 'run', 'dpm1']);
    expect(run.code, run.stdout).toBe(0);
    const made = items(run, 'RecoveryPoint');
    expect(made).toHaveLength(2);
    for (const p of made) {
      expect(Number(p['bytesRead'])).toBeGreaterThan(10_000);
      // Only the new trees (and a chunk of the dump around its header, if any) are new.
      expect(Number(p['bytesAdded'])).toBeLessThan(Number(p['bytesRead']) / 20);
    }
  }, 120_000);

  it('a tar that fails mid-stream writes no point for its data source, names the member, and the other data source still gets its point', async () => {
    const before = await points();
    writeFileSync(failFlag, '');
    let run: EngineRun;
    try { run = await az(['group', 'run', 'dpm1']); } finally { rmSync(failFlag); }
    expect(run.code, run.stdout).toBe(3);
    const made = items(run, 'RecoveryPoint');
    expect(made.map((p) => p['dataSource'])).toEqual([DUMP]);
    const failed = (resultOf(run, 'ProtectionGroupRun')['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === FILES())!;
    expect(failed).toMatchObject({ status: 'Failed', pointId: null, code: 'AZB_MEMBER_COMMAND_FAILED' });
    expect(String(failed['message'])).toContain('files01');
    expect(String(failed['message'])).toContain('exited with status 2');
    expect(warnings(run).map((w) => w.code)).toContain('AZB_MEMBER_COMMAND_FAILED');
    const after = await points();
    expect(after.filter((p) => p['dataSource'] === FILES()).length).toBe(before.filter((p) => p['dataSource'] === FILES()).length);
    const got = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    const f = (got['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === FILES())!;
    expect(f['lastError']).toMatchObject({ code: 'AZB_MEMBER_COMMAND_FAILED', phase: 'Disk' });
    // The next good run clears it.
    const again = await az(['group', 'run', 'dpm1', '--data-source', FILES()]);
    expect(again.code, again.stdout).toBe(0);
    const g2 = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    expect((g2['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === FILES())!['lastError']).toBeNull();
  }, 120_000);

  it('refuses bad input with coded errors', async () => {
    const code = async (args: string[]) => onlyError(await az(args)).code;
    expect(await code(['group', 'new', 'dpm1', '--vault', fx.vault])).toBe('AZB_GROUP_EXISTS');
    expect(await code(['group', 'new', 'bad name', '--vault', fx.vault])).toBe('AZB_GROUP_INVALID');
    expect(await code(['group', 'new', 'cloud', '--vault', 'https://acct.blob.core.windows.net/vault1'])).toBe('AZB_GROUP_VAULT_NOT_DISK');
    const other = join(root, 'other-vault');
    expect((await az(['vault', 'create', other])).code).toBe(0);
    expect(await code(['group', 'new', 'elsewhere', '--vault', other])).toBe('AZB_SERVER_NOT_REGISTERED');
    expect(await code(['group', 'get', 'nosuch'])).toBe('AZB_GROUP_NOT_FOUND');
    expect(await code(['group', 'add-source', 'dpm1', '--member', 'nosuch', '--path', '/srv'])).toBe('AZB_MEMBER_NOT_FOUND');
    expect(await code(['group', 'add-source', 'dpm1', '--member', 'files01', '--path', 'relative/path'])).toBe('AZB_GROUP_INVALID');
    expect(await code(['group', 'add-source', 'dpm1', '--member', 'db01', '--command', 'pg_dump'])).toBe('AZB_GROUP_INVALID');
    const twice = onlyError(await az(['group', 'add-source', 'dpm1', '--member', 'files01', '--path', data]));
    expect(twice.code).toBe('AZB_GROUP_INVALID');
    expect(twice.message).toContain('already');
    // The same data source in a second group.
    expect((await az(['group', 'new', 'dpm2', '--vault', fx.vault])).code).toBe(0);
    const inOther = onlyError(await az(['group', 'add-source', 'dpm2', '--member', 'files01', '--path', data]));
    expect(inOther.code).toBe('AZB_DATASOURCE_IN_OTHER_GROUP');
    expect(inOther.message).toContain('dpm1');
    expect(await code(['group', 'add-source', 'dpm2', '--member', 'db01', '--command', 'pg_dump', '--stream-name', 'shop.sql'])).toBe('AZB_DATASOURCE_IN_OTHER_GROUP');
    expect((await az(['group', 'remove', 'dpm2'])).code).toBe(0);
    // Retention range 1 to 448; frequencies from the list; a schedule or a frequency.
    const ok = await az(['group', 'set', 'dpm1', '--retention-range-days', '448', '--dry-run']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(resultOf(ok, 'ProtectionGroup')['shortTerm']).toMatchObject({ retentionRangeDays: 448 });
    const over = onlyError(await az(['group', 'set', 'dpm1', '--retention-range-days', '449']));
    expect(over.code).toBe('AZB_RETENTION_INVALID');
    expect(over.message).toContain('449');
    expect(await code(['group', 'set', 'dpm1', '--retention-range-days', '0'])).toBe('AZB_RETENTION_INVALID');
    expect(await code(['group', 'set', 'dpm1', '--synchronization-frequency', '45'])).toBe('AZB_SCHEDULE_INVALID');
    expect(await code(['group', 'set', 'dpm1', '--days', 'Mon', '--times', '25:00'])).toBe('AZB_SCHEDULE_INVALID');
    expect(await code(['group', 'set', 'dpm1', '--days', 'Funday', '--times', '10:00'])).toBe('AZB_SCHEDULE_INVALID');
    expect(await code(['group', 'remove-source', 'dpm1', 'files01:/nowhere'])).toBe('AZB_DATASOURCE_NOT_FOUND');
    expect(await code(['group', 'run', 'dpm1', '--data-source', 'files01:/nowhere'])).toBe('AZB_DATASOURCE_NOT_FOUND');
    expect(await code(['group', 'run', 'dpm1', '--online'])).toBe('AZB_ONLINE_NOT_ENABLED');
    // None of it changed the group.
    expect(items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]).toMatchObject({ shortTerm: { retentionRangeDays: 5 } });
  }, 120_000);

  it('keeps per data source at most 64 points of a Files source and those of the retention range, and touches no other point', async () => {
    // Points crafted in the vault: 66 more of the Files source within the last hours, 3 of the dump 10 to
    // 12 days old, 2 of a data source no group has, and 2 plain points as old.
    const { vault, repo, key } = await craftingPoints(fx);
    const tree = (await points()).map((p) => p['pointId']); // any real point's tree will do
    const base = await repo.readPoint(String(tree[0]));
    const now = Date.now();
    const { protectionGroup: _g, dataSource: _d, ...plain } = base.manifest;
    const craft = (minutesAgo: number, extra: Record<string, string>) => repo.savePoint({ ...plain, time: new Date(now - minutesAgo * 60_000).toISOString(), parent: null, ...extra }, key);
    try {
      for (let i = 0; i < 66; i++) await craft(60 + i, { protectionGroup: 'dpm1', dataSource: FILES() });
      for (const days of [10, 11, 12]) await craft(days * 1440, { protectionGroup: 'dpm1', dataSource: DUMP });
      for (const days of [10, 11]) await craft(days * 1440, { protectionGroup: 'old', dataSource: 'gone01:/srv' });
      for (const days of [10, 11]) await craft(days * 1440, {});
    } finally {
      await vault.store.close();
    }
    const before = await points();
    const filesBefore = before.filter((p) => p['dataSource'] === FILES());
    expect(filesBefore.length).toBeGreaterThan(64);
    const run = await az(['group', 'run', 'dpm1']);
    expect(run.code, run.stdout).toBe(0);
    const after = await points();
    const files = after.filter((p) => p['dataSource'] === FILES()).sort((a, b) => String(b['time']).localeCompare(String(a['time'])));
    expect(files).toHaveLength(64);
    // The newest 64 stay: every expired one is older than every kept one.
    const keptIds = new Set(files.map((p) => p['pointId']));
    const expired = [...filesBefore, ...items(run, 'RecoveryPoint').filter((p) => p['dataSource'] === FILES())].filter((p) => !keptIds.has(p['pointId']));
    expect(expired.length).toBe(filesBefore.length + 1 - 64);
    for (const e of expired) expect(String(e['time']) < String(files[63]!['time'])).toBe(true);
    // The dump keeps its points of the last 5 days only: the crafted ones of 10 to 12 days expired.
    const dumps = after.filter((p) => p['dataSource'] === DUMP);
    for (const p of dumps) expect(now - Date.parse(String(p['time']))).toBeLessThan(5 * 86_400_000);
    expect(dumps.length).toBe(before.filter((p) => p['dataSource'] === DUMP).length - 3 + 1);
    // Not this group's data source, and no data source at all: untouched.
    expect(after.filter((p) => p['dataSource'] === 'gone01:/srv')).toHaveLength(2);
    expect(after.filter((p) => p['dataSource'] === undefined)).toHaveLength(2);
    expect(resultOf(run, 'ProtectionGroupRun')['pointsExpired']).toBe(expired.length + 3);
    const got = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    expect((got['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === FILES())!['diskPoints']).toBe(64);
  }, 180_000);

  it('reports the size against the online limit, and a group with online set but no online module warns and keeps its disk points', async () => {
    // Online protection is enabled by the online work (online.enable); here the document is given the field.
    const home = join(fx.home, 'groups', 'dpm1.json');
    const doc = JSON.parse(readFileSync(home, 'utf8'));
    doc.online = { vault: 'https://acct.blob.core.windows.net/vault1', vaultId: 'v-online', retentionDays: 30, maxPoints: 120, maxSizeGB: 850, timesOfDay: ['00:00'], enabled: new Date().toISOString() };
    writeFileSync(home, JSON.stringify(doc));
    try {
      const run = await az(['group', 'run', 'dpm1', '--data-source', DUMP]);
      expect(run.code, run.stdout).toBe(3);
      expect(items(run, 'RecoveryPoint')).toHaveLength(1);
      expect(warnings(run).map((w) => w.code)).toEqual(['AZB_ONLINE_NOT_ENABLED']);
      expect(resultOf(run, 'ProtectionGroupRun')['online']).toBeNull();
      // 850 "GB" of 10 bytes (AZBACKUP_BYTES_PER_GB): the dump is over it.
      const got = items(await az(['group', 'get', 'dpm1'], { env: { AZBACKUP_BYTES_PER_GB: '10' } }), 'ProtectionGroup')[0]!;
      const d = (got['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === DUMP)!;
      expect(d['sizeLimitBytes']).toBe(8500);
      expect(d['overSizeLimit']).toBe(true);
      expect((got['online'] as Record<string, unknown>)['retentionDays']).toBe(30);
    } finally {
      delete doc.online;
      writeFileSync(home, JSON.stringify(doc));
    }
  }, 120_000);

  it('installs its schedule (cron and systemd), runs scheduled with the stored passphrase, and shares that passphrase with policies', async () => {
    const unitRoot = join(root, 'units');
    const cron = join(unitRoot, 'etc/cron.d/azbackup-group-dpm1');
    // Before a passphrase is stored, a scheduled run fails, and says so in the report and the job history.
    const noPass = await az(['group', 'run', 'dpm1', '--scheduled', '--data-source', DUMP], { env: { AZBACKUP_PASSPHRASE: undefined } });
    expect(onlyError(noPass).code).toBe('AZB_PASSPHRASE_REQUIRED');
    const report = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    expect((report['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === DUMP)!['lastError']).toMatchObject({ code: 'AZB_PASSPHRASE_REQUIRED' });
    const jobs = items(await az(['jobs', '--previous', '1']), 'Job');
    expect(jobs[0]).toMatchObject({ operation: 'Backup', status: 'Failed' });
    const set = await az(['group', 'set', 'dpm1', '--synchronization-frequency', '30', '--store-passphrase']);
    expect(set.code, set.stdout).toBe(0);
    expect(resultOf(set, 'ProtectionGroup')).toMatchObject({ scheduler: 'cron', scheduleFiles: [cron], shortTerm: { synchronizationFrequencyMinutes: 30 } });
    expect(String(resultOf(set, 'ProtectionGroup')['passphraseStored'])).toMatch(/^file: /);
    const text = readFileSync(cron, 'utf8');
    expect(text).toContain('# Protection group dpm1:');
    expect(text.split('\n').filter((l) => / root .* group run dpm1 --scheduled >\/dev\/null 2>&1$/.test(l)).map((l) => l.split(' ').slice(0, 5).join(' ')))
      .toEqual(['0 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23 * * 0,1,2,3,4,5,6', '30 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23 * * 0,1,2,3,4,5,6']);
    expect(text).not.toContain(fx.passphrase);

    // As the scheduler runs it: no passphrase in the environment, the stored one is used.
    const scheduled = await az(['group', 'run', 'dpm1', '--scheduled', '--data-source', DUMP], { env: { AZBACKUP_PASSPHRASE: undefined } });
    expect(scheduled.code, scheduled.stdout).toBe(0);
    expect(items(scheduled, 'RecoveryPoint')).toHaveLength(1);
    const cleared = items(await az(['group', 'get', 'dpm1']), 'ProtectionGroup')[0]!;
    expect((cleared['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === DUMP)!['lastError']).toBeNull();

    // systemd units of the same group, checked by systemd-analyze where it exists.
    const sd = await az(['group', 'set', 'dpm1', '--days', 'Mon', 'wed', '--times', '21:00', '09:00'], { env: { AZBACKUP_SCHEDULER: 'systemd' } });
    expect(sd.code, sd.stdout).toBe(0);
    const unitDir = join(unitRoot, 'etc/systemd/system');
    const service = readFileSync(join(unitDir, 'azbackup-group-dpm1.service'), 'utf8');
    const timer = readFileSync(join(unitDir, 'azbackup-group-dpm1.timer'), 'utf8');
    expect(service).toMatch(/^ExecStart=.* "group" "run" "dpm1" "--scheduled"$/m);
    expect(timer).toContain('OnCalendar=Mon,Wed *-*-* 09,21:00:00');
    expect(timer).toContain('Unit=azbackup-group-dpm1.service');
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const v = spawnSync('systemd-analyze', ['verify', join(unitDir, 'azbackup-group-dpm1.service'), join(unitDir, 'azbackup-group-dpm1.timer')], { encoding: 'utf8' });
      expect(v.stderr).toBe('');
    }
    const suspended = await az(['group', 'set', 'dpm1', '--suspend'], { env: { AZBACKUP_SCHEDULER: 'systemd' } });
    expect(resultOf(suspended, 'ProtectionGroup')).toMatchObject({ state: 'Suspended', scheduleFiles: [], nextRun: null });
    expect(existsSync(join(unitDir, 'azbackup-group-dpm1.timer'))).toBe(false);
    const idle = await az(['group', 'run', 'dpm1', '--scheduled']);
    expect(idle.code).toBe(0);
    expect(items(idle, 'RecoveryPoint')).toHaveLength(0);
    expect((await az(['group', 'set', 'dpm1', '--resume'])).code).toBe(0);
    expect(existsSync(cron)).toBe(true);

    // A policy of the same vault: removing it keeps the passphrase the group needs, and the other way round.
    const policyFile = join(root, 'p.json');
    writeFileSync(policyFile, JSON.stringify({ name: 'local', fileSpecs: [{ path: data }], retention: { days: 7 }, schedule: { daysOfWeek: ['Sunday'], timesOfDay: ['03:00'], weeklyFrequency: 1 } }));
    expect((await az(['policy', 'set', policyFile, '--vault', fx.vault])).code).toBe(0);
    const stored = readdirStored(fx.home);
    expect(stored).toHaveLength(1);
    expect((await az(['policy', 'remove', 'local'])).code).toBe(0);
    expect(readdirStored(fx.home)).toEqual(stored);
    // The group goes last here: with it the stored passphrase goes too. (Made again for the test after.)
    expect((await az(['policy', 'set', policyFile, '--vault', fx.vault])).code).toBe(0);
    const removed = await az(['group', 'remove', 'dpm1']);
    expect(removed.code, removed.stdout).toBe(0);
    expect(resultOf(removed, 'RemovedProtectionGroup')).toMatchObject({ name: 'dpm1', scheduleFiles: [cron] });
    expect(existsSync(cron)).toBe(false);
    expect(readdirStored(fx.home)).toEqual(stored);
    expect((await az(['policy', 'remove', 'local'])).code).toBe(0);
    expect(readdirStored(fx.home)).toEqual([]);
    // Its points are kept.
    expect((await points()).filter((p) => p['protectionGroup'] === 'dpm1').length).toBeGreaterThan(64);
  }, 180_000);

  it('a member whose host key changed fails with AZB_MEMBER_HOST_KEY_CHANGED for its data source only', async () => {
    expect((await az(['group', 'new', 'dpm3', '--vault', fx.vault])).code).toBe(0);
    expect((await az(['group', 'add-source', 'dpm3', '--member', 'files01', '--path', data])).code).toBe(0);
    expect((await az(['group', 'add-source', 'dpm3', '--member', 'db01', '--command', 'cat', '--arg', '/etc/hostname', '--stream-name', 'hostname.txt'])).code).toBe(0);
    const port = sshdB.port;
    sshdB.stop();
    await sshdB.stopped;
    sshdB = await startSshd(join(root, 'sshd-b'), { port, newHostKey: true });
    const run = await az(['group', 'run', 'dpm3']);
    expect(run.code, run.stdout).toBe(3);
    expect(items(run, 'RecoveryPoint').map((p) => p['dataSource'])).toEqual([FILES()]);
    const failed = (resultOf(run, 'ProtectionGroupRun')['dataSources'] as Record<string, unknown>[]).find((x) => x['name'] === 'db01:hostname.txt')!;
    expect(failed).toMatchObject({ status: 'Failed', pointId: null, code: 'AZB_MEMBER_HOST_KEY_CHANGED' });
    expect(String(failed['message'])).toContain('db01');
    // Only that data source: the run as a whole fails with the code when it is the only one.
    const alone = await az(['group', 'run', 'dpm3', '--data-source', 'db01:hostname.txt']);
    expect(alone.code).toBe(1);
    expect(onlyError(alone).code).toBe('AZB_MEMBER_HOST_KEY_CHANGED');
  }, 120_000);
});

/** The stored-passphrase files in a home's registrations folder. */
function readdirStored(home: string): string[] {
  return readdirSync(join(home, 'registrations')).filter((n) => n.includes('.passphrase')).sort();
}
