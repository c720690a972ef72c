// Online protection end to end (README "Online protection", FORMAT.md section 14): a folder "disk" vault,
// an Azurite vault behind the fault proxy, the built engine. Copies, restores from both copies, resumption
// after kills and failed requests, the coded refusals, and online retention per data source.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { describeTree } from '../helpers/data-tree.js';
import { onlyError, resultOf, startEngine, type EngineRun } from '../helpers/engine.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { FILES_DS, STREAM_DS, groupFile, groupPoint, groupStatus, protectionServer, type ProtectionServer } from './helpers.js';

let azurite: AzuriteServer;
let proxy: FaultProxy;

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startFaultProxy(azurite.port);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

/** A files data source of random data (`large`: three packs' worth; packs are 16 MiB), and a small dump. */
function sources(ps: ProtectionServer, o: { large?: boolean } = {}): { src: string; dump: Buffer } {
  const src = join(ps.fx.root, 'www');
  mkdirSync(join(src, 'img'), { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(join(src, 'img', `big${i}.bin`), randomBytes((o.large ? 13 : 1) * 1024 * 1024));
  writeFileSync(join(src, 'index.html'), '<html>shop</html>\n'.repeat(500));
  return { src, dump: randomBytes(300 * 1024) };
}

async function enable(ps: ProtectionServer, extra: string[] = []): Promise<EngineRun> {
  return ps.fx.az(['online', 'enable', ps.group, '--online-vault', ps.azure, ...(extra.includes('--retention-days') ? [] : ['--retention-days', '30']), ...extra]);
}

function copyResult(run: EngineRun): { dataSources: { name: string; status: string; pointId: string | null; packsCopied: number; bytesCopied: number; code?: string }[]; pointsExpired: number } {
  return resultOf(run, 'OnlineCopy') as ReturnType<typeof copyResult>;
}

function byName(run: EngineRun, name: string) {
  return copyResult(run).dataSources.find((d) => d.name === name)!;
}

function items(run: EngineRun): Record<string, unknown>[] {
  return run.events.filter((e) => e.type === 'item').map((e) => (e as { data: Record<string, unknown> }).data);
}

/** check of the online copy: every point's data is there (`structureOnly`: without reading every byte). */
async function checkOnline(ps: ProtectionServer, o: { structureOnly?: boolean } = {}): Promise<Record<string, unknown>> {
  const c = await ps.fx.az(['check', '--vault', ps.azure, ...(o.structureOnly ? [] : ['--read-data'])]);
  expect(c.code, c.stdout.slice(-1500)).toBe(0);
  return resultOf(c, 'CheckResult');
}

describe('online protection: copy and restore', () => {
  it('copies the newest point of each data source; both copies restore bit-identical; a second copy copies nothing; a new point copies only new packs', async () => {
    const ps = await protectionServer(azurite, proxy);
    const { src, dump } = sources(ps);
    const web1 = await groupPoint(ps, FILES_DS, { src });
    const db1 = await groupPoint(ps, STREAM_DS, { stdin: dump });

    const enabled = await enable(ps);
    expect(enabled.code, enabled.stdout).toBe(0);
    const online = resultOf(enabled, 'ProtectionGroup')['online'] as Record<string, unknown>;
    expect(online).toMatchObject({ retentionDays: 30, maxPoints: 120, maxSizeGB: 850, timesOfDay: ['21:00'] });
    const regFile = join(ps.fx.home, 'registrations', `${String(online['vaultId'])}.json`);
    const reg = JSON.parse(readFileSync(regFile, 'utf8')) as Record<string, unknown>;
    // Same server, its own key file; and it says which disk vault it copies.
    const diskRegName = readdirSync(join(ps.fx.home, 'registrations')).find((n) => n.endsWith('.json') && n !== `${String(online['vaultId'])}.json`)!;
    const diskReg = JSON.parse(readFileSync(join(ps.fx.home, 'registrations', diskRegName), 'utf8')) as Record<string, unknown>;
    expect(reg['serverId']).toBe(diskReg['serverId']);
    expect(reg['replicaOf']).toBe(diskReg['vaultId']);
    expect(reg['keyId']).not.toBe(diskReg['keyId']);
    // Enabling again reuses the replica: same key file, nothing new.
    const again = await enable(ps);
    expect(again.code, again.stdout).toBe(0);
    expect((JSON.parse(readFileSync(regFile, 'utf8')) as Record<string, unknown>)['keyId']).toBe(reg['keyId']);
    expect(again.stdout).toMatch(/is there already and verifies; it is reused/);

    const first = await ps.fx.az(['online', 'copy', ps.group]);
    expect(first.code, first.stdout.slice(-1500)).toBe(0);
    expect(byName(first, FILES_DS)).toMatchObject({ status: 'Copied', pointId: web1 });
    expect(byName(first, FILES_DS).packsCopied).toBeGreaterThanOrEqual(1);
    expect(byName(first, STREAM_DS)).toMatchObject({ status: 'Copied', pointId: db1 });

    const listed = await ps.fx.az(['points', '--group', ps.group, '--online']);
    expect(listed.code, listed.stdout).toBe(0);
    expect(items(listed).map((p) => [p['pointId'], p['dataSource'], p['protectionGroup']]).sort()).toEqual([[web1, FILES_DS, 'pg1'], [db1, STREAM_DS, 'pg1']].sort());
    const oneDs = await ps.fx.az(['points', '--group', ps.group, '--online', '--data-source', STREAM_DS]);
    expect(items(oneDs).map((p) => p['pointId'])).toEqual([db1]);

    // Restores from the disk and from the online copy: identical to each other and to the source.
    const fromDisk = join(ps.fx.root, 'from-disk');
    const fromOnline = join(ps.fx.root, 'from-online');
    expect((await ps.fx.az(['restore', 'latest', '--group', ps.group, '--data-source', FILES_DS, '--target', fromDisk])).code).toBe(0);
    const r = await ps.fx.az(['restore', 'latest', '--group', ps.group, '--data-source', FILES_DS, '--online', '--target', fromOnline]);
    expect(r.code, r.stdout.slice(-1000)).toBe(0);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ pointId: web1, vault: ps.azure });
    expect(describeTree(join(fromOnline, src))).toEqual(describeTree(src));
    expect(describeTree(join(fromDisk, src))).toEqual(describeTree(join(fromOnline, src)));
    const dumpOut = join(ps.fx.root, 'dump-online');
    expect((await ps.fx.az(['restore', 'latest', '--group', ps.group, '--data-source', STREAM_DS, '--online', '--target', dumpOut])).code).toBe(0);
    expect(readFileSync(join(dumpOut, 'db.sql')).equals(dump)).toBe(true);
    const ls = await ps.fx.az(['ls', db1.slice(0, 12), '--group', ps.group, '--online']);
    expect(items(ls).map((i) => i['path'])).toEqual(['db.sql']);

    // Nothing new: nothing copied.
    const second = await ps.fx.az(['online', 'copy', ps.group]);
    expect(second.code, second.stdout.slice(-800)).toBe(0);
    expect(copyResult(second).dataSources.map((d) => [d.status, d.packsCopied])).toEqual([['UpToDate', 0], ['UpToDate', 0]]);

    // A changed file: the new point copies only the packs holding the change: one data pack and one
    // tree pack (trees are packed apart from data, FORMAT.md section 7).
    appendFileSync(join(src, 'index.html'), 'changed\n');
    const web2 = await groupPoint(ps, FILES_DS, { src });
    const third = await ps.fx.az(['online', 'copy', ps.group]);
    expect(third.code, third.stdout.slice(-800)).toBe(0);
    expect(byName(third, FILES_DS)).toMatchObject({ status: 'Copied', pointId: web2, packsCopied: 2 });
    expect(byName(third, FILES_DS).bytesCopied).toBeLessThan(1024 * 1024);
    expect(byName(third, STREAM_DS)).toMatchObject({ status: 'UpToDate', packsCopied: 0 });

    const status = await groupStatus(ps);
    expect(status.dataSources[FILES_DS]).toMatchObject({ onlinePoint: { id: web2 }, onlinePoints: 2 });
    expect(status.dataSources[STREAM_DS]).toMatchObject({ onlinePoint: { id: db1, sizeBytes: dump.length }, onlinePoints: 1 });
    expect(status.dataSources[FILES_DS]!.lastError).toBeUndefined();
    expect(status.lastOnlineCopy).toBeDefined();
    const checked = await checkOnline(ps);
    expect(checked).toMatchObject({ points: 3, problems: 0 });

    // A passphrase changed on the disk: the online copy's key file does not open until enabling again,
    // which writes one for the new passphrase and deletes the old one.
    const changed = await ps.fx.az(['passphrase', 'set', '--vault', ps.fx.vault], { env: { AZBACKUP_NEW_PASSPHRASE: 'a new passphrase 4 the disk' } });
    expect(changed.code, changed.stdout.slice(-800)).toBe(0);
    ps.fx.env['AZBACKUP_PASSPHRASE'] = 'a new passphrase 4 the disk';
    const stale = await ps.fx.az(['online', 'copy', ps.group]);
    expect(onlyError(stale)).toMatchObject({ code: 'AZB_PASSPHRASE_WRONG', target: ps.azure });
    expect(onlyError(stale).hint).toMatch(/online enable/);
    const reEnabled = await enable(ps);
    expect(reEnabled.code, reEnabled.stdout).toBe(0);
    expect(reEnabled.stdout).toMatch(/with a new key file for the current passphrase/);
    const newKeyId = (JSON.parse(readFileSync(regFile, 'utf8')) as Record<string, unknown>)['keyId'];
    expect(newKeyId).not.toBe(reg['keyId']);
    const fine = await ps.fx.az(['online', 'copy', ps.group]);
    expect(fine.code, fine.stdout.slice(-800)).toBe(0);
    expect(copyResult(fine).dataSources.map((d) => d.status)).toEqual(['UpToDate', 'UpToDate']);
    // The old key file is gone from the Azure vault: the old passphrase opens nothing there.
    const oldPassphrase = await ps.fx.az(['points', '--vault', ps.azure], { env: { AZBACKUP_PASSPHRASE: ps.fx.passphrase } });
    expect(onlyError(oldPassphrase).code).toBe('AZB_PASSPHRASE_WRONG');
  }, 240_000);
});

