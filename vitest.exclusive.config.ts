import { defineConfig } from 'vitest/config';

// Tests that need an otherwise idle machine (a CPU burner must own the box): run alone, one file at a time.
export default defineConfig({
  // src/core/lazy-modules.cts is TypeScript too (CommonJS on purpose: see that file).
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/**/*.exclusive.test.ts'],
    // The first of the two runs of `npm test`: SCAPH_REQUIRE_CONTAINERS=1 fails here already when there is no engine.
    globalSetup: ['test/support/servers/require-containers.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
