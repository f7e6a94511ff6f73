import { QemuExporter } from './exporter.js';
import { commonSettings, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { positiveSeconds } from '../parse.js';

export interface QemuSettings extends ExporterSettings {
  readonly path: string;
}

export const qemuCommand: LocalExporterCommand<QemuSettings> = {
  name: 'qemu',
  summary: 'Write each VM’s attributed energy as a powercap tree its guest can read with scaph --vm',
  push: false,
  stepOption: '--step',
  configure: (cmd) =>
    cmd
      .option('--path <dir>', 'directory holding one tree per VM (<dir>/<vm name>/intel-rapl:0/…)', '/var/lib/libvirt/scaphandre')
      .option('-s, --step <seconds>', 'seconds between two measurements (and counter updates)', positiveSeconds('-s/--step'), 5)
      .addHelpText(
        'after',
        '\nVMs are qemu-system processes, named by their -name option (libvirt: guest=NAME; Proxmox: NAME).\n' +
          'Share <dir>/<vm name> with the guest (virtiofs or 9p), mount it on /var/scaphandre there, and run\n' +
          '  scaph --vm prometheus\n' +
          'in the guest: its host power is then the energy this host attributes to the VM.\n' +
          'Example:\n  sudo scaph qemu --path /var/lib/libvirt/scaphandre -s 5\n',
      ),
  settings: (opts) => ({
    ...commonSettings(opts),
    // The exporter needs every qemu process's VM name, whatever the global --qemu says.
    qemu: true,
    path: opts['path'] as string,
  }),
  create: async (s, ctx) => ({ kind: 'local', exporter: new QemuExporter({ path: s.path, logger: ctx.logger }) }),
};
