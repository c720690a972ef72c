// The round-trip suite's own parts, without the engine: content is deterministic and of the kind it
// says, paths survive their printed form, the comparison catches every kind of difference (a checker
// that misses one would let that bug through), the mutations do what they say, and the quick run's
// scenario has every threshold the brief of the suite names.
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { contentInto, createFile, writeContent, CONTENT_KINDS } from './content.js';
import { materializeTree, setTimeNs, type MutationSpec, type TreeSpec } from './gen.js';
import { BYTE_THRESHOLDS, COUNT_THRESHOLDS, HUGE_FILE_BYTES, missingThresholds, MiB } from './limits.js';
import { compareTree, displayPath, joinBytes, pathBytes, takeManifest, type DifferenceKind } from './manifest.js';
import { applyMutation, type ChainState } from './mutate.js';
import { profileArb } from './run.js';

const CI_SEED = Number(process.env['AZB_ROUNDTRIP_SEED'] ?? 20260101);

describe('round-trip content', () => {
  it('is the same bytes however it is written, and of the kind it says', () => {
    const dir = tempDir('azb-rt-lib-');
    const size = 9 * MiB + 12345;
    for (const kind of CONTENT_KINDS) {
      const whole = join(dir, `${kind}-whole`);
      createFile(Buffer.from(whole), kind, 42, size);
      // The same content written in odd pieces, back to front.
      const pieces = join(dir, `${kind}-pieces`);
      const fd = openSync(pieces, 'w');
      if (kind === 'sparse') ftruncateSync(fd, size);
      const cuts = [0, 1, 777, 65_535, 65_536, 4 * MiB + 3, 8 * MiB, size];
      for (let i = cuts.length - 2; i >= 0; i--) writeContent(fd, kind, 42, size, cuts[i]!, cuts[i + 1]! - cuts[i]!);
      closeSync(fd);
      const a = readFileSync(whole);
      expect(a.length).toBe(size);
      expect(readFileSync(pieces).equals(a), kind).toBe(true);
      const view = Buffer.alloc(1000);
      contentInto(kind, 42, size, 5 * MiB, view);
      expect(view.equals(a.subarray(5 * MiB, 5 * MiB + 1000)), kind).toBe(true);
      const ratio = zstdCompressSync(a.subarray(0, 4 * MiB)).length / (4 * MiB);
      if (kind === 'random') expect(ratio).toBeGreaterThan(0.99);
      if (kind === 'text') expect(ratio).toBeLessThan(0.75);
      if (kind === 'zero') expect(a.every((b) => b === 0)).toBe(true);
      if (kind === 'sparse') expect(Number(lstatSync(whole, { bigint: true }).blocks) * 512).toBeLessThan(size / 2);
    }
    expect(readFileSync(join(dir, 'random-whole')).equals(readFileSync(join(dir, 'text-whole')))).toBe(false);
  });
});

describe('round-trip paths', () => {
  it('turn any bytes into a printable form and back', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const shown = displayPath(bytes);
      expect(pathBytes(shown).equals(Buffer.from(bytes))).toBe(true);
      expect(/[\x00-\x1f\\]/.test(shown.replace(/\\x[0-9a-f]{2}/g, ''))).toBe(false);
    }), { seed: CI_SEED, numRuns: 500 });
    expect(displayPath(Buffer.from('café'))).toBe('café');
    expect(displayPath(Buffer.from([0x61, 0xff, 0x5c]))).toBe('a\\xff\\x5c');
  });
});

