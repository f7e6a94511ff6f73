/**
 * The qemu exporter: for every VM running on this host, keeps a powercap-compatible tree that the
 * guest can mount (virtiofs, 9p) and read with `scaph --vm` as if it were its own RAPL:
 *
 *   <path>/<vm>/intel-rapl:0/{name = "package-0", energy_uj, max_energy_range_uj}
 *   <path>/<vm>/intel-rapl:0:0/{name = "core", energy_uj}
 *
 * energy_uj grows by the energy attributed to the VM's processes over each interval: Σ powerUw ×
 * intervalMs / 1000 (µJ). Scaphandre adds the attributed *power* (µW) to the counter at every step as
 * if it were energy, so its counters run intervalS times too slow (5× at the default 5 s step).
 * The whole VM energy goes to both zones: CPU-time attribution cannot split package from core.
 *
 * Every file is written to a temp file in the same directory and renamed over the old one, so a guest
 * never reads a torn or empty value. A reader that keeps energy_uj open must reopen it to see updates.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirsSync } from '../../core/bounded-fs.js';
import { ScaphError } from '../../core/errors.js';
import type { Exporter } from '../../core/exporter.js';
import type { Logger } from '../../core/log.js';
import type { Sample } from '../../core/sample.js';

/**
 * The counters wrap to 0 after this value, like RAPL's. 2^50 - 1 µJ ≈ 1.13 GJ: 13 days at 1 kW
 * before a wrap, so a guest sampling every few seconds (or even hours) sees at most one wrap between
 * two reads; and every value stays far below 2^53, where the fractional µJ we carry are still exact
 * enough (resolution 1/8 µJ near the top of the range).
 */
export const VM_MAX_ENERGY_RANGE_UJ = 2 ** 50 - 1;

export interface QemuExporterOptions {
  /** Directory holding one tree per VM (`--path`, default /var/lib/libvirt/scaphandre). */
  readonly path: string;
  readonly logger: Logger;
}

/** The export directory cannot be created or written: says which flag or permission to fix. */
export class QemuExportPathError extends ScaphError {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    const hint =
      cause.code === 'EACCES' || cause.code === 'EPERM'
        ? 'run scaph as root or choose a writable directory with --path'
        : 'choose another directory with --path';
    super(`cannot write VM energy trees under ${path} (${cause.code ?? cause.message}): ${hint}`);
  }
}

interface VmCounter {
  readonly dir: string;
  /** Counter value, µJ, kept in [0, VM_MAX_ENERGY_RANGE_UJ] with its fractional part (before the tree exists: energy since first seen). */
  counterUj: number;
  /** Directory and constant files written. */
  created: boolean;
  /** The last write failed (logged once until it recovers). */
  failing: boolean;
  /** An earlier run's counter has been looked for (only at the first creation in this run). */
  resumed: boolean;
}

export class QemuExporter implements Exporter {
  readonly name = 'qemu';
  private readonly options: QemuExporterOptions;
  private readonly vms = new Map<string, VmCounter>();
  private flushing: Promise<void> | null = null;
  private dirty = false;
  /** Steps whose trees were written (for tests). */
  writes = 0;

  constructor(options: QemuExporterOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    try {
      mkdirsSync(this.options.path, 0o755);
    } catch (err) {
      throw new QemuExportPathError(this.options.path, err as NodeJS.ErrnoException);
    }
  }

  export(sample: Sample): void {
    for (const [vm, powerUw] of vmPowers(sample)) {
      const counter = this.counterFor(vm);
      if (!counter) continue;
      const energyUj = (powerUw * sample.intervalMs) / 1000;
      counter.counterUj = (counter.counterUj + energyUj) % (VM_MAX_ENERGY_RANGE_UJ + 1);
    }
    this.scheduleFlush();
  }

