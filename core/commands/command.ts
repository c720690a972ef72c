// The contract every engine command fulfils, whether it is reached through `azbackup rpc` (JSON request)
// or through the CLI (yargs options): validated args in, events out through the sink, an exit code back.
import type { EventSink, HumanFormat } from '../protocol/events.js';

/** Everything a command may use while it runs. */
export interface CommandContext {
  sink: EventSink;
  /** Secret values by name (passwords). Never echoed; never put into an event or an error. */
  secrets: Readonly<Record<string, string>>;
  debug: boolean;
  /** Aborted when the process gets SIGINT/SIGTERM (Stop-AzBackupJob, Ctrl+C): stop at a safe point. */
  signal: AbortSignal;
  /** The process's stdin, for commands that back up a stream (`backup --stdin`). */
  stdin?: AsyncIterable<Uint8Array>;
  /** Where a command writes data that is not events (`restore --to-tar -`): the CLI's stdout, its events then on stderr. */
  dataOut?: import('node:stream').Writable;
}

/** One engine command. `run` returns the exit code (0 ok, 3 with warnings, 4 not compliant). */
export interface Command<Args = Record<string, unknown>> {
  /** Dotted name used in requests, e.g. "cert.new". */
  name: string;
  /** $id of the JSON Schema for args (core/schemas/args.<name>.schema.json). */
  argsSchema: string;
  /** Names of the secrets the command accepts. Any other secret in a request is refused. */
  secrets: readonly string[];
  /** Text rendering for the human CLI. */
  human?: HumanFormat;
  /**
   * The job a run of this command records (Get-AzBackupJob). A run that fails before its job starts (a
   * wrong passphrase, an unreachable vault, invalid args) is still recorded as that job, Failed.
   */
  job?: { operation: string; policyArg?: 'name' };
  run(ctx: CommandContext, args: Args): Promise<number>;
}
