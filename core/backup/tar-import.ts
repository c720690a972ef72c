// A tar stream (GNU or pax, as `tar -C / -cf - srv/data` writes it) as a second source of entries for
// the backup write path: each member becomes the same tree node a walk of the disk would give, its
// content going through the archiver's chunker, blob saver and digest (runBackup's contentOf). The
// stream is parsed by tar-stream; nothing of it touches the disk.
import { extract as tarExtract, type Header } from 'tar-stream';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import { nameFields, type TreeNode, type XattrEntry } from '../repo/tree.js';
import { XATTR_NODE_LIMIT, xattrBytes } from '../fs/xattr.js';
import { escapeSkipped, SKIP_CODES } from './skip-report.js';
import type { Skipped } from './scanner.js';

/** What the import needs of the write path (runBackup's own functions, so the path is not forked). */
export interface TarImportSink {
  /** Chunks, saves and hashes a file's bytes (runBackup's contentOf). */
  saveContent(source: AsyncIterable<Uint8Array>, shown: string): Promise<{ content: string[]; size: number; digest: string }>;
  /** FORMAT.md §9's invariant of a file node; undefined when it holds. */
  fileNodeFault(node: TreeNode): string | undefined;
  /** Saves one folder's nodes as a tree blob; its ID (hex). */
  saveTree(nodes: TreeNode[]): Promise<string>;
  /** A member left out (a device or FIFO): into the skipped-files report. */
  skipped(s: Skipped): void;
  sink: EventSink;
  signal: AbortSignal;
}

/** Counts of an import, for the point's stats. */
export interface TarImportResult { root: TreeNode; files: number; dirs: number; specials: number; madeDirs: number }

const BLOCK = 512;

/** A folder being assembled: its own node and its entries by name (latin1 of the name bytes). */
interface PendingDir { node: TreeNode; children: Map<string, TreeNode | PendingDir> }

const isDir = (x: TreeNode | PendingDir): x is PendingDir => 'children' in x;

const tarError = (code: 'AZB_TAR_INVALID' | 'AZB_TAR_TRUNCATED' | 'AZB_TAR_EMPTY' | 'AZB_TAR_UNSAFE_PATH' | 'AZB_TAR_OUTSIDE_ROOT' | 'AZB_TAR_UNSUPPORTED', message: string, target?: string, hint?: string) =>
  new AzbError(code, `${message} No recovery point was written.`, {
    ...(target !== undefined ? { target } : {}),
    hint: hint ?? 'Check the command that writes the stream (tar -C / -cf - PATH): it must finish, and write an uncompressed GNU or pax archive.',
  });

/**
 * The records of a pax extended header as raw bytes. tar-stream decodes values as UTF-8, which loses
 * names that are not (GNU tar writes them as they are, with hdrcharset=BINARY); these keep every byte.
 */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(buf.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > buf.length) {
      if (buf.subarray(at).every((b) => b === 0)) break; // padding
      throw tarError('AZB_TAR_INVALID', 'The tar stream has a malformed pax extended header.');
    }
    const record = buf.subarray(space + 1, at + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw tarError('AZB_TAR_INVALID', 'The tar stream has a malformed pax extended header.');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    at += len;
  }
  return out;
}

/** A pax time ("1700000000.123456789", maybe negative) as nanoseconds since the epoch, exactly. */
export function paxTimeNs(text: string): string | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[3] ?? '').slice(0, 9).padEnd(9, '0');
  const ns = BigInt(m[2]!) * 1_000_000_000n + BigInt(frac);
  return (m[1] === '-' ? -ns : ns).toString();
}

/** ROOT as its components; it must be an absolute POSIX path without `.` or `..`. */
export function rootComponents(root: string): Buffer[] {
  if (!root.startsWith('/')) {
    throw new AzbError('AZB_ARGS_INVALID', `The tar root '${root}' is not an absolute path.`, { target: 'fromTar', hint: 'Give the path the archive was made from on the member, e.g. /srv/data for tar -C / -cf - srv/data.' });
  }
  const parts = root.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new AzbError('AZB_ARGS_INVALID', `The tar root '${root}' has a '.' or '..' component.`, { target: 'fromTar', hint: 'Give the path in its plain form, e.g. /srv/data.' });
  }
  return parts.map((p) => Buffer.from(p, 'utf8'));
}

