// Points a Windows engine writes (FORMAT.md section 9, "Windows paths"), restored by the Linux engine:
// a drive root goes to <target>/<letter>/…, a share to <target>/UNC/<server>/<share>/…, nothing goes to
// an original location that does not exist here, and a hostile root never leaves the target.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, type EngineRun } from '../helpers/engine.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';
import { savePointOfRoots } from '../helpers/crafted-points.js';
import type { TreeNode } from '../../core/repo/tree.js';

const warnings = (r: EngineRun, code: string) => r.events.filter((e) => e.type === 'warning' && e.code === code) as { message: string; target?: string }[];

async function fileNode(name: string, bytes: Buffer, saveData: (b: Buffer) => Promise<string>): Promise<TreeNode> {
  return { name, type: 'file', mode: 0o644, mtimeNs: '0', size: bytes.length, content: [await saveData(bytes)], digest: createHash('sha256').update(bytes).digest('hex') };
}
const dirNode = (name: string, subtree: string): TreeNode => ({ name, type: 'dir', mode: 0o755, mtimeNs: '0', subtree });

describe('restoring points written on Windows', () => {
  let fx: VaultFixture;
  let drivePoint: string;
  let sharePoint: string;
  const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));

  beforeAll(async () => {
    fx = await registeredServer();
    // As a Windows engine before "pathStyle" wrote it: the drive form alone says Windows.
    drivePoint = await savePointOfRoots(fx, async (saveTree, saveData) => [
      dirNode('Z:/data', await saveTree([
        await fileNode('a.txt', Buffer.from('drive Z\n'), saveData),
        await fileNode('CON', Buffer.from('reserved on Windows only\n'), saveData),
        dirNode('sub', await saveTree([await fileNode('b.bin', binary, saveData)])),
      ])),
    ]);
    sharePoint = await savePointOfRoots(fx, async (saveTree, saveData) => [
      dirNode('//srv/share/docs', await saveTree([await fileNode('c.txt', Buffer.from('share\n'), saveData)])),
      dirNode('//./PhysicalDrive0/x', await saveTree([await fileNode('dev.txt', Buffer.from('device\n'), saveData)])),
      dirNode('C:/../etc', await saveTree([await fileNode('passwd', Buffer.from('escaped\n'), saveData)])),
      dirNode('C:..', await saveTree([await fileNode('up.txt', Buffer.from('up\n'), saveData)])),
    ], { pathStyle: 'windows', sources: ['\\\\srv\\share\\docs', '\\\\.\\PhysicalDrive0\\x', 'C:\\..\\etc', 'C:..'] });
  });

  it('restores a drive root under --target as <target>/Z/…, bit for bit, names as they are on Linux', async () => {
    const target = join(fx.root, 'r1');
    const r = await fx.az(['restore', drivePoint, '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    expect(readdirSync(target)).toEqual(['Z']);
    expect(readdirSync(join(target, 'Z', 'data')).sort()).toEqual(['CON', 'a.txt', 'sub']);
    expect(readFileSync(join(target, 'Z', 'data', 'a.txt'), 'utf8')).toBe('drive Z\n');
    expect(readFileSync(join(target, 'Z', 'data', 'sub', 'b.bin')).equals(binary)).toBe(true);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 3, verified: 3, skipped: 0 });
    expect(warnings(r, 'AZB_RESTORE_NAME_MAPPED')).toEqual([]);
    // One item, by its path in the point.
    const one = join(fx.root, 'r2');
    const item = await fx.az(['restore', drivePoint, 'Z:/data/sub/b.bin', '--target', one]);
    expect(item.code, item.stdout).toBe(0);
    expect(readFileSync(join(one, 'Z', 'data', 'sub', 'b.bin')).equals(binary)).toBe(true);
    expect(readdirSync(join(one, 'Z', 'data'))).toEqual(['sub']);
  });

  it('refuses the original location of a Windows point on Linux before writing anything', async () => {
    const r = await fx.az(['restore', drivePoint]);
    const err = onlyError(r);
    expect(err.code).toBe('AZB_RESTORE_TARGET_REQUIRED');
    expect(err.message).toContain('backed up on Windows');
    expect(existsSync('/Z:')).toBe(false);
    expect(existsSync(join(process.cwd(), 'Z:'))).toBe(false);
  });

  it('restores a share as <target>/UNC/srv/share/… and refuses roots that reach a device or leave the drive', async () => {
    const target = join(fx.root, 'r3');
    const r = await fx.az(['restore', sharePoint, '--target', target]);
    expect(r.code, r.stdout).toBe(3);
    expect(readFileSync(join(target, 'UNC', 'srv', 'share', 'docs', 'c.txt'), 'utf8')).toBe('share\n');
    expect(readdirSync(target)).toEqual(['UNC']);
    expect(readdirSync(join(target, 'UNC'))).toEqual(['srv']);
    expect(warnings(r, 'AZB_RESTORE_UNSAFE_ENTRY').map((w) => w.target).sort()).toEqual(['//./PhysicalDrive0/x', 'C:..', 'C:/../etc']);
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, skipped: 3 });
    expect(existsSync(join(fx.root, 'etc'))).toBe(false);
    // "latest" holding a path: the point's sources as Windows wrote them (\\srv\share\docs) are matched in their recorded form.
    const one = join(fx.root, 'r4');
    const item = await fx.az(['restore', 'latest', '//srv/share/docs/c.txt', '--target', one]);
    expect(item.code, item.stdout).toBe(0);
    expect(readFileSync(join(one, 'UNC', 'srv', 'share', 'docs', 'c.txt'), 'utf8')).toBe('share\n');
  });
});
