// The source check as a backup and a policy see it, on real mounts (root): a refused mount below a source
// is skipped and listed, a refused source fails the job before anything is written, a source unmounted
// between the check and the walk is caught, policies refuse and skip refused specs. And the order of a
// backup's steps: pre command, snapshot, post command, read.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unescapeSkipped } from '../../core/backup/skip-report.js';
import { onlyError, resultOf } from '../helpers/engine.js';
import { Mounts, startSshd, type Sshd } from '../helpers/mounts.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

interface JobData { jobId: string; operation: string; status: string; skippedFilesPath: string | null; error?: { code: string } | null; warningList: { code: string; target?: string }[] }

async function lastJob(fx: VaultFixture): Promise<JobData> {
  const run = await fx.az(['jobs']);
  expect(run.code, run.stdout).toBe(0);
  return run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: JobData }).data).find((j) => j.operation === 'Backup')!;
}

async function pointCount(fx: VaultFixture): Promise<number> {
  const run = await fx.az(['points']);
  expect(run.code, run.stdout).toBe(0);
  return run.events.filter((e) => e.type === 'item').length;
}

async function pathsIn(fx: VaultFixture, point: string): Promise<string[]> {
  const ls = await fx.az(['ls', point, '--recurse']);
  expect(ls.code, ls.stdout).toBe(0);
  return ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path'])).sort();
}

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

