// Runs the Pester suite (pester/) on the real pwsh with Pester 5 from .tools/Modules, against the built
// engine. Writes a JSON summary for tools/test.mjs and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { join, dirname, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const found = spawnSync('bash', [join(root, 'tools', 'find-pwsh.sh')], { encoding: 'utf8' });
const pwsh = found.stdout.trim();
if (found.status !== 0 || !pwsh) {
  console.error('pester: pwsh not found; run "bash tools/setup.sh" first');
  process.exit(1);
}
const summary = process.argv[2] ?? join(root, '.tools', 'results', 'pester.json');
const env = { ...process.env, PSModulePath: [join(root, '.tools', 'Modules'), process.env.PSModulePath].filter(Boolean).join(delimiter) };
const run = spawnSync(pwsh, ['-NoProfile', '-NonInteractive', '-File', join(root, 'pester', 'run.ps1'), '-SummaryPath', summary], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
