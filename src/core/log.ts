/**
 * The logger: pino (the house logger), writing one line per event to stderr, synchronously, so stdout
 * stays for the stdout/json output and a warning can never land inside a table being printed.
 *
 * Two formats (`--log-format`, else $SCAPH_LOG_FORMAT, else text):
 * - text, for people (log-text.ts): `WARN  message key=value … time=…`;
 * - json, pino's own line ({"level":40,"time":…,"pid":…,"name":"scaph",…,"msg":…}) for log pipelines.
 * Both go through one destination that, when stderr is the systemd journal (journald.ts), starts each line
 * with its syslog priority (`<4>`), so `journalctl -p warning` filters scaph's lines; the text line then
 * leaves its time out (the journal stamps every line).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { UsageError } from './errors.js';
import { isJournalStream, priorityOfLevel, withPriority, type JournalPriority } from './journald.js';
import { formatTextLine } from './log-text.js';

export type { Logger };

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** The levels $SCAPH_LOG_LEVEL may name (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSettings {
  /** -v count: 1 = info, 2 or more = debug; 0 = `defaultLevel`. */
  readonly verbosity: number;
  /**
   * The level without -v: `info` for an agent (under systemd an operator sees that deliveries work, then
   * the summaries), `warn` where the output is for a person at the terminal (stdout, json).
   */
  readonly defaultLevel: 'info' | 'warn';
  /** --log-format, when given: it wins over $SCAPH_LOG_FORMAT. */
  readonly format: LogFormat | undefined;
}

export interface LogSink {
  /** Where lines go (default: fd 2, synchronously). `line` ends with a newline. */
  write(line: string): void;
  /** stderr is the systemd journal (default: JOURNAL_STREAM matches fd 2). */
  readonly journal: boolean;
}

/** The level a run logs at: $SCAPH_LOG_LEVEL when set, else from -v and the command's default. */
export function resolveLogLevel(settings: LogSettings, env: NodeJS.ProcessEnv): LogLevel {
  const fromEnv = env['SCAPH_LOG_LEVEL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const level = fromEnv.trim().toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new UsageError(`SCAPH_LOG_LEVEL="${fromEnv}" is not a log level: use one of ${LOG_LEVELS.join(', ')} (or unset it and use -v / -vv)`);
    }
    return level as LogLevel;
  }
  if (settings.verbosity >= 2) return 'debug';
  if (settings.verbosity === 1) return 'info';
  return settings.defaultLevel;
}

/** The format: --log-format, else $SCAPH_LOG_FORMAT, else text. */
export function resolveLogFormat(settings: LogSettings, env: NodeJS.ProcessEnv): LogFormat {
  if (settings.format !== undefined) return settings.format;
  const fromEnv = env['SCAPH_LOG_FORMAT'];
  if (fromEnv === undefined || fromEnv === '') return 'text';
  const format = fromEnv.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`SCAPH_LOG_FORMAT="${fromEnv}" is not a log format: use text or json (or unset it; --log-format wins over it)`);
  }
  return format as LogFormat;
}

/** The agent's logger (throws a UsageError for a bad $SCAPH_LOG_LEVEL or $SCAPH_LOG_FORMAT). */
export function createLogger(settings: LogSettings, env: NodeJS.ProcessEnv = process.env, sink: LogSink = stderrSink(env)): Logger {
  const level = resolveLogLevel(settings, env);
  const format = resolveLogFormat(settings, env);
  return pino({ name: 'scaph', level, base: { pid: process.pid } }, new LineDestination(format, sink));
}

/** stderr, written synchronously (sonic-boom retries a pipe that is momentarily full). */
export function stderrSink(env: NodeJS.ProcessEnv = process.env): LogSink {
  const out = pino.destination({ fd: 2, sync: true });
  return { write: (line) => void out.write(line), journal: isJournalStream(env) };
}

/** Turns each of pino's JSON lines into the chosen format, with the journal priority when it applies. */
class LineDestination implements DestinationStream {
  constructor(
    private readonly format: LogFormat,
    private readonly sink: LogSink,
  ) {}

  write(line: string): void {
    if (this.format === 'json' && !this.sink.journal) {
      this.sink.write(line);
      return;
    }
    const record = JSON.parse(line) as Record<string, unknown>;
    const level = typeof record['level'] === 'number' ? record['level'] : 30;
    const text = this.format === 'json' ? line.trimEnd() : formatTextLine(record, { withoutTime: this.sink.journal });
    this.sink.write(`${withPriority(text, priorityOfLevel(level), this.sink.journal)}\n`);
  }
}

/**
 * A line written to stderr outside the logger (the banner, the one-line error before an exit), with the
 * journal priority when stderr is the journal, so `journalctl -p err` shows why scaph stopped.
 */
export function writeStderrLine(text: string, priority: JournalPriority, journal: boolean = isJournalStream(process.env)): void {
  // Every line of a multi-line text carries the priority: the journal files each line on its own.
  process.stderr.write(`${text.split('\n').map((l) => withPriority(l, priority, journal)).join('\n')}\n`);
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
