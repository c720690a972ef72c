// Deterministic benchmark corpus: nested folders of text (repetitive, compresses well), semi-structured
// "binaries" (record tables, instruction-like byte sequences, string tables, embedded noise) and
// incompressible random data, plus a few duplicate files, and a handful of large files (tens to hundreds
// of MiB) of mixed content. Everything derives from one seed, so two runs with the same --seed,
// --size-mib, --files and --large produce byte-identical trees.
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readSync, lstatSync, writeSync, writeFileSync, fstatSync } from 'node:fs';
import { join } from 'node:path';

const KIB = 1024;
const MIB = 1024 * KIB;

// ---------------------------------------------------------------- PRNG

/** sfc32: small, fast, good-quality 32-bit generator. Returns floats in [0, 1). */
function sfc32(a, b, c, d) {
  return () => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A generator seeded from any labels (seed, purpose, index...). */
export function rngFor(...parts) {
  const h = createHash('sha256').update(parts.join(':')).digest();
  const r = sfc32(h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12));
  for (let i = 0; i < 12; i++) r();
  const rng = () => r();
  rng.int = (n) => Math.floor(r() * n);
  rng.range = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  rng.pick = (arr) => arr[Math.floor(r() * arr.length)];
  /** Skewed pick: low indices much more likely (a cheap Zipf-like law). */
  rng.skew = (arr, power = 2.5) => arr[Math.floor(r() ** power * arr.length)];
  return rng;
}

/** n incompressible bytes: AES-128-CTR keystream keyed from the labels (fast, deterministic). */
export function streamBytes(n, ...parts) {
  const h = createHash('sha256').update(parts.join(':')).digest();
  const c = createCipheriv('aes-128-ctr', h.subarray(0, 16), h.subarray(16, 32));
  return c.update(Buffer.alloc(n));
}

// ---------------------------------------------------------------- shared vocabulary

