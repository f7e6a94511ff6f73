import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestartablePrometheus } from '../../support/servers/restartable-prometheus.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const BUILD = join(ROOT, '.vitest-tmp', `spool-agent-${process.pid}`);
const AGENT = join(BUILD, 'test', 'support', 'harness', 'spool-agent.js');
const STEP_MS = 250;
const SPOOL_MAX_BYTES = 2 * 1024 * 1024;

const powerAt = (timestampMs: number): number => (timestampMs % 1_000_000) * 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let prom: RestartablePrometheus;
const agents: ChildProcess[] = [];

function startAgent(config: string, logFile: string): ChildProcess {
  const proc = spawn(process.execPath, [AGENT, config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SCAPH_LOG_LEVEL: 'info' } });
  proc.stderr?.on('data', (d: Buffer) => appendFileSync(logFile, d));
  agents.push(proc);
  return proc;
}

function exited(proc: ChildProcess): Promise<number | null> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve(proc.exitCode) : new Promise((r) => proc.once('exit', (code) => r(code)));
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

beforeAll(async () => {
  // The agent runs as its own process (it gets SIGKILLed): compile it with the sources it imports.
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--outDir', BUILD, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--esModuleInterop', '--strict', join(ROOT, 'test', 'support', 'harness', 'spool-agent.ts')],
    { stdio: 'inherit' },
  );
  prom = await RestartablePrometheus.create();
  await prom.start();
}, 120_000);

afterAll(async () => {
  for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
  await prom?.stop();
});

describe('disk spool with a real Prometheus', () => {
  it('loses no sample through a backend outage, an agent SIGKILL, a torn segment and a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-sigkill-'));
    const spoolDir = join(dir, 'spool');
    const taken = join(dir, 'taken.log');
    const agentLog = join(dir, 'agent.log');
    const config = join(dir, 'scaph.toml');
    writeFileSync(
      config,
      `[sensor]\nstep = "${STEP_MS}ms"\n\n[[exporter]]\ntype = "remote-write"\nurl = "${prom.baseUrl}/api/v1/write"\nlabel = { instance = "spool-test" }\nspool_dir = "${spoolDir}"\nspool_max_bytes = ${SPOOL_MAX_BYTES}\nspool_max_age = "1h"\nstep = "${STEP_MS}ms"\n\n[[exporter]]\ntype = "taken-log"\npath = "${taken}"\nstep = "${STEP_MS}ms"\n`,
    );

    // Agent A delivers live, then the backend goes down and A spools; then A is SIGKILLed.
    const a = startAgent(config, agentLog);
    await sleep(2000);
    await prom.stop();
    const outageStart = Date.now();
    await sleep(2000);
    a.kill('SIGKILL');
    await exited(a);
    const takenByA = readFileSync(taken, 'utf8').trim().split('\n').length;

    // A torn record at the end of the newest segment, as a SIGKILL in the middle of a write leaves it.
    const segments = readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).sort();
    expect(segments.length).toBeGreaterThan(0);
    appendFileSync(join(spoolDir, segments[segments.length - 1] as string), Buffer.from([0, 0, 1, 0, 9, 9, 9, 9, 1]));
    expect(dirBytes(spoolDir)).toBeLessThanOrEqual(SPOOL_MAX_BYTES + 4096);

    // Agent B starts while the backend is still down, then the backend comes back.
    await sleep(500);
    const b = startAgent(config, agentLog);
    await sleep(2000);
    await prom.start();
    const outageMs = Date.now() - outageStart;

    const expected = readFileSync(taken, 'utf8').trim().split('\n').map(Number);
    let stored = new Map<number, number>();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      stored = new Map(await prom.rawPoints('scaph_host_power_microwatts{instance="spool-test"}', 600));
      if (expected.every((t) => stored.has(t))) break;
      await sleep(250);
    }
    b.kill('SIGTERM');
    expect(await exited(b)).toBe(0);

    const missing = expected.filter((t) => !stored.has(t));
    const wrong = expected.filter((t) => stored.has(t) && stored.get(t) !== powerAt(t));
    const log = readFileSync(agentLog, 'utf8');
    const replayed = expected.filter((t) => t >= outageStart && t <= outageStart + outageMs).length;
    process.stderr.write(
      `spool SIGKILL test: ${expected.length} samples taken (${takenByA} by the killed agent), ${replayed} during the ${outageMs} ms outage; ` +
        `stored ${stored.size}, missing ${missing.length}, wrong values ${wrong.length}; spool left ${dirBytes(spoolDir)} bytes\n`,
    );
    expect(missing).toEqual([]);
    expect(wrong).toEqual([]);
    expect(replayed).toBeGreaterThanOrEqual(10);
    // Every sample went out, in order: nothing was rejected (a 400 would have been logged and dropped).
    expect(log).not.toMatch(/HTTP 400/);
    expect(log).toMatch(/damaged spool segment/);
    expect(log).toMatch(/replaying the spool/);
    // Everything acknowledged: at most the open segment is left, and the last spool gauge says 0 pending.
    const spoolGauge = await prom.rawPoints('scaph_delivery_spool_samples', 600);
    expect(spoolGauge.length).toBeGreaterThan(0);
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).length).toBeLessThanOrEqual(1);
  }, 120_000);
});
