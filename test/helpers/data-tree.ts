// Source trees with every kind of entry a backup must keep, and a comparison that checks what a restore
// must bring back: content, type, mode, owner, times, link targets, hard links, holes, byte names.
import { createHash, randomBytes } from 'node:crypto';
import { truncateSync, chmodSync, chownSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, writeSync, lutimesSync } from 'node:fs';
import { join } from 'node:path';

const isRoot = process.getuid?.() === 0;

/** Fills `dir` with a varied tree; returns the raw (non-UTF-8) name used. */
export function makeDataTree(dir: string): { oddName: Buffer } {
  mkdirSync(join(dir, 'docs', 'deep', 'deeper'), { recursive: true });
  mkdirSync(join(dir, 'empty-dir'));
  writeFileSync(join(dir, 'docs', 'readme.txt'), 'hello world\n'.repeat(1000));
  writeFileSync(join(dir, 'docs', 'deep', 'deeper', 'random.bin'), randomBytes(3 * 1024 * 1024 + 17));
  writeFileSync(join(dir, 'empty.txt'), '');
  writeFileSync(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'script.sh'), 0o750);
  writeFileSync(join(dir, 'private.key'), 'secret-ish');
  chmodSync(join(dir, 'private.key'), 0o600);
  symlinkSync('docs/readme.txt', join(dir, 'link-relative'));
  symlinkSync('/nonexistent/target', join(dir, 'link-dangling'));
  writeFileSync(join(dir, 'hard-a.txt'), 'shared content of a hard link\n');
  linkSync(join(dir, 'hard-a.txt'), join(dir, 'docs', 'hard-b.txt'));
  // A 64 MiB sparse file with a little data in the middle.
  const fd = openSync(join(dir, 'sparse.img'), 'w');
  writeSync(fd, Buffer.from('data in the middle of a hole'), 0, 28, 32 * 1024 * 1024);
  closeSync(fd);
  truncateSync(join(dir, 'sparse.img'), 64 * 1024 * 1024);
  // A name that is not valid UTF-8 (Linux names are bytes).
  const oddName = Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]);
  const oddPath = Buffer.concat([Buffer.from(join(dir, 'docs') + '/'), oddName]);
  writeFileSync(oddPath, 'bytes in the name');
  if (isRoot) chownSync(join(dir, 'docs', 'readme.txt'), 1234, 5678);
  const past = new Date('2020-02-29T12:34:56.789Z');
  utimesSync(join(dir, 'docs', 'readme.txt'), past, past);
  lutimesSync(join(dir, 'link-relative'), past, past);
  utimesSync(join(dir, 'empty-dir'), past, past);
  return { oddName };
}

/** One line per entry: relative path (hex for byte names), type, mode, owner, mtime (ms), size, content hash or link target. */
export function describeTree(dir: string, o: { owners?: boolean } = {}): string[] {
  const out: string[] = [];
  const inodes = new Map<number, string>();
  const walk = (d: Buffer, rel: string) => {
    for (const name of (readdirSync(d, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const p = Buffer.concat([d, Buffer.from('/'), name]);
      const shown = rel + '/' + (Buffer.from(name.toString('utf8'), 'utf8').equals(name) ? name.toString('utf8') : `hex:${name.toString('hex')}`);
      const st = lstatSync(p);
      const owner = o.owners ? ` ${st.uid}:${st.gid}` : '';
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${shown} dir ${mode}${owner} ${Math.floor(st.mtimeMs)}`);
        walk(p, shown);
      } else if (st.isSymbolicLink()) {
        out.push(`${shown} symlink -> ${readlinkSync(p, { encoding: 'buffer' }).toString('hex')}${owner}`);
      } else {
        let hl = '';
        if (st.nlink > 1) { hl = ` link-group:${inodes.get(st.ino) ?? shown}`; if (!inodes.has(st.ino)) inodes.set(st.ino, shown); }
        out.push(`${shown} file ${mode}${owner} ${Math.floor(st.mtimeMs)} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}${hl}`);
      }
    }
  };
  walk(Buffer.from(dir), '');
  return out;
}
