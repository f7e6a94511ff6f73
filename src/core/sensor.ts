import { ScaphError } from './errors.js';
import type { Sample } from './sample.js';

/**
 * A sensor reads counters and CPU time and turns two consecutive readings into a Sample.
 * `start` takes the first reading (and throws a named error when the source is missing or
 * unreadable); every `read` after that returns the sample for the interval since the previous one.
 */
export interface Sensor {
  readonly kind: string;
  start(): Promise<void>;
  read(): Promise<Sample>;
  /** Releases open files and handles; optional. */
  close?(): Promise<void>;
}

/**
 * The sensor has no sample for this step: what it measures cannot be measured right now (RAPL zones gone
 * or unreadable). Not a failure of the run: the step is not published, and readings resume by themselves.
 */
export class MeasurementUnavailableError extends ScaphError {}
