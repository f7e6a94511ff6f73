import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSummary } from '../../../src/agent/run-command.js';
import { splitStepKeys, stepSpacing } from '../../../src/config/exporter-step.js';
import { ConfigError, loadRunConfig, type RunConfig } from '../../../src/config/run-config.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { riemannCommand } from '../../../src/exporters/riemann/command.js';
import type { PrometheusSettings } from '../../../src/exporters/prometheus/command.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-step-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(toml: string, env: NodeJS.ProcessEnv = {}): RunConfig {
  const path = join(dir, `c${n++}.toml`);
  writeFileSync(path, toml);
  return loadRunConfig(path, { env });
}

/** The problems of a refused file, without the file name and the closing count line. */
function problems(toml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(toml, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n').slice(0, -1).map((l) => l.replace(/^[^:]+\.toml:/, ''));
  }
  throw new Error('expected a ConfigError');
}

/** The keys an exporter of each type needs besides its step. */
const REQUIRED: Readonly<Record<string, string>> = { 'remote-write': 'url = "http://127.0.0.1:9/api/v1/write"\n', warp10: 'write_token = "t"\n' };
const table = (type: string, extra = ''): string => `[[exporter]]\ntype = "${type}"\n${REQUIRED[type] ?? ''}${extra}`;

describe('exporter steps in a run config', () => {
  it('an exporter without a step key keeps its subcommand default, not the sensor step', () => {
    const c = load(EXPORTER_COMMANDS.map((s) => table(s.name)).join('\n'));
    expect(c.exporters.map((e) => [e.type, e.stepMs, e.stepFrom, e.settings.stepMs])).toEqual([
      ['stdout', 2000, 'default', 2000],
      ['json', 2000, 'default', 2000],
      ['prometheus', 5000, 'default', 5000],
      ['prometheus-push', 30_000, 'default', 30_000],
      ['remote-write', 5000, 'default', 5000],
      ['otlp', 5000, 'default', 5000],
      ['riemann', 5000, 'default', 5000],
      ['warp10', 30_000, 'default', 30_000],
      ['qemu', 5000, 'default', 5000],
    ]);
    // No exporter is faster than 2 s: the sensor keeps its 2 s.
    expect(c.sensor).toMatchObject({ stepMs: 2000, stepFrom: 'default' });
  });

  it("honours riemann's dispatch_interval (the issue's 7 s), `step`, kebab-case and durations alike", () => {
    for (const [key, value] of [['dispatch_interval', '7'], ['dispatch-interval', '7'], ['step', '7'], ['step', '"7s"'], ['dispatch_interval', '"7000ms"']] as const) {
      const [riemann] = load(table('riemann', `${key} = ${value}\n`)).exporters;
      expect(riemann?.stepMs, `${key} = ${value}`).toBe(7000);
      expect(riemann?.settings.stepMs).toBe(7000);
      expect(riemann?.opts['dispatchInterval']).toBe(7);
      expect(riemann?.stepFrom).toBe(key);
    }
    // Two keys for one option: accepted when they agree, refused naming both when they do not.
    expect(load(table('riemann', 'step = 7\ndispatch_interval = 7\n')).exporters[0]?.stepMs).toBe(7000);
    expect(problems(table('riemann', 'step = 5\ndispatch_interval = 7\n'))).toEqual([
      '4: exporter[0].dispatch_interval: (riemann) step = 5 and dispatch_interval = 7 both set the riemann step (--dispatch-interval): keep one',
    ]);
  });

  it("json's step and step_nano add up, as -s and -n do; step_nano alone adds to the default 2 s", () => {
    const c = load(`[sensor]\nstep = "100ms"\n${table('json', 'step = 0\nstep_nano = 100000000\n')}\n${table('json', 'step_nano = 5000000\n')}`);
    expect(c.exporters.map((e) => [e.stepMs, e.stepFrom])).toEqual([
      [100, 'step + step_nano'],
      [2005, 'step_nano'],
    ]);
    expect(problems(table('json', 'step = 0\n'))).toEqual(['1: exporter[0]: (json) the step must be longer than 0']);
  });

  it('refuses a step value the option refuses, at the key the user wrote', () => {
    expect(problems(table('riemann', 'step = 0\n'))).toEqual(['3: exporter[0].step: (riemann) -d/--dispatch-interval must be a positive number of seconds, got "0"']);
    expect(problems(table('warp10', 'step = "soon"\n'))).toEqual([
      '4: exporter[0].step: (warp10) must be a positive number of seconds or a duration like "500ms", "30s", "24h", "7d", got "soon"',
    ]);
  });

  it('the sensor samples at the shortest exporter step when no [sensor] step is written and one is shorter than 2 s', () => {
    const c = load(`${table('json', 'step = 0.5\n')}\n${table('warp10')}`);
    expect(c.sensor).toMatchObject({ stepMs: 500, stepFrom: 'the shortest exporter step' });
    expect(c.exporters.map((e) => e.stepMs)).toEqual([500, 30_000]);
  });

  it('refuses an exporter step written below a [sensor] step written; raises a default below it to it', () => {
    expect(problems(`[sensor]\nstep = 10\n${table('riemann', 'dispatch_interval = 7\n')}`)).toEqual([
      '5: exporter[0].dispatch_interval: (riemann) a step of 7 s is shorter than [sensor] step (10 s): the sensor samples no faster than that. Lower [sensor] step to 7 or raise this step',
    ]);
    const c = load(`[sensor]\nstep = 10\n${table('prometheus')}\n${table('warp10')}`);
    const [prometheus, warp10] = c.exporters;
    expect(prometheus?.stepMs).toBe(10_000);
    expect(prometheus?.stepFrom).toBe('default 5 s, raised to [sensor] step');
    // The settings follow the step the exporter really gets: /healthz tolerates 3 of them, not 3 × 5 s.
    expect((prometheus?.settings as PrometheusSettings).healthMaxAgeMs).toBe(30_000);
    expect(warp10?.stepMs).toBe(30_000);
    expect(warp10?.stepFrom).toBe('default');
  });

  it('--check says each step, where it came from and, off the sensor grid, how far apart the samples are', () => {
    const c = load(`${table('riemann', 'dispatch_interval = 7\n')}\n${table('warp10')}\n${table('prometheus')}`);
    const head = checkSummary(c).split('\n')[0];
    expect(head).toBe(
      `${c.file}: OK: sensor from the command line every 2 s (default); 3 exporters: riemann every 7 s (dispatch_interval; 6 s or 8 s apart on the 2 s sensor step), ` +
        'warp10 every 30 s (default), prometheus every 5 s (default; 4 s or 6 s apart on the 2 s sensor step)',
    );
  });

  it('splitStepKeys takes the step keys out of a table and leaves the rest', () => {
    expect(splitStepKeys(riemannCommand, { address: 'r', 'dispatch-interval': '30s', ttl: 60 })).toEqual({
      rest: { address: 'r', ttl: 60 },
      seconds: 30,
      writtenAs: 'dispatch-interval',
      issues: [],
    });
    expect(splitStepKeys(riemannCommand, { address: 'r' })).toEqual({ rest: { address: 'r' }, seconds: undefined, writtenAs: undefined, issues: [] });
  });

  it('stepSpacing: the two multiples of the sensor step around an exporter step off the grid', () => {
    expect(stepSpacing(7000, 2000)).toEqual({ lowerMs: 6000, upperMs: 8000 });
    expect(stepSpacing(7000, 5000)).toEqual({ lowerMs: 5000, upperMs: 10_000 });
    expect(stepSpacing(30_000, 2000)).toBeNull();
    expect(stepSpacing(300, 100)).toBeNull();
    expect(stepSpacing(1000, 2000)).toBeNull();
  });
});

