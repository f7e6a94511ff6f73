/**
 * The machine sensor over the real /proc with a constant 55 W source: a steady CPU burner beside a shell
 * that runs a loop of ~20 ms CPU jobs (each a forked subshell that ends and is waited for). The truth is
 * computed here, independently of the sensor, from /proc/stat's busy ticks and the processes' own stat
 * lines over the same span: a process's power is host power × its ticks / busy ticks of the machine.
 *
 * Under the old model (shares of the observed processes' ticks) the burner got ~82 % too much and the
 * shell almost nothing. An *.exclusive.test.ts file: npm test runs it alone, before the other suites;
 * the truth is measured, not assumed, so other load on the machine changes the figures, not the verdict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { busyTicks, SHORT_JOBS_SCRIPT, ticksOf } from '../../support/oracles/proc-truth.js';

const HOST_UW = 55_000_000;
const STEPS = 6;
const STEP_MS = 2000;

let burner: ChildProcess;
let shell: ChildProcess;

beforeAll(async () => {
  burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  shell = spawn('sh', ['-c', SHORT_JOBS_SCRIPT], { stdio: 'ignore' });
  await sleep(500);
});

afterAll(() => {
  burner.kill('SIGKILL');
  shell.kill('SIGKILL');
});

describe('MachineSensor on the real /proc, with short-lived jobs beside a steady burner', () => {
  it('gives each process host power × its ticks / busy ticks; the shell gets its reaped jobs; processes + unattributed = host', async () => {
    const sensor = new MachineSensor({ powerSource: new ConstantPowerSource(HOST_UW), procfsPath: '/proc', hostname: 'test', logger: silentLogger() });
    const burnerPid = burner.pid as number;
    const shellPid = shell.pid as number;
    const busyBefore = busyTicks();
    const burnerBefore = ticksOf(burnerPid);
    const shellBefore = ticksOf(shellPid);
    await sensor.start();
    const samples: Sample[] = [];
    for (let i = 0; i < STEPS; i++) {
      await sleep(STEP_MS);
      samples.push(await sensor.read());
    }
    const busy = busyTicks() - busyBefore;
    const burnerAfter = ticksOf(burnerPid);
    const shellAfter = ticksOf(shellPid);
    await sensor.close();

    const seconds = samples.reduce((s, x) => s + x.intervalMs, 0) / 1000;
    const averageW = (pid: number): number => {
      const last = [...samples].reverse().find((s) => s.processes.some((p) => p.pid === pid));
      return (last?.processes.find((p) => p.pid === pid)?.energyUj ?? 0) / 1e6 / seconds;
    };
    const truth = {
      burnerW: (HOST_UW / 1e6) * ((burnerAfter.own - burnerBefore.own) / busy),
      shellChildrenW: (HOST_UW / 1e6) * ((shellAfter.children - shellBefore.children) / busy),
      shellOwnW: (HOST_UW / 1e6) * ((shellAfter.own - shellBefore.own) / busy),
    };
    const scaph = { burnerW: averageW(burnerPid), shellW: averageW(shellPid) };
    const unattributedW = samples.reduce((s, x) => s + (x.host.unattributedPowerUw * x.intervalMs) / 1000, 0) / 1e6 / seconds;
    console.log(JSON.stringify({ seconds, busyTicks: busy, truth, scaph, unattributedW, loadavg: readFileSync('/proc/loadavg', 'utf8').trim() }));

    expect(seconds).toBeGreaterThanOrEqual(10);
    // The jobs really ran: at least half a second of CPU went through the shell's reaped children (even
    // on a machine loaded by others, where their share, and the burner's, shrink).
    expect(shellAfter.children - shellBefore.children).toBeGreaterThanOrEqual(50);
    expect(Math.abs(scaph.burnerW - truth.burnerW) / truth.burnerW).toBeLessThan(0.15);
    expect(scaph.shellW).toBeGreaterThanOrEqual(0.7 * truth.shellChildrenW);
    // Not more than the shell and its jobs used, either.
    expect(scaph.shellW).toBeLessThanOrEqual(1.15 * (truth.shellChildrenW + truth.shellOwnW));
    for (const s of samples) {
      const processes = s.processes.reduce((sum, p) => sum + p.powerUw, 0);
      expect(processes + s.host.unattributedPowerUw).toBe(HOST_UW);
      expect(s.host.unattributedPowerUw).toBeGreaterThanOrEqual(0);
      for (const p of s.processes) expect(p.powerUw).toBeGreaterThanOrEqual(0);
    }
  });
});
