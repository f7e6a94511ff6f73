/**
 * The process selector: selected + others = every process, exactly, on the sensor's own samples of a
 * 500-process synthetic tree; the hold that keeps series from flapping; identity, regexes, groups; energy
 * from the sensor's counters (no double counting across a gap, exact at an exporter step 3× the sensor's).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SteppedExporter } from '../../../src/agent/stepped-exporter.js';
import { silentLogger } from '../../../src/core/log.js';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { ProcessSelector, type Selection, type SelectionOptions } from '../../../src/core/process-selection.js';
import { GROUP_ENERGY_RETENTION_MS, type GroupSample, type ProcessSample, type Sample } from '../../../src/core/sample.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { generateProcesses, ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import { anywhere, selectionOptions } from '../../support/fixtures/selection.js';
import { EnergyLedger } from '../../support/oracles/energy-ledger.js';

const trees: ProcfsTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

const HOST_UW = 55_000_000;

function sum(list: readonly { powerUw: number }[]): number {
  return list.reduce((s, p) => s + p.powerUw, 0);
}

function pids(selection: Selection): number[] {
  return selection.processes.map((p) => p.pid).sort((a, b) => a - b);
}

/** A 500-process tree with one burner; each step the burner and a rotating third of the workers use CPU. */
async function* treeSteps(steps: number): AsyncGenerator<Sample> {
  const workers = generateProcesses(500);
  const burner: FakeProcess = { pid: 99, comm: 'burner', utime: 0, stime: 0, starttime: 5_000, argv: ['/usr/bin/burner', '--hot'] };
  const tree = ProcfsTree.create({ cpuCount: 4, processes: [burner, ...workers] });
  trees.push(tree);
  const sensor = new MachineSensor({ powerSource: new ConstantPowerSource(HOST_UW), procfsPath: tree.root, hostname: 'h', logger: silentLogger() });
  await sensor.start();
  for (let step = 0; step < steps; step++) {
    let busy = 0;
    burner.utime += 150;
    busy += 150;
    tree.writeProcessStat(burner);
    for (let i = step % 3; i < workers.length; i += 3) {
      const w = workers[i] as FakeProcess;
      const ticks = 1 + ((i * 7 + step * 3) % 5);
      w.utime += ticks;
      busy += ticks;
      tree.writeProcessStat(w);
    }
    // Some busy time no process explains (interrupts, unseen jobs): the unattributed part.
    tree.advanceCpu({ user: busy + 40, idle: 200 });
    yield await sensor.read();
  }
}

describe('ProcessSelector on a 500-process synthetic tree with one burner', () => {
  it('selected + others = every process, and + unattributed = the model total, exactly, every step', async () => {
    const options = selectionOptions({ maxTopConsumers: 20, minPowerUw: 10_000, exclude: anywhere('--id 7\\b'), holdSteps: 2 });
    const selector = new ProcessSelector(options);
    const ledger = new EnergyLedger();
    let previous: { sample: Sample; selection: Selection } | null = null;
    let steps = 0;
    let heldSeen = 0;
    for await (const sample of treeSteps(8)) {
      const selection = selector.select(sample);
      expect(sample.processes.length).toBe(501);
      // Power: whole µW, exactly.
      expect(sum(selection.processes) + selection.others.powerUw).toBe(sum(sample.processes));
      expect(sum(selection.processes) + selection.others.powerUw + sample.host.unattributedPowerUw).toBe(HOST_UW);
      expect(selection.processes.length + selection.others.count).toBe(501);
      expect(selection.others.powerUw).toBeGreaterThan(0);
      // The burner leads; the excluded worker never shows; the 20 strongest candidates over the floor are
      // selected, and any other selected process is one held from the previous step.
      expect(selection.processes[0]?.pid).toBe(99);
      expect(selection.processes.some((p) => p.cmdline.endsWith('--id 7'))).toBe(false);
      const qualifying = sample.processes.filter((p) => !p.cmdline.endsWith('--id 7')).slice(0, 20).filter((p) => p.powerUw >= 10_000);
      const selected = new Set(selection.processes.map((p) => p.pid));
      expect(qualifying.every((p) => selected.has(p.pid))).toBe(true);
      const held = selection.processes.filter((p) => !qualifying.includes(p));
      const before = new Set(previous?.selection.processes.map((p) => p.pid));
      expect(held.every((p) => before.has(p.pid))).toBe(true);
      heldSeen += held.length;
      // Energy: the sent series + others = every process's counter, exactly in µJ (so over any window too).
      ledger.step(sample, sampleToMetrics(sample, {}, '', selector.select(sample)));
      expect(ledger.sentUj + ledger.othersUj).toBe(ledger.trueUj);
      previous = { sample, selection };
      steps += 1;
    }
    expect(steps).toBe(8);
    // The rotating workers trade places around the 20th rank: the hold was exercised.
    expect(heldSeen).toBeGreaterThan(0);
    expect(selector.trackedProcesses).toBe(501);
  });

  it('with only a regex: the matching processes and the rest as others', async () => {
    const selector = new ProcessSelector(selectionOptions({ include: anywhere('^burner$|--id 1\\d\\b') }));
    for await (const sample of treeSteps(3)) {
      const selection = selector.select(sample);
      expect(pids(selection)).toEqual([99, ...Array.from({ length: 10 }, (_, i) => 1010 + i)]);
      expect(selection.others.count).toBe(490);
      expect(sum(selection.processes) + selection.others.powerUw).toBe(sum(sample.processes));
    }
  });
});

