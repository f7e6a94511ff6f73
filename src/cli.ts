import { Command, CommanderError, Option, type OptionValues } from 'commander';
import type { AgentGlobals } from './agent/assemble.js';
import { runExporterCommand } from './agent/exporter-command.js';
import { configureRunCommand, runFromConfig } from './agent/run-command.js';
import { ScaphError } from './core/errors.js';
import { JOURNAL_PRIORITY, isJournalStream } from './core/journald.js';
import { createLogger, LOG_FORMATS, writeStderrLine, type LogFormat, type Logger } from './core/log.js';
import type { AttributionModel } from './core/sample.js';
import type { ExporterCommandSpec } from './exporters/command.js';
import { EXPORTER_COMMANDS } from './exporters/index.js';
import { guardOptionValues, wattsPerCpu, wholeNumberUpTo } from './exporters/parse.js';
import { ATTRIBUTION_MODELS } from './sensors/attribution.js';
import { DEFAULT_DOCKER_SOCKET } from './sensors/containers/docker.js';
import { nodeName, podLabelKeys } from './sensors/containers/kubernetes-options.js';
import { hwmonChannelFlag, redfishIntervalFlag, redfishUrlFlag } from './sensors/platform-flags.js';
import { DEFAULT_HWMON_PATH, DEFAULT_POWERCAP_PATH, DEFAULT_REDFISH_INTERVAL_MS, SENSOR_KINDS, VM_POWERCAP_PATH, type SensorKind } from './sensors/settings.js';
import { VERSION } from './core/version.js';
import { carbonApiUrlFlag, carbonIntensityFlag, carbonRefreshFlag, carbonZoneFlag } from './carbon/flags.js';
import { CARBON_PROVIDERS, type CarbonProvider } from './carbon/providers.js';

/**
 * Scaphandre's sensor buffer sizes: scaph has no such buffer, so they are accepted and have no effect. They
 * take what Scaphandre takes (a u16 of kB): a value it would refuse is a mistake here too.
 */
const SOCKET_BUFFER_FLAG = '--sensor-buffer-per-socket-max-kB';
const DOMAIN_BUFFER_FLAG = '--sensor-buffer-per-domain-max-kB';
const MAX_BUFFER_KB = 65_535;

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

