/**
 * A scaph agent for the SIGKILL test: `scaph run -c CONFIG` with a synthetic sensor (host power derived
 * from the timestamp, so stored values can be checked) and the test exporters. Compiled and spawned by
 * spool-prometheus.test.ts. Usage: node spool-agent.js CONFIG
 */
import { runFromConfig } from '../../../src/agent/run-command.js';
import { createLogger } from '../../../src/core/log.js';
import { remoteWriteCommand } from '../../../src/exporters/remote-write/command.js';
import { syntheticSample } from '../fixtures/synthetic-sample.js';
import { RUN_GLOBALS } from '../fixtures/run-globals.js';
import { takenLogCommand } from '../fakes/taken-log-command.js';

/** The host power a sample taken at `timestampMs` reports, µW. */
export function powerAt(timestampMs: number): number {
  return (timestampMs % 1_000_000) * 10;
}

const config = process.argv[2];
if (config) {
  const logger = createLogger({ verbosity: 1, defaultLevel: 'info', format: undefined });
  runFromConfig(
    config,
    false,
    { ...RUN_GLOBALS, sensor: { ...RUN_GLOBALS.sensor, kind: 'estimate', powercapPath: '/nonexistent' } },
    logger,
    {
      commands: [remoteWriteCommand, takenLogCommand],
      createSensor: async () => ({
        kind: 'synthetic',
        start: async () => undefined,
        read: async () => {
          const t = Date.now();
          return syntheticSample({ timestampMs: t, socketPowersUw: [powerAt(t)] });
        },
      }),
    },
  ).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`agent: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
