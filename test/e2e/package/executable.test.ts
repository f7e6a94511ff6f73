/**
 * The single executable of `npm run package`, run where Node.js cannot be reached (a mount namespace that
 * masks every node binary and node_modules: harness/hidden-node.ts), against `node dist/src/bin.js` on the
 * same inputs: the same help, version, config checks, errors and exit codes, the V8 flags of src/bin.ts,
 * and the same figures on the same synthetic powercap and procfs trees. Needs root (unshare -m): CI runs
 * as root.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_V8_FLAGS, shebangNodeFlags } from '../../../packaging/executable/node-flags.js';
import { runtimePins } from '../../../packaging/executable/node-runtime.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, generateProcesses } from '../../support/fixtures/procfs-tree.js';
import { RemoteWriteReceiver, eventually } from '../../support/harness/bad-input.js';
import { runCommand, withoutNode, type CommandResult } from '../../support/harness/hidden-node.js';
import { builtPackages, PKG_DIR, type BuiltPackages } from '../../support/harness/packages.js';
import { freePort } from '../../support/servers/free-port.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'bin.js');
const FLAGS = shebangNodeFlags(join(ROOT, 'src', 'bin.ts'));
const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

let pkgs: BuiltPackages;
let dir: string;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('these tests hide node in a mount namespace (unshare -m): run them as root, as CI does');
  pkgs = await builtPackages();
  dir = mkdtempSync(join(tmpdir(), 'scaph-exe-'));
}, 30 * 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The executable, Node.js hidden. JSON logs whatever the default format (the runtime line is parsed). */
function exe(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand(withoutNode(pkgs.executable, args), { env: { SCAPH_LOG_FORMAT: 'json', ...env }, timeoutMs, cwd: dir });
}

/** node dist/src/bin.js, as its shebang runs it. */
function node(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand([process.execPath, ...FLAGS, BIN, ...args], { env: { SCAPH_LOG_FORMAT: 'json', ...env }, timeoutMs, cwd: dir });
}

/** Each way at the same time (for the figures: both see the same counters move). */
function both(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<[CommandResult, CommandResult]> {
  return Promise.all([exe(args, env), node(args, env)]);
}

/** Each case runs two programs, a few times: minutes on a loaded 2-core machine. */
const CASE_MS = 300_000;

/**
 * The names of the functions alive in the program's heap once it runs (a snapshot written on SIGUSR2,
 * NODE_OPTIONS=--heapsnapshot-signal, which the executable honours as node does). A library's classes
 * exist as closures only once its module code has run.
 */
async function heapClosures(argv: readonly string[], cwd: string): Promise<Set<string>> {
  mkdirSync(cwd, { recursive: true });
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, { cwd, stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } });
  try {
    await new Promise((r) => setTimeout(r, 4000));
    child.kill('SIGUSR2');
    let file: string | undefined;
    await eventually(() => (file = readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot'))) !== undefined, 60_000, 'the heap snapshot');
    const path = join(cwd, file as string);
    // Written in one go by the main thread: complete once it parses.
    let snapshot: { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] } | null = null;
    await eventually(() => (snapshot = JSON.parse(readFileSync(path, 'utf8')) as typeof snapshot) !== null, 60_000, 'a complete heap snapshot');
    const s = snapshot as unknown as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
    const fields = s.snapshot.meta.node_fields.length;
    const closure = s.snapshot.meta.node_types[0].indexOf('closure');
    const names = new Set<string>();
    for (let i = 0; i < s.nodes.length; i += fields) if (s.nodes[i] === closure) names.add(s.strings[s.nodes[i + 1] as number] as string);
    return names;
  } finally {
    child.kill('SIGKILL');
  }
}

