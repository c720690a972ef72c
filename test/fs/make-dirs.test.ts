// makeDirs (core/fs/make-dirs.ts): like mkdir -p, but it ends on pseudo file systems where Node's
// recursive mkdir retries forever.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs, makeDirsSync } from '../../core/fs/make-dirs.js';
import { tempDir } from '../helpers/tmp.js';

describe.each([['makeDirs', makeDirs], ['makeDirsSync', async (p: string | Buffer, m?: number) => makeDirsSync(p, m)]] as const)('%s', (_name, make) => {
  it('creates missing parents with the mode, and accepts a folder that is there', async () => {
    const root = tempDir();
    const deep = join(root, 'a', 'b', 'c');
    await make(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    await make(deep, 0o700);
    mkdirSync(join(root, 'x'));
    await make(join(root, 'x'));
  });

  it('takes paths as bytes: folder names need not be UTF-8', async () => {
    const root = tempDir();
    const odd = Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9]), Buffer.from('/sub')]);
    await make(odd);
    expect(statSync(odd).isDirectory()).toBe(true);
    expect(readdirSync(Buffer.from(root), { encoding: 'buffer' }).map((n) => n.toString('hex'))).toEqual([Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('hex')]);
  });

  it('refuses a file in the way with EEXIST or ENOTDIR', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'f'), '');
    await expect(make(join(root, 'f'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(make(join(root, 'f', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('ends with ENOENT under /proc, where mkdir says ENOENT although the parent exists', async () => {
    await expect(make('/proc/azbackup-no-such-folder/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
