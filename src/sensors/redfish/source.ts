/**
 * Host power from the BMC over Redfish (DMTF DSP0266; schemas in resources.ts): at start, the service root,
 * a session (or basic authentication), then the first chassis that reports power (or the one named) and its
 * reading, with EnvironmentMetrics.PowerWatts preferred to the deprecated Power.PowerControl[]; then a
 * poller asks again every interval in the background (poller.ts), never more often than the BMC says its
 * sensor refreshes (Sensor.SensingInterval). Each step takes the newest reading; one older than two
 * intervals is not published (PowerUnavailableError: the step is skipped and said, as for an unreadable
 * RAPL zone). The step's energy is that reading's power over the step: Redfish gives no energy counter
 * fine enough (EnvironmentMetrics.EnergykWh counts kWh).
 * What fails at start exits 1 with what to do: a refused user (401) names the URL and the user.
 */
import type { Logger } from '../../core/log.js';
import { requestFailureCode } from '../containers/refresh.js';
import { MetadataAnswerError } from '../containers/answer.js';
import { PowerUnavailableError, type PowerReadContext, type PowerReading, type PowerSource } from '../power-source.js';
import { RedfishClient } from './client.js';
import { RedfishAuthError, RedfishHttpError, RedfishNoPowerError, RedfishStartError } from './errors.js';
import { RedfishPoller, type PollTarget, type PollTimings } from './poller.js';
import { chassisId, environmentPower, linkOf, memberPaths, powerControlPower, sensingIntervalMs, sessionsLink, type PowerRead } from './resources.js';
import { errorText } from '../../core/errors.js';

export interface RedfishSourceOptions {
  /** The BMC's base URL as given (`https://bmc`); its origin is what scaph talks to. */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** For messages only: where the password came from. */
  readonly passwordFile: string | undefined;
  readonly ca: string | undefined;
  readonly insecure: boolean;
  /** Chassis Id or path; undefined: the first chassis that reports power. */
  readonly chassis: string | undefined;
  readonly intervalMs: number;
  readonly logger: Logger;
}

const SERVICE_ROOT = '/redfish/v1';
const DEFAULT_CHASSIS_COLLECTION = '/redfish/v1/Chassis';

/** Where the power is read: the chassis, the resource and its schema, and the reading at start. */
interface PowerTarget extends PollTarget {
  readonly chassisId: string;
  readonly watts: number;
  readonly sensorPath: string | null;
}

export class RedfishSource implements PowerSource {
  readonly kind = 'redfish' as const;
  private readonly client: RedfishClient;
  private readonly origin: string;
  private poller: RedfishPoller | null = null;
  private readonly abort = new AbortController();
  private lastNs = -1n;

  constructor(private readonly o: RedfishSourceOptions) {
    this.origin = new URL(o.url).origin;
    this.client = new RedfishClient({
      origin: this.origin,
      user: o.user,
      password: o.password,
      ca: o.ca,
      rejectUnauthorized: !o.insecure,
      timeoutMs: requestTimeoutMs(o.intervalMs),
      logger: o.logger,
    });
  }

  async start(): Promise<void> {
    const stop = this.abort.signal;
    let target: PowerTarget;
    let intervalMs = this.o.intervalMs;
    try {
      const root = await this.client.getPublic(SERVICE_ROOT, stop).catch((err: unknown) => {
        // A BMC that wants credentials for its service root too: the standard paths then.
        if (err instanceof RedfishHttpError && err.status === 401) return null;
        throw err;
      });
      const auth = await this.client.login(sessionsLink(root), stop);
      target = await this.findPower(linkOf(root, 'Chassis') ?? DEFAULT_CHASSIS_COLLECTION, stop);
      intervalMs = await this.pollInterval(target.sensorPath, stop);
      this.o.logger.info(
        { url: this.origin, auth, chassis: target.chassisId, resource: target.path, schema: target.schema, watts: target.watts, intervalMs },
        `redfish: host power from chassis ${target.chassisId} (${target.schema === 'EnvironmentMetrics' ? 'EnvironmentMetrics.PowerWatts' : 'Power.PowerControl[].PowerConsumedWatts'}), asked every ${intervalMs / 1000} s`,
      );
    } catch (err) {
      await this.client.close();
      throw this.startError(err);
    }
    this.poller = new RedfishPoller(this.client, target, intervalMs, this.origin, this.o.logger);
    this.poller.start({ watts: target.watts, atMs: performance.now() });
    this.lastNs = process.hrtime.bigint();
  }

  async read(_context: PowerReadContext): Promise<PowerReading> {
    const poller = this.poller;
    if (poller === null) throw new Error('RedfishSource.read() called before start()');
    const atNs = process.hrtime.bigint();
    const spanNs = atNs - this.lastNs;
    this.lastNs = atNs;
    const latest = poller.latest;
    const ageMs = latest === null ? Number.POSITIVE_INFINITY : performance.now() - latest.atMs;
    if (latest === null || ageMs > 2 * poller.intervalMs) {
      throw new PowerUnavailableError([
        `the newest power reading of the BMC at ${this.origin} is ${Math.round(ageMs / 100) / 10} s old, more than two poll intervals ` +
          `(${(2 * poller.intervalMs) / 1000} s): not published`,
      ]);
    }
    const hostPowerUw = latest.watts * 1e6;
    return {
      hostPowerUw,
      hostEnergyDeltaUj: (hostPowerUw * Number(spanNs)) / 1e9,
      sockets: [],
      psysEnergyUj: null,
      valueSource: 'redfish',
      readAtMs: Date.now() - Math.round(ageMs),
      // The newest reading is all scaph keeps of the BMC.
      hostRecordsKept: 1,
    };
  }

