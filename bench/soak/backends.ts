/**
 * The soak's three push backends, each with a way to kill it, bring it back, and say what it holds:
 * remote-write to a real VictoriaMetrics (Debian package; stopped with SIGTERM, so what it acknowledged is
 * on its disk: a SIGKILLed VictoriaMetrics loses its last second of acknowledged rows, its loss and not
 * scaph's), Riemann and Warp 10 to the protocol-faithful test servers (stopped by dropping every
 * connection at once, their store kept: a killed server whose data survived).
 */
import { FakeRiemannServer } from '../../test/support/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../test/support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../test/support/servers/warp10.js';

export const HOST_SERIES = 'scaph_host_power_microwatts';
export const WARP10_TOKEN = 'soak-write-token';

export interface SoakBackend {
  readonly name: string;
  /** The [[exporter]] lines for it (spool_dir added by the caller). */
  readonly exporterToml: string;
  up: boolean;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Host-power timestamps (ms) it stores, with how many times each arrived. */
  delivered(): Promise<Map<number, number>>;
  dispose(): Promise<void>;
}

function countTimes(times: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of times) out.set(t, (out.get(t) ?? 0) + 1);
  return out;
}

export async function startBackends(): Promise<SoakBackend[]> {
  const [vm, riemann, warp10] = await Promise.all([startVictoriaMetrics(), FakeRiemannServer.start(), Warp10TestServer.start({ writeTokens: [WARP10_TOKEN] })]);
  const victoria: SoakBackend = {
    name: 'remote-write (VictoriaMetrics)',
    exporterToml: `type = "remote-write"\nurl = "${vm.baseUrl}/api/v1/write"`,
    up: true,
    kill: async () => vm.stop(),
    restart: async () => vm.start(),
    // VictoriaMetrics keeps one point per (series, timestamp): a resent sample cannot be told apart.
    delivered: async () => countTimes((await vmExport(vm, HOST_SERIES)).flatMap((s) => s.points.map((p) => p.timestampMs))),
    dispose: async () => vm.dispose(),
  };
  const riemannBackend: SoakBackend = {
    name: 'riemann (test server)',
    exporterToml: `type = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nttl = 3600`,
    up: true,
    kill: async () => riemann.stop(),
    restart: async () => riemann.restart(),
    delivered: async () =>
      countTimes(riemann.events.filter((e) => e.service === HOST_SERIES && e.timeMicros !== undefined).map((e) => Math.round((e.timeMicros as number) / 1000))),
    dispose: async () => riemann.stop(),
  };
  const warp10Backend: SoakBackend = {
    name: 'warp10 (test server)',
    exporterToml: `type = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nscheme = "http"\nwrite_token = "${WARP10_TOKEN}"`,
    up: true,
    kill: async () => warp10.stop(),
    restart: async () => warp10.restart(),
    delivered: async () => countTimes(warp10.series(HOST_SERIES).map((p) => Math.round(p.timestampUs / 1000))),
    dispose: async () => warp10.stop(),
  };
  return [victoria, riemannBackend, warp10Backend];
}
