// Windows paths in recovery points (FORMAT.md section 9, "Windows paths"): how a source becomes a root
// node name, where a root restores to, and how names Windows forbids are mapped. Pure functions; the
// platform is a parameter, so Linux tests exercise the Windows rules.
import { AzbError } from '../protocol/errors.js';
import { bytesAsText, isSafeEntryName } from '../repo/tree.js';

/** 'win32' or anything else (POSIX). Callers pass process.platform. */
export type Platform = NodeJS.Platform;

/** What a root node name stands for: a POSIX path, a drive path, or a UNC path. */
export type RootKind =
  | { kind: 'posix' }
  | { kind: 'drive'; letter: string; rest: string[] }
  | { kind: 'unc'; server: string; share: string; rest: string[] }
  | { kind: 'invalid'; why: string };

/**
 * The root node name a Windows source is recorded under: `C:/Data`, `C:/`, `//srv/share/Data`. The
 * `\\?\` prefix is dropped; other namespaces and relative forms throw AZB_ARGS_INVALID. On POSIX the
 * source is recorded as it is (unchanged behaviour).
 */
export function rootNameOf(source: string, platform: Platform): string {
  if (platform !== 'win32') return source;
  let p = source.replace(/\//g, '\\');
  if (/^\\\\\?\\UNC\\/i.test(p)) p = `\\\\${p.slice(8)}`;
  else if (/^\\\\\?\\[A-Za-z]:(\\|$)/.test(p)) p = p.slice(4);
  const refuse = (why: string) => new AzbError('AZB_ARGS_INVALID', `The source ${source} cannot be backed up: ${why}.`, {
    target: source, hint: 'Give a path on a drive (C:\\Data) or a share (\\\\server\\share\\Data).',
  });
  if (/^\\\\[.?]\\/.test(p)) throw refuse('device and volume namespaces (\\\\.\\, \\\\?\\Volume{…}, \\\\?\\GLOBALROOT) are not file paths');
  const drive = /^([A-Za-z]):\\(.*)$/s.exec(p);
  if (drive) {
    const rest = drive[2]!.split('\\').filter((c) => c !== '');
    if (rest.some((c) => c === '.' || c === '..')) throw refuse('it holds "." or ".." (give it resolved)');
    return `${drive[1]!.toUpperCase()}:/${rest.join('/')}`;
  }
  const unc = /^\\\\([^\\]+)\\([^\\]+)(?:\\(.*))?$/s.exec(p);
  if (unc) {
    const rest = (unc[3] ?? '').split('\\').filter((c) => c !== '');
    if ([unc[1]!, unc[2]!, ...rest].some((c) => c === '.' || c === '..')) throw refuse('it holds "." or ".." (give it resolved)');
    return ['/', unc[1], unc[2], ...rest].join('/');
  }
  throw refuse('it is not an absolute path on a drive or a share');
}

/**
 * What root node name `name` stands for, in a point whose manifest says `pathStyle` (FORMAT.md §9).
 * The drive form `X:/…` is Windows in any point; `//server/share/…` only in a Windows point.
 */
export function rootKind(name: string, pathStyle: string | undefined): RootKind {
  const windows = pathStyle === 'windows';
  const drive = /^([A-Za-z]):\/(.*)$/s.exec(name);
  const dots = (rest: string[]) => rest.some((c) => c === '.' || c === '..');
  if (drive) {
    const rest = drive[2]!.split('/').filter((c) => c !== '');
    return dots(rest) ? { kind: 'invalid', why: 'it holds "." or ".."' } : { kind: 'drive', letter: drive[1]!.toUpperCase(), rest };
  }
  if (!windows) return { kind: 'posix' };
  const unc = /^\/\/([^/]+)\/([^/]+)(?:\/(.*))?$/s.exec(name);
  if (unc) {
    const [server, share] = [unc[1]!, unc[2]!];
    // "\\.\" and "\\?\" are the device and raw namespaces, never a server.
    if (server === '.' || server === '?' || !isPlainWindowsName(server) || !isPlainWindowsName(share)) return { kind: 'invalid', why: 'not a valid server and share' };
    const rest = (unc[3] ?? '').split('/').filter((c) => c !== '');
    return dots(rest) ? { kind: 'invalid', why: 'it holds "." or ".."' } : { kind: 'unc', server, share, rest };
  }
  return { kind: 'invalid', why: 'not an absolute Windows path (X:/… or //server/share/…)' };
}

/** True for a name Windows accepts as it is (so not "." or ".."). */
function isPlainWindowsName(name: string): boolean {
  const w = windowsName(Buffer.from(name, 'utf8'));
  return w !== undefined && !w.mapped;
}

/**
 * Where a root's content goes, as a base folder and components below it, or why it cannot be restored.
 * `target` undefined means the original location. On POSIX the base of a POSIX root is "/" (or the
 * target) with the root's components, as before.
 */
export function rootPlacement(rootName: string, pathStyle: string | undefined, o: { platform: Platform; target?: string }):
  { base: string | undefined; parts: string[] } | { error: 'needs-target' | 'invalid'; why: string } {
  const k = rootKind(rootName, pathStyle);
  if (k.kind === 'invalid') return { error: 'invalid', why: k.why };
  const onWindows = o.platform === 'win32';
  if (k.kind === 'posix') {
    const parts = rootName.split(onWindows ? /[\\/]/ : '/').filter((c) => c !== '' && c !== '.');
    if (o.target !== undefined) return { base: o.target, parts };
    if (onWindows) return { error: 'needs-target', why: 'it was backed up on Linux (a POSIX path) and has no original location on Windows' };
    return { base: undefined, parts };
  }
  if (o.target !== undefined) {
    return { base: o.target, parts: k.kind === 'drive' ? [k.letter, ...k.rest] : ['UNC', k.server, k.share, ...k.rest] };
  }
  if (!onWindows) return { error: 'needs-target', why: 'it was backed up on Windows and has no original location on this system' };
  // Forward slashes: Node takes them on Windows, and the restorer joins names with "/".
  return k.kind === 'drive' ? { base: `${k.letter}:/`, parts: k.rest } : { base: `//${k.server}/${k.share}/`, parts: k.rest };
}

const FORBIDDEN = /[\u0001-\u001f"*:<>?|\\]/g;
const RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9\u00b9\u00b2\u00b3]|LPT[1-9\u00b9\u00b2\u00b3]) *$/i;
const mapChar = (c: string) => String.fromCharCode(0xf000 + c.charCodeAt(0));

