/**
 * HTTP to one BMC (DMTF DSP0266, the Redfish Specification), through undici with one keep-alive connection:
 * every request has a deadline (connect, headers, body) and a size cap on its answer (read up to the cap,
 * refused beyond it: memory stays bounded whatever the BMC sends), and only paths on the BMC's own origin
 * are requested. Authentication as the specification gives it: a session (`POST` to the session collection
 * with `UserName` and `Password`, then the `X-Auth-Token` it answers on every request, `DELETE` of its
 * `Location` at the end: BMCs hold few session slots), or HTTP basic authentication where the BMC has no
 * session service. A session the BMC dropped (401: it restarted, or timed the session out) is opened
 * again once, then the request retried.
 */
import type { Agent, Dispatcher } from 'undici';
import { undici } from '../../core/lazy-modules.cjs';
import type { Logger } from '../../core/log.js';
import { readJsonAnswer } from '../containers/answer.js';
import { withDeadline } from '../containers/refresh.js';
import { RedfishHttpError } from './errors.js';
import { errorText } from '../../core/errors.js';

export interface RedfishClientOptions {
  /** The BMC's origin (`https://bmc:443`): every path requested is on it. */
  readonly origin: string;
  readonly user: string;
  readonly password: string;
  /** PEM CA certificate(s) the BMC's certificate is checked against; undefined: the system's. */
  readonly ca?: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** Deadline of each request, answer included, ms. */
  readonly timeoutMs: number;
  /** Largest answer read, bytes (default MAX_REDFISH_ANSWER_BYTES). */
  readonly maxAnswerBytes?: number;
  readonly logger: Logger;
}

/**
 * A chassis, its Power resource or its EnvironmentMetrics is a few KB to a few tens of KB (a Power resource
 * listing every supply and voltage): an answer beyond 4 MiB is no such resource.
 */
export const MAX_REDFISH_ANSWER_BYTES = 4 * 1024 * 1024;
/** Logging out is a courtesy to the BMC's session slots: it never holds up a stop for longer. */
const LOGOUT_TIMEOUT_MS = 2000;

export type RedfishAuth = 'session' | 'basic';

/** Session creation answered with one of these: the BMC has no session service, basic authentication it is. */
const NO_SESSION_SERVICE = new Set([404, 405, 501]);

export class RedfishClient {
  private readonly agent: Agent;
  private token: string | null = null;
  private sessionPath: string | null = null;
  private sessionsPath = '/redfish/v1/SessionService/Sessions';
  auth: RedfishAuth | null = null;

  constructor(private readonly o: RedfishClientOptions) {
    // undici's own timeouts are a backstop: the request's deadline (withDeadline) ends it first, with one error.
    const backstopMs = o.timeoutMs + 1000;
    this.agent = new (undici().Agent)({
      connect: { ...(o.ca === undefined ? {} : { ca: o.ca }), rejectUnauthorized: o.rejectUnauthorized, timeout: backstopMs },
      connections: 1,
      headersTimeout: backstopMs,
      bodyTimeout: backstopMs,
    });
  }

  /** GET without credentials: the service root, which the specification leaves open. */
  getPublic(path: string, stop: AbortSignal): Promise<unknown> {
    return this.request('GET', path, null, {}, stop).then((r) => r.body);
  }

  /** Opens a session at `sessionsPath` (or falls back to basic authentication); throws RedfishHttpError on 401. */
  async login(sessionsPath: string | null, stop: AbortSignal): Promise<RedfishAuth> {
    if (sessionsPath !== null) this.sessionsPath = sessionsPath;
    const body = JSON.stringify({ UserName: this.o.user, Password: this.o.password });
    try {
      const answer = await this.request('POST', this.sessionsPath, body, { 'content-type': 'application/json' }, stop);
      const token = header(answer.headers, 'x-auth-token');
      if (token === null) throw new RedfishHttpError(answer.status, 'POST', this.sessionsPath, 'the answer has no X-Auth-Token header');
      this.token = token;
      this.sessionPath = sessionLocation(header(answer.headers, 'location'), answer.body, this.o.origin);
      this.auth = 'session';
    } catch (err) {
      if (!(err instanceof RedfishHttpError) || !NO_SESSION_SERVICE.has(err.status)) throw err;
      this.o.logger.info({ status: err.status }, 'the BMC has no Redfish session service: using HTTP basic authentication');
      this.auth = 'basic';
    }
    return this.auth;
  }

