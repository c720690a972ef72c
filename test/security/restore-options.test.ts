// Restore's smaller safety rules: another server's point goes to its original location only when asked
// for, setuid/setgid bits only with --preserve-setuid, a name too long for the file system fails that
// item only, and control characters in names are escaped wherever a person reads them.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, runEngine, type EngineRun } from '../helpers/engine.js';
import { registeredServer } from '../helpers/vault-fixture.js';
import { savePointOf } from '../helpers/crafted-points.js';
import type { TreeNode } from '../../core/repo/tree.js';

const warnings = (r: EngineRun, code: string) => r.events.filter((e) => e.type === 'warning' && e.code === code) as { message: string; target?: string }[];
const asRoot = process.platform === 'linux' && process.getuid?.() === 0;

/** A file node with content `text`, as a format-2 backup writes it. */
async function fileNode(name: string, text: string, saveData: (b: Buffer) => Promise<string>): Promise<TreeNode> {
  const bytes = Buffer.from(text);
  return { name, type: 'file', mode: 0o644, mtimeNs: '0', size: bytes.length, content: [await saveData(bytes)], digest: createHash('sha256').update(bytes).digest('hex') };
}

describe('restore options and names', () => {
  it("restores another server's point to its original location only with --original-location (or a --target)", async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'from srv01\n');
    expect((await fx.az(['backup', src])).code).toBe(0);
    writeFileSync(join(src, 'a.txt'), 'changed on srv01\n');
    const other = await registeredServer({ hostname: 'srv02', vault: fx.vault, passphrase: 'second server passphrase 99' });
    const env = { AZBACKUP_PASSPHRASE: fx.passphrase };
    const refused = onlyError(await other.az(['restore', 'latest', '--server', 'srv01', '--conflict', 'Overwrite'], { env }));
    expect(refused.code).toBe('AZB_RESTORE_TARGET_REQUIRED');
    expect(refused.hint).toContain('--original-location');
    expect(readFileSync(join(src, 'a.txt'), 'utf8')).toBe('changed on srv01\n');
    expect(onlyError(await other.az(['restore', 'latest', '--server', 'srv01', '--original-location', '--target', join(other.root, 't')], { env })).code).toBe('AZB_USAGE');
    const r = await other.az(['restore', 'latest', '--server', 'srv01', '--original-location', '--conflict', 'Overwrite'], { env });
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(src, 'a.txt'), 'utf8')).toBe('from srv01\n');
    // The own server's points, named with --server too, need neither.
    const own = await fx.az(['restore', 'latest', '--server', 'srv01', '--conflict', 'Skip']);
    expect(own.code, own.stdout).toBe(0);
  });

  it.runIf(asRoot)('clears setuid and setgid bits unless --preserve-setuid is given, with one log line', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    for (const [name, mode] of [['suid', 0o4755], ['sgid', 0o2755], ['both', 0o6711], ['plain', 0o755]] as const) {
      writeFileSync(join(src, name), '#!/bin/sh\n');
      chmodSync(join(src, name), mode);
    }
    expect((await fx.az(['backup', src])).code).toBe(0);
    const cleared = await fx.az(['restore', 'latest', '--target', join(fx.root, 'cleared')]);
    expect(cleared.code, cleared.stdout).toBe(0);
    const modes = (root: string) => Object.fromEntries(readdirSync(join(root, src)).map((n) => [n, (statSync(join(root, src, n)).mode & 0o7777).toString(8)]));
    expect(modes(join(fx.root, 'cleared'))).toEqual({ suid: '755', sgid: '755', both: '711', plain: '755' });
    const logs = cleared.events.filter((e) => e.type === 'log' && /setuid/.test(e.message));
    expect(logs).toHaveLength(1);
    expect((logs[0] as { message: string }).message).toMatch(/\b3 file/);
    const kept = await fx.az(['restore', 'latest', '--target', join(fx.root, 'kept'), '--preserve-setuid']);
    expect(kept.code, kept.stdout).toBe(0);
    expect(modes(join(fx.root, 'kept'))).toEqual({ suid: '4755', sgid: '2755', both: '6711', plain: '755' });
  });

  it('fails only the item whose name is too long for the file system, with a warning naming it', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    const longFile = 'f'.repeat(300);
    const longDir = 'd'.repeat(300);
    await savePointOf(fx, src, async (saveTree, saveData) => [
      await fileNode(longFile, 'long\n', saveData),
      await fileNode('ok.txt', 'ok\n', saveData),
      { name: longDir, type: 'dir', mode: 0o755, mtimeNs: '0', subtree: await saveTree([await fileNode('inside.txt', 'in\n', saveData)]) },
      { name: 'l'.repeat(300), type: 'symlink', mode: 0o777, mtimeNs: '0', target: 'ok.txt' },
    ]);
    const target = join(fx.root, 'r');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(3);
    expect(warnings(r, 'AZB_RESTORE_NAME_TOO_LONG').map((w) => w.target).sort()).toEqual([join(target, src, longDir), join(target, src, longFile), join(target, src, 'l'.repeat(300))].sort());
    expect(resultOf(r, 'RestoreResult')).toMatchObject({ files: 1, skipped: 3 });
    expect(readdirSync(join(target, src))).toEqual(['ok.txt']);
  });

  it('escapes control characters in names in ls and in restore warnings (\\xNN), and restores such a name by its escaped form', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    const evil = 'evil\x1b[31mred\x07';
    await savePointOf(fx, src, async (_saveTree, saveData) => [
      await fileNode(evil, 'evil\n', saveData),
      await fileNode('dup\nline', 'one\n', saveData),
      await fileNode('dup\nline', 'two\n', saveData),
    ]);
    const shown = `${src}/evil\\x1b[31mred\\x07`;
    // Human output.
    const human = await runEngine(['ls', 'latest', src], { env: fx.env, json: false });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(shown);
    expect(human.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    // JSON output carries the same form (what a user copies back into a restore).
    const json = await fx.az(['ls', 'latest', src]);
    expect(json.events.filter((e) => e.type === 'item').map((e) => String((e as { data: Record<string, unknown> }).data['path']))).toEqual([`${src}/dup\\x0aline`, `${src}/dup\\x0aline`, shown].sort());
    const target = join(fx.root, 'r');
    const r = await runEngine(['restore', 'latest', '--target', target], { env: fx.env, json: false });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`${target}${src}/dup\\x0aline`);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('WARNING:'))).toHaveLength(1);
    // By the name ls shows.
    const one = await fx.az(['restore', 'latest', shown, '--target', join(fx.root, 'one')]);
    expect(one.code, one.stdout).toBe(0);
    expect(readdirSync(join(fx.root, 'one', src))).toEqual([evil]);
    expect(existsSync(join(fx.root, 'one', src, evil))).toBe(true);
  });
});
