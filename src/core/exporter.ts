import type { ScaphError } from './errors.js';
import type { Sample } from './sample.js';

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
   * Optional: settles when the exporter can take no more samples (its output is gone): with null when
   * that is a normal end (the reader of stdout left), with the error to report otherwise. The run then
   * stops once no exporter is left.
   */
  readonly ended?: Promise<ScaphError | null>;
}
