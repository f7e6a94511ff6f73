/**
 * The agent's config for the bench's runs: the estimate sensor on a procfs tree, and the push exporters
 * asked for, each with `max_top_consumers` when a selection is given. Shared by the steady and the scale
 * sections, so both measure the same agent.
 */

/** Where the push exporters send; absent ones are left out of the config. */
export interface PushEndpoints {
  /** e.g. http://127.0.0.1:8428/api/v1/write */
  readonly remoteWriteUrl?: string;
  readonly riemannPort?: number;
  readonly warp10Port?: number;
  readonly warp10Token?: string;
  /** OTLP/HTTP metrics endpoint, e.g. http://127.0.0.1:4318/v1/metrics */
  readonly otlpUrl?: string;
}

export function agentConfig(procfsPath: string, stepMs: number, to: PushEndpoints, maxTopConsumers: number | null): string {
  const step = stepMs / 1000;
  const common = [`step = ${step}`, ...(maxTopConsumers === null ? [] : [`max_top_consumers = ${maxTopConsumers}`]), ''];
  const lines = ['[sensor]', 'kind = "estimate"', `procfs_path = "${procfsPath}"`, `step = ${step}`, ''];
  if (to.remoteWriteUrl !== undefined) lines.push('[[exporter]]', 'type = "remote-write"', `url = "${to.remoteWriteUrl}"`, ...common);
  if (to.riemannPort !== undefined) lines.push('[[exporter]]', 'type = "riemann"', 'address = "127.0.0.1"', `port = ${to.riemannPort}`, ...common);
  if (to.warp10Port !== undefined) {
    lines.push('[[exporter]]', 'type = "warp10"', 'host = "127.0.0.1"', `port = ${to.warp10Port}`, 'scheme = "http"', `write_token = "${to.warp10Token ?? ''}"`, ...common);
  }
  if (to.otlpUrl !== undefined) lines.push('[[exporter]]', 'type = "otlp"', `url = "${to.otlpUrl}"`, ...common);
  return lines.join('\n');
}
