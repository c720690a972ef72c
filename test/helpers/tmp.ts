// Temporary directories that are removed when the test (or, made outside a test, the file) ends: a
// full run creates gigabytes of vaults and corpora, and CI machines can be short of disk.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

function remove(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // A test may have left a folder without permissions (unreadable-file tests): open it up and retry.
    try { chmodSync(dir, 0o700); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  }
}

/** A fresh directory under the OS temp dir, removed when the current test (or test file) ends. */
export function tempDir(prefix = 'azb-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    onTestFinished(() => remove(dir));
  } catch {
    afterAll(() => remove(dir)); // made at collection time, outside any test
  }
  return dir;
}
