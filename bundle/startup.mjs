// Measures the engine executable's start-up: wall time of `azbackup --version` (the module's probe)
// and of an rpc `version` request, median over several runs after one warm-up.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const exe = process.env.AZBACKUP_ENGINE ?? join(root, 'bundle', 'dist', process.platform === 'win32' ? 'azbackup.exe' : 'azbackup');
const runs = Number(process.argv[2] ?? 21);

function median(args, input) {
  spawnSync(exe, args, { input }); // warm the page cache once
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(exe, args, { input });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const version = median(['--version']);
const rpc = median(['rpc'], JSON.stringify({ protocolVersion: 1, command: 'version', args: {} }));
console.log(`azbackup --version: ${version.toFixed(1)} ms median of ${runs} runs`);
console.log(`azbackup rpc (version request): ${rpc.toFixed(1)} ms median of ${runs} runs`);
