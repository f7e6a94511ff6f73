import { ScaphError } from '../../core/errors.js';
import { describe, POWER_METER_NAME, type HwmonDevice } from './devices.js';

/** What to do when no meter is found: how to look, and the other sources. */
const LOOK =
  'List the devices with `grep . /sys/class/hwmon/*/name` and their channels with `ls /sys/class/hwmon/hwmon*/`; ' +
  'name power or energy channels with --hwmon-channel <device>/<channel> (repeatable, summed), read the BMC with ' +
  '--sensor redfish, or use --sensor auto (RAPL, else the CPU-load estimate). See docs/platform-power.md';

/** The found devices, one per line, for a message. */
function found(devices: readonly HwmonDevice[]): string {
  return devices.length === 0 ? 'no device' : devices.map((d) => `\n  ${describe(d)}`).join('');
}

/** The hwmon class directory is absent or cannot be listed. */
export class HwmonMissingError extends ScaphError {
  constructor(hwmonPath: string) {
    super(
      `No hwmon directory at ${hwmonPath} (it does not exist or cannot be listed). The kernel lists hwmon devices in ` +
        '/sys/class/hwmon; in a container, mount the host\'s /sys read-only and pass --hwmon-path /host/sys/class/hwmon. ' +
        'On a server, the ACPI power meter needs the acpi_power_meter module (`sudo modprobe acpi_power_meter`). ' +
        LOOK,
    );
  }
}

/** No channel named, and no single ACPI power meter that can measure. */
export class HwmonNoMeterError extends ScaphError {
  constructor(hwmonPath: string, devices: readonly HwmonDevice[], why: string) {
    super(`No usable hwmon power meter under ${hwmonPath}: ${why}. Found: ${found(devices)}\n${LOOK}`);
  }

  static none(hwmonPath: string, devices: readonly HwmonDevice[]): HwmonNoMeterError {
    const meters = devices.filter((d) => d.name === POWER_METER_NAME);
    const why =
      meters.length === 0
        ? `no ACPI power meter (a device named ${POWER_METER_NAME}; load it with \`sudo modprobe acpi_power_meter\` where the firmware has one)`
        : `the ACPI power meter (${meters.map((m) => m.id).join(', ')}) has no power1_average: the firmware's meter cannot measure`;
    return new HwmonNoMeterError(hwmonPath, devices, why);
  }

  static several(hwmonPath: string, devices: readonly HwmonDevice[], meters: readonly HwmonDevice[]): HwmonNoMeterError {
    const ids = meters.map((m) => m.id).join(', ');
    return new HwmonNoMeterError(
      hwmonPath,
      devices,
      `${meters.length} ACPI power meters (${ids}): they may nest (a module and the CPU inside it), so scaph does not add them up ` +
        `by itself. Name the ones that cover the machine once, e.g. --hwmon-channel ${meters[0]?.id ?? 'hwmon0'}/power1 (repeatable, summed)`,
    );
  }
}

/** A --hwmon-channel that names no device or channel, or a device name several devices carry. */
export class HwmonChannelError extends ScaphError {
  constructor(hwmonPath: string, selector: string, why: string, devices: readonly HwmonDevice[]) {
    super(`--hwmon-channel ${selector}: ${why} under ${hwmonPath}. Found: ${found(devices)}\nName a device by its name or its hwmonN entry, and one of its channels (power1, energy1, power1_input, ...)`);
  }
}

/** The chosen channels could not be read at start (denied, not numbers, not regular files, gone). */
export class HwmonUnreadableError extends ScaphError {
  constructor(problems: readonly string[], denied: boolean) {
    super(
      `Cannot read the hwmon channels: ${problems.join('; ')}. ` +
        (denied
          ? 'hwmon attributes are usually readable by every user, but some drivers make energy counters root-only: run scaph as ' +
            'root, or give its group read access with a udev rule (docs/platform-power.md, "Permissions")'
          : 'Check the files with `cat`; a channel must hold a plain non-negative number (µW for power, µJ for energy)'),
    );
  }
}