/** A member's path as components; throws for absolute names and `..` (a leading ./ and // are normal). */
function memberComponents(raw: Buffer, shown: string): Buffer[] {
  if (raw.length > 0 && raw[0] === 0x2f) {
    throw tarError('AZB_TAR_UNSAFE_PATH', `The tar stream has a member with an absolute name, ${shown}; members are placed by their relative path below /.`, shown, 'Make the archive with tar -C / PATH (relative names); GNU tar strips the leading / unless -P is given.');
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== 0x2f) continue;
    const part = raw.subarray(from, i);
    from = i + 1;
    if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
    if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
      throw tarError('AZB_TAR_UNSAFE_PATH', `The tar stream has a member whose name climbs with '..', ${shown}; it could be placed outside its root.`, shown);
    }
    parts.push(part);
  }
  return parts;
}

/** A base-256 (GNU) number field: two's complement, big-endian, the 0x80 flag bit dropped. */
export function base256(field: Buffer): bigint {
  let v = BigInt(field[0]! & 0x7f);
  if (field[0]! & 0x40) v -= 0x80n; // negative: the sign bit is the one below the flag
  for (let i = 1; i < field.length; i++) v = v * 256n + BigInt(field[i]!);
  return v;
}

/** A header's mtime in nanoseconds: the pax mtime (sub-second) when there is one. */
function mtimeNsOf(h: Header, pax: Map<string, Buffer> | undefined): string {
  const text = pax?.get('mtime')?.toString('latin1');
  const fromPax = text !== undefined ? paxTimeNs(text) : undefined;
  if (fromPax !== undefined) return fromPax;
  const fromBlock = (h as { mtimeNs?: string }).mtimeNs;
  return fromBlock ?? (BigInt(Math.round(h.mtime.getTime() / 1000)) * 1_000_000_000n).toString();
}

function paxNumber(pax: Map<string, Buffer> | undefined, key: string): number | undefined {
  const v = pax?.get(key)?.toString('latin1');
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** SCHILY.xattr.NAME records (GNU tar --xattrs, star) as the point's extended attributes. */
function xattrsOf(pax: Map<string, Buffer> | undefined): XattrEntry[] | undefined {
  if (!pax) return undefined;
  const out: XattrEntry[] = [];
  for (const [key, value] of pax) {
    if (!key.startsWith('SCHILY.xattr.')) continue;
    out.push({ ...nameFields(Buffer.from(key.slice('SCHILY.xattr.'.length), 'utf8')), value: value.toString('base64') });
  }
  return out.length > 0 ? out : undefined;
}

/** Reads and drops an entry's data (entries whose data is not kept). */
async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) { /* dropped */ }
}

/**
 * Imports a tar stream as the tree below `root` (members `srv/data/x` for root /srv/data). Refuses the
 * whole stream (no point) when a member lies outside the root, is absolute or climbs with `..`, when the
 * stream is corrupt or ends early, and for GNU sparse members (tar-stream does not expose their map).
 */
