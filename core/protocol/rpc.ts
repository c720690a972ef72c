// `azbackup rpc`: one JSON request on stdin, NDJSON events on stdout. This is how the PowerShell module
// talks to the engine; secrets travel in the request's `secrets` object and nowhere else.
import { COMMAND_NAMES, loadCommand } from '../commands/index.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../version.js';
import { runCommand } from './dispatch.js';
import { AzbError } from './errors.js';
import { JsonSink, type EventSink } from './events.js';
import { describeErrors, validator } from './schemas.js';

/** Largest request accepted; requests carry parameters, never data. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

interface Request { protocolVersion: number; command: string; args: Record<string, unknown>; secrets?: Record<string, string>; secretFiles?: Record<string, string>; control?: 'stdin' }

/** Parses and checks a request; throws a coded error describing what is wrong. */
export function parseRequest(text: string): Request {
  if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
    throw new AzbError('AZB_REQUEST_TOO_LARGE', `The request is larger than ${MAX_REQUEST_BYTES} bytes.`, { hint: 'Send parameters only.' });
  }
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the input in its message; the input may hold secrets, so keep only the position.
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new AzbError('AZB_REQUEST_INVALID_JSON', `The request is not valid JSON${pos ? ` (at position ${pos})` : ''}.`, {
      hint: 'Send one JSON object {protocolVersion, command, args} on stdin.',
    });
  }
  const validate = validator('azbackup:request');
  if (!validate(req)) {
    throw new AzbError('AZB_REQUEST_INVALID', `The request is malformed: ${describeErrors(validate.errors, 'request')}.`, {
      hint: 'Send one JSON object {protocolVersion, command, args, secrets?} on stdin.',
    });
  }
  const r = req as Request;
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(r.protocolVersion)) {
    throw new AzbError('AZB_PROTOCOL_UNSUPPORTED', `Protocol version ${r.protocolVersion} is not supported by this engine (supports ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}).`, {
      hint: 'Install matching versions of the AzBackup module and engine.',
    });
  }
  return r;
}

/** Handles one request text and returns the exit code. */
export async function handleRequest(text: string, sink: EventSink = new JsonSink(), debug = false, signal?: AbortSignal, stdin?: AsyncIterable<Uint8Array>): Promise<number> {
  let req: Request;
  try {
    req = parseRequest(text);
  } catch (err) {
    const e = err as AzbError;
    sink.error(e);
    return e.exitCode;
  }
  const command = await loadCommand(req.command);
  if (!command) {
    const e = new AzbError('AZB_COMMAND_UNKNOWN', `Unknown command '${req.command}'.`, {
      target: req.command, hint: `Known commands: ${COMMAND_NAMES.join(', ')}.`,
    });
    sink.error(e);
    return e.exitCode;
  }
  // With control "stdin", what follows the request line is control messages, never data for the command.
  let runSignal = signal;
  let data = stdin;
  if (req.control === 'stdin' && stdin) {
    const cancel = new AbortController();
    void readControl(stdin, cancel);
    runSignal = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
    data = undefined;
  }
  return runCommand(command, req.args, sink, { secrets: req.secrets ?? {}, ...(req.secretFiles ? { secretFiles: req.secretFiles } : {}), debug, ...(runSignal ? { signal: runSignal } : {}), ...(data ? { stdin: data } : {}) });
}

/** Largest control line kept; longer ones (not from the module) are dropped whole. */
const MAX_CONTROL_LINE = 4096;

/**
 * Reads control messages, one JSON object a line, until stdin ends: {"type":"cancel"} aborts `cancel`
 * (the command stops at a safe point, its job recorded Cancelled). The end of stdin cancels nothing: a
 * caller that closes its end has not asked for anything. Other lines are ignored.
 */
export async function readControl(input: AsyncIterable<Uint8Array>, cancel: AbortController): Promise<void> {
  let line = '';
  let dropping = false;
  try {
    for await (const chunk of input) {
      for (const ch of Buffer.from(chunk).toString('utf8')) {
        if (ch !== '\n') {
          if (!dropping) line += ch;
          if (line.length > MAX_CONTROL_LINE) { dropping = true; line = ''; }
          continue;
        }
        if (!dropping && isCancel(line)) { cancel.abort(); return; }
        line = '';
        dropping = false;
      }
    }
  } catch {
    // stdin destroyed at exit, or a closed pipe: no more control messages.
  }
}

function isCancel(line: string): boolean {
  try {
    const message = JSON.parse(line) as unknown;
    return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'cancel';
  } catch {
    return false;
  }
}

/**
 * Reads the request: the first line of stdin (the module sends compact JSON, one line). Whatever follows
 * the newline is data for commands that back up a stream (`backup` with stdinName), returned as `rest`.
 */
export async function readRequest(input: AsyncIterable<Uint8Array> = process.stdin): Promise<{ text: string; rest: AsyncIterable<Uint8Array> }> {
  const iterator = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let leftover: Buffer | undefined;
  let ended = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) { ended = true; break; }
    const chunk = Buffer.from(next.value);
    const nl = chunk.indexOf(0x0a);
    if (nl >= 0) {
      head.push(chunk.subarray(0, nl));
      leftover = chunk.subarray(nl + 1);
      break;
    }
    head.push(chunk);
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) break; // enough to know it is too large
  }
  const rest = (async function* () {
    if (leftover && leftover.length > 0) yield leftover;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  return { text: Buffer.concat(head).toString('utf8'), rest };
}

/** Reads stdin up to just over `limit` bytes, so an oversized request is detected without reading it all. */
export async function readStdin(limit = MAX_REQUEST_BYTES + 1): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    size += b.length;
    chunks.push(b);
    if (size > limit) break; // enough to know it is too large; the rest is never read
  }
  return Buffer.concat(chunks).toString('utf8');
}
