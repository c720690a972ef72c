// Check through the built engine: a healthy vault passes; one flipped byte anywhere is named with what it affects.
import { mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { listTree, registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

async function backedUp(): Promise<{ fx: VaultFixture; src: string }> {
  const fx = await registeredServer();
  const src = join(fx.root, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n'.repeat(50000));
  writeFileSync(join(src, 'sub', 'b.bin'), Buffer.alloc(2_000_000, 3));
  expect((await fx.az(['backup', src])).code).toBe(0);
  return { fx, src };
}

function objects(fx: VaultFixture, part: string): string[] {
  return listTree(fx.vault).map((l) => l.split(':')[0]!).filter((n) => n.includes(part));
}

function flip(path: string, at: (len: number) => number): void {
  const b = readFileSync(path);
  const i = at(b.length);
  b[i] = b[i]! ^ 0x01;
  writeFileSync(path, b);
}

const problemsOf = (run: Awaited<ReturnType<VaultFixture['az']>>) =>
  run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { object: string; problem: string; affectedFiles: string[]; affectedPoints: string[] } }).data);

describe('check', () => {
  it('passes a healthy vault, structure and every byte', async () => {
    const { fx } = await backedUp();
    const run = await fx.az(['check', '--read-data']);
    expect(run.code, run.stdout).toBe(0);
    expect(resultOf(run, 'CheckResult')).toMatchObject({ problems: 0, points: 1, readDataPercent: 100 });
    expect(Number(resultOf(run, 'CheckResult')['packsRead'])).toBeGreaterThan(0);
  });

  it.each([
    ['a pack (found by --read-data, with the affected files)', 'packs/', true],
    ['an index file', 'index/', false],
    ['a recovery point', 'points/', false],
    ['an uploaded certificate', 'certificates/', false],
    ['the server record', 'server.json', false],
  ])('names %s with one byte flipped', async (_what, part, readData) => {
    const { fx, src } = await backedUp();
    const target = objects(fx, part)[0]!;
    // In a pack, flip a byte of the first blob (a file's data); elsewhere, one in the middle.
    flip(join(fx.vault, target), (len) => (part === 'packs/' ? 40 : Math.floor(len / 2)));
    const run = await fx.az(['check', ...(readData ? ['--read-data'] : [])]);
    expect(run.code, run.stdout).toBe(4);
    const problems = problemsOf(run);
    expect(problems.map((p) => p.object)).toContain(target);
    // The job history says the vault is damaged, and where.
    const job = (await fx.az(['jobs', '--previous', '1'])).events.find((e) => e.type === 'item') as unknown as { data: { status: string; warningList: { code: string; message: string }[] } };
    expect(job.data.status).toBe('CompletedWithWarnings');
    expect(job.data.warningList[0]).toMatchObject({ code: 'AZB_VAULT_DAMAGED' });
    expect(job.data.warningList[0]!.message).toContain(target);
    if (part === 'packs/') {
      const p = problems.find((x) => x.object === target)!;
      expect(p.affectedPoints).toHaveLength(1);
      expect(p.affectedFiles.some((f) => f.startsWith(src))).toBe(true);
    }
  });

  it('tells a damaged key file from a wrong passphrase', async () => {
    const { fx } = await backedUp();
    const key = objects(fx, '/keys/')[0]!;
    const file = JSON.parse(readFileSync(join(fx.vault, key), 'utf8'));
    writeFileSync(join(fx.vault, key), JSON.stringify({ ...file, hostname: file.hostname + 'x' }));
    const run = await fx.az(['points']);
    expect(run.events.find((e) => e.type === 'error')).toMatchObject({ code: 'AZB_OBJECT_DAMAGED', target: key });
    // With an intact second key file (a passphrase change in progress), check names the damaged one.
    writeFileSync(join(fx.vault, key), JSON.stringify(file));
    const copy = key.replace(/[0-9a-f]{32}$/, 'f'.repeat(32));
    writeFileSync(join(fx.vault, copy), JSON.stringify({ ...file, kdf: { ...file.kdf, passes: 9 } }));
    const check = await fx.az(['check']);
    expect(check.code).toBe(4);
    expect(problemsOf(check).map((p) => p.object)).toEqual([copy]);
  });

  it('finds a truncated pack without reading data, and restore reports the damaged file', async () => {
    const { fx, src } = await backedUp();
    const pack = objects(fx, 'packs/')[0]!;
    truncateSync(join(fx.vault, pack), 100);
    const run = await fx.az(['check']);
    expect(run.code).toBe(4);
    expect(problemsOf(run).map((p) => p.object)).toContain(pack);
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(r.code === 1 || r.code === 3).toBe(true);
    expect(r.events.some((e) => (e.type === 'warning' || e.type === 'error') && /damaged|missing/i.test(e.message))).toBe(true);
    expect(readdirSync(join(fx.root)).includes('r') ? listTree(join(fx.root, 'r')).every((f) => !f.includes('.azb-restore-')) : true).toBe(true);
    void src;
  });

  it.each([['missing', false], ['cut short', false], ['cut short', true]])('names the points and files a pack that is %s affects (read-data: %s)', async (what, readData) => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    // Incompressible and larger than one pack: the first pack holds only its data (the trees come last).
    writeFileSync(join(src, 'random.bin'), randomBytes(20_000_000));
    expect((await fx.az(['backup', src])).code).toBe(0);
    const sizes = listTree(fx.vault).filter((l) => l.includes('/packs/')).map((l) => ({ name: l.split(':')[0]!, size: Number(l.split(':')[1]) }));
    const dataPack = sizes.sort((a, b) => b.size - a.size)[0]!.name; // the data, not the trees
    if (what === 'missing') rmSync(join(fx.vault, dataPack)); else truncateSync(join(fx.vault, dataPack), sizes[0]!.size - 1);
    const run = await fx.az(['check', ...(readData ? ['--read-data'] : [])]);
    expect(run.code, run.stdout).toBe(4);
    const problems = problemsOf(run);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ object: dataPack, affectedPoints: [expect.stringMatching(/^[0-9a-f]{64}$/)] });
    expect(problems[0]!.affectedFiles).toEqual([join(src, 'random.bin')]);
  });

  it('blames only a damaged index file: restore, ls and backup read its packs from their footers, and the backup re-indexes them', async () => {
    const { fx, src } = await backedUp();
    const index = objects(fx, 'index/')[0]!;
    flip(join(fx.vault, index), (len) => Math.floor(len / 2));

    const checked = await fx.az(['check', '--read-data']);
    expect(checked.code, checked.stdout).toBe(4);
    expect(problemsOf(checked)).toEqual([expect.objectContaining({ object: index, affectedPoints: [], affectedFiles: [] })]);

    const listed = await fx.az(['ls', 'latest', src]);
    expect(listed.code, listed.stdout).toBe(3);
    expect(listed.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_INDEX_DAMAGED', target: index });
    const restored = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')]);
    expect(restored.code, restored.stdout).toBe(3);
    expect(readFileSync(join(fx.root, 'r', src, 'sub', 'b.bin')).equals(Buffer.alloc(2_000_000, 3))).toBe(true);

    // The next backup warns, indexes the packs again from their footers and uploads no data again.
    const again = await fx.az(['backup', src]);
    expect(again.code, again.stdout).toBe(3);
    expect(resultOf(again, 'RecoveryPoint')).toMatchObject({ filesUnchanged: 2, bytesAdded: 0 });
    // Prune replaces the damaged index file; then the vault checks clean.
    const pruned = await fx.az(['prune']);
    expect(pruned.code, pruned.stdout).toBe(3);
    expect(pruned.events.find((e) => e.type === 'warning')).toMatchObject({ code: 'AZB_INDEX_DAMAGED', target: index });
    expect(objects(fx, 'index/')).not.toContain(index);
    const clean = await fx.az(['check', '--read-data']);
    expect(clean.code, clean.stdout).toBe(0);
  });

  it('names vault.json when a byte of its vault ID was changed (instead of asking to register again)', async () => {
    const { fx } = await backedUp();
    const path = join(fx.vault, 'vault.json');
    const text = readFileSync(path, 'utf8');
    const id = (JSON.parse(text) as { vaultId: string }).vaultId;
    writeFileSync(path, text.replace(id, (id[0] === 'a' ? 'b' : 'a') + id.slice(1)));
    for (const args of [['check'], ['backup', fx.root]]) {
      const err = onlyError(await fx.az(args));
      expect(err.code).toBe('AZB_OBJECT_DAMAGED');
      expect(err.target).toBe('vault.json');
      expect(err.hint).toContain(id);
    }
  });
});
