import type { AttributionModel } from '../core/sample.js';

export type SensorKind = 'powercap_rapl' | 'estimate' | 'auto';
export const SENSOR_KINDS: readonly SensorKind[] = ['powercap_rapl', 'estimate', 'auto'];

/** Where a physical host's powercap tree is. */
export const DEFAULT_POWERCAP_PATH = '/sys/class/powercap';
/** Where a guest reads the tree its hypervisor's `scaph qemu` writes (`--vm`). */
export const VM_POWERCAP_PATH = '/var/scaphandre';

/**
 * How the sensor reads: the one shape of the sensor settings. The global flags give one; a run config's
 * [sensor] table gives part of one (Partial<SensorSettings>), which wins where it speaks.
 */
export interface SensorSettings {
  readonly kind: SensorKind;
  /** --vm: the tree is the one a hypervisor's `scaph qemu` writes for this guest. */
  readonly vm: boolean;
  readonly powercapPath: string;
  readonly procfsPath: string;
  /** cgroup2 mount (used with containers); undefined = detect under /sys/fs/cgroup. */
  readonly cgroupfsPath: string | undefined;
  readonly attribution: AttributionModel;
  readonly reapedChildren: boolean;
  readonly estimateIdleWattsPerCpu: number | undefined;
  readonly estimateMaxWattsPerCpu: number | undefined;
}
