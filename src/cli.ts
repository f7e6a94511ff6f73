import { Command, CommanderError, type OptionValues } from 'commander';
import type { AgentGlobals } from './agent/assemble.js';
import { runExporterCommand } from './agent/exporter-command.js';
import { configureRunCommand, runFromConfig, RUN_OPTIONS, type RunValues } from './agent/run-command.js';
import { addDeclaredOptions, choiceOption, counterOption, declaredValues, repeatableOption, switchOption, textOption, valueOption, type ValuesOf } from './config/declared-options.js';
import { SENSOR_OPTIONS } from './config/sensor-options.js';
import { ScaphError } from './core/errors.js';
import { JOURNAL_PRIORITY, isJournalStream } from './core/journald.js';
import { createLogger, LOG_FORMATS, writeStderrLine, type LogFormat, type Logger } from './core/log.js';
import { commandFor, type ExporterCommandSpec } from './exporters/command.js';
import { EXPORTER_COMMANDS } from './exporters/index.js';
import { guardOptionValues, wholeNumberUpTo } from './exporters/parse.js';
import { DEFAULT_DOCKER_SOCKET } from './sensors/containers/docker.js';
import { nodeName, podLabelKeys } from './sensors/containers/kubernetes-options.js';
import { DEFAULT_POWERCAP_PATH, DEFAULT_REDFISH_INTERVAL_MS, VM_POWERCAP_PATH } from './sensors/settings.js';
import { VERSION } from './core/version.js';

/**
 * Scaphandre's sensor buffer sizes: scaph has no such buffer, so they are accepted and have no effect. They
 * take what Scaphandre takes (a u16 of kB): a value it would refuse is a mistake here too.
 */
const SOCKET_BUFFER_FLAG = '--sensor-buffer-per-socket-max-kB';
const DOMAIN_BUFFER_FLAG = '--sensor-buffer-per-domain-max-kB';
const MAX_BUFFER_KB = 65_535;
const BUFFER_HELP = "accepted for Scaphandre's unit files (0-65535); no effect (scaph keeps one reading per counter, no buffer)";

/** An exporter command has no config to re-read: SIGHUP keeps its terminal meaning. */
const EXPORTER_SIGNALS_HELP =
  '\nSignals: SIGINT, SIGTERM and SIGHUP (the terminal closed) stop an exporter command cleanly (exit 0: the json\n' +
  'array is closed, push queues are flushed within 10 s). Under "scaph run", SIGHUP reloads the config instead.\n';

/** Global options, given before the exporter name (as with Scaphandre). */
export interface GlobalOptions extends AgentGlobals {
  readonly verbose: number;
  /** --log-format, when given (else $SCAPH_LOG_FORMAT, else text). */
  readonly logFormat: LogFormat | undefined;
  /** Scaphandre flags given that have no effect here (said once at start). */
  readonly ignoredFlags: readonly string[];
}

/**
 * The global options, declared once (config/declared-options.ts), in the order --help lists them: the
 * sensor's (whose [sensor] keys a run config may set: sensor-options.ts), logging, the container lookup.
 */
