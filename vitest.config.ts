import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn engine processes, sshd, PostgreSQL and Azurite, and many wait on them (a cron minute, a
    // time-out): three files at a time on CI's two cores keep both busy without starving any test.
    maxWorkers: 3,
  },
});
