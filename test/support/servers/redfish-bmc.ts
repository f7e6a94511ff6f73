/**
 * A BMC's Redfish service as the DMTF specification (DSP0266) and schemas (DSP8010) describe it, on
 * 127.0.0.1 over HTTPS (a CA made at test time, test-ca.ts) or plain HTTP:
 * - the service root (open), `Links.Sessions`; sessions (`POST` UserName/Password -> 201, `X-Auth-Token`,
 *   `Location`; `DELETE` ends one) and HTTP basic authentication; every other resource wants one of them (401).
 * - a chassis collection; per chassis `EnvironmentMetrics` (PowerWatts.Reading, its DataSourceUri a Sensor with
 *   SensingInterval) and/or the deprecated `Power` (PowerControl[]: the chassis, then a CPU sub-system that is
 *   part of it, as Lenovo's list it), or neither (a chassis without power).
 * The power resources can be slowed down, answer an HTTP error (401, 503), misbehave (hang, garbage, a huge
 * body: misbehaviour.ts) or carry a hostile reading; sessions can be dropped (a BMC that restarted).
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { misbehave, type Misbehaviour } from './misbehaviour.js';
import type { TestPki } from './test-ca.js';

export interface BmcChassis {
  readonly id: string;
  /** The chassis's power, W; null: it reports none. */
  watts: number | null;
  /** Which power resources it links to (default both). */
  readonly schemas?: ReadonlyArray<'EnvironmentMetrics' | 'Power'>;
  /** The power sensor's SensingInterval (ISO 8601), when it has one. */
  readonly sensingInterval?: string;
}

export interface FakeBmcOptions {
  /** HTTPS with this PKI; null: plain HTTP. */
  readonly pki: TestPki | null;
  readonly user: string;
  readonly password: string;
  readonly chassis: BmcChassis[];
  /** The session service exists (default true); without it session creation answers 405. */
  readonly sessions?: boolean;
}

export interface BmcRequest {
  readonly method: string;
  readonly path: string;
  readonly auth: 'session' | 'basic' | 'none' | 'bad';
  /** performance.now() when it arrived and when it was answered (null: never). */
  readonly atMs: number;
  answeredAtMs: number | null;
  status: number | null;
}

export class FakeBmc {
  readonly requests: BmcRequest[] = [];
  /** Tokens of the open sessions. */
  readonly sessions = new Map<string, string>();
  sessionsCreated = 0;
  sessionsDeleted = 0;
  /** Delay before answering a power resource, ms (a slow BMC). */
  powerDelayMs = 0;
  /** Answer the power resources with this HTTP status instead (401, 503, …). */
  powerStatus: number | null = null;
  /** Or misbehave on them. */
  powerMisbehaviour: Misbehaviour | null = null;
  /** Or put this value (any JSON) where the reading goes. */
  powerReading: unknown = undefined;
  private server: Server | null = null;
  private port = 0;
  private nextSession = 1;

  constructor(private readonly o: FakeBmcOptions) {}

  static async start(o: FakeBmcOptions): Promise<FakeBmc> {
    const bmc = new FakeBmc(o);
    await bmc.listen();
    return bmc;
  }

