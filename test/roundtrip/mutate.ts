// Changes between two backups of a chain. A mutation names its target by index into what the tree holds
// now (sorted by path, modulo the count), so every mutation applies to any tree, shrunk or not.
import { closeSync, fstatSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { createFile, writeContent } from './content.js';
import { linkTargetBytes, setTimeNs, timeNs, uniqueName, type MutationSpec } from './gen.js';
import { displayPath, joinBytes, pathBytes } from './manifest.js';
import { chmodSync } from 'node:fs';

interface Entry { path: Buffer; rel: string; type: 'file' | 'dir' | 'symlink' | 'other' }

/** What the tree holds now, sorted by path; the root is not in it. */
function listEntries(root: Buffer): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: Buffer, rel: string) => {
    for (const name of (readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const path = joinBytes(dir, name);
      const shown = rel === '' ? displayPath(name) : `${rel}/${displayPath(name)}`;
      const st = lstatSync(path);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      out.push({ path, rel: shown, type });
      if (type === 'dir') walk(path, shown);
    }
  };
  walk(root, '');
  return out;
}

/** State a chain keeps between its mutations: folders that were files, and the step that made them (to turn them back into files at a later step). */
export interface ChainState { step: number; wereFiles: { path: Buffer; step: number }[] }

/** What a mutation that found nothing to apply to says. */
export function nothing(op: string, why: string): string {
  return `(nothing to do) ${op}: ${why}`;
}

