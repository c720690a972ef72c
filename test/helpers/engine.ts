// Runs the built engine executable (bundle/dist/azbackup) the way the module does, and checks every
// event it prints against the protocol's JSON Schemas.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { validator, describeErrors, hasSchema } from '../../core/protocol/schemas.js';
import type { EngineEvent } from '../../core/protocol/events.js';

export const ENGINE_PATH = process.env['AZBACKUP_ENGINE'] ?? join(import.meta.dirname, '..', '..', 'bundle', 'dist', process.platform === 'win32' ? 'azbackup.exe' : 'azbackup');

export interface EngineRun { code: number; stdout: string; stderr: string; events: EngineEvent[] }

/** Fails loudly when the executable has not been built (integration tests never skip silently). */
export function requireEngine(): string {
  if (!existsSync(ENGINE_PATH)) throw new Error(`engine not built at ${ENGINE_PATH}: run "npm run build" first (npm test does)`);
  return ENGINE_PATH;
}

/** Runs the engine with args and optional stdin; parses stdout as NDJSON when `json` is true. */
export async function runEngine(args: string[], opts: { stdin?: string | Buffer; env?: Record<string, string | undefined>; cwd?: string; json?: boolean } = {}): Promise<EngineRun> {
  const exe = requireEngine();
  const child = spawn(exe, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.stdin.on('error', () => undefined); // the engine may exit before reading stdin
  child.stdin.end(opts.stdin ?? '');
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  const events = opts.json === false ? [] : parseEvents(stdout);
  return { code, stdout, stderr, events };
}

/** Sends one rpc request and returns the events. */
export function rpc(request: unknown, opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<EngineRun> {
  return runEngine(['rpc'], { ...opts, stdin: typeof request === 'string' ? request : JSON.stringify(request) });
}

/** Parses NDJSON and asserts each line is a valid event, and each item/result matches its kind's schema. */
export function parseEvents(stdout: string): EngineEvent[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  return lines.map((line) => {
    const ev = JSON.parse(line) as EngineEvent;
    assertValidEvent(ev);
    return ev;
  });
}

/** Asserts an event matches event.schema.json and, for item/result, result.<kind>.schema.json. */
export function assertValidEvent(ev: EngineEvent): void {
  const v = validator('azbackup:event');
  expect(v(ev), `event ${JSON.stringify(ev)}: ${describeErrors(v.errors)}`).toBe(true);
  if (ev.type === 'item' || ev.type === 'result') {
    const id = `azbackup:result.${ev.kind}`;
    expect(hasSchema(id), `no schema for kind ${ev.kind}`).toBe(true);
    const r = validator(id);
    expect(r(ev.data), `${ev.kind} ${JSON.stringify(ev.data)}: ${describeErrors(r.errors)}`).toBe(true);
  }
}

/** The single error event of a run (asserts there is exactly one). */
export function onlyError(run: EngineRun): Extract<EngineEvent, { type: 'error' }> {
  const errors = run.events.filter((e) => e.type === 'error');
  expect(errors, `expected one error event, got: ${run.stdout}`).toHaveLength(1);
  return errors[0] as Extract<EngineEvent, { type: 'error' }>;
}

/** The result event of a given kind (asserts there is exactly one). */
export function resultOf(run: EngineRun, kind: string): Record<string, unknown> {
  const results = run.events.filter((e) => e.type === 'result' && e.kind === kind);
  expect(results, `expected one ${kind} result; stdout: ${run.stdout} stderr: ${run.stderr}`).toHaveLength(1);
  return (results[0] as Extract<EngineEvent, { type: 'result' }>).data;
}

/** A running engine process whose stdin the test feeds (a stream backup waits for it: it is certainly still running). */
export interface LiveEngine {
  child: import('node:child_process').ChildProcessWithoutNullStreams;
  stdout(): string;
  write(data: Uint8Array): void;
  end(data?: Uint8Array): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

/** Starts the engine with args and a pipe on stdin that stays open until end(). */
export function startEngine(args: string[], env: Record<string, string | undefined>): LiveEngine {
  const child = spawn(requireEngine(), args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.resume();
  child.stdin.on('error', () => undefined);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout })));
  return { child, stdout: () => stdout, write: (d) => { child.stdin.write(d); }, end: (d) => { child.stdin.end(d); }, done };
}
