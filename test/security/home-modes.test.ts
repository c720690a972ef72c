// LOW: every file of the configuration home is 0600 and every folder 0700 (the home itself too),
// whatever the home's mode was and whatever the umask: registrations, signing keys, settings, and
// jobs.db with the -wal/-shm files SQLite makes beside it.
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_PATH } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';

/** Runs the engine under umask 000, as a careless service manager might start it. */
function az(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', ENGINE_PATH, ...args, '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

function modes(dir: string): string[] {
  const out: string[] = [`${dir} ${(lstatSync(dir).mode & 0o777).toString(8)}`];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...modes(p));
    else out.push(`${p} ${(lstatSync(p).mode & 0o777).toString(8)}`);
  }
  return out;
}

describe('configuration home modes', () => {
  it.skipIf(process.platform === 'win32')('makes every file 0600 and every folder 0700 under umask 000 in a world-writable home', async () => {
    const root = tempDir('azb-modes-');
    const home = join(root, 'home');
    mkdirSync(home);
    chmodSync(home, 0o777);
    const env = { AZBACKUP_HOME: home, AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'correct horse battery staple 42' };
    const vault = join(root, 'vault');
    const pw = join(root, 'pfx.pw');
    writeFileSync(pw, 'fixture-pfx-password', { mode: 0o600 });
    for (const args of [
      ['vault', 'create', vault],
      ['cert', 'new', '--subject', 'CN=srv01', '-o', root, '--password-file', pw],
      ['vault', 'add-cert', join(root, 'srv01.cer'), '--vault', vault],
      ['register', '--vault', vault, '--certificate', join(root, 'srv01.pfx'), '--password-file', pw, '--hostname', 'srv01'],
      ['backup', join(root, 'pfx.pw')],
      ['settings', 'set', '--upload-concurrency', '3'],
      ['jobs'],
    ]) {
      const r = await az(args, env);
      expect(r.code, `${args.join(' ')}: ${r.out}`).toBe(0);
    }
    const all = modes(home);
    expect(all.some((l) => l.includes('jobs.db'))).toBe(true);
    expect(all.some((l) => l.includes('registrations'))).toBe(true);
    const wrong = all.filter((l) => {
      const [path, mode] = [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)];
      return lstatSync(path).isDirectory() ? mode !== '700' : mode !== '600';
    });
    expect(wrong).toEqual([]);
  }, 120_000);
});
