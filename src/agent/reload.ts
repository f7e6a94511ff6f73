/**
 * `scaph run` on SIGHUP: re-read and re-check the config (the loader and checks of `scaph run --check`),
 * then change only what changed, between two steps:
 *
 * 1. Load the file. Invalid: one error line with every problem, the running config stays.
 * 2. Compare plans (plan-diff.ts). A [sensor] change other than its step needs a restart: refused the
 *    same way (one line saying which keys), nothing applied.
 * 3. Build the new exporters (TLS and secret files read, a spool in a directory no leaving exporter holds
 *    opened). A failure closes what was built, one line, the running config stays.
 * 4. Swap, synchronously between two ticks: kept exporters go on as they are (same instance, queue,
 *    spool, process selection, step schedule); each new one is fed from the next sample on, through a
 *    HandoverExporter that holds the samples; the new sensor step applies from the next tick. Splay grids
 *    come from the new plan (this host's key, read at start): the loop moves to the new step's grid, or
 *    back to start-relative ticks when no exporter splays any more; a kept exporter keeps its grid unless
 *    the sensor step moves it; a new one gets its own. A rebuilt exporter goes on with the schedule of the
 *    one it replaces (at the same step and grid: its next sample is the one the old one would have taken),
 *    and no exporter a reload builds holds its first sample as a start-up reading.
 * 5. The leaving exporters (removed, and the old side of rebuilt ones) stop as at shutdown: they flush
 *    within the stop deadline, a spooled one leaves what is unsent in its spool and releases its lock.
 * 6. The new exporters then open the spools they take over (replaying what the old one had not sent),
 *    start, and get the samples held for them, in order: nothing lost, nothing sent twice.
 * 7. One info line says what changed.
 *
 * A SIGHUP while one is being applied is queued (several become one), never interleaved: the file is read
 * again when the running reload is done.
 */
import { resolveCarbonSettings, type CarbonSettings } from '../carbon/settings.js';
import { errorText, UsageError } from '../core/errors.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import { ConfigError } from '../config/run-config.js';
import type { CommandContext } from '../exporters/command.js';
import type { SensorSettings } from '../sensors/settings.js';
import type { AgentPlan } from './plan.js';
import { buildExporter, withSpool, type BuiltExporter } from './attach.js';
import { exporterIdentity, exporterLabel, spoolKey } from './exporter-identity.js';
import { HandoverExporter } from './handover.js';
import type { Hangups } from './hangups.js';
import { diffExporters, diffSensor, type ExporterDiff, type PlanEntry, type SensorPlan } from './plan-diff.js';
import type { ReloadHandler, RunningPipeline } from './pipeline.js';
import { resolveSensorSettings } from './sensor.js';
import { gridClockMs, saySplay, splayPlan, type SplayKey, type SplayPlan } from './splay.js';
import { SteppedExporter } from './stepped-exporter.js';

/** One exporter the agent runs, as a reload sees it. */
export interface RunningExporter extends PlanEntry {
  /** What the scheduler feeds: the exporter at its step. */
  readonly stepped: SteppedExporter;
}

export interface ReloaderOptions {
  /** Re-reads and re-checks the config file: throws ConfigError (every problem) or UsageError (unreadable). */
  readonly load: () => AgentPlan;
  /** The sensor settings of the command line, which the file's [sensor] overrides where it speaks. */
  readonly cliSensor: SensorSettings;
  /** The carbon flags (a reloaded file's [carbon] is checked against what they and the first file gave). */
  readonly cliCarbon?: CarbonSettings;
  /** What the running sensor was built for. */
  readonly sensor: SensorPlan;
  /** The exporters running, in file order; their identities taken once they were built (spool directories exist). */
  readonly exporters: readonly RunningExporter[];
  readonly ctx: CommandContext;
  /** How long a leaving exporter gets to flush, as at shutdown. */
  readonly stopDeadlineMs: number;
  /** The config file, for log lines. */
  readonly file: string;
  /** SIGHUP, caught since the run started. */
  readonly hangups: Pick<Hangups, 'handle'>;
  /** What the run's splay grids were laid with: this host's key (read once, at start) and the loop's phase. */
  readonly splay: { readonly key: SplayKey; readonly samplingPhaseMs: number | null };
  /** The clock the exporters it builds keep their step on (tests); default gridClockMs, as at start. */
  readonly clockMs?: () => number;
}

