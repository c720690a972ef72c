// Reading --exclude-file and --files-from lists, with restic's rules for both: one entry a line,
// leading and trailing white space trimmed, blank lines and lines that start with `#` ignored. Unlike
// restic, `$VAR` is not expanded (a scheduled run's environment is not the admin's shell; `$` is an
// ordinary character of a name). UTF-8, with or without a BOM; UTF-16 with a BOM (as Notepad saves).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { AzbError } from '../protocol/errors.js';
import { compileGlob, invalidGlobReason } from './glob.js';

/** One entry of a list file, with its line number (from 1) for messages. */
export interface ListLine { text: string; line: number }

/** The entries of list file `file` (what: how messages name it, e.g. "exclude file"). Coded errors name the file. */
export async function readListFile(file: string, what: string, option: string): Promise<ListLine[]> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = `Give ${option} a readable text file, one entry a line.`;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AzbError('AZB_FILE_NOT_FOUND', `The ${what} ${file} does not exist.`, { target: file, hint });
    if (code === 'EACCES' || code === 'EPERM') throw new AzbError('AZB_FILE_ACCESS_DENIED', `The ${what} ${file} cannot be read: ${code}.`, { target: file, hint });
    if (code === 'EISDIR') throw new AzbError('AZB_PATH_IS_DIRECTORY', `The ${what} ${file} is a folder, not a file.`, { target: file, hint });
    throw new AzbError('AZB_IO', `The ${what} ${file} cannot be read: ${code ?? (err as Error).message}.`, { target: file, hint });
  }
  const text = raw[0] === 0xff && raw[1] === 0xfe ? new TextDecoder('utf-16le').decode(raw.subarray(2))
    : raw[0] === 0xfe && raw[1] === 0xff ? new TextDecoder('utf-16be').decode(raw.subarray(2))
      : new TextDecoder('utf-8').decode(raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw);
  const lines: ListLine[] = [];
  text.split('\n').forEach((l, i) => {
    const t = l.trim();
    if (t !== '' && !t.startsWith('#')) lines.push({ text: t, line: i + 1 });
  });
  return lines;
}

/**
 * The patterns of exclude files, in order. A pattern that restic's dialect refuses stops with
 * AZB_ARGS_INVALID naming the file and line. `./x` and `../x` are relative to the current folder, as
 * with --exclude.
 */
export async function readExcludeFiles(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    for (const { text, line } of await readListFile(file, 'exclude file', '--exclude-file / -ExcludeFile')) {
      const why = invalidGlobReason(text);
      if (why) throw new AzbError('AZB_ARGS_INVALID', `Exclude file ${file}, line ${line}: pattern refused: ${why}.`, { target: `${file}:${line}`, hint: 'Fix that line (see README "Globs" for the pattern rules), or start it with # to leave it out.' });
      out.push(/^\.\.?[\\/]/.test(text) ? resolve(text) : text);
    }
  }
  return out;
}

const WILDCARD = /[*?[]/;

/**
 * The paths a --files-from line stands for, as restic's `filepath.Glob` of the line: a path that exists
 * as written is itself (so a name with `[` in it works); otherwise each component with `*`, `?` or `[...]`
 * matches names in its folder (glob dialect of core/fs/glob.ts, one component at a time; `**` is no
 * deeper than `*`). Sorted; empty when nothing exists. Relative lines are relative to the current folder.
 */
export async function expandFilesFromLine(line: string): Promise<string[]> {
  const path = isAbsolute(line) ? line : resolve(line);
  if (await exists(path)) return [path];
  if (!WILDCARD.test(line)) return [];
  let found = ['/'];
  for (const part of path.split('/').filter((p) => p !== '')) {
    const next: string[] = [];
    if (!WILDCARD.test(part)) {
      for (const base of found) next.push(join(base, part));
    } else {
      const matches = compileGlob(part, { windows: false });
      for (const base of found) {
        let names: string[];
        try { names = await readdir(base); } catch { continue; } // not a folder, or unreadable: nothing below it
        for (const n of names.sort()) if (matches(n)) next.push(join(base, n));
      }
    }
    found = next;
    if (found.length === 0) return [];
  }
  const kept: string[] = [];
  for (const p of found) if (await exists(p)) kept.push(p);
  return kept;
}

// A path that cannot be looked at (EACCES) is passed on: the walk then says why it cannot be read.
async function exists(path: string): Promise<boolean> {
  try { await lstat(path); return true; } catch (err) { const code = (err as NodeJS.ErrnoException).code; return code !== 'ENOENT' && code !== 'ENOTDIR'; }
}
