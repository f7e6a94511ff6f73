import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageFile } from '../../../src/core/package-file.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { exporterFolder, flagsTable } from '../../support/fixtures/exporter-flags.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { makeTestCerts } from '../../support/servers/certs.js';

/**
 * Every exporter folder's README.md lists the subcommand's flags (the table must be what the spec says)
 * and holds a sample [[exporter]] block that `scaph run --check` accepts. SCAPH_WRITE_EXPORTER_READMES=1
 * rewrites the tables from the specs instead of comparing.
 */
const certs = makeTestCerts();
const dir = mkdtempSync(join(tmpdir(), 'scaph-readmes-'));
afterAll(() => {
  certs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines of the table under "## Flags". */
function tableRange(lines: readonly string[]): [number, number] {
  const heading = lines.indexOf('## Flags');
  let start = heading + 1;
  while (start < lines.length && !lines[start]?.startsWith('|')) start += 1;
  let end = start;
  while (end < lines.length && lines[end]?.startsWith('|')) end += 1;
  return heading < 0 || start === end ? [-1, -1] : [start, end];
}

/** The ```toml blocks holding an [[exporter]] table. */
function tomlSamples(text: string): string[] {
  return [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] as string).filter((b) => b.includes('[[exporter]]'));
}

/** The sample as a file --check can read: its input files point at real files of the right kind. */
function runnable(sample: string, name: string): string {
  const token = join(dir, `${name}.token`);
  writeFileSync(token, 'secret-token\n', { mode: 0o600 });
  const files: Record<string, string> = { ca: certs.caFile, cert: certs.clientPkcs8.certFile, key: certs.clientPkcs8.keyFile };
  return sample.replace(/^(\w+)\s*=\s*"([^"]*)"/gm, (line, key: string) => {
    const real = files[key] ?? (key.endsWith('_file') ? token : undefined);
    return real === undefined ? line : `${key} = "${real}"`;
  });
}

describe.each(EXPORTER_COMMANDS.map((spec) => [spec.name, spec] as const))('src/exporters/%s README', (name, spec) => {
  const file = packageFile(join('src', 'exporters', exporterFolder(spec), 'README.md'));
  const text = readFileSync(file, 'utf8');

  it('lists every flag of the subcommand, as its spec declares it', () => {
    const lines = text.split('\n');
    const [start, end] = tableRange(lines);
    expect(start, `${file}: no table under "## Flags"`).toBeGreaterThan(0);
    const expected = flagsTable(spec);
    if (process.env['SCAPH_WRITE_EXPORTER_READMES'] === '1') {
      writeFileSync(file, [...lines.slice(0, start), expected, ...lines.slice(end)].join('\n'));
      return;
    }
    expect(lines.slice(start, end).join('\n')).toBe(expected);
  });

  it('has a sample [[exporter]] block that `scaph run --check` accepts', async () => {
    const samples = tomlSamples(text);
    expect(samples.length, `${file}: no \`\`\`toml block with [[exporter]]`).toBeGreaterThan(0);
    for (const [i, sample] of samples.entries()) {
      expect(sample).toContain(`type = "${name}"`);
      const config = join(dir, `${name}-${i}.toml`);
      writeFileSync(config, `[sensor]\nkind = "estimate"\n\n${runnable(sample, name)}`, { mode: 0o600 });
      const run = await runScaph(['run', '-c', config, '--check']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${config}: OK:`);
      expect(run.stdout).toContain(name);
    }
  });
});
