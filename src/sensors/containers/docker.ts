/**
 * Container names, images and labels from the Docker Engine API over its unix socket
 * (`GET /containers/json`), reloaded when `GET /events` reports a container started, renamed or removed,
 * at a bounded interval (the safety net, and what reopens a dropped event stream), and early when an
 * unknown container shows up — never per sample per process.
 */
import type { Agent } from 'undici';
import { undici } from '../../core/lazy-modules.cjs';
import { ScaphError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { errorCode, MetadataRefresher, refreshTiming, rememberMiss, type MetadataLoader, type RefreshTimingOptions } from './refresh.js';

export interface DockerContainerMeta {
  /** Name without Docker's leading slash. */
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DockerMetadataOptions extends RefreshTimingOptions {
  /** Default /var/run/docker.sock. */
  readonly socketPath?: string;
  /** Per request, default 5 s. */
  readonly timeoutMs?: number;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export class DockerApiError extends ScaphError {
  constructor(
    readonly statusCode: number,
    path: string,
  ) {
    super(`Docker Engine API answered HTTP ${statusCode} to GET ${path}`);
  }
}

export class DockerMetadata implements MetadataLoader {
  readonly sourceName = 'Docker Engine API';
  /** Bumped whenever the container table is replaced, so callers can re-merge cached results. */
  generation = 0;
  private containers = new Map<string, DockerContainerMeta>();
  private readonly missed = new Set<string>();
  private readonly agent: Agent;
  private readonly refresher: MetadataRefresher;
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private events: AbortController | null = null;
  private eventReload: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(options: DockerMetadataOptions, logger: Logger) {
    this.socketPath = options.socketPath ?? DEFAULT_DOCKER_SOCKET;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    // Two connections: the event stream holds one open, the container list uses the other.
    this.agent = new (undici().Agent)({ connect: { socketPath: this.socketPath }, connections: 2 });
    this.refresher = new MetadataRefresher(this, refreshTiming(options), logger);
  }

  start(): Promise<void> {
    return this.refresher.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events?.abort();
    if (this.eventReload) clearTimeout(this.eventReload);
    this.refresher.stop();
    await this.refresher.settled();
    await this.agent.close();
  }

  /** Waits for a load under way (tests, and callers that want fresh names right after a miss). */
  settled(): Promise<void> {
    return this.refresher.settled();
  }

  /** Metadata of a running container by its 64-hex id; a miss asks for an early reload (once per id). */
  lookup(containerId: string): DockerContainerMeta | undefined {
    const meta = this.containers.get(containerId);
    if (meta || this.missed.has(containerId)) return meta;
    rememberMiss(this.missed, containerId);
    this.refresher.refreshSoon();
    return undefined;
  }

  async load(): Promise<void> {
    const path = '/containers/json';
    const response = await undici().request(`http://docker${path}`, {
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new DockerApiError(response.statusCode, path);
    }
    this.containers = parseContainerList(await response.body.json());
    this.generation++;
    if (!this.events && !this.stopped) void this.watchEvents();
  }

  /** Follows `GET /events` for containers until the stream ends; the next successful load reopens it. */
  private async watchEvents(): Promise<void> {
    const abort = new AbortController();
    this.events = abort;
    try {
      const response = await undici().request(`http://docker/events?filters=${EVENT_FILTERS}`, {
        dispatcher: this.agent,
        signal: abort.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: 0,
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return;
      }
      let pending = '';
      for await (const chunk of response.body) {
        pending += (chunk as Buffer).toString('utf8');
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          if (isContainerChange(pending.slice(0, nl))) this.reloadAfterEvent();
          pending = pending.slice(nl + 1);
        }
      }
    } catch {
      // Stream dropped (daemon restart, stop()): the interval reload keeps names fresh and reopens it.
    } finally {
      if (this.events === abort) this.events = null;
    }
  }

  /** Coalesces bursts (compose up starts many containers) into one reload after the load under way. */
  private reloadAfterEvent(): void {
    if (this.eventReload || this.stopped) return;
    this.eventReload = setTimeout(() => {
      this.eventReload = null;
      void this.refresher.settled().then(() => this.refresher.refresh());
    }, EVENT_DEBOUNCE_MS);
    this.eventReload.unref();
  }

  explain(error: unknown): string {
    const where = `Docker socket ${this.socketPath}`;
    const without = 'container names and images will be missing for Docker containers';
    switch (errorCode(error)) {
      case 'ENOENT':
        return `${where} does not exist: ${without}. Start Docker, point scaph at the right socket with --docker-socket PATH, or pass --no-docker if this host has no Docker`;
      case 'EACCES':
        return `Permission denied on ${where}: ${without}. Run scaph as root or in the docker group`;
      case 'ECONNREFUSED':
        return `Nothing listens on ${where}: ${without}. Is the Docker daemon running?`;
      case 'ETIMEDOUT':
        return `${where} did not answer within ${this.timeoutMs} ms: ${without} until it does`;
      default:
        return `Cannot read containers from ${where} (${error instanceof Error ? error.message : String(error)}): ${without}`;
    }
  }
}

const EVENT_FILTERS = encodeURIComponent(JSON.stringify({ type: ['container'] }));
const EVENT_DEBOUNCE_MS = 100;
const RELOAD_ACTIONS: ReadonlySet<string> = new Set(['start', 'rename', 'destroy']);

/** One `/events` line: does it change what `/containers/json` would list? */
export function isContainerChange(line: string): boolean {
  if (line.trim() === '') return false;
  try {
    const event = JSON.parse(line) as { Type?: unknown; Action?: unknown };
    return event.Type === 'container' && typeof event.Action === 'string' && RELOAD_ACTIONS.has(event.Action);
  } catch {
    return false;
  }
}

/** `GET /containers/json` body → id → metadata; entries without an Id are skipped. */
export function parseContainerList(body: unknown): Map<string, DockerContainerMeta> {
  const out = new Map<string, DockerContainerMeta>();
  if (!Array.isArray(body)) return out;
  for (const item of body as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const c = item as { Id?: unknown; Names?: unknown; Image?: unknown; Labels?: unknown };
    if (typeof c.Id !== 'string') continue;
    const first = Array.isArray(c.Names) && typeof c.Names[0] === 'string' ? c.Names[0] : '';
    out.set(c.Id, {
      name: first.startsWith('/') ? first.slice(1) : first,
      image: typeof c.Image === 'string' ? c.Image : '',
      labels: stringRecord(c.Labels),
    });
  }
  return out;
}

export function stringRecord(value: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
