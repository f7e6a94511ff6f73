import { chooseChannels } from './channels.js';
import { describe, discoverHwmon } from './devices.js';
import { HwmonMissingError } from './errors.js';

/**
 * What `scaph run --check` says of --sensor hwmon: every device found with its channels, then the channels
 * host power would be the sum of. Throws as start-up would (exit 1, naming what was found and what is
 * missing) when none is usable.
 */
export async function hwmonCheckLines(hwmonPath: string, selectors: readonly string[]): Promise<string[]> {
  const devices = await discoverHwmon(hwmonPath);
  if (devices === null) throw new HwmonMissingError(hwmonPath);
  const chosen = chooseChannels(hwmonPath, devices, selectors);
  return [
    `  hwmon devices under ${hwmonPath}:`,
    ...devices.map((d) => `    ${describe(d)}`),
    `  host power (value_source="${chosen.valueSource}"): ${chosen.channels.map((c) => `${c.device.id}/${c.attribute} (${c.device.name})`).join(' + ')}`,
  ];
}
