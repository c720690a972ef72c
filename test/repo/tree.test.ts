import { describe, expect, it } from 'vitest';
import { decodeTree, displayName, encodeTree, isSafeEntryName, nameFields, nodeNameBytes, type TreeNode } from '../../core/repo/tree.js';

const node = (name: Buffer, extra: Partial<TreeNode> = {}): TreeNode => ({ ...nameFields(name), type: 'file', mode: 0o644, mtimeNs: '1', ...extra });

describe('trees', () => {
  it('encode deterministically: order of nodes and of fields does not matter', () => {
    const a = node(Buffer.from('b.txt'), { size: 1, content: [] });
    const b = node(Buffer.from('a.txt'), { size: 2 });
    const shuffled: TreeNode = { content: [], size: 1, mtimeNs: '1', mode: 0o644, type: 'file', name: 'b.txt' };
    expect(encodeTree([a, b]).equals(encodeTree([b, shuffled]))).toBe(true);
    expect(decodeTree(encodeTree([a, b])).map((n) => n.name)).toEqual(['a.txt', 'b.txt']);
  });

  it('keeps non-UTF-8 names as bytes and shows them escaped', () => {
    const raw = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]);
    const n = node(raw);
    expect(n.name).toBeUndefined();
    expect(nodeNameBytes(decodeTree(encodeTree([n]))[0]!).equals(raw)).toBe(true);
    expect(displayName(n)).toBe('f\\xff\\xfe.t');
    expect(node(Buffer.from('héllo')).name).toBe('héllo');
  });

  it('refuses names that could leave a folder', () => {
    for (const bad of ['', '.', '..', 'a/b', '/etc', 'a\0b']) expect(isSafeEntryName(Buffer.from(bad))).toBe(false);
    for (const good of ['a', '...', '.hidden', 'x..y', 'héllo']) expect(isSafeEntryName(Buffer.from(good))).toBe(true);
  });

  it('rejects malformed trees', () => {
    expect(() => decodeTree(Buffer.from('{"nodes":[{"type":"device","name":"x"}]}'))).toThrow();
    expect(() => decodeTree(Buffer.from('{"nodes":[{"type":"file"}]}'))).toThrow();
    expect(() => decodeTree(Buffer.from('[]'))).toThrow();
  });
});
