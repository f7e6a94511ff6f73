/**
 * `scaph run` reloaded (SIGHUP) while it pushes to a real VictoriaMetrics. A json exporter in the same run
 * lists every sample taken; what VictoriaMetrics stored is counted per timestamp across every series of
 * the job: each sampled step exactly once, none missing around the reload, the label changing at the
 * reload. Also: an unchanged exporter keeps its queue through a reload during an outage, a spooled
 * exporter changed while its backend is down loses nothing, a broken file changes nothing, and a splayed
 * run keeps its exporters on this host's grid across a label change and a new sensor step.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exporterPhaseMs, samplingPhaseMs } from '../../../src/agent/splay.js';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { startScaph, type ScaphProcess } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, HOST_SERIES, jsonReportTimes, RemoteWriteReceiver, saying, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';

const STEP = '250ms';

let vm: ManagedServer;
let vmDown = false;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
}, 90_000);
afterAll(async () => {
  await vm?.dispose();
});

/** An outage of VictoriaMetrics (same port and data when it comes back). */
async function vmOutage(): Promise<void> {
  await vm.stop();
  vmDown = true;
}

async function vmBack(): Promise<void> {
  if (!vmDown) return;
  await vm.start();
  vmDown = false;
}

/** A config file whose exporters the test rewrites: the json exporter listing every sample stays last and unchanged. */
class Config {
  readonly dir = tempDir('scaph-reload-');
  readonly path = join(this.dir, 'scaph.toml');
  readonly sampled = join(this.dir, 'sampled.json');

  write(exporters: string): void {
    writeFileSync(this.path, `[sensor]\nkind = "estimate"\nstep = "${STEP}"\n${exporters}\n[[exporter]]\ntype = "json"\nstep = "${STEP}"\nfile = "${this.sampled}"\n`);
  }

  start(): ScaphProcess {
    return startScaph(['-v', '--no-header', ...JSON_LOGS, 'run', '-c', this.path], { timeoutMs: 120_000 });
  }

  taken(): number[] {
    return jsonReportTimes(this.sampled);
  }
}

function remoteWrite(url: string, job: string, extra: string): string {
  return `[[exporter]]\ntype = "remote-write"\nurl = "${url}"\njob = "${job}"\nstep = "${STEP}"\n${extra}\n`;
}

const vmUrl = (): string => `${vm.baseUrl}/api/v1/write`;

/** Host power points VictoriaMetrics stored for `job`: how many per timestamp, and the dc label of each. */
async function stored(job: string, minPoints = 0): Promise<{ counts: Map<number, number>; dc: Map<number, string> }> {
  const counts = new Map<number, number>();
  const dc = new Map<number, string>();
  for (const series of await vmExport(vm, `${HOST_SERIES}{job="${job}"}`, minPoints)) {
    for (const p of series.points) {
      counts.set(p.timestampMs, (counts.get(p.timestampMs) ?? 0) + 1);
      dc.set(p.timestampMs, series.labels['dc'] ?? '');
    }
  }
  return { counts, dc };
}

/** Every step the run sampled is stored for `job` exactly once, and nothing else is; returns what was stored. */
async function expectEachOnce(c: Config, job: string): Promise<{ taken: number[]; counts: Map<number, number>; dc: Map<number, string> }> {
  const taken = c.taken();
  const { counts, dc } = await stored(job, taken.length);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...taken].sort((a, b) => a - b));
  expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
  return { taken, counts, dc };
}

/** SIGHUP; resolves once the agent said what it did with the file and took 8 more samples. */
async function hangUp(agent: ScaphProcess, c: Config, what = 'samples after the reload'): Promise<void> {
  agent.child.kill('SIGHUP');
  await eventually(() => saying(agent.stderr, /^config (reloaded|not reloaded)/).length >= 1, 30_000, 'the reload');
  const atReload = c.taken().length;
  await eventually(() => c.taken().length >= atReload + 8, 30_000, what);
}

