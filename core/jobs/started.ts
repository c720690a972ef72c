// How many jobs this process has started. Apart from jobs.ts (and node:sqlite) so that the dispatcher can
// count without loading the history: a command that fails before its job starts is still recorded.
let started = 0;

export function noteJobStarted(): void {
  started++;
}

export function jobsStartedHere(): number {
  return started;
}
