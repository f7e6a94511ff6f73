import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageFile, packageFileText, packageRoot } from '../../../src/core/package-file.js';

describe('packageFileText', () => {
  it('reads a file of the package by its path from the package root (outside a single executable)', () => {
    expect(packageFileText('proto/riemann.proto')).toBe(readFileSync(join(packageRoot(), 'proto', 'riemann.proto'), 'utf8'));
    expect((JSON.parse(packageFileText('package.json')) as { name: string }).name).toBe('scaph');
    expect(packageFile('proto/riemann.proto')).toBe(join(packageRoot(), 'proto', 'riemann.proto'));
  });

  it('says the package is incomplete, and where it looked, when the file is missing', () => {
    expect(() => packageFileText('proto/missing.proto')).toThrow(`proto/missing.proto not found at ${join(packageRoot(), 'proto', 'missing.proto')}; the package is incomplete: reinstall scaph`);
  });
});