describe('scaph run reloaded (SIGHUP) while pushing to VictoriaMetrics', () => {
  it('a changed label: it changes at the reload, every sampled step stored exactly once, none missing around it', async () => {
    const c = new Config();
    c.write(remoteWrite(vmUrl(), 'reload-label', 'label = { dc = "before" }'));
    const agent = c.start();
    let hupAt = 0;
    try {
      await eventually(() => c.taken().length >= 8, 20_000, 'samples before the reload');
      c.write(remoteWrite(vmUrl(), 'reload-label', 'label = { dc = "after" }'));
      hupAt = Date.now();
      await hangUp(agent, c);
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
    }
    const { taken, dc } = await expectEachOnce(c, 'reload-label');
    // The label changes once, at the reload: every sample before it has the old one, every one after the new.
    const sorted = [...taken].sort((a, b) => a - b);
    const labels = sorted.map((t) => dc.get(t));
    const first = labels.indexOf('after');
    expect(first).toBeGreaterThan(0);
    // ...at the first step after the SIGHUP (the old exporter flushes at once: its backend is up).
    expect(sorted[first]).toBeGreaterThanOrEqual(hupAt);
    expect(sorted[first - 1]).toBeLessThan(hupAt + 2000);
    expect(labels.slice(0, first).every((l) => l === 'before')).toBe(true);
    expect(labels.slice(first).every((l) => l === 'after')).toBe(true);
    const reloaded = saying(agent.stderr, /^config reloaded/);
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]?.msg).toBe('config reloaded: 1 exporter kept, 1 rebuilt (remote-write[0]), 0 added, 0 removed; sensor step 0.25 s (unchanged)');
    expect(saying(agent.stderr, /unsent samples dropped/)).toEqual([]);
    expect(agent.stderr).not.toMatch(/"level":50/);
  });

  it('an unchanged exporter beside a changed one keeps its queue: its outage backlog survives the reload and arrives once', async () => {
    const receiver = await RemoteWriteReceiver.start();
    const c = new Config();
    const kept = remoteWrite(vmUrl(), 'reload-kept', 'label = { dc = "kept" }');
    c.write(kept + remoteWrite(receiver.url, 'reload-changed', 'label = { dc = "one" }'));
    const agent = c.start();
    let beforeReload: number[] = [];
    try {
      await eventually(() => c.taken().length >= 4, 20_000, 'first samples');
      await vmOutage();
      const outageFrom = c.taken().length;
      await eventually(() => c.taken().length >= outageFrom + 8, 20_000, 'samples during the outage');
      c.write(kept + remoteWrite(receiver.url, 'reload-changed', 'label = { dc = "two" }'));
      beforeReload = c.taken().slice(outageFrom);
      await hangUp(agent, c, 'samples after the reload, still in the outage');
      await vmBack();
      await eventually(() => receiver.stored.size >= c.taken().length - 2, 20_000, 'the changed exporter');
      // The kept exporter's queue drains once VictoriaMetrics is back (its backoff is at most 5 s).
      await new Promise((r) => setTimeout(r, 7000));
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
      await vmBack();
      await receiver.stop();
    }
    const { taken, counts } = await expectEachOnce(c, 'reload-kept');
    // Those sampled during the outage before the reload were in the kept exporter's memory queue: a rebuilt
    // exporter (no spool) would have given them up at its stop deadline.
    expect(beforeReload.length).toBeGreaterThanOrEqual(8);
    for (const t of beforeReload) expect(counts.get(t)).toBe(1);
    expect(saying(agent.stderr, /unsent samples dropped/)).toEqual([]);
    expect(saying(agent.stderr, /^config reloaded/)[0]?.msg).toBe('config reloaded: 2 exporters kept, 1 rebuilt (remote-write[1]), 0 added, 0 removed; sensor step 0.25 s (unchanged)');
    // The changed one, on a live backend, took every sample too.
    expect([...receiver.stored.keys()].sort((a, b) => a - b)).toEqual(taken);
  });

  it('a spooled exporter changed while its backend is down: after it comes back, every sample is stored once', async () => {
    const c = new Config();
    const spool = join(c.dir, 'spool');
    c.write(remoteWrite(vmUrl(), 'reload-spooled', `label = { dc = "one" }\nspool_dir = "${spool}"`));
    const agent = c.start();
    try {
      await eventually(() => c.taken().length >= 4, 20_000, 'first samples');
      await vmOutage();
      const outageFrom = c.taken().length;
      await eventually(() => c.taken().length >= outageFrom + 8, 20_000, 'samples during the outage');
      c.write(remoteWrite(vmUrl(), 'reload-spooled', `label = { dc = "two" }\nspool_dir = "${spool}"`));
      await hangUp(agent, c, 'samples after the reload, still in the outage');
      await vmBack();
      await new Promise((r) => setTimeout(r, 7000));
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
      await vmBack();
    }
    const { dc } = await expectEachOnce(c, 'reload-spooled');
    // What the old exporter left in the spool went out through the new one, with its label: the spool holds
    // samples, not requests.
    expect(new Set(dc.values())).toContain('two');
    expect(saying(agent.stderr, /unsent samples stay in the spool/)).toHaveLength(1);
    expect(saying(agent.stderr, /replaying the spool/).length).toBeGreaterThanOrEqual(1);
    expect(saying(agent.stderr, /spool dropped samples|unsent samples dropped/)).toEqual([]);
  });

  it('a broken file on reload: the running config stays, samples keep arriving, one line says why', async () => {
    const c = new Config();
    c.write(remoteWrite(vmUrl(), 'reload-broken', 'label = { dc = "kept" }'));
    const agent = c.start();
    try {
      await eventually(() => c.taken().length >= 4, 20_000, 'first samples');
      writeFileSync(c.path, `[sensor]\nkind = "estimate"\nstep = "${STEP}"\n[[exporter]]\ntype = "remote-write"\nurl = "${vmUrl()}"\nlabel = { dc = "x" }\nbogus_key = 1\n`);
      await hangUp(agent, c, 'samples after the refused reload');
      expect(agent.child.exitCode).toBeNull();
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
    }
    const { dc } = await expectEachOnce(c, 'reload-broken');
    expect(new Set(dc.values())).toEqual(new Set(['kept']));
    const refused = saying(agent.stderr, /^config not reloaded/);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe(50);
    expect(refused[0]?.msg).toBe(
      `config not reloaded, the running config stays: 1 problem: ${c.path}:8: exporter[0].bogus_key: (remote-write) unknown key for a remote-write exporter; ` +
        `valid keys: ${refused[0]?.msg.split('valid keys: ')[1] ?? ''}`,
    );
    expect(refused[0]?.msg).toMatch(/valid keys: .*\burl\b/);
    expect(saying(agent.stderr, /^config reloaded/)).toEqual([]);
  });
});