/** Steps of a sample where `big` leads and `a`, `b` take turns at the given powers. */
function duel(step: number, aUw: number, bUw: number, extra: ProcessSample[] = []): Sample {
  return makeSample({
    timestampMs: 1_000_000 + step * 2000,
    processes: [
      makeProcess({ pid: 1, powerUw: 50_000_000 }),
      makeProcess({ pid: 2, powerUw: aUw }),
      makeProcess({ pid: 3, powerUw: bUw }),
      makeProcess({ pid: 4, powerUw: 1_000 }),
      ...extra,
    ],
  });
}

/** Number of times each pid entered the selection over the run (series starts). */
function starts(options: SelectionOptions, samples: readonly Sample[]): Map<number, number> {
  const selector = new ProcessSelector(options);
  const count = new Map<number, number>();
  let before = new Set<number>();
  for (const s of samples) {
    const now = new Set(selector.select(s).processes.map((p) => p.pid));
    for (const pid of now) if (!before.has(pid)) count.set(pid, (count.get(pid) ?? 0) + 1);
    before = now;
  }
  return count;
}

describe('ProcessSelector hold (hysteresis)', () => {
  // Two processes trade the 2nd rank every `period` steps, 30 steps.
  const alternating = (period: number): Sample[] =>
    Array.from({ length: 30 }, (_, i) => (Math.floor(i / period) % 2 === 0 ? duel(i, 3_000_000, 2_000_000) : duel(i, 2_000_000, 3_000_000)));

  it('keeps both processes of a duel around the N-th rank: one start each instead of one per turn', () => {
    const top2 = (holdSteps: number): SelectionOptions => selectionOptions({ maxTopConsumers: 2, holdSteps });
    expect([...starts(top2(5), alternating(1)).entries()].sort()).toEqual([[1, 1], [2, 1], [3, 1]]);
    expect([...starts(top2(5), alternating(3)).entries()].sort()).toEqual([[1, 1], [2, 1], [3, 1]]);
    // Control: without a hold each turn starts a series; a hold shorter than the turns does not help.
    expect([...starts(top2(0), alternating(1)).entries()].sort()).toEqual([[1, 1], [2, 15], [3, 15]]);
    expect([...starts(top2(2), alternating(3)).entries()].sort()).toEqual([[1, 1], [2, 5], [3, 5]]);
  });

  it('lets a process go after exactly `hold` steps out of the top N', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 2, holdSteps: 3 }));
    expect(pids(selector.select(duel(0, 3_000_000, 2_000_000)))).toEqual([1, 2]);
    // From step 1 on, pid 3 has the 2nd rank: pid 2 is held 3 steps, gone at the 4th.
    const held = [1, 2, 3, 4].map((i) => pids(selector.select(duel(i, 2_000_000, 3_000_000))));
    expect(held).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 3]]);
    // Held processes stay in the sum of the selected; the others hold only pid 4 meanwhile.
    const s = duel(5, 2_000_000, 3_000_000);
    expect(selector.select(s).others).toMatchObject({ powerUw: 2_000_000 + 1_000, count: 2 });
  });

  it('holds a process that dips under --min-process-power the same way', () => {
    const selector = new ProcessSelector(selectionOptions({ minPowerUw: 1_500_000, holdSteps: 1 }));
    expect(pids(selector.select(duel(0, 3_000_000, 1_000_000)))).toEqual([1, 2]);
    expect(pids(selector.select(duel(1, 1_000_000, 1_000_000)))).toEqual([1, 2]);
    expect(pids(selector.select(duel(2, 1_000_000, 1_000_000)))).toEqual([1]);
    expect(pids(selector.select(duel(3, 1_600_000, 1_000_000)))).toEqual([1, 2]);
  });

  it('at equal power keeps the process already selected, so ties do not churn', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 2 }));
    expect(pids(selector.select(duel(0, 2_000_000, 1_000_000)))).toEqual([1, 2]);
    // pid 3 comes first in the sample at the same power: pid 2 keeps the slot.
    const tie = makeSample({ processes: [makeProcess({ pid: 1, powerUw: 50_000_000 }), makeProcess({ pid: 3, powerUw: 2_000_000 }), makeProcess({ pid: 2, powerUw: 2_000_000 })] });
    expect(pids(selector.select(tie))).toEqual([1, 2]);
  });

  it('is (pid, starttime): a reused pid is a new process, and state is kept for live processes only', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 2, holdSteps: 5 }));
    selector.select(duel(0, 3_000_000, 2_000_000));
    // pid 2 ended and the pid came back for another process at the bottom: nothing of the old one is held.
    const reused = duel(1, 1, 2_000_000).processes.map((p) => (p.pid === 2 ? { ...p, starttime: 999_999 } : p));
    expect(pids(selector.select(makeSample({ processes: reused })))).toEqual([1, 3]);
    const extra = Array.from({ length: 50 }, (_, i) => makeProcess({ pid: 100 + i, powerUw: 10 }));
    selector.select(duel(2, 3_000_000, 2_000_000, extra));
    expect(selector.trackedProcesses).toBe(54);
    selector.select(duel(3, 3_000_000, 2_000_000));
    expect(selector.trackedProcesses).toBe(4);
  });

  it('repeats the latest selection when asked again (a second scrape), without advancing the hold', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 2, holdSteps: 1 }));
    selector.select(duel(0, 3_000_000, 2_000_000));
    const s = duel(1, 2_000_000, 3_000_000);
    const first = selector.select(s);
    expect(selector.select(s)).toBe(first);
    expect(selector.select(s).others.energyUj).toBe(first.others.energyUj);
    expect(pids(selector.select(duel(2, 2_000_000, 3_000_000)))).toEqual([1, 3]);
  });
});

