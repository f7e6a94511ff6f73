import { freezeSample, type ProcessSample, type Sample } from '../../../src/core/sample.js';

/** Process names that break naive GTS encoders: spaces, commas, braces, `=`, `%`, `+`, unicode, newlines. */
export const NASTY_NAMES: readonly string[] = [
  'my app',
  'a,b',
  'x{y}z',
  'k=v',
  '100%',
  '%zz',
  'a+b',
  'café ☕ 電力',
  'line1\nline2',
  "quote'\"#",
];

export function makeProcess(pid: number, exe: string, overrides: Partial<ProcessSample> = {}): ProcessSample {
  return {
    pid,
    starttime: 1000 + pid,
    exe,
    exePath: `/usr/bin/${exe}`,
    comm: exe.slice(0, 15),
    cmdline: `${exe} --flag=${pid}`,
    cpuTicks: 10,
    childCpuTicks: 0,
    cpuShare: 0.1,
    cpuUsagePercent: 2.5,
    powerUw: 1_500_000 + pid,
    energyUj: 45_000_000 + pid,
    memoryBytes: 4096 * pid,
    virtualMemoryBytes: 8192 * pid,
    vmName: null,
    container: null,
    ...overrides,
  };
}

/** A whole-machine sample with one socket, two domains and the given processes. */
export function makeSample(timestampMs: number, processes: readonly ProcessSample[], hostPowerUw = 42_000_000): Sample {
  return freezeSample({
    timestampMs,
    intervalMs: 1000,
    host: {
      hostname: 'box',
      powerUw: hostPowerUw,
      energyUj: 9_000_000_000,
      activePowerUw: 30_000_000,
      idlePowerUw: hostPowerUw - 30_000_000,
      attribution: 'host',
      unattributedPowerUw: 0,
      unattributedEnergyUj: 0,
      cpuBusyFraction: 0.5,
      valueSource: 'powercap_rapl_pkg',
      psysEnergyUj: null,
      loadAvg: [1, 0.5, 0.25],
      memory: null,
    },
    sockets: [
      {
        id: 0,
        energyUj: 8_000_000_000,
        powerUw: 40_000_000,
        domains: [
          { name: 'core', id: 0, energyUj: 5_000_000_000, powerUw: 25_000_000 },
          { name: 'dram', id: 1, energyUj: 1_000_000_000, powerUw: 2_000_000 },
        ],
      },
    ],
    processes: [...processes],
    endedProcesses: [],
    groups: [],
    agentRssBytes: 50_000_000,
  });
}
