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
 * closed) is one of them: left to its default, it would kill scaph mid-write.
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
  const onSignal = (signal: NodeJS.Signals): void => {
    o.logger.info({ signal }, 'stopping');
    scheduler.stop();
  };
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
  const failure = watchEnds(o, () => scheduler.stop());
  scheduler.start();
  await scheduler.done;
  for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
  await Promise.all(
    o.exporters.map(async (exporter) => {
      try {
        await exporter.stop(o.stopDeadlineMs);
      } catch (err) {
        o.logger.error({ exporter: exporter.name, err: (err as Error).message }, 'exporter did not stop cleanly');
      }
    }),
  );
  await o.sensor.close?.();
  if (failure.error) throw failure.error;
}

/**
 * Stops the run once every exporter has ended (a run with other exporters goes on, saying which one
 * stopped and why); keeps the error of the exporter whose end stopped the run.
 */
function watchEnds(o: PipelineOptions, stop: () => void): { error: ScaphError | null } {
  const state: { error: ScaphError | null } = { error: null };
  let running = o.exporters.length;
  for (const exporter of o.exporters) {
    void exporter.ended?.then((err) => {
      running -= 1;
      if (running > 0) {
        if (err) o.logger.error({ exporter: exporter.name, err: err.message }, 'exporter stopped; the others go on');
        return;
      }
      state.error = err;
      stop();
    });
  }
  return state;
}
