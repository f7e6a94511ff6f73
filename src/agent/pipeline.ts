import type { ScaphError } from '../core/errors.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import { Scheduler } from './scheduler.js';
import type { Sensor } from '../core/sensor.js';

export interface PipelineOptions {
  readonly sensor: Sensor;
  readonly exporters: readonly Exporter[];
  readonly stepMs: number;
  /** First reading this long after start (default: one step), so a long step does not leave a long blank start. */
  readonly firstSampleMs?: number;
  /** Splay: readings after the first on this phase of the wall clock within the step (splay.ts); null: every step from the first. */
  readonly samplingPhaseMs?: number | null;
  readonly durationMs: number | null;
  readonly logger: Logger;
  /** How long exporters get to flush on stop, ms. */
  readonly stopDeadlineMs: number;
  /** `scaph run`: SIGHUP is the handler's (reload.ts: it re-reads the config). Without it SIGHUP stops the run like SIGTERM. */
  readonly reload?: ReloadHandler;
}

/** What a reload may change in a running pipeline: both apply from the next tick. */
export interface RunningPipeline {
  /** The exporters samples go to; stopping those that leave is the caller's job. */
  replaceExporters(exporters: readonly Exporter[]): void;
  /** The sampling step, and the loop's splay phase within it (null: no exporter splays). */
  setStep(stepMs: number, phaseMs: number | null): void;
}

export interface ReloadHandler {
  /** The loop runs: from now on a reload applies to `pipeline`. */
  attach(pipeline: RunningPipeline): void;
  /** The run is stopping: resolves once a reload in progress is applied; no further one starts. */
  close(): Promise<void>;
}

/** The first reading comes at most this long after start, whatever the step. */
export const FIRST_SAMPLE_MAX_MS = 1000;

/**
 * When the first reading is taken: within a second of start (a scrape or a push at start-up gets figures
 * instead of a whole step of nothing), then every step. Except in a VM guest (`--vm`): its tree moves once
 * per step of the host's `scaph qemu`, and a first interval shorter than that would show 0 W or a spike.
 */
export function firstSampleMs(stepMs: number, vm: boolean): number {
  return vm ? stepMs : Math.min(stepMs, FIRST_SAMPLE_MAX_MS);
}

/**
 * Signals that stop the run cleanly (exporters flush; the json array is closed). SIGHUP (the terminal was
 * closed) is one of them for an exporter subcommand: left to its default, it would kill scaph mid-write.
 * `scaph run` (a service, with a config to re-read) takes SIGHUP as "reload" instead.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs sensor -> scheduler -> exporters until the duration ends, a stop signal arrives, or no exporter
 * can take samples any more (see Exporter.ended), then stops every exporter within the deadline. Resolves
 * when everything is stopped; rejects with the error an exporter ended with, if any.
 */
export async function runPipeline(o: PipelineOptions): Promise<void> {
  for (const exporter of o.exporters) await exporter.start();
  const scheduler = new Scheduler(o.sensor, o.exporters, {
    stepMs: o.stepMs,
    ...(o.firstSampleMs === undefined ? {} : { firstTickMs: o.firstSampleMs }),
    phaseMs: o.samplingPhaseMs ?? null,
    durationMs: o.durationMs,
    logger: o.logger,
  });
  const ends = new EndWatch(o.logger, () => scheduler.stop());
  let exporters = o.exporters;
  ends.watch(exporters);
  const pipeline: RunningPipeline = {
    replaceExporters: (next) => {
      exporters = next;
      scheduler.setExporters(next);
      ends.watch(next);
    },
    setStep: (stepMs, phaseMs) => scheduler.setStep(stepMs, phaseMs),
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    o.logger.info({ signal }, 'stopping');
    scheduler.stop();
  };
  const stopSignals = o.reload ? STOP_SIGNALS.filter((s) => s !== 'SIGHUP') : STOP_SIGNALS;
  for (const signal of stopSignals) process.once(signal, onSignal);
  o.reload?.attach(pipeline);
  scheduler.start();
  await scheduler.done;
  for (const signal of stopSignals) process.removeListener(signal, onSignal);
  // A reload being applied finishes first: the exporters it started are in the list stopped below.
  await o.reload?.close();
  await Promise.all(
    exporters.map(async (exporter) => {
      try {
        await exporter.stop(o.stopDeadlineMs);
      } catch (err) {
        o.logger.error({ exporter: exporter.name, err: (err as Error).message }, 'exporter did not stop cleanly');
      }
    }),
  );
  await o.sensor.close?.();
  if (ends.error) throw ends.error;
}

/**
 * Stops the run once every exporter samples go to has ended (a run with other exporters goes on, saying
 * which one stopped and why); keeps the error of the exporter whose end stopped the run. An exporter a
 * reload removed no longer counts.
 */
class EndWatch {
  error: ScaphError | null = null;
  private current: readonly Exporter[] = [];
  private readonly ended = new WeakSet<Exporter>();
  private readonly watched = new WeakSet<Exporter>();

  constructor(
    private readonly logger: Logger,
    private readonly stop: () => void,
  ) {}

  /** `exporters` are the ones samples go to from now on. */
  watch(exporters: readonly Exporter[]): void {
    this.current = exporters;
    for (const exporter of exporters) {
      if (this.watched.has(exporter)) continue;
      this.watched.add(exporter);
      void exporter.ended?.then((err) => this.onEnded(exporter, err));
    }
    if (exporters.length > 0 && exporters.every((e) => this.ended.has(e))) this.stop();
  }

  private onEnded(exporter: Exporter, err: ScaphError | null): void {
    this.ended.add(exporter);
    if (!this.current.includes(exporter)) return;
    if (this.current.some((e) => !this.ended.has(e))) {
      if (err) this.logger.error({ exporter: exporter.name, err: err.message }, 'exporter stopped; the others go on');
      return;
    }
    this.error = err;
    this.stop();
  }
}
