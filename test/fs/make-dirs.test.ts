// makeDirs (core/fs/make-dirs.ts): like mkdir -p, but it ends on pseudo file systems where Node's
// recursive mkdir retries forever.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs, makeDirsSync } from '../../core/fs/make-dirs.js';
import { tempDir } from '../helpers/tmp.js';

describe.each([['makeDirs', makeDirs], ['makeDirsSync', async (p: string, m?: number) => makeDirsSync(p, m)]] as const)('%s', (_name, make) => {
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
