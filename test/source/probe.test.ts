// The file system probe's child (core/source/probe.ts): its calls' time limit counts from when the child
// is ready, not from its spawn. Fifty engines starting on two cores (bench --fleet 50) took longer than
// the 10 s limit to start a child, and local folders were refused as offline (AZB_SOURCE_OFFLINE).
// The child here is the built engine's own probe child, started behind a gate the test opens. Time is
// vitest's fake clock, so nothing waits for a real time-out. That the limit still holds for a hung file
// system once the child is ready: test/source/eligibility.test.ts (the sshfs mount that stops answering).
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FsProbe, ProbeTimedOut, setProbeLauncher } from '../../core/source/probe.js';
import { requireEngine } from '../helpers/engine.js';

describe('file system probe child', () => {
  let dir: string;
  let gate: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'azb-probe-'));
    gate = join(dir, 'gate');
    expect(spawnSync('mkfifo', [gate]).status).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => { vi.useRealTimers(); });

  it('counts the time limit from the child being ready: a start slower than the limit is no time-out', async () => {
    // sh waits for the gate, then becomes the engine's probe child ($1 = engine, $2 = the probe argument).
    setProbeLauncher('/bin/sh', ['-c', 'read go < "$0"; exec "$1" "$2"', gate, requireEngine()]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const probe = new FsProbe(1000);
    const answer = probe.call('lstat', dir);
    let settled: unknown = 'still waiting';
    answer.then((v) => { settled = v; }, (e: unknown) => { settled = e; });
    // Ten times the limit passes while the child is still starting (it waits at the gate) ...
    await vi.advanceTimersByTimeAsync(10_000);
    // (an engine that timed the start has given up and killed the child by now)
    expect(settled).toBe('still waiting');
    // ... then it starts and answers.
    await writeFile(gate, 'go\n');
    await expect(answer).resolves.toEqual({ dev: lstatSync(dir, { bigint: true }).dev.toString(), isSymbolicLink: false });
    // The same child answers the next call.
    await expect(probe.call('realpath', dir)).resolves.toEqual({ path: dir });
  });

  it('fails a call, as not started (not as a time-out), when the child is not ready within the start limit', async () => {
    setProbeLauncher('/bin/sh', ['-c', 'read go < "$0"', gate]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const answer = new FsProbe(1000, 5000).call('lstat', dir);
    answer.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5000);
    const err = await answer.then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ProbeTimedOut);
    expect(err?.message).toMatch(/did not start within 5 s/);
  });

  it('fails a call when the child ends before it is ready', async () => {
    setProbeLauncher('/bin/false', []);
    const err = await new FsProbe(1000).call('lstat', dir).then(() => undefined, (e: Error) => e);
    expect(err).not.toBeInstanceOf(ProbeTimedOut);
    expect(err?.message).toMatch(/probe ended \(code 1\)/);
  });
});