describe('${CREDENTIALS_DIRECTORY} in a run config', () => {
  const toml = `${table('remote-write', 'bearer_token_file = "${CREDENTIALS_DIRECTORY}/scaph_remote-write-token"\n')}\n${table('riemann', 'tls = true\nca = "${CREDENTIALS_DIRECTORY}/scaph_ca.pem"\n')}`;

  it('unset: one problem per key naming the variable and how to set it, no missing-file noise after it', () => {
    const lines = problems(toml);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      '4: exporter[0].bearer_token_file: environment variable CREDENTIALS_DIRECTORY is not set (referenced as ${CREDENTIALS_DIRECTORY}): ' +
        'systemd sets it for a unit with LoadCredential=; outside systemd give "scaph run --credentials-directory DIR", DIR holding the files as the unit names them',
    );
    expect(lines[1]).toMatch(/^9: exporter\[1\]\.ca: environment variable CREDENTIALS_DIRECTORY is not set/);
  });

  it('set: the paths expand into it', () => {
    const c = load(toml, { CREDENTIALS_DIRECTORY: '/run/credentials/scaph.service' });
    expect(c.exporters[0]?.opts['bearerTokenFile']).toBe('/run/credentials/scaph.service/scaph_remote-write-token');
    expect(c.exporters[1]?.opts['ca']).toBe('/run/credentials/scaph.service/scaph_ca.pem');
  });
});
