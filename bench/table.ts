/** Renders results.json as the plain-text table `npm run bench` prints. */
import type { BenchResults, ExecutableComparison, Goal, PeerComparison, PeerSide, ScaleSection, Skipped, Spread, SteadyStateSection, Timing } from './results.js';
import { isSkipped } from './results.js';

/** Text columns (listed in `left`, default the first) are left-aligned, figures right-aligned. */
function pad(cells: readonly string[], widths: readonly number[], left: ReadonlySet<number>): string {
  return cells
    .map((cell, i) => (left.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

function grid(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: readonly number[] = [0]): string[] {
  const left = new Set(leftColumns);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [
    pad(header, widths, left),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((r) => pad(r, widths, left)),
  ];
}

function num(value: number | null | undefined, suffix = ''): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : `${value}${suffix}`;
}

function perProcess(t: Timing | Skipped): string {
  return isSkipped(t) ? 'skipped' : num(t.usPerProcess);
}

function samplingLines(results: BenchResults): string[] {
  const s = results.sampling;
  if (isSkipped(s)) return [`Sampling: ${s.skipped}`];
  const rows = s.rows.map((r) => [
    r.tree, String(r.processes), perProcess(r.cFloor), num(r.scaph.usPerProcess), perProcess(r.peer),
    num(r.scaphToC, 'x'), num(r.peerToScaph, 'x'),
  ]);
  const skips = s.rows.flatMap((r) => [r.cFloor, r.peer]).filter(isSkipped).map((k) => `  ${k.skipped}`);
  return [
    'Sampling cost per process (µs, median per pass)',
    ...grid(['tree', 'processes', 'C floor', 'scaph', 'process-exporter', 'scaph/C', 'peer/scaph'], rows),
    `linearity (µs per process, large tree / small tree): scaph ${num(s.linearity.scaph)}, ` +
      `C ${num(s.linearity.cFloor)}, process-exporter ${num(s.linearity.peer)}`,
    ...[...new Set(skips)],
  ];
}

function encodingLines(results: BenchResults): string[] {
  const e = results.encoding;
  if (isSkipped(e)) return [`Encoding: ${e.skipped}`];
  const rows = e.rows.map((r) => [
    r.transport, num(r.scaphOpsPerSec), r.peer, num(r.peerOpsPerSec), num(r.ratio, 'x'), String(r.bytes), num(r.peerBytes),
  ]);
  const v = e.remoteWriteVersions;
  return [
    `Encoding throughput, one sample of ${e.processes} processes (${e.metrics} metrics), encodes per second`,
    ...grid(['transport', 'scaph ops/s', 'peer', 'peer ops/s', 'scaph/peer', 'bytes', 'peer bytes'], rows, [0, 2]),
    ...e.rows.filter((r) => r.note).map((r) => `  ${r.transport}: ${r.note}`),
    '',
    `Remote-write 1.0 vs 2.0, one sample of ${v.processes} processes (${v.metrics} metrics), protobuf + snappy as each transport encodes a step`,
    ...grid(
      ['version', 'encodes/s', 'bytes per step (snappy)', 'protobuf bytes'],
      v.rows.map((r) => [r.version, num(r.opsPerSec), String(r.bytesPerStep), String(r.protobufBytes)]),
    ),
    `  2.0 / 1.0: ${num(v.bytesV2ToV1, 'x')} the bytes per step, ${num(v.opsV2ToV1, 'x')} the encodes per second`,
  ];
}

function steadyLines(results: BenchResults): string[] {
  const s = results.steadyState;
  if (isSkipped(s)) return [`Steady state: ${s.skipped}`];
  const delivered = Object.entries(s.samplesDelivered).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `Steady state: scaph run, ${s.processes} processes, ${s.stepMs / 1000} s step, ${s.windowMs / 1000} s window, ` +
      `transports ${s.transports.join(' + ')}`,
    ...grid(
      ['program', 'CPU s (window)', 'CPU s/hour', '% of one core', 'minor faults/step', 'peak RSS MB', 'RSS MB in window (max)'],
      [
        ['scaph run', num(s.cpuSeconds), num(s.cpuSecondsPerHour), num(s.percentOfOneCore, ' %'), num(s.minorFaultsPerStep), num(s.peakRssMb), num(s.windowRssMaxMb)],
        ['I/O floor', num(s.floor.cpuSeconds), num(s.floor.cpuSecondsPerHour), num(s.floor.percentOfOneCore, ' %'), num(s.floor.minorFaultsPerStep), num(s.floor.peakRssMb), ''],
      ],
      [0],
    ),
    `  scaph / I/O floor (CPU): ${s.cpuVsFloor === null ? '-' : `${num(s.cpuVsFloor)}x`}`,
    '  I/O floor: the same stat files read and the agent\'s bytes (encoded once) sent to the same backends each step, nothing else',
    `  delivered: ${delivered}; I/O floor steps completed: ${s.floor.stepsCompleted}`,
    ...topConsumersLines(s),
    '',
    ...peerLines(s),
  ];
}

function spreadText(s: Spread, unit = ''): string {
  return `${num(s.median, unit)} (${num(s.min)}-${num(s.max)})`;
}

function executableLines(results: BenchResults): string[] {
  const e: ExecutableComparison | Skipped = results.executable;
  if (isSkipped(e)) return [`Executable row: ${e.skipped}`];
  return [
    `Executable row: the single executable against node + dist, the steady run's config, ${e.rounds} rounds in turn (order rotating), ` +
      `${e.windowMs / 1000} s window after ${e.warmupMs / 1000} s; median (min-max)`,
    ...grid(
      ['program', 'runtime', '% of one core', 'peak RSS MB', 'RSS MB in window (max)', 'first sample ms', '--version ms'],
      e.variants.map((v) => [v.label, v.runtime, spreadText(v.percentOfOneCore, ' %'), spreadText(v.peakRssMb), spreadText(v.windowRssMaxMb), spreadText(v.firstSampleMs), spreadText(v.versionMs)]),
      [0, 1],
    ),
    `  executable / node + dist: CPU ${num(e.cpuVsNode, 'x')}, peak RSS ${num(e.rssVsNode, 'x')}; executable / node 24 + dist: CPU ${num(e.cpuVsNode24, 'x')}, peak RSS ${num(e.rssVsNode24, 'x')}`,
    `  first sample: spawn to the first json report, ${e.firstSampleStepMs} ms step (the first sample is taken one step after start); ${e.startupRuns} runs each`,
  ];
}

function topConsumersLines(s: SteadyStateSection): string[] {
  const t = s.topConsumers;
  const delivered = Object.entries(t.samplesDelivered).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `  scaph run with max_top_consumers = ${t.maxTopConsumers} on every exporter (same tree, backends and window):`,
    ...grid(
      ['run', 'CPU s (window)', '% of one core', 'peak RSS MB', 'bytes written/step'],
      [
        ['all series', num(s.cpuSeconds), num(s.percentOfOneCore, ' %'), num(s.peakRssMb), String(s.bytesPerStep)],
        [`top ${t.maxTopConsumers}`, num(t.cpuSeconds), num(t.percentOfOneCore, ' %'), num(t.peakRssMb), String(t.bytesPerStep)],
      ],
      [0],
    ).map((l) => `  ${l}`),
    `  top ${t.maxTopConsumers} / all series: CPU ${num(t.cpuVsAllSeries, 'x')}, bytes per step ${num(t.bytesVsAllSeries, 'x')}; delivered: ${delivered}`,
  ];
}

