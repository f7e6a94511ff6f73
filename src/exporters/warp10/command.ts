import { UsageError } from '../../core/errors.js';
import { readSecretFile } from '../../net/secret.js';
import { Warp10Transport, warp10BaseUrl, WARP10_DEFAULTS } from './transport.js';
import type { PushExporterCommand, PushSettings } from '../command.js';
import { addBackoffOptions, BACKOFF_HELP, pushSettings } from '../backoff.js';
import { addSplayOption, SPLAY_HELP } from '../splay-option.js';
import { addFilterOptions, FILTER_HELP, filterSettings } from '../filter-options.js';
import { extraLabel } from '../extra-labels.js';
import { destinationPort, hostName, nonNegativeInt, positiveSeconds, RepeatableOption } from '../parse.js';
import { addSelectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

export const WARP10_TOKEN_ENV = 'SCAPH_WARP10_WRITE_TOKEN';

export interface Warp10Settings extends PushSettings {
  readonly baseUrl: string;
  readonly writeToken: string | undefined;
  readonly writeTokenFile: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly gzipThresholdBytes: number;
}

export const warp10Command: PushExporterCommand<Warp10Settings> = {
  name: 'warp10',
  summary: 'Push metrics to a Warp 10 platform (GTS over HTTP, numeric values, retried)',
  push: true,
  stepOption: '--step',
  configure: (cmd) =>
    addFilterOptions(addSplayOption(addBackoffOptions(addSelectionOptions(cmd
      .option('-H, --host <host>', 'Warp 10 host name or address', hostName('-H/--host'), 'localhost')
      .option('-p, --port <port>', 'Warp 10 port', destinationPort('-p/--port'), 8080)
      .option('-s, --scheme <scheme>', 'http or https', scheme, 'http')
      .option('-S, --step <seconds>', 'seconds between two measurements (one write per step)', positiveSeconds('-S/--step'), 30)
      .option('-t, --write-token <token>', `write token (visible in ps: prefer --write-token-file or ${WARP10_TOKEN_ENV})`)
      .option('--write-token-file <path>', 'file holding the write token on one line')
      .option('-q, --qemu', 'label qemu-system processes with their VM name', false)
      .option('--containers', 'label processes with their container, pod or systemd unit, and add per-group series', false)
      .addOption(new RepeatableOption('--label <key=value>', 'label added to every series (repeatable); may replace host').argParser(label))
      .option(
        '--gzip-threshold <bytes>',
        'gzip request bodies larger than this many bytes (0 = always)',
        nonNegativeInt('--gzip-threshold'),
        WARP10_DEFAULTS.gzipThresholdBytes,
      )))))
      .addHelpText(
        'after',
        `\nThe write token comes from -t, --write-token-file, or the ${WARP10_TOKEN_ENV} environment variable.\n` +
          'Every series gets a host label. Values are written as LONG or DOUBLE. Failed writes (network\n' +
          'errors, 5xx, 429) are retried with their original timestamps; a refused token is not retried.\n' +
          BACKOFF_HELP +
          SPLAY_HELP +
          FILTER_HELP +
          selectionHelp('its series get no more points (Warp 10 has no end-of-series marker)') +
          'Example:\n' +
          `  ${WARP10_TOKEN_ENV}=$(cat /etc/scaph/warp10.token) scaph warp10 -H warp10.example.org -p 443 -s https -S 10\n`,
      ),
  settings: (opts) => ({
    ...pushSettings(opts),
    ...filterSettings(opts),
    baseUrl: warp10BaseUrl(opts['scheme'] as string, opts['host'] as string, opts['port'] as number),
    writeToken: opts['writeToken'] as string | undefined,
    writeTokenFile: opts['writeTokenFile'] as string | undefined,
    labels: (opts['label'] as Record<string, string> | undefined) ?? {},
    gzipThresholdBytes: opts['gzipThreshold'] as number,
    selection: selectionSettings(opts),
  }),
  create: async (s, ctx) => {
    const writeToken = await resolveWriteToken(s.writeToken, s.writeTokenFile);
    const transport = new Warp10Transport({
      baseUrl: s.baseUrl,
      writeToken,
      host: ctx.hostname,
      extraLabels: s.labels,
      gzipThresholdBytes: s.gzipThresholdBytes,
      userAgent: `scaph/${ctx.version}`,
      logger: ctx.logger,
    });
    return { kind: 'push', transport };
  },
};

/** -t first, then --write-token-file, then the environment; none is a usage error naming all three. */
export async function resolveWriteToken(flag: string | undefined, file: string | undefined, env = process.env): Promise<string> {
  if (flag !== undefined && flag !== '') return flag;
  if (file !== undefined) return readSecretFile('Warp 10 write token', file);
  const fromEnv = env[WARP10_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  throw new UsageError(
    `warp10 needs a write token: pass -t <token>, --write-token-file <path>, or set ${WARP10_TOKEN_ENV}`,
  );
}

/**
 * --label: any name Warp 10 takes (it percent-encodes the rest), but not one starting with "." (.producer,
 * .owner, .app: Warp 10 sets those from the write token and silently overwrites a written one); `host` (the
 * transport's) may be replaced.
 */
const label = extraLabel({
  flag: '--label',
  nameProblem: (name) => (name.startsWith('.') ? 'starts with ".": Warp 10 sets its dot labels (.producer, .owner, .app) from the write token and replaces a written one' : null),
  replaces: ['host'],
});

function scheme(value: string): string {
  if (value !== 'http' && value !== 'https') throw new UsageError(`-s/--scheme must be http or https, got "${value}"`);
  return value;
}
