/**
 * The process selector: selected + others = every process, exactly, on the sensor's own samples of a
 * 500-process synthetic tree; the hold that keeps series from flapping; identity, regexes, groups.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { energyUjFromPower } from '../../../src/core/energy.js';
import { silentLogger } from '../../../src/core/log.js';
import { ProcessSelector, type Selection, type SelectionOptions } from '../../../src/core/process-selection.js';
import type { GroupSample, ProcessSample, Sample } from '../../../src/core/sample.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { generateProcesses, ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import { selectionOptions } from '../../support/fixtures/selection.js';

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
    const options = selectionOptions({ maxTopConsumers: 20, minPowerUw: 10_000, exclude: /--id 7\b/, holdSteps: 2 });
    const selector = new ProcessSelector(options);
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
      // Energy: the others counter grows by what was rolled up; with the selected processes' own growth
      // it accounts for every process's growth over the step.
      if (previous) {
        const othersGrowth = selection.others.energyUj - previous.selection.others.energyUj;
        expect(othersGrowth).toBeCloseTo(energyUjFromPower(selection.others.powerUw, sample.intervalMs), 6);
        const energyBefore = new Map(previous.sample.processes.map((p) => [p.pid, p.energyUj]));
        const growth = (list: readonly ProcessSample[]): number => list.reduce((s, p) => s + p.energyUj - (energyBefore.get(p.pid) ?? 0), 0);
        expect(growth(selection.processes) + othersGrowth).toBeCloseTo(growth(sample.processes), 3);
      }
      previous = { sample, selection };
      steps += 1;
    }
    expect(steps).toBe(8);
    // The rotating workers trade places around the 20th rank: the hold was exercised.
    expect(heldSeen).toBeGreaterThan(0);
    expect(selector.trackedProcesses).toBe(501);
  });

  it('with only a regex: the matching processes and the rest as others', async () => {
    const selector = new ProcessSelector(selectionOptions({ include: /^burner$|--id 1\d\b/ }));
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
    const selector = new ProcessSelector(selectionOptions({ include: /^proc[23]$|special/, exclude: /--skip/, holdSteps: 5 }));
    const sample = (cmdline3: string): Sample =>
      makeSample({ processes: [makeProcess({ pid: 1 }), makeProcess({ pid: 2 }), makeProcess({ pid: 3, cmdline: cmdline3 }), makeProcess({ pid: 4, cmdline: 'a special one' })] });
    expect(pids(selector.select(sample('/usr/bin/proc3')))).toEqual([2, 3, 4]);
    const s = sample('/usr/bin/proc3 --skip');
    expect(pids(selector.select(s))).toEqual([2, 4]);
    expect(selector.select(s).others).toMatchObject({ powerUw: 2_000_000, count: 2 });
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
    expect(sel.groupOthers.get('container')).toEqual({ powerUw: 4_000_100, energyUj: energyUjFromPower(4_000_100, 2000), count: 2 });
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
