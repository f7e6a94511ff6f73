import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stepSpacing } from '../config/exporter-step.js';
import { loadRunConfig, type RunConfig } from '../config/run-config.js';
import { errorCodeOrText, UsageError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ExporterCommandSpec } from '../exporters/command.js';
import { signedSeconds } from '../exporters/parse.js';
import { addDeclaredOptions, switchOption, textOption, valueOption, type ValuesOf } from '../config/declared-options.js';
import { VERSION } from '../core/version.js';
import { hwmonCheckLines } from '../sensors/hwmon/check.js';
import type { SensorSettings } from '../sensors/settings.js';
import { runAgent, type AgentDeps, type AgentGlobals } from './assemble.js';
import { resolveSensorSettings } from './sensor.js';

export interface RunDeps extends AgentDeps {
  /** Exporter types a config may name (those whose spec pushes may take a spool). Default: EXPORTER_COMMANDS. */
  readonly commands?: readonly ExporterCommandSpec[];
  /** Where --check prints its summary line. Default stdout. */
  readonly print?: (line: string) => void;
}

export interface RunOptions {
  /** Stop after this long (`scaph run -t`); null = until SIGINT/SIGTERM. */
  readonly durationMs: number | null;
  readonly stopDeadlineMs?: number;
  /** What `${CREDENTIALS_DIRECTORY}` expands to (`--credentials-directory`), instead of the environment's. */
  readonly credentialsDirectory?: string;
}

/** The options of `scaph run`, declared once (config/declared-options.ts). */
export const RUN_OPTIONS = {
  config: textOption('-c, --config <file>', 'config file: [sensor] and [[exporter]] tables (TOML, or YAML by extension/content)', { mandatory: true }),
  check: switchOption('--check', 'validate the file (keys, values, exporter types, input files) and exit: 0 if valid, 2 with every problem', { showDefault: true }),
  timeout: valueOption('-t, --timeout <seconds>', 'stop after this many seconds (default: run until SIGINT/SIGTERM)', signedSeconds('-t/--timeout'), {
    unit: 'seconds',
    role: 'run-duration',
  }),
  credentialsDirectory: textOption(
    '--credentials-directory <dir>',
    'what ${CREDENTIALS_DIRECTORY} in the file stands for (systemd sets it for the unit): a directory holding the secrets as the unit names them, to --check a file outside systemd',
  ),
};

export type RunValues = ValuesOf<typeof RUN_OPTIONS>;

/** Adds `-c`, `--check`, `-t` and `--credentials-directory` to the `run` command cli.ts creates. */
export function configureRunCommand(cmd: Command): Command {
  return addDeclaredOptions(cmd.description('Run one sensor and several exporters from a config file (TOML or YAML)'), RUN_OPTIONS)
    .addHelpText(
      'after',
      '\nEach exporter takes a sample every `step` (riemann: `dispatch_interval`), or its subcommand\'s default\n' +
        'step when the table has none; --check prints each step and where it came from.\n' +
        '\nSignals: SIGINT and SIGTERM stop the agent (push queues flushed within 10 s, the rest kept in the spool).\n' +
        'SIGHUP (systemctl reload scaph) re-reads and re-checks the file, with the checks of --check: a valid file\n' +
        'applies from the next step (unchanged exporters keep their queues and spools; nothing is lost or sent\n' +
        'twice); an invalid one, or a [sensor] change other than its step (that needs a restart), leaves the\n' +
        'running config as it is, with one log line saying why. See docs/fleet.md, "Changing the config".\n' +
        '\nExample:\n  scaph run -c /etc/scaph/scaph.toml --check\n  scaph run -c /etc/scaph/scaph.toml\n' +
        '  scaph run -c scaph.toml --check --credentials-directory ./credentials\n',
    );
}

/**
 * `scaph run -c FILE [--check]`: one sensor, one sampling loop at [sensor] step, every [[exporter]] fed
 * the latest sample at its own step (SteppedExporter), push exporters each with their own queue (and
 * optional disk spool), so one dead backend never slows another. Throws ConfigError (exit 2) on a bad file.
 */