/** Runs `online copy` until the proxy has seen a request `stalled` matches (which it never answers), then SIGKILLs it. */
async function killDuring(ps: ProtectionServer, stalled: (method: string, url: string) => boolean): Promise<void> {
  proxy.reset();
  proxy.chaos = (_n, method, url) => (stalled(method, url) ? 'stall' : undefined);
  const live = startEngine(['online', 'copy', ps.group, '--json'], ps.fx.env);
  try {
    for (let i = 0; i < 600 && !proxy.seen.some((s) => { const [m, u] = s.split(' '); return stalled(m!, u!); }); i++) {
      if (live.child.exitCode !== null) throw new Error(`the copy ended before the request to cut: ${live.stdout().slice(-1500)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(proxy.seen.some((s) => { const [m, u] = s.split(' '); return stalled(m!, u!); })).toBe(true);
    live.child.kill('SIGKILL');
    const end = await live.done;
    expect(end.signal).toBe('SIGKILL');
  } finally {
    proxy.reset();
  }
}

async function onlinePoints(ps: ProtectionServer): Promise<unknown[]> {
  const p = await ps.fx.az(['points', '--group', ps.group, '--online']);
  expect(p.code, p.stdout.slice(-800)).toBe(0);
  return items(p).map((x) => x['pointId']);
}

describe('online protection: interrupted copies resume and never leave a point without its data', () => {
  it('survives SIGKILL after some packs, after the packs (before the index) and after the index (before the point); the next copy completes', async () => {
    const ps = await protectionServer(azurite, proxy);
    const { src, dump } = sources(ps, { large: true });
    const web1 = await groupPoint(ps, FILES_DS, { src });
    await groupPoint(ps, STREAM_DS, { stdin: dump });
    expect((await enable(ps)).code).toBe(0);

    // 1. Killed while the second pack is on its way: one pack online, no index, no point.
    let packPuts = 0;
    await killDuring(ps, (m, u) => m === 'PUT' && u.includes('/packs/') && ++packPuts >= 2);
    expect(await onlinePoints(ps)).toEqual([]);
    await checkOnline(ps, { structureOnly: true });

    // 2. Killed while the index file is written: every pack online, no point.
    await killDuring(ps, (m, u) => m === 'PUT' && u.includes('/index/'));
    expect(await onlinePoints(ps)).toEqual([]);
    await checkOnline(ps, { structureOnly: true });

    // 3. Killed while the point is written (packs and index are there): still no point.
    await killDuring(ps, (m, u) => m === 'PUT' && u.includes('/points/'));
    expect(await onlinePoints(ps)).toEqual([]);
    await checkOnline(ps, { structureOnly: true });

    // The next copy puts no pack again (they are all there), writes the points, and everything checks.
    const resumed = await ps.fx.az(['online', 'copy', ps.group]);
    expect(resumed.code, resumed.stdout.slice(-1500)).toBe(0);
    expect(byName(resumed, FILES_DS)).toMatchObject({ status: 'Copied', pointId: web1, packsCopied: 0 });
    expect(byName(resumed, STREAM_DS).status).toBe('Copied');
    expect((await onlinePoints(ps)).length).toBe(2);
    const checked = await checkOnline(ps);
    expect(checked['problems']).toBe(0);
    const out = join(ps.fx.root, 'after-kills');
    expect((await ps.fx.az(['restore', web1.slice(0, 12), '--group', ps.group, '--online', '--target', out])).code).toBe(0);
    expect(describeTree(join(out, src))).toEqual(describeTree(src));

    // A pack deleted from the Azure vault behind AzBackup's back: the next point that needs it puts it again.
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(ps.azure.slice(ps.azure.lastIndexOf('/') + 1));
    let victim: string | undefined;
    for await (const b of container.listBlobsFlat({ prefix: 'servers/' })) if (b.name.includes('/packs/') && (b.properties.contentLength ?? 0) > 8 * 1024 * 1024) victim = b.name;
    expect(victim).toBeDefined();
    await container.deleteBlob(victim!);
    appendFileSync(join(src, 'index.html'), 'changed after the pack was lost\n');
    const web2 = await groupPoint(ps, FILES_DS, { src });
    const refilled = await ps.fx.az(['online', 'copy', ps.group]);
    expect(refilled.code, refilled.stdout.slice(-1500)).toBe(0);
    // The lost pack, and the new point's data pack and tree pack.
    expect(byName(refilled, FILES_DS)).toMatchObject({ status: 'Copied', pointId: web2, packsCopied: 3 });
    expect(await container.getBlobClient(victim!).exists()).toBe(true);
    const out2 = join(ps.fx.root, 'after-refill');
    expect((await ps.fx.az(['restore', 'latest', '--group', ps.group, '--data-source', FILES_DS, '--online', '--target', out2])).code).toBe(0);
    expect(describeTree(join(out2, src))).toEqual(describeTree(src));
  }, 300_000);

  it('fails clearly when the Azure vault refuses uploads mid-copy, and the next copy resumes without putting the stored packs again', async () => {
    const ps = await protectionServer(azurite, proxy);
    const { src } = sources(ps, { large: true });
    const web1 = await groupPoint(ps, FILES_DS, { src });
    expect((await enable(ps)).code).toBe(0);
    const packsOfPoint = new Set(readdirSync(join(ps.fx.vault, 'servers'), { recursive: true, encoding: 'utf8' }).filter((n) => /packs\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(n))).size;
    expect(packsOfPoint).toBeGreaterThanOrEqual(3);
    let packPuts = 0;
    proxy.reset();
    proxy.chaos = (_n, method, url) => (method === 'PUT' && url.includes('/packs/') && ++packPuts > 1 ? 503 : undefined);
    let failed: EngineRun;
    try {
      failed = await ps.fx.az(['online', 'copy', ps.group]);
    } finally {
      proxy.reset();
    }
    expect(failed.code).toBe(1);
    expect(onlyError(failed).code).toMatch(/^AZB_VAULT_(IO|UNREACHABLE)$/);
    expect(failed.stdout).not.toMatch(/AccountKey|sig=/);
    expect(await onlinePoints(ps)).toEqual([]);
    expect((await groupStatus(ps)).dataSources[FILES_DS]!.lastError).toMatchObject({ phase: 'Online' });
    const resumed = await ps.fx.az(['online', 'copy', ps.group]);
    expect(resumed.code, resumed.stdout.slice(-1500)).toBe(0);
    const web = byName(resumed, FILES_DS);
    expect(web).toMatchObject({ status: 'Copied', pointId: web1 });
    // The pack stored before the failures is not put again: the data source has three packs or more.
    expect(web.packsCopied).toBe(packsOfPoint - 1);
    expect((await groupStatus(ps)).dataSources[FILES_DS]!.lastError).toBeUndefined();
    await checkOnline(ps);
  }, 240_000);
});

describe('online protection: refusals', () => {
  it('refuses: a certificate never uploaded (nothing written), 121 days / 121 points / 851 GB before touching a vault, copies and --online without online protection, a bad bytes-per-GB scale', async () => {
    const ps = await protectionServer(azurite, proxy, { uploadCert: false });
    const run = await enable(ps);
    expect(run.code).toBe(1);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_ONLINE_CERT_NOT_UPLOADED');
    expect(err.hint).toMatch(/vault add-cert/);
    expect(groupFile(ps).online).toBeUndefined();
    const servers = await ps.fx.az(['servers', '--vault', ps.azure]);
    expect(servers.code, servers.stdout).toBe(0);
    expect(items(servers)).toEqual([]);

    for (const [extra, target] of [[['--retention-days', '121'], 'onlineRetentionDays'], [['--max-points', '121'], 'maxOnlinePoints'], [['--max-size-gb', '851'], 'maxOnlineSizeGB']] as const) {
      const refused = await enable(ps, [...extra]);
      expect(refused.code).toBe(2);
      expect(onlyError(refused)).toMatchObject({ code: 'AZB_ONLINE_RETENTION_INVALID', target });
    }
    expect(groupFile(ps).online).toBeUndefined();
    expect(onlyError(await ps.fx.az(['online', 'copy', ps.group])).code).toBe('AZB_ONLINE_NOT_ENABLED');
    expect(onlyError(await ps.fx.az(['points', '--group', ps.group, '--online'])).code).toBe('AZB_ONLINE_NOT_ENABLED');
    expect(onlyError(await ps.fx.az(['points', '--online'])).code).toBe('AZB_USAGE');
    expect(onlyError(await ps.fx.az(['points', '--group', ps.group, '--vault', ps.fx.vault])).code).toBe('AZB_USAGE');
    expect(onlyError(await ps.fx.az(['online', 'copy', 'nosuch'])).code).toBe('AZB_GROUP_NOT_FOUND');
    expect(onlyError(await ps.fx.az(['online', 'copy', ps.group, '--data-source', 'web01:/nope'])).code).toBe('AZB_DATASOURCE_NOT_FOUND');
    expect(onlyError(await ps.fx.az(['points', '--group', ps.group, '--data-source', 'web01:/nope'])).code).toBe('AZB_DATASOURCE_NOT_FOUND');
    expect(onlyError(await ps.fx.az(['online', 'enable', ps.group, '--online-vault', join(ps.fx.root, 'folder'), '--retention-days', '3'])).code).toBe('AZB_ARGS_INVALID');

    // Uploaded now: enabling works; a scale that is not a whole number of bytes is refused before any copy.
    expect((await ps.fx.az(['vault', 'add-cert', join(ps.fx.root, 'srv01.cer'), '--vault', ps.azure])).code).toBe(0);
    expect((await enable(ps)).code).toBe(0);
    const scaled = await ps.fx.az(['online', 'copy', ps.group], { env: { AZBACKUP_BYTES_PER_GB: 'lots' } });
    expect(onlyError(scaled)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'AZBACKUP_BYTES_PER_GB' });
    expect(existsSync(join(ps.fx.home, 'groups', 'pg1.status.json'))).toBe(false);
  }, 180_000);

  it('refuses the online copy of a data source over the size limit (AZB_ONLINE_SIZE_LIMIT) while the other is copied; disk protection is untouched', async () => {
    const ps = await protectionServer(azurite, proxy);
    const { src, dump } = sources(ps);
    const web1 = await groupPoint(ps, FILES_DS, { src });
    const db1 = await groupPoint(ps, STREAM_DS, { stdin: dump });
    // One "GB" is 1 MB here: the 3 MB files data source is over 2 GB, the 300 KB dump is not.
    Object.assign(ps.fx.env, { AZBACKUP_BYTES_PER_GB: String(1024 * 1024) });
    expect((await enable(ps, ['--max-size-gb', '2'])).code).toBe(0);
    const run = await ps.fx.az(['online', 'copy', ps.group]);
    expect(run.code, run.stdout.slice(-800)).toBe(3);
    expect(byName(run, FILES_DS)).toMatchObject({ status: 'Refused', code: 'AZB_ONLINE_SIZE_LIMIT', pointId: web1, packsCopied: 0 });
    expect(byName(run, STREAM_DS)).toMatchObject({ status: 'Copied', pointId: db1 });
    expect(run.events.some((e) => e.type === 'warning' && e.code === 'AZB_ONLINE_SIZE_LIMIT')).toBe(true);
    expect(await onlinePoints(ps)).toEqual([db1]);
    const status = await groupStatus(ps);
    expect(status.dataSources[FILES_DS]!.lastError).toMatchObject({ code: 'AZB_ONLINE_SIZE_LIMIT', phase: 'Online' });
    expect(status.dataSources[FILES_DS]!.lastError!.message).toMatch(/over the online limit of 2 GB/);
    expect(status.dataSources[STREAM_DS]).toMatchObject({ onlinePoint: { id: db1 }, onlinePoints: 1 });
    const disk = await ps.fx.az(['points', '--group', ps.group]);
    expect(items(disk).map((p) => p['pointId']).sort()).toEqual([web1, db1].sort());
  }, 180_000);

});

describe('online retention', () => {
  it('expires by days and by maxPoints counted per data source from its newest online point, never another data source\'s points nor the disk', async () => {
    const ps = await protectionServer(azurite, proxy);
    const src = join(ps.fx.root, 'small');
    mkdirSync(src);
    const day = 86_400_000;
    const base = Date.now();
    const at = (daysAgo: number) => new Date(base - daysAgo * day).toISOString();
    expect((await enable(ps, ['--retention-days', '7'])).code).toBe(0);
    // The dump's only point is 20 days old: it is its own newest, so it stays.
    const dbOld = await groupPoint(ps, STREAM_DS, { stdin: randomBytes(1000) }, at(20));
    const web: string[] = [];
    for (const daysAgo of [10, 5, 1]) {
      writeFileSync(join(src, 'page.html'), `version of ${daysAgo} days ago\n`);
      web.push(await groupPoint(ps, FILES_DS, { src }, at(daysAgo)));
      const run = await ps.fx.az(['online', 'copy', ps.group]);
      expect(run.code, run.stdout.slice(-800)).toBe(0);
    }
    // 10 days before the newest (1 day ago) is 9 days: past 7. 5 days ago is 4 days before it: kept.
    expect((await onlinePoints(ps)).sort()).toEqual([dbOld, web[1], web[2]].sort());
    const deleted = await ps.fx.az(['points', '--vault', ps.azure, '--deleted']);
    expect(items(deleted).map((p) => p['pointId'])).toEqual([web[0]]);
    expect(String(items(deleted)[0]!['deleteReason'])).toMatch(/older than the 7 days of online retention of web01:\/srv\/www/);

    // At most one online point per data source now: the older web point goes, the dump's stays.
    const tighter = await enable(ps, ['--retention-days', '7', '--max-points', '1']);
    expect(tighter.code, tighter.stdout).toBe(0);
    const run = await ps.fx.az(['online', 'copy', ps.group]);
    expect(run.code, run.stdout.slice(-800)).toBe(0);
    expect(copyResult(run).pointsExpired).toBe(1);
    expect((await onlinePoints(ps)).sort()).toEqual([dbOld, web[2]].sort());
    const status = await groupStatus(ps);
    expect(status.dataSources[FILES_DS]).toMatchObject({ onlinePoints: 1, onlinePoint: { id: web[2] } });
    expect(status.dataSources[STREAM_DS]).toMatchObject({ onlinePoints: 1, onlinePoint: { id: dbOld } });
    // The disk keeps all four points: online retention never touches it.
    const disk = await ps.fx.az(['points', '--group', ps.group]);
    expect(items(disk).map((p) => p['pointId']).sort()).toEqual([dbOld, ...web].sort());
    await checkOnline(ps);
  }, 240_000);
});