  /** How long the BMC's polls took so far. */
  get timings(): PollTimings | null {
    return this.poller?.timings ?? null;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.poller?.stop();
    await this.client.close();
  }

  /** The named chassis, or the first that reports power; RedfishNoPowerError says what each one lacked. */
  private async findPower(collectionPath: string, stop: AbortSignal): Promise<PowerTarget> {
    const members = memberPaths(await this.client.get(collectionPath, stop));
    if (members === null) throw new RedfishStartError(`The BMC at ${this.origin} answered GET ${collectionPath} with no chassis collection (no Members array): is it a Redfish service?`);
    const wanted = this.o.chassis;
    const candidates = wanted === undefined ? members : members.filter((p) => p === wanted || p.replace(/\/+$/, '').split('/').pop() === wanted);
    const tried: string[] = [];
    if (wanted !== undefined && candidates.length === 0) {
      tried.push(`no chassis ${wanted} among ${members.map((p) => p.split('/').pop()).join(', ') || 'none'}`);
    }
    for (const path of candidates) {
      const found = await this.chassisPower(path, stop, tried);
      if (found) return found;
    }
    throw new RedfishNoPowerError(this.origin, wanted, tried);
  }

  /** The chassis's EnvironmentMetrics reading, else its Power one; null (and why, in `tried`) when neither. */
  private async chassisPower(path: string, stop: AbortSignal, tried: string[]): Promise<PowerTarget | null> {
    const chassis = await this.client.get(path, stop);
    const id = chassisId(chassis, path);
    const sources: Array<[PollTarget['schema'], string | null, (r: unknown) => PowerRead]> = [
      ['EnvironmentMetrics', linkOf(chassis, 'EnvironmentMetrics'), environmentPower],
      ['Power', linkOf(chassis, 'Power'), powerControlPower],
    ];
    const why: string[] = [];
    for (const [schema, link, read] of sources) {
      if (link === null) continue;
      const r = await this.client.get(link, stop).then(read, (err: unknown) => {
        if (err instanceof RedfishHttpError && err.status !== 401 && err.status !== 403) return { ok: false as const, problem: err.message };
        throw err;
      });
      if (r.ok) return { chassisId: id, path: link, schema, watts: r.watts, sensorPath: r.sensorPath };
      why.push(r.problem);
    }
    tried.push(`${id}: ${why.length === 0 ? 'neither EnvironmentMetrics nor Power' : why.join(', ')}`);
    return null;
  }

  /** The interval asked for, or the sensor's own refresh interval when that is longer. */
  private async pollInterval(sensorPath: string | null, stop: AbortSignal): Promise<number> {
    if (sensorPath === null) return this.o.intervalMs;
    try {
      const sensingMs = sensingIntervalMs(await this.client.get(sensorPath, stop));
      if (sensingMs !== null && sensingMs > this.o.intervalMs) {
        this.o.logger.info({ sensor: sensorPath, sensingIntervalMs: sensingMs, askedMs: this.o.intervalMs }, 'the BMC refreshes its power sensor less often than --redfish-interval: asking at its pace');
        return Math.min(sensingMs, 10 * 60_000);
      }
    } catch (err) {
      this.o.logger.debug({ sensor: sensorPath, err: errorText(err) }, 'could not read the power sensor\'s SensingInterval');
    }
    return this.o.intervalMs;
  }

  /** A start-up failure as one message with what to do. */
  private startError(err: unknown): Error {
    if (err instanceof RedfishHttpError && (err.status === 401 || err.status === 403)) return new RedfishAuthError(this.origin, this.o.user, this.o.passwordFile, err);
    if (err instanceof RedfishNoPowerError || err instanceof RedfishStartError) return err;
    if (err instanceof RedfishHttpError) return new RedfishStartError(`The BMC at ${this.origin} answered ${err.message}: check --redfish-url, or try again when the BMC is up`);
    if (err instanceof MetadataAnswerError) return new RedfishStartError(`The BMC at ${this.origin}: ${err.message}`);
    const code = requestFailureCode(err) ?? '';
    const text = errorText(err);
    if (TLS_CODES.has(code) || /certificate/i.test(text)) {
      return new RedfishStartError(
        `The BMC's certificate at ${this.origin} is not trusted (${code || text}): give the CA that signed it with --redfish-ca FILE ` +
          '(BMCs often ship a self-signed one: save it with `openssl s_client -connect BMC:443 -showcerts`), or --redfish-insecure to skip the check',
      );
    }
    if (code === 'ETIMEDOUT') return new RedfishStartError(`The BMC at ${this.origin} did not answer within ${requestTimeoutMs(this.o.intervalMs) / 1000} s: check --redfish-url and that this host may reach the BMC's network`);
    return new RedfishStartError(`Cannot reach the BMC at ${this.origin} (${code || text}): check --redfish-url and that this host may reach the BMC's network`);
  }
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Each request's deadline: one interval, at least 5 s (a slow BMC at start), at most 30 s. */
export function requestTimeoutMs(intervalMs: number): number {
  return Math.min(30_000, Math.max(5000, intervalMs));
}