  /** GET with credentials; a dropped session is opened again once. */
  async get(path: string, stop: AbortSignal): Promise<unknown> {
    try {
      return (await this.request('GET', path, null, this.credentials(), stop)).body;
    } catch (err) {
      if (!(err instanceof RedfishHttpError) || err.status !== 401 || this.auth !== 'session') throw err;
      this.o.logger.info({ path }, 'the BMC dropped the Redfish session: opening a new one');
      this.token = null;
      await this.login(null, stop);
      return (await this.request('GET', path, null, this.credentials(), stop)).body;
    }
  }

  /** Ends the session (best effort, bounded), then closes the connection. */
  async close(): Promise<void> {
    const path = this.sessionPath;
    if (this.auth === 'session' && this.token !== null && path !== null) {
      const stop = new AbortController();
      try {
        await withDeadline(stop.signal, LOGOUT_TIMEOUT_MS, (signal) => this.request('DELETE', path, null, this.credentials(), signal));
      } catch (err) {
        this.o.logger.debug({ err: errorText(err) }, 'could not end the Redfish session (the BMC times it out)');
      }
    }
    this.token = null;
    await this.agent.destroy().catch(() => undefined);
  }

  private credentials(): Record<string, string> {
    if (this.auth === 'session' && this.token !== null) return { 'x-auth-token': this.token };
    return { authorization: `Basic ${Buffer.from(`${this.o.user}:${this.o.password}`).toString('base64')}` };
  }

  /** One request within the deadline; non-2xx is a RedfishHttpError carrying the Redfish message. */
  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: string | null,
    headers: Record<string, string>,
    stop: AbortSignal,
  ): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; body: unknown }> {
    const url = sameOrigin(this.o.origin, path);
    const maxBytes = this.o.maxAnswerBytes ?? MAX_REDFISH_ANSWER_BYTES;
    return withDeadline(stop, this.o.timeoutMs, async (signal) => {
      const res = await undici().request(url, {
        method,
        dispatcher: this.agent,
        signal,
        headers: { accept: 'application/json', 'odata-version': '4.0', ...headers },
        ...(body === null ? {} : { body }),
      });
      const what = `${method} ${path}`;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const answer = await readJsonAnswer(res.body, res.headers['content-length'], 64 * 1024, what).catch(() => null);
        throw new RedfishHttpError(res.statusCode, method, path, redfishMessage(answer));
      }
      if (method === 'DELETE' || res.statusCode === 204) {
        await res.body.dump().catch(() => undefined);
        return { status: res.statusCode, headers: res.headers, body: null };
      }
      return { status: res.statusCode, headers: res.headers, body: await readJsonAnswer(res.body, res.headers['content-length'], maxBytes, what) };
    });
  }
}

/** The URL of `path` on `origin`; a path that would leave it (`//other`, `http://other/`) is refused. */
export function sameOrigin(origin: string, path: string): string {
  const url = new URL(path, origin);
  if (url.origin !== new URL(origin).origin) throw new Error(`the BMC linked to ${url.origin}, not itself: refused (scaph sends credentials to ${origin} only)`);
  return url.href;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | null {
  const v = headers[name];
  const value = Array.isArray(v) ? v[0] : v;
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The session's own path, to delete at the end: its Location (absolute or not), else its @odata.id. */
function sessionLocation(location: string | null, body: unknown, origin: string): string | null {
  const candidate = location ?? (body !== null && typeof body === 'object' ? (body as { '@odata.id'?: unknown })['@odata.id'] : undefined);
  if (typeof candidate !== 'string') return null;
  try {
    const url = new URL(candidate, origin);
    return url.origin === new URL(origin).origin ? `${url.pathname}${url.search}` : null;
  } catch {
    return null;
  }
}

/** A Redfish error body's message (`error.message`, or its first `@Message.ExtendedInfo[].Message`), cut short. */
export function redfishMessage(body: unknown): string | null {
  const error = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (error === null || typeof error !== 'object') return null;
  const info = (error as { '@Message.ExtendedInfo'?: unknown })['@Message.ExtendedInfo'];
  const first: unknown = Array.isArray(info) ? (info as unknown[])[0] : undefined;
  const extended = first !== null && typeof first === 'object' ? (first as { Message?: unknown }).Message : undefined;
  const message = typeof extended === 'string' ? extended : (error as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? message.slice(0, 200) : null;
}