const SYLLABLES = ['ka', 'to', 'ri', 'men', 'sel', 'an', 'or', 'ex', 'ul', 'pra', 'ne', 'vi', 'lo', 'dat', 'ser', 'ver',
  'in', 'con', 'tra', 'bu', 'fi', 'ler', 'mo', 'ta', 'cor', 'ion', 'sta', 'pe', 'qui', 'nor', 'da', 'gen'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

function makeShared(seed) {
  const r = rngFor(seed, 'vocab');
  const vocab = [];
  const seen = new Set();
  while (vocab.length < 3000) {
    let w = '';
    const n = r.range(1, 4);
    for (let i = 0; i < n; i++) w += r.pick(SYLLABLES);
    if (!seen.has(w)) { seen.add(w); vocab.push(w); }
  }
  const words = (rr, n) => { const out = []; for (let i = 0; i < n; i++) out.push(rr.skew(vocab)); return out.join(' '); };
  const pools = { prose: [], log: [], csv: [], conf: [] };
  const p = rngFor(seed, 'pools');
  for (let i = 0; i < 4000; i++) {
    const s = words(p, p.range(6, 18));
    pools.prose.push(s[0].toUpperCase() + s.slice(1) + '.');
    pools.log.push(`[${p.skew(vocab)}] ${words(p, p.range(3, 9))} status=${p.pick(['ok', 'ok', 'retry', 'fail'])}`);
    pools.csv.push(`${p.skew(vocab)},${p.skew(vocab)},${(p() * 1000).toFixed(2)},${p.int(100)},${p.pick(['EUR', 'USD', 'GBP'])}`);
    pools.conf.push(`${p.skew(vocab)}_${p.skew(vocab)} = "${words(p, p.range(1, 4))}"`);
  }
  // "Instructions" of the binaries: 256 short byte strings, picked with a skew like real opcodes.
  const instr = [];
  const ib = streamBytes(256 * 12, seed, 'instr');
  for (let i = 0; i < 256; i++) instr.push(ib.subarray(i * 12, i * 12 + 2 + (i % 11)));
  return { vocab, pools, instr };
}

// ---------------------------------------------------------------- content generators

function textContent(sh, size, seed, id, style) {
  const r = rngFor(seed, 'text', id);
  const parts = [];
  let len = 0;
  const push = (s) => { parts.push(s); len += s.length + 1; };
  let t = Date.UTC(2025, 0, 1) + r.int(300 * 86400) * 1000;
  let row = r.int(100000);
  if (style === 'csv') push('id,name,category,price,quantity,currency');
  if (style === 'json') push('{');
  while (len < size) {
    const fresh = r() < 0.25;
    switch (style) {
      case 'prose': {
        push(fresh ? `${r.skew(sh.vocab)} ${r.int(1e6)} ${r.skew(sh.vocab)} ${r.skew(sh.vocab)}.` : r.skew(sh.pools.prose, 1.5));
        if (r() < 0.15) push('');
        break;
      }
      case 'log': {
        t += r.int(5000);
        const msg = fresh ? `request ${r.int(1e9).toString(16)} from 10.${r.int(256)}.${r.int(256)}.${r.int(256)} took ${r.int(900)}ms` : r.skew(sh.pools.log, 1.5);
        push(`${new Date(t).toISOString()} ${r.pick(LEVELS)} ${msg}`);
        break;
      }
      case 'csv': {
        push(`${row++},${fresh ? `${r.skew(sh.vocab)},x${r.int(1e6)},${r.int(1e5) / 100},1,EUR` : r.skew(sh.pools.csv, 1.5)}`);
        break;
      }
      default: { // json / conf
        const line = fresh ? `${r.skew(sh.vocab)}_${r.int(1e6)} = ${r.int(1e9)}` : r.skew(sh.pools.conf, 1.5);
        push(style === 'json' ? `  ${JSON.stringify(line)}: ${r.int(1000)},` : line);
      }
    }
  }
  return Buffer.from(parts.join('\n'), 'latin1').subarray(0, size);
}

function binaryContent(sh, size, seed, id) {
  const r = rngFor(seed, 'bin', id);
  const buf = Buffer.alloc(size + 64 * KIB);
  buf.write('AZBENCH\0', 0, 'latin1');
  buf.writeUInt32LE(size, 8);
  buf.writeUInt32LE(id >>> 0, 12);
  let pos = 64;
  let rec = r.int(1e6);
  let noise = 0;
  const flags = [0, 1, 0x10, 0x8001];
  const values = Array.from({ length: 16 }, (_, i) => i * 0.25 + r.int(100));
  while (pos < size) {
    const kind = r();
    if (kind < 0.35) { // record table
      const n = r.range(16, 500);
      for (let i = 0; i < n; i++) {
        buf.writeUInt32LE(rec++, pos);
        buf.writeUInt32LE(r.pick(flags), pos + 4);
        buf.writeDoubleLE(r.pick(values), pos + 8);
        buf.write(r.skew(sh.vocab), pos + 16, 16, 'latin1');
        pos += 32;
      }
    } else if (kind < 0.75) { // code: skewed instruction stream with random immediates
      const end = pos + r.range(1 * KIB, 32 * KIB);
      while (pos < end) {
        const ins = r.skew(sh.instr, 2);
        ins.copy(buf, pos);
        pos += ins.length;
        if (r() < 0.12) { buf.writeUInt32LE((r() * 4294967296) >>> 0, pos); pos += 4; }
      }
    } else if (kind < 0.88) { // string table
      const end = pos + r.range(256, 4 * KIB);
      while (pos < end) pos += buf.write(r.skew(sh.vocab) + '\0', pos, 'latin1');
    } else { // embedded compressed resource
      const n = r.range(512, 16 * KIB);
      streamBytes(n, seed, 'binnoise', id, noise++).copy(buf, pos);
      pos += n;
    }
    pos = (pos + 15) & ~15; // zero padding to 16
  }
  return buf.subarray(0, size);
}

function randomContent(size, seed, id) {
  return streamBytes(size, seed, 'rand', id);
}

const EXT = {
  text: ['txt', 'log', 'csv', 'json', 'md', 'cfg'],
  binary: ['dll', 'exe', 'db', 'dat', 'bin'],
  random: ['jpg', 'zip', 'gz', 'mp4', '7z'],
};
const STYLE_OF_EXT = { txt: 'prose', md: 'prose', log: 'log', csv: 'csv', json: 'json', cfg: 'conf' };

// ---------------------------------------------------------------- plan + generation

/**
 * The corpus plan: folders, then files with type, size and path. Sizes are log-uniform between 256 B
 * and 1 MiB, one file in 500 is 40x larger (big database/images), then all are scaled so the total is
 * exactly `bytes`. 45 % of files are text, 30 % binaries, 20 % random, 5 % duplicates of an earlier file.
 */
export function planCorpus({ seed, files, bytes }) {
  const sh = makeShared(seed);
  const r = rngFor(seed, 'plan');
  const dirCount = Math.max(1, Math.round(files / 25));
  const dirs = [{ path: '', depth: 0 }];
  for (let k = 1; k < dirCount; k++) {
    let parent = dirs[r.int(dirs.length)];
    while (parent.depth >= 6) parent = dirs[r.int(Math.min(dirs.length, 8))];
    dirs.push({ path: join(parent.path, `${r.skew(sh.vocab)}-${k}`), depth: parent.depth + 1 });
  }
  const list = [];
  const raw = [];
  for (let i = 0; i < files; i++) {
    const u = r();
    let type = u < 0.45 ? 'text' : u < 0.75 ? 'binary' : u < 0.95 ? 'random' : 'dup';
    let dupOf = -1;
    let rawSize = Math.exp(Math.log(256) + r() * (Math.log(MIB) - Math.log(256)));
    if (i % 500 === 250) { rawSize *= 40; if (type === 'dup') type = 'binary'; }
    if (type === 'dup') {
      if (i === 0) type = 'text';
      else { dupOf = r.int(i); while (list[dupOf].dupOf >= 0) dupOf = list[dupOf].dupOf; rawSize = raw[dupOf]; }
    }
    const base = dupOf >= 0 ? list[dupOf] : undefined;
    const ext = base ? base.ext : r.pick(EXT[type]);
    const dir = dirs[r.int(dirs.length)].path;
    list.push({ id: i, type: base ? base.type : type, ext, dupOf, path: join(dir, `${r.skew(sh.vocab)}-${i}.${ext}`), size: 0 });
    raw.push(rawSize);
  }
  const total = raw.reduce((a, b) => a + b, 0);
  const f = bytes / total;
  let sum = 0;
  for (let i = 0; i < files; i++) { list[i].size = Math.floor(raw[i] * f); sum += list[i].size; }
  // The rounding remainder goes to the largest file nothing duplicates, so the total is exact.
  const sources = new Set(list.filter((e) => e.dupOf >= 0).map((e) => e.dupOf));
  let big = -1;
  for (const e of list) if (e.dupOf < 0 && !sources.has(e.id) && (big < 0 || e.size > list[big].size)) big = e.id;
  list[big].size += bytes - sum;
  return { sh, dirs, files: list };
}

function contentOf(sh, seed, e, files) {
  const src = e.dupOf >= 0 ? files[e.dupOf] : e;
  if (src.type === 'text') return textContent(sh, src.size, seed, src.id, STYLE_OF_EXT[src.ext]);
  if (src.type === 'binary') return binaryContent(sh, src.size, seed, src.id);
  return randomContent(src.size, seed, src.id);
}

// ---------------------------------------------------------------- large files

const LARGE_EXT = ['vhdx', 'bak', 'sql', 'tar', 'mdf', 'pst'];
/** Largest piece of a large file generated in memory at once. */
const SEGMENT_MAX = 8 * MIB;

/** Share of each kind of content in a large file. */
const LARGE_MIX = { text: 0.40, binary: 0.25, random: 0.25, zeros: 0.05, repeat: 0.05 };

/**
 * The content plan of one large file, like a database file, a backup or a disk image: segments of
 * 64 KiB – 8 MiB (log-uniform) of text (logs, CSV, config lines, prose: compresses well), semi-structured
 * binary, random (compressed or encrypted payloads), zeros (preallocated space) and repeats of an earlier
 * segment of the same file at another offset, in the shares of LARGE_MIX: each segment's kind is drawn
 * with a weight of how far that kind is behind its share. Files of 256 MiB and more also get one 40 MiB
 * run of zeros in their middle: more file bytes in a row than the engine reads, batches or packs at
 * once, that compress to almost nothing.
 */
function planLargeFile(seed, k, size) {
  const r = rngFor(seed, 'large-plan', k);
  const segs = [];
  const done = { text: 0, binary: 0, random: 0, zeros: 0, repeat: 0 };
  let pos = 0;
  const zeroRunAt = size >= 256 * MIB ? Math.floor(size / 2) : -1;
  let zeroRunDone = false;
  while (pos < size) {
    if (zeroRunAt >= 0 && pos >= zeroRunAt && !zeroRunDone) {
      const n = Math.min(40 * MIB, size - pos);
      segs.push({ kind: 'zeros', size: n });
      zeroRunDone = true;
      pos += n;
      continue;
    }
    const n = Math.min(size - pos, Math.floor(Math.exp(Math.log(64 * KIB) + r() * (Math.log(SEGMENT_MAX) - Math.log(64 * KIB)))));
    const earlier = segs.filter((g) => (g.kind === 'text' || g.kind === 'binary' || g.kind === 'random') && g.size >= n);
    const behind = Object.entries(LARGE_MIX).map(([kind, share]) => [kind, kind === 'repeat' && earlier.length === 0 ? 0 : Math.max(0, share * (pos + n) - done[kind])]);
    const total = behind.reduce((a, [, w]) => a + w, 0);
    let pick = r() * total;
    let kind = 'text';
    for (const [k2, w] of behind) { if (pick < w) { kind = k2; break; } pick -= w; }
    const label = `large-${k}-${segs.length}`;
    if (kind === 'repeat') segs.push({ kind, size: n, src: r.pick(earlier) });
    else if (kind === 'text') segs.push({ kind, size: n, style: r.pick(['log', 'csv', 'conf', 'prose']), label });
    else segs.push({ kind, size: n, label });
    done[kind] += n;
    pos += n;
  }
  return segs;
}

function segmentContent(sh, seed, g) {
  if (g.kind === 'repeat') return segmentContent(sh, seed, g.src).subarray(0, g.size);
  if (g.kind === 'zeros') return Buffer.alloc(g.size);
  if (g.kind === 'text') { // textContent can end a byte short of the size asked for: pad with a newline
    const t = textContent(sh, g.size, seed, g.label, g.style);
    return t.length === g.size ? t : Buffer.concat([t, Buffer.alloc(g.size - t.length, 0x0a)]);
  }
  if (g.kind === 'binary') return binaryContent(sh, g.size, seed, g.label);
  return streamBytes(g.size, seed, 'rand', g.label);
}

/**
 * The large files: one per entry of `sizesMiB`, in folders of the corpus plan, written piece by piece
 * (memory stays at one segment). Returns { path, size, mix: bytes per kind }.
 */
function writeLargeFiles(root, plan, seed, sizesMiB) {
  const r = rngFor(seed, 'large');
  const out = [];
  sizesMiB.forEach((mib, k) => {
    const size = mib * MIB;
    const dir = plan.dirs[r.int(plan.dirs.length)].path;
    const path = join(dir, `${r.skew(plan.sh.vocab)}-large${k}-${mib}MiB.${r.pick(LARGE_EXT)}`);
    const mix = { text: 0, binary: 0, random: 0, zeros: 0, repeat: 0 };
    const fd = openSync(join(root, path), 'w');
    try {
      for (const g of planLargeFile(seed, k, size)) {
        mix[g.kind] += g.size;
        if (g.kind === 'zeros') {
          const zero = Buffer.alloc(Math.min(g.size, 8 * MIB));
          for (let left = g.size; left > 0; left -= zero.length) writeSync(fd, zero, 0, Math.min(left, zero.length));
        } else {
          const b = segmentContent(plan.sh, seed, g);
          writeSync(fd, b, 0, b.length);
        }
      }
      if (fstatSync(fd).size !== size) throw new Error(`large file ${path}: wrote ${fstatSync(fd).size} bytes, planned ${size}`);
    } finally { closeSync(fd); }
    out.push({ path, size, mix });
  });
  return out;
}

/**
 * Writes the planned corpus under root (which must not exist or be empty). Returns a description.
 * `bytes` is the size of the `files` mixed files; the large files (`largeMiB`, sizes in MiB) come on top.
 */
export function generateCorpus(root, { seed, files, bytes, largeMiB = [] }, onProgress) {
  const plan = planCorpus({ seed, files, bytes });
  mkdirSync(root, { recursive: true });
  for (const d of plan.dirs) mkdirSync(join(root, d.path), { recursive: true });
  const byType = { text: [0, 0], binary: [0, 0], random: [0, 0], dup: [0, 0], large: [0, 0] };
  let done = 0;
  for (const e of plan.files) {
    writeFileSync(join(root, e.path), contentOf(plan.sh, seed, e, plan.files));
    const k = e.dupOf >= 0 ? 'dup' : e.type;
    byType[k][0]++; byType[k][1] += e.size;
    done += e.size;
    if (onProgress && e.id % 500 === 0) onProgress(e.id, done);
  }
  const large = writeLargeFiles(root, plan, seed, largeMiB);
  for (const l of large) { byType.large[0]++; byType.large[1] += l.size; }
  const largest = Math.max(...plan.files.map((e) => e.size), ...large.map((l) => l.size));
  return {
    files: plan.files.length + large.length, dirs: plan.dirs.length, bytes: bytes + byType.large[1], mixedBytes: bytes,
    byType, large, largest, maxDepth: Math.max(...plan.dirs.map((d) => d.depth)),
  };
}

/** Many small text files (1-4 KiB) in nested folders, each distinct: the 200,000-file scale run. */
export function generateSmallFiles(root, { seed, files }, onProgress) {
  const sh = makeShared(seed);
  const r = rngFor(seed, 'small');
  const dirs = [''];
  const dirCount = Math.max(1, Math.round(files / 100));
  for (let k = 1; k < dirCount; k++) dirs.push(join(k < 20 ? '' : dirs[r.int(Math.min(k, 200))], `d${k}`));
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const size = r.range(1 * KIB, 4 * KIB);
    const styles = ['prose', 'log', 'csv', 'conf'];
    writeFileSync(join(root, dirs[i % dirs.length], `f${i}.txt`), textContent(sh, size, seed, `small-${i}`, styles[i % 4]));
    bytes += size;
    if (onProgress && i % 10000 === 0) onProgress(i, bytes);
  }
  return { files, dirs: dirs.length, bytes };
}