export async function runFromConfig(file: string, check: boolean, globals: AgentGlobals, logger: Logger, deps: RunDeps, run: RunOptions = { durationMs: null }): Promise<void> {
  const env = withCredentialsDirectory(deps.env ?? process.env, run.credentialsDirectory);
  // One loader for the start, --check and every reload (SIGHUP): the same checks, input files included.
  const load = (): RunConfig => {
    const config = loadRunConfig(file, { checkFiles: true, env, ...(deps.commands ? { commands: deps.commands } : {}) });
    warnAboutExposedSecrets(config, logger);
    return config;
  };
  const config = load();
  if (check) {
    const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
    print(checkSummary(config));
    const sensorLines = await sensorCheckLines(resolveSensorSettings(globals.sensor, config.sensor));
    if (sensorLines.length > 0) print(sensorLines.join('\n'));
    return;
  }
  await runAgent(config, globals, logger, deps, {
    ...run,
    banner: (exporters, sensor) => `scaph ${VERSION}: run ${file}: ${exporters.map((x) => x.name).join(', ')}; sensor ${sensor.kind}`,
    reload: { file, load },
  });
}

/**
 * What --check says of a platform meter: the hwmon devices found and the channels host power would sum (exit
 * 1 as at start when none is usable); for Redfish, what would be asked, without contacting the BMC (a check
 * run by systemd before every start or reload must not wait for a slow BMC).
 */
async function sensorCheckLines(s: SensorSettings): Promise<string[]> {
  if (s.kind === 'hwmon') return hwmonCheckLines(s.hwmonPath, s.hwmonChannels);
  if (s.kind !== 'redfish') return [];
  const chassis = s.redfishChassis === undefined ? 'the first chassis that reports power' : `chassis ${s.redfishChassis}`;
  return [`  redfish: ${s.redfishUrl ?? '(no --redfish-url)'} as user ${s.redfishUser ?? '(no --redfish-user)'}, ${chassis}, every ${s.redfishIntervalMs / 1000} s (the BMC is not contacted by --check)`];
}

/**
 * `--credentials-directory DIR`: the environment with CREDENTIALS_DIRECTORY set to DIR (absolute), for
 * checking a unit's config outside systemd. Refused when DIR is not a directory: every credential would
 * then be reported missing, one by one.
 */
function withCredentialsDirectory(env: NodeJS.ProcessEnv, dir: string | undefined): NodeJS.ProcessEnv {
  if (dir === undefined) return env;
  const path = resolve(dir);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new UsageError(`--credentials-directory "${path}" cannot be used (${errorCodeOrText(err)}): give the directory holding the credentials`);
  }
  if (!isDir) throw new UsageError(`--credentials-directory "${path}" is not a directory: give the directory holding the credentials`);
  return { ...env, CREDENTIALS_DIRECTORY: path };
}

/**
 * `scaph.toml: OK: sensor every 2 s (default); 3 exporters: remote-write every 1 s (step; spool /var/…),
 * warp10 every 30 s (default), …`: each step and where it came from; then one line per path the file
 * names, as scaph will use it (relative ones resolved against the file's directory).
 */
export function checkSummary(c: RunConfig): string {
  const parts = c.exporters.map((e) => {
    const spacing = stepSpacing(e.stepMs, c.sensor.stepMs);
    const notes = [
      e.stepFrom,
      spacing && `${seconds(spacing.lowerMs)} or ${seconds(spacing.upperMs)} apart on the ${seconds(c.sensor.stepMs)} sensor step`,
      e.spool && `spool ${e.spool.dir}`,
    ].filter((n): n is string => typeof n === 'string' && n !== '');
    return `${e.type} every ${seconds(e.stepMs)}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
  });
  const n = c.exporters.length;
  const attribution = c.sensor.attribution ? `, ${c.sensor.attribution} attribution` : '';
  const from = c.sensor.stepFrom ? ` (${c.sensor.stepFrom})` : '';
  const head = `${c.file}: OK: sensor ${c.sensor.kind ?? 'from the command line'} every ${seconds(c.sensor.stepMs)}${from}${attribution}; ${n} exporter${n === 1 ? '' : 's'}: ${parts.join(', ')}`;
  return [head, ...c.paths.map((p) => `  ${p.where} = ${p.path}`)].join('\n');
}

/**
 * A file holding a secret inline should be readable by scaph's user only, as ssh insists for its keys:
 * one warning naming the file and the fix when group or others may read it.
 */
function warnAboutExposedSecrets(c: RunConfig, logger: Logger): void {
  if (c.inlineSecrets.length === 0) return;
  let mode: number;
  try {
    mode = statSync(c.file).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o044) === 0) return;
  logger.warn(
    { file: c.file, mode: `0${mode.toString(8)}`, keys: c.inlineSecrets },
    `config file ${c.file} holds a secret (${c.inlineSecrets.join(', ')}) and other users may read it: ` +
      `run "chmod 600 ${c.file}" (owned by scaph's user), or move the secret out of the file (write_token_file = "...", or "\${ENV_VAR}")`,
  );
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}