/** The sensor a plan needs: the file's [sensor] over the command line's, and what its exporters ask of it. */
export function sensorPlanOf(cli: SensorSettings, plan: AgentPlan, cliCarbon: CarbonSettings = {}): SensorPlan {
  return {
    carbon: resolveCarbonSettings(cliCarbon, plan.carbon),
    settings: resolveSensorSettings(cli, plan.sensor),
    stepMs: plan.sensor.stepMs,
    qemu: plan.exporters.some((e) => e.settings.qemu),
    containers: plan.exporters.some((e) => e.settings.containers),
  };
}

/** A new exporter of a reload: built before the swap; `exporter` null while its spool waits for the leaving one. */
interface Fresh {
  readonly entry: PlanEntry;
  readonly built: BuiltExporter;
  exporter: Exporter | null;
  handover: HandoverExporter | null;
}

/** What a refused reload says: one line (every problem on it). */
class ReloadRefused extends Error {}

export class Reloader implements ReloadHandler {
  private running: readonly RunningExporter[];
  private sensor: SensorPlan;
  /** The sampling loop's splay phase (null: on start-relative ticks). */
  private samplingPhaseMs: number | null;
  private applying: Promise<void> | null = null;
  private queued: RunningPipeline | null = null;
  private closed = false;
  private failures = 0;
  private notRunning = 0;
  private readonly logger: Logger;

  constructor(private readonly o: ReloaderOptions) {
    this.running = o.exporters;
    this.sensor = o.sensor;
    this.samplingPhaseMs = o.splay.samplingPhaseMs;
    this.logger = o.ctx.logger;
  }

  /** The exporters running now (tests, and the next reload's comparison). */
  get exporters(): readonly RunningExporter[] {
    return this.running;
  }

  /** The reload being applied, and those queued behind it, are done (tests). */
  async idle(): Promise<void> {
    while (this.applying) await this.applying;
  }

  attach(pipeline: RunningPipeline): void {
    this.o.hangups.handle(() => {
      if (this.closed) this.logger.info({ file: this.o.file }, 'SIGHUP while stopping: no reload');
      else this.request(pipeline);
    });
  }

  /** Re-read the file and apply it to `pipeline`, after the reload in progress if any. */
  request(pipeline: RunningPipeline): void {
    if (this.closed) return;
    if (this.applying) {
      if (!this.queued) this.logger.info({ file: this.o.file }, 'SIGHUP while a reload is being applied: the file is read again once it is done');
      this.queued = pipeline;
      return;
    }
    this.applying = this.applyQueued(pipeline);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.applying;
  }

  private async applyQueued(first: RunningPipeline): Promise<void> {
    let next: RunningPipeline | null = first;
    while (next && !this.closed) {
      this.queued = null;
      try {
        await this.apply(next);
      } catch (err) {
        // A bug, not a bad file: the running config stays as far as it was not swapped yet.
        this.logger.error({ file: this.o.file, err: (err as Error).message, stack: (err as Error).stack }, 'reload failed unexpectedly (please report it)');
      }
      next = this.queued;
    }
    this.applying = null;
  }