// ---------------------------------------------------------------- restore check

/** Read buffers of sameFile, made once: thousands of small files must not each allocate 16 MiB. */
let compareBuffers;

/** Whether two files hold the same bytes, read 8 MiB at a time (files of any size); the first difference. */
function sameFile(a, b) {
  const fa = openSync(a, 'r');
  try {
    const fb = openSync(b, 'r');
    try {
      const size = fstatSync(fa).size, other = fstatSync(fb).size;
      if (size !== other) return { same: false, size, why: `${size} vs ${other} bytes` };
      compareBuffers ??= [Buffer.allocUnsafe(8 * MIB), Buffer.allocUnsafe(8 * MIB)];
      const [ba, bb] = compareBuffers;
      for (let pos = 0; pos < size;) {
        const n = readSync(fa, ba, 0, ba.length, pos);
        const m = readSync(fb, bb, 0, n, pos);
        if (n === 0 || m !== n) return { same: false, size, why: `short read at byte ${pos}` };
        if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
          let i = 0;
          while (ba[i] === bb[i]) i++;
          return { same: false, size, why: `${size} bytes, first difference at byte ${pos + i}` };
        }
        pos += n;
      }
      return { same: true, size };
    } finally { closeSync(fb); }
  } finally { closeSync(fa); }
}

