// Whether a process of this machine still runs, for locks and jobs that record their holder's pid.

/** True when `pid` runs (EPERM: it runs under another account). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
