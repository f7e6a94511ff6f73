import type { ExporterCommandSpec } from './command.js';
import { jsonCommand } from './json.js';
import { prometheusPushCommand } from './prometheus-push.js';
import { prometheusCommand } from './prometheus.js';
import { qemuCommand } from './qemu.js';
import { remoteWriteCommand } from './remote-write.js';
import { riemannCommand } from './riemann.js';
import { warp10Command } from './warp10.js';
import { stdoutCommand } from './stdout.js';

/** Every exporter subcommand, in the order `scaph --help` lists them. Explicit: no side-effect imports. */
export const EXPORTER_COMMANDS: readonly ExporterCommandSpec[] = [
  stdoutCommand,
  jsonCommand,
  prometheusCommand,
  prometheusPushCommand,
  remoteWriteCommand,
  riemannCommand,
  warp10Command,
  qemuCommand,
];
