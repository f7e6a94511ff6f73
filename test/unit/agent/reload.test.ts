import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachExporter } from '../../../src/agent/attach.js';
import { exporterIdentity, spoolKey } from '../../../src/agent/exporter-identity.js';
import type { RunningPipeline } from '../../../src/agent/pipeline.js';
import { Reloader, sensorPlanOf } from '../../../src/agent/reload.js';
import { exporterPhaseMs, gridPointAtOrAfter, samplingPhaseMs, splayPlan, type SplayGrid, type SplayKey } from '../../../src/agent/splay.js';
import { SteppedExporter } from '../../../src/agent/stepped-exporter.js';
import { loadRunConfig } from '../../../src/config/run-config.js';
import type { Exporter } from '../../../src/core/exporter.js';
import { VERSION } from '../../../src/core/version.js';
import { jsonCommand } from '../../../src/exporters/json/command.js';
import { built, fakePushCommand, pushExporterOf } from '../../support/fakes/fake-push-command.js';
import { captureLogger, type LogLine } from '../../support/fakes/log-capture.js';
import { DEFAULT_SENSOR } from '../../support/fixtures/run-globals.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

const commands = [jsonCommand, fakePushCommand('remote-write'), fakePushCommand('riemann')];
const STOP_DEADLINE_MS = 300;
/** The host's splay key (its phases): the host name alone, as without a machine id. */
const KEY: SplayKey = { key: 'test-host', from: 'host name' };

/**
 * An agent as runAgent assembles it, without the sensor and the timer: the test feeds samples itself,
 * to whatever list the reloader last handed the "scheduler", and rewrites the file between reloads.
 */
class TestAgent {
  readonly dir = mkdtempSync(join(tmpdir(), 'scaph-reload-'));
  readonly file = join(this.dir, 'scaph.toml');
  readonly log = captureLogger();
  /** What the scheduler feeds, as the last replaceExporters left it. */
  current: readonly Exporter[] = [];
  readonly steps: number[] = [];
  /** The loop's splay phase given with each step. */
  readonly phases: Array<number | null> = [];
  /** Timestamps of the samples fed so far. */
  readonly fed: number[] = [];
  reloader!: Reloader;
  /** The wall clock the exporters read (ms since the epoch): each sample is fed at its timestamp. */
  clock = Date.now() - 600_000;
  private readonly pipeline: RunningPipeline = {
    replaceExporters: (list) => (this.current = list),
    setStep: (ms, phaseMs) => {
      this.steps.push(ms);
      this.phases.push(phaseMs);
    },
  };

  async start(toml: string): Promise<void> {
    writeFileSync(this.file, toml);
    const load = () => loadRunConfig(this.file, { checkFiles: true, commands });
    const plan = load();
    const ctx = { logger: this.log.logger, hostname: 'test-host', version: VERSION };
    const splay = splayPlan(plan.exporters, plan.sensor.stepMs, KEY.key);
    const stepped: SteppedExporter[] = [];
    for (const e of plan.exporters) stepped.push(new SteppedExporter(await attachExporter(e, ctx), e.stepMs, plan.sensor.stepMs, () => this.clock, splay.gridOf(e)));
    for (const s of stepped) await s.start();
    this.current = stepped;
    this.reloader = new Reloader({
      hangups: { handle: () => undefined },
      load,
      file: this.file,
      cliSensor: DEFAULT_SENSOR,
      sensor: sensorPlanOf(DEFAULT_SENSOR, plan),
      exporters: plan.exporters.map((config, i) => ({ config, identity: exporterIdentity(config), spoolKey: spoolKey(config), stepped: stepped[i] as SteppedExporter })),
      ctx,
      stopDeadlineMs: STOP_DEADLINE_MS,
      splay: { key: KEY, samplingPhaseMs: splay.samplingPhaseMs },
      clockMs: () => this.clock,
    });
  }

  /** `n` samples, `everyMs` apart (the sensor's 1 s step by default). */
  feed(n: number, everyMs = 1000): void {
    for (let i = 0; i < n; i++) this.feedAt(this.clock + everyMs);
  }

