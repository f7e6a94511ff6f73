/**
 * npm run package, in the first (exclusive) run of npm test: the build loads both cores for minutes, so
 * it runs before the timing-sensitive suites rather than beside them; the package tests of the second run
 * reuse what it built (harness/packages.ts). Run alone (npx vitest run test/e2e/package), they build it.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtPackages } from '../../support/harness/packages.js';

const MB = 1024 * 1024;

describe('npm run package', () => {
  it('writes the x64 and arm64 executables, the .deb, the .rpm, SHA256SUMS and the notices', async () => {
    const p = await builtPackages();
    // Node.js 24 stripped (~104 MB) plus the 1.9 MB bundle; the packages xz-compressed.
    for (const exe of [p.executable, p.arm64Executable]) {
      expect(statSync(exe).size).toBeGreaterThan(80 * MB);
      expect(statSync(exe).size).toBeLessThan(140 * MB);
      expect(statSync(exe).mode & 0o755).toBe(0o755);
    }
    for (const pkg of [p.deb, p.rpm]) {
      expect(statSync(pkg).size).toBeGreaterThan(20 * MB);
      expect(statSync(pkg).size).toBeLessThan(45 * MB);
    }
    expect(statSync(p.notices).size).toBeGreaterThan(100_000);
    if (!p.log.startsWith('reused')) {
      expect(p.log).toMatch(/^package: bundle [\d.]+ MB from \d+ files; V8 flags --min-semi-space-size=3 /m);
      expect(p.log).toMatch(/^package: done in [\d.]+ s: /m);
    }
  }, 30 * 60_000);
});
