// What a restore asks the vault for (issue 17): counted at the store, in one process, on a vault in
// memory. Trees come from their own packs in a request or so, data a segment per pack with the header
// folded in, reads go ahead of the restore within their budget, and a one-file restore reads only the
// packs that file and the trees on its path lie in. Counts only; the bench measures time.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../core/backup/archiver.js';
import { JsonSink } from '../../core/protocol/events.js';
import type { ServerRepo } from '../../core/repo/server.js';
import { runRestore, type RestoreStats } from '../../core/restore/restorer.js';
import { readTree } from '../../core/restore/tree-reader.js';
import type { ByteRange } from '../../core/storage/storage.js';
import { memoryServer } from '../helpers/memory-server.js';
import { tempDir } from '../helpers/tmp.js';

const MIB = 1024 * 1024;

interface Counted { gets: { name: string; range?: ByteRange }[]; inFlight: number; maxInFlight: number }

/** Counts the store's reads (and how many run at once) from now on. */
function countReads(repo: ServerRepo): Counted {
  const store = repo.vault.store;
  const c: Counted = { gets: [], inFlight: 0, maxInFlight: 0 };
  const realGet = store.get.bind(store);
  store.get = async (name, range) => {
    c.gets.push({ name, ...(range ? { range } : {}) });
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    try { return await realGet(name, range); } finally { c.inFlight--; }
  };
  return c;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('restore requests', () => {
  let repo: ServerRepo;
  let src: string;
  const files = new Map<string, string>(); // path → sha256
  let pointId: string;

  beforeAll(async () => {
    const fx = await memoryServer();
    repo = fx.repo;
    const root = tempDir();
    src = join(root, 'src');
    // 60 folders (3 levels) of small files, and two large files that fill several packs.
    for (let a = 0; a < 4; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 5; c++) {
      const dir = join(src, `a${a}`, `b${b}`, `c${c}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 3; f++) {
        const data = randomBytes(2000 + ((a * 31 + b * 7 + c * 3 + f) % 13) * 1500);
        writeFileSync(join(dir, `f${f}.bin`), data);
        files.set(join(dir, `f${f}.bin`), sha(data));
      }
    }
    for (const [name, size] of [['big1.bin', 20 * MIB], ['big2.bin', 14 * MIB]] as const) {
      const data = randomBytes(size);
      writeFileSync(join(src, name), data);
      files.set(join(src, name), sha(data));
    }
    mkdirSync(join(root, 'cache'));
    const r = await runBackup(repo, { sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: fx.privateKey, tags: [], signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
    pointId = r.pointId;
  }, 60_000);

  async function restore(items: string[]): Promise<{ stats: RestoreStats; counted: Counted; target: string }> {
    // A fresh reader each time, as a restore is its own engine process: nothing cached from before.
    await repo.loadIndex();
    repo.packKeys.clear();
    const point = await repo.readPoint(pointId);
    const counted = countReads(repo);
    const target = tempDir();
    try {
      const stats = await runRestore(repo, { point, items, target, conflict: 'CreateCopy', signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
      return { stats, counted, target };
    } finally {
      (repo.vault.store as { get: unknown }).get = Object.getPrototypeOf(repo.vault.store).get;
    }
  }

  /** Packs by the types of blob they hold, from the index files. */
  async function packsByType(): Promise<{ data: Set<string>; tree: Set<string>; mixed: Set<string> }> {
    const out = { data: new Set<string>(), tree: new Set<string>(), mixed: new Set<string>() };
    for (const f of (await repo.loadIndex()).values()) {
      for (const p of f.packs) {
        const types = new Set(p.blobs.map((b) => b.type));
        (types.size > 1 ? out.mixed : types.has('tree') ? out.tree : out.data).add(p.id);
      }
    }
    return out;
  }

  it('a backup puts trees in packs of their own', async () => {
    const packs = await packsByType();
    expect(packs.mixed.size).toBe(0);
    expect(packs.tree.size).toBe(1); // 61 small trees
    expect(packs.data.size).toBeGreaterThanOrEqual(3); // 34 MiB of random data in packs of at most 16 MiB
  });

  it('a full restore reads each pack once (header included) and the trees in one request, several reads in flight', async () => {
    const packs = await packsByType();
    const { stats, counted, target } = await restore([]);
    expect(stats.files).toBe(files.size);
    for (const [path, digest] of files) expect(sha(readFileSync(join(target, path)))).toBe(digest);
    const packGets = counted.gets.filter((g) => g.name.includes('/packs/'));
    const treeGets = packGets.filter((g) => packs.tree.has(g.name.slice(g.name.lastIndexOf('/') + 1)));
    // One request per pack: every segment reaches from the header on (a pack's blobs are all needed here).
    expect(treeGets.length).toBe(1);
    expect(packGets.length).toBe(packs.data.size + packs.tree.size);
    expect(packGets.every((g) => g.range?.offset === 0)).toBe(true);
    expect(stats.packsRead).toBe(packs.data.size + packs.tree.size);
    // Read-ahead: more than one pack read at a time.
    expect(counted.maxInFlight).toBeGreaterThanOrEqual(2);
    // Everything else a restore asks for here: the point was read before counting; nothing else.
    expect(counted.gets.length).toBe(packGets.length);
  });

  it('a one-file restore reads only the packs of that file and of the trees on its path', async () => {
    const packs = await packsByType();
    const one = join(src, 'a2', 'b1', 'c3', 'f1.bin');
    const { stats, counted, target } = await restore([one]);
    expect(stats.files).toBe(1);
    expect(sha(readFileSync(join(target, one)))).toBe(files.get(one));
    const packGets = counted.gets.filter((g) => g.name.includes('/packs/'));
    const read = new Set(packGets.map((g) => g.name.slice(g.name.lastIndexOf('/') + 1)));
    // The file's chunks: find its node through the trees.
    let nodes = await readTree(repo, (await repo.readPoint(pointId)).manifest.tree);
    let node = nodes[0]!;
    for (const part of one.split('/').filter(Boolean).slice(src.split('/').filter(Boolean).length - 1)) {
      node = nodes.find((n) => n.name === part || (n.name ?? '').endsWith(`/${part}`))!;
      if (node.subtree) nodes = await readTree(repo, node.subtree);
    }
    const need = new Set([...(node.content ?? []).map((id) => repo.index.get(Buffer.from(id, 'hex'))!.packId), ...packs.tree]);
    expect(node.content?.length).toBeGreaterThan(0);
    expect(read).toEqual(need);
    expect(stats.packsRead).toBe(need.size);
    // One request per pack, and a header read of its own where the file lies further into its pack than
    // the header is read along with (HEADER_FOLD_GAP).
    const far = packGets.filter((g) => g.range && g.range.offset > 0 && g.range.length !== 24).length;
    expect(packGets.filter((g) => g.range?.offset === 0 && g.range.length === 24).length).toBe(far);
    expect(packGets.length).toBe(need.size + far);
  });
});

describe('restore reads with many large files in flight', () => {
  it('reads each pack byte about once when the files written at once hold more than KEEP_BUDGET of segments', async () => {
    // Ten 12 MiB files: the eight written at once each use a different segment of up to 16 MiB, 128 MiB
    // in all, well over KEEP_BUDGET (48 MiB). A segment is kept while its next use is near; dropping it
    // by its last use read a segment again for each of its blobs (17 times the vault in a bench restore).
    // One backup per file keeps each file in packs of its own: a backup of all ten interleaves files in
    // packs as its saves happen to finish, and a pack holding a file written 64 MiB (KEEP_HORIZON) later
    // is dropped and read again by design, so what it reads would depend on that timing.
    const fx = await memoryServer();
    const root = tempDir();
    const src = join(root, 'src');
    mkdirSync(src);
    mkdirSync(join(root, 'cache'));
    const digests = new Map<string, string>();
    let pointId = '';
    for (let i = 0; i < 10; i++) {
      const data = randomBytes(12 * MIB);
      writeFileSync(join(src, `large${i}.bin`), data);
      digests.set(`large${i}.bin`, sha(data));
      pointId = (await runBackup(fx.repo, { sources: [src], excludes: [], cacheDir: join(root, 'cache'), signingKey: fx.privateKey, tags: [], signal: new AbortController().signal, sink: new JsonSink(() => undefined) })).pointId;
    }
    await fx.repo.loadIndex();
    let packBytes = 0;
    for await (const o of fx.repo.vault.store.list('servers/')) if (o.name.includes('/packs/')) packBytes += o.size;
    const counted = countReads(fx.repo);
    const target = tempDir();
    const stats = await runRestore(fx.repo, { point: await fx.repo.readPoint(pointId), items: [], target, conflict: 'CreateCopy', signal: new AbortController().signal, sink: new JsonSink(() => undefined) });
    expect(stats.files).toBe(10);
    for (const [name, digest] of digests) expect(sha(readFileSync(join(target, src, name)))).toBe(digest);
    const read = counted.gets.filter((g) => g.name.includes('/packs/')).reduce((a, g) => a + (g.range?.length ?? 0), 0);
    expect(read).toBeGreaterThan(120 * MIB);
    expect(read).toBeLessThanOrEqual(packBytes * 1.05);
  }, 120_000);
});
