// Reading one tree for restore, ls and prune. A tree that cannot be read (damaged, missing, or a blob
// of another type where a tree belongs) raises AZB_TREE_DAMAGED, which each caller turns into a failure
// of that folder only; vault errors that are not damage (unreachable, denied) still fail the run.
import { AzbError } from '../protocol/errors.js';
import type { ServerRepo } from '../repo/server.js';
import { decodeTree, type TreeNode } from '../repo/tree.js';

/** The entries of tree `treeId`. */
export async function readTree(repo: ServerRepo, treeId: string): Promise<TreeNode[]> {
  let blob: Buffer;
  try {
    blob = await repo.readTreeBlob(Buffer.from(treeId, 'hex'));
  } catch (err) {
    if (err instanceof AzbError && err.code === 'AZB_OBJECT_DAMAGED') throw treeDamaged(treeId, err.message);
    throw err;
  }
  try {
    return decodeTree(blob);
  } catch (err) {
    throw treeDamaged(treeId, `not a valid tree: ${(err as Error).message}`);
  }
}

function treeDamaged(treeId: string, why: string): AzbError {
  return new AzbError('AZB_TREE_DAMAGED', `tree ${treeId.slice(0, 12)}… cannot be read (${why.replace(/\.$/, '')})`, {
    target: treeId, hint: "Run 'azbackup check' to see which recovery points are affected.",
  });
}

export function isTreeDamaged(err: unknown): err is AzbError {
  return err instanceof AzbError && err.code === 'AZB_TREE_DAMAGED';
}
