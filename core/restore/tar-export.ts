// `restore --to-tar -` and `restore --to-member`: items of a recovery point as a pax tar stream (for
// `tar -x`), written by tar-stream. Each file is verified as a restore verifies it: its last chunk is held
// back until the digest of all its bytes matches the point's, so a mismatch cuts the stream before the
// member is whole and the consumer's tar fails.
//
// Names, link targets and attribute values are bytes, not always UTF-8 text, and tar-stream writes pax
// records as UTF-8 strings only. So each entry's pax header is built here from the bytes (GNU tar takes
// them as they are; it does not know POSIX's hdrcharset=BINARY and warns about it, so that is left out)
// and swapped in for the body tar-stream would write, which is given placeholders of the same length so
// that its header block (size, checksum) fits the swapped body. tar-stream still writes every block.
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { AzbError } from '../protocol/errors.js';
import type { EventSink } from '../protocol/events.js';
import type { RecoveryPoint, ServerRepo } from '../repo/server.js';
import { nodeNameBytes, type TreeNode } from '../repo/tree.js';
import { BlobFetcher } from './blob-fetcher.js';
import { readTree } from './tree-reader.js';
import { resolveItem, type RestoreStats } from './restorer.js';

/** A restore's counts (RestoreResult): hard-link names count as files; nothing is skipped, copied or left unchanged. */
export type TarExportStats = RestoreStats;

interface Member { path: Buffer; node: TreeNode }

/** What an export will write, known before its first byte (so a consumer can be set up for it). */
export interface TarExportPlan {
  point: RecoveryPoint;
  members: Member[];
  /** Some entry carries extended attributes (the reader needs --xattrs to set them). */
  hasXattrs: boolean;
}

const SETUID_SETGID = 0o6000;