describe('ProcessSelector regexes', () => {
  it('--process-regex on exe or cmdline, --exclude-process-regex wins, a rewritten cmdline leaves at once', () => {
    const selector = new ProcessSelector(selectionOptions({ include: anywhere('^proc[23]$|special'), exclude: anywhere('--skip'), holdSteps: 5 }));
    const sample = (cmdline3: string): Sample =>
      makeSample({ processes: [makeProcess({ pid: 1 }), makeProcess({ pid: 2 }), makeProcess({ pid: 3, cmdline: cmdline3 }), makeProcess({ pid: 4, cmdline: 'a special one' })] });
    expect(pids(selector.select(sample('/usr/bin/proc3')))).toEqual([2, 3, 4]);
    const s = sample('/usr/bin/proc3 --skip');
    expect(pids(selector.select(s))).toEqual([2, 4]);
    expect(selector.select(s).others).toMatchObject({ powerUw: 2_000_000, count: 2 });
  });

  it('--container-regex keeps the processes of a container whose name matches; a name that arrives later is matched then', () => {
    const selector = new ProcessSelector(selectionOptions({ containerInclude: anywhere('^web'), holdSteps: 0 }));
    const sample = (name4: string | undefined): Sample =>
      makeSample({
        processes: [
          makeProcess({ pid: 1, container: { containerId: 'a', containerName: 'web-1' } }),
          makeProcess({ pid: 2, container: { containerId: 'b', containerName: 'db' } }),
          // No container: never matches, even a pattern that matches an empty name.
          makeProcess({ pid: 3, cmdline: 'web' }),
          makeProcess({ pid: 4, container: name4 === undefined ? { containerId: 'c' } : { containerId: 'c', containerName: name4 } }),
        ],
      });
    expect(pids(selector.select(sample(undefined)))).toEqual([1]);
    // Docker's name for pid 4 came with the next lookup: it is matched at once.
    const named = sample('web-2');
    expect(pids(selector.select(named))).toEqual([1, 4]);
    expect(selector.select(named).others).toMatchObject({ powerUw: 2_000_000, count: 2 });
    const everything = new ProcessSelector(selectionOptions({ containerInclude: anywhere('.*') }));
    expect(pids(everything.select(sample('x')))).toEqual([1, 2, 4]);
  });
});