function peerSideRows(side: PeerSide): string[][] {
  const rows = [[side.label, num(side.cpuSeconds), num(side.percentOfOneCore, ' %'), num(side.peakRssMb), String(side.series), num(side.cpuUsPerSeriesStep)]];
  if (side.programs.length > 1) {
    for (const p of side.programs) rows.push([`  ${p.name}`, num(p.cpuSeconds), num(p.percentOfOneCore, ' %'), num(p.peakRssMb), '', '']);
  }
  return rows;
}

function peerLines(s: SteadyStateSection): string[] {
  const p: PeerComparison | Skipped = s.peer;
  if (isSkipped(p)) return [`Peer row: ${p.skipped}`];
  const byJob = (side: PeerSide): string => Object.entries(side.seriesByJob).map(([job, n]) => `job="${job}" ${n}`).join(', ');
  return [
    `Peer row: pushing per-process figures by remote-write, ${p.processes} processes, ${p.stepMs / 1000} s step, ${p.windowMs / 1000} s window, same trees and VictoriaMetrics`,
    ...grid(
      ['program', 'CPU s (window)', '% of one core', 'peak RSS MB', 'series', 'CPU µs/series/step'],
      [...peerSideRows(p.scaph), ...peerSideRows(p.stack)],
      [0],
    ),
    `  scaph / stack: CPU per series ${num(p.cpuPerSeriesVsStack, 'x')}, CPU ${num(p.cpuVsStack, 'x')}, peak RSS ${num(p.peakRssVsStack, 'x')}, series ${num(p.seriesVsStack, 'x')}`,
    `  series by job label: scaph ${byJob(p.scaph)}; stack ${byJob(p.stack)}`,
    ...p.notes.map((n) => `  ${n}`),
  ];
}