  /** Resolves once every counter update so far is on disk. */
  async flushed(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async stop(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadlineMs));
      timer.unref();
    });
    await Promise.race([this.flushed(), deadline]);
    clearTimeout(timer);
  }

  /** Energy counter (µJ, floored) a VM's tree shows now; null for a VM never seen. */
  counterUj(vm: string): number | null {
    const c = this.vms.get(safeDirName(vm) ?? '');
    return c ? Math.floor(c.counterUj) : null;
  }

  private counterFor(vm: string): VmCounter | null {
    const dirName = safeDirName(vm);
    if (dirName === null) {
      this.options.logger.warn({ vm }, 'VM name cannot be a directory name; not exported');
      return null;
    }
    let c = this.vms.get(dirName);
    if (!c) {
      c = { dir: join(this.options.path, dirName), counterUj: 0, created: false, failing: false, resumed: false };
      this.vms.set(dirName, c);
    }
    return c;
  }

  /** One flush at a time; updates arriving meanwhile are written by a follow-up flush (latest wins). */
  private scheduleFlush(): void {
    if (this.flushing) {
      this.dirty = true;
      return;
    }
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
    });
  }

  private async flushLoop(): Promise<void> {
    do {
      this.dirty = false;
      for (const [name, c] of this.vms) {
        try {
          await this.writeVm(c);
          if (c.failing) this.options.logger.info({ vm: name }, 'writing the VM energy tree works again');
          c.failing = false;
        } catch (err) {
          // Someone removed the tree: build it again next step (from the counter we hold).
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') c.created = false;
          if (!c.failing) this.options.logger.error({ vm: name, err: (err as Error).message }, 'writing the VM energy tree failed; retrying every step');
          c.failing = true;
        }
      }
      this.writes += 1;
    } while (this.dirty);
  }

  private async writeVm(c: VmCounter): Promise<void> {
    if (!c.created) await this.createTree(c);
    const value = `${Math.floor(c.counterUj)}\n`;
    await atomicWrite(join(c.dir, 'intel-rapl:0', 'energy_uj'), value);
    await atomicWrite(join(c.dir, 'intel-rapl:0:0', 'energy_uj'), value);
  }

  /**
   * First write for a VM: the zone files, and the counter's starting point. A tree left by an earlier
   * run is continued from its value: restarting at 0 would look like a wrap to the guest and add almost
   * a whole range of phantom energy.
   */
  private async createTree(c: VmCounter): Promise<void> {
    const pkg = join(c.dir, 'intel-rapl:0');
    const core = join(c.dir, 'intel-rapl:0:0');
    mkdirsSync(pkg, 0o755);
    mkdirsSync(core, 0o755);
    if (!c.resumed) {
      // Until now counterUj held the energy added since this run first saw the VM.
      c.counterUj = ((await previousCounterUj(join(pkg, 'energy_uj'))) + c.counterUj) % (VM_MAX_ENERGY_RANGE_UJ + 1);
      c.resumed = true;
    }
    await atomicWrite(join(pkg, 'name'), 'package-0\n');
    await atomicWrite(join(pkg, 'max_energy_range_uj'), `${VM_MAX_ENERGY_RANGE_UJ}\n`);
    await atomicWrite(join(core, 'name'), 'core\n');
    c.created = true;
  }
}

/** Attributed power per VM name, summed over all of a VM's processes (qemu runs one per VM, but not always). */
export function vmPowers(sample: Sample): Map<string, number> {
  const powers = new Map<string, number>();
  for (const p of sample.processes) {
    if (p.vmName === null) continue;
    powers.set(p.vmName, (powers.get(p.vmName) ?? 0) + p.powerUw);
  }
  return powers;
}

/** A VM name usable as one directory name: no slash, no NUL, not "." or "..". */
export function safeDirName(vm: string): string | null {
  if (vm === '' || vm === '.' || vm === '..' || vm.includes('/') || vm.includes('\0')) return null;
  return vm;
}

const DIGITS = /^\d+$/;

async function previousCounterUj(path: string): Promise<number> {
  try {
    const text = (await readFile(path, 'latin1')).trim();
    const v = Number(text);
    return DIGITS.test(text) && v <= VM_MAX_ENERGY_RANGE_UJ ? v : 0;
  } catch {
    return 0;
  }
}

/** Writes a temp file next to the target and renames it over: readers see the old or the new content. */
async function atomicWrite(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, path);
}