describe('ProcessSelector groups', () => {
  const group = (kind: GroupSample['kind'], key: string, powerUw: number): GroupSample => ({
    kind,
    key,
    container: kind === 'systemd_unit' ? { systemdUnit: key } : { containerId: key },
    powerUw,
    energyUj: powerUw,
    source: 'cgroup',
  });

  it('keeps the top N of each kind, rolls up the rest per kind, and holds like processes', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 1, holdSteps: 1 }));
    const step = (i: number, webUw: number, dbUw: number): Sample =>
      makeSample({
        timestampMs: 1_000_000 + i * 2000,
        groups: [group('container', 'web', webUw), group('container', 'db', dbUw), group('container', 'cache', 100), group('systemd_unit', 'sshd.service', 7)],
      });
    let sel = selector.select(step(0, 5_000_000, 4_000_000));
    expect(sel.groups.map((g) => g.key)).toEqual(['web', 'sshd.service']);
    // The selector's first step is its baseline: the others energy starts at 0.
    expect(sel.groupOthers.get('container')).toEqual({ powerUw: 4_000_100, energyUj: 0, count: 2 });
    expect(sel.groupOthers.get('systemd_unit')).toEqual({ powerUw: 0, energyUj: 0, count: 0 });
    expect(sel.groupOthers.has('pod')).toBe(false);
    sel = selector.select(step(1, 4_000_000, 5_000_000));
    expect(sel.groups.map((g) => g.key)).toEqual(['web', 'db', 'sshd.service']);
    expect(sel.groupOthers.get('container')?.powerUw).toBe(100);
    sel = selector.select(step(2, 4_000_000, 5_000_000));
    expect(sel.groups.map((g) => g.key)).toEqual(['db', 'sshd.service']);
    // selected + others = every container, exactly.
    expect(sum(sel.groups.filter((g) => g.kind === 'container')) + (sel.groupOthers.get('container')?.powerUw ?? 0)).toBe(9_000_100);
  });
});

/**
 * Runs `samples` (one per sensor step of 1 s) through a SteppedExporter of a 3 s step, as `scaph run` does
 * for an [[exporter]] with step = 3 and [sensor] step = 1: the exporter sees every 3rd sample. `seen` gets
 * each sample it passes.
 */
async function everyThird(samples: AsyncIterable<Sample> | Iterable<Sample>, seen: (sample: Sample) => void): Promise<number> {
  let nowMs = 0;
  let passed = 0;
  const inner = { name: 'probe', start: async () => undefined, stop: async () => undefined, export: (s: Sample) => { passed += 1; seen(s); } };
  const stepped = new SteppedExporter(inner, 3000, 1000, () => nowMs);
  for await (const sample of samples) {
    stepped.export(sample);
    nowMs += 1000;
  }
  return passed;
}

