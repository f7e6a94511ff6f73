import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and spawn CPU burners: keep the 2-core box from oversubscribing.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