/** A small tree with every kind of entry: hard links, a byte name, links, times before 1970. */
const smallTree: TreeSpec = {
  dirs: [{ parent: 0, name: 'docs', mode: 0o750, mtime: { s: -100_000, us: 5 }, owner: null }, { parent: 1, name: 'empty', mode: 0o700, mtime: null, owner: null }],
  files: [
    { dir: 1, name: 'a.txt', size: 5000, kind: 'text', seed: 1, mode: 0o644, mtime: { s: 1_600_000_000, us: 123_456 }, owner: null },
    { dir: 0, name: 'b\\xff\\xfe.bin', size: 70_000, kind: 'random', seed: 2, mode: 0o600, mtime: { s: -5_000_000, us: 1 }, owner: null },
    { dir: 0, name: 'holes.img', size: 3 * MiB, kind: 'sparse', seed: 3, mode: 0o644, mtime: null, owner: null },
  ],
  links: [{ dir: 0, name: 'rel', target: { to: 'relative', entry: 2 }, mtime: { s: -1, us: 0 } }, { dir: 1, name: 'gone', target: { to: 'dangling', text: 'x' }, mtime: null }],
  hardlinks: [{ file: 0, names: [{ dir: 0, name: 'a-again.txt' }, { dir: 2, name: 'a-third.txt' }] }],
  groups: [],
  crowds: [{ count: 3, maxSize: 100, seed: 4 }],
  rootMtime: { s: 1_000_000_000, us: 0 },
};

