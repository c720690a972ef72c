// The scan keeps each folder's files and links packed (ScanDir) and the backup makes entry objects of a
// folder only when it reaches it, so memory does not grow with the file count; unchanged files take a
// synchronous path. Counts, not times: the entries held at once, the files a re-run found unchanged, and
// the trees it wrote (an unchanged re-run must write the very same root tree).
import { lstatSync, mkdirSync, readFileSync, symlinkSync, linkSync, truncateSync, utimesSync, writeFileSync, appendFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES_AHEAD, runBackup } from '../../core/backup/archiver.js';
import { bytesOf, ScanDir, scanSources, type ScanEntry } from '../../core/backup/scanner.js';
import { JsonSink } from '../../core/protocol/events.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const FOLDERS = 6;
const SUBFOLDERS = 5;
const FILES_PER_FOLDER = 40;
const TOTAL_FILES = FOLDERS * FILES_PER_FOLDER * (1 + SUBFOLDERS);

describe('scan memory', () => {
  let fx: VaultFixture;
  let src: string;
  beforeAll(async () => {
    fx = await registeredServer();
    src = join(fx.root, 'src');
    for (let f = 0; f < FOLDERS; f++) {
      const dir = join(src, `f${f}`);
      for (let s = 0; s < SUBFOLDERS; s++) mkdirSync(join(dir, `s${s}`), { recursive: true });
      for (let i = 0; i < FILES_PER_FOLDER; i++) {
        writeFileSync(join(dir, `a${i}.txt`), `folder ${f} file ${i}\n`.repeat(1 + i));
        for (let s = 0; s < SUBFOLDERS; s++) writeFileSync(join(dir, `s${s}`, `b${i}.txt`), `folder ${f}/${s} file ${i}\n`.repeat(1 + i));
      }
    }
  });

  it('gives back every field of every kind of entry as lstat has it, the same objects until dropped', async () => {
    const dir = join(fx.root, 'kinds');
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'plain'), 'plain');
    writeFileSync(join(dir, 'old'), 'before 1970');
    utimesSync(join(dir, 'old'), new Date(-86_400_500), new Date(-1_000_000_000_250)); // before 1970: negative times (ns)
    writeFileSync(join(dir, 'sparse'), 'x');
    truncateSync(join(dir, 'sparse'), 64 * 1024 * 1024);
    writeFileSync(join(dir, 'linked'), 'two names');
    linkSync(join(dir, 'linked'), join(dir, 'linked2'));
    symlinkSync('plain', join(dir, 'link'));
    // Names that are not UTF-8, with a newline and a backslash: raw bytes, as latin1.
    const odd = Buffer.concat([Buffer.from(`${dir}/odd\n\\`), Buffer.from([0xff, 0xfe])]);
    closeSync(openSync(odd, 'w'));
    const scan = await scanSources([dir], []);
    const root = scan.roots[0]!.entry;
    expect(root).toBeInstanceOf(ScanDir);
    const children = root.children!;
    expect(root.children).toBe(children); // read twice: the same objects
    const names = children.map((c) => c.name).sort();
    expect(names).toEqual(['empty', 'link', 'linked', 'linked2', 'old', bytesOf(odd.toString('latin1')).subarray(dir.length + 1).toString('latin1'), 'plain', 'sparse', 'sub'].sort());
    for (const c of children) {
      const st = lstatSync(bytesOf(c.path), { bigint: true });
      expect(c.path).toBe(`${dir}/${c.name}`);
      expect(c.kind).toBe(st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file');
      expect(c.st, c.name).toEqual({
        mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), nlink: Number(st.nlink),
        sparse: st.blocks * 512n < st.size, mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), dev: st.dev.toString(), ino: st.ino.toString(),
      });
    }
    const byName = new Map(children.map((c) => [c.name, c]));
    expect(byName.get('old')!.st.mtimeNs.startsWith('-')).toBe(true);
    expect(byName.get('sparse')!.st.sparse).toBe(true);
    expect(byName.get('linked')!.st.nlink).toBe(2);
    expect(byName.get('empty')!.children).toEqual([]);
    expect(byName.get('sub')!.children!.map((c) => c.name)).toEqual(['deeper']);
    // Paths listed without making entries (the extended-attribute read) are the same paths.
    const fresh = (await scanSources([dir], [])).roots[0]!.entry as ScanDir;
    const listed = [...fresh.childPaths()];
    expect(listed.map((l) => l.path).sort()).toEqual(children.map((c) => c.path).sort());
    expect(listed.filter((l) => l.dir !== undefined).map((l) => l.dir!.name).sort()).toEqual(['empty', 'sub']);
    // Dropped: the folder's entries go.
    root.children = undefined;
    expect(root.children).toBeUndefined();
  });

  it(`holds the entries of a few folders at a time (${TOTAL_FILES} files: at most ${FILES_AHEAD} ahead and the folders being walked); an unchanged re-run writes the same root tree, a changed file a new one`, async () => {
    const { vault, repo, key } = await craftingPoints(fx);
    const cacheDir = join(fx.root, 'cache-here');
    mkdirSync(cacheDir);
    const backup = async () => {
      const before = ScanDir.unpacked.now;
      const scan = await scanSources([src], []);
      expect(scan.files).toBe(TOTAL_FILES);
      // The scan itself made no entry objects of files.
      expect(ScanDir.unpacked.now).toBe(before);
      ScanDir.unpacked.peak = before;
      const warnings: string[] = [];
      const sink = new JsonSink((l) => { const e = JSON.parse(l) as { type: string; message?: string }; if (e.type === 'warning') warnings.push(e.message ?? ''); });
      const r = await runBackup(repo, { sources: [src], excludes: [], scan: Promise.resolve(scan), cacheDir, signingKey: key, tags: [], signal: new AbortController().signal, sink });
      expect(warnings).toEqual([]);
      // Every folder's entries were dropped when it was done.
      expect(ScanDir.unpacked.now).toBe(before);
      return { manifest: r.manifest, peak: ScanDir.unpacked.peak - before };
    };
    try {
      const first = await backup();
      expect(first.manifest.stats.filesNew).toBe(TOTAL_FILES);
      // Files ahead of the walk, plus the folders on the path being walked (root, folder, sub-folder),
      // plus the next folder the walk ahead has opened.
      const bound = FILES_AHEAD + (3 + 1) * (FILES_PER_FOLDER + SUBFOLDERS + FOLDERS);
      expect(first.peak).toBeGreaterThan(0);
      expect(first.peak).toBeLessThanOrEqual(bound);
      expect(bound).toBeLessThan(TOTAL_FILES / 4);

      const again = await backup();
      expect(again.manifest.stats).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnchanged: TOTAL_FILES, bytesRead: 0, blobsAdded: 0 });
      expect(again.peak).toBeLessThanOrEqual(bound);
      // The synchronous path for unchanged files makes exactly the nodes a read makes.
      expect(again.manifest.tree).toBe(first.manifest.tree);

      appendFileSync(join(src, 'f3', 's2', 'b7.txt'), 'one more line\n');
      const changed = await backup();
      expect(changed.manifest.stats).toMatchObject({ filesNew: 0, filesChanged: 1, filesUnchanged: TOTAL_FILES - 1 });
      expect(changed.manifest.tree).not.toBe(first.manifest.tree);
    } finally {
      await vault.store.close();
    }
    // What the last point holds is the source, byte for byte.
    const target = join(fx.root, 'restored');
    const restored = await fx.az(['restore', 'latest', '--target', target]);
    expect(restored.code, restored.stdout.slice(-800)).toBe(0);
    let compared = 0;
    for (let f = 0; f < FOLDERS; f++) for (let i = 0; i < FILES_PER_FOLDER; i++) for (const rel of [`f${f}/a${i}.txt`, ...Array.from({ length: SUBFOLDERS }, (_, s) => `f${f}/s${s}/b${i}.txt`)]) {
      expect(readFileSync(join(target, src, rel)).equals(readFileSync(join(src, rel))), rel).toBe(true);
      compared++;
    }
    expect(compared).toBe(TOTAL_FILES);
  });
});
