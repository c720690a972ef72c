// The free-space check before a restore writes (#12 item 5), through the built engine, with small real
// tmpfs mounts as restore targets (the tests run as root): refused with AZB_RESTORE_NO_SPACE before
// anything is written; with --ignore-free-space it goes on and fails honestly when the space runs out,
// leaving only complete, verified files; files already there unchanged, and holes of sparse files, do not count.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';

const MiB = 1024 * 1024;

/** A tmpfs of `size` mounted at a new folder `dir`, unmounted when the test ends (before its folder is removed). */
function tinyMount(dir: string, size: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'azb-space', dir]);
  onTestFinished(() => { execFileSync('umount', [dir]); });
  return dir;
}

/** Every file below `dir`, relative, sorted. */
function filesBelow(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesBelow(p, base, out); else out.push(relative(base, p));
  }
  return out.sort();
}

describe('restore free-space check', () => {
  it('refuses a restore that does not fit, writing nothing; with --ignore-free-space it runs until the space ends and leaves no partial file', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(join(src, 'small'), { recursive: true });
    const small = Array.from({ length: 4 }, (_, i) => ({ name: `small/s${i}.bin`, data: randomBytes(100 * 1024) }));
    for (const f of small) writeFileSync(join(src, f.name), f.data);
    const big = randomBytes(3 * MiB); // incompressible: the vault cannot make it smaller
    writeFileSync(join(src, 'big.bin'), big);
    const b = await fx.az(['backup', src]);
    expect(b.code, b.stdout).toBe(0);

    const mnt = tinyMount(join(fx.root, 'tiny'), '2m');
    const target = join(mnt, 'restore');
    const refused = await fx.az(['restore', 'latest', '--target', target]);
    const err = onlyError(refused);
    expect(err.code).toBe('AZB_RESTORE_NO_SPACE');
    expect(err.message).toMatch(/need 3\.\d MiB on the file system of .*tiny, which has (1\.\d|2\.0) MiB free/);
    expect(err.hint).toContain('--ignore-free-space');
    expect(err.hint).toContain('-Force');
    expect(refused.code).toBe(1);
    expect(readdirSync(mnt)).toEqual([]); // not even the target folder

    // Restoring fewer items fits, without the flag.
    const fits = await fx.az(['restore', 'latest', join(src, 'small'), '--target', target]);
    expect(fits.code, fits.stdout).toBe(0);
    expect(resultOf(fits, 'RestoreResult')).toMatchObject({ files: 4, verified: 4 });

    // Past the check, the big file cannot fit: the restore fails with the same code, naming the file that
    // met the end of the space (the big one, or a small one written beside it).
    const forced = await fx.az(['restore', 'latest', '--target', join(mnt, 'forced'), '--ignore-free-space']);
    const ran = onlyError(forced);
    expect(ran.code).toBe('AZB_RESTORE_NO_SPACE');
    expect(ran.message).toMatch(/ran out of space \(ENOSPC\) while writing .*tiny\/forced\/.*\.bin; that file was not restored/);
    // No temp file and no partial file is left: every file there is complete, with its backed-up bytes.
    const left = filesBelow(join(mnt, 'forced'));
    expect(left.filter((f) => f.includes('.azb-restore-'))).toEqual([]);
    expect(left.some((f) => f.endsWith('big.bin'))).toBe(false);
    for (const f of left) {
      const original = small.find((s) => f.endsWith(s.name));
      expect(original, f).toBeDefined();
      expect(readFileSync(join(mnt, 'forced', f)).equals(original!.data)).toBe(true);
    }
  });

  it('does not count files already there unchanged (a second restore into the same folder fits)', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    for (let i = 0; i < 3; i++) writeFileSync(join(src, `f${i}.bin`), randomBytes(400 * 1024));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const mnt = tinyMount(join(fx.root, 'tiny'), '2m');
    const first = await fx.az(['restore', 'latest', '--target', mnt]);
    expect(resultOf(first, 'RestoreResult')).toMatchObject({ files: 3 });
    // 1.2 MiB restored of 2 MiB: restoring it all again would not fit, but every file is there unchanged.
    const again = await fx.az(['restore', 'latest', '--target', mnt]);
    expect(again.code, again.stdout).toBe(0);
    expect(resultOf(again, 'RestoreResult')).toMatchObject({ files: 0, unchanged: 3, copies: 0 });
    // Overwrite writes them all again (each beside the old one until it takes its name): refused.
    expect(onlyError(await fx.az(['restore', 'latest', '--target', mnt, '--conflict', 'Overwrite'])).code).toBe('AZB_RESTORE_NO_SPACE');
  });

  it('counts the data of a sparse file, not its holes', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const sparse = join(src, 'disk.img');
    const fd = openSync(sparse, 'w');
    const data = randomBytes(64 * 1024);
    writeSync(fd, data, 0, data.length, 60 * MiB);
    closeSync(fd);
    expect(statSync(sparse).blocks * 512).toBeLessThan(MiB); // the source file system keeps the holes
    expect((await fx.az(['backup', src])).code).toBe(0);
    // 64 MiB long, one chunk of data: fits in 12 MiB.
    const mnt = tinyMount(join(fx.root, 'tiny'), '12m');
    const r = await fx.az(['restore', 'latest', '--target', mnt]);
    expect(r.code, r.stdout).toBe(0);
    const restored = join(mnt, relative('/', sparse));
    expect(statSync(restored).size).toBe(60 * MiB + data.length);
    expect(readFileSync(restored).subarray(60 * MiB).equals(data)).toBe(true);
  });
});
