// The one glob dialect of AzBackup (README "Globs"), for backup excludes and for filtering the items of
// a recovery point. It follows restic's exclude patterns, which admins of restic already know:
// - `*` is any run of characters but `/`, `?` one character but `/`, `[abc]`/`[a-z]` a class, `**` any
//   number of folders; dot-files are not special (`*.tmp` matches `.cache.tmp`, `*` matches `.git`);
// - a pattern that starts with `/` matches the whole path; any other pattern matches the path's last
//   components at any depth (`*.log` any file or folder so named, `logs/*.gz` inside any folder `logs`);
// - nothing else is special: braces, parentheses, `+`, `@` and `!` are literal (no brace expansion,
//   no extended globs), so a name like `report (1).docx` matches itself; `[^ab]` negates a class;
// - a pattern may not start with `!` (restic's "include again", which AzBackup does not have: refused
//   rather than read differently; `[!]name` matches a name that starts with `!`);
// - `\` escapes the next character on Linux; on Windows it is a path separator and case is ignored.
// picomatch does the matching; this module only fixes its options and quotes what must stay literal.
import picomatch from 'picomatch';

/** Characters picomatch would give a meaning that restic's patterns do not have. */
const LITERAL = new Set(['(', ')', '{', '}', '+', '@', '!']);

/** The pattern with the characters above escaped, outside `[...]` classes (a class takes them as they are). */
function quoteLiterals(pattern: string, backslashEscapes: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (backslashEscapes && ch === '\\' && i + 1 < pattern.length) { out += ch + pattern[++i]!; continue; }
    if (inClass) { out += ch; if (ch === ']') inClass = false; continue; }
    if (ch === '[') { inClass = true; out += ch; continue; }
    out += LITERAL.has(ch) ? `\\${ch}` : ch;
  }
  return out;
}

/** Why a pattern is refused (callers throw their own coded error), or undefined when it is usable. */
export function invalidGlobReason(pattern: string): string | undefined {
  if (pattern.length === 0) return 'the pattern is empty';
  if (pattern.startsWith('!')) return `'${pattern}' starts with '!': re-including files is not supported (write [!]${pattern.slice(1)} to match a name that starts with '!')`;
  return undefined;
}

export interface GlobOptions {
  /** Windows rules: `\` separates folders (in paths and patterns) and case is ignored. Default: this OS's. */
  windows?: boolean;
}

/** A compiled glob: tells whether an absolute path (or a bare name) matches it. */
export type GlobMatcher = (path: string) => boolean;

/** Compiles a pattern with AzBackup's glob semantics (see above). */
export function compileGlob(pattern: string, o: GlobOptions = {}): GlobMatcher {
  const windows = o.windows ?? process.platform === 'win32';
  const p = windows ? pattern.replace(/\\/g, '/') : pattern;
  const anchored = p.startsWith('/') || (windows && /^[A-Za-z]:\//.test(p));
  const quoted = quoteLiterals(p, !windows);
  const isMatch = picomatch(anchored ? quoted : `**/${quoted}`, {
    dot: true, nobrace: true, noextglob: true, nonegate: true, nocase: windows, windows: false,
  });
  return (path: string) => isMatch(windows ? path.replace(/\\/g, '/') : path);
}

/** Compiles several patterns; the result matches when any of them does. */
export function compileGlobs(patterns: readonly string[], o: GlobOptions = {}): GlobMatcher {
  const all = patterns.map((g) => compileGlob(g, o));
  return (path: string) => all.some((m) => m(path));
}
