/**
 * Section 2: encoding throughput for one sample of N processes (the same metrics from sampleToMetrics
 * for scaph and each npm peer). Scaph and its peer alternate in rounds so load on the box hits both;
 * the ratio is the median of the per-round ratios.
 */
import type { EncodingRow, EncodingSection, Goal, RemoteWriteVersions, Skipped } from '../results.js';
import { median, round } from '../stats.js';
import { opsPerSecond } from './measure.js';
import { peerOtlp, peerRemoteWrite, peerRiemann, peerWarp10, PEER_NAMES } from './peer-encoders.js';
import { remoteWriteProtobufBytes, scaphOtlp, scaphRemoteWrite, scaphRemoteWriteV2, scaphRiemann, scaphWarp10, type Encoder } from './scaph-encoders.js';
import { syntheticQueuedSample } from './synthetic-sample.js';
import { RIEMANN_DEFAULTS } from '../../src/exporters/riemann/transport.js';

export interface EncodingPlan {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export const GOAL_ENCODING_RATIO = 5;

interface Pair {
  readonly scaph: Encoder;
  readonly peerName: string;
  readonly peer: Encoder | string;
}

export async function runEncoding(plan: EncodingPlan): Promise<{ section: EncodingSection | Skipped; goals: Goal[] }> {
  const processes = plan.quick ? 50 : 1000;
  const budgetMs = plan.quick ? 30 : 400;
  const rounds = plan.quick ? 1 : 5;
  const entry = syntheticQueuedSample(processes);
  const pairs: Pair[] = [
    { scaph: scaphRemoteWrite(), peerName: PEER_NAMES.remoteWrite, peer: peerRemoteWrite() },
    { scaph: scaphRiemann(), peerName: PEER_NAMES.riemann, peer: peerRiemann(RIEMANN_DEFAULTS.maxEventsPerMsg) },
    { scaph: scaphWarp10(), peerName: PEER_NAMES.warp10, peer: peerWarp10() },
    { scaph: scaphOtlp(), peerName: PEER_NAMES.otlp, peer: peerOtlp() },
  ];
  const rows: EncodingRow[] = [];
  for (const pair of pairs) {
    rows.push(await measurePair(pair, entry, budgetMs, rounds));
    await pair.scaph.close?.();
    const last = rows[rows.length - 1] as EncodingRow;
    plan.log(`encoding: ${last.transport}: scaph ${last.scaphOpsPerSec}/s, ${last.peer} ${last.peerOpsPerSec ?? 'n/a'}/s`);
  }
  const goals = rows.map((row): Goal => ({
    id: `encoding-${row.transport}`,
    description: `${row.transport} encodes per second vs ${row.peer}`,
    measured: row.ratio,
    target: `>= ${GOAL_ENCODING_RATIO}x`,
    met: row.ratio === null ? null : row.ratio >= GOAL_ENCODING_RATIO,
    ...(row.note ? { note: row.note } : {}),
  }));
  const remoteWriteVersions = await measureRemoteWriteVersions(plan.quick ? 50 : 500, budgetMs, rounds);
  plan.log(
    `encoding: remote-write 1.0 vs 2.0 (${remoteWriteVersions.processes} processes): ` +
      remoteWriteVersions.rows.map((r) => `${r.version} ${r.opsPerSec}/s ${r.bytesPerStep} bytes`).join(', '),
  );
  return { section: { processes, metrics: entry.metrics.length, rows, remoteWriteVersions }, goals };
}

/**
 * Remote-write 1.0 and 2.0 on the same sample (the steady section's 500 processes), each as its transport
 * encodes a step (protobuf, then snappy), alternating in rounds as the peer pairs do.
 */
async function measureRemoteWriteVersions(processes: number, budgetMs: number, rounds: number): Promise<RemoteWriteVersions> {
  const entry = syntheticQueuedSample(processes);
  const v1 = scaphRemoteWrite();
  const v2 = scaphRemoteWriteV2();
  const v1Bytes = await v1.encode(entry);
  const v2Bytes = await v2.encode(entry);
  const warmMs = Math.max(20, budgetMs / 2);
  await opsPerSecond(v1, entry, warmMs);
  await opsPerSecond(v2, entry, warmMs);
  const v1Ops: number[] = [];
  const v2Ops: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await opsPerSecond(v1, entry, budgetMs);
    const b = await opsPerSecond(v2, entry, budgetMs);
    v1Ops.push(a);
    v2Ops.push(b);
    ratios.push(b / a);
  }
  await v1.close?.();
  await v2.close?.();
  const protobuf = remoteWriteProtobufBytes(entry);
  return {
    processes,
    metrics: entry.metrics.length,
    rows: [
      { version: '1.0', opsPerSec: round(median(v1Ops)), bytesPerStep: v1Bytes, protobufBytes: protobuf.v1 },
      { version: '2.0', opsPerSec: round(median(v2Ops)), bytesPerStep: v2Bytes, protobufBytes: protobuf.v2 },
    ],
    bytesV2ToV1: round(v2Bytes / v1Bytes),
    opsV2ToV1: round(median(ratios)),
  };
}

async function measurePair(pair: Pair, entry: Parameters<Encoder['encode']>[0], budgetMs: number, rounds: number): Promise<EncodingRow> {
  const bytes = await pair.scaph.encode(entry);
  const warmMs = Math.max(20, budgetMs / 2);
  await opsPerSecond(pair.scaph, entry, warmMs);
  const peer = pair.peer;
  if (typeof peer === 'string') {
    const ops = await opsPerSecond(pair.scaph, entry, budgetMs);
    return { transport: pair.scaph.name, scaphOpsPerSec: round(ops), peer: pair.peerName, peerOpsPerSec: null, ratio: null, bytes, peerBytes: null, note: peer };
  }
  const peerBytes = await peer.encode(entry);
  await opsPerSecond(peer, entry, warmMs);
  const scaphOps: number[] = [];
  const peerOps: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = await opsPerSecond(pair.scaph, entry, budgetMs);
    const p = await opsPerSecond(peer, entry, budgetMs);
    scaphOps.push(s);
    peerOps.push(p);
    ratios.push(s / p);
  }
  return {
    transport: pair.scaph.name,
    scaphOpsPerSec: round(median(scaphOps)),
    peer: pair.peerName,
    peerOpsPerSec: round(median(peerOps)),
    ratio: round(median(ratios)),
    bytes,
    peerBytes,
  };
}