  /** One sample taken at `atMs` (ms since the epoch), to what the scheduler feeds. */
  feedAt(atMs: number): void {
    this.clock = atMs;
    this.fed.push(atMs);
    const sample = syntheticSample({ timestampMs: atMs });
    for (const e of this.current) e.export(sample);
  }

  /** Rewrites the file (when given) and sends the "SIGHUP"; resolves once the reload is applied. */
  async reload(toml?: string): Promise<void> {
    if (toml !== undefined) writeFileSync(this.file, toml);
    this.reloader.request(this.pipeline);
    await this.reloader.idle();
  }

  lines(level: number, pattern: RegExp): LogLine[] {
    return this.log.lines.filter((l) => l.level === level && pattern.test(l.msg));
  }

  async stop(): Promise<void> {
    await Promise.all(this.current.map((e) => e.stop(STOP_DEADLINE_MS)));
  }
}

const agents: TestAgent[] = [];
async function agent(toml: string): Promise<TestAgent> {
  const a = new TestAgent();
  agents.push(a);
  dirs.push(a.dir);
  await a.start(toml);
  return a;
}
const dirs: string[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// Every sample (the sensor's 1 s step) unless a test gives its own: without one an exporter takes its subcommand's default.
const push = (type: string, url: string, extra = ''): string => `[[exporter]]\ntype = "${type}"\nurl = "${url}"\n${/\bstep\b/.test(extra) ? extra : `${extra}\nstep = 1`}\n`;
const SENSOR = `[sensor]\nkind = "estimate"\nstep = 1\n`;
const ERROR = 50;
const INFO = 30;

async function until(condition: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Reloader', () => {
  it('a changed label: that exporter is rebuilt, the other kept as it is; every sample delivered once across the reload', async () => {
    const a = await agent(SENSOR + push('remote-write', 'kept') + push('riemann', 'changed', 'label = { dc = "a" }'));
    const kept = built.get('kept');
    const before = built.get('changed');
    const keptStepped = a.current[0];
    a.feed(3);
    await a.reload(SENSOR + push('remote-write', 'kept') + push('riemann', 'changed', 'label = { dc = "b" }'));
    a.feed(3);
    const after = built.get('changed');
    expect(after).not.toBe(before);
    expect(after?.opts['label']).toEqual({ dc: 'b' });
    // The kept one is the same instance, in the same place: its queue and counters went on.
    expect(built.get('kept')).toBe(kept);
    expect(a.current[0]).toBe(keptStepped);
    await until(() => (after?.transport.delivered.length ?? 0) === 3 && kept?.transport.delivered.length === 6, 'deliveries');
    expect(kept?.transport.delivered).toEqual(a.fed);
    // The old one flushed what it had, then stopped; the new one took every sample after the swap.
    expect(before?.transport.closed).toBe(true);
    expect([...(before?.transport.delivered ?? []), ...(after?.transport.delivered ?? [])]).toEqual(a.fed);
    expect(before?.transport.delivered).toEqual(a.fed.slice(0, 3));
    const info = a.lines(INFO, /^config reloaded/);
    expect(info).toHaveLength(1);
    expect(info[0]?.msg).toBe('config reloaded: 1 exporter kept, 1 rebuilt (riemann[1]), 0 added, 0 removed; sensor step 1 s (unchanged)');
    expect(info[0]).toMatchObject({ kept: ['remote-write[0]'], rebuilt: ['riemann[1]'], added: [], removed: [] });
  });

  it('an invalid file: the running config stays, one error line with every problem, nothing changes', async () => {
    const a = await agent(SENSOR + push('remote-write', 'stays'));
    const running = a.current;
    const stays = built.get('stays');
    await a.reload(SENSOR + push('remote-write', 'x', 'colour = "blue"') + '[[exporter]]\ntype = "nope"\n');
    expect(a.current).toBe(running);
    expect(a.reloader.exporters.map((e) => e.stepped)).toEqual(running);
    a.feed(2);
    await until(() => stays?.transport.delivered.length === 2, 'deliveries');
    const errors = a.lines(ERROR, /config not reloaded/);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe(
      `config not reloaded, the running config stays: 2 problems: ${a.file}:7: exporter[0].colour: (remote-write) unknown key for a remote-write exporter; ` +
        `valid keys: ca, gzip, label, mode, password, self_metrics, splay, step, url, write_token_file; ${a.file}:10: exporter[1].type: unknown exporter type "nope"; known types: json, remote-write, riemann`,
    );
    expect(errors[0]?.msg).not.toContain('\n');
    // A syntax error, a file gone: the same, one line each.
    await a.reload('[[exporter]\n');
    expect(a.lines(ERROR, /config not reloaded/)[1]?.msg).toMatch(new RegExp(`^config not reloaded, the running config stays: 1 problem: ${a.file}:1: TOML syntax`));
    rmSync(a.file);
    await a.reload();
    expect(a.lines(ERROR, /config not reloaded/)[2]?.msg).toBe(
      `config not reloaded, the running config stays: cannot read the config file "${a.file}" (ENOENT): check the path given to -c`,
    );
    expect(a.lines(INFO, /^config reloaded/)).toHaveLength(0);
    expect(a.current).toBe(running);
  });

  it('a [sensor] change other than its step is refused (restart needed); a new step applies, kept exporters follow it', async () => {
    const a = await agent(SENSOR + push('remote-write', 'step-kept', 'step = 5'));
    const running = a.current;
    await a.reload(SENSOR.replace('estimate', 'powercap_rapl').replace('step = 1', 'step = 2') + push('remote-write', 'step-kept', 'step = 5'));
    expect(a.current).toBe(running);
    expect(a.steps).toEqual([]);
    expect(a.lines(ERROR, /config not reloaded/)[0]?.msg).toBe(
      'config not reloaded, the running config stays: a restart is needed to change what the sensor was built with (systemctl restart scaph): [sensor] kind "estimate" -> "powercap_rapl"',
    );
    await a.reload(SENSOR.replace('step = 1', 'step = 2') + push('remote-write', 'step-kept', 'step = 5'));
    expect(a.steps).toEqual([2000]);
    expect(a.current[0]).toBe(running[0]);
    expect(a.lines(INFO, /^config reloaded/)[0]?.msg).toBe('config reloaded: 1 exporter kept, 0 rebuilt, 0 added, 0 removed; sensor step 1 s -> 2 s');
  });

  it('samples taken while the leaving exporter flushes are held for the new one, and handed over in order', async () => {
    // The old backend never answers: its stop waits the whole deadline, while samples keep coming.
    const a = await agent(SENSOR + push('remote-write', 'slow-old', 'mode = "hang"'));
    const old = built.get('slow-old');
    const oldCore = pushExporterOf(a.current[0] as Exporter);
    a.feed(2);
    writeFileSync(a.file, SENSOR + push('remote-write', 'slow-old', 'mode = "ok"'));
    a.reloader.request({ replaceExporters: (list) => (a.current = list), setStep: () => undefined });
    a.feed(1);
    await new Promise((r) => setTimeout(r, STOP_DEADLINE_MS / 2));
    a.feed(2);
    await a.reloader.idle();
    a.feed(1);
    const fresh = built.get('slow-old');
    expect(fresh).not.toBe(old);
    // The swap comes between two samples: those before it went to the old one (its dead backend kept them
    // until the deadline, then they were given up on and counted, as at a stop: no spool), all those after
    // it to the new one, in order: the two taken while the old one was stopping were held for it.
    const dropped = (): number => oldCore.stats.droppedFor('shutdown');
    await until(() => dropped() > 0 && (fresh?.transport.delivered.length ?? 0) + dropped() === a.fed.length, 'every sample settled');
    expect(dropped()).toBeGreaterThanOrEqual(2);
    expect(fresh?.transport.delivered).toEqual(a.fed.slice(dropped()));
    expect(fresh?.transport.delivered.length).toBeGreaterThanOrEqual(3);
  });

  it('a spooled exporter changed while its backend is down: the new one replays what the old one had not sent, nothing twice', async () => {
    const a = await agent(SENSOR + push('riemann', 'spooled', 'mode = "hang"\nspool_dir = "spool"'));
    const old = built.get('spooled');
    const oldCore = pushExporterOf(a.current[0] as Exporter);
    a.feed(4);
    await a.reload(SENSOR + push('riemann', 'spooled', 'mode = "ok"\nspool_dir = "spool"'));
    a.feed(3);
    const fresh = built.get('spooled');
    expect(fresh).not.toBe(old);
    expect(old?.transport.delivered).toEqual([]);
    await until(() => fresh?.transport.delivered.length === 7, `the replay and the new samples: ${JSON.stringify(fresh?.transport.attempts)} ${JSON.stringify(a.log.lines)}`);
    expect(fresh?.transport.delivered).toEqual(a.fed);
    expect(oldCore.stats.droppedFor('shutdown')).toBe(0);
    expect(a.lines(INFO, /^config reloaded/)[0]?.msg).toMatch(/1 rebuilt \(riemann\[0\]\)/);
  });

  it('removed exporters stop and added ones start; a spooled removed one leaves its unsent samples in its spool', async () => {
    const a = await agent(SENSOR + push('remote-write', 'leaves', 'mode = "hang"\nspool_dir = "left"') + push('riemann', 'r1'));
    a.feed(2);
    await a.reload(SENSOR + push('riemann', 'r1') + '[[exporter]]\ntype = "json"\nfile = "out.json"\nstep = 1\n');
    a.feed(2);
    expect(built.get('leaves')?.transport.closed).toBe(true);
    expect(existsSync(join(a.dir, 'left', 'lock'))).toBe(false);
    expect(readdirSync(join(a.dir, 'left')).filter((f) => f.endsWith('.seg'))).toHaveLength(1);
    await a.stop();
    agents.splice(agents.indexOf(a), 1);
    const reports = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(a.dir, 'out.json'), 'utf8'))) as Array<{ host: { timestamp: number } }>;
    expect(reports.map((r) => r.host.timestamp * 1000)).toEqual(a.fed.slice(2));
    expect(a.lines(INFO, /^config reloaded/)[0]?.msg).toBe('config reloaded: 1 exporter kept, 0 rebuilt, 1 added (json[1]), 1 removed (remote-write[0]); sensor step 1 s (unchanged)');
  });

  it('a new spool another scaph format holds: refused before the swap, nothing in it touched', async () => {
    const a = await agent(SENSOR + push('remote-write', 'fmt-kept'));
    const running = a.current;
    mkdirSync(join(a.dir, 'newer'));
    writeFileSync(join(a.dir, 'newer', 'format'), 'scaph spool format 99\n');
    writeFileSync(join(a.dir, 'newer', '0000000000000000.seg'), 'not ours to read');
    await a.reload(SENSOR + push('remote-write', 'fmt-kept') + push('riemann', 'fmt-new', `spool_dir = "newer"`));
    expect(a.current).toBe(running);
    expect(a.lines(ERROR, /config not reloaded/)[0]?.msg).toMatch(
      new RegExp(`^config not reloaded, the running config stays: riemann\\[1\\]: spool directory "${a.dir}/newer" holds spool format 99, written by a newer scaph`),
    );
    expect(readdirSync(join(a.dir, 'newer')).sort()).toEqual(['0000000000000000.seg', 'format']);
  });

  it('an exporter that cannot start after the swap is said once and left out; the others run; the next reload builds it again', async () => {
    const a = await agent(SENSOR + push('remote-write', 'goes-on'));
    await a.reload(SENSOR + push('remote-write', 'goes-on') + '[[exporter]]\ntype = "json"\nfile = "missing-dir/out.json"\nstep = 1\n');
    const errors = a.lines(ERROR, /could not start after the reload/);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/^json\[1\] could not start after the reload and is not running \(cannot write the JSON output to ".*missing-dir\/out.json" \(ENOENT\)/);
    expect(a.lines(INFO, /^config reloaded/)[0]?.msg).toMatch(/1 added \(json\[1\]\), 0 removed, 1 not running \(json\[1\]\)/);
    a.feed(2);
    await until(() => built.get('goes-on')?.transport.delivered.length === 2, 'the others');
    mkdirSync(join(a.dir, 'missing-dir'));
    await a.reload();
    expect(a.lines(INFO, /^config reloaded/)[1]?.msg).toMatch(/1 exporter kept, 1 rebuilt \(json\[1\]\)/);
    a.feed(1);
    await a.stop();
    agents.splice(agents.indexOf(a), 1);
    expect(JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(a.dir, 'missing-dir', 'out.json'), 'utf8')))).toHaveLength(1);
  });

  it('a new spool behind a symlink: the same file reloaded again keeps it (its directory compared as it resolves once created)', async () => {
    const a = await agent(SENSOR + push('remote-write', 'sym-a'));
    mkdirSync(join(a.dir, 'real'));
    symlinkSync(join(a.dir, 'real'), join(a.dir, 'link'));
    const toml = SENSOR + push('remote-write', 'sym-a') + push('riemann', 'sym-b', 'spool_dir = "link/new-spool"');
    await a.reload(toml);
    const spooled = a.current[1];
    await a.reload(toml);
    expect(a.current[1]).toBe(spooled);
    expect(a.lines(INFO, /^config reloaded/).map((l) => l.msg)).toEqual([
      'config reloaded: 1 exporter kept, 0 rebuilt, 1 added (riemann[1]), 0 removed; sensor step 1 s (unchanged)',
      'config reloaded: 2 exporters kept, 0 rebuilt, 0 added, 0 removed; sensor step 1 s (unchanged)',
    ]);
  });

  it('SIGHUPs while a reload is being applied become one more reload, never interleaved', async () => {
    const a = await agent(SENSOR + push('remote-write', 'q1', 'mode = "hang"'));
    const pipeline: RunningPipeline = { replaceExporters: (list) => (a.current = list), setStep: () => undefined };
    writeFileSync(a.file, SENSOR + push('remote-write', 'q1', 'label = { n = "1" }'));
    a.reloader.request(pipeline);
    writeFileSync(a.file, SENSOR + push('remote-write', 'q1', 'label = { n = "2" }'));
    a.reloader.request(pipeline);
    a.reloader.request(pipeline);
    a.reloader.request(pipeline);
    await a.reloader.idle();
    expect(a.lines(INFO, /SIGHUP while a reload is being applied/)).toHaveLength(1);
    const applied = a.lines(INFO, /^config reloaded/);
    expect(applied).toHaveLength(2);
    expect(built.get('q1')?.opts['label']).toEqual({ n: '2' });
  });
});

