import { ScaphError } from '../../core/errors.js';

/** The BMC answered an HTTP error; `message` is the Redfish error's, when it gave one. */
export class RedfishHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly redfishMessage: string | null,
  ) {
    super(`HTTP ${status} to ${method} ${path}${redfishMessage ? ` (${redfishMessage})` : ''}`);
    this.name = 'RedfishHttpError';
  }
}

/** Where the password comes from, as a message names it. */
export function passwordSource(passwordFile: string | undefined): string {
  return passwordFile === undefined ? '$SCAPH_REDFISH_PASSWORD' : `the file ${passwordFile}`;
}

/** The BMC refused the user and password (HTTP 401 or 403 at start). */
export class RedfishAuthError extends ScaphError {
  constructor(url: string, user: string, passwordFile: string | undefined, cause: RedfishHttpError) {
    super(
      `The BMC at ${url} refused user "${user}" (${cause.message}): check --redfish-user and the password ` +
        `(${passwordSource(passwordFile)}), and that this account may log in over Redfish (its role needs Login)`,
    );
  }
}

/** The BMC could not be used at start: unreachable, untrusted certificate, errors, garbage. */
export class RedfishStartError extends ScaphError {}

/** No chassis of the BMC reports power (or not the one --redfish-chassis names). */
export class RedfishNoPowerError extends ScaphError {
  constructor(url: string, chassis: string | undefined, tried: readonly string[]) {
    super(
      `${chassis === undefined ? 'No chassis' : `Chassis ${chassis}`} of the BMC at ${url} reports power: ` +
        `${tried.length === 0 ? 'the chassis collection is empty' : tried.join('; ')}. scaph reads EnvironmentMetrics.PowerWatts, else ` +
        'Power.PowerControl[].PowerConsumedWatts: look with `curl -sku USER https://BMC/redfish/v1/Chassis`, and name a chassis that ' +
        'has one with --redfish-chassis <Id> (docs/platform-power.md)',
    );
  }
}
