import { UsageError } from '../../core/errors.js';
import { readSecretFile } from '../../net/secret.js';
import { Warp10Transport, warp10BaseUrl, WARP10_DEFAULTS } from './transport.js';
import type { PushExporterCommand, PushSettings } from '../command.js';
import { BACKOFF_HELP, PUSH_OPTIONS, pushSettings } from '../backoff.js';
import { SPLAY_HELP } from '../splay-option.js';
import { lettersOption, repeatableOption, switchOption, textOption, valueOption } from '../../config/declared-options.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { extraLabel } from '../extra-labels.js';
import { decimalNumber, destinationPort, hostName, nonNegativeInt, positiveSeconds } from '../parse.js';
import { quoted } from '../../core/quoted.js';
import { selectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

export const WARP10_TOKEN_ENV = 'SCAPH_WARP10_WRITE_TOKEN';

export interface Warp10Settings extends PushSettings {
  readonly baseUrl: string;
  readonly writeToken: string | undefined;
  readonly writeTokenFile: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly gzipThresholdBytes: number;
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

const OPTIONS = {
  host: valueOption('-H, --host <host>', 'Warp 10 host name or address', hostName('-H/--host'), { default: 'localhost' }),
  port: valueOption('-p, --port <port>', 'Warp 10 port', destinationPort('-p/--port'), { unit: 'port', default: 8080 }),
  scheme: valueOption('--scheme <scheme>', 'http or https (or -s/-S, below)', scheme('--scheme'), { default: 'http' }),
  step: valueOption('--step <seconds>', 'seconds between two measurements, one write per step (or -s/-S, below)', positiveSeconds('--step'), {
    unit: 'seconds',
    role: 'step',
    default: 30,
  }),
  schemeOrStep: lettersOption(
    ['-s <scheme-or-step>', '-S <scheme-or-step>'],
    'the scheme (http or https) or the step (seconds), told apart by the value: Scaphandre 1.0 reads -S as the scheme and -s as the step, 0.5 (and scaph before) the other way round; either works here',
    ['scheme', 'step'],
    schemeOrStep,
  ),
  writeToken: textOption('-t, --write-token <token>', `write token (visible in ps: prefer --write-token-file or ${WARP10_TOKEN_ENV})`, { role: 'secret' }),
  writeTokenFile: textOption('--write-token-file <path>', 'file holding the write token on one line', { role: 'input-file' }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit, and add per-group series', { showDefault: true }),
  label: repeatableOption('--label <key=value>', 'label added to every series (repeatable); may replace host', label),
  gzipThreshold: valueOption('--gzip-threshold <bytes>', 'gzip request bodies larger than this many bytes (0 = always)', nonNegativeInt('--gzip-threshold'), {
    unit: 'bytes',
    default: WARP10_DEFAULTS.gzipThresholdBytes,
  }),
  ...selectionOptions(),
  ...PUSH_OPTIONS,
  ...FILTER_OPTIONS,
};

export const warp10Command: PushExporterCommand<Warp10Settings, typeof OPTIONS> = {
  name: 'warp10',
  aliases: ['warpten'],
  summary: 'Push metrics to a Warp 10 platform (GTS over HTTP, numeric values, retried)',
  push: true,
  options: OPTIONS,
  helpText:
    `\nThe write token comes from -t, --write-token-file, or the ${WARP10_TOKEN_ENV} environment variable.\n` +
    'Every series gets a host label. Values are written as LONG or DOUBLE. Failed writes (network\n' +
    'errors, 5xx, 429) are retried with their original timestamps; a refused token is not retried.\n' +
    '"scaph warpten" (Scaphandre 1.0\'s name) is the same command; -s and -S each take the scheme or the step,\n' +
    'so both "-S https -s 10" (Scaphandre 1.0) and "-s https -S 10" (0.5) mean https every 10 s.\n' +
    BACKOFF_HELP +
    SPLAY_HELP +
    FILTER_HELP +
    selectionHelp('its series get no more points (Warp 10 has no end-of-series marker)') +
    'Example:\n' +
    `  ${WARP10_TOKEN_ENV}=$(cat /etc/scaph/warp10.token) scaph warp10 -H warp10.example.org -p 443 --scheme https --step 10\n`,
  settings: (v) => ({
    ...pushSettings(v, v.step),
    ...filterSettings(v),
    baseUrl: warp10BaseUrl(v.scheme, v.host, v.port),
    writeToken: v.writeToken,
    writeTokenFile: v.writeTokenFile,
    labels: v.label ?? {},
    gzipThresholdBytes: v.gzipThreshold,
    selection: selectionSettings(v),
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

const SCHEMES = ['http', 'https'];

function scheme(flag: string): (value: string) => string {
  return (value) => {
    if (!SCHEMES.includes(value)) throw new UsageError(`${flag} must be http or https, got ${quoted(value)}`);
    return value;
  };
}

/**
 * -s or -S: a scheme is http or https, a step is a number, so the value says which was meant; anything
 * else is refused naming both meanings (Scaphandre's two versions disagree on the letters).
 */
function schemeOrStep(value: string, flag: string): { readonly key: string; readonly value: unknown } {
  if (SCHEMES.includes(value)) return { key: 'scheme', value };
  if (!Number.isNaN(decimalNumber(value))) return { key: 'step', value: positiveSeconds(flag)(value) };
  throw new UsageError(
    `${flag} takes the scheme (http or https) or the step (seconds between two writes), got ${quoted(value)}: ` +
      'Scaphandre 1.0 reads -S as the scheme and -s as the step, 0.5 the other way round; scaph takes either letter for either',
  );
}