describe('Reloader with splay', () => {
  const LOOP_1S = samplingPhaseMs(KEY.key, 1000);
  /** `n` ticks of a loop on the grid `phaseMs + k × stepMs` of the clock, from the first at or after `fromMs`. */
  const onGrid = (phaseMs: number, stepMs: number, fromMs: number, n: number): number[] => {
    const first = gridPointAtOrAfter(fromMs, phaseMs, stepMs);
    return Array.from({ length: n }, (_, k) => first + k * stepMs);
  };
  /**
   * What an exporter on `grid` takes of a loop's `ticks` (`sensorStepMs` apart): from the grid point at or
   * after half a sensor step before the first tick, for each point the first tick at most half a sensor step
   * before it.
   */
  function picks(ticks: readonly number[], grid: SplayGrid, sensorStepMs: number): number[] {
    const slack = sensorStepMs / 2;
    const out: number[] = [];
    for (let g = gridPointAtOrAfter((ticks[0] as number) - slack, grid.phaseMs, grid.periodMs); ; g += grid.periodMs) {
      const t = ticks.find((x) => x >= g - slack);
      if (t === undefined) return out;
      out.push(t);
    }
  }
  /** Signed distance of `t` to the point of `grid` it was taken for (a tick from half a sensor step before it). */
  const offGrid = (t: number, grid: SplayGrid, sensorStepMs: number): number => t - gridPointAtOrAfter(t - sensorStepMs / 2, grid.phaseMs, grid.periodMs);

  it('a label change on a splayed exporter: the new one goes on on its grid, each of its steps delivered once', async () => {
    const toml = (dc: string): string => SENSOR + push('riemann', 'splay-label', `splay = true\nstep = 5\nlabel = { dc = "${dc}" }`);
    const a = await agent(toml('a'));
    const grid = { phaseMs: exporterPhaseMs(KEY.key, 'riemann', 5000), periodMs: 5000 };
    const startMs = Math.floor(a.clock / 60_000) * 60_000;
    // The loop as the Scheduler runs it with splay: the start-up reading, then ticks on its grid.
    const startup = startMs + 1000;
    const ticks = onGrid(LOOP_1S, 1000, startMs + 1500, 30);
    a.feedAt(startup);
    for (const t of ticks.slice(0, 13)) a.feedAt(t);
    const old = built.get('splay-label');
    await a.reload(toml('b'));
    for (const t of ticks.slice(13)) a.feedAt(t);
    const fresh = built.get('splay-label');
    expect(fresh).not.toBe(old);
    expect(fresh?.opts['label']).toEqual({ dc: 'b' });
    const expected = picks(ticks, grid, 1000);
    const afterSwap = expected.filter((t) => t > (ticks[12] as number));
    expect(afterSwap.length).toBeGreaterThanOrEqual(3);
    await until(() => old?.transport.closed === true && fresh?.transport.delivered.length === afterSwap.length, 'deliveries');
    // The start-up reading went with the old exporter's first push; then one sample per 5 s step, the old
    // one's up to the swap and the new one's after it: none twice, none skipped, none held back.
    expect([...(old?.transport.delivered ?? []), ...(fresh?.transport.delivered ?? [])]).toEqual([startup, ...expected]);
    expect(fresh?.transport.delivered).toEqual(afterSwap);
    for (const t of fresh?.transport.delivered ?? []) {
      expect(offGrid(t, grid, 1000)).toBeGreaterThanOrEqual(-500);
      expect(offGrid(t, grid, 1000)).toBeLessThan(500);
    }
  });

  it('a splayed exporter rebuilt right after it took a grid point: the next tick, 1 ms early, is not taken for that point again', async () => {
    const toml = (dc: string): string => SENSOR + push('riemann', 'splay-edge', `splay = true\nstep = 5\nlabel = { dc = "${dc}" }`);
    const a = await agent(toml('a'));
    const grid = { phaseMs: exporterPhaseMs(KEY.key, 'riemann', 5000), periodMs: 5000 };
    const g = gridPointAtOrAfter(a.clock + 30_000, grid.phaseMs, grid.periodMs);
    // The last tick before the reload is the earliest one that point takes (half a sensor step before it);
    // the next, a timer firing 1 ms early, is 999 ms later.
    a.feedAt(g - 14_200);
    for (let k = 13; k >= 0; k--) a.feedAt(g - 500 - k * 1000);
    const old = built.get('splay-edge');
    await a.reload(toml('b'));
    for (let k = 0; k <= 5; k++) a.feedAt(g + 499 + k * 1000);
    const fresh = built.get('splay-edge');
    await until(() => old?.transport.closed === true && fresh?.transport.delivered.length === 1, 'deliveries');
    expect(old?.transport.delivered.at(-1)).toBe(g - 500);
    // The next point (g + 5 s) takes its first tick from 4.5 s after g on: the one at g + 5.499 s.
    expect(fresh?.transport.delivered).toEqual([g + 5499]);
    const points = [...(old?.transport.delivered ?? []), ...(fresh?.transport.delivered ?? [])].slice(1).map((t) => t - offGrid(t, grid, 1000));
    expect(points.slice(1).map((p, i) => p - (points[i] as number))).toEqual(points.slice(1).map(() => 5000));
  });

  it('without splay, a rebuilt exporter at a longer step goes on with the schedule of the one it replaces', async () => {
    const toml = (dc: string): string => SENSOR + push('riemann', 'plain-label', `step = 5\nlabel = { dc = "${dc}" }`);
    const a = await agent(toml('a'));
    const t0 = a.clock;
    a.feed(12);
    const old = built.get('plain-label');
    await a.reload(toml('b'));
    a.feed(10);
    const fresh = built.get('plain-label');
    await until(() => old?.transport.closed === true && fresh?.transport.delivered.length === 2, 'deliveries');
    // 1 s samples: the old one took the 1st, 6th and 11th; the new one the 16th and 21st, not the 13th at once.
    expect(old?.transport.delivered).toEqual([1, 6, 11].map((k) => t0 + k * 1000));
    expect(fresh?.transport.delivered).toEqual([16, 21].map((k) => t0 + k * 1000));
  });

  it('a new sensor step on a splayed loop: the loop goes to the new step\'s grid, a kept exporter follows it', async () => {
    const exporter = push('riemann', 'splay-step', 'splay = true\nstep = 2');
    const a = await agent(SENSOR + exporter);
    const kept = a.current[0];
    const own = { phaseMs: exporterPhaseMs(KEY.key, 'riemann', 2000), periodMs: 2000 };
    const before = onGrid(LOOP_1S, 1000, a.clock + 2000, 12);
    a.feedAt(a.clock + 1000);
    for (const t of before) a.feedAt(t);
    await a.reload(SENSOR.replace('step = 1', 'step = 2') + exporter);
    const loop2s = samplingPhaseMs(KEY.key, 2000);
    expect(a.steps).toEqual([2000]);
    expect(a.phases).toEqual([loop2s]);
    expect(a.current[0]).toBe(kept);
    // The loop's next ticks on the 2 s grid, at least a second after the last one.
    const after = onGrid(loop2s, 2000, (before.at(-1) as number) + 1000, 5);
    for (const t of after) a.feedAt(t);
    const r = built.get('splay-step');
    const expected = [a.fed[0] as number, ...picks(before, own, 1000), ...after];
    await until(() => r?.transport.delivered.length === expected.length, 'deliveries');
    // Before: its own 2 s grid over the 1 s loop; after: the loop's grid, which is its own now (every sample).
    expect(r?.transport.delivered).toEqual(expected);
    const said = a.lines(INFO, /^splay: riemann sends near/);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ exporter: 'riemann', stepS: 2, offsetS: Number((loop2s / 1000).toFixed(3)) });
  });

  it('splay turned off (the only splayed exporter rebuilt without it, or removed) and on again: the loop follows; a new exporter holds no sample', async () => {
    const plain = push('remote-write', 'splay-plain');
    const splayed = (on: boolean): string => push('riemann', 'splay-toggle', on ? 'splay = true\nstep = 1' : 'step = 1');
    const a = await agent(SENSOR + plain + splayed(true));
    a.feed(2);
    await a.reload(SENSOR + plain + splayed(false));
    expect(a.phases).toEqual([null]);
    await a.reload(SENSOR + plain + splayed(true));
    expect(a.phases).toEqual([null, LOOP_1S]);
    // A new splayed exporter passes the loop's next tick at once: it is no start-up reading.
    a.feed(1);
    await until(() => built.get('splay-toggle')?.transport.delivered.length === 1, 'the first sample after the reload');
    expect(built.get('splay-toggle')?.transport.delivered).toEqual(a.fed.slice(-1));
    await a.reload();
    await a.reload(SENSOR + plain);
    expect(a.phases).toEqual([null, LOOP_1S, null]);
    expect(a.steps).toEqual([1000, 1000, 1000]);
    a.feed(2);
    await until(() => built.get('splay-plain')?.transport.delivered.length === a.fed.length, 'the kept one');
    expect(built.get('splay-plain')?.transport.delivered).toEqual(a.fed);
  });
});
