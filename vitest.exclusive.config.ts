import { defineConfig } from 'vitest/config';

// Tests that need an otherwise idle machine (a CPU burner must own the box): run alone, one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.exclusive.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
