import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: test/unit only, which starts no servers and spawns no burners. One module graph per
 * worker process (isolate: false) pays each module's import and transform once per worker instead of once
 * per file. Safe because no unit test mocks modules (vi.mock) and the two that fake timers restore them in
 * afterEach. `npm test` keeps vitest.config.ts (isolated files) for the whole suite.
 */
export default defineConfig({
  // src/core/lazy-modules.cts is TypeScript too (CommonJS on purpose: see that file).
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/**/*.exclusive.test.ts', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // forks, not threads: the hangup tests send SIGHUP to process.pid, which in a thread is vitest itself.
    pool: 'forks',
    isolate: false,
  },
});
