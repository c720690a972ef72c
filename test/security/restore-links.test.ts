// Restore as root must never write or set metadata through a symbolic link that someone else put in
// its way: not at the target path, not in the parent path of the original location, and not in place
// of a folder that restore created or walked (a local user swapping folders for links while it runs).
// The attacker is the unprivileged user `nobody`.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { restoreHere } from '../helpers/restore-here.js';

const NOBODY = 65534;
const NOGROUP = 65534;
const asRoot = process.platform === 'linux' && process.getuid?.() === 0;

/** A folder outside every restore: its names, modes, owners and times must never change. */
function makeCanary(root: string): { path: string; snapshot: () => string[] } {
  const path = join(root, 'canary');
  mkdirSync(path);
  writeFileSync(join(path, 'keep.txt'), 'canary\n');
  chmodSync(join(path, 'keep.txt'), 0o640);
  chmodSync(path, 0o751);
  const old = new Date('2001-02-03T04:05:06Z');
  utimesSync(join(path, 'keep.txt'), old, old);
  utimesSync(path, old, old);
  const snapshot = () => [path, ...readdirSync(path).map((n) => join(path, n))].map((p) => {
    const s = lstatSync(p);
    return `${p} mode=${(s.mode & 0o7777).toString(8)} uid=${s.uid} gid=${s.gid} mtime=${s.mtimeMs} size=${s.size}`;
  });
  return { path, snapshot };
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const n of readdirSync(path)) chownTree(join(path, n), uid, gid);
}

