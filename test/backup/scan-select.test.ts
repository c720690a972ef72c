// What the walk selects with --exclude-caches, --exclude-file, --files-from and --one-file-system,
// compared with what the real restic selects with the options of the same names (a dry run), on real
// files and, for --one-file-system, a real tmpfs mounted below the source (the tests run as root).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHEDIR_SIGNATURE, scanSources, showPath, type ScanEntry } from '../../core/backup/scanner.js';
import { expandFilesFromLine, readExcludeFiles, readListFile } from '../../core/fs/list-file.js';
import { AzbError } from '../../core/protocol/errors.js';
import { tempDir } from '../helpers/tmp.js';

/** Every file and folder under the scan's roots (folders with a trailing /), as absolute paths. */
function scanned(entries: ScanEntry[], out: string[] = []): string[] {
  for (const e of entries) {
    out.push(showPath(e.path) + (e.kind === 'dir' ? '/' : ''));
    if (e.children) scanned(e.children, out);
  }
  return out.sort();
}

function write(root: string, files: Record<string, string>): void {
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), content);
  }
}

const resticRoot = tempDir('azb-select-restic-');
const env = { ...process.env, RESTIC_PASSWORD: 'select comparison', RESTIC_REPOSITORY: join(resticRoot, 'repo') };
execFileSync('restic', ['init', '-q'], { env });

/** Files and folders (trailing /) the real restic would back up from `sources` with `args` (a dry run), below `under`. */
function resticSelects(args: string[], sources: string[], under: string): string[] {
  const out = execFileSync('restic', ['backup', '--dry-run', '-vv', ...args, ...sources], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').map((l) => /^new\s+(.*), saved in/.exec(l)?.[1]).filter((p): p is string => p !== undefined && p.startsWith(under + '/')).sort();
}

describe('--exclude-caches', () => {
  const tree = join(tempDir('azb-caches-'), 't');
  write(tree, {
    'cache/CACHEDIR.TAG': `${CACHEDIR_SIGNATURE}\n# This file is a cache directory tag.\n`,
    'cache/a.bin': 'cached', 'cache/sub/b.bin': 'cached too',
    'exact/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'exact/c': 'c', // just the 43 bytes
    'wrong/CACHEDIR.TAG': CACHEDIR_SIGNATURE.replace(/5$/, '6'), 'wrong/d': 'kept: the signature is wrong',
    'short/CACHEDIR.TAG': CACHEDIR_SIGNATURE.slice(0, 42), 'short/e': 'kept: the tag is too short',
    'lower/cachedir.tag': CACHEDIR_SIGNATURE, 'lower/f': 'kept: the name is case-sensitive',
    'plain/g': 'kept', 'plain/deep/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'plain/deep/h': 'left out',
  });

  it('leaves out what a tagged folder holds, keeping the folder and its tag, as restic does', async () => {
    const scan = await scanSources([tree], [], undefined, new Set(), { excludeCaches: true });
    const ours = scanned(scan.roots.map((r) => r.entry)).filter((p) => p.startsWith(tree + '/'));
    expect(ours).toEqual(resticSelects(['--exclude-caches'], [tree], tree));
    expect(ours).toContain(`${tree}/cache/CACHEDIR.TAG`);
    expect(ours).toContain(`${tree}/cache/`);
    expect(ours).not.toContain(`${tree}/cache/a.bin`);
    expect(ours).toContain(`${tree}/wrong/d`);
    expect(scan.cacheFolders.sort()).toEqual([`${tree}/cache`, `${tree}/exact`, `${tree}/plain/deep`]);
  });

  it('takes everything without the option, and a source that is itself a cache keeps only its tag', async () => {
    const all = await scanSources([tree], []);
    expect(scanned(all.roots.map((r) => r.entry))).toContain(`${tree}/cache/sub/b.bin`);
    expect(all.cacheFolders).toEqual([]);
    const own = await scanSources([join(tree, 'cache')], [], undefined, new Set(), { excludeCaches: true });
    expect(scanned(own.roots.map((r) => r.entry))).toEqual([`${tree}/cache/`, `${tree}/cache/CACHEDIR.TAG`]);
  });

  it('does not follow a CACHEDIR.TAG that is a symbolic link (a user cannot mark a folder through a link to a tag elsewhere)', async () => {
    const dir = join(tempDir('azb-caches-link-'), 't');
    write(dir, { 'real/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'linked/x': 'kept' });
    symlinkSync(join(dir, 'real', 'CACHEDIR.TAG'), join(dir, 'linked', 'CACHEDIR.TAG'));
    const scan = await scanSources([dir], [], undefined, new Set(), { excludeCaches: true });
    expect(scanned(scan.roots.map((r) => r.entry))).toContain(`${dir}/linked/x`);
    expect(scan.cacheFolders).toEqual([`${dir}/real`]);
  });
});

describe('--exclude-file', () => {
  const root = tempDir('azb-exclude-file-');
  const tree = join(root, 't');
  write(tree, { 'a.tmp': '1', 'b.log': '2', 'keep.txt': '3', 'sub/c.tmp': '4', 'sub/# not a comment': '5', 'sub/d.bak': '6', 'spaced name.txt': '7', 'cache/x': '8' });

  it('reads one glob a line, trimmed, without blank lines and # comments, as restic does', async () => {
    const file = join(root, 'excludes.txt');
    // CRLF endings, indentation, trailing blanks, a comment, a blank line, a name with a space.
    writeFileSync(file, '# build output\r\n*.tmp\r\n\r\n   *.log   \r\n\t# indented comment\r\nspaced name.txt\r\n/nowhere/*\r\ncache\r\n');
    const patterns = await readExcludeFiles([file]);
    expect(patterns).toEqual(['*.tmp', '*.log', 'spaced name.txt', '/nowhere/*', 'cache']);
    const ours = scanned((await scanSources([tree], patterns)).roots.map((r) => r.entry)).filter((p) => p.startsWith(tree + '/'));
    expect(ours).toEqual(resticSelects(['--exclude-file', file], [tree], tree));
    expect(ours).toContain(`${tree}/sub/# not a comment`);
  });

  it('reads UTF-8 with a BOM and UTF-16 with a BOM (as Notepad saves)', async () => {
    const utf8 = join(root, 'bom8.txt');
    writeFileSync(utf8, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('*.tmp\nkeep.txt\n')]));
    expect(await readExcludeFiles([utf8])).toEqual(['*.tmp', 'keep.txt']);
    const utf16 = join(root, 'bom16.txt');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('*.tmp\r\nkeep.txt\r\n', 'utf16le')]));
    expect(await readExcludeFiles([utf16])).toEqual(['*.tmp', 'keep.txt']);
  });

  it('refuses a refused pattern with the file and line, and a missing or folder list with its own code', async () => {
    const bad = join(root, 'bad.txt');
    writeFileSync(bad, '*.tmp\n# fine\n!important\n');
    const err = await readExcludeFiles([bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AzbError);
    expect(err).toMatchObject({ code: 'AZB_ARGS_INVALID', target: `${bad}:3` });
    expect((err as AzbError).message).toContain(`${bad}, line 3`);
    await expect(readExcludeFiles([join(root, 'missing.txt')])).rejects.toMatchObject({ code: 'AZB_FILE_NOT_FOUND', target: join(root, 'missing.txt') });
    await expect(readListFile(root, 'exclude file', '--exclude-file')).rejects.toMatchObject({ code: 'AZB_PATH_IS_DIRECTORY', target: root });
  });
});

