// Folder handles: names are reached inside the opened folder, never through a link, and a folder whose
// handle was closed (more than the kept number) is reopened only if it is still the same folder.
import { existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { BY_HANDLE, DirChangedError, DirHandles, type DirHandle } from '../../core/restore/dir-handle.js';

describe.runIf(BY_HANDLE)('folder handles', () => {
  it('reach names in the folder opened even after it was renamed and a link put in its place', () => {
    const root = tempDir();
    const outside = join(root, 'outside');
    mkdirSync(outside);
    const table = new DirHandles();
    try {
      let cur: DirHandle = table.systemRoot();
      for (const c of root.split('/').filter(Boolean)) {
        const at = cur;
        cur = at.use(() => at.child(Buffer.from(c), { create: false, pinned: true }))!.dir;
      }
      const base = cur;
      const made = base.use(() => base.child(Buffer.from('made'), { create: true }))!;
      expect(made.created).toBe(true);
      made.dir.acquire();
      renameSync(join(root, 'made'), join(root, 'moved'));
      symlinkSync(outside, join(root, 'made'));
      writeFileSync(made.dir.at(Buffer.from('f.txt')), 'x');
      made.dir.release();
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync(join(root, 'moved', 'f.txt'))).toBe(true);
      // A link where a folder should be is not entered, nor created through.
      expect(base.use(() => base.child(Buffer.from('made'), { create: true }))).toBeUndefined();
    } finally {
      table.closeAll();
    }
  });

  it('reopens closed handles by name, and refuses a folder that was replaced meanwhile', () => {
    const root = tempDir();
    const table = new DirHandles();
    try {
      let base: DirHandle = table.systemRoot();
      for (const c of root.split('/').filter(Boolean)) {
        const at = base;
        base = at.use(() => at.child(Buffer.from(c), { create: false, pinned: true }))!.dir;
      }
      const top = base;
      const folders = Array.from({ length: 300 }, (_, i) => top.use(() => top.child(Buffer.from(`d${i}`), { create: true }))!.dir);
      // The first ones' handles were closed (only 256 unused ones stay open); they reopen as the same folders.
      folders[0]!.use(() => writeFileSync(folders[0]!.at(Buffer.from('a')), 'a'));
      expect(existsSync(join(root, 'd0', 'a'))).toBe(true);
      // Replaced by another folder, or by a link, while its handle was closed: refused.
      for (let i = 1; i < 20; i++) folders[i]!.use(() => undefined); // keep d0 … d19 recently used
      for (let i = 20; i < 300; i++) folders[i]!.use(() => undefined); // …then close them again
      renameSync(join(root, 'd1'), join(root, 'd1.old'));
      mkdirSync(join(root, 'd1'));
      renameSync(join(root, 'd2'), join(root, 'd2.old'));
      symlinkSync(join(root, 'd2.old'), join(root, 'd2'));
      expect(() => folders[1]!.acquire()).toThrow(DirChangedError);
      expect(() => folders[2]!.acquire()).toThrow(DirChangedError);
    } finally {
      table.closeAll();
    }
  });
});
