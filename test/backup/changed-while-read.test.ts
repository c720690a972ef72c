// A file that changes while a live backup reads it is read again, against its new stat, up to
// FILE_READ_ATTEMPTS times; one that keeps changing is then kept as read last, with AZB_FILE_CHANGED.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_READ_ATTEMPTS, runBackup } from '../../core/backup/archiver.js';
import { scanSources } from '../../core/backup/scanner.js';
import { JsonSink } from '../../core/protocol/events.js';
import { craftingPoints } from '../helpers/crafted-points.js';
import { registeredServer } from '../helpers/vault-fixture.js';

type Event = { type: string; code?: string; target?: string; message?: string };

describe('a file that changes while it is read', () => {
  it('is read again when it changed after the listing, and the point holds it as it is now, with its new mtime', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    // Below and above the chunker's minimum size: one blob, and several chunks.
    const small = join(src, 'small.log');
    const large = join(src, 'large.bin');
    writeFileSync(small, 'first line\n');
    writeFileSync(large, randomBytes(3 * 1024 * 1024));
    const scan = await scanSources([src], []);
    // Changed between the listing and the read: the first read sees another size than the scan did.
    appendFileSync(small, 'second line\n');
    appendFileSync(large, randomBytes(70_000));
    const { vault, repo, key } = await craftingPoints(fx);
    const events: Event[] = [];
    try {
      mkdirSync(join(fx.root, 'cache-here'));
      const sink = new JsonSink((l) => { events.push(JSON.parse(l) as Event); });
      await runBackup(repo, { sources: [src], excludes: [], scan: Promise.resolve(scan), cacheDir: join(fx.root, 'cache-here'), signingKey: key, tags: [], signal: new AbortController().signal, sink });
    } finally {
      await vault.store.close();
    }
    expect(events.filter((e) => e.type === 'warning')).toEqual([]);
    const again = events.filter((e) => e.type === 'log' && /reading it again \(read 2 of 3\)/.test(e.message ?? '')).map((e) => e.message!.split(' changed')[0]);
    expect(again.sort()).toEqual([large, small]);
    const target = join(fx.root, 'restored');
    const restored = await fx.az(['restore', 'latest', '--target', target]);
    expect(restored.code, restored.stdout.slice(-800)).toBe(0);
    for (const f of [small, large]) {
      expect(readFileSync(join(target, f)).equals(readFileSync(f)), f).toBe(true);
      // The new mtime, not the scan's (restore sets it through a double: to about a microsecond).
      const drift = statSync(join(target, f), { bigint: true }).mtimeNs - statSync(f, { bigint: true }).mtimeNs;
      expect(drift < 1000n && drift > -1000n, `${f}: ${drift} ns off`).toBe(true);
    }
  });

  it(`is read ${FILE_READ_ATTEMPTS} times when it keeps changing, then kept as read with AZB_FILE_CHANGED`, async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    const busy = join(src, 'busy.log');
    writeFileSync(busy, Buffer.alloc(16 * 1024 * 1024, 'x'));
    // A writer that appends without pause for as long as the backup runs: every read sees a change.
    const writer = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(busy)},'a');for(;;)fs.writeSync(fd,'y')`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const run = await fx.az(['backup', src, '--verbose']);
      expect(run.code, run.stdout.slice(-1500)).toBe(3);
      const warnings = run.events.filter((e) => e.type === 'warning') as Event[];
      expect(warnings.map((w) => [w.code, w.target])).toEqual([['AZB_FILE_CHANGED', busy]]);
      expect(warnings[0]!.message).toContain(`changed while it was read, ${FILE_READ_ATTEMPTS} time(s)`);
      const logs = (run.events as Event[]).filter((e) => e.type === 'log').map((e) => e.message ?? '');
      for (let n = 2; n <= FILE_READ_ATTEMPTS; n++) expect(logs.some((l) => l.includes(`reading it again (read ${n} of ${FILE_READ_ATTEMPTS})`)), `read ${n}`).toBe(true);
    } finally {
      writer.kill('SIGKILL');
    }
  }, 60_000);
});
