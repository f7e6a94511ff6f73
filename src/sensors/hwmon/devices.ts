/**
 * hwmon devices and their power and energy channels, as the kernel lays them out under /sys/class/hwmon
 * (Documentation/hwmon/sysfs-interface.rst): one `hwmonN` directory per device, a symlink into /sys/devices,
 * holding `name` (the driver's name: `power_meter` for the ACPI power meter, Documentation/hwmon/
 * acpi_power_meter.rst) and one file per attribute: `power<N>_average` and `power<N>_input` in µW,
 * `power<N>_average_interval` in ms, `energy<N>_input` in µJ, `<channel>_label` naming a channel (the ACPI
 * meter names its own with `power1_oem_info`). Drivers written before the hwmon core moved the attributes
 * keep them in the parent device's directory (`hwmonN/device/`): looked for there when the device's own
 * directory has none. Every file is read bounded (a FIFO, a device node or a hung file never blocks).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileWithin } from '../../core/bounded-fs.js';

/** The driver name of the ACPI power meter (drivers/hwmon/acpi_power_meter.c). */
export const POWER_METER_NAME = 'power_meter';

export type ChannelKind = 'power' | 'energy';

export interface HwmonChannel {
  /** `power1`, `energy2`: the attribute prefix. */
  readonly id: string;
  readonly kind: ChannelKind;
  /** The file read: `power1_average`, `power1_input` or `energy1_input`. */
  readonly attribute: string;
  /** Its absolute path (through the class symlink, as users see it). */
  readonly file: string;
  /** `<id>_label` (or the ACPI meter's `<id>_oem_info`), when the driver gives one. */
  readonly label: string | null;
  /** `<id>_average_interval`, ms, for an average: the window the driver averages over. */
  readonly averageIntervalMs: number | null;
}

export interface HwmonDevice {
  /** The class entry: `hwmon3`. */
  readonly id: string;
  /** The `name` file; `?` when it is missing or unreadable. */
  readonly name: string;
  /** Where its attributes are: the entry, or its `device/` directory (older drivers). */
  readonly dir: string;
  readonly channels: readonly HwmonChannel[];
}

/** A hostile or broken tree cannot make discovery read more than this many devices. */
const MAX_DEVICES = 256;
const SMALL_FILE_TIMEOUT_MS = 1000;
/** `name`, labels and intervals are a few bytes; sysfs serves at most a page. */
const SMALL_FILE_MAX_BYTES = 4096;
const CHANNEL_FILE = /^(power|energy)(\d+)_(average|input)$/;
const DIGITS = /^\d+$/;

/** The devices under `root`, by number (hwmon2 before hwmon10); null when `root` cannot be listed. */
export async function discoverHwmon(root: string): Promise<HwmonDevice[] | null> {
  const entries = await listDir(root);
  if (entries === null) return null;
  const ids = entries.filter((e) => !e.startsWith('.')).sort(byNumber).slice(0, MAX_DEVICES);
  return Promise.all(ids.map((id) => describeDevice(root, id)));
}

async function describeDevice(root: string, id: string): Promise<HwmonDevice> {
  const entry = join(root, id);
  const name = (await readSmall(join(entry, 'name'))) ?? (await readSmall(join(entry, 'device', 'name'))) ?? '?';
  let dir = entry;
  let files = channelFiles(await listDir(entry));
  if (files.length === 0) {
    const legacy = join(entry, 'device');
    const inDevice = channelFiles(await listDir(legacy));
    if (inDevice.length > 0) {
      dir = legacy;
      files = inDevice;
    }
  }
  return { id, name, dir, channels: await channelsOf(dir, files, name) };
}

/** One channel per id: an average where the driver has one (smoother, and what the ACPI meter gives), else the input. */
async function channelsOf(dir: string, files: readonly string[], deviceName: string): Promise<HwmonChannel[]> {
  const byId = new Map<string, string>();
  for (const f of files) {
    const m = CHANNEL_FILE.exec(f);
    if (!m) continue;
    const id = `${m[1]}${m[2]}`;
    const current = byId.get(id);
    if (current === undefined || (m[3] === 'average' && m[1] === 'power')) byId.set(id, f);
  }
  const ids = [...byId.keys()].sort(byNumber);
  return Promise.all(ids.map((id) => channel(dir, id, byId.get(id) as string, deviceName)));
}

async function channel(dir: string, id: string, attribute: string, deviceName: string): Promise<HwmonChannel> {
  const kind: ChannelKind = id.startsWith('energy') ? 'energy' : 'power';
  const label = (await readSmall(join(dir, `${id}_label`))) ?? (deviceName === POWER_METER_NAME ? await readSmall(join(dir, `${id}_oem_info`)) : null);
  const interval = attribute.endsWith('_average') ? await readSmall(join(dir, `${id}_average_interval`)) : null;
  return {
    id,
    kind,
    attribute,
    file: join(dir, attribute),
    label: label === '' ? null : label,
    averageIntervalMs: interval !== null && DIGITS.test(interval) && Number(interval) > 0 ? Number(interval) : null,
  };
}

/** The channel file named `attribute` on `device` (`power1_input` when the chosen one is the average). */
export function channelByAttribute(device: HwmonDevice, attribute: string): HwmonChannel {
  const m = CHANNEL_FILE.exec(attribute);
  const id = m ? `${m[1]}${m[2]}` : attribute;
  const found = device.channels.find((c) => c.id === id);
  return {
    id,
    kind: id.startsWith('energy') ? 'energy' : 'power',
    attribute,
    file: join(device.dir, attribute),
    label: found?.label ?? null,
    averageIntervalMs: attribute === found?.attribute ? found.averageIntervalMs : null,
  };
}

function channelFiles(entries: readonly string[] | null): string[] {
  return (entries ?? []).filter((e) => CHANNEL_FILE.test(e));
}

/** `hwmon3 power_meter: power1 (power1_average, averaged over 1000 ms, "Module Power Socket 0")`, for logs, errors and --check. */
export function describe(device: HwmonDevice): string {
  const channels = device.channels.map((c) => {
    const notes = [c.attribute, c.averageIntervalMs === null ? null : `averaged over ${c.averageIntervalMs} ms`, c.label === null ? null : JSON.stringify(c.label)];
    return `${c.id} (${notes.filter((n) => n !== null).join(', ')})`;
  });
  return `${device.id} ${device.name}: ${channels.length === 0 ? 'no power or energy channel' : channels.join(', ')}`;
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch {
    return null;
  }
}

/** A small attribute file, trimmed; null when missing, not a regular file, stuck, or not text. */
async function readSmall(file: string): Promise<string | null> {
  try {
    return (await readFileWithin(file, { timeoutMs: SMALL_FILE_TIMEOUT_MS, maxBytes: SMALL_FILE_MAX_BYTES })).toString('latin1').trim();
  } catch {
    return null;
  }
}

/** Natural order of names ending in a number: hwmon2 before hwmon10, power2 before power10. */
function byNumber(a: string, b: string): number {
  const na = /(\d+)$/.exec(a);
  const nb = /(\d+)$/.exec(b);
  const prefixA = na ? a.slice(0, na.index) : a;
  const prefixB = nb ? b.slice(0, nb.index) : b;
  if (prefixA !== prefixB) return prefixA < prefixB ? -1 : 1;
  return Number(na?.[1] ?? -1) - Number(nb?.[1] ?? -1);
}
