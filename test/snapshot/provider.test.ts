// Snapshots on a file system without a snapshot method (a real loop-mounted ext4): --snapshot required
// refuses, auto reads live and says so once; and the snapshot-provider contract (README "Snapshot
// providers") with real provider scripts: the happy path, a provider that fails, prints no JSON or
// hangs, a backup that fails after its snapshot was made, and a stop while snapshots are made.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, startEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { loopMount, unmountAll } from './mounts.js';

let ext4: string;
beforeAll(() => { ext4 = loopMount('ext4', 64); });
afterAll(() => unmountAll());

/** A folder on the ext4 mount with a file or two. */
function source(name: string): string {
  const src = join(ext4, name);
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'as it was at the snapshot');
  writeFileSync(join(src, 'b.txt'), 'bravo');
  return src;
}

/** Writes an executable shell script. */
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A provider whose "snapshot" is a copy (cp -a) in `snaps`; after the copy it changes the live a.txt,
 * so a restore shows which one was read. `log` receives its environment and the remove calls.
 */
function copyProvider(extraCreate = ''): { create: string; remove: string; log: string; snaps: string } {
  const dir = tempDir('azb-provider-');
  const log = join(dir, 'log');
  const snaps = join(dir, 'snaps');
  mkdirSync(log);
  mkdirSync(snaps);
  const create = script(dir, 'create', `env > '${log}/create-env'
snap="${snaps}/$(basename "$1")"
cp -a "$1" "$snap" || exit 1
echo 'changed after the snapshot' > "$1/a.txt"
${extraCreate}
echo "creating, tool chatter"
echo "copied $1" >&2
echo "{\\"path\\": \\"$snap\\", \\"id\\": \\"id-$(basename "$1")\\"}"`);
  const remove = script(dir, 'remove', `echo "$1|$2|$3|$SNAPSHOT_ID" >> '${log}/removed'
rm -rf "$2"`);
  return { create, remove, log, snaps };
}

async function setProvider(fx: VaultFixture, create: string, remove: string, timeout = 10): Promise<void> {
  const set = await fx.az(['settings', 'set', '--snapshot-create-command', create, '--snapshot-remove-command', remove, '--snapshot-timeout', String(timeout)]);
  expect(set.code, set.stdout).toBe(0);
  expect(resultOf(set, 'MachineSetting')).toMatchObject({ snapshotCreateCommand: create, snapshotRemoveCommand: remove, snapshotTimeoutSeconds: timeout });
}

async function pointCount(fx: VaultFixture): Promise<number> {
  return (await fx.az(['points'])).events.filter((e) => e.type === 'item').length;
}

/** Whether a process is alive: it exists and is no zombie (an orphan waits for a reaper that may be slow). */
function isRunning(pid: number): boolean {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

describe('without a snapshot method (ext4, no provider)', () => {
  it('refuses --snapshot required with the supported ways, before reading anything', async () => {
    const fx = await registeredServer();
    const src = source('req');
    const run = await fx.az(['backup', src, '--snapshot', 'required']);
    const err = onlyError(run);
    expect(err).toMatchObject({ code: 'AZB_SNAPSHOT_UNAVAILABLE', target: src });
    expect(err.message).toContain('ext4');
    expect(err.message).toMatch(/btrfs subvolumes, by a snapshot provider \(LVM, ZFS, a SAN\), or by VSS on Windows/);
    expect(err.hint).toMatch(/btrfs/);
    expect(err.hint).toMatch(/snapshot provider/);
    expect(err.hint).toMatch(/VSS on Windows/);
    expect(run.code).toBe(1);
    expect(await pointCount(fx)).toBe(0);
    const jobs = await fx.az(['jobs']);
    expect(jobs.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['status']))).toEqual(['Failed']);
  }, 60_000);

  it('reads live under auto (the default): the point says so, with no warning', async () => {
    const fx = await registeredServer();
    const src = source('auto');
    const run = await fx.az(['backup', src]);
    expect(run.code, run.stdout.slice(-800)).toBe(0);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ snapshotMode: 'Auto', reads: [{ source: src, method: 'live' }] });
    expect(String((resultOf(run, 'RecoveryPoint')['reads'] as { note: string }[])[0]!.note)).toMatch(/ext4 has no snapshot method/);
    expect(run.events.filter((e) => e.type === 'warning')).toEqual([]);
  }, 60_000);
});

