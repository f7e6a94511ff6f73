/**
 * Data lost: two writers on one spool, a spool deleted while running, a server asking to wait 27 hours,
 * the terminal closing under `scaph json`. Each case counts what was sampled (a json exporter in the same
 * run, or the reports themselves) against what arrived: nothing may be missing.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScaph, startScaph, type ScaphProcess } from '../fixtures/run-scaph.js';
import { FakeRiemannServer } from '../servers/riemann.js';
import {
  eventually,
  expectClean,
  expectFailure,
  jsonReportTimes,
  logLines,
  missing,
  RemoteWriteReceiver,
  riemannHostTimes,
  sleep,
  tempDir,
} from './support.js';

/** A run config: a spooled Riemann exporter, then a json exporter listing every sample taken. */
function riemannConfig(dir: string, port: number, spool: string, step = '250ms'): { config: string; sampled: string } {
  const sampled = join(dir, `sampled-${Math.random().toString(36).slice(2)}.json`);
  const config = join(dir, `scaph-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(
    config,
    `[sensor]\nkind = "estimate"\nstep = "${step}"\n` +
      `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${port}\nttl = 3600\nspool_dir = "${spool}"\n` +
      `[[exporter]]\ntype = "json"\nfile = "${sampled}"\n`,
  );
  return { config, sampled };
}

async function stopAll(...runs: ScaphProcess[]): Promise<void> {
  for (const r of runs) await r.stop('SIGKILL');
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
    const first = startScaph(['--no-header', 'run', '-c', config], { timeoutMs: 60_000 });
    try {
      await eventually(() => riemannHostTimes(riemann.events).size >= 2, 10_000, 'the first deliveries');
      const second = await runScaph(['--no-header', 'run', '-c', config], { timeoutMs: 20_000 });
      expectFailure(second, 1, new RegExp(`spool directory "${dir}/spool" is in use by another scaph agent \\(pid ${first.pid}\\)`));
      expect(second.ms).toBeLessThan(5000);
      await sleep(1000);
      expectClean(await first.stop());
      expect(missing(jsonReportTimes(sampled), riemannHostTimes(riemann.events))).toEqual([]);
    } finally {
      await stopAll(first);
      await riemann.stop();
    }
  });

  it('a lock left by a SIGKILLed agent is taken over; what it sampled during the outage arrives after the restart', async () => {
    const dir = tempDir();
    const riemann = await FakeRiemannServer.start();
    await riemann.stop();
    const spool = join(dir, 'spool');
    // Two configs on one spool: each run lists what it sampled in its own file.
    const a = riemannConfig(dir, riemann.port, spool);
    const b = riemannConfig(dir, riemann.port, spool);
    const sampled = (): number[] => [...jsonReportTimes(a.sampled), ...jsonReportTimes(b.sampled)];
    const killed = startScaph(['--no-header', 'run', '-c', a.config], { timeoutMs: 60_000 });
    let restarted: ScaphProcess | null = null;
    try {
      await eventually(() => jsonReportTimes(a.sampled).length >= 6, 10_000, 'samples taken during the outage');
      expect((await killed.stop('SIGKILL')).signal).toBe('SIGKILL');
      expect(readFileSync(join(spool, 'lock'), 'utf8')).toMatch(new RegExp(`^${killed.pid} `));
      await riemann.restart();
      restarted = startScaph(['--no-header', 'run', '-c', b.config], { timeoutMs: 60_000 });
      await eventually(() => jsonReportTimes(b.sampled).length >= 4 && missing(sampled(), riemannHostTimes(riemann.events)).length === 0, 20_000, 'every sample');
      const r = await restarted.stop();
      expectClean(r);
      expect(jsonReportTimes(a.sampled).length).toBeGreaterThanOrEqual(6);
      expect(missing(sampled(), riemannHostTimes(riemann.events))).toEqual([]);
    } finally {
      await stopAll(killed, ...(restarted ? [restarted] : []));
      await riemann.stop();
    }
  });
});

describe('a spool deleted while running', () => {
  it('is noticed and recreated (said once); the steps sampled afterwards survive a SIGKILL and arrive', async () => {
    const dir = tempDir();
    const riemann = await FakeRiemannServer.start();
    await riemann.stop();
    const spool = join(dir, 'spool');
    const a = riemannConfig(dir, riemann.port, spool);
    const b = riemannConfig(dir, riemann.port, spool);
    const agent = startScaph(['--no-header', 'run', '-c', a.config], { timeoutMs: 60_000 });
    let restarted: ScaphProcess | null = null;
    try {
      await eventually(() => jsonReportTimes(a.sampled).length >= 4, 10_000, 'samples taken during the outage');
      rmSync(spool, { recursive: true, force: true });
      const deletedAt = Date.now();
      await agent.waitForStderr(/the spool directory was deleted while scaph was running/);
      await sleep(1500);
      const killed = await agent.stop('SIGKILL');
      const lines = logLines(killed.stderr).filter((l) => /was deleted while scaph was running/.test(l.msg));
      expect(lines).toHaveLength(1);
      await riemann.restart();
      restarted = startScaph(['--no-header', 'run', '-c', b.config], { timeoutMs: 60_000 });
      const after = (): number[] => [...jsonReportTimes(a.sampled), ...jsonReportTimes(b.sampled)].filter((t) => t > deletedAt);
      await eventually(() => missing(after(), riemannHostTimes(riemann.events)).length === 0, 20_000, 'the samples taken after the deletion');
      expectClean(await restarted.stop());
      expect(after().length).toBeGreaterThanOrEqual(5);
      expect(missing(after(), riemannHostTimes(riemann.events))).toEqual([]);
    } finally {
      await stopAll(agent, ...(restarted ? [restarted] : []));
      await riemann.stop();
    }
  });
});

describe('a server that asks to wait for 27 hours', () => {
  it('Retry-After: 97200 is capped at the longest backoff, and the log says both figures', async () => {
    const receiver = await RemoteWriteReceiver.start();
    receiver.script.push({ status: 429, headers: { 'retry-after': '97200' }, body: 'slow down' });
    const scaph = startScaph(['--no-header', '--sensor', 'estimate', 'remote-write', '-u', receiver.url, '-S', '0.5'], { timeoutMs: 30_000 });
    try {
      await scaph.waitForStderr(/Retry-After/);
      // Killed at once: a clean stop would spend its 10 s flush deadline waiting out the 30 s.
      const r = await scaph.stop('SIGKILL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const line = logLines(r.stderr).find((l) => /Retry-After/.test(l.msg));
      expect(line).toMatchObject({ retryAfterAskedS: 97200, retryInS: 30 });
      expect(line?.msg).toMatch(/asked to wait 97200 s .*scaph waits at most 30 s/);
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
    await eventually(() => (readFileSync(out, 'utf8').match(/"host"/g) ?? []).length >= 4, 10_000, 'reports');
    const r = await scaph.stop('SIGHUP');
    expectClean(r);
    const reports = JSON.parse(readFileSync(out, 'utf8')) as unknown[];
    expect(reports.length).toBeGreaterThanOrEqual(4);
  });
});