describe('ProcessSelector energy, from the sensor counters', () => {
  /** Step i (2 s): pid 1 leads; pid 2 is 2nd, then 3rd at steps 2-3, 2nd again; each counter grows by power × 2 s. */
  function outAndBack(i: number): Sample {
    const powers = (k: number): number[] => [50_000_000, k === 2 || k === 3 ? 1_000_000 : 3_000_000, 2_000_000, 1_000];
    const energy = (p: number): number => Array.from({ length: i + 1 }, (_, k) => (powers(k)[p] as number) * 2).reduce((a, b) => a + b, 0);
    return makeSample({
      timestampMs: 1_000_000 + i * 2000,
      processes: powers(i).map((powerUw, p) => makeProcess({ pid: p + 1, powerUw, energyUj: energy(p) })),
    });
  }

  it('a process that leaves and comes back resumes its series without the energy others counted meanwhile', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 2 }));
    const ledger = new EnergyLedger();
    const series = new Map<number, Array<number | null>>([[2, []], [3, []]]);
    const others: number[] = [];
    for (let i = 0; i < 6; i++) {
      const sample = outAndBack(i);
      const selection = selector.select(sample);
      for (const [pid, values] of series) {
        const at = selection.processes.findIndex((p) => p.pid === pid);
        values.push(at < 0 ? null : (selection.processEnergyUj[at] as number));
      }
      others.push(selection.others.energyUj);
      ledger.step(sample, sampleToMetrics(sample, {}, '', selector.select(sample)));
      expect(ledger.sentUj + ledger.othersUj).toBe(ledger.trueUj);
    }
    // pid 2 uses 6 J a step, 2 J at steps 2-3 (out: pid 3 is 2nd). Back at step 4 its counter says 22 J, of
    // which 4 J went to others: its series says 18 J (the old selector sent 22 J, counting 4 J twice).
    expect(series.get(2)).toEqual([6_000_000, 12_000_000, null, null, 18_000_000, 24_000_000]);
    // pid 3 (4 J a step) enters at step 2 with 12 J, of which the 4 J of step 1 are in others (step 0 is
    // the selector's baseline, counted by no one): it sends 8 J, then 12 J.
    expect(series.get(3)).toEqual([null, null, 8_000_000, 12_000_000, null, null]);
    // Others: 0 at the baseline, then pid 4's 2 mJ each step, plus pid 3's 4 J (steps 1, 4, 5) or pid 2's
    // 2 J (steps 2, 3).
    expect(others).toEqual([0, 4_002_000, 6_004_000, 8_006_000, 12_008_000, 16_010_000]);
    // Σ counters: 600 + 28 + 24 + 0.012 J = the series (pid 4's never sent: its 2 mJ baseline) + others.
    expect(ledger.trueUj).toBe(652_012_000);
    expect(600_000_000 + 24_000_000 + 12_000_000 + 2_000 + 16_010_000).toBe(ledger.trueUj);
    expect(ledger.sentResets).toBe(0);
  });

  it('an exporter at 3× the sensor step: sent + others = every process\'s counter, exactly, on 500 processes', async () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 20, holdSteps: 1 }));
    const ledger = new EnergyLedger();
    const othersGrowth: number[] = [];
    let othersBefore = 0;
    let outBefore: Map<number, number> | null = null;
    const passed = await everyThird(treeSteps(13), (sample) => {
      const metrics = sampleToMetrics(sample, {}, '', selector.select(sample));
      const selection = selector.select(sample);
      ledger.step(sample, metrics);
      expect(ledger.sentUj + ledger.othersUj).toBe(ledger.trueUj);
      // The others grew by the growth of the processes not sent, over the 3 sensor intervals since the last
      // sample seen (the old selector added others power × one interval); nothing at the first (the baseline).
      const sent = new Set(selection.processes.map((p) => p.pid));
      const now = new Map(sample.processes.map((p) => [p.pid, Math.round(p.energyUj)]));
      let growth = 0;
      if (outBefore) for (const [pid, uj] of now) if (!sent.has(pid)) growth += uj - (outBefore.get(pid) ?? 0);
      expect(selection.others.energyUj - othersBefore).toBe(growth);
      othersGrowth.push(growth);
      othersBefore = selection.others.energyUj;
      outBefore = now;
    });
    expect(passed).toBe(5);
    expect(ledger.steps).toBe(5);
    expect(othersGrowth[0]).toBe(0);
    expect(othersGrowth.slice(1).every((g) => g > 0)).toBe(true);
    expect(ledger.sentResets).toBe(0);
  });

  const group = (key: string, powerUw: number, energyUj: number): GroupSample => ({ kind: 'container', key, container: { containerId: key }, powerUw, energyUj, source: 'cgroup' });

  /**
   * 15 sensor steps of 1 s, container groups: web 5 W; db 1 W, 8 W at steps 5-9 (it takes web's place);
   * cache 0.5 W, absent at steps 4-7 (no live process: the sensor keeps its counter and continues it).
   */
  function groupSteps(): Sample[] {
    const power = (key: string, k: number): number | null =>
      key === 'web' ? 5_000_000 : key === 'db' ? (k >= 5 && k < 10 ? 8_000_000 : 1_000_000) : k >= 4 && k <= 7 ? null : 500_000;
    const energy = new Map<string, number>();
    return Array.from({ length: 15 }, (_, k) => {
      const groups: GroupSample[] = [];
      for (const key of ['web', 'db', 'cache']) {
        const uw = power(key, k);
        if (uw === null) continue;
        energy.set(key, (energy.get(key) ?? 0) + uw);
        groups.push(group(key, uw, energy.get(key) as number));
      }
      return makeSample({ timestampMs: 1_000_000 + k * 1000, intervalMs: 1000, groups });
    });
  }

  it('groups: out and back, absent and back, at 3× the sensor step: sent + others = every container\'s counter', async () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 1 }));
    const ledger = new EnergyLedger('container');
    const web: Array<number | null> = [];
    const others: number[] = [];
    const passed = await everyThird(groupSteps(), (sample) => {
      const selection = selector.select(sample);
      ledger.step(sample, sampleToMetrics(sample, { containers: true }, '', selector.select(sample)));
      expect(ledger.sentUj + ledger.othersUj).toBe(ledger.trueUj);
      const at = selection.groups.findIndex((g) => g.key === 'web');
      web.push(at < 0 ? null : (selection.groupEnergyUj[at] as number));
      others.push(selection.groupOthers.get('container')?.energyUj ?? -1);
    });
    expect(passed).toBe(5);
    // Seen: steps 0, 3, 6, 9, 12. web is out at 6 and 9 (db leads): 30 J to others; back at 12 with 65 J,
    // it sends 35 J: 15 J more than at step 3, what it used over the 3 steps since step 9.
    expect(web).toEqual([5_000_000, 20_000_000, null, null, 35_000_000]);
    // Others: 0 (the baseline); db's 3 + cache's 1.5 J; web's 15 J (cache absent); web's 15 J + cache's 1 J
    // of steps 8-9 (its counter went on from 2 J: the 2 J are not counted again); db's 3 J + cache's 1.5 J.
    expect(others).toEqual([0, 4_500_000, 19_500_000, 35_500_000, 40_000_000]);
    expect(ledger.sentResets).toBe(0);
  });

  it('groups: a counter the sensor restarted after a long absence counts from 0; state is forgotten after twice the retention', () => {
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 1 }));
    const at = (ms: number, cacheUj: number | null): Sample =>
      makeSample({ timestampMs: ms, groups: [group('web', 5_000_000, 10_000_000 + ms), ...(cacheUj === null ? [] : [group('cache', 1_000, cacheUj)])] });
    expect(selector.select(at(0, 8_000_000)).groupOthers.get('container')?.energyUj).toBe(0);
    expect(selector.select(at(2000, 9_000_000)).groupOthers.get('container')?.energyUj).toBe(1_000_000);
    // Back after 11 minutes: the sensor had forgotten it, its counter restarted at 2 J: 2 J more, not -7 J.
    const back = 11 * 60_000;
    expect(selector.select(at(back, 2_000_000)).groupOthers.get('container')?.energyUj).toBe(3_000_000);
    expect(selector.trackedGroups).toBe(2);
    selector.select(at(back + 2 * GROUP_ENERGY_RETENTION_MS, null));
    expect(selector.trackedGroups).toBe(2);
    selector.select(at(back + 2 * GROUP_ENERGY_RETENTION_MS + 1, null));
    expect(selector.trackedGroups).toBe(1);
  });
});