const GLOBAL_OPTIONS = {
  kind: SENSOR_OPTIONS.kind,
  vm: SENSOR_OPTIONS.vm,
  powercapPath: SENSOR_OPTIONS.powercapPath,
  procfsPath: SENSOR_OPTIONS.procfsPath,
  attribution: SENSOR_OPTIONS.attribution,
  reapedChildren: SENSOR_OPTIONS.reapedChildren,
  cgroupfsPath: SENSOR_OPTIONS.cgroupfsPath,
  verbose: counterOption('-v, --verbose', 'more logs on stderr: -v info, -vv debug (default: info; warn for stdout and json; $SCAPH_LOG_LEVEL overrides)'),
  logFormat: choiceOption('--log-format <format>', 'log lines on stderr: text for people, json for log pipelines (default text, or $SCAPH_LOG_FORMAT)', LOG_FORMATS),
  header: switchOption('--no-header', "don't print the banner on stderr"),
  dockerSocket: textOption('--docker-socket <path>', 'with --containers: Docker Engine API socket for container names and images', { default: DEFAULT_DOCKER_SOCKET }),
  docker: switchOption('--no-docker', 'with --containers: do not ask Docker for container names (cgroup ids only)'),
  kubernetesNode: valueOption('--kubernetes-node <name>', "with --containers in a pod: this node's name (default $NODE_NAME, else the hostname)", nodeName('--kubernetes-node')),
  kubernetesPodLabel: repeatableOption(
    '--kubernetes-pod-label <key>',
    'with --containers in a pod: copy this pod label as kubernetes_pod_label_<key> (repeatable; characters other than letters, digits and _ become _, and two keys that become one label are refused)',
    podLabelKeys('--kubernetes-pod-label'),
  ),
  estimateIdleWattsPerCpu: SENSOR_OPTIONS.estimateIdleWattsPerCpu,
  estimateMaxWattsPerCpu: SENSOR_OPTIONS.estimateMaxWattsPerCpu,
  hwmonPath: SENSOR_OPTIONS.hwmonPath,
  hwmonChannels: SENSOR_OPTIONS.hwmonChannels,
  redfishUrl: SENSOR_OPTIONS.redfishUrl,
  redfishUser: SENSOR_OPTIONS.redfishUser,
  redfishPasswordFile: SENSOR_OPTIONS.redfishPasswordFile,
  redfishCa: SENSOR_OPTIONS.redfishCa,
  redfishInsecure: SENSOR_OPTIONS.redfishInsecure,
  redfishChassis: SENSOR_OPTIONS.redfishChassis,
  redfishIntervalMs: SENSOR_OPTIONS.redfishIntervalMs,
  sensorBufferPerSocketMaxKB: valueOption(`${SOCKET_BUFFER_FLAG} <kB>`, BUFFER_HELP, wholeNumberUpTo(SOCKET_BUFFER_FLAG, MAX_BUFFER_KB), { unit: 'kB' }),
  sensorBufferPerDomainMaxKB: valueOption(`${DOMAIN_BUFFER_FLAG} <kB>`, BUFFER_HELP, wholeNumberUpTo(DOMAIN_BUFFER_FLAG, MAX_BUFFER_KB), { unit: 'kB' }),
};

type GlobalValues = ValuesOf<typeof GLOBAL_OPTIONS>;

