// The glob dialect of excludes and item filters (core/fs/glob.ts): its rules one by one, then the set of
// files a backup leaves out compared with what the real restic leaves out, pattern by pattern, on the
// same tree of awkward names.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanSources, showPath, type ScanEntry } from '../../core/backup/scanner.js';
import { compileGlob, invalidGlobReason } from '../../core/fs/glob.js';
import { tempDir } from '../helpers/tmp.js';

describe('compileGlob', () => {
  const cases: [pattern: string, path: string, matches: boolean][] = [
    ['*.tmp', '/var/.cache.tmp', true], // dot-files are not special
    ['*', '/home/u/.bashrc', true],
    ['.*', '/home/u/.ssh', true],
    ['*.lock', '/etc/.pwd.lock', true],
    ['*.tmp', '/a/b/c/x.tmp', true], // any depth
    ['*.tmp', '/a/x.tmp/inner', false], // the last components, not a prefix
    ['logs/*.gz', '/srv/app/logs/old.gz', true],
    ['logs/*.gz', '/srv/app/xlogs/old.gz', false],
    ['*', '/a/b', true],
    ['a?c', '/x/a/c', false], // ? is not /
    ['a*c', '/x/a/c', false], // * is not /
    ['**/cache', '/x/y/z/cache', true],
    ['/srv/*.log', '/srv/x.log', true], // anchored
    ['/srv/*.log', '/other/srv/x.log', false],
    ['/srv/*.log', '/srv/a/x.log', false],
    ['/srv/**', '/srv/a/b/c', true],
    ['[ab].txt', '/q/a.txt', true],
    ['[^ab].txt', '/q/c.txt', true], // ^ negates a class, as in restic (Go's filepath.Match)
    ['[^ab].txt', '/q/a.txt', false],
    ['[!ab].txt', '/q/!.txt', true], // ! in a class is a character, as in restic
    ['[!ab].txt', '/q/c.txt', false],
    ['*(1)*', '/q/report (1).docx', true], // parentheses literal: not the extglob "zero or more 1s"
    ['*(1)*', '/q/report.docx', false],
    ['b{1,2}.txt', '/q/b{1,2}.txt', true], // braces literal: no expansion
    ['b{1,2}.txt', '/q/b1.txt', false],
    ['+(a)', '/q/+(a)', true],
    ['@(a)', '/q/a', false],
    ['x!', '/q/x!', true], // ! is a character (a leading one is refused: see invalidGlobReason)
    ['x\\*', '/q/x*', true], // an escaped star is a star
    ['x\\*', '/q/xy', false],
    ['*.TMP', '/q/a.tmp', false], // case counts on Linux
  ];
  it.each(cases)('%s against %s: %s', (pattern, path, matches) => {
    expect(compileGlob(pattern, { windows: false })(path)).toBe(matches);
  });

  it('refuses a leading !, which restic reads as "include again" and AzBackup does not support', () => {
    expect(invalidGlobReason('!*.log')).toMatch(/starts with '!'/);
    expect(invalidGlobReason('')).toMatch(/empty/);
    expect(invalidGlobReason('[!]bang')).toBeUndefined();
    expect(invalidGlobReason('*.tmp')).toBeUndefined();
  });

  it('on Windows: backslashes separate folders, case is ignored, a drive letter anchors', () => {
    const w = { windows: true };
    expect(compileGlob('*.TMP', w)('C:\\Users\\u\\AppData\\x.tmp')).toBe(true);
    expect(compileGlob('AppData\\Local\\*', w)('C:\\Users\\u\\AppData\\Local\\Temp')).toBe(true);
    expect(compileGlob('C:\\Temp\\*', w)('C:\\Temp\\a')).toBe(true);
    expect(compileGlob('C:\\Temp\\*', w)('D:\\Temp\\a')).toBe(false);
  });
});

/** Every file under the scan's roots, as paths relative to `base`. */
function scannedFiles(entries: ScanEntry[], base: string, out: string[] = []): string[] {
  for (const e of entries) {
    if (e.kind === 'file') out.push(showPath(e.path).slice(base.length + 1));
    if (e.children) scannedFiles(e.children, base, out);
  }
  return out.sort();
}

describe('excludes against restic', () => {
  const root = tempDir('azb-glob-');
  const tree = join(root, 't');
  const files = ['a.tmp', '.cache.tmp', '.hidden', 'A.TMP', 'a.txt', 'b.txt', '(paren).txt', 'x(1)y.txt', 'b{1,2}.txt', 'x*', '!bang',
    'sub/b.txt', 'sub/.git/config', 'sub/deep/c.tmp', 'sub/deep/logs/old.gz', '.cache/x', 'logs/new.gz'];
  for (const f of files) {
    mkdirSync(join(tree, f, '..'), { recursive: true });
    writeFileSync(join(tree, f), f);
  }
  const repo = join(root, 'restic-repo');
  const env = { ...process.env, RESTIC_PASSWORD: 'glob comparison', RESTIC_REPOSITORY: repo };
  execFileSync('restic', ['init', '-q'], { env });

  /** The files restic would back up with this exclude (a dry run), relative to the tree. */
  function resticKeeps(pattern: string): string[] {
    const out = execFileSync('restic', ['backup', '--dry-run', '-vv', '--exclude', pattern, tree], { env, encoding: 'utf8' });
    return out.split('\n').map((l) => /^new\s+(.*), saved in/.exec(l)?.[1]).filter((p): p is string => p !== undefined && !p.endsWith('/'))
      .map((p) => p.slice(tree.length + 1)).sort();
  }

  const patterns = ['*.tmp', '*', '.*', '.git', 'sub', 'sub/*.txt', 'deep/*', '**/config', '*(1)*', '(paren).txt', 'b{1,2}.txt', '[ab].txt', '[!ab].txt',
    '[^ab].txt', 'a?tmp', '*.TMP', 'x\\*', '[!]bang', 'logs/*.gz', '**/logs/*', `${tree}/sub`, `${tree}/*.txt`, '/nowhere/*'];
  it.each(patterns)('--exclude %s leaves out the same files as restic', async (pattern) => {
    const ours = scannedFiles((await scanSources([tree], [pattern])).roots.map((r) => r.entry).flatMap((e) => e.children ?? []), tree);
    expect(ours).toEqual(resticKeeps(pattern));
  });
});