export function buildProgram(
  onRun: (spec: ExporterCommandSpec, opts: OptionValues, globals: GlobalOptions) => Promise<void>,
  onRunConfig: (opts: OptionValues, globals: GlobalOptions) => Promise<void> = async () => undefined,
): Command {
  const program = new Command('scaph')
    .description(
      'Measure the electrical power of this host, its CPU sockets and RAPL domains, and each process, ' +
        'container and VM; show it or ship it to your monitoring (Scaphandre-compatible names).',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .addOption(
      new Option(
        '-s, --sensor <sensor>',
        'where power comes from: RAPL counters, a CPU-load estimate, auto (RAPL when readable, else the estimate, warned about and marked by scaph_sensor_fallback), ' +
          'or a platform meter for host power: hwmon (the ACPI power meter, or --hwmon-channel) or redfish (the BMC), with RAPL beside it for sockets when readable',
      )
        .choices([...SENSOR_KINDS])
        .default('auto'),
    )
    .option('--vm', `run inside a VM: read the tree a hypervisor's "scaph qemu" writes (default ${VM_POWERCAP_PATH})`, false)
    .option('--powercap-path <dir>', `powercap tree to read (default ${DEFAULT_POWERCAP_PATH}, ${VM_POWERCAP_PATH} with --vm, or $SCAPHANDRE_POWERCAP_PATH)`)
    .option('--procfs-path <dir>', 'procfs to read processes from', '/proc')
    .addOption(
      new Option(
        '--attribution <model>',
        'what a process\'s share of the busy CPU time is applied to: host power (Scaphandre\'s model) or active power (host x busy fraction; idle power stays out of processes)',
      )
        .choices([...ATTRIBUTION_MODELS])
        .default('host'),
    )
    .option('--no-reaped-children', 'do not give the CPU time of children a process waited for (cutime, cstime) to that process')
    .option('--cgroupfs-path <dir>', 'with --containers: cgroup v2 mount whose cpu.stat gives container/pod/unit power (default: detected under /sys/fs/cgroup)')
    .option(
      '-v, --verbose',
      'more logs on stderr: -v info, -vv debug (default: info; warn for stdout and json; $SCAPH_LOG_LEVEL overrides)',
      (_v: string, prev: number) => prev + 1,
      0,
    )
    .addOption(
      new Option('--log-format <format>', 'log lines on stderr: text for people, json for log pipelines (default text, or $SCAPH_LOG_FORMAT)').choices([
        ...LOG_FORMATS,
      ]),
    )
    .option('--no-header', "don't print the banner on stderr")
    .option('--docker-socket <path>', 'with --containers: Docker Engine API socket for container names and images', DEFAULT_DOCKER_SOCKET)
    .option('--no-docker', 'with --containers: do not ask Docker for container names (cgroup ids only)')
    .option('--kubernetes-node <name>', 'with --containers in a pod: this node\'s name (default $NODE_NAME, else the hostname)', nodeName('--kubernetes-node'))
    .option(
      '--kubernetes-pod-label <key>',
      'with --containers in a pod: copy this pod label as kubernetes_pod_label_<key> (repeatable; characters other than letters, digits and _ become _, and two keys that become one label are refused)',
      podLabelKeys('--kubernetes-pod-label'),
    )
    .option('--estimate-idle-watts-per-cpu <watts>', 'estimate sensor: watts per logical CPU when idle (default 0.74)', wattsPerCpu('--estimate-idle-watts-per-cpu'))
    .option('--estimate-max-watts-per-cpu <watts>', 'estimate sensor: watts per logical CPU at 100 % (default 3.5)', wattsPerCpu('--estimate-max-watts-per-cpu'))
    .option('--hwmon-path <dir>', `--sensor hwmon: the hwmon class directory (in a container: the host's, e.g. /host/sys/class/hwmon)`, DEFAULT_HWMON_PATH)
    .option(
      '--hwmon-channel <device/channel>',
      '--sensor hwmon: a channel to add to host power instead of the ACPI power meter, as <device>/<channel>: device by name or hwmonN, channel powerN, energyN or an attribute (power1_input); repeatable, summed',
      hwmonChannelFlag,
    )
    .option('--redfish-url <url>', '--sensor redfish: the BMC\'s address, https://<bmc>', redfishUrlFlag)
    .option('--redfish-user <name>', '--sensor redfish: the BMC user (read-only rights are enough)')
    .option('--redfish-password-file <file>', '--sensor redfish: file holding the BMC password (default: $SCAPH_REDFISH_PASSWORD)')
    .option('--redfish-ca <file>', '--sensor redfish: PEM CA certificate to check the BMC\'s certificate against (default: the system\'s CAs)')
    .option('--redfish-insecure', '--sensor redfish: do not check the BMC\'s certificate (a self-signed one you have not saved)', false)
    .option('--redfish-chassis <id>', '--sensor redfish: the chassis to read, by Id (default: the first chassis that reports power)')
    .option(
      '--redfish-interval <seconds>',
      `--sensor redfish: ask the BMC every this many seconds, at least 1 (default ${DEFAULT_REDFISH_INTERVAL_MS / 1000}; slower when its sensor says it refreshes less often); a reading older than two intervals is not published`,
      redfishIntervalFlag,
    )
    .option('--carbon-intensity <g/kWh>', 'count emissions (docs/carbon.md) at this fixed carbon intensity, gCO2e/kWh', carbonIntensityFlag)
    .option(
      '--carbon-zone <code>',
      "count emissions at scaph's static value for this country (ISO 3166-1 alpha-2, e.g. FR; WORLD: the world average; docs/carbon.md lists them), or the zone a --carbon-provider is asked for (its country's static value while it fails)",
      carbonZoneFlag,
    )
    .addOption(
      new Option(
        '--carbon-provider <name>',
        "count emissions at a live grid signal: electricitymaps (needs --carbon-zone and --carbon-token-file) or uk-carbon-intensity (Great Britain, no token)",
      ).choices([...CARBON_PROVIDERS]),
    )
    .option('--carbon-token-file <file>', '--carbon-provider electricitymaps: file holding your API token')
    .option('--carbon-api-url <url>', "--carbon-provider: the API's base URL (default: the provider's own)", carbonApiUrlFlag)
    .option('--carbon-refresh <seconds>', '--carbon-provider: ask it every this many seconds, at least 60 (default 900)', carbonRefreshFlag)
    .option('--carbon-per-process', 'with a carbon intensity: an emissions counter per process too (one more series per process)')
    .option(`${SOCKET_BUFFER_FLAG} <kB>`, "accepted for Scaphandre's unit files (0-65535); no effect (scaph keeps one reading per counter, no buffer)", wholeNumberUpTo(SOCKET_BUFFER_FLAG, MAX_BUFFER_KB))
    .option(`${DOMAIN_BUFFER_FLAG} <kB>`, "accepted for Scaphandre's unit files (0-65535); no effect (scaph keeps one reading per counter, no buffer)", wholeNumberUpTo(DOMAIN_BUFFER_FLAG, MAX_BUFFER_KB))
    .addHelpText(
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
  for (const spec of EXPORTER_COMMANDS) {
    const sub = guardOptionValues(spec.configure(program.command(spec.name).description(spec.summary))).addHelpText('after', EXPORTER_SIGNALS_HELP);
    sub.version(VERSION, '-V, --version', 'print the version').exitOverride().action(async (opts: OptionValues) => {
      await onRun(spec, opts, globalsFrom(program.opts()));
    });
  }
  guardOptionValues(configureRunCommand(program.command('run')))
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .action(async (opts: OptionValues) => onRunConfig(opts, globalsFrom(program.opts())));
  return program;
}

function globalsFrom(o: OptionValues): GlobalOptions {
  const vm = o['vm'] === true;
  const fromEnv = process.env['SCAPHANDRE_POWERCAP_PATH'];
  return {
    sensor: {
      kind: o['sensor'] as SensorKind,
      vm,
      powercapPath: (o['powercapPath'] as string | undefined) ?? fromEnv ?? (vm ? VM_POWERCAP_PATH : DEFAULT_POWERCAP_PATH),
      procfsPath: o['procfsPath'] as string,
      cgroupfsPath: o['cgroupfsPath'] as string | undefined,
      attribution: o['attribution'] as AttributionModel,
      reapedChildren: o['reapedChildren'] !== false,
      estimateIdleWattsPerCpu: o['estimateIdleWattsPerCpu'] as number | undefined,
      estimateMaxWattsPerCpu: o['estimateMaxWattsPerCpu'] as number | undefined,
      hwmonPath: o['hwmonPath'] as string,
      hwmonChannels: (o['hwmonChannel'] as string[] | undefined) ?? [],
      redfishUrl: o['redfishUrl'] as string | undefined,
      redfishUser: o['redfishUser'] as string | undefined,
      redfishPasswordFile: o['redfishPasswordFile'] as string | undefined,
      redfishCa: o['redfishCa'] as string | undefined,
      redfishInsecure: o['redfishInsecure'] === true,
      redfishChassis: o['redfishChassis'] as string | undefined,
      redfishIntervalMs: (o['redfishInterval'] as number | undefined) ?? DEFAULT_REDFISH_INTERVAL_MS,
    },
    carbon: {
      intensityGPerKwh: o['carbonIntensity'] as number | undefined,
      zone: o['carbonZone'] as string | undefined,
      provider: o['carbonProvider'] as CarbonProvider | undefined,
      tokenFile: o['carbonTokenFile'] as string | undefined,
      apiUrl: o['carbonApiUrl'] as string | undefined,
      refreshMs: o['carbonRefresh'] as number | undefined,
      perProcess: o['carbonPerProcess'] === true ? true : undefined,
    },
    containerSources: {
      dockerSocket: o['docker'] === false ? null : (o['dockerSocket'] as string),
      kubernetesNode: o['kubernetesNode'] as string | undefined,
      kubernetesPodLabels: (o['kubernetesPodLabel'] as string[] | undefined) ?? [],
    },
    verbose: o['verbose'] as number,
    logFormat: o['logFormat'] as LogFormat | undefined,
    header: o['header'] !== false,
    ignoredFlags: [
      ...(o['sensorBufferPerSocketMaxKB'] === undefined ? [] : [SOCKET_BUFFER_FLAG]),
      ...(o['sensorBufferPerDomainMaxKB'] === undefined ? [] : [DOMAIN_BUFFER_FLAG]),
    ],
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
      const timeout = opts['timeout'] as number | undefined;
      const durationMs = timeout === undefined || timeout < 0 ? null : timeout * 1000;
      const credentialsDirectory = opts['credentialsDirectory'] as string | undefined;
      await runFromConfig(opts['config'] as string, opts['check'] === true, globals, logger, {}, { durationMs, ...(credentialsDirectory === undefined ? {} : { credentialsDirectory }) });
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
