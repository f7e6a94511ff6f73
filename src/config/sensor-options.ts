import { MAX_SECONDS, MAX_WATTS_PER_CPU, wattsPerCpu } from '../exporters/parse.js';
import { ATTRIBUTION_MODELS } from '../sensors/attribution.js';
import { hwmonChannelFlag, hwmonChannelProblem, redfishIntervalFlag, redfishIntervalProblem, redfishUrlFlag } from '../sensors/platform-flags.js';
import { redfishUrlProblem } from '../sensors/redfish/settings.js';
import { DEFAULT_HWMON_PATH, DEFAULT_POWERCAP_PATH, DEFAULT_REDFISH_INTERVAL_MS, SENSOR_KINDS, VM_POWERCAP_PATH } from '../sensors/settings.js';
import { choiceOption, fileKey, fileText, repeatableOption, switchOption, textOption, valueOption, type FileKeyDecl, type SwitchDecl, type ValueDecl } from './declared-options.js';
import { durationMs, show } from './values.js';

/**
 * The sensor's options, declared once: global flags on the command line (given before the exporter), and
 * the keys of a run config's [sensor] table (the file wins where it speaks: agent/sensor.ts). A path given
 * in a file is relative to the file's directory.
 */
export const SENSOR_OPTIONS = {
  kind: choiceOption(
    '-s, --sensor <sensor>',
    'where power comes from: RAPL counters, a CPU-load estimate, auto (RAPL when readable, else the estimate, warned about and marked by scaph_sensor_fallback), ' +
      'or a platform meter for host power: hwmon (the ACPI power meter, or --hwmon-channel) or redfish (the BMC), with RAPL beside it for sockets when readable',
    SENSOR_KINDS,
    { default: 'auto' },
  ),
  vm: switchOption('--vm', `run inside a VM: read the tree a hypervisor's "scaph qemu" writes (default ${VM_POWERCAP_PATH})`, { showDefault: true }),
  powercapPath: textOption('--powercap-path <dir>', `powercap tree to read (default ${DEFAULT_POWERCAP_PATH}, ${VM_POWERCAP_PATH} with --vm, or $SCAPHANDRE_POWERCAP_PATH)`, {
    role: 'path',
  }),
  procfsPath: textOption('--procfs-path <dir>', 'procfs to read processes from (and, with --containers, their cgroups)', { role: 'path', default: '/proc' }),
  attribution: choiceOption(
    '--attribution <model>',
    "what a process's share of the busy CPU time is applied to: host power (Scaphandre's model) or active power (host x busy fraction; idle power stays out of processes)",
    ATTRIBUTION_MODELS,
    { default: 'host' },
  ),
  reapedChildren: switchOption('--no-reaped-children', 'do not give the CPU time of children a process waited for (cutime, cstime) to that process'),
  cgroupfsPath: textOption('--cgroupfs-path <dir>', 'with --containers: cgroup v2 mount whose cpu.stat gives container/pod/unit power (default: detected under /sys/fs/cgroup)', {
    role: 'path',
  }),
  estimateIdleWattsPerCpu: valueOption('--estimate-idle-watts-per-cpu <watts>', 'estimate sensor: watts per logical CPU when idle (default 0.74)', wattsPerCpu('--estimate-idle-watts-per-cpu'), {
    unit: 'watts per CPU',
    readFile: fileWattsPerCpu,
  }),
  estimateMaxWattsPerCpu: valueOption('--estimate-max-watts-per-cpu <watts>', 'estimate sensor: watts per logical CPU at 100 % (default 3.5)', wattsPerCpu('--estimate-max-watts-per-cpu'), {
    unit: 'watts per CPU',
    readFile: fileWattsPerCpu,
  }),
  hwmonPath: textOption('--hwmon-path <dir>', "--sensor hwmon: the hwmon class directory (in a container: the host's, e.g. /host/sys/class/hwmon)", {
    role: 'path',
    default: DEFAULT_HWMON_PATH,
  }),
  hwmonChannels: repeatableOption(
    '--hwmon-channel <device/channel>',
    '--sensor hwmon: a channel to add to host power instead of the ACPI power meter, as <device>/<channel>: device by name or hwmonN, channel powerN, energyN or an attribute (power1_input); repeatable, summed',
    hwmonChannelFlag,
    { readFile: fileHwmonChannels },
  ),
  redfishUrl: valueOption('--redfish-url <url>', "--sensor redfish: the BMC's address, https://<bmc>", redfishUrlFlag, { readFile: fileRedfishUrl }),
  redfishUser: textOption('--redfish-user <name>', '--sensor redfish: the BMC user (read-only rights are enough)'),
  redfishPasswordFile: textOption('--redfish-password-file <file>', '--sensor redfish: file holding the BMC password (default: $SCAPH_REDFISH_PASSWORD)', { role: 'input-file' }),
  redfishCa: textOption('--redfish-ca <file>', "--sensor redfish: PEM CA certificate to check the BMC's certificate against (default: the system's CAs)", { role: 'input-file' }),
  redfishInsecure: switchOption('--redfish-insecure', "--sensor redfish: do not check the BMC's certificate (a self-signed one you have not saved)", { showDefault: true }),
  redfishChassis: textOption('--redfish-chassis <id>', '--sensor redfish: the chassis to read, by Id (default: the first chassis that reports power)'),
  redfishIntervalMs: valueOption(
    '--redfish-interval <seconds>',
    `--sensor redfish: ask the BMC every this many seconds, at least 1 (default ${DEFAULT_REDFISH_INTERVAL_MS / 1000}; slower when its sensor says it refreshes less often); a reading older than two intervals is not published`,
    redfishIntervalFlag,
    { unit: 'seconds', readFile: fileRedfishIntervalMs },
  ),
};

