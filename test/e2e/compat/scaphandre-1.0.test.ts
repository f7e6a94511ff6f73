/**
 * The command lines of Scaphandre 1.0 that scaph refused (issue 28), run as typed against the built CLI,
 * with a loopback test server's address and port where the line names a host, and the values they must
 * produce. The spellings come from Scaphandre 1.0's clap definitions (src/exporters/warpten.rs, stdout.rs,
 * json.rs at v1.0.0) and its documentation (docs_src/references/exporter-*.md):
 *
 * - `warp10 -H host -p 8080 -S http -t TOKEN -s 30`: 1.0 reads -S as the scheme and -s as the step, 0.5 the
 *   other way round; scaph tells them apart by the value, so both orders push over http every 30 s.
 * - `warpten`: 1.0's name of the subcommand.
 * - `stdout -t 0`: "display top consumers infinitely" (1.0's docs): runs until Ctrl-C.
 * - `stdout --process 20` (0.5's long form), `--processes` (1.0's), `--regex` (0.5's): the top-N and the
 *   regex filter.
 * - `json --containers --container-regex RE`: only the processes of a container whose name matches.
 *
 * A push with a 30 s step waits for this host's offset within the step (splay), at least half a step after
 * start; the environment gives the run a host name whose offset comes soon after that (splaySoonEnv), so the
 * line itself is typed as it is.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_ID, DOCKER_ID_2, DOCKER_V2_SYSTEMD } from '../../support/fixtures/cgroups.js';
import type { PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { containerSummary, startDockerApi } from '../../support/servers/docker-api.js';
import { waitFor } from '../../support/servers/free-port.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import { realTimeServerTree, SERVER2S_HOST_W, spawnMarker, splaySoonEnv, startScaph, type Marker } from '../../support/harness/compat.js';

let tree: PowercapTree;
let env: NodeJS.ProcessEnv;
let marker: Marker;
let dir: string;

beforeAll(() => {
  ({ tree, env } = realTimeServerTree());
  marker = spawnMarker('scaph-compat-one-oh');
  dir = mkdtempSync(join(tmpdir(), 'scaph-compat-1.0-'));
});

afterAll(() => {
  marker?.stop();
  tree?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const RULE = `${'-'.repeat(60)}\n`;

/** The rows of a stdout report's consumer table: [power W, pid, exe]. */
function consumerRows(report: string): Array<[number, number, string]> {
  const lines = report.split('\n');
  const head = lines.findIndex((l) => /^Top \d+ consumers( matching .*)?:$/.test(l));
  const rows: Array<[number, number, string]> = [];
  for (const line of lines.slice(head + 2)) {
    const m = /^([\d.]+) W\t(\d+)\t"(.*)"$/.exec(line);
    if (!m) break;
    rows.push([Number(m[1]), Number(m[2]), m[3] as string]);
  }
  return rows;
}

describe('warp10: either letter for the scheme and the step; warpten', () => {
  it.each([
    ['Scaphandre 1.0 (-S scheme, -s step)', 'warp10', ['-S', 'http', '-t', 'TOKEN', '-s', '30']],
    ['Scaphandre 1.0 name, 0.5 letters (-s scheme, -S step)', 'warpten', ['-s', 'http', '-t', 'TOKEN', '-S', '30']],
  ])('%s: scaph %s -H host -p PORT … pushes the host power over http, every 30 s, with the token', async (_what, sub, flags) => {
    const server = await Warp10TestServer.start({ writeTokens: ['TOKEN'] });
    const run = startScaph([sub, '-H', '127.0.0.1', '-p', String(server.port), ...flags], { ...env, ...splaySoonEnv(dir, 30_000) });
    try {
      // At this host's offset: 20 to 24 s after start (half the step, then the splay phase splaySoonEnv chose).
      await waitFor(async () => (server.series('scaph_host_power_microwatts').length > 0 ? true : null), 45_000, 'the first write');
      expect(server.requests.every((r) => r.token === 'TOKEN' && r.status === 200)).toBe(true);
      const host = server.series('scaph_host_power_microwatts')[0];
      expect(Math.abs(Number(host?.value) / 1e6 - SERVER2S_HOST_W)).toBeLessThan(SERVER2S_HOST_W * 0.1);
      expect(new Set(server.series('scaph_socket_power_microwatts').map((p) => p.labels['socket_id']))).toEqual(new Set(['0', '1']));
      // The step is 30 s (the splay line names it), not the scheme taken for a step or the other way round.
      expect(run.stderr).toMatch(/splay: warp10 sends near [\d.]+ s past every multiple of 30 s of the clock/);
    } finally {
      expect((await run.stop()).code).toBe(0);
      await server.stop();
    }
  });
});

