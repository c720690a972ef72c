// What a tree was at one moment, without copying its data: for every path (as bytes), its type, mode,
// owner, mtime, size, SHA-256 of the content, link target and inode (for hard-link groups). A restore is
// compared against the manifest taken when its recovery point was backed up.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { parseGetfattr } from '../../core/fs/xattr.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface EntryRecord {
  type: EntryType;
  /** Permission bits (mode & 0o7777); not compared for symbolic links. */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  sha256?: string;
  /** Link target bytes, shown as displayPath. */
  target?: string;
  /** Inode number: names with the same one form a hard-link group. */
  ino: bigint;
  nlink: number;
  /** user.* extended attributes, "name=base64" joined by ";" in name order; absent when none. */
  xattrs?: string;
}

/** Relative path (displayPath form, "" for the root) → record. */
export type Manifest = Map<string, EntryRecord>;

const SLASH = 0x2f;

/**
 * Readable, reversible form of a byte path: valid UTF-8 as it is, every other byte (and a backslash, and
 * control characters) as \xNN. pathBytes() turns it back.
 */
export function displayPath(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) { out += String.fromCharCode(b); i++; continue; }
    const len = b >= 0xf0 && b < 0xf5 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    if (len > 0 && i + len <= bytes.length) {
      const seq = Buffer.from(bytes.subarray(i, i + len));
      const text = seq.toString('utf8');
      if (!text.includes('\ufffd') && Buffer.from(text, 'utf8').equals(seq)) { out += text; i += len; continue; }
    }
    out += `\\x${b.toString(16).padStart(2, '0')}`;
    i++;
  }
  return out;
}

/** The bytes of a displayPath string. */
export function pathBytes(shown: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < shown.length;) {
    if (shown.startsWith('\\x', i)) { parts.push(Buffer.from([parseInt(shown.slice(i + 2, i + 4), 16)])); i += 4; continue; }
    const cp = shown.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    parts.push(Buffer.from(ch, 'utf8'));
    i += ch.length;
  }
  return Buffer.concat(parts);
}

export function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === SLASH ? Buffer.concat([dir, name]) : Buffer.concat([dir, Buffer.from('/'), name]);
}