/** ns since the epoch as a pax time ("s.nnnnnnnnn"). */
function paxTime(ns: string): string {
  const v = BigInt(ns);
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** One pax record, "LEN KEY=VALUE\n", LEN counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

/** The length tar-stream's record for `path=<v ASCII bytes>` has. */
function pathRecordLength(v: number): number {
  return paxRecord('path', Buffer.alloc(v, 0x61)).length;
}

/** An xattr name as GNU tar writes it in SCHILY.xattr.NAME: '%' and '=' escaped (its xattr_encode_keyword). */
function xattrKeyword(name: Buffer): Buffer {
  return Buffer.from(name.toString('latin1').replace(/%/g, '%25').replace(/=/g, '%3D'), 'latin1');
}

const linkPlaceholder = 'a';
const linkPlaceholderLength = paxRecord('linkpath', Buffer.from(linkPlaceholder)).length;

/**
 * A tar-stream pack whose pax bodies are the byte-exact ones of `rawPax` (keyed by the header object
 * given to entry()). Relies on Pack#_encodePax pushing [header block, body, padding, entry block]
 * (tar-stream 3.x; the round-trip suite extracts what it writes with GNU tar).
 */
function packWithRawPax(rawPax: WeakMap<object, Buffer>): Pack {
  const tar = tarPack();
  const internals = tar as unknown as { _encodePax(h: Header): void; push(chunk: unknown): boolean };
  const encodePax = internals._encodePax.bind(tar);
  internals._encodePax = (h: Header) => {
    const raw = rawPax.get(h);
    if (!raw) throw new Error('an entry without its pax body reached tar-stream');
    const push = internals.push;
    let n = 0;
    internals.push = (chunk: unknown) => push.call(tar, n++ === 1 ? raw : chunk);
    try { encodePax(h); } finally { internals.push = push; }
    if (n < 2) throw new Error('tar-stream did not write a pax body where one was swapped in');
  };
  return tar;
}

/** Every member of the items, folders before their contents (a stack, not recursion). */
async function membersOf(repo: ServerRepo, point: RecoveryPoint, items: string[]): Promise<Member[]> {
  const starts: Member[] = [];
  if (items.length === 0) {
    for (const root of await readTree(repo, point.manifest.tree)) starts.push({ path: Buffer.from(nodeNameBytes(root).toString('latin1').replace(/^\/+/, ''), 'latin1'), node: root });
  } else {
    for (const item of items) {
      const r = await resolveItem(repo, point, item);
      starts.push({ path: Buffer.from(r.components.map((c) => c.toString('latin1')).join('/').replace(/^\/+/, ''), 'latin1'), node: r.node });
    }
  }
  const out: Member[] = [];
  const stack = [...starts].reverse();
  for (let m = stack.pop(); m !== undefined; m = stack.pop()) {
    out.push(m);
    if (m.node.type === 'dir' && m.node.subtree) {
      const children = await readTree(repo, m.node.subtree);
      for (let i = children.length - 1; i >= 0; i--) {
        stack.push({ path: Buffer.concat([m.path, Buffer.from('/'), nodeNameBytes(children[i]!)]), node: children[i]! });
      }
    }
  }
  return out;
}

/** The members the items (all of the point when none) make, in the order they are written. */
export async function planTarExport(repo: ServerRepo, point: RecoveryPoint, items: string[]): Promise<TarExportPlan> {
  const members = await membersOf(repo, point, items);
  return { point, members, hasXattrs: members.some((m) => (m.node.xattrs ?? []).length > 0) };
}

/** Writes the items (all of the point when none) as a pax tar to `out`. */
export async function exportTar(repo: ServerRepo, point: RecoveryPoint, items: string[], out: Writable, o: { signal: AbortSignal; sink: EventSink }): Promise<TarExportStats> {
  return writeTarExport(repo, await planTarExport(repo, point, items), out, o);
}

/** How far an export has got, for a caller that must clean up after a cut. */
export interface TarExportProgress {
  /** The file whose content is being written (path as in the tar, no leading '/'): when the export fails, the one the reader holds short. */
  openFile: Buffer | undefined;
  /** Bytes of tar stream handed to `out`. */
  bytesOut: number;
}

/** Writes a planned export to `out`. `clearSetuid`: files' setuid and setgid bits left out, as a restore does unless asked. */
export async function writeTarExport(repo: ServerRepo, plan: TarExportPlan, out: Writable, o: { signal: AbortSignal; sink: EventSink; progress?: TarExportProgress; clearSetuid?: boolean }): Promise<TarExportStats> {
  const started = Date.now();
  const { members } = plan;
  const fetcher = new BlobFetcher(repo);
  fetcher.plan(members.flatMap((m) => (m.node.type === 'file' ? m.node.content ?? [] : [])));
  const stats: TarExportStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, copies: 0, verified: 0, unverified: 0, verifyFailed: 0, durationMs: 0, unchanged: 0, packsRead: 0 };
  const rawPax = new WeakMap<object, Buffer>();
  const tar = packWithRawPax(rawPax);
  let outError: Error | undefined;
  const piping = new Promise<void>((resolve, reject) => {
    tar.on('data', (c) => { if (o.progress) o.progress.bytesOut += (c as Buffer).length; if (!out.write(c as Buffer)) { tar.pause(); out.once('drain', () => tar.resume()); } });
    tar.on('end', () => resolve());
    tar.on('error', reject);
    out.on('error', (err) => { outError = err; tar.destroy(err); reject(err); });
  });
  piping.catch(() => undefined);
  const firstName = new Map<string, Buffer>(); // hard-link key → the member path written with the content
  const entry = (h: Header, body?: Buffer) => new Promise<void>((resolve, reject) => {
    if (body) tar.entry(h, body, (err) => (err ? reject(err) : resolve()));
    else tar.entry(h, (err) => (err ? reject(err) : resolve()));
  });
  /** The tar-stream header of a member, its pax body (built from bytes) registered for the swap. */
  const headerOf = (m: Member, type: Header['type'], linkTarget?: Buffer, size = 0): Header => {
    const n = m.node;
    const records = [paxRecord('path', m.path)];
    if (linkTarget) records.push(paxRecord('linkpath', linkTarget));
    records.push(paxRecord('mtime', Buffer.from(paxTime(n.mtimeNs))));
    if (n.uid !== undefined && n.uid > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(n.uid))));
    if (n.gid !== undefined && n.gid > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(n.gid))));
    for (const x of n.xattrs ?? []) {
      const name = x.name !== undefined ? Buffer.from(x.name) : Buffer.from(x.nameB64 ?? '', 'base64');
      records.push(paxRecord(`SCHILY.xattr.${xattrKeyword(name).toString('latin1')}`, Buffer.from(x.value, 'base64')));
    }
    // Placeholders whose records add up to the raw body's length (see packWithRawPax). A record is
    // LEN + " path=" + v bytes + "\n", LEN having d digits; tar-stream never writes one of 10^k bytes
    // (it takes the shorter LEN then), so a body that needs one gets a comment record (which readers
    // ignore) and fits then.
    const placeholderFor = (length: number) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((d) => length - d - 7).find((x) => x >= 1 && pathRecordLength(x) === length);
    let raw = Buffer.concat(records);
    let v = placeholderFor(raw.length - (linkTarget ? linkPlaceholderLength : 0));
    if (v === undefined) {
      raw = Buffer.concat([...records, paxRecord('comment', Buffer.from('azbackup'))]);
      v = placeholderFor(raw.length - (linkTarget ? linkPlaceholderLength : 0));
    }
    if (v === undefined) throw new Error(`no placeholder for a pax body of ${raw.length} bytes`);
    const h = {
      name: 'a'.repeat(v), type, size, ...(linkTarget ? { linkname: linkPlaceholder } : {}),
      // With its type bits: tar-stream takes a mode of 0 for "none given" (644); they are masked off.
      mode: (type === 'file' && o.clearSetuid ? n.mode & ~SETUID_SETGID : n.mode) | (type === 'directory' ? 0o40000 : type === 'symlink' ? 0o120000 : 0o100000),
      // Ids too large for the ustar field are in the pax header; the field gets 0 then.
      uid: n.uid !== undefined && n.uid <= 0o7777777 ? n.uid : 0, gid: n.gid !== undefined && n.gid <= 0o7777777 ? n.gid : 0,
      // The pax mtime is the time; the ustar field, octal, cannot hold a time before 1970 (GNU tar
      // refuses the member), so it gets the epoch then.
      mtime: new Date(Math.max(0, Number(BigInt(n.mtimeNs) / 1_000_000n))),
      pax: {},
    } as Header;
    rawPax.set(h, raw);
    return h;
  };
  try {
    for (const m of members) {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The export was cancelled; the tar stream was cut, so its reader fails.', { hint: 'Run it again.' });
      if (outError) throw outError;
      const n = m.node;
      if (n.type === 'dir') {
        await entry(headerOf(m, 'directory'));
        stats.dirs++;
      } else if (n.type === 'symlink') {
        const target = n.targetB64 !== undefined ? Buffer.from(n.targetB64, 'base64') : Buffer.from(n.target ?? '');
        await entry(headerOf(m, 'symlink', target));
        stats.symlinks++;
      } else {
        const first = n.hardlink !== undefined ? firstName.get(n.hardlink) : undefined;
        if (first !== undefined) {
          await entry(headerOf(m, 'link', first));
          stats.files++;
          continue;
        }
        await writeFile(m, n);
        if (n.hardlink !== undefined) firstName.set(n.hardlink, m.path);
      }
    }
    tar.finalize();
    await piping;
  } catch (err) {
    // Cut: what tar-stream already holds (the whole members before, the start of this one) still goes
    // to `out`, then nothing: no end-of-archive blocks, and the member being written is short, so
    // `tar -x` fails on that one and on no other.
    if (!outError) { tar.push(null); await piping.catch(() => undefined); }
    tar.destroy(err as Error);
    throw err;
  }
  stats.durationMs = Date.now() - started;
  stats.packsRead = new Set([...fetcher.packsRead, ...repo.trees.packsRead]).size;
  return stats;

  async function writeFile(m: Member, n: TreeNode): Promise<void> {
    const shown = '/' + m.path.toString('utf8');
    if (n.digest === undefined) {
      throw new AzbError('AZB_RESTORE_VERIFY_FAILED', `${shown}: the recovery point has no content digest for this file, so its bytes cannot be verified; the tar stream was cut.`, { target: shown, hint: "Run 'azbackup check --read-data'." });
    }
    const size = n.size ?? 0;
    const sink = tar.entry(headerOf(m, 'file', undefined, size));
    if (o.progress) o.progress.openFile = m.path;
    // The pack is destroyed when `out` fails (the reader went away); its entry's sink is not, so every
    // wait on the sink also ends when the pack closes.
    const gone = () => outError ?? new Error('the tar stream was closed');
    const done = new Promise<void>((resolve, reject) => {
      const onPackClose = () => reject(gone());
      sink.on('close', () => { tar.off('close', onPackClose); resolve(); });
      sink.on('error', (err) => { tar.off('close', onPackClose); reject(err); });
      tar.once('close', onPackClose);
    });
    done.catch(() => undefined);
    const write = (b: Buffer) => new Promise<void>((resolve, reject) => {
      if (sink.write(b)) { resolve(); return; }
      const settle = (err?: Error) => { sink.off('drain', onDrain); tar.off('close', onClose); if (err) reject(err); else resolve(); };
      const onDrain = () => settle();
      const onClose = () => settle(gone());
      sink.once('drain', onDrain);
      tar.once('close', onClose);
    });
    const digest = createHash('sha256');
    const ids = n.content ?? [];
    let pos = 0;
    let held: Buffer | undefined;
    for (const id of ids) {
      const chunk = await fetcher.blob(id);
      digest.update(chunk);
      pos += chunk.length;
      if (pos > size) break;
      if (held) await write(held);
      held = chunk;
    }
    if (pos !== size) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `${shown}: the recovery point has ${pos} bytes for a file of ${size} bytes; the tar stream was cut.`, { target: shown, hint: "Run 'azbackup check --read-data'." });
    }
    const got = digest.digest('hex');
    if (got !== n.digest) {
      throw new AzbError('AZB_RESTORE_VERIFY_FAILED', `${shown}: its bytes do not match the file's digest in the recovery point (SHA-256 ${got.slice(0, 12)}…, expected ${n.digest.slice(0, 12)}…); the tar stream was cut before the member was whole.`, {
        target: shown, hint: "Run 'azbackup check --read-data'; restore the file from another point.",
      });
    }
    if (held) await write(held);
    (sink as unknown as { end(): void }).end();
    await done;
    if (o.progress) o.progress.openFile = undefined;
    stats.files++;
    stats.verified++;
    stats.bytes += size;
  }
}
