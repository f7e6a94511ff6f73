import { existsSync } from 'node:fs';
import type { Logger } from '../core/log.js';
import { detectCgroupfsRoot } from './containers/group-power.js';
import type { Sensor } from '../core/sensor.js';
import { EstimateSource } from './estimate.js';
import { MachineSensor, type ContainerLookup } from './machine-sensor.js';
import { FallbackSource } from './fallback.js';
import { inspectPowercap, PowercapMissingError, PowercapSource } from './powercap/source.js';
import { ScaphError, UsageError } from '../core/errors.js';
import type { PowerSource } from './power-source.js';
import { HwmonSource } from './hwmon/source.js';
import { PlatformWithRapl } from './platform.js';
import { RedfishSource } from './redfish/source.js';
import { redfishSourceOptions } from './redfish/settings.js';
import type { SensorSettings } from './settings.js';

/** The settings, and what the exporters need of the sensor. */
export interface SensorOptions extends SensorSettings {
  readonly hostname: string;
  readonly qemu: boolean;
  readonly containers: ContainerLookup | null;
}

/**
 * Chooses the power source. `auto`: powercap when a readable tree exists, else the estimate marked as a
 * fallback (fallback.ts: why, on every reading; what to do, in the logs). `hwmon`, `redfish`: that platform
 * meter for host power, with RAPL beside it for sockets and domains when readable (platform.ts). `auto`
 * never picks a platform meter by itself: the same machine's host power would mean the wall's or the CPUs'
 * depending on what was readable at start (docs/platform-power.md).
 */
export async function createPowerSource(o: SensorOptions, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<PowerSource> {
  const powercap = (): PowerSource => new PowercapSource({ powercapPath: o.powercapPath, logger });
  if (o.kind === 'hwmon') return withRapl(new HwmonSource({ hwmonPath: o.hwmonPath, channels: o.hwmonChannels, logger }), o.powercapPath, logger);
  if (o.kind === 'redfish') return withRapl(new RedfishSource(await redfishSourceOptions(o, env, logger)), o.powercapPath, logger);
  const estimate = (): PowerSource =>
    new EstimateSource({ idleWattsPerCpu: o.estimateIdleWattsPerCpu, maxWattsPerCpu: o.estimateMaxWattsPerCpu });
  if (o.kind === 'powercap_rapl') return powercap();
  if (o.kind === 'estimate') return estimate();
  const probe = await inspectPowercap(o.powercapPath);
  if (probe.status === 'ok') return powercap();
  return new FallbackSource(estimate(), {
    reason: probe.status === 'permission' ? 'rapl_unreadable' : 'rapl_missing',
    powercapPath: o.powercapPath,
    ...(probe.status === 'permission' ? { deniedFile: probe.file } : {}),
    logger,
  });
}

/** A platform meter, with RAPL beside it when this user can read it (sockets and domains); said either way. */
async function withRapl(platform: PowerSource, powercapPath: string, logger: Logger): Promise<PowerSource> {
  const probe = await inspectPowercap(powercapPath);
  if (probe.status === 'ok') return new PlatformWithRapl(platform, new PowercapSource({ powercapPath, logger }), logger);
  logger.info(
    { powercapPath, rapl: probe.status, ...(probe.status === 'permission' ? { file: probe.file } : {}) },
    `no readable RAPL under ${powercapPath}: host power from the ${platform.kind} meter, no socket or RAPL domain figures`,
  );
  return new PlatformWithRapl(platform, null, logger);
}

export async function createSensor(o: SensorOptions, logger: Logger): Promise<Sensor> {
  const powerSource = await createPowerSource(o, logger);
  const sensor = new MachineSensor({
    powerSource,
    procfsPath: o.procfsPath,
    hostname: o.hostname,
    logger,
    qemu: o.qemu,
    attribution: o.attribution,
    reapedChildren: o.reapedChildren,
    ...(o.containers ? { containers: o.containers, cgroupfsRoot: cgroupfsRoot(o.cgroupfsPath) } : {}),
  });
  try {
    await sensor.start();
  } catch (err) {
    if (o.vm && err instanceof PowercapMissingError) throw new VmTreeMissingError(o.powercapPath);
    throw err;
  }
  return sensor;
}

/**
 * The cgroup2 mount under --cgroupfs-path (or its `unified` child on a hybrid host); default /sys/fs/cgroup,
 * where its absence means a cgroup v1 machine. A path the user gave that holds none is a usage error.
 */
function cgroupfsRoot(path: string | undefined): string | null {
  const root = detectCgroupfsRoot(path ?? DEFAULT_CGROUPFS, existsSync);
  if (root === null && path !== undefined) {
    throw new UsageError(
      `--cgroupfs-path (cgroupfs_path) ${path} is not a cgroup v2 mount: no cgroup.controllers in it or in its "unified" ` +
        `directory. Give the host's cgroup2 mount (usually /sys/fs/cgroup; in a container, the host's mounted read-only).`,
    );
  }
  return root;
}

const DEFAULT_CGROUPFS = '/sys/fs/cgroup';

/** --vm without the hypervisor's tree: the physical-machine advice (modprobe) would mislead. */
export class VmTreeMissingError extends ScaphError {
  constructor(path: string) {
    super(
      `No VM power tree under ${path}. With --vm, scaph reads the tree that \`scaph qemu\` writes on the ` +
        `hypervisor (default /var/lib/libvirt/scaphandre/<vm name>): share that directory with this guest ` +
        `(virtiofs or 9p) and mount it on ${path}, or pass --powercap-path. Without a hypervisor running ` +
        `scaph, use --sensor estimate instead of --vm.`,
    );
  }
}