/** SHA-256 of a file's content, read in 4 MiB pieces. */
export function sha256File(path: Buffer | string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function typeOf(st: BigIntStats): EntryType {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

function record(path: Buffer, st: BigIntStats, hashes: Map<string, string> | undefined): EntryRecord {
  const type = typeOf(st);
  const r: EntryRecord = { type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs, size: Number(st.size), ino: st.ino, nlink: Number(st.nlink) };
  if (type === 'file') {
    // ctime is in the key: no write leaves it as it was, and nothing can set it back.
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    r.sha256 = hashes?.get(key) ?? sha256File(path);
    hashes?.set(key, r.sha256);
  }
  if (type === 'symlink') r.target = displayPath(readlinkSync(path, { encoding: 'buffer' }));
  return r;
}

/**
 * The user.* extended attributes of every entry below `root` (one getfattr -R, links not followed):
 * relative displayPath → canonical string. The tree lives on /tmp, which supports them (ext4 here).
 */
export function userXattrs(root: Buffer): Map<string, string> {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '^user\\.', '-e', 'base64', '--absolute-names', '--', root.toString('utf8')], { maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`getfattr (Debian package attr, installed by tools/setup.sh) is needed to compare extended attributes: ${r.error.message}`);
  const out = new Map<string, string>();
  const prefix = root.toString('latin1');
  for (const [path, list] of parseGetfattr(r.stdout)) {
    if (list.length === 0) continue;
    const rel = path === prefix ? '' : path.startsWith(prefix + '/') ? displayPath(Buffer.from(path.slice(prefix.length + 1), 'latin1')) : undefined;
    if (rel !== undefined) out.set(rel, list.map((x) => `${x.name ?? x.nameB64}=${x.value}`).join(';'));
  }
  return out;
}

/**
 * The manifest of the tree at `root` (the root itself is the path ""). `hashes` keeps content hashes
 * from one manifest of a tree to the next, by inode, size, mtime and ctime.
 */
export function takeManifest(root: string | Buffer, o: { hashes?: Map<string, string> } = {}): Manifest {
  const m: Manifest = new Map();
  const hash = o.hashes;
  const rootBytes = Buffer.isBuffer(root) ? root : Buffer.from(root, 'utf8');
  const walk = (dir: Buffer, rel: string) => {
    for (const name of (readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const p = joinBytes(dir, name);
      const shown = rel === '' ? displayPath(name) : `${rel}/${displayPath(name)}`;
      const st = lstatSync(p, { bigint: true });
      m.set(shown, record(p, st, hash));
      if (st.isDirectory()) walk(p, shown);
    }
  };
  const st = lstatSync(rootBytes, { bigint: true });
  m.set('', record(rootBytes, st, hash));
  if (st.isDirectory()) walk(rootBytes, '');
  for (const [p, x] of userXattrs(rootBytes)) { const r = m.get(p); if (r) r.xattrs = x; }
  return m;
}

/** A manifest's entries under `item` (itself included). */
export function subtree(m: Manifest, item: string): Manifest {
  const out: Manifest = new Map();
  for (const [p, r] of m) if (item === '' || p === item || p.startsWith(item + '/')) out.set(p, r);
  return out;
}

/** mtimes are compared to this many ns: the engine keeps microseconds and sets them through utimes(), whose double seconds lose up to ~0.25 µs more. */
export const MTIME_TOLERANCE_NS = 2000n;

function showTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return `${new Date(ms).toISOString()} (${ns} ns)`;
}

/** What kind of difference: the report shows the worst kinds first. */
export type DifferenceKind = 'content' | 'missing' | 'type' | 'size' | 'hard link' | 'link target' | 'mode' | 'owner' | 'xattrs' | 'mtime before 1970' | 'mtime' | 'unexpected';
export const DIFFERENCE_ORDER: readonly DifferenceKind[] = ['content', 'size', 'missing', 'type', 'hard link', 'link target', 'mode', 'owner', 'xattrs', 'mtime before 1970', 'mtime', 'unexpected'];
export interface Difference { kind: DifferenceKind; text: string }

/**
 * Differences between what was expected and a restored tree. `expected` holds the entries that must be
 * there exactly; `allowed` are paths that may be there too (parent folders of restored items, created
 * without their metadata). Hard-link groups: two restored names share an inode exactly when their sources did.
 * `setuidCleared`: the restore ran without --preserve-setuid, so files must have lost setuid and setgid.
 */
export function compareTree(expected: Manifest, restoredRoot: string, o: { allowed?: Set<string>; owners?: boolean; setuidCleared?: boolean } = {}): Difference[] {
  const diffs: Difference[] = [];
  const add = (kind: DifferenceKind, where: string, what: string) => diffs.push({ kind, text: `${where}: ${what}` });
  let restored: Manifest;
  try {
    restored = takeManifest(restoredRoot);
  } catch (err) {
    return [{ kind: 'missing', text: `restored tree ${restoredRoot} cannot be read: ${(err as Error).message}` }];
  }
  const inodeOf = new Map<bigint, bigint>(); // source inode → restored inode
  const sourceOf = new Map<bigint, { ino: bigint; path: string }>(); // restored inode → source inode
  for (const [p, want] of expected) {
    const got = restored.get(p);
    const where = p === '' ? '(root)' : p;
    if (!got) { add('missing', where, `missing (a ${want.type} was backed up)`); continue; }
    if (got.type !== want.type) { add('type', where, `restored as a ${got.type}, backed up as a ${want.type}`); continue; }
    // Without --preserve-setuid, restored files lose their setuid and setgid bits (folders keep theirs).
    const mode = o.setuidCleared && want.type === 'file' ? want.mode & ~0o6000 : want.mode;
    if (want.type !== 'symlink' && got.mode !== mode) add('mode', where, `mode ${got.mode.toString(8)}, expected ${mode.toString(8)}${mode !== want.mode ? ` (backed up as ${want.mode.toString(8)}, setuid/setgid cleared)` : ''}`);
    if (got.xattrs !== want.xattrs) add('xattrs', where, `user.* attributes ${got.xattrs ?? '(none)'}, expected ${want.xattrs ?? '(none)'}`);
    if (o.owners && (got.uid !== want.uid || got.gid !== want.gid)) add('owner', where, `owner ${got.uid}:${got.gid}, expected ${want.uid}:${want.gid}`);
    const dt = got.mtimeNs - want.mtimeNs;
    if (dt > MTIME_TOLERANCE_NS || dt < -MTIME_TOLERANCE_NS) add(want.mtimeNs < 0n ? 'mtime before 1970' : 'mtime', where, `${want.type} mtime ${showTime(got.mtimeNs)}, expected ${showTime(want.mtimeNs)}`);
    if (want.type === 'file') {
      if (got.size !== want.size) add('size', where, `size ${got.size}, expected ${want.size}`);
      else if (got.sha256 !== want.sha256) add('content', where, `WRONG CONTENT, right size (${want.size} B): sha256 ${got.sha256!.slice(0, 16)}…, expected ${want.sha256!.slice(0, 16)}…`);
      const mapped = inodeOf.get(want.ino);
      if (mapped === undefined) inodeOf.set(want.ino, got.ino);
      else if (mapped !== got.ino) add('hard link', where, 'not hard-linked to the other names of its group');
      const src = sourceOf.get(got.ino);
      if (src === undefined) sourceOf.set(got.ino, { ino: want.ino, path: p });
      else if (src.ino !== want.ino) add('hard link', where, `hard-linked to ${src.path}, which was a different file`);
    }
    if (want.type === 'symlink' && got.target !== want.target) add('link target', where, `link target ${got.target}, expected ${want.target}`);
  }
  for (const [p, got] of restored) {
    if (expected.has(p)) continue;
    if (o.allowed?.has(p) && got.type === 'dir') continue;
    add('unexpected', p === '' ? '(root)' : p, `restored (${got.type}) but not expected`);
  }
  return diffs;
}

/** Differences, worst kinds first, at most `perKind` lines of each kind (and how many more there were). */
export function formatDifferences(diffs: Difference[], perKind = 8, indent = '      '): string {
  const lines: string[] = [];
  for (const kind of DIFFERENCE_ORDER) {
    const of = diffs.filter((d) => d.kind === kind);
    if (of.length === 0) continue;
    lines.push(`${indent}[${kind}] ${of.length} entr${of.length === 1 ? 'y' : 'ies'}:`);
    for (const d of of.slice(0, perKind)) lines.push(`${indent}  ${d.text}`);
    if (of.length > perKind) lines.push(`${indent}  … and ${of.length - perKind} more`);
  }
  return lines.join('\n');
}
