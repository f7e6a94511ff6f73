import { pino, type Logger } from 'pino';

export type { Logger };

/** Verbosity from -v flags: 0 = warn, 1 = info, 2+ = debug. SCAPH_LOG_LEVEL overrides. */
export function createLogger(verbosity: number): Logger {
  const fromEnv = process.env['SCAPH_LOG_LEVEL'];
  const level = fromEnv ?? (verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn');
  // Logs go to stderr (fd 2) so stdout stays clean for the stdout/json exporters.
  return pino({ name: 'scaph', level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
