/**
 * A problem with one key of an [[exporter]] table (key null: the table as a whole), as the readers of
 * its keys (exporter-options.ts, exporter-step.ts) find them and run-config.ts reports them, each with
 * its line.
 */
export interface KeyIssue {
  readonly key: string | null;
  readonly message: string;
}