describe('scaph run with splay, reloaded while pushing to VictoriaMetrics', () => {
  /** amd preset: host power is package-0 alone, W. */
  const HOST_W = 85;
  /** The tree's counters are rewritten by this process every REFRESH_MS (later when the machine is loaded). */
  const REFRESH_MS = 10;
  const HOSTNAME = 'reload-splay';
  const MACHINE_ID = '5ca1ab1e0ddba11c0ffee5eedfacade5';
  const KEY = `${MACHINE_ID} ${HOSTNAME}`;

  it('a label change on a splayed 1 s exporter over a 0.25 s loop, then a 0.5 s loop: one sample per exporter step on its grid, none twice, energy exact', async () => {
    const powercap = createPowercapTree('amd', { clock: 'real', refreshMs: REFRESH_MS });
    const worker = { pid: 4000, comm: 'worker', utime: 100, stime: 0, starttime: 500 };
    const procfs = ProcfsTree.create({ cpuCount: 2, processes: [worker] });
    const stopCpu = procfs.runCpu({ user: 10, idle: 10 }, [[worker, 5]], 100);
    let worstLagMs = 0;
    let last = performance.now();
    const lagWatch = setInterval(() => {
      const now = performance.now();
      worstLagMs = Math.max(worstLagMs, now - last - REFRESH_MS);
      last = now;
    }, REFRESH_MS);
    const dir = tempDir('scaph-reload-splay-');
    const path = join(dir, 'scaph.toml');
    writeFileSync(join(dir, 'machine-id'), `${MACHINE_ID}\n`);
    // A json exporter at the sensor step lists every sample; at the new step another one (in its own file)
    // takes over from the one that leaves.
    const sampled = (sensorStep: string): string => join(dir, `sampled-${sensorStep}.json`);
    const write = (sensorStep: string, dc: string): void =>
      writeFileSync(
        path,
        `[sensor]\nkind = "powercap_rapl"\npowercap_path = "${powercap.powercapPath}"\nprocfs_path = "${procfs.root}"\nstep = "${sensorStep}"\n` +
          remoteWrite(vmUrl(), 'reload-splay', `step = 1\nlabel = { dc = "${dc}" }`).replace(`step = "${STEP}"\n`, '') +
          `[[exporter]]\ntype = "json"\nstep = "${sensorStep}"\nfile = "${sampled(sensorStep)}"\n`,
      );
    const taken = (): number[] => [...jsonReportTimes(sampled('250ms')), ...(existsSync(sampled('500ms')) ? jsonReportTimes(sampled('500ms')) : [])];
    write('250ms', 'before');
    const agent = startScaph(['-v', '--no-header', ...JSON_LOGS, 'run', '-c', path], {
      timeoutMs: 120_000,
      env: { SCAPH_HOSTNAME: HOSTNAME, [MACHINE_ID_FILE_ENV]: join(dir, 'machine-id') },
    });
    let stepChangedAt = 0;
    try {
      await eventually(() => taken().length >= 14, 30_000, 'samples before the reload');
      write('250ms', 'after');
      agent.child.kill('SIGHUP');
      await eventually(() => saying(agent.stderr, /^config reloaded/).length === 1, 30_000, 'the label change');
      let n = taken().length;
      await eventually(() => taken().length >= n + 14, 30_000, 'samples after the label change');
      write('500ms', 'after');
      stepChangedAt = taken().at(-1) as number;
      agent.child.kill('SIGHUP');
      await eventually(() => saying(agent.stderr, /^config reloaded/).length === 2, 30_000, 'the new sensor step');
      n = taken().length;
      await eventually(() => taken().length >= n + 8, 30_000, 'samples at the new step');
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
      clearInterval(lagWatch);
      stopCpu();
      powercap.close();
      procfs.cleanup();
    }
    const reloads = saying(agent.stderr, /^config reloaded/).map((l) => l.msg);
    expect(reloads).toEqual([
      'config reloaded: 1 exporter kept, 1 rebuilt (remote-write[0]), 0 added, 0 removed; sensor step 0.25 s (unchanged)',
      'config reloaded: 1 exporter kept, 1 rebuilt (json[1]), 0 added, 0 removed; sensor step 0.25 s -> 0.5 s',
    ]);

    const ticks = taken();
    // The loop: on its 0.25 s grid, then on the 0.5 s grid (its own phase) from the reload that set it, the
    // first tick there at least 0.25 s (half the new step) after the last one.
    const next = ticks.findIndex((t, i) => t > stepChangedAt && t - (ticks[i - 1] as number) > 300);
    expect(next).toBeGreaterThan(0);
    // How late a tick is after its point of the grid (timers fire up to a few ms early).
    const lateOn = (t: number, phaseMs: number, stepMs: number): number => {
      const past = (((t - phaseMs) % stepMs) + stepMs) % stepMs;
      return past > stepMs - 5 ? past - stepMs : past;
    };
    const late500 = ticks.slice(next).map((t) => lateOn(t, samplingPhaseMs(KEY, 500), 500));
    expect(late500.filter((l) => l < 100).length, late500.join(' ')).toBeGreaterThanOrEqual(0.8 * late500.length);
    expect((ticks[next] as number) - (ticks[next - 1] as number)).toBeGreaterThanOrEqual(245);

    // The exporter: the start-up reading with its first push, then one of the loop's samples per 1 s point
    // of its grid (the first at most half a sensor step before the point): each point once, none skipped,
    // across the label change (the new exporter goes on where the old one was) and the new sensor step.
    const phase = exporterPhaseMs(KEY, 'remote-write', 1000);
    const { counts, dc } = await stored('reload-splay', 20);
    const pushed = [...counts.keys()].sort((a, b) => a - b);
    expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
    for (const t of pushed) expect(ticks).toContain(t);
    expect(pushed[0]).toBe(ticks[0]);
    const points = pushed.slice(1).map((t) => Math.round((t - phase) / 1000));
    expect(points.slice(1).map((p, i) => p - (points[i] as number)), pushed.join(' ')).toEqual(points.slice(1).map(() => 1));
    // Half a sensor step (0.25 s at most) either side of its point, as the exporter saw the clock when the
    // sample was handed over (the sample's own time is the reading's, up to its duration earlier), and the
    // loop's lateness after.
    for (const t of pushed.slice(1)) {
      const off = t - (phase + Math.round((t - phase) / 1000) * 1000);
      expect(off, `${t}: ${off} ms from its grid point`).toBeGreaterThanOrEqual(-350);
      expect(off, `${t}: ${off} ms from its grid point`).toBeLessThan(400);
    }
    const labels = pushed.map((t) => dc.get(t));
    const first = labels.indexOf('after');
    expect(first).toBeGreaterThan(1);
    expect(labels.slice(first).every((l) => l === 'after')).toBe(true);
    expect(labels.slice(0, first).every((l) => l === 'before')).toBe(true);

    // Energy counts the whole time, whatever the intervals (the reloads' and the step change's included):
    // between two pushes the counter grew by the tree's power x the time between the two readings.
    const energy = (await vmExport(vm, 'scaph_host_energy_microjoules{job="reload-splay"}')).flatMap((s) => s.points).sort((a, b) => a.timestampMs - b.timestampMs);
    const at = (await vmExport(vm, 'scaph_host_energy_timestamp_seconds{job="reload-splay"}')).flatMap((s) => s.points).sort((a, b) => a.timestampMs - b.timestampMs);
    expect(energy.map((p) => p.timestampMs)).toEqual(pushed);
    for (let i = 1; i < energy.length; i++) {
      const joules = ((energy[i]?.value ?? 0) - (energy[i - 1]?.value ?? 0)) / 1e6;
      const seconds = (at[i]?.value ?? 0) - (at[i - 1]?.value ?? 0);
      const tolerance = (2 * (worstLagMs + REFRESH_MS)) / 1000 / seconds + 0.01;
      expect(Math.abs(joules / seconds / HOST_W - 1), `${joules} J in ${seconds} s (worst timer lag ${worstLagMs.toFixed(0)} ms)`).toBeLessThan(tolerance);
    }
    // Said at start, for the rebuilt exporter, and for the kept one at the new step: its grid stays.
    const offsets = saying(agent.stderr, /^splay: remote-write sends near/).map((l) => l['offsetS']);
    expect(offsets).toEqual([0, 1, 2].map(() => Number((exporterPhaseMs(KEY, 'remote-write', 1000) / 1000).toFixed(3))));
  }, 150_000);
});
