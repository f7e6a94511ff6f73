import type { Exporter } from '../core/exporter.js';
import { agentHostname } from '../core/hostname.js';
import type { Logger } from '../core/log.js';
import { runtimeFacts } from '../core/runtime.js';
import type { Sensor } from '../core/sensor.js';
import type { CommandContext } from '../exporters/command.js';
import type { SensorSettings } from '../sensors/settings.js';
import { VERSION } from '../core/version.js';
import { attachExporter } from './attach.js';
import { exporterIdentity, spoolKey } from './exporter-identity.js';
import { Hangups } from './hangups.js';
import { firstSampleMs, runPipeline } from './pipeline.js';
import type { AgentPlan } from './plan.js';
import { Reloader, sensorPlanOf } from './reload.js';
import { machineSensorFactory, resolveSensorSettings, type ContainerSources, type SensorFactory, type SensorRequest } from './sensor.js';
import { gridClockMs, hostSplayPlan, splayKey } from './splay.js';
import { SteppedExporter } from './stepped-exporter.js';

/** What the agent takes from the command line's global options. */
export interface AgentGlobals {
  readonly sensor: SensorSettings;
  /** Say the one start-up line on stderr (--no-header: no). */
  readonly header: boolean;
  readonly containerSources: ContainerSources;
}

export interface AgentDeps {
  /** Builds and starts the one sensor. Default: the machine sensor (and container lookup) of machineSensorFactory. */
  createSensor?(request: SensorRequest, logger: Logger): Promise<Sensor>;
  /** Environment for $SCAPH_HOSTNAME (tests). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface AgentRun {
  /** Stop after this long; null = until SIGINT/SIGTERM (and SIGHUP, without `reload`). */
  readonly durationMs: number | null;
  /** How long exporters get to flush on stop (and a reload's leaving exporters). Default 10 s. */
  readonly stopDeadlineMs?: number;
  /** The start-up line, said once the exporters are built. */
  banner(exporters: readonly Exporter[], sensor: SensorSettings): string;
  /**
   * `scaph run`: the config file and how to read and check it again; SIGHUP then reloads it (reload.ts)
   * instead of stopping the run.
   */
  readonly reload?: { readonly file: string; load(): AgentPlan };
}

/**
 * The one assembly path, for `scaph run` and every exporter subcommand alike: builds each exporter (a
 * push exporter with spool_dir behind its disk spool), each fed the latest sample at its own step
 * (SteppedExporter; push exporters at this host's splay offset), then one sensor, then runs the loop until
 * the duration ends or a signal stops it.
 */
export async function runAgent(plan: AgentPlan, globals: AgentGlobals, logger: Logger, deps: AgentDeps, run: AgentRun): Promise<void> {
  logger.debug(runtimeFacts(), 'runtime');
  // Caught from the start: a reload asked for while the agent starts is applied once it runs.
  const hangups = run.reload ? new Hangups() : null;
  try {
    await assembleAndRun(plan, globals, logger, deps, run, hangups);
  } finally {
    hangups?.dispose();
  }
}

async function assembleAndRun(plan: AgentPlan, globals: AgentGlobals, logger: Logger, deps: AgentDeps, run: AgentRun, hangups: Hangups | null): Promise<void> {
  const hostname = agentHostname(deps.env);
  const ctx: CommandContext = { logger, hostname, version: VERSION };
  const exporters: SteppedExporter[] = [];
  let qemu = false;
  let containers = false;
  // Read once: a reload lays its new grids with the same key (the machine id is only read at start).
  const key = splayKey(hostname, deps.env);
  const splay = hostSplayPlan(plan.exporters, plan.sensor.stepMs, key, logger);
  for (const e of plan.exporters) {
    qemu ||= e.settings.qemu;
    containers ||= e.settings.containers;
    exporters.push(new SteppedExporter(await attachExporter(e, ctx), e.stepMs, plan.sensor.stepMs, gridClockMs, splay.gridOf(e)));
  }
  const settings = resolveSensorSettings(globals.sensor, plan.sensor);
  const stopDeadlineMs = run.stopDeadlineMs ?? 10_000;
  // Identities once the spools exist, so their directories resolve as they will at the next reload.
  const source = run.reload;
  const reload = source && hangups
    ? new Reloader({
        hangups,
        load: () => source.load(),
        file: source.file,
        cliSensor: globals.sensor,
        sensor: sensorPlanOf(globals.sensor, plan),
        exporters: plan.exporters.map((config, i) => ({ config, identity: exporterIdentity(config), spoolKey: spoolKey(config), stepped: exporters[i] as SteppedExporter })),
        ctx,
        stopDeadlineMs,
        splay: { key, samplingPhaseMs: splay.samplingPhaseMs },
      })
    : undefined;
  if (globals.header) process.stderr.write(`${run.banner(exporters, settings)}\n`);
  const factory: SensorFactory = deps.createSensor
    ? { create: deps.createSensor, stop: async () => undefined }
    : machineSensorFactory(globals.containerSources);
  try {
    const sensor = await factory.create({ ...settings, hostname, qemu, withContainers: containers }, logger);
    await runPipeline({
      sensor,
      exporters,
      stepMs: plan.sensor.stepMs,
      firstSampleMs: firstSampleMs(plan.sensor.stepMs, settings.vm),
      samplingPhaseMs: splay.samplingPhaseMs,
      durationMs: run.durationMs,
      logger,
      stopDeadlineMs,
      ...(reload ? { reload } : {}),
    });
  } finally {
    await factory.stop();
  }
}