describe('snapshot provider', () => {
  it('reads the snapshot the create command made, records the original paths, removes it, and passes no secret', async () => {
    const fx = await registeredServer();
    const src = source('happy');
    const p = copyProvider();
    await setProvider(fx, p.create, p.remove);
    const run = await fx.az(['backup', src, '--snapshot', 'required']);
    expect(run.code, run.stdout.slice(-1500)).toBe(0);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ sources: [src], reads: [{ source: src, method: 'provider' }], filesNew: 2 });
    // Browsing shows the original paths, never the snapshot's.
    const ls = await fx.az(['ls', 'latest', src]);
    const paths = ls.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']));
    expect(paths.sort()).toEqual([join(src, 'a.txt'), join(src, 'b.txt')]);
    expect(ls.stdout).not.toContain(p.snaps);
    const target = join(fx.root, 'r');
    expect((await fx.az(['restore', 'latest', '--target', target])).code).toBe(0);
    expect(readFileSync(join(target, src, 'a.txt'), 'utf8')).toBe('as it was at the snapshot');
    expect(readFileSync(join(src, 'a.txt'), 'utf8')).toBe('changed after the snapshot\n');
    // The remove command got the source, the path and the id back, and did its work.
    expect(readFileSync(join(p.log, 'removed'), 'utf8')).toBe(`${src}|${join(p.snaps, 'happy')}|id-happy|id-happy\n`);
    expect(existsSync(join(p.snaps, 'happy'))).toBe(false);
    // Its error output is in the job's log and in the job's commands.log.
    expect(run.stdout).toContain(`${p.create}: copied ${src}`);
    const jobId = /Job (\S+) started: Backup/.exec(run.stdout)![1]!;
    const commandsLog = readFileSync(join(fx.home, 'job-files', jobId, 'commands.log'), 'utf8');
    expect(commandsLog).toContain(`${p.create}: copied ${src}`);
    expect(commandsLog).toContain(`Snapshot provider: ${src} is read from ${join(p.snaps, 'happy')} (snapshot id-happy).`);
    expect(commandsLog).toContain('Removed the snapshot id-happy');
    // Its environment: the source, and nothing of AzBackup's (the passphrase is in the engine's).
    const env = readFileSync(join(p.log, 'create-env'), 'utf8');
    expect(env).toContain(`SNAPSHOT_SOURCE=${src}`);
    expect(env).toContain(`SNAPSHOT_MOUNT_POINT=${ext4}`);
    expect(env).not.toMatch(/^AZBACKUP_/m);
    expect(env).not.toContain(fx.passphrase);
  }, 60_000);

  it('falls back to live reads with a warning under auto when the create command fails, and fails under required', async () => {
    const fx = await registeredServer();
    const src = source('fails');
    const dir = tempDir('azb-provider-');
    await setProvider(fx, script(dir, 'create', "echo 'lvcreate: Volume group \"vg0\" has insufficient free space' >&2; exit 1"), script(dir, 'remove', `touch '${dir}/remove-called'`));
    const auto = await fx.az(['backup', src]);
    expect(auto.code, auto.stdout.slice(-800)).toBe(3);
    const warning = auto.events.find((e) => e.type === 'warning' && e.code === 'AZB_SNAPSHOT_FAILED') as { message: string } | undefined;
    expect(warning?.message).toMatch(/exit code 1.*insufficient free space/);
    expect(warning?.message).toMatch(/read live/);
    const point = resultOf(auto, 'RecoveryPoint');
    expect(point).toMatchObject({ reads: [{ source: src, method: 'live' }], filesNew: 2 });
    expect((point['reads'] as { note: string }[])[0]!.note).toMatch(/^snapshot failed: /);
    // Nothing was made, so nothing is removed.
    expect(existsSync(join(dir, 'remove-called'))).toBe(false);

    const required = await fx.az(['backup', src, '--snapshot', 'required']);
    expect(onlyError(required)).toMatchObject({ code: 'AZB_SNAPSHOT_FAILED', target: src });
    expect(onlyError(required).message).toMatch(/insufficient free space/);
    expect(await pointCount(fx)).toBe(1);
  }, 60_000);

  it('refuses what a create command prints when it is not the JSON of the contract', async () => {
    const fx = await registeredServer();
    const src = source('nojson');
    const dir = tempDir('azb-provider-');
    await setProvider(fx, script(dir, 'create', 'echo snapshot made'), script(dir, 'remove', 'exit 0'));
    const run = await fx.az(['backup', src, '--snapshot', 'required']);
    expect(onlyError(run)).toMatchObject({ code: 'AZB_SNAPSHOT_FAILED' });
    expect(onlyError(run).message).toMatch(/did not print \{"path"/);
    await setProvider(fx, script(dir, 'create2', 'echo \'{"path": "relative/snap"}\''), script(dir, 'remove', 'exit 0'));
    expect(onlyError(await fx.az(['backup', src, '--snapshot', 'required'])).message).toMatch(/absolute path/);
    await setProvider(fx, script(dir, 'create3', `echo '{"path": "${dir}/no-such-snapshot", "id": "x"}'`), script(dir, 'remove', 'exit 0'));
    expect(onlyError(await fx.az(['backup', src, '--snapshot', 'required'])).message).toMatch(/cannot be read \(ENOENT\)/);
  }, 60_000);

  it('kills a create command that hangs, with what it started, after the time-out', async () => {
    const fx = await registeredServer();
    const src = source('hangs');
    const dir = tempDir('azb-provider-');
    await setProvider(fx, script(dir, 'create', `echo $$ > '${dir}/create.pid'; sleep 300 & echo $! > '${dir}/child.pid'; wait`), script(dir, 'remove', 'exit 0'), 2);
    const run = await fx.az(['backup', src]);
    expect(run.code, run.stdout.slice(-800)).toBe(3);
    const warning = run.events.find((e) => e.type === 'warning' && e.code === 'AZB_SNAPSHOT_FAILED') as { message: string };
    expect(warning.message).toMatch(/did not end within 2 s; it was killed/);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ reads: [{ source: src, method: 'live' }] });
    const pids = ['create.pid', 'child.pid'].map((f) => Number(readFileSync(join(dir, f), 'utf8')));
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  }, 60_000);

  it('removes the snapshot when the backup fails after it was made', async () => {
    const fx = await registeredServer();
    const src = source('failafter');
    // The create command makes its snapshot, then breaks the vault: a folder becomes a file.
    const p = copyProvider(`mv '${fx.vault}' '${fx.vault}.away' && touch '${fx.vault}'`);
    await setProvider(fx, p.create, p.remove);
    const run = await fx.az(['backup', src, '--snapshot', 'required']);
    expect(run.code).toBe(1);
    expect(run.events.filter((e) => e.type === 'error')).toHaveLength(1);
    expect(readFileSync(join(p.log, 'removed'), 'utf8')).toContain(`${src}|${join(p.snaps, 'failafter')}|`);
    expect(existsSync(join(p.snaps, 'failafter'))).toBe(false);
    rmSync(fx.vault);
    renameSync(`${fx.vault}.away`, fx.vault);
  }, 60_000);

  it('removes the snapshots made when the backup is stopped while the next one is made', async () => {
    const fx = await registeredServer();
    const first = source('stop1');
    const second = source('stop2');
    const p = copyProvider(`[ "$1" = '${second}' ] && { touch '${ext4}/second-started'; sleep 300; }`);
    await setProvider(fx, p.create, p.remove, 600);
    const live = startEngine(['backup', first, second, '--json'], fx.env);
    while (!existsSync(join(ext4, 'second-started')) && live.child.exitCode === null) await sleep(10);
    live.child.kill('SIGTERM');
    const end = await live.done;
    expect(end.code, end.stdout.slice(-800)).toBe(5);
    expect(end.stdout).toContain('"code":"AZB_CANCELLED"');
    expect(readFileSync(join(p.log, 'removed'), 'utf8')).toBe(`${first}|${join(p.snaps, 'stop1')}|id-stop1|id-stop1\n`);
    expect(existsSync(join(p.snaps, 'stop1'))).toBe(false);
    expect(await pointCount(fx)).toBe(0);
  }, 60_000);

  it('warns, naming the snapshot, when the remove command fails; the point is kept', async () => {
    const fx = await registeredServer();
    const src = source('noremove');
    const p = copyProvider();
    const dir = tempDir('azb-provider-');
    await setProvider(fx, p.create, script(dir, 'remove', "echo 'lvremove: Logical volume vg0/azb-snap in use' >&2; exit 5"));
    const run = await fx.az(['backup', src, '--snapshot', 'required']);
    expect(run.code, run.stdout.slice(-800)).toBe(3);
    expect(resultOf(run, 'RecoveryPoint')).toMatchObject({ reads: [{ source: src, method: 'provider' }] });
    const warning = run.events.find((e) => e.type === 'warning' && e.code === 'AZB_SNAPSHOT_REMOVE_FAILED') as { message: string; target: string };
    expect(warning.target).toBe(`id-noremove (of ${src})`);
    expect(warning.message).toMatch(/exit code 5\): lvremove: Logical volume vg0\/azb-snap in use\. Remove it by hand/);
  }, 60_000);

  it('refuses provider settings that cannot work', async () => {
    const fx = await registeredServer();
    const half = await fx.az(['settings', 'set', '--snapshot-create-command', '/usr/local/sbin/snap-create']);
    expect(onlyError(half)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'snapshotRemoveCommand' });
    const relative = await fx.az(['settings', 'set', '--snapshot-create-command', 'snap-create', '--snapshot-remove-command', '/x']);
    expect(onlyError(relative)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'snapshotCreateCommand' });
    const slow = await fx.az(['settings', 'set', '--snapshot-create-command', '/a', '--snapshot-remove-command', '/b', '--snapshot-timeout', '0']);
    expect(onlyError(slow)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'snapshotTimeoutSeconds' });
    const both = await fx.az(['settings', 'set', '--no-snapshot-provider', '--snapshot-timeout', '5']);
    expect(onlyError(both)).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'noSnapshotProvider' });
    await setProvider(fx, '/a', '/b');
    const removed = await fx.az(['settings', 'set', '--no-snapshot-provider']);
    expect(resultOf(removed, 'MachineSetting')).toMatchObject({ snapshotCreateCommand: '', snapshotRemoveCommand: '' });
  }, 60_000);
});
