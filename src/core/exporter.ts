import type { ScaphError } from './errors.js';
import type { Sample } from './sample.js';

/** A step whose reading failed (host power could not be measured, procfs unreadable): it has no sample. */
export interface MissedStep {
  /** When the reading failed, wall clock, ms since the epoch. */
  readonly timestampMs: number;
  /** Why, as the reading's error says it. */
  readonly reason: string;
}

/**
 * An exporter takes every sample the scheduler produces. `export` must not block: it prints, stores
 * the latest sample, or enqueues for a push transport, and returns. `stop` flushes within a deadline.
 */
export interface Exporter {
  /** A short name for logs, e.g. "stdout", "remote-write". */
  readonly name: string;
  start(): Promise<void>;
  export(sample: Sample): void;
  stop(deadlineMs: number): Promise<void>;
  /**
   * Optional: a step had no sample (its reading failed). An exporter whose output presents a latest
   * sample as current (prometheus' /metrics, the Pushgateway's group) withdraws its figures until the next
   * sample and returns true; the others (each figure printed or pushed once, with its own timestamp) have
   * nothing to withdraw and return false. A wrapper that paces samples (SteppedExporter) passes the next
   * sample at once after a true, so figures come back as soon as readings do.
   */
  missed?(step: MissedStep): boolean;
  /**
   * Optional: settles when the exporter can take no more samples (its output is gone): with null when
   * that is a normal end (the reader of stdout left), with the error to report otherwise. The run then
   * stops once no exporter is left.
   */
  readonly ended?: Promise<ScaphError | null>;
}