function scaleLines(results: BenchResults): string[] {
  const s: ScaleSection | Skipped = results.scale;
  if (isSkipped(s)) return [`Scale: ${s.skipped}`];
  const rows = s.rows.map((r) => [
    String(r.processes), r.program, spreadText(r.usPerProcessStep), spreadText(r.percentOfOneCore), spreadText(r.peakRssMb),
    spreadText(r.settledRssMb), spreadText(r.bytesPerStep), r.loadavg.min === r.loadavg.max ? `${r.loadavg.min}` : `${r.loadavg.min}-${r.loadavg.max}`,
  ]);
  const ratio = (x: Spread): string => `${num(x.median, 'x')} (${num(x.min)}-${num(x.max)})`;
  return [
    `Scale: scaph run on ticking synthetic trees, ${s.stepMs / 1000} s step, ${s.warmupMs / 1000} s warm-up then ${s.windowMs / 1000} s window, ` +
      `${s.rounds} round${s.rounds === 1 ? '' : 's'} (sizes and programs in an order rotating each round); median (min-max) over the rounds`,
    ...grid(['processes', 'program', 'µs/process/step', '% of one core', 'peak RSS MB', 'settled RSS MB', 'bytes written/step', 'load (1 min)'], rows, [1]),
    `  three transports / I/O floor (CPU, each round's pair): ${s.vsFloor.map((f) => `${f.processes}: ${ratio(f.ratio)}`).join('; ')}`,
    s.linearity
      ? `  linearity, remote-write µs/process/step at ${s.linearity.large} / at ${s.linearity.small} (each round's pair): ${ratio(s.linearity.ratio)}`
      : '  linearity: one size measured',
    ...s.notes.map((n) => `  ${n}`),
  ];
}

function goalLines(goals: readonly Goal[]): string[] {
  const rows = goals.map((g) => [
    g.met === null ? 'NOT MEASURED' : g.met ? 'MET' : 'MISSED', g.description, num(g.measured), g.target, g.note ?? '',
  ]);
  return ['Goals', ...grid(['status', 'goal', 'measured', 'target', 'note'], rows, [0, 1, 3, 4])];
}

export function renderTable(results: BenchResults): string {
  const met = results.goals.filter((g) => g.met === true).length;
  return [
    `scaph bench${results.quick ? ' (quick mode: tiny sizes, figures not meaningful)' : ''} — node ${results.environment.node}, ` +
      `${results.environment.cpus} CPUs, load ${results.environment.loadavgAtStart.join(' ')} at start`,
    '',
    ...samplingLines(results),
    '',
    ...encodingLines(results),
    '',
    ...steadyLines(results),
    '',
    ...executableLines(results),
    '',
    ...scaleLines(results),
    '',
    ...goalLines(results.goals),
    `${met} of ${results.goals.length} goals met.`,
    '',
  ].join('\n');
}