/** [sensor] step: how often the sensor samples (a file-only key: on the command line, each exporter's step). */
export const SENSOR_STEP = fileKey('number', sensorStepMs, { unit: 'seconds', role: 'step' });

/**
 * The keys of [sensor], in the order messages list them: each the global option it stands for, or step.
 * Every key of SENSOR_OPTIONS is here (a test checks).
 */
export const SENSOR_TABLE: Readonly<Record<string, SwitchDecl | ValueDecl<unknown> | FileKeyDecl<number>>> = {
  kind: SENSOR_OPTIONS.kind,
  powercap_path: SENSOR_OPTIONS.powercapPath,
  procfs_path: SENSOR_OPTIONS.procfsPath,
  cgroupfs_path: SENSOR_OPTIONS.cgroupfsPath,
  attribution: SENSOR_OPTIONS.attribution,
  reaped_children: SENSOR_OPTIONS.reapedChildren,
  vm: SENSOR_OPTIONS.vm,
  step: SENSOR_STEP,
  estimate_idle_watts_per_cpu: SENSOR_OPTIONS.estimateIdleWattsPerCpu,
  estimate_max_watts_per_cpu: SENSOR_OPTIONS.estimateMaxWattsPerCpu,
  hwmon_path: SENSOR_OPTIONS.hwmonPath,
  hwmon_channel: SENSOR_OPTIONS.hwmonChannels,
  redfish_url: SENSOR_OPTIONS.redfishUrl,
  redfish_user: SENSOR_OPTIONS.redfishUser,
  redfish_password_file: SENSOR_OPTIONS.redfishPasswordFile,
  redfish_ca: SENSOR_OPTIONS.redfishCa,
  redfish_insecure: SENSOR_OPTIONS.redfishInsecure,
  redfish_chassis: SENSOR_OPTIONS.redfishChassis,
  redfish_interval: SENSOR_OPTIONS.redfishIntervalMs,
};

/** Watts per logical CPU of the estimate, as --estimate-*-watts-per-cpu takes them (above 0, at most MAX_WATTS_PER_CPU). */
function fileWattsPerCpu(value: unknown): number {
  if (typeof value === 'number' && value > 0 && value <= MAX_WATTS_PER_CPU) return value;
  throw new Error(`must be a number of watts per logical CPU above 0 and at most ${MAX_WATTS_PER_CPU}, got ${show(value)}`);
}

/** [sensor] step: a duration, at most what one timer waits (as every step flag). */
function sensorStepMs(value: unknown): number {
  const ms = durationMs(value);
  if (ms > MAX_SECONDS * 1000) throw new Error(`must be at most ${MAX_SECONDS} seconds (about 24.8 days), got ${show(value)}`);
  return ms;
}

/** hwmon_channel: one `<device>/<channel>` or a list of them (a list repeats --hwmon-channel). */
function fileHwmonChannels(value: unknown): string[] {
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const channels = items.filter((i): i is string => typeof i === 'string' && i !== '');
  if (channels.length !== items.length) throw new Error(`must be a string or a list of strings, got ${show(value)}`);
  for (const channel of channels) {
    const problem = hwmonChannelProblem(channel);
    if (problem !== null) throw new Error(problem);
  }
  return channels;
}

function fileRedfishUrl(value: unknown): string {
  const url = fileText(value);
  const problem = redfishUrlProblem(url);
  if (problem !== null) throw new Error(problem);
  return url;
}

/** redfish_interval: a duration (seconds, or "30s"), as ms. */
function fileRedfishIntervalMs(value: unknown): number {
  const ms = durationMs(value);
  const problem = redfishIntervalProblem(ms);
  if (problem !== null) throw new Error(problem);
  return ms;
}