describe('--files-from', () => {
  const root = tempDir('azb-files-from-');
  const tree = join(root, 't');
  write(tree, { 'a/1.txt': '1', 'a/2.log': '2', 'b/3.txt': '3', 'c/4.txt': '4', 'c/d/5.txt': '5', 'x[1]/6.txt': '6', '.hidden/7.txt': '7' });

  it('takes paths and globs, one a line, as restic does (a line that matches nothing is left out)', async () => {
    const list = join(root, 'list.txt');
    writeFileSync(list, `# what to back up\n${tree}/a/1.txt\n  ${tree}/b  \n\n${tree}/c/*.txt\n${tree}/*/7.txt\n${tree}/nothing/*\n${tree}/missing.txt\n`);
    const lines = await readListFile(list, 'files-from list', '--files-from');
    const expanded = await Promise.all(lines.map((l) => expandFilesFromLine(l.text)));
    expect(expanded).toEqual([[`${tree}/a/1.txt`], [`${tree}/b`], [`${tree}/c/4.txt`], [`${tree}/.hidden/7.txt`], [], []]);
    const ours = scanned((await scanSources(expanded.flat(), [])).roots.map((r) => r.entry));
    expect(ours.filter((p) => !p.endsWith('/'))).toEqual(resticSelects(['--files-from', list], [], tree).filter((p) => !p.endsWith('/')));
  });

  it('takes a line that names an existing path as written, brackets and all (restic would read x[1] as a glob for x1)', async () => {
    expect(await expandFilesFromLine(`${tree}/x[1]`)).toEqual([`${tree}/x[1]`]);
    expect(await expandFilesFromLine(`${tree}/x[1]/*.txt`)).toEqual([`${tree}/x[1]/6.txt`]);
  });

  it('reads relative lines against the current folder', async () => {
    const cwd = process.cwd();
    process.chdir(tree);
    try {
      expect(await expandFilesFromLine('a/*.log')).toEqual([`${tree}/a/2.log`]);
      expect(await expandFilesFromLine('./b/3.txt')).toEqual([`${tree}/b/3.txt`]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('--one-file-system', () => {
  const root = tempDir('azb-onefs-');
  const src = join(root, 'src');
  write(src, { 'top.txt': 'on the source file system', 'sub/inner.txt': 'also' });
  const mnt = join(src, 'sub', 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'azb-onefs', mnt]);
  write(mnt, { 'other.txt': 'on another file system', 'deeper/more.txt': 'too' });
  afterAll(() => {
    execFileSync('umount', [mnt]);
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps the mount point empty and names it, as restic does', async () => {
    const scan = await scanSources([src], [], undefined, new Set(), { oneFileSystem: true });
    const ours = scanned(scan.roots.map((r) => r.entry)).filter((p) => p.startsWith(src + '/'));
    expect(ours).toEqual([`${src}/`, `${src}/sub/`, `${src}/sub/inner.txt`, `${mnt}/`, `${src}/top.txt`]);
    expect(ours).toEqual(resticSelects(['--one-file-system'], [src], src));
    expect(scan.otherFileSystems).toEqual([mnt]);
  });

  it('crosses the mount without the option, and stays on a source that is itself the mount', async () => {
    const all = await scanSources([src], []);
    expect(scanned(all.roots.map((r) => r.entry))).toContain(`${mnt}/deeper/more.txt`);
    expect(all.otherFileSystems).toEqual([]);
    const own = await scanSources([mnt], [], undefined, new Set(), { oneFileSystem: true });
    expect(scanned(own.roots.map((r) => r.entry))).toEqual([`${mnt}/`, `${mnt}/deeper/`, `${mnt}/deeper/more.txt`, `${mnt}/other.txt`]);
    expect(own.otherFileSystems).toEqual([]);
  });
});
