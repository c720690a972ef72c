// The free-space check before a restore writes (#12 item 5): the bytes the restore will write, per file
// system of the destination, against what that file system has free. An estimate, cheap and on the
// safe side: each file counts its size rounded up to the file system's block; a file already there that
// restore will leave alone (same size and time under CreateCopy / OverwriteIfChanged, any under Skip)
// counts nothing; a sparse file counts its chunks that are not all zero; a hard link counts once; folders
// and links count nothing. A mount below the destination counts separately when it is already mounted
// on a folder the restore goes through; files below a folder that does not exist yet count against the
// file system of its nearest existing parent.
import { statSync, statfsSync, type BigIntStats } from 'node:fs';
import { formatBytes } from '../backup/archiver.js';
import { AzbError } from '../protocol/errors.js';
import type { ServerRepo } from '../repo/server.js';
import { nodeNameBytes, type TreeNode } from '../repo/tree.js';
import type { ConflictAction } from './restorer.js';
import { isTreeDamaged, readTree } from './tree-reader.js';

/** One file system the restore writes to: where it was first met, what it has free, what the restore needs. */
interface FileSystemNeed { at: string; free: number; block: number; need: number }

/** An item to restore and the path it goes to. */
export interface ItemDestination { node: TreeNode; path: string }

/** The stat of `path` (links followed), or undefined when it has none (missing, or not reachable). */
function statOrUndefined(path: string): BigIntStats | undefined {
  try { return statSync(path, { bigint: true }); } catch { return undefined; }
}

/** The nearest existing folder at or above `path`, with its stat. */
function nearestExisting(path: string): { path: string; st: BigIntStats } | undefined {
  for (let p = path; ;) {
    const st = statOrUndefined(p);
    if (st?.isDirectory()) return { path: p, st };
    const up = p.slice(0, Math.max(p.lastIndexOf('/'), 1));
    if (up === p) return undefined; // "/" (or a path without "/", as on Windows): nothing above
    p = up;
  }
}

/**
 * Refuses, with AZB_RESTORE_NO_SPACE, a restore whose files need more room than a file system it writes
 * to has free. Trees that cannot be read are left to the restore itself, which reports them.
 */
export async function checkRestoreSpace(repo: ServerRepo, items: readonly ItemDestination[], conflict: ConflictAction): Promise<void> {
  const systems = new Map<bigint, FileSystemNeed>();
  const linksSeen = new Set<string>();
  let zeroChunk: string | undefined;
  const systemOf = (path: string, st: BigIntStats): FileSystemNeed | undefined => {
    let fs = systems.get(st.dev);
    if (!fs) {
      try {
        const s = statfsSync(path);
        // A pseudo file system (/proc, /sys) has no blocks at all: no figures (restore then says why it cannot write there).
        if (Number(s.blocks) === 0) return undefined;
        fs = { at: path, free: Number(s.bavail) * Number(s.bsize), block: Math.max(Number(s.bsize), 1), need: 0 };
      } catch {
        return undefined; // no figures for this file system: nothing to compare with
      }
      systems.set(st.dev, fs);
    }
    return fs;
  };
  // The bytes a sparse file's data takes: its chunks, less those of the largest all-zero chunk (a hole).
  const sparseBytes = (node: TreeNode): number => {
    zeroChunk ??= repo.blobId(Buffer.alloc(repo.config.chunker.maxSize)).toString('hex');
    let sum = 0;
    for (const id of node.content ?? []) if (id !== zeroChunk) sum += repo.index.get(Buffer.from(id, 'hex'))?.rawLength ?? 0;
    return Math.min(sum, node.size ?? 0);
  };
  const fileNeed = (node: TreeNode, path: string, exists: boolean): number => {
    if (node.hardlink !== undefined) {
      if (linksSeen.has(node.hardlink)) return 0;
      linksSeen.add(node.hardlink);
    }
    if (exists) {
      let st: BigIntStats | undefined;
      try { st = statSync(path, { bigint: true }); } catch { /* not there */ }
      if (st && conflict === 'Skip') return 0;
      const apartUs = st ? st.mtimeNs / 1000n - BigInt(node.mtimeNs) / 1000n : 2n;
      if (st?.isFile() && (conflict === 'CreateCopy' || conflict === 'OverwriteIfChanged') && st.size === BigInt(node.size ?? 0) && apartUs <= 1n && apartUs >= -1n) return 0;
    }
    return node.sparse ? sparseBytes(node) : node.size ?? 0;
  };

  // `exists`: the destination folder of this node exists (else nothing below it can).
  async function walk(node: TreeNode, path: string, fs: FileSystemNeed | undefined, exists: boolean): Promise<void> {
    if (node.type === 'file') {
      if (!fs) return;
      const bytes = fileNeed(node, path, exists);
      fs.need += Math.ceil(bytes / fs.block) * fs.block;
      return;
    }
    if (node.type !== 'dir' || !node.subtree) return;
    let here = fs;
    let there = false;
    if (exists) {
      const st = statOrUndefined(path);
      there = st?.isDirectory() === true;
      if (st && there) here = systemOf(path, st) ?? fs;
    }
    let children: TreeNode[];
    try { children = await readTree(repo, node.subtree); } catch (err) { if (isTreeDamaged(err)) return; throw err; }
    for (const c of children) await walk(c, `${path === '/' ? '' : path}/${nodeNameBytes(c).toString('utf8')}`, here, there);
  }

  for (const { node, path } of items) {
    const base = nearestExisting(path);
    if (!base) continue;
    await walk(node, path, systemOf(base.path, base.st), base.path === path || node.type === 'file');
  }

  const short = [...systems.values()].filter((s) => s.need > s.free);
  if (short.length === 0) return;
  const what = short.map((s) => `${formatBytes(s.need)} on the file system of ${s.at}, which has ${formatBytes(s.free)} free`).join('; ');
  throw new AzbError('AZB_RESTORE_NO_SPACE', `Not enough free space to restore: the files need ${what}. Nothing was written.`, {
    target: short[0]!.at,
    hint: 'Free space there, restore fewer items (-Item) or to another -Target with room, or give -Force / --ignore-free-space to restore anyway (a file that does not fit fails and is not left behind).',
  });
}