  private async apply(pipeline: RunningPipeline): Promise<void> {
    const startedMs = performance.now();
    let plan: AgentPlan;
    let next: PlanEntry[];
    let sensorStepMs: number | null;
    try {
      plan = this.load();
      const sensorDiff = diffSensor(this.sensor, sensorPlanOf(this.o.cliSensor, plan, this.o.cliCarbon));
      if (sensorDiff.restartNeeded.length > 0) {
        throw new ReloadRefused(`a restart is needed to change what the sensor was built with (systemctl restart scaph): ${sensorDiff.restartNeeded.join('; ')}`);
      }
      sensorStepMs = sensorDiff.stepMs;
      next = plan.exporters.map((config) => ({ config, identity: exporterIdentity(config), spoolKey: spoolKey(config) }));
    } catch (err) {
      this.refuse(err);
      return;
    }
    const diff = diffExporters(this.running, next);
    const leaving = [...diff.removed, ...diff.rebuilt.map((p) => p.from)];
    let fresh: Fresh[];
    try {
      fresh = await this.buildNew(diff, leaving);
    } catch (err) {
      this.refuse(err);
      return;
    }
    const stepMs = plan.sensor.stepMs;
    // The grids of the new exporters and sensor step, laid with the key of the start: a kept exporter's stays
    // unless the sensor step moved it, a rebuilt one goes on where the one it replaces was.
    const splay = splayPlan(plan.exporters, stepMs, this.o.splay.key.key);
    this.running = this.swap(pipeline, diff, next, fresh, stepMs, splay);
    if (sensorStepMs !== null || splay.samplingPhaseMs !== this.samplingPhaseMs) pipeline.setStep(stepMs, splay.samplingPhaseMs);
    this.samplingPhaseMs = splay.samplingPhaseMs;
    const regridded = sensorStepMs === null ? [...diff.rebuilt.map((p) => p.to), ...diff.added] : next;
    saySplay(splay, regridded.map((e) => e.config), this.o.splay.key, this.logger);
    const previousStepMs = this.sensor.stepMs;
    this.sensor = { ...this.sensor, stepMs };
    await Promise.all(leaving.map((r) => this.stopLeaving(r)));
    const failed: string[] = [];
    for (const f of fresh) if (!(await this.startNew(f))) failed.push(exporterLabel(f.entry.config));
    this.logger.info(
      {
        file: this.o.file,
        kept: diff.kept.map((p) => exporterLabel(p.to.config)),
        rebuilt: diff.rebuilt.map((p) => exporterLabel(p.to.config)),
        added: diff.added.map((e) => exporterLabel(e.config)),
        removed: diff.removed.map((e) => exporterLabel(e.config)),
        ...(failed.length > 0 ? { notRunning: failed } : {}),
        sensorStepMs: stepMs,
        ...(sensorStepMs === null ? {} : { previousSensorStepMs: previousStepMs }),
        tookMs: Math.round(performance.now() - startedMs),
      },
      `config reloaded: ${summary(diff, failed)}; sensor step ${sensorStepMs === null ? `${stepMs / 1000} s (unchanged)` : `${previousStepMs / 1000} s -> ${stepMs / 1000} s`}`,
    );
  }

  /** The file, re-read and re-checked; its problems as one ReloadRefused. */
  private load(): AgentPlan {
    try {
      return this.o.load();
    } catch (err) {
      if (err instanceof ConfigError) {
        const where = (line: number | null): string => `${err.file}${line === null ? '' : `:${line}`}`;
        throw new ReloadRefused(`${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}: ${err.problems.map((p) => `${where(p.line)}: ${p.message}`).join('; ')}`);
      }
      if (err instanceof UsageError) throw new ReloadRefused(err.message);
      throw err;
    }
  }

  /** One line: why this reload is not applied. The agent goes on as it was. */
  private refuse(err: unknown): void {
    this.failures += 1;
    const why = errorText(err).replace(/\s*\n\s*/g, ' ');
    this.logger.error({ file: this.o.file, refusedReloads: this.failures }, `config not reloaded, the running config stays: ${why}`);
  }