  get url(): string {
    return `${this.o.pki ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  chassis(id: string): BmcChassis {
    const c = this.o.chassis.find((x) => x.id === id);
    if (!c) throw new Error(`no chassis ${id}`);
    return c;
  }

  /** The BMC restarted: every session is gone (the next request with a token gets 401). */
  dropSessions(): void {
    this.sessions.clear();
  }

  /** Requests of the power resources (EnvironmentMetrics or Power), in order. */
  powerRequests(): BmcRequest[] {
    return this.requests.filter((r) => /\/(EnvironmentMetrics|Power)$/.test(r.path));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    };
    const server = this.o.pki ? createHttpsServer({ cert: this.o.pki.cert, key: this.o.pki.key }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const record: BmcRequest = { method, path, auth: this.authOf(req), atMs: performance.now(), answeredAtMs: null, status: null };
    this.requests.push(record);
    const send = (status: number, json: unknown, headers: Record<string, string> = {}): void => {
      record.answeredAtMs = performance.now();
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', 'odata-version': '4.0', ...headers });
      res.end(json === null ? '' : JSON.stringify(json));
    };
    if (method === 'GET' && path === '/redfish/v1') return send(200, this.serviceRoot());
    if (method === 'POST' && path === SESSIONS) return this.login(body, send);
    if (record.auth === 'none' || record.auth === 'bad') return send(401, redfishError('Base.1.8.NoValidSession', 'There is no valid session established with the implementation.'));
    if (method === 'DELETE' && path.startsWith(`${SESSIONS}/`)) {
      const id = path.slice(SESSIONS.length + 1);
      for (const [token, sid] of this.sessions) if (sid === id) this.sessions.delete(token);
      this.sessionsDeleted++;
      return send(204, null);
    }
    if (method !== 'GET') return send(405, redfishError('Base.1.8.OperationNotAllowed', 'The HTTP method is not allowed.'));
    const power = /^\/redfish\/v1\/Chassis\/([^/]+)\/(EnvironmentMetrics|Power)$/.exec(path);
    if (power) return this.answerPower(res, record, power[1] as string, power[2] as 'EnvironmentMetrics' | 'Power', send);
    const answer = this.resource(path);
    return answer === null ? send(404, redfishError('Base.1.8.ResourceMissingAtURI', `The resource at the URI ${path} was not found.`)) : send(200, answer);
  }

  private authOf(req: IncomingMessage): BmcRequest['auth'] {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') return this.sessions.has(token) ? 'session' : 'bad';
    const basic = req.headers.authorization;
    if (typeof basic === 'string' && basic.startsWith('Basic ')) {
      return Buffer.from(basic.slice(6), 'base64').toString('utf8') === `${this.o.user}:${this.o.password}` ? 'basic' : 'bad';
    }
    return 'none';
  }

  private login(body: string, send: (status: number, json: unknown, headers?: Record<string, string>) => void): void {
    if (this.o.sessions === false) return send(405, redfishError('Base.1.8.OperationNotAllowed', 'The HTTP method is not allowed.'));
    let creds: { UserName?: unknown; Password?: unknown } = {};
    try {
      creds = JSON.parse(body) as typeof creds;
    } catch {
      return send(400, redfishError('Base.1.8.MalformedJSON', 'The request body submitted was malformed JSON.'));
    }
    if (creds.UserName !== this.o.user || creds.Password !== this.o.password) return send(401, redfishError('Base.1.8.InsufficientPrivilege', 'Invalid username or password.'));
    const id = String(this.nextSession++);
    const token = randomBytes(16).toString('hex');
    this.sessions.set(token, id);
    this.sessionsCreated++;
    const location = `${SESSIONS}/${id}`;
    send(201, { '@odata.id': location, Id: id, UserName: this.o.user }, { 'x-auth-token': token, location });
  }

  private answerPower(
    res: ServerResponse,
    record: BmcRequest,
    chassisId: string,
    schema: 'EnvironmentMetrics' | 'Power',
    send: (status: number, json: unknown) => void,
  ): void {
    const chassis = this.o.chassis.find((c) => c.id === chassisId);
    if (!chassis || !(chassis.schemas ?? ['EnvironmentMetrics', 'Power']).includes(schema)) return send(404, redfishError('Base.1.8.ResourceMissingAtURI', 'not found'));
    const answer = (): void => {
      if (this.powerMisbehaviour) {
        record.status = 200;
        misbehave(res, this.powerMisbehaviour);
        return;
      }
      if (this.powerStatus !== null) return send(this.powerStatus, redfishError('Base.1.8.ServiceTemporarilyUnavailable', 'The service is temporarily unavailable.'));
      const reading = this.powerReading !== undefined ? this.powerReading : chassis.watts;
      if (schema === 'EnvironmentMetrics') {
        return send(200, {
          '@odata.id': `/redfish/v1/Chassis/${chassisId}/EnvironmentMetrics`,
          '@odata.type': '#EnvironmentMetrics.v1_2_0.EnvironmentMetrics',
          Id: 'EnvironmentMetrics',
          ...(reading === null && this.powerReading === undefined ? {} : { PowerWatts: { Reading: reading, DataSourceUri: `/redfish/v1/Chassis/${chassisId}/Sensors/TotalPower` } }),
        });
      }
      return send(200, {
        '@odata.id': `/redfish/v1/Chassis/${chassisId}/Power`,
        '@odata.type': '#Power.v1_7_1.Power',
        Id: 'Power',
        PowerControl: [
          { MemberId: '0', Name: 'Server Power Control', PowerConsumedWatts: reading },
          // Part of the first (Lenovo lists sub-systems after the chassis): never to be added to it.
          { MemberId: '1', Name: 'CPU Sub-system Power', PowerConsumedWatts: typeof reading === 'number' ? Math.round(reading * 0.4) : reading },
        ],
      });
    };
    if (this.powerDelayMs > 0) setTimeout(answer, this.powerDelayMs);
    else answer();
  }

  private serviceRoot(): unknown {
    return {
      '@odata.id': '/redfish/v1',
      '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
      Id: 'RootService',
      RedfishVersion: '1.17.0',
      Chassis: { '@odata.id': '/redfish/v1/Chassis' },
      SessionService: { '@odata.id': '/redfish/v1/SessionService' },
      Links: { Sessions: { '@odata.id': SESSIONS } },
    };
  }

  private resource(path: string): unknown {
    if (path === '/redfish/v1/Chassis') {
      return {
        '@odata.id': path,
        '@odata.type': '#ChassisCollection.ChassisCollection',
        Members: this.o.chassis.map((c) => ({ '@odata.id': `/redfish/v1/Chassis/${c.id}` })),
        'Members@odata.count': this.o.chassis.length,
      };
    }
    const chassis = /^\/redfish\/v1\/Chassis\/([^/]+)$/.exec(path);
    if (chassis) {
      const c = this.o.chassis.find((x) => x.id === chassis[1]);
      if (!c) return null;
      const schemas = c.watts === null ? [] : (c.schemas ?? ['EnvironmentMetrics', 'Power']);
      return {
        '@odata.id': path,
        '@odata.type': '#Chassis.v1_21_0.Chassis',
        Id: c.id,
        Name: c.id,
        ...Object.fromEntries(schemas.map((s) => [s, { '@odata.id': `${path}/${s}` }])),
      };
    }
    const sensor = /^\/redfish\/v1\/Chassis\/([^/]+)\/Sensors\/TotalPower$/.exec(path);
    if (sensor) {
      const c = this.o.chassis.find((x) => x.id === sensor[1]);
      if (!c) return null;
      return { '@odata.id': path, Id: 'TotalPower', ReadingType: 'Power', ReadingUnits: 'W', Reading: c.watts, ...(c.sensingInterval ? { SensingInterval: c.sensingInterval } : {}) };
    }
    return null;
  }
}

const SESSIONS = '/redfish/v1/SessionService/Sessions';

function redfishError(id: string, message: string): unknown {
  return { error: { code: id, message, '@Message.ExtendedInfo': [{ MessageId: id, Message: message }] } };
}
