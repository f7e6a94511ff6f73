import type { ExporterCommandSpec } from './command.js';
import { jsonCommand } from './json/command.js';
import { otlpCommand } from './otlp/command.js';
import { prometheusPushCommand } from './pushgateway/command.js';
import { prometheusCommand } from './prometheus/command.js';
import { qemuCommand } from './qemu/command.js';
import { remoteWriteCommand } from './remote-write/command.js';
import { riemannCommand } from './riemann/command.js';
import { warp10Command } from './warp10/command.js';
import { stdoutCommand } from './stdout/command.js';

/** Every exporter subcommand, in the order `scaph --help` lists them. Explicit: no side-effect imports. */
export const EXPORTER_COMMANDS: readonly ExporterCommandSpec[] = [
  stdoutCommand,
  jsonCommand,
  prometheusCommand,
  prometheusPushCommand,
  remoteWriteCommand,
  otlpCommand,
  riemannCommand,
  warp10Command,
  qemuCommand,
];
