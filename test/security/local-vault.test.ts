// Attacks on a folder vault by someone who can write into it (a shared folder, another local account):
// links and special files planted in its place. The engine must never follow them out of the vault
// (to delete or write files elsewhere on the server), never block on them, and must name them in a
// coded error. The vault it creates must be private to its owner: key files are enough for offline
// passphrase guessing.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_PATH, onlyError, parseEvents, type EngineRun } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

/** A registered server with one backup of a small tree; returns the fixture, its server ID and the source. */
async function backedUp(): Promise<{ fx: VaultFixture; serverId: string; src: string; ns: string }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha '.repeat(1000));
  writeFileSync(join(src, 'sub', 'b.bin'), randomBytes(200_000));
  const run = await fx.az(['backup', src]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const serverId = readdirSync(join(fx.vault, 'servers'))[0]!;
  return { fx, serverId, src, ns: join(fx.vault, 'servers', serverId) };
}

/**
 * A folder outside the vault holding files named like vault objects, dated two hours back (so a lock
 * there looks stale and a temp file abandoned): what a planted link would expose to the engine.
 */
function canary(names: string[]): { dir: string; contents: () => string[] } {
  const dir = join(tempDir('azb-canary-'), 'canary');
  mkdirSync(dir);
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const n of names) {
    writeFileSync(join(dir, n), `canary file ${n}\n`);
    utimesSync(join(dir, n), old, old);
  }
  return { dir, contents: () => listTree(dir) };
}

/** Replaces `path` (a file or folder of the vault) with a symbolic link to `target`. */
function plantLink(path: string, target: string): void {
  rmSync(path, { recursive: true, force: true });
  symlinkSync(target, path);
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The run failed with AZB_VAULT_UNSAFE_OBJECT naming `planted` (a path relative to the vault). */
function expectUnsafe(run: EngineRun, planted: string): void {
  const err = onlyError(run);
  expect(err.code, run.stdout).toBe('AZB_VAULT_UNSAFE_OBJECT');
  expect(err.category).toBe('SecurityError');
  expect(err.target).toBe(planted);
  expect(err.message).toContain(planted);
}

describe('a folder vault with links planted in it', () => {
  it('restore deletes nothing through a link planted as the locks folder', async () => {
    const { fx, serverId } = await backedUp();
    const bait = canary([hex(16), hex(16), 'passwd']);
    const before = bait.contents();
    plantLink(join(fx.vault, 'servers', serverId, 'locks'), bait.dir);
    const run = await fx.az(['restore', 'latest', '--target', join(fx.root, 'restored')]);
    expect(bait.contents()).toEqual(before);
    expectUnsafe(run, `servers/${serverId}/locks`);
  });

  it('restore deletes nothing through a link planted as one lock object', async () => {
    const { fx, serverId, ns } = await backedUp();
    const bait = canary(['victim']);
    const before = bait.contents();
    mkdirSync(join(ns, 'locks'), { recursive: true });
    const name = hex(16);
    symlinkSync(join(bait.dir, 'victim'), join(ns, 'locks', name));
    const run = await fx.az(['restore', 'latest', '--target', join(fx.root, 'restored')]);
    expect(bait.contents()).toEqual(before);
    expectUnsafe(run, `servers/${serverId}/locks/${name}`);
  });

  it('prune deletes no 64-hex file through a link planted as a pack folder', async () => {
    const { fx, serverId, ns } = await backedUp();
    const taken = new Set(readdirSync(join(ns, 'packs')));
    const xx = ['00', '01', '02', 'fe', 'ff'].find((p) => !taken.has(p))!;
    const bait = canary([xx + hex(31), xx + hex(31)]);
    const before = bait.contents();
    symlinkSync(bait.dir, join(ns, 'packs', xx));
    const run = await fx.az(['prune']);
    expect(bait.contents()).toEqual(before);
    expectUnsafe(run, `servers/${serverId}/packs/${xx}`);
  });

  it('prune deletes no 64-hex file through a link planted as the index folder', async () => {
    const { fx, serverId, ns } = await backedUp();
    const bait = canary([hex(32), hex(32)]);
    const before = bait.contents();
    plantLink(join(ns, 'index'), bait.dir);
    const run = await fx.az(['prune']);
    expect(bait.contents()).toEqual(before);
    expectUnsafe(run, `servers/${serverId}/index`);
  });

  it('backup writes no index file and no recovery point through links planted as the index and points folders', async () => {
    const { fx, serverId, ns, src } = await backedUp();
    const index = canary([]);
    const points = canary([]);
    plantLink(join(ns, 'index'), index.dir);
    plantLink(join(ns, 'points'), points.dir);
    writeFileSync(join(src, 'new.txt'), 'new data for a second backup');
    const run = await fx.az(['backup', src]);
    expect(index.contents()).toEqual([]);
    expect(points.contents()).toEqual([]);
    expectUnsafe(run, `servers/${serverId}/index`);
  });

  it.each([
    ['servers', ['backup']],
    ['certificates', ['points']],
    ['vault.json', ['points']],
  ])('refuses a link planted as the vault root entry %s, touching nothing behind it', async (entry, command) => {
    const { fx, src } = await backedUp();
    // The link leads to a full copy, so the engine would work on as if nothing had happened.
    const elsewhere = join(tempDir('azb-elsewhere-'), entry);
    cpSync(join(fx.vault, entry), elsewhere, { recursive: true, preserveTimestamps: true });
    plantLink(join(fx.vault, entry), elsewhere);
    const before = statSync(elsewhere).isDirectory() ? listTree(elsewhere) : [];
    const run = await fx.az(command[0] === 'backup' ? ['backup', src] : command);
    if (statSync(elsewhere).isDirectory()) expect(listTree(elsewhere)).toEqual(before);
    expectUnsafe(run, entry);
  });
});

/** Runs the engine like fx.az, but kills it after `ms` (a blocked engine must fail the test, not hang it). */
function azWithin(fx: VaultFixture, args: string[], ms: number): Promise<EngineRun & { timedOut: boolean }> {
  const child = spawn(ENGINE_PATH, [...args, '--json'], { env: { ...process.env, ...fx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, ms);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code: code ?? -1, stdout, stderr, events: timedOut ? [] : parseEvents(stdout), timedOut });
  }));
}