/**
 * The name a tree entry gets on Windows (FORMAT.md §9, "Names Windows forbids"): `mapped` when it differs
 * from the name in the point. Undefined for names no system may create (empty, ".", "..", "/" or NUL in it).
 */
export function windowsName(raw: Buffer): { name: string; mapped: boolean } | undefined {
  if (raw.length === 0 || raw.includes(0x2f) || raw.includes(0x00)) return undefined;
  const text = bytesAsText(raw);
  let name = text ?? raw.toString('utf8'); // invalid bytes become U+FFFD
  if (name === '.' || name === '..') return undefined;
  name = name.replace(FORBIDDEN, mapChar);
  if (/[. ]$/.test(name)) name = name.slice(0, -1) + mapChar(name.slice(-1));
  const dot = name.indexOf('.');
  const stem = dot < 0 ? name : name.slice(0, dot);
  if (RESERVED.test(stem)) {
    const trimmed = stem.replace(/ +$/, '');
    name = trimmed.slice(0, -1) + mapChar(trimmed.slice(-1)) + name.slice(trimmed.length);
  }
  return { name, mapped: text === undefined || name !== text };
}

/** The key NTFS compares names by: each UTF-16 unit upper-cased alone (a change of length is not made). */
export function caseKey(name: string): string {
  let out = '';
  for (const c of name) { const u = c.toUpperCase(); out += u.length === c.length ? u : c; }
  return out;
}

/**
 * Names for the entries of one folder on a case-insensitive file system: `names` in tree order; the first
 * of each case-insensitive group keeps its name, the others get "name (n).ext" with the lowest n free.
 * Returns the names to use, in the same order.
 */
export function resolveCaseCollisions(names: string[]): string[] {
  const taken = new Set(names.map(caseKey));
  const used = new Set<string>();
  return names.map((name) => {
    const key = caseKey(name);
    if (!used.has(key)) { used.add(key); return name; }
    const dot = name.lastIndexOf('.');
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
    for (let n = 1; ; n++) {
      const candidate = `${stem} (${n})${ext}`;
      const k = caseKey(candidate);
      if (!used.has(k) && !taken.has(k)) { used.add(k); return candidate; }
    }
  });
}

/** The name an entry of a folder is restored under, or why it is not. */
export type PlannedName =
  | { name: Buffer; mapped?: string; collidesWith?: string }
  | { unsafe: true };

/**
 * Names for the entries of one folder, in tree order (FORMAT.md §9): on POSIX each name as it is, or
 * unsafe; on Windows mapped (`mapped`: the name given) and made unique ignoring case (`collidesWith`:
 * the earlier entry's name it met).
 */
export function plannedNames(raws: Buffer[], platform: Platform): PlannedName[] {
  if (platform !== 'win32') return raws.map((raw) => (isSafeEntryName(raw, platform) ? { name: raw } : { unsafe: true }));
  const mapped = raws.map((raw) => windowsName(raw));
  const safe = mapped.filter((m) => m !== undefined);
  const unique = resolveCaseCollisions(safe.map((m) => m.name));
  const firstOf = new Map<string, string>();
  for (const m of safe) if (!firstOf.has(caseKey(m.name))) firstOf.set(caseKey(m.name), m.name);
  let j = 0;
  return mapped.map((m) => {
    if (m === undefined) return { unsafe: true };
    const name = unique[j++]!;
    const out: PlannedName = { name: Buffer.from(name, 'utf8') };
    if (m.mapped || name !== m.name) out.mapped = name;
    if (name !== m.name) out.collidesWith = firstOf.get(caseKey(m.name))!;
    // The last line of defence (isSafeEntryName refuses ":" and "\" on Windows): never an alternate data stream.
    return isSafeEntryName(out.name, platform) ? out : { unsafe: true };
  });
}
