/**
 * Data lost: two writers on one spool, a spool deleted while running, a server asking to wait 27 hours,
 * the terminal closing under `scaph json`. Each case counts what was sampled (a json exporter in the same
 * run, or the reports themselves) against what arrived: nothing may be missing.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScaph, startScaph, type ScaphProcess, type ScaphRun } from '../../support/fixtures/run-scaph.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import {
  asctimeDate,
  eventually,
  expectClean,
  expectFailure,
  HOST_SERIES,
  jsonHostPowers,
  jsonReportTimes,
  logLines,
  missing,
  refusedReload,
  RemoteWriteReceiver,
  riemannHostTimes,
  runConfig,
  saying,
  sleep,
  tempDir,
  JSON_LOGS,
} from '../../support/harness/bad-input.js';

/** A run config: a spooled Riemann exporter, then a json exporter listing every sample taken. */
function riemannConfig(dir: string, port: number, spool: string): { config: string; sampled: string } {
  return runConfig(dir, `type = "riemann"\naddress = "127.0.0.1"\nport = ${port}\nttl = 3600\nspool_dir = "${spool}"`);
}

interface KillDuringOutage {
  /** While Riemann is down and agent A runs (A has sampled 4 steps): returns from when samples count. */
  duringOutage(agent: ScaphProcess, spool: string, sampledByA: () => number[]): Promise<number>;
  /** After A's SIGKILL, before agent B starts on the same spool. */
  afterKill?(killed: ScaphRun, spool: string): void;
}

/**
 * Agent A runs on a spool while Riemann is down, then is SIGKILLed; Riemann comes back and agent B starts
 * on the same spool. Resolves once B has sampled too and everything counted (sampled since the time
 * `duringOutage` returned, by either agent) arrived, or throws after 20 s.
 */
async function killDuringOutage(steps: KillDuringOutage): Promise<{ counted: number[]; arrived: Set<number> }> {
  const dir = tempDir();
  const riemann = await FakeRiemannServer.start();
  await riemann.stop();
  const spool = join(dir, 'spool');
  // One list of samples per run: a restarted json exporter truncates its file.
  const a = riemannConfig(dir, riemann.port, spool);
  const b = riemannConfig(dir, riemann.port, spool);
  const agent = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', a.config], { timeoutMs: 60_000 });
  let restarted: ScaphProcess | null = null;
  try {
    await eventually(() => jsonReportTimes(a.sampled).length >= 4, 10_000, 'samples taken during the outage');
    const fromMs = await steps.duringOutage(agent, spool, () => jsonReportTimes(a.sampled));
    steps.afterKill?.(await agent.stop('SIGKILL'), spool);
    await riemann.restart();
    restarted = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', b.config], { timeoutMs: 60_000 });
    const counted = (): number[] => [...jsonReportTimes(a.sampled), ...jsonReportTimes(b.sampled)].filter((t) => t >= fromMs);
    await eventually(() => jsonReportTimes(b.sampled).length >= 4 && missing(counted(), riemannHostTimes(riemann.events)).length === 0, 20_000, 'every sample');
    expectClean(await restarted.stop());
    return { counted: counted(), arrived: riemannHostTimes(riemann.events) };
  } finally {
    await agent.stop('SIGKILL');
    await restarted?.stop('SIGKILL');
    await riemann.stop();
  }
}

