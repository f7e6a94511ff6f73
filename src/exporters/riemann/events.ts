/**
 * Metrics -> Riemann events: one event per metric. The service is the metric name, except for
 * per-process metrics, whose service names the process so that Riemann's index (one event per host and
 * service) keeps one per process and `service =~ "process_power_consumption_microwatts_%_firefox"`
 * finds firefox: `<name without scaph_>_<pid>_<exe>`.
 *
 * Socket and RAPL domain series keep Scaphandre's service (`scaph_socket_power_microwatts`), their ids
 * in the socket_id / domain_name attributes, so existing streams and queries keep matching; Riemann's
 * index then holds the last socket's event per host. `perSocketServices` appends the ids instead
 * (`scaph_socket_power_microwatts_1`, `scaph_domain_power_microwatts_0_dram`) so the index keeps every
 * socket. Series of scaph's own families that share a name (per drop reason, per container…) always get
 * the values of their identifying labels appended. The labels stay attributes in every case, except
 * `cmdline`: only the process power event carries it (a process's other events name the same pid, and
 * the command line was most of their bytes).
 */
import type { Metric, MetricLabels } from '../../core/metric-families.js';

export interface RiemannEventOptions {
  /** The event's host: this machine's name. */
  readonly hostname: string;
  /** Seconds Riemann keeps the event in its index. */
  readonly ttlS: number;
  /** Tags after "scaphandre" (--tag). */
  readonly tags: readonly string[];
  /** One service per socket and domain (ids appended) instead of Scaphandre's shared ones. Default false. */
  readonly perSocketServices?: boolean;
  /** The metric's HELP text as the event description. Default true; false (--no-description) saves its bytes on every event. */
  readonly description?: boolean;
}

const PROCESS_PREFIX = 'scaph_process_';
/** Labels that tell apart series of one name, in the order their values join the service. */
const SERIES_KEYS = ['reason', 'container_id', 'kubernetes_pod_namespace', 'kubernetes_pod_name', 'systemd_unit'] as const;
/** The same for socket and RAPL domain series, joined only with perSocketServices. */
const SOCKET_SERIES_KEYS = ['socket_id', 'domain_name', 'rapl_domain_name', ...SERIES_KEYS] as const;
const SCAPH_PREFIX = 'scaph_';

/** Event.time: whole seconds. */
export function eventTime(timestampMs: number): number {
  return Math.floor(timestampMs / 1000);
}

/** Event.time_micros. */
export function eventTimeMicros(timestampMs: number): number {
  return Math.round(timestampMs * 1000);
}

/** Integers go as sint64 so large counters keep every digit (Riemann reads metric_sint64 first); the rest as metric_d. */
export function goesAsSint64(m: Metric): boolean {
  return m.kind === 'int' && Number.isSafeInteger(m.value);
}

/** The tag every event carries first (Scaphandre's). */
export const BASE_TAG = 'scaphandre';

/** Event.tags: "scaphandre", then --tag's. */
export function eventTags(options: RiemannEventOptions): string[] {
  return [BASE_TAG, ...options.tags];
}

/*
 * A service is a name part then a labels part, so the wire encoder (wire.ts) can keep the bytes
 * of each part, per name and per labels object, and never build the string.
 */

/** `<name without scaph_>_` when the name is a per-process metric's, else null. */
export function processServicePrefix(name: string): string | null {
  return name.startsWith(PROCESS_PREFIX) ? `${name.slice(SCAPH_PREFIX.length)}_` : null;
}

/** `<pid>_<exe>` when the labels are a process's (they have a pid), else null; `<pid>` when exe was dropped (--drop-labels exe). */
export function processServiceSuffix(labels: MetricLabels): string | null {
  const pid = labels['pid'];
  if (pid === undefined) return null;
  const exe = labels['exe'];
  return exe === undefined ? pid : `${pid}_${exe}`;
}

/** The label only one family's events carry as an attribute. */
export const CMDLINE_ATTRIBUTE = 'cmdline';

/** Whether events of family `name` carry the cmdline attribute: the process power event only. */
export function carriesCmdline(name: string): boolean {
  return name === 'scaph_process_power_consumption_microwatts';
}

/** Whether an event of family `name` carries the label `key` as an attribute. */
export function carriesAttribute(name: string, key: string): boolean {
  return key !== CMDLINE_ATTRIBUTE || carriesCmdline(name);
}

/** Whether events carry the HELP text as description (RiemannEventOptions.description, default true). */
export function withDescription(options: RiemannEventOptions): boolean {
  return options.description !== false;
}

/** `_<value>` for each series label present, in SERIES_KEYS order ('' for none); socket ids too with perSocket. */
export function seriesServiceSuffix(labels: MetricLabels, perSocket: boolean): string {
  let suffix = '';
  for (const key of perSocket ? SOCKET_SERIES_KEYS : SERIES_KEYS) {
    const v = labels[key];
    if (v !== undefined) suffix += `_${v}`;
  }
  return suffix;
}