  /**
   * Builds every new exporter before anything changes. A spool whose directory a leaving exporter holds
   * is opened after that one stops; any other spool now (another agent's lock, a newer spool format, a
   * directory that cannot be written refuse the reload here). On failure, closes what it built.
   */
  private async buildNew(diff: ExporterDiff<RunningExporter, PlanEntry>, leaving: readonly RunningExporter[]): Promise<Fresh[]> {
    const held = new Set(leaving.map((r) => r.spoolKey).filter((k): k is string => k !== null));
    const fresh: Fresh[] = [];
    try {
      for (const entry of [...diff.rebuilt.map((p) => p.to), ...diff.added]) {
        let built: BuiltExporter;
        try {
          built = await buildExporter(entry.config, this.o.ctx);
        } catch (err) {
          throw new ReloadRefused(`${exporterLabel(entry.config)}: ${(err as Error).message}`);
        }
        const f: Fresh = { entry, built, exporter: null, handover: null };
        fresh.push(f);
        if (entry.spoolKey !== null && held.has(entry.spoolKey)) continue;
        try {
          f.exporter = withSpool(built, entry.config.spool, this.logger);
        } catch (err) {
          throw new ReloadRefused(`${exporterLabel(entry.config)}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      await Promise.all(fresh.map((f) => discard(f)));
      throw err;
    }
    return fresh;
  }

  /**
   * The new exporter list, handed to the scheduler in one call: it applies from the next tick. A new
   * exporter takes the loop's ticks from its first (no start-up reading to hold), on its splay grid; a
   * rebuilt one goes on with the schedule of the one it replaces.
   */
  private swap(
    pipeline: RunningPipeline,
    diff: ExporterDiff<RunningExporter, PlanEntry>,
    next: readonly PlanEntry[],
    fresh: Fresh[],
    stepMs: number,
    splay: SplayPlan,
  ): RunningExporter[] {
    const kept = new Map(diff.kept.map((p) => [p.to, p.from]));
    const replaced = new Map(diff.rebuilt.map((p) => [p.to, p.from]));
    const built = new Map(fresh.map((f) => [f.entry, f]));
    const running = next.map((entry): RunningExporter => {
      const grid = splay.gridOf(entry.config);
      const from = kept.get(entry);
      if (from) {
        from.stepped.setSensorStep(stepMs, grid);
        return { ...entry, stepped: from.stepped };
      }
      const f = built.get(entry) as Fresh;
      f.handover = new HandoverExporter(f.built.exporter.name);
      const stepped = new SteppedExporter(f.handover, entry.config.stepMs, stepMs, this.o.clockMs ?? gridClockMs, grid, 'loop tick');
      const previous = replaced.get(entry);
      if (previous) stepped.continueSchedule(previous.stepped);
      return { ...entry, stepped };
    });
    pipeline.replaceExporters(running.map((r) => r.stepped));
    return running;
  }

  private async stopLeaving(r: RunningExporter): Promise<void> {
    try {
      await r.stepped.stop(this.o.stopDeadlineMs);
    } catch (err) {
      this.logger.error({ exporter: exporterLabel(r.config), err: (err as Error).message }, 'exporter did not stop cleanly');
    }
  }

  /**
   * Opens the spool a leaving exporter handed over (if any), starts the exporter and gives it what was
   * held for it. Returns false when it cannot run: said in one line; it stays out until a later reload
   * (which then builds it again) or a restart.
   */
  private async startNew(f: Fresh): Promise<boolean> {
    const handover = f.handover as HandoverExporter;
    try {
      f.exporter ??= withSpool(f.built, f.entry.config.spool, this.logger);
      await f.exporter.start();
    } catch (err) {
      const lost = handover.fail();
      await discard(f);
      // Matches no table: the next reload builds it again.
      const identity = `not running #${++this.notRunning}`;
      this.running = this.running.map((r) => (r.stepped.inner === handover ? { ...r, identity } : r));
      this.logger.error(
        { exporter: exporterLabel(f.entry.config), lostSamples: lost, err: (err as Error).message },
        `${exporterLabel(f.entry.config)} could not start after the reload and is not running (${(err as Error).message}): fix it, then reload again`,
      );
      return false;
    }
    handover.attach(f.exporter);
    // Its spool directory exists now: resolved as the next reload will resolve it.
    const spool = spoolKey(f.entry.config);
    if (spool !== f.entry.spoolKey) this.running = this.running.map((r) => (r.stepped.inner === handover ? { ...r, identity: exporterIdentity(r.config), spoolKey: spool } : r));
    return true;
  }
}

function summary(diff: ExporterDiff<RunningExporter, PlanEntry>, failed: readonly string[]): string {
  const part = (n: number, what: string, names: readonly string[]): string => `${n} ${what}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
  const labels = (list: ReadonlyArray<{ readonly config: PlanEntry['config'] }>): string[] => list.map((e) => exporterLabel(e.config));
  return [
    `${diff.kept.length} exporter${diff.kept.length === 1 ? '' : 's'} kept`,
    part(diff.rebuilt.length, 'rebuilt', labels(diff.rebuilt.map((p) => p.to))),
    part(diff.added.length, 'added', labels(diff.added)),
    part(diff.removed.length, 'removed', labels(diff.removed)),
    ...(failed.length > 0 ? [`${failed.length} not running (${failed.join(', ')})`] : []),
  ].join(', ');
}

/**
 * Closes a new exporter that will not run: a push exporter's transport and spool (its lock). A local
 * exporter holds nothing before its start succeeds (and stopping a json exporter that never opened its
 * file would write to stdout).
 */
async function discard(f: Fresh): Promise<void> {
  if (!f.built.push) return;
  try {
    await (f.exporter ?? f.built.exporter).stop(0);
  } catch {
    // Closing something that never ran: nothing left to report.
  }
}