describe('two writers on one spool', () => {
  it('two exporters given the same spool_dir: --check and the start refuse it (exit 2, both named)', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    writeFileSync(
      config,
      `[[exporter]]\ntype = "riemann"\nspool_dir = "spool"\n[[exporter]]\ntype = "warp10"\nwrite_token = "t"\nspool_dir = "${dir}/spool/"\n`,
    );
    for (const args of [['run', '-c', config, '--check'], ['--sensor', 'estimate', 'run', '-c', config]]) {
      expectFailure(await runScaph(['--no-header', ...args]), 2, /exporter\[1\]\.spool_dir: same spool directory as exporter\[0\] \(riemann\)/, /Each exporter needs its own/);
    }
  });

  it('the same spool reached through a symlink is the same spool', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'alias'));
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "riemann"\nspool_dir = "real"\n[[exporter]]\ntype = "riemann"\nport = 5556\nspool_dir = "alias"\n`);
    expectFailure(await runScaph(['run', '-c', config, '--check']), 2, /same spool directory as exporter\[0\]/);
  });

  it('the same config started twice: the second agent exits 1 naming the first one\'s pid; the first loses nothing', async () => {
    const dir = tempDir();
    const riemann = await FakeRiemannServer.start();
    const { config, sampled } = riemannConfig(dir, riemann.port, join(dir, 'spool'));
    const first = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000 });
    try {
      await eventually(() => riemannHostTimes(riemann.events).size >= 2, 10_000, 'the first deliveries');
      const second = await runScaph(['--no-header', 'run', '-c', config], { timeoutMs: 20_000 });
      expectFailure(second, 1, new RegExp(`spool directory "${dir}/spool" is in use by another scaph agent \\(pid ${first.pid}\\)`));
      expect(second.ms).toBeLessThan(5000);
      await sleep(1000);
      expectClean(await first.stop());
      expect(missing(jsonReportTimes(sampled), riemannHostTimes(riemann.events))).toEqual([]);
    } finally {
      await first.stop('SIGKILL');
      await riemann.stop();
    }
  });

  it('a lock left by a SIGKILLed agent is taken over; what it sampled during the outage arrives after the restart', async () => {
    let killedPid = 0;
    const { counted, arrived } = await killDuringOutage({
      duringOutage: async (agent, _spool, sampledByA) => {
        await eventually(() => sampledByA().length >= 6, 10_000, 'six samples');
        killedPid = agent.pid;
        return 0;
      },
      afterKill: (killed, spool) => {
        expect(killed.signal).toBe('SIGKILL');
        expect(readFileSync(join(spool, 'lock'), 'utf8')).toMatch(new RegExp(`^${killedPid} `));
      },
    });
    expect(counted.length).toBeGreaterThanOrEqual(10);
    expect(missing(counted, arrived)).toEqual([]);
  });
});

describe('two writers on one spool, by a reload (SIGHUP)', () => {
  it('a reloaded file giving two exporters one spool_dir: refused, the running config stays, nothing lost', async () => {
    const r = await refusedReload((config, dir) =>
      writeFileSync(
        config,
        readFileSync(config, 'utf8').replace('type = "remote-write"', `type = "remote-write"\nspool_dir = "${dir}/spool"`) +
          `[[exporter]]\ntype = "riemann"\nspool_dir = "${dir}/spool/"\n`,
      ),
    );
    expect(r.aliveAfter).toBe(true);
    expectClean(r.run);
    expect(r.refused).toHaveLength(1);
    expect(r.refused[0]?.msg).toMatch(/^config not reloaded, the running config stays: 1 problem: .*:\d+: exporter\[2\]\.spool_dir: same spool directory as exporter\[0\] \(remote-write\)/);
    expect(r.sampledAfter).toBeGreaterThanOrEqual(4);
    expect(r.missing).toEqual([]);
  });

  it("a reloaded file naming the spool another agent holds: refused naming that agent's pid; neither loses anything", async () => {
    const dir = tempDir();
    const riemann = await FakeRiemannServer.start();
    const spool = join(dir, 'spool');
    const other = riemannConfig(dir, riemann.port, spool);
    const holder = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', other.config], { timeoutMs: 60_000 });
    try {
      await eventually(() => riemannHostTimes(riemann.events).size >= 2, 10_000, "the other agent's deliveries");
      const r = await refusedReload((config) => writeFileSync(config, readFileSync(config, 'utf8').replace('type = "remote-write"', `type = "remote-write"\nspool_dir = "${spool}"`)), { dir });
      expect(r.aliveAfter).toBe(true);
      expectClean(r.run);
      expect(r.refused).toHaveLength(1);
      expect(r.refused[0]?.msg).toBe(
        `config not reloaded, the running config stays: remote-write[0]: spool directory "${spool}" is in use by another scaph agent (pid ${holder.pid}): ` +
          "stop that agent first, or give this one its own spool_dir (two agents sharing a spool would delete each other's unsent samples)",
      );
      expect(r.missing).toEqual([]);
      await sleep(1000);
      expectClean(await holder.stop());
      expect(missing(jsonReportTimes(other.sampled), riemannHostTimes(riemann.events))).toEqual([]);
    } finally {
      await holder.stop('SIGKILL');
      await riemann.stop();
    }
  });
});

/** Host power (µW, rounded as the json exporter rounds it) of each Pushgateway push a server answered 200. */
async function startPushgatewayStandIn(): Promise<{ port: number; up: { value: boolean }; pushed: number[]; close(): Promise<void> }> {
  const up = { value: false };
  const pushed: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (!up.value) {
        res.writeHead(503).end('down');
        return;
      }
      const line = body.split('\n').find((l) => l.startsWith(`${HOST_SERIES}{`));
      if (line !== undefined) pushed.push(Math.round(Number(line.slice(line.lastIndexOf(' ') + 1))));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    up,
    pushed,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('prometheus-push with spool_dir', () => {
  it('the spool is used, not ignored: the newest sample unsent at a SIGKILL during an outage is the first push after the restart', async () => {
    const dir = tempDir();
    const pg = await startPushgatewayStandIn();
    const toml = `type = "prometheus-push"\nhost = "127.0.0.1"\nport = ${pg.port}\nspool_dir = "${join(dir, 'spool')}"`;
    const a = runConfig(dir, toml);
    const b = runConfig(dir, toml);
    // B's estimate runs at 10-20 W per CPU, A's at most 3.5 W per CPU (the defaults): on a busy machine A's
    // figures top out at that ceiling, and equal figures from both agents would not tell A's spooled sample from B's own.
    writeFileSync(b.config, readFileSync(b.config, 'utf8').replace('kind = "estimate"\n', 'kind = "estimate"\nestimate_idle_watts_per_cpu = 10\nestimate_max_watts_per_cpu = 20\n'));
    const agent = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', a.config], { timeoutMs: 60_000 });
    let restarted: ScaphProcess | null = null;
    try {
      await eventually(() => jsonReportTimes(a.sampled).length >= 4, 10_000, 'samples taken during the outage');
      expect(saying((await agent.stop('SIGKILL')).stderr, /spool_dir ignored/)).toEqual([]);
      const sampledByA = jsonHostPowers(closedArray(a.sampled)).map((h) => h.consumption);
      pg.up.value = true;
      restarted = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', b.config], { timeoutMs: 60_000 });
      await eventually(() => pg.pushed.length >= 2, 10_000, 'pushes after the restart');
      expectClean(await restarted.stop());
      const sampledByB = jsonHostPowers(readFileSync(b.sampled, 'utf8')).map((h) => h.consumption);
      const first = pg.pushed[0] as number;
      // A's newest sample (or, if the kill fell between the spool write and the json line, one newer still):
      // never one of B's, which is what an ignored spool_dir gave.
      // B's idle floor (10 W per logical CPU) is above A's ceiling (3.5 W per CPU), in microwatts.
      const split = 10 * cpus().length * 1e6;
      expect(Math.min(...sampledByB)).toBeGreaterThanOrEqual(split);
      expect(first).toBeLessThan(split);
      expect(sampledByB).not.toContain(first);
      if (sampledByA.includes(first)) expect(first).toBe(sampledByA[sampledByA.length - 1]);
    } finally {
      await agent.stop('SIGKILL');
      await restarted?.stop('SIGKILL');
      await pg.close();
    }
  });
});

/** A json exporter's output as valid JSON, even when its run was killed mid-array. */
function closedArray(file: string): string {
  const text = readFileSync(file, 'utf8').trim();
  return text.endsWith(']') ? text : `${text.replace(/,$/, '')}\n]`;
}

describe('a spool deleted while running', () => {
  it('is noticed and recreated (said once); the steps sampled afterwards survive a SIGKILL and arrive', async () => {
    const { counted, arrived } = await killDuringOutage({
      duringOutage: async (agent, spool) => {
        rmSync(spool, { recursive: true, force: true });
        const deletedAt = Date.now();
        await agent.waitForStderr(/the spool directory was deleted while scaph was running/);
        await sleep(1500);
        return deletedAt;
      },
      afterKill: (killed) => {
        expect(logLines(killed.stderr).filter((l) => /was deleted while scaph was running/.test(l.msg))).toHaveLength(1);
      },
    });
    expect(counted.length).toBeGreaterThanOrEqual(5);
    expect(missing(counted, arrived)).toEqual([]);
  });
});

describe('a server that asks to wait for 27 hours', () => {
  it('Retry-After: 97200 is capped at 30 s, and the log says both figures', async () => {
    const receiver = await RemoteWriteReceiver.start();
    receiver.script.push({ status: 429, headers: { 'retry-after': '97200' }, body: 'slow down' });
    const scaph = startScaph(['--no-header', ...JSON_LOGS, '--sensor', 'estimate', 'remote-write', '-u', receiver.url, '-S', '0.5'], { timeoutMs: 30_000 });
    try {
      await scaph.waitForStderr(/Retry-After/);
      // Killed at once: a clean stop would spend its 10 s flush deadline waiting out the 30 s.
      const r = await scaph.stop('SIGKILL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(saying(r.stderr, /Retry-After/)).toEqual([
        expect.objectContaining({ retryAfterAskedS: 97200, retryInS: 30, msg: expect.stringMatching(/asked to wait 97200 s .*scaph waits at most 30 s/) }),
      ]);
    } finally {
      // The run was killed above (or is, by its own deadline, if the line never came).
      await receiver.stop();
    }
  });
});

describe('a Retry-After date in the asctime form, read by an agent in another time zone', () => {
  it('TZ=America/New_York: a wait of a few seconds is a few seconds (not 5 hours), and every sample arrives', async () => {
    const dir = tempDir();
    const receiver = await RemoteWriteReceiver.start();
    const { config, sampled } = runConfig(dir, `type = "remote-write"\nurl = "${receiver.url}"\nmax_backoff = 1`);
    receiver.script.push({ status: 429, headers: { 'retry-after': asctimeDate(Date.now() + 4000) }, body: 'slow down' });
    const scaph = startScaph([...JSON_LOGS, '--no-header', 'run', '-c', config], { timeoutMs: 60_000, env: { TZ: 'America/New_York' } });
    try {
      await eventually(() => receiver.requests.length >= 1, 10_000, 'the first request');
      await sleep(1000);
      await eventually(() => jsonReportTimes(sampled).length >= 8 && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 15_000, 'every sample stored');
      const r = await scaph.stop();
      expectClean(r);
      const retries = saying(r.stderr, /will retry/);
      expect(retries).toHaveLength(1);
      expect(Number(retries[0]?.['retryInS'])).toBeGreaterThan(0);
      expect(Number(retries[0]?.['retryInS'])).toBeLessThanOrEqual(6);
      // No "asked to wait 18003 s" line: the date was not read 5 hours late.
      expect(saying(r.stderr, /asked to wait/)).toEqual([]);
      expect(missing(jsonReportTimes(sampled), new Set(receiver.stored.keys()))).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });
});

describe('the terminal closes under scaph json (SIGHUP)', () => {
  it('the array is closed: the file is valid JSON holding every report written', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.json');
    const scaph = startScaph(['--no-header', '--sensor', 'estimate', 'json', '-t', '-1', '-s', '0.25', '-f', out], { timeoutMs: 30_000 });
    await eventually(() => jsonReportTimes(out).length >= 4, 10_000, 'reports');
    const r = await scaph.stop('SIGHUP');
    expectClean(r);
    const reports = JSON.parse(readFileSync(out, 'utf8')) as unknown[];
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.length).toBe(jsonReportTimes(out).length);
  });
});