function runtimeLine(stderr: string): Record<string, unknown> {
  const line = stderr.split('\n').find((l) => l.includes('"msg":"runtime"'));
  if (line === undefined) throw new Error(`no runtime debug line in:\n${stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('the artefacts', () => {
  it('are listed in SHA256SUMS with their digests, with the licences of what the executable embeds beside them', () => {
    const sums = readFileSync(pkgs.sums, 'utf8');
    expect(sums.split('\n').filter((l) => l !== '').map((l) => l.split('  ')[1]).sort()).toEqual(
      [`scaph-${pkgs.version}-linux-x64`, `scaph-${pkgs.version}-linux-arm64`, `scaph_${pkgs.version}_amd64.deb`, `scaph-${pkgs.version}-1.x86_64.rpm`].sort(),
    );
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: PKG_DIR, encoding: 'utf8' })).not.toMatch(/FAILED/);
    const notices = readFileSync(pkgs.notices, 'utf8');
    expect(notices).toContain(`Node.js ${runtimePins().version}`);
    // Every production dependency the agent loads is bundled, hence listed (with its licence text).
    for (const dep of Object.keys(pkgJson.dependencies)) expect(notices, dep).toMatch(new RegExp(`^${dep} \\d+\\.\\d+\\.\\d+\\nLicense: `, 'm'));
    expect(notices).toMatch(/^undici .*\nLicense: MIT\n-+\nMIT License/m);
  });
});

describe('the single executable, Node.js hidden, against node dist/src/bin.js', () => {
  it('runs in a namespace where node and node_modules cannot be reached', async () => {
    const probe = await runCommand(withoutNode('sh', ['-c', 'node --version; echo "node rc=$?"; ls node_modules | wc -l']), { cwd: ROOT });
    expect(probe.stdout).toMatch(/node rc=(126|127)\n0\n/);
    const version = await exe(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${pkgJson.version}\n`, stderr: '' });
  }, CASE_MS);

  it('prints the same help for the program and every subcommand', async () => {
    for (const args of [['--help'], ['help'], ...[...EXPORTER_COMMANDS.map((c) => c.name), 'run'].map((name) => [name, '--help']), ['stdout', '--version']]) {
      const [e, n] = await both(args);
      expect(e, args.join(' ')).toEqual(n);
      expect(e.code).toBe(0);
    }
  }, CASE_MS);

  it('checks TOML and YAML configs the same way, paths resolved, steps and errors alike', async () => {
    const powercap = createPowercapTree('server2s');
    try {
      const toml = join(dir, 'ok.toml');
      writeFileSync(toml, `[sensor]\nkind = "powercap_rapl"\npowercap_path = "${powercap.powercapPath}"\nstep = 1\n\n[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = 9\n\n[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\nspool_dir = "spool/rw"\nstep = 5\n`);
      const yaml = join(dir, 'ok.yaml');
      writeFileSync(yaml, `sensor:\n  kind: estimate\nexporter:\n  - type: riemann\n    address: 127.0.0.1\n    step: 10\n`);
      const bad = join(dir, 'bad.toml');
      writeFileSync(bad, `[sensor]\nkind = "nope"\n\n[[exporter]]\ntype = "warp10"\nwrite_token_file = "/nonexistent/token"\nfrobnicate = 1\n`);
      for (const file of [toml, yaml]) {
        const [e, n] = await both(['run', '-c', file, '--check']);
        expect(e, file).toEqual(n);
        expect(e.code).toBe(0);
      }
      expect((await exe(['run', '-c', toml, '--check'])).stdout).toContain(`= ${join(dir, 'spool', 'rw')}`);
      const [e, n] = await both(['run', '-c', bad, '--check']);
      expect(e).toEqual(n);
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(/frobnicate/);
    } finally {
      powercap.close();
    }
  }, CASE_MS);

  it('answers bad input with the same exit codes and one-line messages', async () => {
    const broken = join(dir, 'broken.toml');
    writeFileSync(broken, '[sensor\nkind = ');
    const cases: string[][] = [
      ['frobnicate'],
      ['stdout', '-t', 'abc'],
      ['--sensor', 'nope', 'stdout'],
      ['run', '-c', join(dir, 'missing.toml')],
      ['run', '-c', broken],
      ['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', join(dir, 'no-powercap'), 'stdout', '-t', '1'],
      ['remote-write', '--url', 'not a url'],
    ];
    for (const args of cases) {
      const [e, n] = await both(args);
      expect(e, args.join(' ')).toEqual(n);
      expect(e.code, args.join(' ')).not.toBe(0);
      expect(e.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  }, CASE_MS);

  it('runs with the V8 flags of src/bin.ts (then those of its runtime), on its own Node.js, and honours NODE_OPTIONS as node does', async () => {
    const args = ['-vv', '--no-header', '--sensor', 'estimate', 'stdout', '-t', '1'];
    const env = { NODE_OPTIONS: '--max-old-space-size=100', SCAPH_LOG_LEVEL: 'debug' };
    const [e, n] = await both(args, env);
    expect(e.code, e.stderr).toBe(0);
    expect(n.code, n.stderr).toBe(0);
    const fromExe = runtimeLine(e.stderr);
    const fromNode = runtimeLine(n.stderr);
    expect(FLAGS).toEqual(['--min-semi-space-size=3', '--max-semi-space-size=3', '--no-allocation-site-pretenuring', '--single-threaded', '--heap-growing-percent=50']);
    expect(fromExe).toMatchObject({ execArgv: [...FLAGS, ...RUNTIME_V8_FLAGS.flags], singleExecutable: true, node: `v${runtimePins().version}` });
    expect(fromNode).toMatchObject({ execArgv: FLAGS, singleExecutable: false, node: process.version });
    // 100 MB of old space plus the young generation's share: NODE_OPTIONS reached V8 in both.
    for (const line of [fromExe, fromNode]) {
      expect(line['heapLimitMb']).toBeGreaterThanOrEqual(100);
      expect(line['heapLimitMb']).toBeLessThan(140);
    }
    const plain = runtimeLine((await exe(args, { SCAPH_LOG_LEVEL: 'debug' })).stderr);
    expect(plain['heapLimitMb']).toBeGreaterThan(140);
  }, CASE_MS);

  it('measures the same host power and the same processes on the same powercap and procfs trees', async () => {
    const powercap = createPowercapTree('server2s', { clock: 'real' });
    const processes = generateProcesses(4);
    const procfs = ProcfsTree.create({ processes, cpuCount: 2 });
    // Every 100 ms: 20 ticks of CPU time, 4 of them busy, all in the four processes (3 + 1 in two of them).
    const [p0, p1] = processes as [typeof processes[0], typeof processes[0]];
    const stop = procfs.runCpu({ user: 4, idle: 16 }, [[p0, 3], [p1, 1]], 100);
    try {
      const args = ['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', powercap.powercapPath, '--procfs-path', procfs.root, 'json', '-t', '5.5', '-s', '1'];
      const [e, n] = await both(args);
      expect(e.code, e.stderr).toBe(0);
      expect(n.code, n.stderr).toBe(0);
      type Report = { host: { consumption: number; value_source: string }; consumers: Array<{ pid: number; consumption: number }> };
      const summary = (out: string) => {
        const reports = (JSON.parse(out) as Report[]).slice(1); // the first step has no CPU deltas yet
        const byPid = new Map<number, number[]>();
        for (const r of reports) for (const c of r.consumers) byPid.set(c.pid, [...(byPid.get(c.pid) ?? []), c.consumption]);
        const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        return { reports, host: mean(reports.map((r) => r.host.consumption)), byPid: new Map([...byPid].map(([pid, xs]) => [pid, mean(xs)])) };
      };
      const a = summary(e.stdout);
      const b = summary(n.stdout);
      expect(a.reports.length).toBeGreaterThanOrEqual(3);
      expect(b.reports.length).toBeGreaterThanOrEqual(3);
      const truthUw = (62 + 11.25 + 48 + 9.5) * 1e6; // packages + dram of server2s
      for (const s of [a, b]) {
        for (const r of s.reports) expect(r.host.value_source).toBe('powercap_rapl_pkg');
        expect(Math.abs(s.host - truthUw) / truthUw).toBeLessThan(0.05);
      }
      expect(Math.abs(a.host - b.host) / truthUw).toBeLessThan(0.05);
      // The busy processes, with the same power (CPU share x host power) within the timing noise.
      expect([...a.byPid.keys()].sort()).toEqual([...b.byPid.keys()].sort());
      for (const p of [p0, p1]) {
        const x = a.byPid.get(p.pid) ?? 0;
        const y = b.byPid.get(p.pid) ?? 0;
        expect(x).toBeGreaterThan(0);
        expect(Math.abs(x - y) / Math.max(x, y), `pid ${p.pid}`).toBeLessThan(0.15);
      }
      expect((a.byPid.get(p0.pid) ?? 0) / (a.byPid.get(p1.pid) ?? 1)).toBeGreaterThan(2);
    } finally {
      stop();
      procfs.cleanup();
      powercap.close();
    }
  }, CASE_MS);

  it('loads undici, yaml and prom-client at first use only, as node + dist does (closures in a heap snapshot)', async () => {
    const config = join(dir, 'lazy.yaml');
    // YAML: yaml is used at start; a Prometheus endpoint nobody scrapes: prom-client never renders.
    writeFileSync(config, `sensor:\n  kind: estimate\n  step: 1\nexporter:\n  - type: prometheus\n    address: 127.0.0.1\n    port: ${await freePort()}\n`);
    for (const [what, argv] of [
      ['executable', withoutNode(pkgs.executable, ['--no-header', 'run', '-c', config])],
      ['node + dist', [process.execPath, ...FLAGS, BIN, '--no-header', 'run', '-c', config]],
    ] as const) {
      const names = await heapClosures(argv, join(dir, what.replace(/\W+/g, '-')));
      expect(names.has('YAMLParseError'), `${what}: yaml`).toBe(true);
      expect(names.has('UndiciError'), `${what}: undici`).toBe(false);
      expect(names.has('Pushgateway'), `${what}: prom-client`).toBe(false);
      expect(names.has('createPushExporter'), `${what}: the agent's own code`).toBe(true);
    }
  }, CASE_MS);

  it('pushes to Riemann (its .proto an asset), to remote-write (snappyjs) and serves /metrics (prom-client, loaded at first scrape)', async () => {
    const riemann = await FakeRiemannServer.start();
    const receiver = await RemoteWriteReceiver.start();
    const port = await freePort();
    try {
      const config = join(dir, 'push.toml');
      writeFileSync(
        config,
        `[sensor]\nkind = "estimate"\nstep = 1\n\n[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nstep = 1\n\n` +
          `[[exporter]]\ntype = "remote-write"\nurl = "${receiver.url}"\nstep = 1\n\n[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = ${port}\nstep = 1\n`,
      );
      const running = exe(['--no-header', 'run', '-c', config, '-t', '6']);
      await eventually(() => receiver.stored.size >= 2 && riemann.events.some((ev) => ev.service === 'scaph_host_power_microwatts'), 20_000, 'remote-write samples and riemann events');
      const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
      const body = await scrape.text();
      const done = await running;
      expect(done.code, done.stderr).toBe(0);
      // Info lines only (start, first deliveries, summaries at stop): nothing went wrong.
      const loud = done.stderr.split('\n').filter((l) => l !== '' && (JSON.parse(l) as { level: number }).level >= 40);
      expect(loud).toEqual([]);
      expect(scrape.status).toBe(200);
      expect(body).toMatch(/^scaph_host_power_microwatts\{.*\} \d+/m);
      for (const w of receiver.stored.values()) expect(w).toBeGreaterThan(0);
    } finally {
      await Promise.all([riemann.stop(), receiver.stop()]);
    }
  }, CASE_MS);
});
