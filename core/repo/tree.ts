// Trees (FORMAT.md section 9): the deterministic encoding of one directory's entries.
// Names and link targets are bytes on Linux; they are stored as text when valid UTF-8, else base64.

/** One entry of a directory. Optional fields follow FORMAT.md's table. */
export interface TreeNode {
  name?: string;
  nameB64?: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  mtimeNs: string;
  size?: number;
  content?: string[];
  /** SHA-256 (hex) of the file's content as read (format 2); restore and check verify it. */
  digest?: string;
  sparse?: boolean;
  hardlink?: string;
  subtree?: string;
  target?: string;
  targetB64?: string;
  /** Extended attributes (FORMAT.md §9), sorted by name bytes; absent when there are none. */
  xattrs?: XattrEntry[];
  /** What vault damage took, on a node repair rewrote (FORMAT.md section 10, "Damage records and repair"). */
  damage?: NodeDamage;
}

/** A file's original size and digest and the bytes lost; or a folder whose tree was lost. */
export interface NodeDamage { lostBytes?: number; size?: number; digest?: string; lostTree?: true }

/** One extended attribute: its name (text, or base64 bytes when not UTF-8) and its value in base64. */
export interface XattrEntry { name?: string; nameB64?: string; value: string }

const FIELD_ORDER: (keyof TreeNode)[] = ['name', 'nameB64', 'type', 'mode', 'uid', 'gid', 'mtimeNs', 'size', 'content', 'digest', 'sparse', 'hardlink', 'subtree', 'target', 'targetB64', 'xattrs', 'damage'];

/** Raw bytes of an attribute's name. */
export const xattrNameBytes = (x: XattrEntry): Buffer => (x.name !== undefined ? Buffer.from(x.name, 'utf8') : Buffer.from(x.nameB64 ?? '', 'base64'));

/** Canonical form of an xattr list: sorted by name bytes, fields in fixed order. */
function canonicalXattrs(list: XattrEntry[]): XattrEntry[] {
  return [...list].sort((a, b) => Buffer.compare(xattrNameBytes(a), xattrNameBytes(b)))
    .map((x) => (x.name !== undefined ? { name: x.name, value: x.value } : { nameB64: x.nameB64!, value: x.value }));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text form of raw name bytes when they are valid UTF-8 (and round-trip), else undefined. */
export function bytesAsText(bytes: Buffer): string | undefined {
  try {
    const text = utf8.decode(bytes);
    return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Sets name/nameB64 from raw bytes. */
export function nameFields(bytes: Buffer): Pick<TreeNode, 'name' | 'nameB64'> {
  const text = bytesAsText(bytes);
  return text !== undefined ? { name: text } : { nameB64: bytes.toString('base64') };
}

/** Raw bytes of a node's name. */
export function nodeNameBytes(node: TreeNode): Buffer {
  if (node.name !== undefined) return Buffer.from(node.name, 'utf8');
  if (node.nameB64 !== undefined) return Buffer.from(node.nameB64, 'base64');
  throw new Error('tree node without a name');
}

/** Raw bytes of a symlink target. */
export function nodeTargetBytes(node: TreeNode): Buffer {
  if (node.target !== undefined) return Buffer.from(node.target, 'utf8');
  if (node.targetB64 !== undefined) return Buffer.from(node.targetB64, 'base64');
  return Buffer.alloc(0);
}

/** Control characters (C0, DEL, C1): never shown as they are, so a name cannot drive a terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Display form of a name: the text, or (invalid UTF-8, or control characters) printable ASCII as it is and other bytes as \xNN. */
export function displayName(node: TreeNode): string {
  if (node.name !== undefined && !CONTROL.test(node.name)) return node.name;
  return displayBytes(nodeNameBytes(node));
}

/** displayName for raw bytes (a link target, a name from a path). */
export function displayBytes(bytes: Buffer): string {
  const text = bytesAsText(bytes);
  if (text !== undefined && !CONTROL.test(text)) return text;
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/** Canonical bytes of a tree: nodes sorted by name bytes, fields in fixed order, no whitespace. */
export function encodeTree(nodes: TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(nodeNameBytes(a), nodeNameBytes(b)));
  const canonical = sorted.map((n) => {
    const o: Record<string, unknown> = {};
    for (const k of FIELD_ORDER) if (n[k] !== undefined) o[k] = n[k];
    if (Array.isArray(n.xattrs)) { if (n.xattrs.length > 0) o.xattrs = canonicalXattrs(n.xattrs); else delete o.xattrs; }
    return o;
  });
  return Buffer.from(JSON.stringify({ nodes: canonical }), 'utf8');
}

/** Parses a tree blob; throws on malformed input (the caller reports it as damage). */
export function decodeTree(data: Uint8Array): TreeNode[] {
  const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8')) as { nodes?: unknown };
  if (!parsed || !Array.isArray(parsed.nodes)) throw new Error('tree has no node list');
  for (const n of parsed.nodes as TreeNode[]) {
    if (typeof n !== 'object' || n === null || !['file', 'dir', 'symlink'].includes(n.type)) throw new Error('tree node of unknown type');
    if (typeof n.name !== 'string' && typeof n.nameB64 !== 'string') throw new Error('tree node without a name');
  }
  return parsed.nodes as TreeNode[];
}

/**
 * True when a name is safe to create inside a directory: not empty, not "." or "..", no "/" and no NUL.
 * Restore refuses other names even if a damaged or hostile tree contains them.
 */
export function isSafeEntryName(bytes: Buffer, platform: NodeJS.Platform = process.platform): boolean {
  if (bytes.length === 0 || bytes.includes(0x2f) || bytes.includes(0x00)) return false;
  if (bytes.length === 1 && bytes[0] === 0x2e) return false;
  if (bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e) return false;
  if (platform === 'win32' && (bytes.includes(0x5c) || bytes.includes(0x3a))) return false;
  return true;
}
