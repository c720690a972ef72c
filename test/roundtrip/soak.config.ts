// vitest configuration of the long round-trip run (tools/soak.mjs): only test/roundtrip/soak.ts, which
// `npm test` never runs (its name does not end in .test.ts). Its log lines are printed as they are.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/roundtrip/soak.ts'],
    testTimeout: 0,
    hookTimeout: 60_000,
    maxWorkers: 1,
    onConsoleLog(log) {
      process.stdout.write(log);
      return false;
    },
  },
});
