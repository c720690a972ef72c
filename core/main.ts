// Entry point of the engine executable.
import { isSea } from 'node:sea';
import { KDF_CHILD_ARG, runKdfChild } from './crypto/keys.js';
import { PROBE_CHILD_ARG, runProbeChild, setProbeLauncher } from './source/probe.js';

// A reader that went away (`azbackup jobs | head -1`): the rest of the output is dropped quietly, and
// the command finishes as it would have (a backup piped to head is not cut short half-way).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stream.write = (() => true) as typeof stream.write;
  });
}

// The engine started by itself to derive a key (core/crypto/keys.ts deriveInChild) or to make file system
// calls that may hang (core/source/probe.ts), or a command. The CLI (yargs, every command and what they
// import) is loaded only for a command: the children skip most of the engine's start-up, and the module's
// plain `rpc` skips yargs.
setProbeLauncher(process.execPath, isSea() ? [] : [...process.execArgv, process.argv[1]!]);
const child = { [KDF_CHILD_ARG]: runKdfChild, [PROBE_CHILD_ARG]: runProbeChild }[process.argv[2] ?? ''];
const argv = process.argv.slice(2);
// `rpc` and `rpc --debug` (what the module and the tests send) go straight to the request handler.
const isPlainRpc = argv[0] === 'rpc' && argv.length <= 2 && argv.slice(1).every((a) => a === '--debug');
const work = child ? child()
  : isPlainRpc ? import('./protocol/rpc-main.js').then((rpc) => rpc.rpcMain(argv))
  : import('./cli/app.js').then((cli) => cli.main(argv));
work.then(
  (code) => {
    process.exitCode = code;
    // An unread stdin (an idle producer piped in) would keep the process alive after the work is done.
    process.stdin.destroy();
  },
  (err: unknown) => {
    // Last line of defence: never a raw stack on stdout, one parseable line instead.
    process.stderr.write(`azbackup: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