export async function importTar(source: AsyncIterable<Uint8Array>, root: string, io: TarImportSink): Promise<TarImportResult> {
  const rootParts = rootComponents(root);
  const rootPath = '/' + rootParts.map((p) => p.toString('utf8')).join('/');
  const memberBytes = (parts: Buffer[]) => Buffer.from('/' + parts.map((p) => p.toString('latin1')).join('/'), 'latin1');
  const showMember = (parts: Buffer[]) => escapeSkipped(memberBytes(parts));
  const nowNs = (BigInt(Date.now()) * 1_000_000n).toString();
  const madeDir = (name: Buffer): PendingDir => ({ node: { ...nameFields(name), type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: nowNs }, children: new Map() });
  const top: PendingDir = madeDir(Buffer.from(rootPath, 'utf8'));
  const fromArchive = new WeakSet<PendingDir>(); // folders that had a member of their own (the rest were made)
  // Files and symbolic links by their member path (latin1), for hard-link members; and the link keys given out.
  const filesByPath = new Map<string, TreeNode>();
  let linkKeys = 0;
  let files = 0;
  let specials = 0;

  // filenameEncoding (not in tar-stream's types): names of ustar and GNU headers as raw bytes, one per char.
  const ex = tarExtract({ filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
  // tar-stream decodes pax values as UTF-8; the raw records are kept beside them so that names that are
  // not UTF-8, and binary xattr values, keep every byte. tar-stream is pinned (package.json), and the
  // round-trip suite's non-UTF-8 pax names fail if this hook stops being called.
  const RAW = Symbol('raw pax records');
  const internals = ex as unknown as { _decodeLongHeader(buf: Buffer): void; _header: { type: string }; _pax: Record<string | symbol, unknown> | null };
  const decodeLongHeader = internals._decodeLongHeader.bind(ex);
  internals._decodeLongHeader = (buf: Buffer) => {
    decodeLongHeader(buf);
    if (internals._header.type === 'pax-header' && internals._pax) internals._pax[RAW] = parsePaxRecords(Buffer.from(buf));
  };

  // The header block of the member being read: its mtime field is read here (base-256 times before 1970,
  // which tar-stream 3.2.2 reads one second high, and -1 s as 0). Headers are taken with shift(512); the
  // member is locked until it is consumed, so the last such block is its header.
  const buffers = (ex as unknown as { _buffer: { shift(size: number): Buffer | null } })._buffer;
  const shift = buffers.shift.bind(buffers);
  let headerBlock: Buffer | null = null;
  buffers.shift = (size: number) => {
    const got = shift(size);
    if (size === BLOCK && got) headerBlock = got;
    return got;
  };

  let total = 0;
  let lastEnd = 0;
  let sourceError: unknown;
  const feeding = (async () => {
    try {
      for await (const piece of source) {
        total += piece.length;
        if (!ex.write(Buffer.from(piece.buffer, piece.byteOffset, piece.length))) {
          await new Promise<void>((resolve) => { ex.once('drain', resolve); ex.once('close', resolve); });
        }
        if (ex.destroyed) return;
      }
      (ex as unknown as { end(): void }).end();
    } catch (err) {
      sourceError = err;
      ex.destroy(err as Error);
    }
  })();

  // Where a member goes: its parent folder (made when the stream has none), or the root itself.
  function place(parts: Buffer[], shown: string): { parent: PendingDir; key: string; name: Buffer } | 'root' {
    const inRoot = parts.length >= rootParts.length && rootParts.every((p, i) => p.equals(parts[i]!));
    if (!inRoot) {
      throw tarError('AZB_TAR_OUTSIDE_ROOT', `The tar stream has a member outside ${rootPath}: ${shown}.`, shown,
        `Give as the root the path the archive was made from (tar -C / -cf - ${rootPath.slice(1)} for ${rootPath}), or archive only that path.`);
    }
    if (parts.length === rootParts.length) return 'root';
    let dir = top;
    for (let i = rootParts.length; i < parts.length - 1; i++) {
      const key = parts[i]!.toString('latin1');
      let next = dir.children.get(key);
      if (next === undefined || !isDir(next)) {
        // A folder the stream names only through its members (or a file a later member makes a folder).
        next = madeDir(parts[i]!);
        dir.children.set(key, next);
      }
      dir = next;
    }
    const name = parts[parts.length - 1]!;
    return { parent: dir, key: name.toString('latin1'), name };
  }

  const metaOf = (h: Header, pax: Map<string, Buffer> | undefined): Pick<TreeNode, 'mode' | 'mtimeNs' | 'uid' | 'gid' | 'xattrs'> => {
    const xattrs = xattrsOf(pax);
    if (xattrs && xattrBytes(xattrs) > XATTR_NODE_LIMIT) io.sink.warning('AZB_XATTR_TOO_LARGE', `A tar member's extended attributes hold more than the ${XATTR_NODE_LIMIT} bytes a recovery point keeps per entry; it is stored without them.`, h.name);
    return {
      mode: h.mode & 0o7777, mtimeNs: mtimeNsOf(h, pax),
      uid: paxNumber(pax, 'uid') ?? h.uid, gid: paxNumber(pax, 'gid') ?? h.gid,
      ...(xattrs && xattrBytes(xattrs) <= XATTR_NODE_LIMIT ? { xattrs } : {}),
    };
  };

  try {
    for await (const entry of ex) {
      if (io.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The backup was cancelled; no recovery point was written.', { hint: 'Run the backup again when ready.' });
      const h = entry.header as Header & { byteOffset: number; mtimeNs?: string };
      const block = headerBlock as Buffer | null;
      if (block && block[136]! & 0x80) h.mtimeNs = (base256(block.subarray(136, 148)) * 1_000_000_000n).toString();
      const paxText = (h.pax ?? undefined) as Record<string | symbol, unknown> | undefined;
      const pax = paxText?.[RAW] as Map<string, Buffer> | undefined;
      lastEnd = h.byteOffset + Math.ceil(h.size / BLOCK) * BLOCK;
      const rawName = pax?.get('path') ?? Buffer.from(h.name, 'latin1');
      const parts = memberComponents(rawName, escapeSkipped(rawName));
      const shown = showMember(parts);
      if (h.type === null || pax !== undefined && [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
        throw tarError('AZB_TAR_UNSUPPORTED', `The tar stream has a member this import cannot read, ${shown}: a GNU sparse file (tar -S / --sparse), or a multi-volume, incremental or other vendor member.`, shown,
          'Make the archive without --sparse (sparse files are then read as full files), and without --incremental or --multi-volume.');
      }
      const where = place(parts, shown);
      const put = (node: TreeNode | PendingDir) => {
        if (where === 'root') {
          if (!isDir(node)) throw tarError('AZB_TAR_INVALID', `The tar stream's member for the root ${rootPath} is not a folder.`, rootPath, 'Archive a folder: tar -C / -cf - srv/data.');
          top.node = { ...node.node, ...nameFields(Buffer.from(rootPath, 'utf8')) };
          fromArchive.add(top);
          return;
        }
        const before = where.parent.children.get(where.key);
        // A folder named again (tar -r, or listed twice) keeps its entries; any other repeat replaces (as tar -x does).
        if (before !== undefined && isDir(before) && isDir(node)) { before.node = node.node; fromArchive.add(before); return; }
        where.parent.children.set(where.key, node);
        if (isDir(node)) fromArchive.add(node);
      };
      const name = where === 'root' ? Buffer.from(rootPath, 'utf8') : where.name;
      switch (h.type) {
        case 'file':
        case 'contiguous-file': {
          const node: TreeNode = { ...nameFields(name), type: 'file', ...metaOf(h, pax) };
          const saved = await io.saveContent(entry as AsyncIterable<Uint8Array>, shown);
          Object.assign(node, { size: saved.size, content: saved.content, digest: saved.digest });
          const fault = io.fileNodeFault(node);
          if (fault !== undefined) {
            throw new AzbError('AZB_INTERNAL_INVARIANT', `${shown}: its chunks do not prove its content (${fault}); no recovery point was written.`, { target: shown, hint: 'This is an engine defect: report it with the engine version (azbackup --version).' });
          }
          put(node);
          filesByPath.set(parts.map((p) => p.toString('latin1')).join('/'), node);
          files++;
          break;
        }
        case 'link': {
          const rawTarget = pax?.get('linkpath') ?? Buffer.from(h.linkname ?? '', 'latin1');
          const targetParts = memberComponents(rawTarget, escapeSkipped(rawTarget));
          const first = filesByPath.get(targetParts.map((p) => p.toString('latin1')).join('/'));
          if (!first) {
            throw tarError('AZB_TAR_INVALID', `The tar stream's hard link ${shown} points to ${escapeSkipped(rawTarget)}, which is not a file or link earlier in the stream.`, shown);
          }
          await drain(entry);
          if (first.type === 'symlink') {
            // A hard-linked symbolic link (GNU tar archives its other names as links to the first): a
            // link of its own here, as a walk of the disk stores it.
            const { type, mode, mtimeNs, uid, gid, target, targetB64 } = first;
            put({ ...nameFields(name), type, mode, mtimeNs, uid, gid, ...(target !== undefined ? { target } : { targetB64: targetB64! }) });
            break;
          }
          first.hardlink ??= `0:${++linkKeys}`;
          // Every name of a hard link carries the content (FORMAT.md §9): any one restores alone. Its
          // metadata are the first name's (one inode): GNU tar's link members carry no xattrs.
          const { mode, mtimeNs, uid, gid, xattrs } = first;
          const node: TreeNode = { ...nameFields(name), type: 'file', mode, mtimeNs, uid, gid, ...(xattrs ? { xattrs } : {}), size: first.size!, content: first.content!, digest: first.digest!, hardlink: first.hardlink };
          put(node);
          filesByPath.set(parts.map((p) => p.toString('latin1')).join('/'), node);
          files++;
          break;
        }
        case 'symlink': {
          await drain(entry);
          const target = nameFields(pax?.get('linkpath') ?? Buffer.from(h.linkname ?? '', 'latin1'));
          const node: TreeNode = { ...nameFields(name), type: 'symlink', ...metaOf(h, pax) };
          if (target.name !== undefined) node.target = target.name; else node.targetB64 = target.nameB64!;
          put(node);
          filesByPath.set(parts.map((p) => p.toString('latin1')).join('/'), node);
          break;
        }
        case 'directory': {
          await drain(entry);
          put({ node: { ...nameFields(name), type: 'dir', ...metaOf(h, pax) }, children: new Map() });
          break;
        }
        default: {
          // Devices and FIFOs: left out by rule, as a walk of the disk does, and listed in the report.
          await drain(entry);
          const kind = h.type === 'fifo' ? 'FIFO' : h.type === 'block-device' ? 'block device' : 'character device';
          io.skipped({ path: escapeSkipped(memberBytes(parts)), code: SKIP_CODES.special, reason: `${kind} in the tar stream: only file data is backed up` });
          specials++;
        }
      }
    }
  } catch (err) {
    ex.destroy(err as Error);
    await feeding;
    if (sourceError !== undefined) throw sourceError;
    if (err instanceof AzbError) throw err;
    const message = (err as Error).message ?? String(err);
    if (/unexpected end/i.test(message)) {
      throw tarError('AZB_TAR_TRUNCATED', `The tar stream ended in the middle of a member (after ${total} bytes).`, undefined, 'The command that wrote it stopped early: check it finished (its exit code, and its errors).');
    }
    throw tarError('AZB_TAR_INVALID', `The tar stream is not a readable tar archive at byte ${lastEnd}: ${message}.`);
  }
  await feeding;
  if (sourceError !== undefined) throw sourceError;
  if (total === 0) throw tarError('AZB_TAR_EMPTY', 'The tar stream is empty (0 bytes).', undefined, 'The command that writes the stream wrote nothing: check that it ran and that its path exists.');
  if (files === 0 && specials === 0 && top.children.size === 0 && !fromArchive.has(top)) throw tarError('AZB_TAR_EMPTY', 'The tar stream holds no members.', undefined, 'Check the path given to tar exists on the member.');
  // A stream cut at a member boundary parses cleanly; tar ends every archive with zero blocks, so an
  // archive without them was cut.
  if (total < lastEnd + BLOCK) {
    throw tarError('AZB_TAR_TRUNCATED', `The tar stream ends after ${total} bytes without the end-of-archive blocks tar writes: it was cut.`, undefined, 'The command that wrote it stopped early: check it finished (its exit code, and its errors).');
  }

  // Trees bottom-up (a stack, not recursion: trees may be thousands of levels deep).
  let dirs = 0;
  let madeDirs = 0;
  const subtreeOf = new Map<PendingDir, string>();
  const stack: { dir: PendingDir; expanded: boolean }[] = [{ dir: top, expanded: false }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (!frame.expanded) {
      frame.expanded = true;
      for (const c of frame.dir.children.values()) if (isDir(c)) stack.push({ dir: c, expanded: false });
      continue;
    }
    stack.pop();
    const nodes = [...frame.dir.children.values()].map((c) => (isDir(c) ? { ...c.node, subtree: subtreeOf.get(c)! } : c));
    subtreeOf.set(frame.dir, await io.saveTree(nodes));
    for (const c of frame.dir.children.values()) if (isDir(c)) subtreeOf.delete(c);
    dirs++;
    if (!fromArchive.has(frame.dir)) madeDirs++;
  }
  if (madeDirs > 0) io.sink.log(`${madeDirs} folder(s) had no member of their own in the tar stream (the root included when it had none); they are stored with mode 755, owner 0 and the import's time.`);
  return { root: { ...top.node, subtree: subtreeOf.get(top)! }, files, dirs, specials, madeDirs };
}
