import { UsageError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { readSecretFile } from '../../net/secret.js';
import { loadTls } from '../../net/tls.js';
import type { SensorSettings } from '../settings.js';
import type { RedfishSourceOptions } from './source.js';

/** Where the BMC password comes from without --redfish-password-file (kept out of `ps` and shell history). */
export const REDFISH_PASSWORD_ENV = 'SCAPH_REDFISH_PASSWORD';

/** Why `text` is not a BMC base URL (`https://bmc`, `https://10.0.0.5:8443`), or null when it is one. */
export function redfishUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: ${JSON.stringify(text)}; give the BMC's address as https://<bmc>`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} is not http(s): give the BMC's address as https://<bmc>`;
  if (url.username !== '' || url.password !== '') return 'holds a user or password: give the user with --redfish-user and the password in --redfish-password-file (or $SCAPH_REDFISH_PASSWORD)';
  return null;
}

/** The Redfish source's options from the settings: URL, user and password checked, CA file read. */
export async function redfishSourceOptions(s: SensorSettings, env: NodeJS.ProcessEnv, logger: Logger): Promise<RedfishSourceOptions> {
  if (s.redfishUrl === undefined) throw new UsageError('--sensor redfish needs the BMC\'s address: --redfish-url https://<bmc> (redfish_url in [sensor])');
  const problem = redfishUrlProblem(s.redfishUrl);
  if (problem !== null) throw new UsageError(`--redfish-url ${problem}`);
  if (s.redfishInsecure && s.redfishCa !== undefined) throw new UsageError('--redfish-ca and --redfish-insecure contradict each other: give the CA to check the BMC against, or skip the check, not both');
  if (s.redfishUser === undefined || s.redfishUser === '') throw new UsageError('--sensor redfish needs a BMC user: --redfish-user <name> (redfish_user in [sensor]), one with read-only rights is enough');
  const password = s.redfishPasswordFile === undefined ? env[REDFISH_PASSWORD_ENV] : await readSecretFile('Redfish password', s.redfishPasswordFile);
  if (password === undefined || password === '') {
    throw new UsageError(`--sensor redfish needs the BMC password: in a file given to --redfish-password-file (redfish_password_file in [sensor]), or in $${REDFISH_PASSWORD_ENV}`);
  }
  const tls = s.redfishCa === undefined ? undefined : await loadTls({ caFile: s.redfishCa });
  if (new URL(s.redfishUrl).protocol === 'http:') {
    logger.warn({ url: s.redfishUrl }, 'the BMC is reached over plain http: its password crosses the network in clear. Use https:// (with --redfish-ca for its certificate)');
  }
  return {
    url: s.redfishUrl,
    user: s.redfishUser,
    password,
    passwordFile: s.redfishPasswordFile,
    ca: tls?.ca,
    insecure: s.redfishInsecure,
    chassis: s.redfishChassis,
    intervalMs: s.redfishIntervalMs,
    logger,
  };
}