describe('round-trip comparison', () => {
  function copyOf(src: string, to: string): void {
    const r = spawnSync('cp', ['-a', src, to]);
    expect(r.status, r.stderr.toString()).toBe(0);
  }
  const kindsOf = (diffs: { kind: DifferenceKind }[]) => [...new Set(diffs.map((d) => d.kind))].sort();

  it('finds nothing between a tree and an exact copy, and each kind of difference when there is one', () => {
    const dir = tempDir('azb-rt-cmp-');
    const src = join(dir, 'src');
    materializeTree(src, smallTree);
    const m = takeManifest(src);
    expect([...m.values()].some((r) => r.mtimeNs < 0n)).toBe(true);
    expect([...m.keys()]).toContain('b\\xff\\xfe.bin');
    expect(m.get('docs/a.txt')!.nlink).toBe(3);
    // user.* attributes, set by materializeTree, are part of the manifest (binary values included).
    expect([...m.values()].filter((r) => r.xattrs !== undefined).length).toBeGreaterThan(0);
    const fresh = (name: string) => { const p = join(dir, name); copyOf(src, p); return p; };
    expect(compareTree(m, fresh('same'))).toEqual([]);

    // Each change, then every other entry's time put back as it was: only the change itself differs.
    const putTimesBack = (p: string) => {
      for (const [rel, want] of m) {
        const path = joinBytes(Buffer.from(p), pathBytes(rel));
        let st;
        try { st = lstatSync(path); } catch { continue; }
        if ((st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file') === want.type) setTimeNs(path, want.mtimeNs, want.type === 'symlink');
      }
    };
    const cases: [DifferenceKind, (p: string) => void][] = [
      ['content', (p) => { const f = join(p, 'docs', 'a.txt'); const b = readFileSync(f); b[100] = b[100]! ^ 1; writeFileSync(f, b); }],
      ['size', (p) => writeFileSync(join(p, 'holes.img'), 'short')],
      ['missing', (p) => rmSync(join(p, 'docs', 'empty'), { recursive: true })],
      ['type', (p) => { unlinkSync(join(p, 'rel')); mkdirSync(join(p, 'rel')); }],
      ['hard link', (p) => { const f = join(p, 'a-again.txt'); copyFileSync(f, f + '.tmp'); unlinkSync(f); linkSync(f + '.tmp', f); unlinkSync(f + '.tmp'); }],
      ['link target', (p) => { const l = join(p, 'docs', 'gone'); unlinkSync(l); symlinkSync('elsewhere', l); }],
      ['mode', (p) => chmodSync(join(p, 'docs'), 0o755)],
      ['xattrs', (p) => spawnSync('setfattr', ['-n', 'user.extra', '-v', '1', join(p, 'docs')])],
      ['unexpected', (p) => writeFileSync(join(p, 'docs', 'extra'), 'x')],
    ];
    const afterwards: [DifferenceKind, (p: string) => void][] = [
      ['mtime before 1970', (p) => utimesSync(join(p, 'docs'), new Date(), new Date())],
      ['mtime', (p) => setTimeNs(Buffer.from(join(p, 'holes.img')), m.get('holes.img')!.mtimeNs + 3000n)],
    ];
    for (const [kind, change, after] of [...cases.map(([k, c]) => [k, c, false] as const), ...afterwards.map(([k, c]) => [k, c, true] as const)]) {
      const p = fresh(kind.replace(/ /g, '-'));
      if (!after) change(p);
      putTimesBack(p);
      if (after) change(p);
      const diffs = compareTree(m, p);
      expect(kindsOf(diffs), `${kind}: ${JSON.stringify(diffs)}`).toEqual([kind]);
    }
    // A restore without --preserve-setuid clears setuid/setgid on files, and only there.
    const setuid = join(dir, 'setuid-src');
    materializeTree(setuid, { ...smallTree, files: [{ ...smallTree.files[0]!, mode: 0o4755 }], hardlinks: [], dirs: [{ ...smallTree.dirs[0]!, mode: 0o2775 }] });
    const ms = takeManifest(setuid);
    const kept = fresh('kept');
    rmSync(kept, { recursive: true });
    copyOf(setuid, kept);
    const cleared = fresh('cleared');
    rmSync(cleared, { recursive: true });
    copyOf(setuid, cleared);
    chmodSync(join(cleared, 'docs', 'a.txt'), 0o755);
    expect(compareTree(ms, kept)).toEqual([]);
    expect(compareTree(ms, cleared, { setuidCleared: true })).toEqual([]);
    expect(kindsOf(compareTree(ms, cleared))).toEqual(['mode']);
    expect(kindsOf(compareTree(ms, kept, { setuidCleared: true }))).toEqual(['mode']);
    // Within the tolerance (the engine keeps µs), no difference.
    const near = fresh('near');
    setTimeNs(Buffer.from(join(near, 'holes.img')), m.get('holes.img')!.mtimeNs + 1500n);
    expect(compareTree(m, near)).toEqual([]);
  });
});

describe('round-trip mutations', () => {
  const ops: MutationSpec[] = [
    { op: 'append', file: 1, bytes: 1000, kind: 'random', seed: 1 },
    { op: 'truncate', file: 2, permille: 500, grow: 0 },
    { op: 'overwrite', file: 3, permille: 10, bytes: 100, kind: 'text', seed: 2 },
    { op: 'fileToDir', file: 4 },
    { op: 'rename', entry: 5, dir: 1, name: 'renamed\\xff' },
    { op: 'delete', entry: 6 },
    { op: 'create', file: { dir: 2, name: 'new', size: 10, kind: 'zero', seed: 1, mode: 0o640, mtime: { s: -3, us: 0 }, owner: null } },
    { op: 'touch', entry: 0, mtime: { s: -7, us: 7 } },
    { op: 'chmod', entry: 1, mode: 0o1777 },
    { op: 'hardlink', file: 0, dir: 0, name: 'more' },
    { op: 'swap', a: 0, b: 1 },
    { op: 'retarget', link: 0, target: { to: 'outside', path: '/' } },
  ];

  it('each changes the tree, and a folder made from a file turns back into a file at a later step', () => {
    const dir = tempDir('azb-rt-mut-');
    const src = join(dir, 'src');
    materializeTree(src, smallTree);
    const state: ChainState = { step: 1, wereFiles: [] };
    for (const m of [...ops, { op: 'fileToDir', file: 2 } as const]) {
      const before = takeManifest(src);
      const did = applyMutation(src, m, state);
      expect(did, m.op).not.toMatch(/^\(nothing to do\)/);
      expect(takeManifest(src), `${m.op}: ${did}`).not.toEqual(before);
    }
    const was = state.wereFiles[0]!.path;
    expect(lstatSync(was).isDirectory()).toBe(true);
    state.step = 2;
    expect(applyMutation(src, { op: 'dirToFile', dir: 0, size: 5, kind: 'text', seed: 1 }, state)).toContain(displayPath(was.subarray(Buffer.from(src).length + 1)));
    expect(lstatSync(was).isFile()).toBe(true);
  });

  it('"same size, old mtime" changes the bytes and the ctime only', () => {
    const dir = tempDir('azb-rt-same-');
    const src = join(dir, 'src');
    materializeTree(src, smallTree);
    const file = joinBytes(Buffer.from(src), pathBytes('b\\xff\\xfe.bin'));
    const before = lstatSync(file, { bigint: true });
    const content = readFileSync(file);
    const did = applyMutation(src, { op: 'sameSizeOldMtime', file: 1, permille: 500, bytes: 10 }, { step: 1, wereFiles: [] });
    const after = lstatSync(file, { bigint: true });
    expect(did).toMatch(/^same-size change of 10 B at 35000 in b\\xff\\xfe.bin/);
    expect(did).not.toContain('not exactly');
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    expect(readFileSync(file).equals(content)).toBe(false);
  });
});

describe('the quick run (npm test) scenario', () => {
  it('has every threshold, a file of 300 MiB or more, the 1–2 MiB-then-large group and every kind of mutation', () => {
    const [sc] = fc.sample(profileArb('thresholds'), { seed: CI_SEED, numRuns: 1 });
    const tree = sc!.servers[0]!.tree;
    const sizes = tree.files.map((f) => f.size);
    expect(missingThresholds(sizes)).toEqual([]);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(HUGE_FILE_BYTES);
    for (const [name, count] of Object.entries(COUNT_THRESHOLDS)) expect(tree.crowds.some((c) => c.count > count), name).toBe(true);
    const g = tree.groups.find((x) => x.inRoot && x.fillers === 1 && x.bigKind === 'random')!;
    expect(g.bigSize).toBeGreaterThanOrEqual(40 * MiB);
    expect(g.bigSize).toBeLessThanOrEqual(70 * MiB);
    expect(g.prefixSize).toBeGreaterThanOrEqual(1 * MiB);
    expect(g.prefixSize).toBeLessThanOrEqual(2 * MiB);
    // Nothing else in the root: the group's files are the backup's first three reads (workers A, B, A).
    expect(tree.files.every((f) => f.dir % (tree.dirs.length + 1) !== 0)).toBe(true);
    const allOps = ['append', 'truncate', 'overwrite', 'sameSizeOldMtime', 'fileToDir', 'dirToFile', 'rename', 'delete', 'create', 'touch', 'chmod', 'hardlink', 'swap', 'retarget'];
    for (const step of sc!.servers[0]!.steps) expect(new Set(step.mutations.map((m) => m.op))).toEqual(new Set(allOps));
    expect(Object.keys(BYTE_THRESHOLDS).length).toBeGreaterThanOrEqual(11);
  });

  it('on Azurite: two servers, three points each after every kind of mutation, forget and prune', () => {
    const [sc] = fc.sample(profileArb('servers'), { seed: CI_SEED, numRuns: 1 });
    expect(sc!.backend).toBe('azurite');
    expect(sc!.servers).toHaveLength(2);
    for (const s of sc!.servers) {
      expect(s.steps).toHaveLength(2);
      for (const step of s.steps) for (const op of ['fileToDir', 'dirToFile', 'sameSizeOldMtime', 'append', 'truncate', 'overwrite', 'rename', 'delete', 'create']) expect(step.mutations.map((m) => m.op)).toContain(op);
    }
    for (const s of sc!.servers) expect(s.tree.groups[0]).toMatchObject({ inRoot: true, fillers: 1, prefixKind: 'random', bigKind: 'random' });
    expect(sc!.servers.some((s) => s.steps.some((st) => st.forget.length > 0))).toBe(true);
    expect(sc!.servers.some((s) => s.steps.some((st) => st.prune))).toBe(true);
  });
});
