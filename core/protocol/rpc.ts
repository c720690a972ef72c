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

interface Request { protocolVersion: number; command: string; args: Record<string, unknown>; secrets?: Record<string, string>; secretFiles?: Record<string, string> }

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
  return runCommand(command, req.args, sink, { secrets: req.secrets ?? {}, ...(req.secretFiles ? { secretFiles: req.secretFiles } : {}), debug, ...(signal ? { signal } : {}), ...(stdin ? { stdin } : {}) });
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
