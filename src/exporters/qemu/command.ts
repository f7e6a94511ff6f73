import { QemuExporter } from './exporter.js';
import { commonSettings, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { positiveSeconds } from '../parse.js';
import { textOption, valueOption } from '../../config/declared-options.js';

export interface QemuSettings extends ExporterSettings {
  readonly path: string;
}

const OPTIONS = {
  path: textOption('--path <dir>', 'directory holding one tree per VM (<dir>/<vm name>/intel-rapl:0/…)', { role: 'path', default: '/var/lib/libvirt/scaphandre' }),
  step: valueOption('-s, --step <seconds>', 'seconds between two measurements (and counter updates)', positiveSeconds('-s/--step'), { unit: 'seconds', role: 'step', default: 5 }),
};

export const qemuCommand: LocalExporterCommand<QemuSettings, typeof OPTIONS> = {
  name: 'qemu',
  summary: 'Write each VM’s attributed energy as a powercap tree its guest can read with scaph --vm',
  push: false,
  options: OPTIONS,
  helpText:
    '\nVMs are qemu-system processes, named by their -name option (libvirt: guest=NAME; Proxmox: NAME).\n' +
    'Share <dir>/<vm name> with the guest (virtiofs or 9p), mount it on /var/scaphandre there, and run\n' +
    '  scaph --vm prometheus\n' +
    'in the guest: its host power is then the energy this host attributes to the VM.\n' +
    'Example:\n  sudo scaph qemu --path /var/lib/libvirt/scaphandre -s 5\n',
  // The exporter needs every qemu process's VM name, whatever the global --qemu says.
  settings: (v) => ({ ...commonSettings(v.step), qemu: true, path: v.path }),
  create: async (s, ctx) => ({ kind: 'local', exporter: new QemuExporter({ path: s.path, logger: ctx.logger }) }),
};