describe.runIf(asRoot)('restore against links swapped in by a local user', () => {
  it('refuses a target that is a symbolic link (AZB_RESTORE_TARGET_LINK), and writes nothing through it', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    const canary = makeCanary(fx.root);
    const before = canary.snapshot();
    const target = join(fx.root, 'target');
    symlinkSync(canary.path, target);
    const err = onlyError(await fx.az(['restore', 'latest', '--target', target]));
    expect(err.code).toBe('AZB_RESTORE_TARGET_LINK');
    expect(err.target).toBe(target);
    expect(canary.snapshot()).toEqual(before);
  });

  it('does not follow a link that a user put in the parent path of the original location', async () => {
    const fx = await registeredServer();
    chmodSync(fx.root, 0o755);
    // A home-like folder owned by the user; the item restored is home/docs/a.txt.
    const home = join(fx.root, 'alice');
    mkdirSync(join(home, 'docs'), { recursive: true });
    writeFileSync(join(home, 'docs', 'a.txt'), 'from the backup\n');
    chownTree(home, NOBODY, NOGROUP);
    expect((await fx.az(['backup', home])).code).toBe(0);
    const canary = makeCanary(fx.root);
    const before = canary.snapshot();
    // The user replaces docs with a link to a folder they cannot write.
    renameSync(join(home, 'docs'), join(home, 'docs.old'));
    const planted = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'ln', '-s', canary.path, join(home, 'docs')]);
    expect(planted.status, planted.stderr.toString()).toBe(0);
    const r = await fx.az(['restore', 'latest', join(home, 'docs', 'a.txt'), '--conflict', 'Overwrite']);
    expect(r.code).not.toBe(0);
    expect(canary.snapshot()).toEqual(before);
    expect(existsSync(join(canary.path, 'a.txt'))).toBe(false);
  });

  it('follows a link on the path to the original location or the target only when only root could have placed it', async () => {
    const fx = await registeredServer();
    // Like /lib → usr/lib: a relative link, owned by root, in a folder only root can write.
    mkdirSync(join(fx.root, 'real', 'src'), { recursive: true });
    symlinkSync('real', join(fx.root, 'linked'));
    const src = join(fx.root, 'linked', 'src');
    writeFileSync(join(src, 'a.txt'), 'a\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    rmSync(join(fx.root, 'real', 'src', 'a.txt'));
    const r = await fx.az(['restore', 'latest', join(src, 'a.txt')]);
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'real', 'src', 'a.txt'), 'utf8')).toBe('a\n');
    const t = await fx.az(['restore', 'latest', '--target', join(fx.root, 'linked', 't')]);
    expect(t.code, t.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'real', 't', src, 'a.txt'), 'utf8')).toBe('a\n');
    // The same link owned by another user is not followed.
    lchownSync(join(fx.root, 'linked'), NOBODY, NOGROUP);
    rmSync(join(fx.root, 'real', 'src', 'a.txt'));
    const refused = await fx.az(['restore', 'latest', join(src, 'a.txt')]);
    expect(refused.code, refused.stdout).toBe(3);
    expect(refused.events.filter((e) => e.type === 'warning').map((e) => [e.code, e.target])).toEqual([['AZB_RESTORE_UNSAFE_ENTRY', join(fx.root, 'linked')]]);
    expect(existsSync(join(fx.root, 'real', 'src', 'a.txt'))).toBe(false);
    expect(onlyError(await fx.az(['restore', 'latest', '--target', join(fx.root, 'linked', 't2')])).code).toBe('AZB_RESTORE_TARGET_LINK');
    expect(existsSync(join(fx.root, 'real', 't2'))).toBe(false);
  });

  it('sets the metadata of the folder it created, not of a link swapped in for it before the metadata pass', async () => {
    const fx = await registeredServer();
    chmodSync(fx.root, 0o755);
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'd', 'f.txt'), 'f\n');
    chmodSync(join(src, 'd'), 0o700);
    utimesSync(join(src, 'd'), new Date('2010-01-01Z'), new Date('2010-01-01Z'));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const canary = makeCanary(fx.root);
    const before = canary.snapshot();
    // The target belongs to the user, who swaps the restored folder d for a link to the canary once
    // the files are in (the hook stands for the moment a racing attacker wins).
    const target = join(fx.root, 'target');
    mkdirSync(target);
    chownSync(target, NOBODY, NOGROUP);
    const restoredD = join(target, src, 'd');
    const r = await restoreHere(fx, {
      target, conflict: 'Overwrite',
      beforeFolderMetadata: async () => {
        renameSync(restoredD, `${restoredD}.moved`);
        symlinkSync(canary.path, restoredD);
      },
    }).catch((err: Error) => ({ error: err }));
    expect(canary.snapshot()).toEqual(before);
    // The folder restore made (now under another name) got its metadata.
    expect('stats' in r).toBe(true);
    expect(statSync(`${restoredD}.moved`).mode & 0o7777).toBe(0o700);
    expect(statSync(`${restoredD}.moved`).mtime.getUTCFullYear()).toBe(2010);
  });

  it('writes nothing outside the tree while a user swaps its folders for links during an in-place restore', async () => {
    const fx = await registeredServer();
    chmodSync(fx.root, 0o755);
    // A home-like tree owned by the user: 30 folders of 20 files, each with a sub-folder.
    const home = join(fx.root, 'alice');
    mkdirSync(home);
    for (let d = 0; d < 30; d++) {
      const dir = join(home, `d${d}`);
      mkdirSync(join(dir, 'sub'), { recursive: true });
      for (let f = 0; f < 20; f++) writeFileSync(join(dir, `f${f}.txt`), `${d}/${f}\n`);
      writeFileSync(join(dir, 'sub', 'x.txt'), 'x\n');
      chmodSync(dir, 0o700);
    }
    chownTree(home, NOBODY, NOGROUP);
    expect((await fx.az(['backup', home])).code).toBe(0);
    const canary = makeCanary(fx.root);
    const before = canary.snapshot();
    const topBefore = readdirSync(fx.root).sort();

    // The attacker: swaps every folder of the tree for a link to the canary and back, over and over.
    const script = join(fx.root, 'attacker.cjs');
    writeFileSync(script, `
      const fs = require('fs'), path = require('path');
      const [home, canary, stopFile] = process.argv.slice(2);
      const dirs = [];
      for (const d of fs.readdirSync(home)) { dirs.push(path.join(home, d)); dirs.push(path.join(home, d, 'sub')); }
      const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      let rounds = 0;
      while (!fs.existsSync(stopFile)) {
        for (const d of dirs) { try { fs.renameSync(d, d + '.real'); fs.symlinkSync(canary, d); } catch {} }
        sleep(2);
        for (const d of dirs) { try { fs.unlinkSync(d); fs.renameSync(d + '.real', d); } catch {} }
        sleep(1);
        rounds++;
      }
      console.log(rounds);
    `);
    chmodSync(script, 0o644);
    const stopFile = join(fx.root, 'stop-attacker');
    const attacker = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, script, home, canary.path, stopFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rounds = '';
    attacker.stdout.on('data', (d: Buffer) => { rounds += d.toString(); });
    const attackerDone = new Promise<void>((resolve) => attacker.on('close', () => resolve()));
    const runs = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // under way before the restore starts
      for (const conflict of ['Overwrite', 'CreateCopy']) runs.push(await fx.az(['restore', 'latest', '--conflict', conflict]));
    } finally {
      writeFileSync(stopFile, '');
      await attackerDone;
    }
    expect(Number(rounds)).toBeGreaterThan(5);
    expect(canary.snapshot()).toEqual(before);
    expect(readdirSync(fx.root).sort()).toEqual([...topBefore, 'attacker.cjs', 'stop-attacker'].sort());
    for (const r of runs) {
      // Per-item refusals are warnings; the restore itself runs to its end.
      expect([0, 3], r.stdout).toContain(r.code);
      resultOf(r, 'RestoreResult');
    }
  }, 120_000);
});