describe('backups and policies on eligible and refused sources', () => {
  let mounts: Mounts;
  let sshd: Sshd;
  let data: string;
  let net: string;

  beforeAll(async () => {
    mounts = new Mounts();
    // A data disk (ext4) with a tmpfs and a network mount below it.
    data = mounts.loop('ext4', mounts.folder('data'));
    writeFileSync(join(data, 'a.txt'), 'on the data disk');
    mounts.tmpfs(join(data, 'scratch'));
    writeFileSync(join(data, 'scratch', 'tmp.txt'), 'on the tmpfs');
    sshd = await startSshd(mounts.folder('sshd'));
    mounts.onCleanup(() => sshd.stop());
    const exported = mounts.folder('exported');
    writeFileSync(join(exported, 'remote.txt'), 'on the server');
    net = mounts.sshfs(sshd, exported, join(data, 'share'));
  }, 120_000);

  afterAll(() => mounts?.cleanup());

  it('does not enter a refused mount below a source: each is listed with its code, and the job warns (exit 3)', async () => {
    const fx = await registeredServer();
    const run = await fx.az(['backup', data]);
    expect(run.code, run.stdout).toBe(3);
    const warned = run.events.filter((e) => e.type === 'warning').map((e) => [(e as { code: string }).code, (e as { target?: string }).target]);
    expect(warned).toEqual(expect.arrayContaining([['AZB_MOUNT_SKIPPED', join(data, 'scratch')], ['AZB_MOUNT_SKIPPED', net]]));
    const paths = await pathsIn(fx, String(resultOf(run, 'RecoveryPoint')['pointId']));
    expect(paths).toContain(join(data, 'a.txt'));
    expect(paths.filter((p) => p.startsWith(join(data, 'scratch')) || p.startsWith(net))).toEqual([]);
    const job = await lastJob(fx);
    expect(job.status).toBe('CompletedWithWarnings');
    const listed = readFileSync(job.skippedFilesPath!, 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t'))
      .map(([code, path]) => [code, unescapeSkipped(path!).toString('utf8')]);
    expect(listed).toEqual(expect.arrayContaining([['AZB_SOURCE_FILE_SYSTEM', join(data, 'scratch')], ['AZB_SOURCE_NETWORK', net]]));
  });

  it('fails the job of a network source with AZB_SOURCE_NETWORK before anything is read or written', async () => {
    const fx = await registeredServer();
    const run = await fx.az(['backup', join(net, 'remote.txt'), join(data, 'a.txt')]);
    expect(run.code).not.toBe(0);
    const err = onlyError(run);
    expect(err.code).toBe('AZB_SOURCE_NETWORK');
    expect(err.message).toContain('network file system');
    expect(await pointCount(fx)).toBe(0);
    const job = await lastJob(fx);
    expect(job.status).toBe('Failed');
  });

  it('stops a backup whose source was unmounted after the check (here by its pre command): AZB_SOURCE_OFFLINE, nothing written', async () => {
    const fx = await registeredServer();
    const disk = mounts.loop('ext4', mounts.folder('leaving'));
    writeFileSync(join(disk, 'real.txt'), 'the real data');
    const unmount = script(fx.root, 'unmount.sh', `umount '${disk}'`);
    const run = await fx.az(['backup', disk, '--pre-command', unmount]);
    // The folder it was mounted on is still there, empty: backing it up would store an empty point that
    // retention could count as the newest.
    expect(onlyError(run).code).toBe('AZB_SOURCE_OFFLINE');
    expect(await pointCount(fx)).toBe(0);
  });

  it('refuses to save a policy with a refused file spec, and a policy run skips a spec refused since with a warning', async () => {
    const fx = await registeredServer();
    const env = { AZBACKUP_UNIT_ROOT: join(fx.root, 'units'), AZBACKUP_SCHEDULER: 'cron' };
    const doc = (paths: string[]) => {
      const file = join(fx.root, 'policy.json');
      writeFileSync(file, JSON.stringify({
        name: 'mounts', fileSpecs: paths.map((path) => ({ path })),
        schedule: { daysOfWeek: ['Monday'], timesOfDay: ['09:00'], weeklyFrequency: 1 }, retention: { days: 3 },
      }));
      return file;
    };
    const refused = await fx.az(['policy', 'set', doc([join(data, 'a.txt'), join(data, 'scratch')]), '--store-passphrase'], { env });
    const err = onlyError(refused);
    expect(err.code).toBe('AZB_SOURCE_FILE_SYSTEM');
    expect(err.message).toContain(join(data, 'scratch'));

    // Saved while eligible; the disk then goes read-only: the run backs up the rest and says why not that.
    const later = mounts.loop('ext4', mounts.folder('later'));
    writeFileSync(join(later, 'b.txt'), 'b');
    expect((await fx.az(['policy', 'set', doc([join(data, 'a.txt'), later]), '--store-passphrase'], { env })).code).toBe(0);
    mounts.remount(later, 'ro');
    const run = await fx.az(['policy', 'run', 'mounts'], { env });
    expect(run.code, run.stdout).toBe(3);
    const warned = run.events.filter((e) => e.type === 'warning').map((e) => [(e as { code: string }).code, (e as { target?: string }).target]);
    expect(warned).toContainEqual(['AZB_SOURCE_READ_ONLY', later]);
    const point = run.events.find((e) => e.type === 'item' && (e as { kind?: string }).kind === 'RecoveryPoint') as { data: Record<string, unknown> };
    expect(point.data['sources']).toEqual([join(data, 'a.txt')]);
  });
});

describe('the order of pre command, snapshot, post command and read', () => {
  let mounts: Mounts;
  beforeAll(() => { mounts = new Mounts(); });
  afterAll(() => mounts?.cleanup());

  // The pre command writes "quiesced", the post command "resumed", into the same file, and records its
  // AZBACKUP_STATUS. What the point holds tells whether the read came before or after the post command.
  async function run(fsType: 'btrfs' | 'ext4'): Promise<{ stored: string; status: string; live: string }> {
    const fx = await registeredServer();
    const src = mounts.loop(fsType, mounts.folder(`order-${fsType}`));
    const state = join(src, 'state.txt');
    writeFileSync(state, 'running');
    const marker = join(fx.root, 'post-status');
    const pre = script(fx.root, 'pre.sh', `echo quiesced > '${state}'`);
    const post = script(fx.root, 'post.sh', `echo resumed > '${state}'; echo "$AZBACKUP_STATUS" > '${marker}'`);
    const backup = await fx.az(['backup', src, '--pre-command', pre, '--post-command', post]);
    expect(backup.code, backup.stdout.slice(-1500)).toBe(0);
    const target = join(fx.root, 'restored');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    return { stored: readFileSync(join(target, state), 'utf8').trim(), status: readFileSync(marker, 'utf8').trim(), live: readFileSync(state, 'utf8').trim() };
  }

  it('with a snapshot (btrfs), the post command runs right after the snapshot: the application is back before the read, and the point holds the quiesced state', async () => {
    expect(await run('btrfs')).toEqual({ stored: 'quiesced', status: 'SnapshotTaken', live: 'resumed' });
  }, 60_000);

  it('without a snapshot (ext4), the post command runs after the read', async () => {
    expect(await run('ext4')).toEqual({ stored: 'quiesced', status: 'Succeeded', live: 'resumed' });
  }, 60_000);
});