/**
 * Compares every regular file under src, byte for byte, with the file of the same relative path under
 * restored. Returns counts and the files missing from, or different in, the restored tree.
 */
export function compareTrees(src, restored, { only } = {}) {
  const res = { files: 0, bytes: 0, missing: [], different: [], extra: 0 };
  if (!existsSync(restored)) { res.missing.push(`(whole tree: ${restored} does not exist)`); return res; }
  // `only`: relative paths of the files that must be there (a partial restore); anything else is extra.
  const want = only ?? listFiles(src);
  const got = new Set(listFiles(restored));
  for (const rel of want) {
    res.files++;
    if (!got.has(rel)) { res.missing.push(rel); continue; }
    got.delete(rel);
    const c = sameFile(join(src, rel), join(restored, rel));
    res.bytes += c.size;
    if (!c.same) res.different.push(`${rel} (${c.why})`);
  }
  res.extra = got.size;
  return res;
}

// ---------------------------------------------------------------- the 5 % change

/** Every regular file under root, as relative paths in sorted order. */
export function listFiles(root) {
  const out = [];
  const walk = (rel) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = join(rel, name);
      const st = lstatSync(join(root, p));
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk('');
  return out;
}

/**
 * Changes `fraction` of the files in place, deterministically: two thirds get a range overwritten with
 * new random bytes (4-64 KiB at a seeded offset; size unchanged), one third get 1-32 KiB appended.
 */
export function modifyFiles(root, { seed, fraction = 0.05 }) {
  const all = listFiles(root);
  const r = rngFor(seed, 'modify');
  const idx = all.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) { const j = r.int(i + 1); [idx[i], idx[j]] = [idx[j], idx[i]]; }
  const n = Math.ceil(all.length * fraction);
  let overwritten = 0, appended = 0, bytesChanged = 0;
  for (let k = 0; k < n; k++) {
    const p = join(root, all[idx[k]]);
    const fd = openSync(p, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (k % 3 !== 2 && size > 0) {
        const len = Math.min(size, r.range(4 * KIB, 64 * KIB));
        const off = r.int(size - len + 1);
        writeSync(fd, streamBytes(len, seed, 'modify-data', k), 0, len, off);
        overwritten++; bytesChanged += len;
      } else {
        const len = r.range(1 * KIB, 32 * KIB);
        writeSync(fd, streamBytes(len, seed, 'modify-append', k), 0, len, size);
        appended++; bytesChanged += len;
      }
    } finally { closeSync(fd); }
  }
  return { files: n, of: all.length, overwritten, appended, bytesChanged };
}
