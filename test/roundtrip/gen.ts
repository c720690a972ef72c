// Scenarios for the round-trip suite, as plain data that fast-check generates and shrinks: source trees
// (sizes at every read-path threshold, five kinds of content, tiny files, hard links, symbolic links,
// empty folders, names that are not UTF-8, times before 1970) and incremental chains of mutations.
// Entries are referred to by index (modulo what exists), so any shrunk scenario is still valid.
// materializeTree() writes a tree; mutate.ts applies the mutations.
import fc from 'fast-check';
import { chmodSync, chownSync, linkSync, lstatSync, lutimesSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { posix } from 'node:path';
import { CONTENT_KINDS, createFile, type ContentKind } from './content.js';
import { COUNT_THRESHOLDS, HUGE_FILE_BYTES, KiB, MiB, powerOfTwoSizes, thresholdSizes } from './limits.js';
import { joinBytes, pathBytes } from './manifest.js';
import { quoteBytes } from '../../core/fs/xattr.js';

const isRoot = process.getuid?.() === 0;

/** A modification time: seconds since 1970 (negative before) and microseconds; null leaves the time of creation. */
export interface TimeSpec { s: number; us: number }
export type Owner = [uid: number, gid: number] | null;

/** `dir` indexes the tree's folders: 0 is the root, i + 1 is dirs[i]. Names are displayPath strings. */
export interface FileSpec { dir: number; name: string; size: number; kind: ContentKind; seed: number; mode: number; mtime: TimeSpec | null; owner: Owner }
export interface DirSpec { parent: number; name: string; mode: number; mtime: TimeSpec | null; owner: Owner }
export type LinkTarget =
  | { to: 'relative' | 'absolute'; entry: number }
  | { to: 'outside'; path: string }
  | { to: 'dangling'; text: string };
export interface LinkSpec { dir: number; name: string; target: LinkTarget; mtime: TimeSpec | null }
/** More names for files[file]: a group of 2–3 names. */
export interface HardLinkSpec { file: number; names: { dir: number; name: string }[] }
/**
 * A folder of its own (or the root, `inRoot`): a 1–2 MiB file, then `fillers` tiny files, then a large
 * file, read in that order. Files go to the read workers in turn, so the filler count decides whether the
 * large file is read right after the 1–2 MiB one by the same worker (whose chunker buffers it reuses):
 * in the root of a tree with no other root files, one filler makes it so (jobs 1, 2, 3 → workers A, B, A).
 */
export interface PrefixGroupSpec { inRoot: boolean; prefixSize: number; prefixKind: ContentKind; fillers: number; bigSize: number; bigKind: ContentKind; seed: number }
/** Many small files in one folder (counts around the files-started-ahead and worker-outbox limits). */
export interface CrowdSpec { count: number; maxSize: number; seed: number }

export interface TreeSpec {
  dirs: DirSpec[];
  files: FileSpec[];
  links: LinkSpec[];
  hardlinks: HardLinkSpec[];
  groups: PrefixGroupSpec[];
  crowds: CrowdSpec[];
  rootMtime: TimeSpec | null;
}

export type MutationSpec =
  | { op: 'append'; file: number; bytes: number; kind: ContentKind; seed: number }
  | { op: 'truncate'; file: number; permille: number; grow: number }
  | { op: 'overwrite'; file: number; permille: number; bytes: number; kind: ContentKind; seed: number }
  /** Same size, different bytes, and the mtime put back: only ctime (and the content) tell it changed. */
  | { op: 'sameSizeOldMtime'; file: number; permille: number; bytes: number }
  | { op: 'fileToDir'; file: number }
  | { op: 'dirToFile'; dir: number; size: number; kind: ContentKind; seed: number }
  | { op: 'rename'; entry: number; dir: number; name: string }
  | { op: 'delete'; entry: number }
  | { op: 'create'; file: FileSpec }
  | { op: 'touch'; entry: number; mtime: TimeSpec }
  | { op: 'chmod'; entry: number; mode: number }
  | { op: 'hardlink'; file: number; dir: number; name: string }
  | { op: 'swap'; a: number; b: number }
  | { op: 'retarget'; link: number; target: LinkTarget };

/** One backup after `mutations`; then `forget` (indexes of earlier points) and an optional prune. */
export interface StepSpec { mutations: MutationSpec[]; forget: number[]; prune: boolean }

/** One server: its tree, its chain (the first backup is of the tree as made), and the seed that picks items to restore. */
export interface ServerPlan { tree: TreeSpec; steps: StepSpec[]; itemSeed: number }

export type Backend = 'local' | 'azurite';
export interface Scenario { backend: Backend; servers: ServerPlan[] }

// ---------------------------------------------------------------------------------------------------
// Arbitraries

const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

/** Names: mostly plain, some UTF-8, some not UTF-8 (Linux names are bytes), one 255 bytes long. */
const plainName = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,11}$/).filter((n) => n !== '.' && n !== '..');
const oddNames = ['café', 'naïve 文書', 'emoji 😀', ' leading space', 'trailing space ', '-dash', '.hidden', 'MiXeD Case', 'semi;colon', "quote'd", 'star*', 'q?', 'brackets[1]'];
const byteNames = ['name\\xff\\xfe.txt', '\\x80', 'l\\xe9gacy', '\\xc3\\x28', 'surrogate-\\xed\\xa0\\x80', 'long-\\xf8\\x88\\x80\\x80\\x80', 'tab\\x09in', 'nl\\x0ain'];
export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: plainName },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...oddNames), fc.nat(99)).map(([n, i]) => `${n}${i}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...byteNames), fc.nat(99)).map(([n, i]) => `${n}${i}`) },
  { weight: 1, arbitrary: fc.constant('L'.repeat(251) + '.txt') },
);

/** Mostly recent times, some before 1970 (to 1901), the epoch itself, and after 2038. */
export const timeArb: fc.Arbitrary<TimeSpec | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 5, arbitrary: fc.record({ s: fc.integer({ min: 946_684_800, max: 1_893_456_000 }), us: fc.integer({ min: 0, max: 999_999 }) }) },
  { weight: 2, arbitrary: fc.record({ s: fc.integer({ min: -2_147_483_647, max: -1 }), us: fc.integer({ min: 0, max: 999_999 }) }) },
  { weight: 1, arbitrary: fc.constantFrom<TimeSpec>({ s: 0, us: 0 }, { s: -1, us: 999_999 }, { s: -1, us: 0 }, { s: 4_102_444_800, us: 1 }) },
);
/** Only times before 1970. */
export const oldTimeArb: fc.Arbitrary<TimeSpec> = fc.record({ s: fc.integer({ min: -2_147_483_647, max: -1 }), us: fc.integer({ min: 0, max: 999_999 }) });

// Read-only files and folders only as root: mutations write into them.
const fileModeArb = fc.constantFrom(0o644, 0o600, 0o755, 0o640, 0o700, 0o4755, 0o664, ...(isRoot ? [0o444] : []));
const dirModeArb = fc.constantFrom(0o755, 0o700, 0o750, 0o1777, 0o2775, ...(isRoot ? [0o555] : []));
const ownerArb: fc.Arbitrary<Owner> = isRoot ? fc.constantFrom<Owner>(null, null, [1234, 5678], [65534, 65534]) : fc.constant(null);
export const kindArb: fc.Arbitrary<ContentKind> = fc.constantFrom(...CONTENT_KINDS);

/**
 * File sizes up to `max`: tiny, every threshold (just below, at, just above, multiples), powers of two
 * (±1), and anything in between.
 */
export function sizeArb(max: number): fc.Arbitrary<number> {
  const thresholds = thresholdSizes(max);
  const powers = powerOfTwoSizes(max);
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: Math.min(max, 4 * KiB) }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: Math.min(max, 600 * KiB) }) },
    { weight: 4, arbitrary: fc.constantFrom(...thresholds) },
    { weight: 2, arbitrary: fc.constantFrom(...powers) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max }) },
  );
}

function fileArb(o: { maxSize: number; dirs: number }): fc.Arbitrary<FileSpec> {
  return fc.record({ dir: fc.nat(o.dirs), name: nameArb, size: sizeArb(o.maxSize), kind: kindArb, seed: seedArb, mode: fileModeArb, mtime: timeArb, owner: ownerArb });
}

const linkTargetArb: fc.Arbitrary<LinkTarget> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ to: fc.constant('relative' as const), entry: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ to: fc.constant('absolute' as const), entry: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ to: fc.constant('outside' as const), path: fc.constantFrom('/etc/hostname', '/', '/nonexistent/deep/target') }) },
  { weight: 2, arbitrary: fc.record({ to: fc.constant('dangling' as const), text: fc.constantFrom('missing', '../../../../../../../../etc/passwd-nope', 'bad-\\xff-target', 'dir/', 'sp ace', '.') }) },
);

export interface TreeLimits {
  /** Largest ordinary file. */
  maxFileBytes: number;
  maxFiles: number;
  maxDirs: number;
  /** How many 1–2 MiB-then-large groups; their large file is 17 MiB to this many bytes. */
  groups: [min: number, max: number];
  maxGroupBigBytes: number;
  crowds: number;
  /** One tree in this many has a file of at least 300 MiB (mostly holes or text); 0: none. */
  hugeChance: number;
  /**
   * The first group goes into the root with one filler and random content, and nothing else does: its
   * large file is then certainly read right after its 1–2 MiB file by the same worker.
   */
  firstGroupInRoot?: boolean;
}

export function treeArb(l: TreeLimits): fc.Arbitrary<TreeSpec> {
  const tree = fc.record({
    dirs: fc.array(fc.record({ parent: fc.nat(1000), name: nameArb, mode: dirModeArb, mtime: timeArb, owner: ownerArb }), { maxLength: l.maxDirs }),
    files: fc.tuple(fc.array(fileArb({ maxSize: l.maxFileBytes, dirs: 1000 }), { maxLength: l.maxFiles }), l.hugeChance > 0 ? fc.oneof({ weight: l.hugeChance - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hugeFileArb(1000) }) : fc.constant(undefined))
      .map(([files, huge]) => (huge ? [...files, huge] : files)),
    links: fc.array(fc.record({ dir: fc.nat(1000), name: nameArb, target: linkTargetArb, mtime: timeArb }), { maxLength: 6 }),
    hardlinks: fc.array(fc.record({ file: fc.nat(1000), names: fc.array(fc.record({ dir: fc.nat(1000), name: nameArb }), { minLength: 1, maxLength: 2 }) }), { maxLength: 3 }),
    groups: fc.array(groupArb(l.maxGroupBigBytes), { minLength: l.groups[0], maxLength: l.groups[1] }),
    crowds: fc.array(crowdArb, { maxLength: l.crowds }),
    rootMtime: timeArb,
  });
  return l.firstGroupInRoot ? tree.map(firstGroupInRoot) : tree;
}

/** See TreeLimits.firstGroupInRoot: the tree's other files, links and hard links move out of the root. */
function firstGroupInRoot(t: TreeSpec): TreeSpec {
  const dirs = t.dirs.length > 0 ? t.dirs : [{ parent: 0, name: 'sub', mode: 0o755, mtime: null, owner: null }];
  const notRoot = (d: number) => 1 + (d % dirs.length);
  return {
    ...t,
    dirs,
    files: t.files.map((f) => ({ ...f, dir: notRoot(f.dir) })),
    links: t.links.map((l) => ({ ...l, dir: notRoot(l.dir) })),
    hardlinks: t.hardlinks.map((h) => ({ ...h, names: h.names.map((n) => ({ ...n, dir: notRoot(n.dir) })) })),
    groups: t.groups.map((g, i) => (i === 0 ? { ...g, inRoot: true, fillers: 1, prefixKind: 'random' as const, bigKind: 'random' as const } : { ...g, inRoot: false })),
  };
}

/** A file of at least 300 MiB: mostly holes, or (less often) text or mixed runs written out. */
export function hugeFileArb(dir: number): fc.Arbitrary<FileSpec> {
  return fc.record({
    dir: fc.constant(dir), name: fc.constant('huge.img'), size: fc.integer({ min: HUGE_FILE_BYTES, max: HUGE_FILE_BYTES + 16 * MiB + 1 }),
    kind: fc.constantFrom<ContentKind>('sparse', 'sparse', 'sparse', 'mixed', 'text'), seed: seedArb, mode: fileModeArb, mtime: timeArb, owner: ownerArb,
  });
}

function groupArb(maxBig: number): fc.Arbitrary<PrefixGroupSpec> {
  return fc.record({
    inRoot: fc.boolean(),
    prefixSize: fc.integer({ min: 1 * MiB, max: 2 * MiB }),
    prefixKind: fc.constantFrom<ContentKind>('random', 'text', 'mixed'),
    fillers: fc.integer({ min: 0, max: 3 }),
    bigSize: fc.integer({ min: 17 * MiB, max: Math.max(17 * MiB, maxBig) }),
    bigKind: fc.constantFrom<ContentKind>('random', 'random', 'mixed', 'text'),
    seed: seedArb,
  });
}

const crowdArb: fc.Arbitrary<CrowdSpec> = fc.record({
  count: fc.constantFrom(...new Set(Object.values(COUNT_THRESHOLDS).flatMap((c) => [c - 1, c, c + 1]))),
  maxSize: fc.constantFrom(0, 600, 8 * KiB, 40 * KiB),
  seed: seedArb,
});

/** One arbitrary per kind of mutation. */
function mutationArbs(l: { maxFileBytes: number }): Record<MutationSpec['op'], fc.Arbitrary<MutationSpec>> {
  const idx = fc.nat(100_000);
  const bytes = fc.oneof(fc.integer({ min: 1, max: 64 * KiB }), fc.constantFrom(...thresholdSizes(Math.min(l.maxFileBytes, 20 * MiB)).filter((s) => s > 0)));
  return {
    append: fc.record({ op: fc.constant('append' as const), file: idx, bytes, kind: kindArb, seed: seedArb }),
    truncate: fc.record({ op: fc.constant('truncate' as const), file: idx, permille: fc.integer({ min: 0, max: 999 }), grow: fc.constantFrom(0, 0, 1, 4096, 5 * MiB) }),
    overwrite: fc.record({ op: fc.constant('overwrite' as const), file: idx, permille: fc.integer({ min: 0, max: 999 }), bytes, kind: kindArb, seed: seedArb }),
    sameSizeOldMtime: fc.record({ op: fc.constant('sameSizeOldMtime' as const), file: idx, permille: fc.integer({ min: 0, max: 999 }), bytes: fc.integer({ min: 1, max: 2 * MiB }) }),
    fileToDir: fc.record({ op: fc.constant('fileToDir' as const), file: idx }),
    dirToFile: fc.record({ op: fc.constant('dirToFile' as const), dir: idx, size: sizeArb(Math.min(l.maxFileBytes, 20 * MiB)), kind: kindArb, seed: seedArb }),
    rename: fc.record({ op: fc.constant('rename' as const), entry: idx, dir: idx, name: nameArb }),
    delete: fc.record({ op: fc.constant('delete' as const), entry: idx }),
    create: fc.record({ op: fc.constant('create' as const), file: fileArb({ maxSize: l.maxFileBytes, dirs: 100_000 }) }),
    touch: fc.record({ op: fc.constant('touch' as const), entry: idx, mtime: fc.oneof(timeArb.filter((t): t is TimeSpec => t !== null), oldTimeArb) }),
    chmod: fc.record({ op: fc.constant('chmod' as const), entry: idx, mode: fc.oneof(fileModeArb, dirModeArb) }),
    hardlink: fc.record({ op: fc.constant('hardlink' as const), file: idx, dir: idx, name: nameArb }),
    swap: fc.record({ op: fc.constant('swap' as const), a: idx, b: idx }),
    retarget: fc.record({ op: fc.constant('retarget' as const), link: idx, target: linkTargetArb }),
  };
}

/**
 * The mutations of one step. `everyOp`: one of each kind first (a folder that was a file turns back
 * into a file at the next step's dirToFile), then random ones.
 */
export function stepArb(l: { maxFileBytes: number; maxMutations: number; forget: boolean; everyOp?: boolean }): fc.Arbitrary<StepSpec> {
  const arbs = mutationArbs(l);
  const random = fc.array(fc.oneof(...Object.values(arbs)), { minLength: l.everyOp ? 0 : 1, maxLength: l.maxMutations });
  const mutations = l.everyOp
    ? fc.tuple(fc.tuple(...Object.values(arbs)), random).map(([each, more]) => [...each, ...more])
    : random;
  return fc.record({
    mutations,
    forget: l.forget ? fc.array(fc.nat(100), { maxLength: 1 }) : fc.constant([]),
    prune: l.forget ? fc.boolean() : fc.constant(false),
  });
}

export interface ProfileLimits extends TreeLimits { steps: [min: number, max: number]; maxMutations: number; forget: boolean; everyOp?: boolean; servers: [min: number, max: number]; backends: Backend[] }

export function serverPlanArb(l: ProfileLimits, tree: fc.Arbitrary<TreeSpec> = treeArb(l)): fc.Arbitrary<ServerPlan> {
  return fc.record({ tree, steps: fc.array(stepArb(l), { minLength: l.steps[0], maxLength: l.steps[1] }), itemSeed: seedArb });
}

export function scenarioArb(l: ProfileLimits, tree?: fc.Arbitrary<TreeSpec>): fc.Arbitrary<Scenario> {
  return fc.record({
    backend: fc.constantFrom(...l.backends),
    servers: fc.array(serverPlanArb(l, tree), { minLength: l.servers[0], maxLength: l.servers[1] }),
  });
}

/**
 * The tree with a file at every threshold size (T − 1, T, T + 1, 2T and, up to 64 MiB, 3T + 1; powers
 * of two to 32 MiB; kinds and seeds generated) plus a generated random part: the quick CI run's tree.
 * Files over 16 MiB are sparse, text or mixed (to keep the run short); random content is in the smaller
 * ones and in the 1–2 MiB-then-large group; one file of at least 300 MiB, mostly holes.
 */
export function thresholdTreeArb(l: TreeLimits): fc.Arbitrary<TreeSpec> {
  const sizes = [...new Set([...thresholdSizes(64 * MiB), ...powerOfTwoSizes(32 * MiB)])].sort((a, b) => a - b);
  const fixed = fc.tuple(...sizes.map((size, i) => fc.record({
    dir: fc.constant(1), name: fc.constant(`${String(i).padStart(3, '0')}-${size}`), size: fc.constant(size),
    kind: size > 16 * MiB ? fc.constantFrom<ContentKind>('sparse', 'sparse', 'text', 'mixed') : kindArb,
    seed: seedArb, mode: fileModeArb, mtime: timeArb, owner: ownerArb,
  })));
  const huge = hugeFileArb(2).map((f) => ({ ...f, kind: 'sparse' as const }));
  const crowds = fc.tuple(...Object.values(COUNT_THRESHOLDS).map((c) => fc.record({ count: fc.constant(c + 1), maxSize: fc.constantFrom(600, 8 * KiB), seed: seedArb })));
  return fc.tuple(treeArb(l), fixed, huge, crowds, fc.integer({ min: 40 * MiB, max: 70 * MiB }), fc.integer({ min: 1 * MiB, max: 2 * MiB }), seedArb)
    .map(([rand, fixedFiles, hugeFile, crowdList, bigSize, prefixSize, seed]) => {
      // dirs[0] (index 1) holds the threshold files, dirs[1] (index 2) the huge file; the random part's
      // folders follow. The root holds only the group every quick run has: 1–2 MiB, one filler, then
      // 40–70 MiB of random bytes, read by the same worker as the 1–2 MiB file.
      const t = firstGroupInRoot({
        dirs: [{ parent: 0, name: 'thresholds', mode: 0o755, mtime: null, owner: null }, { parent: 0, name: 'huge', mode: 0o755, mtime: null, owner: null }, ...rand.dirs],
        files: rand.files,
        links: rand.links,
        hardlinks: rand.hardlinks,
        groups: [{ inRoot: true, prefixSize, prefixKind: 'random', fillers: 1, bigSize, bigKind: 'random', seed }, ...rand.groups],
        crowds: [...crowdList, ...rand.crowds],
        rootMtime: rand.rootMtime,
      });
      // The fixed files go in after the move out of the root: they have their own folders already.
      return { ...t, files: [...fixedFiles, hugeFile, ...t.files] };
    });
}

// ---------------------------------------------------------------------------------------------------
// Making a tree

/** ns since 1970 of a TimeSpec. */
export function timeNs(t: TimeSpec): bigint {
  return BigInt(t.s) * 1_000_000_000n + BigInt(t.us) * 1000n;
}

function secondsText(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Sets atime and mtime to `ns` exactly when utimes() allows it. Times are given as strings: a negative
 * number would be taken as "now" by Node (times before 1970 need the string form). The double seconds
 * utimes() goes through can miss by a few ns, so nearby values are tried until lstat shows `ns`.
 * Returns whether the time is exact (else it is within 0.25 µs).
 */
export function setTimeNs(path: Buffer, ns: bigint, link = false): boolean {
  for (const d of [0n, -1n, 1n, -2n, 2n, -4n, 4n, -10n, 10n, -30n, 30n, -60n, 60n, -120n, 120n, -250n, 250n]) {
    const t = secondsText(ns + d);
    if (link) lutimesSync(path, t, t); else utimesSync(path, t, t);
    if (lstatSync(path, { bigint: true }).mtimeNs === ns) return true;
  }
  return false;
}

/** A name not used yet in `dir` (a suffix is added on a clash). */
export function uniqueName(used: Map<string, Set<string>>, dir: Buffer, name: Buffer): Buffer {
  const key = dir.toString('latin1');
  let set = used.get(key);
  if (!set) used.set(key, (set = new Set()));
  let candidate = name;
  for (let n = 2; set.has(candidate.toString('latin1')); n++) candidate = Buffer.concat([name.subarray(0, 240), Buffer.from(`~${n}`)]);
  set.add(candidate.toString('latin1'));
  return candidate;
}

/** A symbolic link's target bytes. `entries` are the tree's files and folders (absolute byte paths). */
export function linkTargetBytes(t: LinkTarget, linkDir: Buffer, entries: Buffer[]): Buffer {
  if (t.to === 'outside') return Buffer.from(t.path);
  if (t.to === 'dangling') return pathBytes(`no-such-${t.text}`);
  if (entries.length === 0) return Buffer.from('empty-tree-target');
  const target = entries[t.entry % entries.length]!;
  if (t.to === 'absolute') return target;
  const rel = posix.relative(linkDir.toString('latin1'), target.toString('latin1'));
  return Buffer.from(rel === '' ? '.' : rel, 'latin1');
}

function applyMeta(path: Buffer, mode: number, owner: Owner): void {
  if (owner && isRoot) chownSync(path, owner[0], owner[1]);
  chmodSync(path, mode); // after chown, which clears set-ID bits
}

/**
 * user.* extended attributes, derived from the spec (no draw of their own, so recorded seeds replay as
 * before): every third file by seed gets a binary value (every ninth also an empty one), every third
 * folder its name. One setfattr for the tree; an entry that refuses (non-root, read-only file) simply
 * has none, and the manifest, read from the disk, says so.
 */
function setUserXattrs(spec: TreeSpec, dirPaths: Buffer[], filePaths: Buffer[]): void {
  const dump: Buffer[] = [];
  const entry = (path: Buffer, attrs: [string, Buffer][]) => {
    dump.push(Buffer.from('# file: '), quoteBytes(path, [0x0a, 0x0d]), Buffer.from('\n'));
    for (const [n, v] of attrs) dump.push(Buffer.from(v.length === 0 ? `${n}=""\n` : `${n}=0s${v.toString('base64')}\n`));
    dump.push(Buffer.from('\n'));
  };
  spec.files.forEach((f, i) => {
    if ((f.seed >>> 0) % 3 !== 0 || !filePaths[i]) return;
    const value = Buffer.alloc(6);
    value.writeUInt32BE(f.seed >>> 0);
    value.writeUInt16BE(0x0a00, 4);
    entry(filePaths[i]!, (f.seed >>> 0) % 9 === 0 ? [['user.rt.seed', value], ['user.rt.empty', Buffer.alloc(0)]] : [['user.rt.seed', value]]);
  });
  spec.dirs.forEach((d, i) => { if (i % 3 === 1 && dirPaths[i + 1]) entry(dirPaths[i + 1]!, [['user.rt.dir', Buffer.from(d.name)]]); });
  if (dump.length > 0) spawnSync('setfattr', ['-h', '--restore=-'], { input: Buffer.concat(dump) });
}

/** Writes `spec` under `root` (created). Returns nothing: the manifest is taken from the disk. */
export function materializeTree(root: string, spec: TreeSpec): void {
  const rootBytes = Buffer.from(root);
  mkdirSync(rootBytes, { recursive: true });
  const used = new Map<string, Set<string>>();
  const dirPaths: Buffer[] = [rootBytes];
  const dirTimes: { path: Buffer; mtime: TimeSpec | null }[] = [];
  for (const [i, d] of spec.dirs.entries()) {
    const parent = dirPaths[d.parent % (i + 1)]!;
    const path = joinBytes(parent, uniqueName(used, parent, pathBytes(d.name)));
    mkdirSync(path);
    dirPaths.push(path);
    dirTimes.push({ path, mtime: d.mtime });
  }
  const filePaths: Buffer[] = [];
  const fileTimes: { path: Buffer; mtime: TimeSpec | null }[] = [];
  const dirOf = (i: number) => dirPaths[i % dirPaths.length]!;
  for (const f of spec.files) {
    const dir = dirOf(f.dir);
    const path = joinBytes(dir, uniqueName(used, dir, pathBytes(f.name)));
    createFile(path, f.kind, f.seed, f.size);
    applyMeta(path, f.mode, f.owner);
    filePaths.push(path);
    fileTimes.push({ path, mtime: f.mtime });
  }
  for (const [i, g] of spec.groups.entries()) {
    let dir: Buffer = rootBytes;
    if (!g.inRoot) {
      dir = joinBytes(rootBytes, uniqueName(used, rootBytes, Buffer.from(`group-${i}`)));
      mkdirSync(dir);
      dirPaths.push(dir);
    }
    const prefix = joinBytes(dir, uniqueName(used, dir, Buffer.from('0-prefix.bin')));
    createFile(prefix, g.prefixKind, g.seed, g.prefixSize);
    filePaths.push(prefix);
    for (let k = 0; k < g.fillers; k++) createFile(joinBytes(dir, uniqueName(used, dir, Buffer.from(`1-filler-${k}.txt`))), 'text', g.seed + k + 1, 100 + k);
    const big = joinBytes(dir, uniqueName(used, dir, Buffer.from('2-large.bin')));
    createFile(big, g.bigKind, g.seed + 17, g.bigSize);
    filePaths.push(big);
  }
  for (const [i, c] of spec.crowds.entries()) {
    const dir = joinBytes(rootBytes, uniqueName(used, rootBytes, Buffer.from(`crowd-${i}-${c.count}`)));
    mkdirSync(dir);
    dirPaths.push(dir);
    for (let k = 0; k < c.count; k++) {
      const size = c.maxSize === 0 ? 0 : (Math.imul(c.seed ^ (k * 2654435761), 0x9e3779b1) >>> 0) % (c.maxSize + 1);
      createFile(joinBytes(dir, Buffer.from(`f${String(k).padStart(4, '0')}`)), k % 3 === 0 ? 'random' : 'text', c.seed + k, size);
    }
  }
  for (const h of spec.hardlinks) {
    if (filePaths.length === 0) break;
    const file = filePaths[h.file % filePaths.length]!;
    for (const n of h.names) {
      const dir = dirOf(n.dir);
      linkSync(file, joinBytes(dir, uniqueName(used, dir, pathBytes(n.name))));
    }
  }
  setUserXattrs(spec, dirPaths, filePaths);
  const entries = [...dirPaths.slice(1), ...filePaths];
  const linkTimes: { path: Buffer; mtime: TimeSpec | null }[] = [];
  for (const l of spec.links) {
    const dir = dirOf(l.dir);
    const path = joinBytes(dir, uniqueName(used, dir, pathBytes(l.name)));
    symlinkSync(linkTargetBytes(l.target, dir, entries), path);
    linkTimes.push({ path, mtime: l.mtime });
  }
  // A file without a time of its own gets its own time to the µs through utimes(), so that a later
  // "same size, old mtime" change can put it back exactly (a time the kernel's clock set may not be
  // reachable through utimes' double seconds).
  for (const f of fileTimes) setTimeNs(f.path, f.mtime ? timeNs(f.mtime) : (lstatSync(f.path, { bigint: true }).mtimeNs / 1000n) * 1000n);
  for (const l of linkTimes) if (l.mtime) setTimeNs(l.path, timeNs(l.mtime), true);
  // Folders last, deepest first: creating their entries changed their times.
  for (const [i, d] of spec.dirs.entries()) applyMeta(dirTimes[i]!.path, d.mode, d.owner);
  for (const d of [...dirTimes].reverse()) if (d.mtime) setTimeNs(d.path, timeNs(d.mtime));
  if (spec.rootMtime) setTimeNs(rootBytes, timeNs(spec.rootMtime));
}
