import { MIN_HEALTH_MAX_AGE_STEPS, PrometheusExporter } from './exporter.js';
import { commonSettings, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { hostName, nonNegativeInt, port, positiveSeconds, urlPathSuffix } from '../parse.js';
import { switchOption, valueOption } from '../../config/declared-options.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { selectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

export interface PrometheusSettings extends ExporterSettings {
  readonly address: string;
  readonly port: number;
  readonly suffix: string;
  readonly maxCmdlineLength: number;
  readonly healthMaxAgeMs: number;
}

const OPTIONS = {
  address: valueOption('-a, --address <address>', 'address to listen on (:: = every IPv6 and IPv4 address)', hostName('-a/--address'), { default: '::' }),
  port: valueOption('-p, --port <port>', 'TCP port to listen on (0 = a free port, printed at start)', port('-p/--port'), { unit: 'port', default: 8080 }),
  suffix: valueOption('-s, --suffix <path>', 'path of the metrics endpoint (without the leading /), as in Scaphandre', metricsSuffix, { default: 'metrics' }),
  step: valueOption(
    '--step <seconds>',
    'seconds between two measurements; scrapes read the latest one (the first comes within a second of start)',
    positiveSeconds('--step'),
    { unit: 'seconds', role: 'step', default: 5 },
  ),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline label at this many characters (0 = no cap)', nonNegativeInt('--max-cmdline-length'), {
    unit: 'characters',
    default: 256,
  }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name (vmname label)', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit', { showDefault: true }),
  healthMaxAge: valueOption(
    '--health-max-age <seconds>',
    `/healthz answers 503 (and /metrics serves no figure) once the latest sample is older than this (default: 3 steps; at least ${MIN_HEALTH_MAX_AGE_STEPS} steps)`,
    positiveSeconds('--health-max-age'),
    { unit: 'seconds' },
  ),
  ...selectionOptions(),
  ...FILTER_OPTIONS,
};

export const prometheusCommand: LocalExporterCommand<PrometheusSettings, typeof OPTIONS> = {
  name: 'prometheus',
  summary: 'Serve the latest measurements on an HTTP endpoint for Prometheus to scrape',
  push: false,
  options: OPTIONS,
  helpText:
    '\nScrapes get text format 0.0.4, or OpenMetrics when their Accept header asks for it.\n' +
    '/healthz answers 200 while samples arrive, 503 before the first one and once sampling stalls or\n' +
    'readings fail for longer than --health-max-age (a liveness/readiness probe). /metrics serves a figure\n' +
    'only while it is current: after a reading that failed (host power not measurable) or a stall it\n' +
    'answers with scaph_self_version alone, so Prometheus marks the power series stale (a gap in graphs).\n' +
    FILTER_HELP +
    selectionHelp('its series leave /metrics (Prometheus marks them stale)') +
    'Examples:\n  sudo scaph prometheus -p 8080 --containers\n  sudo scaph prometheus -s metrics2 --step 10     # serves /metrics2, a sample every 10 s\n' +
    'prometheus.yml:\n  scrape_configs:\n    - job_name: scaph\n      static_configs: [{ targets: ["host:8080"] }]\n',
  settings: (v) => ({
    ...commonSettings(v.step, v),
    ...filterSettings(v),
    address: v.address,
    port: v.port,
    suffix: v.suffix,
    maxCmdlineLength: v.maxCmdlineLength,
    selection: selectionSettings(v),
    healthMaxAgeMs: healthMaxAgeMs(v.healthMaxAge, v.step),
  }),
  create: async (s, ctx) => ({
    kind: 'local',
    exporter: new PrometheusExporter({
      address: s.address,
      port: s.port,
      suffix: s.suffix,
      view: ctx.view,
      logger: ctx.logger,
      announce: (line) => process.stderr.write(`scaph: ${line}\n`),
      healthMaxAgeMs: s.healthMaxAgeMs,
      stepMs: s.stepMs,
    }),
  }),
};

/**
 * --health-max-age in ms: 3 steps when not given; one given below MIN_HEALTH_MAX_AGE_STEPS steps is refused
 * (samples that come on time would be called a stall), naming both values and the smallest accepted.
 */
function healthMaxAgeMs(givenS: number | undefined, stepS: number): number {
  if (givenS === undefined) return Math.round(3 * stepS * 1000);
  const smallest = decimal(MIN_HEALTH_MAX_AGE_STEPS * stepS);
  if (givenS < smallest) {
    throw new UsageError(
      `--health-max-age ${givenS} is shorter than ${MIN_HEALTH_MAX_AGE_STEPS} steps (--step ${stepS}): samples come one step apart, so /healthz would ` +
        `answer 503 between samples that arrive on time. The smallest accepted is ${smallest} (or leave it out: 3 steps, ${decimal(3 * stepS)})`,
    );
  }
  return Math.round(givenS * 1000);
}

const parseSuffix = urlPathSuffix('-s/--suffix');

/**
 * -s is the URL suffix, as in Scaphandre. scaph 0.1 made -s the step: a unit file still passing `-s 5`
 * would serve /5 while Prometheus scrapes /metrics and finds nothing, so a number is refused.
 */
function metricsSuffix(value: string): string {
  if (/^\d+(\.\d+)?$/.test(value.trim())) {
    throw new UsageError(`-s/--suffix is the metrics path (as in Scaphandre), got the number "${value}": for the step between measurements use --step ${value}`);
  }
  return parseSuffix(value);
}

/** 0.30000000000000004 -> 0.3: a product of decimal seconds as a person wrote it. */
function decimal(n: number): number {
  return Number(n.toPrecision(12));
}
