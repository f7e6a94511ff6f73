/**
 * Upgrading over a spool: scaph 0.1.0 left unsent samples on disk (a captured spool, see
 * test/support/fixtures/spool-0.1.0/README.md); this build, started on that directory, sends them first,
 * with their timestamps and values, then its own samples, and marks the directory with its format.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, HOST_SERIES, jsonReportTimes, missing, runConfig, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';

const FIXTURE = join(packageRoot(), 'test', 'support', 'fixtures', 'spool-0.1.0');

let warp10: Warp10TestServer;
beforeAll(async () => {
  warp10 = await Warp10TestServer.start();
});
afterAll(async () => {
  await warp10.stop();
});

/** Host power stored, by timestamp (ms). */
function stored(): Map<number, number> {
  return new Map(warp10.points.filter((p) => p.className === HOST_SERIES).map((p) => [p.timestampUs / 1000, Number(p.value)]));
}

describe('a spool written by scaph 0.1.0', () => {
  it("is replayed by this build: 0.1.0's unsent samples arrive first, exactly, then every new one; the delivered ones are not sent again", async () => {
    const dir = tempDir('scaph-upgrade-');
    const spool = join(dir, 'spool');
    cpSync(FIXTURE, spool, { recursive: true });
    // The captured samples are as old as the capture: keep them however long ago that was (Warp 10 takes
    // any timestamp; remote-write would give up on them after its max_age).
    const { config, sampled } = runConfig(
      dir,
      `type = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "write-token"\nstep = "250ms"\nspool_dir = "${spool}"\nspool_max_age = "36500d"`,
    );
    const agent = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000 });
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 4 && missing(jsonReportTimes(sampled), new Set(stored().keys())).length === 0, 20_000, 'the new samples');
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
    }
    const host = stored();
    expect(host.get(1796631172395)).toBe(17069608);
    expect(host.get(1796631173395)).toBe(16904044);
    // Records 0 and 1 were acknowledged by 0.1.0: not sent again.
    expect(host.has(1796631170393)).toBe(false);
    expect(host.has(1796631171397)).toBe(false);
    expect(host.size).toBe(2 + jsonReportTimes(sampled).length);
    // First in, as the oldest.
    expect(warp10.points.find((p) => p.className === HOST_SERIES)?.timestampUs).toBe(1796631172395_000);
    expect(readFileSync(join(spool, 'format'), 'utf8')).toBe('scaph spool format 1\n');
  });
});
