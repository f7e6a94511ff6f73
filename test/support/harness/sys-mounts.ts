/**
 * A container's view of the host's /sys through its bind mounts, to check that /sys/class/powercap's
 * relative symlinks resolve where a compose file or a `docker run` line mounts them.
 */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import { PowercapSource } from '../../../src/sensors/powercap/source.js';

/**
 * Copies each `source:target[:mode]` volume whose source is under the host's /sys from `hostSys` (a tree
 * playing /sys) to `containerRoot`+target, symlinks verbatim, as a bind mount shows them: a relative link
 * then resolves inside the container the way the kernel's would.
 */
export function emulateSysMounts(volumes: readonly string[], hostSys: string, containerRoot: string): void {
  for (const v of volumes) {
    const [source = '', target = ''] = v.split(':');
    if (source !== '/sys' && !source.startsWith('/sys/')) continue;
    const from = join(hostSys, source.slice('/sys'.length));
    if (!existsSync(from)) continue;
    cpSync(from, join(containerRoot, target), { recursive: true, verbatimSymlinks: true });
  }
}

/** The zones a PowercapSource finds at `path`, by socket, or the name of the error that stops it. */
export async function zonesAt(path: string): Promise<string> {
  const source = new PowercapSource({ powercapPath: path, logger: silentLogger() });
  try {
    await source.start();
    const reading = await source.read({ cpuBusyFraction: 0, intervalNs: 1_000_000_000n, cpuCount: 1 });
    return reading.sockets.map((sk) => `socket ${sk.id}: ${sk.domains.map((d) => d.name).join(',')}`).join('; ');
  } catch (err) {
    return (err as Error).constructor.name;
  } finally {
    await source.close();
  }
}

/** What zonesAt gives for the server2s fixture when the links resolve. */
export const SERVER2S_ZONES = 'socket 0: core,uncore,dram; socket 1: core,uncore,dram';
