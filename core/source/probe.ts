// File system calls that may never return. A dead NFS server or a stopped FUSE daemon blocks the thread
// that asks, and Node cannot leave such a call: the request stays on the thread pool, and the process
// cannot exit either (libuv joins its thread pool at exit). So the engine executable asks a child of
// itself, and kills the child when it does not answer in time; the engine then exits as usual.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { lstat, realpath, statfs } from 'node:fs/promises';
import { createInterface } from 'node:readline';

type ProbeChild = ChildProcessByStdio<Writable, Readable, null>;

/** The argument that starts the engine executable as a probe child (core/main.ts). */
export const PROBE_CHILD_ARG = '__azbackup-probe';

export type ProbeOp = 'lstat' | 'realpath' | 'statfs';

/** What a probe answers: lstat gives st_dev and whether it is a link, realpath the path. */
export interface ProbeAnswer { dev?: string; isSymbolicLink?: boolean; path?: string }

/** The call did not answer within its time. */
export class ProbeTimedOut extends Error {}

/**
 * How long a probe child may take to start. Its calls' time limit counts from when it is ready: fifty
 * engines starting on two cores took longer than the 10 s limit to start a child at all (bench --fleet),
 * and a local folder was then refused as offline. Starting never touches the probed file systems.
 */
export const PROBE_START_LIMIT_MS = 120_000;

/** An error as the child saw it, with its errno code. */
class ProbeFailed extends Error {
  constructor(message: string, readonly code: string | undefined) { super(message); }
}

async function runHere(op: ProbeOp, path: string): Promise<ProbeAnswer> {
  switch (op) {
    case 'lstat': { const st = await lstat(path, { bigint: true }); return { dev: st.dev.toString(), isSymbolicLink: st.isSymbolicLink() }; }
    case 'realpath': return { path: await realpath(path) };
    case 'statfs': await statfs(path); return {};
  }
}

/** How to start the child; set by core/main.ts. Unset (in-process use, tests), calls run in this process. */
let launcher: { command: string; args: string[] } | undefined;

export function setProbeLauncher(command: string, args: string[]): void {
  launcher = { command, args };
}

interface Pending { resolve(a: ProbeAnswer): void; reject(e: Error): void }

/** One running child and the calls it has not answered yet. */
class ProbeProcess {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly child: ProbeChild;
  ended = false;
  /** Settles when the child says it is ready (its first line), or fails when it ends first. */
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private failReady: (e: Error) => void = () => undefined;

  constructor() {
    this.ready = new Promise<void>((resolve, reject) => { this.markReady = resolve; this.failReady = reject; });
    this.ready.catch(() => undefined);
    const env = process.platform === 'win32' ? { SystemRoot: process.env['SystemRoot'] ?? 'C:\\Windows' } : {};
    this.child = spawn(launcher!.command, [...launcher!.args, PROBE_CHILD_ARG], { stdio: ['pipe', 'pipe', 'ignore'], env, windowsHide: true });
    this.child.on('error', (err) => this.end(new ProbeFailed(`The file system probe could not start: ${err.message}`, undefined)));
    this.child.on('exit', (code) => this.end(new ProbeFailed(`The file system probe ended (code ${String(code)}).`, undefined)));
    this.child.stdin.on('error', () => undefined);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as { ready?: true; id: number; ok: boolean; value?: ProbeAnswer; code?: string; message?: string };
      if (answer.ready) { this.markReady(); return; }
      const p = this.pending.get(answer.id);
      if (!p) return;
      this.pending.delete(answer.id);
      if (answer.ok) p.resolve(answer.value!);
      else p.reject(new ProbeFailed(answer.message ?? 'failed', answer.code));
      if (this.pending.size === 0) this.hold(false);
    });
  }

  call(op: ProbeOp, path: string): Promise<ProbeAnswer> {
    const id = this.nextId++;
    this.hold(true);
    return new Promise<ProbeAnswer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, path })}\n`);
    });
  }

  /** Resolves once the child is ready; fails when it ends first or is not ready within limitMs (then it is killed). */
  async started(limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new ProbeFailed(`The file system probe did not start within ${limitMs / 1000} s: the machine is too busy.`, undefined)), limitMs);
    });
    try {
      await Promise.race([this.ready, limit]);
    } catch (err) {
      this.end(err as Error);
      throw err;
    } finally { clearTimeout(timer); }
  }

  /** Kills the child; its unanswered calls fail with `why`. It is never waited for: a process in an uninterruptible wait may outlive SIGKILL for a while. */
  end(why: Error): void {
    if (!this.ended) { this.ended = true; this.child.kill('SIGKILL'); this.child.stdin.destroy(); this.child.stdout.destroy(); }
    this.hold(false);
    this.failReady(why);
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }

  /**
   * Only a child with calls under way keeps the engine alive: when the engine exits, an idle child's
   * input ends and it exits too, so nobody has to remember to close a probe.
   */
  private hold(held: boolean): void {
    for (const handle of [this.child, this.child.stdin, this.child.stdout] as { ref(): void; unref(): void }[]) {
      if (held) handle.ref(); else handle.unref();
    }
  }
}

/** One child for a series of calls; a new one after a time-out. */
export class FsProbe {
  private process: ProbeProcess | undefined;

  /** timeoutMs: each call's limit, from when the child is ready; startLimitMs: for the child to get ready. */
  constructor(private readonly timeoutMs: number, private readonly startLimitMs = PROBE_START_LIMIT_MS) {}

  /** The call's answer, ProbeTimedOut, or the error the call gave (with its errno code). */
  async call(op: ProbeOp, path: string): Promise<ProbeAnswer> {
    let work: Promise<ProbeAnswer>;
    let running: ProbeProcess | undefined;
    if (launcher) {
      if (!this.process || this.process.ended) this.process = new ProbeProcess();
      running = this.process;
      work = running.call(op, path);
      // Failed with the child's start: then the error is start's, below, and this one is not awaited.
      work.catch(() => undefined);
      await running.started(this.startLimitMs);
    } else {
      work = runHere(op, path);
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new ProbeTimedOut()), this.timeoutMs); });
    try {
      return await Promise.race([work, limit]);
    } catch (err) {
      if (err instanceof ProbeTimedOut) running?.end(new ProbeTimedOut());
      throw err;
    } finally { clearTimeout(timer); }
  }
}

/** The probe child: one JSON request per line on stdin, one answer per line on stdout, until stdin ends. */
export async function runProbeChild(): Promise<number> {
  // The parent's time limits count from here, not from its spawn (see PROBE_START_LIMIT_MS).
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const req = JSON.parse(line) as { id: number; op: ProbeOp; path: string };
    // Each call on its own: one that hangs must not hold back the answers to the others.
    runHere(req.op, req.path).then(
      (value) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: true, value })}\n`),
      (err: NodeJS.ErrnoException) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: false, code: err.code, message: err.message })}\n`),
    );
  }
  return 0;
}