function pick<T>(list: T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

function writeAll(fd: number, buf: Uint8Array, position: number): void {
  for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

/**
 * Applies one mutation to the tree at `root`; returns what it did (for the log and failure reports),
 * or a note that it had nothing to apply to.
 */
export function applyMutation(root: string, m: MutationSpec, state: ChainState): string {
  const rootBytes = Buffer.from(root);
  const all = listEntries(rootBytes);
  const files = all.filter((e) => e.type === 'file');
  const dirs = all.filter((e) => e.type === 'dir');
  const folders = [{ path: rootBytes, rel: '', type: 'dir' as const }, ...dirs];
  const used = new Map<string, Set<string>>();
  const freshName = (dir: Buffer, name: Buffer) => {
    const taken = new Set((readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('latin1')));
    used.set(dir.toString('latin1'), taken);
    return uniqueName(used, dir, name);
  };
  switch (m.op) {
    case 'append': {
      const f = pick(files, m.file);
      if (!f) return nothing('append', 'no file');
      const fd = openSync(f.path, 'r+');
      try {
        const size = fstatSync(fd).size;
        if (m.kind === 'sparse') {
          ftruncateSync(fd, size + m.bytes);
          writeContent(fd, 'text', m.seed, size + m.bytes, size + m.bytes - Math.min(m.bytes, 100), Math.min(m.bytes, 100));
        } else {
          writeContent(fd, m.kind, m.seed, size + m.bytes, size, m.bytes);
        }
        return `append ${m.bytes} B of ${m.kind} to ${f.rel} (was ${size} B)`;
      } finally { closeSync(fd); }
    }
    case 'truncate': {
      const f = pick(files, m.file);
      if (!f) return nothing('truncate', 'no file');
      const size = lstatSync(f.path).size;
      const to = Math.floor((size * m.permille) / 1000) + m.grow;
      const fd = openSync(f.path, 'r+');
      try { ftruncateSync(fd, to); } finally { closeSync(fd); }
      return `truncate ${f.rel} from ${size} to ${to} B`;
    }
    case 'overwrite': {
      const f = pick(files, m.file);
      if (!f) return nothing('overwrite', 'no file');
      const size = lstatSync(f.path).size;
      const at = Math.floor((size * m.permille) / 1000);
      const n = Math.min(m.bytes, size - at);
      if (n <= 0) return nothing('overwrite', `${f.rel} is empty`);
      const fd = openSync(f.path, 'r+');
      try { writeContent(fd, m.kind === 'sparse' ? 'random' : m.kind, m.seed, size, at, n); } finally { closeSync(fd); }
      return `overwrite ${n} B at ${at} of ${f.rel} (${size} B) with ${m.kind}`;
    }
    case 'sameSizeOldMtime': {
      // A non-empty file whose mtime utimes() can put back exactly (the kernel's clock gives times it may not reach).
      const nonEmpty = files.filter((e) => lstatSync(e.path).size > 0);
      let f: Entry | undefined;
      for (let k = 0; k < nonEmpty.length && !f; k++) {
        const c = nonEmpty[(m.file + k) % nonEmpty.length]!;
        if (setTimeNs(c.path, lstatSync(c.path, { bigint: true }).mtimeNs)) f = c;
      }
      if (!f) return nothing('same-size change', 'no non-empty file with a time utimes() can set back');
      const before = lstatSync(f.path, { bigint: true });
      const size = Number(before.size);
      const at = Math.floor((size * m.permille) / 1000);
      const n = Math.min(m.bytes, size - at);
      // Every byte flipped: certainly different content.
      const buf = Buffer.alloc(n);
      const fd = openSync(f.path, 'r+');
      try {
        for (let done = 0; done < n;) { const r = readSync(fd, buf, done, n - done, at + done); if (r === 0) break; done += r; }
        for (let i = 0; i < n; i++) buf[i] = buf[i]! ^ 0xff;
        writeAll(fd, buf, at);
      } finally { closeSync(fd); }
      const exact = setTimeNs(f.path, before.mtimeNs);
      const after = lstatSync(f.path, { bigint: true });
      return `same-size change of ${n} B at ${at} in ${f.rel} (${size} B), mtime put back to ${before.mtimeNs}${exact ? '' : ` (not exactly: ${after.mtimeNs})`}, ctime ${before.ctimeNs} → ${after.ctimeNs}, inode ${after.ino === before.ino ? 'same' : 'changed'}`;
    }
    case 'fileToDir': {
      const f = pick(files, m.file);
      if (!f) return nothing('file to folder', 'no file');
      unlinkSync(f.path);
      mkdirSync(f.path);
      createFile(joinBytes(f.path, Buffer.from('was-a-file.txt')), 'text', 7, 321);
      state.wereFiles.push({ path: f.path, step: state.step });
      return `file ${f.rel} replaced by a folder`;
    }
    case 'dirToFile': {
      // A folder that was a file at an earlier backup becomes a file again; else any folder.
      let d: Entry | undefined;
      const back = state.wereFiles.find((w) => w.step < state.step && dirs.some((e) => e.path.equals(w.path)));
      if (back) {
        state.wereFiles = state.wereFiles.filter((w) => w !== back);
        d = dirs.find((e) => e.path.equals(back.path));
      }
      d ??= pick(dirs, m.dir);
      if (!d) return nothing('folder to file', 'no folder');
      rmSync(d.path, { recursive: true });
      createFile(d.path, m.kind, m.seed, m.size);
      return `folder ${d.rel} replaced by a file of ${m.size} B of ${m.kind}`;
    }
    case 'rename': {
      const e = pick(all, m.entry);
      if (!e) return nothing('rename', 'empty tree');
      const into = folders.filter((d) => !(e.type === 'dir' && (d.path.equals(e.path) || d.rel.startsWith(e.rel + '/'))));
      const dir = pick(into, m.dir)!;
      const to = joinBytes(dir.path, freshName(dir.path, pathBytes(m.name)));
      renameSync(e.path, to);
      state.wereFiles = state.wereFiles.filter((w) => !w.path.equals(e.path));
      return `rename ${e.type} ${e.rel} → ${displayPath(to.subarray(rootBytes.length + 1))}`;
    }
    case 'delete': {
      const e = pick(all, m.entry);
      if (!e) return nothing('delete', 'empty tree');
      rmSync(e.path, { recursive: true });
      return `delete ${e.type} ${e.rel}`;
    }
    case 'create': {
      const dir = pick(folders, m.file.dir)!;
      const path = joinBytes(dir.path, freshName(dir.path, pathBytes(m.file.name)));
      createFile(path, m.file.kind, m.file.seed, m.file.size);
      chmodSync(path, m.file.mode);
      if (m.file.mtime) setTimeNs(path, timeNs(m.file.mtime));
      return `create ${displayPath(path.subarray(rootBytes.length + 1))} (${m.file.size} B of ${m.file.kind})`;
    }
    case 'touch': {
      const e = pick([...folders, ...all.filter((x) => x.type !== 'dir')], m.entry)!;
      const exact = setTimeNs(e.path, timeNs(m.mtime), e.type === 'symlink');
      return `set mtime of ${e.type} ${e.rel || '(root)'} to ${timeNs(m.mtime)} ns${exact ? '' : ' (not exactly)'}`;
    }
    case 'chmod': {
      const e = pick(all.filter((x) => x.type !== 'symlink'), m.entry);
      if (!e) return nothing('chmod', 'no file or folder');
      chmodSync(e.path, m.mode);
      return `chmod ${e.rel} ${m.mode.toString(8)}`;
    }
    case 'hardlink': {
      const f = pick(files, m.file);
      if (!f) return nothing('hard link', 'no file');
      const dir = pick(folders, m.dir)!;
      const to = joinBytes(dir.path, freshName(dir.path, pathBytes(m.name)));
      linkSync(f.path, to);
      return `hard link ${displayPath(to.subarray(rootBytes.length + 1))} → ${f.rel}`;
    }
    case 'swap': {
      const a = pick(files, m.a);
      const b = pick(files, m.b);
      if (!a || !b || a.path.equals(b.path)) return nothing('swap', 'fewer than two files');
      const tmp = joinBytes(a.path.subarray(0, a.path.lastIndexOf(0x2f)), Buffer.from(`.swap-${process.pid}`));
      renameSync(a.path, tmp);
      renameSync(b.path, a.path);
      renameSync(tmp, b.path);
      return `swap names of ${a.rel} and ${b.rel}`;
    }
    case 'retarget': {
      const links = all.filter((x) => x.type === 'symlink');
      const l = pick(links, m.link);
      if (!l) return nothing('retarget', 'no link');
      const before = readlinkSync(l.path, { encoding: 'buffer' });
      unlinkSync(l.path);
      const dir = l.path.subarray(0, l.path.lastIndexOf(0x2f));
      const target = linkTargetBytes(m.target, dir, all.filter((x) => x.type !== 'symlink').map((x) => x.path));
      symlinkSync(target, l.path);
      return `link ${l.rel}: ${displayPath(before)} → ${displayPath(target)}`;
    }
  }
}
