/**
 * Container names, images and labels from the Docker Engine API over its unix socket
 * (`GET /containers/json`), reloaded when `GET /events` reports a container started, renamed or removed,
 * at a bounded interval (the safety net, and what reopens a dropped event stream), and early when an
 * unknown container shows up — never per sample per process.
 */
import type { Agent } from 'undici';
import { undici } from '../../core/lazy-modules.cjs';
import { errorText, ScaphError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { MetadataAnswerError, readJsonAnswer } from './answer.js';
import { isDnsLabel, isDnsSubdomain, isDockerImage, isDockerName, shown, type RefusedValue } from './metadata-values.js';
import { MetadataRefresher, refreshTiming, rememberMiss, requestFailureCode, withDeadline, type MetadataLoader, type RefreshTimingOptions } from './refresh.js';

export interface DockerContainerMeta {
  /** Name without Docker's leading slash. */
  readonly name: string;
  readonly image: string;
  /** The `io.kubernetes.*` labels dockershim-era Kubernetes set on its containers (the only ones scaph reads), valid ones. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface DockerMetadataOptions extends RefreshTimingOptions {
  /** Default /var/run/docker.sock. */
  readonly socketPath?: string;
  /** Per request (answer included), default 5 s. */
  readonly timeoutMs?: number;
  /** Largest container list accepted, bytes; default MAX_CONTAINER_LIST_BYTES. */
  readonly maxAnswerBytes?: number;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * A container summary is one to a few KB: 16 MiB holds thousands of running containers, more than a host
 * runs; a larger list is refused rather than held in memory.
 */
export const MAX_CONTAINER_LIST_BYTES = 16 * 1024 * 1024;

/** An `/events` line is one event (well under a KB, plus the container's labels): a longer one is not an event. */
const MAX_EVENT_LINE_BYTES = 1024 * 1024;

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
  private refusedSaid = false;
  private readonly maxAnswerBytes: number;

  constructor(
    options: DockerMetadataOptions,
    private readonly logger: Logger,
  ) {
    this.socketPath = options.socketPath ?? DEFAULT_DOCKER_SOCKET;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_CONTAINER_LIST_BYTES;
    // Two connections: the event stream holds one open, the container list uses the other.
    this.agent = new (undici().Agent)({ connect: { socketPath: this.socketPath }, connections: 2 });
    this.refresher = new MetadataRefresher(this, refreshTiming(options), logger);
  }

  /** Loads now, as the interval would (a load under way is shared); resolves when it has ended. */
  reload(): Promise<void> {
    return this.refresher.refresh();
  }

  /** Sets the first load going; names appear when it has answered (settled()). */
  start(): void {
    this.refresher.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events?.abort();
    if (this.eventReload) clearTimeout(this.eventReload);
    this.refresher.stop();
    await this.refresher.settled();
    await this.agent.destroy();
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

  load(stop: AbortSignal): Promise<void> {
    // One deadline for the whole request, the last byte of the answer included.
    return withDeadline(stop, this.timeoutMs, async (signal) => {
      const path = '/containers/json';
      const response = await undici().request(`http://docker${path}`, { dispatcher: this.agent, signal, headers: { accept: 'application/json' } });
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new DockerApiError(response.statusCode, path);
      }
      const body = await readJsonAnswer(response.body, response.headers['content-length'], this.maxAnswerBytes, `GET ${path}`);
      this.containers = parseContainerList(body, (field, value) => this.sayRefused(field, value));
      this.generation++;
      if (!this.events && !this.stopped) void this.watchEvents();
    });
  }

  /** Once per run: Docker handed over a name, image or label its own rules would refuse. */
  private sayRefused(field: string, value: string): void {
    if (this.refusedSaid) return;
    this.refusedSaid = true;
    this.logger.warn(
      { source: this.sourceName, field, value: shown(value) },
      'the Docker Engine API gave a container name, image or Kubernetes label that is not valid: such values are left out of the labels (said once)',
    );
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
        // No event is this long: the stream is not Docker's. Drop it (the interval reload reopens it).
        if (pending.length > MAX_EVENT_LINE_BYTES) {
          this.logger.debug({ source: this.sourceName }, 'an /events line longer than 1 MiB: stream dropped');
          abort.abort();
          return;
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
    switch (requestFailureCode(error)) {
      case 'ENOENT':
        return `${where} does not exist: ${without}. Start Docker, point scaph at the right socket with --docker-socket PATH, or pass --no-docker if this host has no Docker`;
      case 'EACCES':
        return `Permission denied on ${where}: ${without}. Run scaph as root or in the docker group`;
      case 'ECONNREFUSED':
        return `Nothing listens on ${where}: ${without}. Is the Docker daemon running?`;
      case 'ETIMEDOUT':
        return `${where} did not answer within ${this.timeoutMs} ms: ${without} until it does`;
      case 'EAFNOSUPPORT':
        // A systemd unit whose RestrictAddressFamilies= lacks AF_UNIX (Scaphandre's units allow AF_INET AF_INET6 only).
        return `Cannot open a unix socket to reach ${where} (EAFNOSUPPORT): ${without}. Under systemd, add AF_UNIX to the unit's RestrictAddressFamilies=`;
      default:
        if (error instanceof MetadataAnswerError) return `${where}: ${error.message}; ${without} until it answers a container list`;
        return `Cannot read containers from ${where} (${errorText(error)}): ${without}`;
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

const POD_UID_RE = /^[0-9a-f-]+$/;

/** The Docker labels dockershim-era Kubernetes set and scaph reads, with the rule each value follows. */
const KUBERNETES_LABEL_RULES: Readonly<Record<string, (v: string) => boolean>> = {
  'io.kubernetes.pod.name': isDnsSubdomain,
  'io.kubernetes.pod.namespace': isDnsLabel,
  'io.kubernetes.container.name': isDnsLabel,
  'io.kubernetes.pod.uid': (v) => v.length <= 36 && POD_UID_RE.test(v),
};

/**
 * `GET /containers/json` body → id → metadata. A body that is not an array is refused (MetadataAnswerError:
 * the table in use stays); entries without an Id are skipped; names, images and the Kubernetes labels read
 * (see KUBERNETES_LABEL_RULES) that Docker would not have written are left out, and `refused` is told each.
 */
export function parseContainerList(body: unknown, refused: RefusedValue = () => undefined): Map<string, DockerContainerMeta> {
  const out = new Map<string, DockerContainerMeta>();
  if (!Array.isArray(body)) throw new MetadataAnswerError('the answer to the container list is JSON but not an array of containers');
  for (const item of body as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const c = item as { Id?: unknown; Names?: unknown; Image?: unknown; Labels?: unknown };
    if (typeof c.Id !== 'string') continue;
    const first = Array.isArray(c.Names) && typeof c.Names[0] === 'string' ? c.Names[0] : '';
    const name = first.startsWith('/') ? first.slice(1) : first;
    const image = typeof c.Image === 'string' ? c.Image : '';
    out.set(c.Id, {
      name: name === '' || isDockerName(name) ? name : (refused('container name', name), ''),
      image: image === '' || isDockerImage(image) ? image : (refused('image', image), ''),
      labels: kubernetesLabels(stringRecord(c.Labels), refused),
    });
  }
  return out;
}

/** The labels scaph reads from a container, valid ones only. */
function kubernetesLabels(labels: Readonly<Record<string, string>>, refused: RefusedValue): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, valid] of Object.entries(KUBERNETES_LABEL_RULES)) {
    const v = labels[key];
    if (v === undefined) continue;
    if (valid(v)) out[key] = v;
    else refused(`label ${key}`, v);
  }
  return out;
}

export function stringRecord(value: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
