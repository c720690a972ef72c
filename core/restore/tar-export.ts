// `restore --to-tar -`: items of a recovery point as a pax tar stream (for `tar -x` on a member), written
// by tar-stream. Each file is verified as a restore verifies it: its last chunk is held back until the
// digest of all its bytes matches the point's, so a mismatch cuts the stream before the member is whole
// and the consumer's tar fails.
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pack as tarPack, type Header } from 'tar-stream';
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text when they are UTF-8; tar-stream writes names as UTF-8 (pax), so others cannot be written. */
function textOf(bytes: Buffer): string | undefined {
  try { return utf8.decode(bytes); } catch { return undefined; }
}

/** ns since the epoch as a pax time ("s.nnnnnnnnn"). */
function paxTime(ns: string): string {
  const v = BigInt(ns);
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * The entry's extended attributes as SCHILY.xattr.NAME records (what GNU tar --xattrs reads). tar-stream
 * writes pax values as UTF-8 text, so an attribute whose name or value is not UTF-8 cannot go into the
 * stream; those are counted and warned about once.
 */
function paxXattrs(m: Member, xattrsLeftOut: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of m.node.xattrs ?? []) {
    const name = x.name ?? textOf(Buffer.from(x.nameB64 ?? '', 'base64'));
    const value = textOf(Buffer.from(x.value, 'base64'));
    if (name === undefined || value === undefined || name.includes('=')) { xattrsLeftOut.push(`/${textOf(m.path)}`); continue; }
    out[`SCHILY.xattr.${name}`] = value;
  }
  return out;
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

/** Writes the items (all of the point when none) as a pax tar to `out`. */
export async function exportTar(repo: ServerRepo, point: RecoveryPoint, items: string[], out: Writable, o: { signal: AbortSignal; sink: EventSink }): Promise<TarExportStats> {
  const started = Date.now();
  const xattrsLeftOut: string[] = [];
  const members = await membersOf(repo, point, items);
  // Checked before a byte is written: a stream that stops half-way is worse than one refused.
  for (const m of members) {
    const target = m.node.type === 'symlink' && m.node.targetB64 !== undefined ? Buffer.from(m.node.targetB64, 'base64') : undefined;
    if (textOf(m.path) === undefined || (target && textOf(target) === undefined)) {
      const shown = m.path.toString('utf8');
      throw new AzbError('AZB_TAR_NAME_NOT_UTF8', `/${shown} has a name (or link target) that is not UTF-8; the tar writer (tar-stream) writes names as UTF-8 only, so it cannot be exported byte-exact. Nothing was written.`, {
        target: shown, hint: 'Restore it to a folder with --target instead, or leave it out of the items.',
      });
    }
  }
  const fetcher = new BlobFetcher(repo);
  fetcher.plan(members.flatMap((m) => (m.node.type === 'file' ? m.node.content ?? [] : [])));
  const stats: TarExportStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, copies: 0, verified: 0, unverified: 0, verifyFailed: 0, durationMs: 0, unchanged: 0 };
  const tar = tarPack();
  let outError: Error | undefined;
  const piping = new Promise<void>((resolve, reject) => {
    tar.on('data', (c) => { if (!out.write(c as Buffer)) { tar.pause(); out.once('drain', () => tar.resume()); } });
    tar.on('end', () => resolve());
    tar.on('error', reject);
    out.on('error', (err) => { outError = err; tar.destroy(err); reject(err); });
  });
  piping.catch(() => undefined);
  const firstName = new Map<string, string>(); // hard-link key → the member path written with the content
  const entry = (h: Header, body?: Buffer) => new Promise<void>((resolve, reject) => {
    if (body) tar.entry(h, body, (err) => (err ? reject(err) : resolve()));
    else tar.entry(h, (err) => (err ? reject(err) : resolve()));
  });
  try {
    for (const m of members) {
      if (o.signal.aborted) throw new AzbError('AZB_CANCELLED', 'The export was cancelled; the tar stream was cut, so its reader fails.', { hint: 'Run it again.' });
      if (outError) throw outError;
      const n = m.node;
      const name = textOf(m.path)!;
      const base = {
        // With its type bits: tar-stream takes a mode of 0 for "none given" (644); they are masked off.
        name, mode: n.mode | (n.type === 'dir' ? 0o40000 : n.type === 'symlink' ? 0o120000 : 0o100000), uid: n.uid ?? 0, gid: n.gid ?? 0,
        // The pax mtime is the time; tar-stream writes the ustar field in octal, which cannot hold a time
        // before 1970 (GNU tar refuses the member), so that field gets the epoch then.
        mtime: new Date(Math.max(0, Number(BigInt(n.mtimeNs) / 1_000_000n))),
        pax: { mtime: paxTime(n.mtimeNs), ...(n.uid !== undefined && n.uid > 0o7777777 ? { uid: String(n.uid) } : {}), ...(n.gid !== undefined && n.gid > 0o7777777 ? { gid: String(n.gid) } : {}), ...paxXattrs(m, xattrsLeftOut) } as Record<string, string>,
      };
      if (n.type === 'dir') {
        await entry({ ...base, type: 'directory' } as Header);
        stats.dirs++;
      } else if (n.type === 'symlink') {
        const target = n.target ?? textOf(Buffer.from(n.targetB64 ?? '', 'base64'))!;
        await entry({ ...base, type: 'symlink', linkname: target } as Header);
        stats.symlinks++;
      } else {
        const first = n.hardlink !== undefined ? firstName.get(n.hardlink) : undefined;
        if (first !== undefined) {
          await entry({ ...base, type: 'link', linkname: first } as Header);
          stats.files++;
          continue;
        }
        await writeFile(m, n, base);
        if (n.hardlink !== undefined) firstName.set(n.hardlink, name);
      }
    }
    tar.finalize();
    await piping;
    if (xattrsLeftOut.length > 0) {
      o.sink.warning('AZB_TAR_XATTR_SKIPPED', `${xattrsLeftOut.length} extended attribute(s) are not UTF-8 text (file capabilities, ACLs and the like) and were left out of the tar stream, e.g. on ${xattrsLeftOut.slice(0, 3).join(', ')}; restore to a folder to get them back.`, xattrsLeftOut[0]);
    }
  } catch (err) {
    // Cut: no end-of-archive blocks, and the member being written is short, so `tar -x` fails.
    tar.destroy(err as Error);
    throw err;
  }
  stats.durationMs = Date.now() - started;
  return stats;

  async function writeFile(m: Member, n: TreeNode, base: Record<string, unknown>): Promise<void> {
    const shown = '/' + textOf(m.path)!;
    if (n.digest === undefined) {
      throw new AzbError('AZB_RESTORE_VERIFY_FAILED', `${shown}: the recovery point has no content digest for this file, so its bytes cannot be verified; the tar stream was cut.`, { target: shown, hint: "Run 'azbackup check --read-data'." });
    }
    const size = n.size ?? 0;
    const sink = tar.entry({ ...base, type: 'file', size } as Header);
    const done = new Promise<void>((resolve, reject) => { sink.on('close', () => resolve()); sink.on('error', reject); });
    done.catch(() => undefined);
    const write = (b: Buffer) => new Promise<void>((resolve) => { if (sink.write(b)) resolve(); else sink.once('drain', () => resolve()); });
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
    stats.files++;
    stats.verified++;
    stats.bytes += size;
  }
}