describe('a folder vault with special files planted in it', () => {
  it('refuses a FIFO planted as vault.json at once instead of blocking on it', async () => {
    const { fx } = await backedUp();
    rmSync(join(fx.vault, 'vault.json'));
    expect(spawnSync('mkfifo', [join(fx.vault, 'vault.json')]).status).toBe(0);
    const started = Date.now();
    const run = await azWithin(fx, ['points'], 10_000);
    expect(run.timedOut, 'the engine blocked on the FIFO').toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
    expectUnsafe(run, 'vault.json');
  }, 30_000);
});

/** Every folder and file under `dir` with its permission bits, as "relative/path 700". */
function modesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(`${r} ${(statSync(p).mode & 0o777).toString(8)}`);
      if (e.isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out;
}

describe('a new folder vault', () => {
  it('is private to its owner after vault create, register and backup, whatever the umask', async () => {
    // umask 0: modes must come from the engine itself, not from a umask that happens to be strict.
    const umask = process.umask(0);
    try {
      const { fx } = await backedUp();
      expect((statSync(fx.vault).mode & 0o777).toString(8)).toBe('700');
      const modes = modesUnder(fx.vault);
      expect(modes.filter((m) => /^servers\/[0-9a-f]+\/keys\/[0-9a-f]+ /.test(m))).toHaveLength(1);
      const loose = modes.filter((m) => {
        const isDir = statSync(join(fx.vault, m.slice(0, m.lastIndexOf(' ')))).isDirectory();
        return !m.endsWith(isDir ? ' 700' : ' 600');
      });
      expect(loose).toEqual([]);
      // Another local account can read nothing of it, not even the key files.
      const keysDir = join(fx.vault, 'servers', readdirSync(join(fx.vault, 'servers'))[0]!, 'keys');
      const keyFile = join(keysDir, readdirSync(keysDir)[0]!);
      const attacker = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'cat', keyFile], { encoding: 'utf8' });
      expect(attacker.status).not.toBe(0);
      expect(attacker.stdout).toBe('');
    } finally {
      process.umask(umask);
    }
    expect(existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv')).toBe(true);
  });
});
