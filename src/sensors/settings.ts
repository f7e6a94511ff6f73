import type { AttributionModel } from '../core/sample.js';

export type SensorKind = 'powercap_rapl' | 'estimate' | 'auto' | 'hwmon' | 'redfish';
export const SENSOR_KINDS: readonly SensorKind[] = ['powercap_rapl', 'estimate', 'auto', 'hwmon', 'redfish'];

/** Where a physical host's powercap tree is. */
export const DEFAULT_POWERCAP_PATH = '/sys/class/powercap';
/** Where a guest reads the tree its hypervisor's `scaph qemu` writes (`--vm`). */
export const VM_POWERCAP_PATH = '/var/scaphandre';
/** Where the kernel lists hwmon devices (`--sensor hwmon`). */
export const DEFAULT_HWMON_PATH = '/sys/class/hwmon';
/** How often the BMC is asked for its power reading (`--sensor redfish`), ms. */
export const DEFAULT_REDFISH_INTERVAL_MS = 10_000;
/** The BMC is never asked more often than this, ms: BMCs refresh their readings every few seconds at best. */
export const MIN_REDFISH_INTERVAL_MS = 1000;

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
  /** --sensor hwmon: the hwmon class directory. */
  readonly hwmonPath: string;
  /** --hwmon-channel `<device>/<channel>` (summed); empty: the ACPI power meter. */
  readonly hwmonChannels: readonly string[];
  /** --sensor redfish: the BMC's base URL (https://bmc). */
  readonly redfishUrl: string | undefined;
  readonly redfishUser: string | undefined;
  /** File holding the BMC password; undefined: $SCAPH_REDFISH_PASSWORD. */
  readonly redfishPasswordFile: string | undefined;
  /** CA certificate(s) the BMC's certificate is checked against (default: the system's). */
  readonly redfishCa: string | undefined;
  /** Do not check the BMC's certificate. */
  readonly redfishInsecure: boolean;
  /** Chassis Id (or path) to read; undefined: the first chassis that reports power. */
  readonly redfishChassis: string | undefined;
  readonly redfishIntervalMs: number;
}
