import { defineConfig } from 'vitest/config';

export default defineConfig({
  // src/core/lazy-modules.cts is TypeScript too (CommonJS on purpose: see that file).
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/**/*.test.ts'],
    // *.exclusive.test.ts need an idle box: vitest.exclusive.config.ts runs them first, alone.
    exclude: ['test/**/*.exclusive.test.ts', '**/node_modules/**'],
    // SCAPH_REQUIRE_CONTAINERS=1 without a container engine: stop at once, with one line.
    globalSetup: ['test/support/servers/require-containers.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and spawn CPU burners: keep the 2-core box from oversubscribing.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