describe('stdout', () => {
  it('scaph stdout -t 0 displays the top consumers until Ctrl-C (past the 10 s default), then exits 0', async () => {
    const run = startScaph(['stdout', '-t', '0'], env);
    try {
      await run.waitForStdout((out) => out.includes(RULE));
      await new Promise((r) => setTimeout(r, 12_000));
      expect(run.child.exitCode).toBeNull();
    } finally {
      const done = await run.stop();
      expect(done.code).toBe(0);
      const reports = done.stdout.split(RULE).filter((r) => r.includes('Host:'));
      // A report every 2 s for 12 s and more.
      expect(reports.length).toBeGreaterThanOrEqual(5);
      const hostW = Number(/^Host:\t([\d.]+) W/m.exec(reports.at(-1) ?? '')?.[1]);
      expect(Math.abs(hostW - SERVER2S_HOST_W)).toBeLessThan(SERVER2S_HOST_W * 0.1);
    }
  });

  it.each([[['stdout', '--process', '20']], [['stdout', '--processes', '20']]])('scaph %j lists the top 20 consumers', async (args) => {
    const run = startScaph(args, env);
    await run.waitForStdout((out) => out.split(RULE).length > 2);
    const done = await run.stop();
    expect(done.code).toBe(0);
    const report = done.stdout.split(RULE)[1] ?? '';
    expect(report).toContain('Top 20 consumers:');
    const rows = consumerRows(report);
    // This machine runs more than 20 processes: the table is full, highest power first.
    expect(rows).toHaveLength(20);
    expect(rows.map((r) => r[0])).toEqual(rows.map((r) => r[0]).sort((a, b) => b - a));
  });

  it.each([[['stdout', '--regex', 'scaph-compat-one-oh']], [['stdout', '-r', 'scaph-compat-one-oh']]])('scaph %j lists the matching processes alone', async (args) => {
    const run = startScaph(args, env);
    await run.waitForStdout((out) => out.split(RULE).length > 2);
    const done = await run.stop();
    expect(done.code).toBe(0);
    const rows = consumerRows(done.stdout.split(RULE)[1] ?? '');
    // The marker, burning CPU; and scaph itself, whose command line holds the pattern too.
    expect(rows.map((r) => r[1]).sort((a, b) => a - b)).toEqual([marker.pid, run.child.pid as number].sort((a, b) => a - b));
    expect(rows.find((r) => r[1] === marker.pid)?.[0]).toBeGreaterThan(0);
  });
});

describe('json --containers --container-regex', () => {
  it('lists only the processes of the containers whose name matches, with their container', async () => {
    // Two containers (web and db, as Docker names them) and a process outside any, burning CPU.
    const web: FakeProcess = { pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 };
    const db: FakeProcess = { pid: 102, comm: 'postgres', utime: 0, stime: 0, starttime: 11 };
    const bare: FakeProcess = { pid: 103, comm: 'cron', utime: 0, stime: 0, starttime: 12 };
    const procfs = ProcfsTree.create({ cpuCount: 2, processes: [web, db, bare] });
    writeFileSync(join(procfs.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD);
    writeFileSync(join(procfs.root, '102', 'cgroup'), DOCKER_V2_SYSTEMD.replace(DOCKER_ID, DOCKER_ID_2));
    writeFileSync(join(procfs.root, '103', 'cgroup'), '0::/user.slice/user-1000.slice/session-1.scope\n');
    const stopCpu = procfs.runCpu({ user: 60, idle: 140 }, [[web, 10], [db, 30], [bare, 20]], 100);
    const docker = await startDockerApi(join(dir, 'docker.sock'), [containerSummary(DOCKER_ID, 'web', 'nginx:1.25'), containerSummary(DOCKER_ID_2, 'db', 'postgres:16')]);
    try {
      const run = startScaph(['--procfs-path', procfs.root, '--docker-socket', docker.socketPath, 'json', '--containers', '--container-regex', '^web'], env);
      await waitFor(async () => ((run.stdout.match(/"pid":101/g) ?? []).length >= 2 ? true : null), 20_000, 'two reports listing the web container');
      const done = await run.stop();
      expect(done.code, done.stderr).toBe(0);
      const reports = JSON.parse(done.stdout) as Array<{ consumers: Array<{ pid: number; consumption: number; container?: { containerName?: string } | null }> }>;
      const listed = reports.filter((r) => r.consumers.length > 0);
      expect(listed.length).toBeGreaterThanOrEqual(2);
      for (const r of listed) {
        expect(r.consumers.map((c) => [c.pid, c.container?.containerName])).toEqual([[101, "web"]]);
      }
      expect(listed.at(-1)?.consumers[0]?.consumption).toBeGreaterThan(0);
    } finally {
      stopCpu();
      await docker.close();
      procfs.cleanup();
    }
  });
});