export function buildProgram(
  onRun: (spec: ExporterCommandSpec, opts: OptionValues, globals: GlobalOptions) => Promise<void>,
  onRunConfig: (opts: RunValues, globals: GlobalOptions) => Promise<void> = async () => undefined,
): Command {
  const program = new Command('scaph')
    .description(
      'Measure the electrical power of this host, its CPU sockets and RAPL domains, and each process, ' +
        'container and VM; show it or ship it to your monitoring (Scaphandre-compatible names).',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  addDeclaredOptions(program, GLOBAL_OPTIONS).addHelpText(
    'after',
    '\nExamples:\n' +
      '  sudo scaph stdout -t 15                  # watch host and top processes for 15 s\n' +
      '  sudo scaph json -s 5 -f power.json       # a JSON report every 5 s\n' +
      '  scaph --sensor estimate stdout           # no RAPL (cloud VM): CPU-load estimate\n' +
      '  scaph --vm stdout                        # in a guest of a hypervisor running "scaph qemu"\n' +
      '  scaph --sensor hwmon stdout              # host power from the server\'s ACPI power meter\n' +
      '  SCAPH_REDFISH_PASSWORD=... scaph --sensor redfish --redfish-url https://bmc --redfish-user monitor prometheus\n' +
      '                                           # host power from the BMC (docs/platform-power.md)\n' +
      '\nRun "scaph <exporter> --help" for the options of each exporter.\n' +
      EXPORTER_SIGNALS_HELP,
  );

  guardOptionValues(program);
  const globals = (): GlobalOptions => globalsFrom(declaredValues(GLOBAL_OPTIONS, program.opts()));
  for (const spec of EXPORTER_COMMANDS) {
    const sub = program.command(spec.name).description(spec.summary).aliases([...(spec.aliases ?? [])]);
    guardOptionValues(commandFor(spec, sub)).addHelpText('after', EXPORTER_SIGNALS_HELP);
    sub.version(VERSION, '-V, --version', 'print the version').exitOverride().action(async (opts: OptionValues) => {
      await onRun(spec, opts, globals());
    });
  }
  guardOptionValues(configureRunCommand(program.command('run')))
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .action(async (opts: OptionValues) => onRunConfig(declaredValues(RUN_OPTIONS, opts), globals()));
  return program;
}

function globalsFrom(o: GlobalValues): GlobalOptions {
  return {
    sensor: {
      kind: o.kind,
      vm: o.vm,
      powercapPath: o.powercapPath ?? process.env['SCAPHANDRE_POWERCAP_PATH'] ?? (o.vm ? VM_POWERCAP_PATH : DEFAULT_POWERCAP_PATH),
      procfsPath: o.procfsPath,
      cgroupfsPath: o.cgroupfsPath,
      attribution: o.attribution,
      reapedChildren: o.reapedChildren,
      estimateIdleWattsPerCpu: o.estimateIdleWattsPerCpu,
      estimateMaxWattsPerCpu: o.estimateMaxWattsPerCpu,
      hwmonPath: o.hwmonPath,
      hwmonChannels: o.hwmonChannels ?? [],
      redfishUrl: o.redfishUrl,
      redfishUser: o.redfishUser,
      redfishPasswordFile: o.redfishPasswordFile,
      redfishCa: o.redfishCa,
      redfishInsecure: o.redfishInsecure,
      redfishChassis: o.redfishChassis,
      redfishIntervalMs: o.redfishIntervalMs ?? DEFAULT_REDFISH_INTERVAL_MS,
    },
    containerSources: {
      dockerSocket: o.docker ? o.dockerSocket : null,
      kubernetesNode: o.kubernetesNode,
      kubernetesPodLabels: o.kubernetesPodLabel ?? [],
    },
    verbose: o.verbose,
    logFormat: o.logFormat,
    header: o.header,
    ignoredFlags: [...(o.sensorBufferPerSocketMaxKB === undefined ? [] : [SOCKET_BUFFER_FLAG]), ...(o.sensorBufferPerDomainMaxKB === undefined ? [] : [DOMAIN_BUFFER_FLAG])],
  };
}

/** One line on stderr for Scaphandre flags scaph accepts but does not need. */
function noticeIgnoredFlags(g: GlobalOptions, journal: boolean): void {
  if (g.ignoredFlags.length === 0) return;
  writeStderrLine(
    `scaph: ${g.ignoredFlags.join(' and ')} ${g.ignoredFlags.length === 1 ? 'has' : 'have'} no effect: scaph keeps one reading per energy counter, not a buffer (you may remove ${g.ignoredFlags.length === 1 ? 'it' : 'them'})`,
    JOURNAL_PRIORITY.notice,
    journal,
  );
}

/** Entry point: parses argv, runs, and turns every failure into one line and an exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let logger: Logger | null = null;
  const journal = isJournalStream(env);
  const program = buildProgram(
    async (spec, opts, globals) => {
      logger = createLogger({ verbosity: globals.verbose, defaultLevel: spec.defaultLogLevel ?? 'info', format: globals.logFormat }, env);
      noticeIgnoredFlags(globals, journal);
      await runExporterCommand(spec, opts, globals, logger);
    },
    async (opts, globals) => {
      logger = createLogger({ verbosity: globals.verbose, defaultLevel: 'info', format: globals.logFormat }, env);
      noticeIgnoredFlags(globals, journal);
      const durationMs = opts.timeout === undefined || opts.timeout < 0 ? null : opts.timeout * 1000;
      const credentialsDirectory = opts.credentialsDirectory;
      await runFromConfig(opts.config, opts.check, globals, logger, {}, { durationMs, ...(credentialsDirectory === undefined ? {} : { credentialsDirectory }) });
    },
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    return exitCodeFor(err, logger, journal);
  }
}

function exitCodeFor(err: unknown, logger: Logger | null, journal: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
    // commander already printed "error: ..." on stderr
    return 2;
  }
  if (err instanceof ScaphError) {
    writeStderrLine(`scaph: ${err.message}`, JOURNAL_PRIORITY.err, journal);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  writeStderrLine(`scaph: unexpected error: ${e.message}\n(run with -vv for details; please report it)`, JOURNAL_PRIORITY.crit, journal);
  (logger as Logger | null)?.debug({ stack: e.stack }, 'unexpected error');
  return 70;
}
