/**
 * The docs' commands that no other test runs: the image's `docker build` / `docker run` lines (no
 * container engine here: they are checked against the Dockerfile and scaph's own parser, and their mounts
 * are resolved with a kernel-like /sys), the sed list for Scaphandre unit files (run with the real sed on
 * Scaphandre units, the result parsed by scaph), and the metric names they document. Each section is read
 * by its heading, in the doc that holds it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../../../src/core/metric-families.js';
import { REFERENCE_NAMES } from '../../support/oracles/scaphandre-reference.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { emulateSysMounts, SERVER2S_ZONES, zonesAt } from '../../support/harness/sys-mounts.js';
import { parseScaph } from '../../support/harness/parse-scaph.js';
import { migrationSedList, runSedList } from '../../support/harness/migration-sed.js';
import { docSection } from '../../support/harness/markdown-docs.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
/** Where the docs hold the container image, the migration from Scaphandre, the metrics and the filters. */
const IMAGE_SECTION = docSection('docs/install.md', '## The container image');
const COMING_FROM = docSection('docs/coming-from-scaphandre.md', '# Coming from Scaphandre');
const METRICS = docSection('docs/metrics.md', '# Metrics');
const FILTERS = docSection('docs/selection-and-filters.md', '## Choosing what is sent');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The lines of the image section's sh code blocks, `\` continuations joined. */
function shellLines(): string[] {
  const lines: string[] = [];
  for (const block of IMAGE_SECTION.matchAll(/```sh\n([\s\S]*?)```/g)) {
    lines.push(...(block[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n'));
  }
  return lines.map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
}

describe('the container image of the install docs', () => {
  const lines = shellLines();
  const build = lines.filter((l) => /^docker build -t scaph:/.test(l));
  const runs = lines.filter((l) => l.startsWith('docker run ')).map((l) => l.split(/\s+/));

  it('builds the Dockerfile at the repo root under a tag naming this version, and runs that tag', () => {
    expect(build).toEqual([`docker build -t scaph:${VERSION} .`]);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const argv of runs) expect(argv).toContain(`scaph:${VERSION}`);
    // What follows the image is scaph's argv: the entry point is the agent, its default command `run`.
    expect(DOCKERFILE).toMatch(/^ENTRYPOINT \[.*"\/opt\/scaph\/dist\/src\/bin\.js"\]$/m);
    expect(DOCKERFILE).toMatch(/^CMD \["run", "-c", "\/etc\/scaph\/scaph\.toml"\]$/m);
    expect(IMAGE_SECTION).toContain('without arguments it runs\n`scaph run -c /etc/scaph/scaph.toml`');
    // The Scaphandre-style quickstart: stdout for 15 s.
    expect(runs.some((argv) => argv.slice(-3).join(' ') === 'stdout -t 15')).toBe(true);
  });

  it("each docker run's arguments are valid scaph flags, and its mounts reach the host's RAPL counters and processes", async () => {
    const host = createPowercapTree('server2s');
    const dir = mkdtempSync(join(tmpdir(), 'scaph-readme-'));
    try {
      for (const [i, argv] of runs.entries()) {
        const image = argv.indexOf(`scaph:${VERSION}`);
        const parsed = await parseScaph(argv.slice(image + 1));
        expect(['stdout', 'prometheus']).toContain(parsed.exporter);
        const volumes = argv.flatMap((a, j) => (a === '-v' ? [argv[j + 1] ?? ''] : []));
        expect(volumes).toEqual(['/sys:/host/sys:ro', '/proc:/host/proc:ro']);
        expect(`/proc:${parsed.globals.sensor.procfsPath}:ro`).toBe(volumes[1]);
        const container = join(dir, `run-${i}`);
        emulateSysMounts(volumes, host.root, container);
        expect(await zonesAt(join(container, parsed.globals.sensor.powercapPath))).toBe(SERVER2S_ZONES);
      }
    } finally {
      host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the sed list for Scaphandre unit files", () => {
  /** Units as Scaphandre's docs and users write them (the Flatcar post's unit among them), and scaph 0.1's. */
  const UNITS = [
    'ExecStart=/usr/bin/scaphandre prometheus -s metrics2',
    'ExecStart=/usr/local/bin/scaphandre --sensor-buffer-per-socket-max-kB 1 --sensor-buffer-per-domain-max-kB=2 riemann --mtls --ca /etc/scaphandre/ca.pem --cert /etc/scaphandre/c.pem --key /etc/scaphandre/c.key -d 10',
    'ExecStart=scaphandre json -t 10 -s 0 -n 100000000 -f /var/log/scaphandre/report.json',
    'ExecStart=/usr/bin/scaphandre --vm -s powercap_rapl warp10 -H warp10.example -S 30',
    'ExecStart=/usr/bin/scaph prometheus -a :: -p 8080 -s 5 --containers',
    'ExecStart=/usr/bin/scaph prometheus-push -H pg.example -s 10',
    'ExecStartPre=/usr/bin/docker pull hubblo/scaphandre:latest',
    'ExecStart=/usr/bin/docker run --name scaphandre --network=host --volume="/proc:/proc" --volume="/var/scaphandre:/var/scaphandre" --volume="/sys/class/powercap:/sys/class/powercap" hubblo/scaphandre:latest --vm prometheus',
  ];

  it('rewrites them for scaph: the binary and the image renamed, paths shared with Scaphandre kept, flags that scaph parses', async () => {
    const list = migrationSedList(COMING_FROM);
    const { image, expressions } = list;
    expect(image).toBe(`registry.example/scaph:${VERSION}`);
    expect(expressions).toHaveLength(9);
    const dir = mkdtempSync(join(tmpdir(), 'scaph-sed-'));
    try {
      const unit = join(dir, 'scaphandre.service');
      writeFileSync(unit, `[Service]\n${UNITS.join('\n')}\n`);
      runSedList(list, [unit]);
      const out = readFileSync(unit, 'utf8').split('\n').slice(1, -1);
      expect(out).toEqual([
        'ExecStart=/usr/bin/scaph prometheus -s metrics2',
        'ExecStart=/usr/bin/scaph riemann --mtls --ca /etc/scaphandre/ca.pem --cert /etc/scaphandre/c.pem --key /etc/scaphandre/c.key -d 10',
        'ExecStart=/usr/bin/scaph json -t 10 -s 0 -n 100000000 -f /var/log/scaphandre/report.json',
        'ExecStart=/usr/bin/scaph --vm -s powercap_rapl warp10 -H warp10.example -S 30',
        'ExecStart=/usr/bin/scaph prometheus -a :: -p 8080 --step 5 --containers',
        'ExecStart=/usr/bin/scaph prometheus-push -H pg.example -s 10',
        `ExecStartPre=/usr/bin/docker pull ${image}`,
        `ExecStart=/usr/bin/docker run --name scaphandre --network=host --volume="/proc:/proc" --volume="/var/scaphandre:/var/scaphandre" --volume="/sys/class/powercap:/sys/class/powercap" ${image} --vm prometheus`,
      ]);
      // What scaph makes of each rewritten command line.
      const argvOf = (line: string) => line.slice(line.indexOf('/usr/bin/scaph ') + '/usr/bin/scaph '.length).split(' ');
      const parsed = await Promise.all(out.slice(0, 6).map((line) => parseScaph(argvOf(line))));
      expect(parsed.map((p) => p.exporter)).toEqual(['prometheus', 'riemann', 'json', 'warp10', 'prometheus', 'prometheus-push']);
      expect(parsed[0]?.opts).toMatchObject({ suffix: 'metrics2', step: 5 });
      expect(parsed[1]?.opts).toMatchObject({ mtls: true, dispatchInterval: 10 });
      expect(parsed[2]?.opts).toMatchObject({ timeout: 10, step: 0, stepNano: 100_000_000 });
      expect(parsed[3]?.globals.sensor).toMatchObject({ vm: true, kind: 'powercap_rapl' });
      expect(parsed[4]?.opts).toMatchObject({ suffix: 'metrics', step: 5, containers: true });
      expect(parsed[5]?.opts).toMatchObject({ step: 10 });
      // The image's argv after the sed: Scaphandre's `--vm prometheus`.
      expect((await parseScaph(['--vm', 'prometheus'])).globals.sensor.vm).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the docs' metric documentation", () => {

  it("documents every name of Scaphandre's reference in the metric table", () => {
    for (const name of REFERENCE_NAMES) expect(METRICS, name).toContain(`\`${name}\``);
  });

  it('lists every other name scaph ships among the names it adds', () => {
    const shipped = new Set(Object.keys(METRIC_FAMILIES));
    const added = [...shipped].filter((n) => !REFERENCE_NAMES.includes(n));
    expect(added.length).toBeGreaterThan(30);
    for (const name of added) expect(COMING_FROM, name).toMatch(new RegExp(`\`${name}\`\\*?[,)]`));
  });
});

describe("the docs' filter example", () => {
  it('is a config `scaph run --check` accepts', async () => {
    const toml = /```toml\n([\s\S]*?)```/.exec(FILTERS)?.[1] ?? '';
    expect(toml).toContain('keep_metrics');
    const dir = mkdtempSync(join(tmpdir(), 'scaph-readme-filters-'));
    try {
      const config = join(dir, 'scaph.toml');
      writeFileSync(config, toml);
      const { runScaph } = await import('../../support/fixtures/run-scaph.js');
      const check = await runScaph(['run', '-c', config, '--check']);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout).toContain('3 exporters: remote-write every 5 s (default), riemann every 5 s (default), prometheus every 5 s (default)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
