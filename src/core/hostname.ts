import { hostname as osHostname } from 'node:os';

export const HOSTNAME_ENV = 'SCAPH_HOSTNAME';

/**
 * The machine name every exporter puts on its series (remote-write and Pushgateway `instance`, Riemann
 * `host`, Warp 10 `host`): $SCAPH_HOSTNAME when set, else the OS host name. In a Kubernetes pod the OS
 * host name is the pod's name, new at every rollout; the DaemonSet sets SCAPH_HOSTNAME to the node's name.
 */
export function agentHostname(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[HOSTNAME_ENV]?.trim();
  return fromEnv ? fromEnv : osHostname();
}
