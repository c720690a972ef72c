// `azbackup rpc` without the CLI: the module starts the engine this way for every cmdlet, so this path
// skips yargs and its helpers (a fifth of the engine's start-up). Same request handling as the CLI's
// `rpc` command (core/cli/app.ts), which still serves `azbackup rpc --help` and unusual spellings.
import { processSignal } from './dispatch.js';
import { JsonSink } from './events.js';
import { handleRequest, readRequest } from './rpc.js';

export async function rpcMain(argv: readonly string[]): Promise<number> {
  const signal = processSignal();
  const { text, rest } = await readRequest();
  return handleRequest(text, new JsonSink(), argv.includes('--debug'), signal, rest);
}
