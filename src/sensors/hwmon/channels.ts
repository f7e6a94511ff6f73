/**
 * Which hwmon channels make host power: those the user names (`--hwmon-channel <device>/<channel>`, summed),
 * else the one ACPI power meter. A device is named by its `name` (what `cat /sys/class/hwmon/*\/name` shows)
 * or by its class entry (`hwmon3`), the way to pick one of several devices that share a name. Several
 * power meters are never added up unasked: on some machines they nest (NVIDIA Grace lists a module's meter
 * and the CPU's inside it).
 */
import type { ValueSource } from '../../core/sample.js';
import { channelByAttribute, POWER_METER_NAME, type HwmonChannel, type HwmonDevice } from './devices.js';
import { HwmonChannelError, HwmonNoMeterError } from './errors.js';

export interface ChannelSelector {
  /** A device name or a class entry (`hwmon3`). */
  readonly device: string;
  /** `power1`, `energy2`, or an attribute file (`power1_input`). */
  readonly channel: string;
}

const SELECTOR = /^([^/\s]+)\/((?:power|energy)\d+(?:_(?:average|input))?)$/;

/** What --hwmon-channel takes, for help texts and messages. */
export const CHANNEL_SELECTOR_FORM = '<device>/<channel> (device: its name or hwmonN; channel: powerN, energyN, powerN_input, ...)';

/** `grace/power1` → {device, channel}; null when it is not of that form. */
export function parseChannelSelector(text: string): ChannelSelector | null {
  const m = SELECTOR.exec(text.trim());
  return m ? { device: m[1] as string, channel: m[2] as string } : null;
}

export interface ChosenChannel extends HwmonChannel {
  readonly device: HwmonDevice;
}

export interface ChosenChannels {
  readonly channels: readonly ChosenChannel[];
  /** `hwmon_power_meter` when every channel is an ACPI power meter's, else `hwmon`. */
  readonly valueSource: ValueSource;
}

/** The channels host power is the sum of; throws HwmonNoMeterError or HwmonChannelError naming what was found. */
export function chooseChannels(hwmonPath: string, devices: readonly HwmonDevice[], selectors: readonly string[]): ChosenChannels {
  const channels = selectors.length === 0 ? [powerMeterChannel(hwmonPath, devices)] : named(hwmonPath, devices, selectors);
  const meters = channels.every((c) => c.device.name === POWER_METER_NAME);
  return { channels, valueSource: meters ? 'hwmon_power_meter' : 'hwmon' };
}

function powerMeterChannel(hwmonPath: string, devices: readonly HwmonDevice[]): ChosenChannel {
  const meters = devices.filter((d) => d.name === POWER_METER_NAME && d.channels.some(isMeterPower));
  if (meters.length === 0) throw HwmonNoMeterError.none(hwmonPath, devices);
  if (meters.length > 1) throw HwmonNoMeterError.several(hwmonPath, devices, meters);
  const meter = meters[0] as HwmonDevice;
  return { ...(meter.channels.find(isMeterPower) as HwmonChannel), device: meter };
}

/** The ACPI meter's reading: power1_average (drivers/hwmon/acpi_power_meter.c has no other power file). */
function isMeterPower(c: HwmonChannel): boolean {
  return c.kind === 'power' && c.attribute.endsWith('_average');
}

function named(hwmonPath: string, devices: readonly HwmonDevice[], selectors: readonly string[]): ChosenChannel[] {
  const chosen: ChosenChannel[] = [];
  for (const text of new Set(selectors.map((s) => s.trim()))) {
    const selector = parseChannelSelector(text);
    if (!selector) throw new HwmonChannelError(hwmonPath, text, `not of the form ${CHANNEL_SELECTOR_FORM}`, devices);
    const device = deviceOf(hwmonPath, devices, selector, text);
    // powerN: the file discovery chose (the average where there is one); powerN_input: that very file.
    const exact = selector.channel.includes('_')
      ? device.channels.some((c) => c.id === idOf(selector.channel))
        ? channelByAttribute(device, selector.channel)
        : undefined
      : device.channels.find((c) => c.id === selector.channel);
    if (!exact) throw new HwmonChannelError(hwmonPath, text, `${device.id} (${device.name}) has no channel ${selector.channel}`, devices);
    // The same file named twice (by name and by hwmonN) is counted once.
    if (!chosen.some((c) => c.file === exact.file)) chosen.push({ ...exact, device });
  }
  return chosen;
}

function deviceOf(hwmonPath: string, devices: readonly HwmonDevice[], selector: ChannelSelector, text: string): HwmonDevice {
  const byId = devices.find((d) => d.id === selector.device);
  if (byId) return byId;
  const byName = devices.filter((d) => d.name === selector.device);
  if (byName.length === 1) return byName[0] as HwmonDevice;
  if (byName.length === 0) throw new HwmonChannelError(hwmonPath, text, `no device named ${selector.device}`, devices);
  throw new HwmonChannelError(
    hwmonPath,
    text,
    `${byName.length} devices are named ${selector.device} (${byName.map((d) => d.id).join(', ')}): name one by its hwmonN entry, or each of them`,
    devices,
  );
}

/** `power1_input` → `power1`. */
function idOf(attribute: string): string {
  const cut = attribute.indexOf('_');
  return cut < 0 ? attribute : attribute.slice(0, cut);
}
