import { MAX_SECONDS, MAX_WATTS_PER_CPU, wattsPerCpu } from '../exporters/parse.js';
import { ATTRIBUTION_MODELS } from '../sensors/attribution.js';
import { DEFAULT_POWERCAP_PATH, SENSOR_KINDS, VM_POWERCAP_PATH } from '../sensors/settings.js';
import { choiceOption, fileKey, switchOption, textOption, valueOption, type FileKeyDecl, type SwitchDecl, type ValueDecl } from './declared-options.js';
import { durationMs, show } from './values.js';

/**
 * The sensor's options, declared once: global flags on the command line (given before the exporter), and
 * the keys of a run config's [sensor] table (the file wins where it speaks: agent/sensor.ts). A path given
 * in a file is relative to the file's directory.
 */
export const SENSOR_OPTIONS = {
  kind: choiceOption(
    '-s, --sensor <sensor>',
    'where power comes from: RAPL counters, a CPU-load estimate, or auto (RAPL when readable, else the estimate, warned about and marked by scaph_sensor_fallback)',
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
