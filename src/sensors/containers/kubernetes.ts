/**
 * Pod names, namespaces, container names and chosen pod labels from the Kubernetes API server, using the
 * in-cluster service-account token and CA, limited to this node's pods (`spec.nodeName` field selector).
 * Reloaded at a bounded interval and early when an unknown container or pod shows up.
 */
import { hostname } from 'node:os';
import type { Agent } from 'undici';
import { undici } from '../../core/lazy-modules.cjs';
import { readFileWithin } from '../../core/bounded-fs.js';
import { errorText, ScaphError } from '../../core/errors.js';
import { POD_LABEL_PREFIX } from '../../core/metrics.js';
import type { Logger } from '../../core/log.js';
import { MetadataAnswerError, readJsonAnswer } from './answer.js';
import type { ContainerRuntime } from './cgroup.js';
import { isDnsLabel, isDnsSubdomain, isLabelValue, shown, type RefusedValue } from './metadata-values.js';
import { MetadataRefresher, refreshTiming, rememberMiss, requestFailureCode, withDeadline, type MetadataLoader, type RefreshTimingOptions } from './refresh.js';
import { stringRecord } from './docker.js';

/** Where the kubelet mounts a pod's service-account token, CA and namespace (automountServiceAccountToken). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The one RBAC rule this source needs: it lists this node's pods (`list`); `get` and `watch` reveal
 * nothing `list` does not. deploy/kubernetes/base/rbac.yaml grants exactly this; a 403 names it.
 */
export const POD_READ_RULE = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] } as const;

export interface KubernetesMetadataOptions extends RefreshTimingOptions {
  /** API server base URL; default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  readonly apiUrl?: string;
  /** Directory holding `token` and `ca.crt`, laid out as the kubelet mounts it. Default SERVICE_ACCOUNT_DIR. */
  readonly serviceAccountDir?: string;
  /** Default <serviceAccountDir>/token. */
  readonly tokenPath?: string;
  /** Default <serviceAccountDir>/ca.crt. */
  readonly caPath?: string;
  /** This node's name; default $NODE_NAME, else the hostname. */
  readonly nodeName?: string;
  /** Pod label keys to copy as `kubernetes_pod_label_<key sanitized>`. */
  readonly podLabels?: readonly string[];
  /** Per request (answer included), default DEFAULT_KUBERNETES_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Largest pod list accepted, bytes; default MAX_POD_LIST_BYTES. */
  readonly maxAnswerBytes?: number;
}

export const DEFAULT_KUBERNETES_TIMEOUT_MS = 10_000;

/**
 * A node runs at most a few hundred pods (110 by default), each a few KB to a few tens of KB as a PodList
 * item: a list beyond 32 MiB is not this node's pods, and reading it would cost the agent that much memory.
 */
export const MAX_POD_LIST_BYTES = 32 * 1024 * 1024;

export interface KubernetesPodMeta {
  readonly podUid: string;
  /** '' when the API gave none Kubernetes allows (as for namespace and node name). */
  readonly podName: string;
  readonly namespace: string;
  readonly nodeName: string;
  /** Selected labels, keyed by metric label name. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface KubernetesContainerMeta {
  readonly pod: KubernetesPodMeta;
  /** '' when the API gave none Kubernetes allows. */
  readonly containerName: string;
  readonly runtime: ContainerRuntime | undefined;
}

export class KubernetesApiError extends ScaphError {
  constructor(
    readonly statusCode: number,
    path: string,
    /** The `message` of the v1 Status the API answered with (names the user RBAC refused), if any. */
    readonly apiMessage: string | null = null,
  ) {
    super(`Kubernetes API answered HTTP ${statusCode} to GET ${path}${apiMessage ? ` (${apiMessage})` : ''}`);
  }
}

/** The message of a v1 Status body (`{"kind":"Status","message":…}`, parsed), cut short; null for anything else. */
export function statusMessage(body: unknown): string | null {
  const message = body !== null && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? message.slice(0, 300) : null;
}

/** `{apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"]}`, as a ClusterRole rule reads. */
function ruleText(): string {
  const list = (items: readonly string[]): string => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;
  return `{apiGroups: ${list(POD_READ_RULE.apiGroups)}, resources: ${list(POD_READ_RULE.resources)}, verbs: ${list(POD_READ_RULE.verbs)}}`;
}

/** Neither an API URL nor KUBERNETES_SERVICE_HOST: scaph is not in a cluster. */
export function kubernetesApiUrl(options: KubernetesMetadataOptions, env = process.env): string | null {
  if (options.apiUrl) return options.apiUrl.replace(/\/+$/, '');
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (!host) return null;
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class KubernetesMetadata implements MetadataLoader {
  readonly sourceName = 'Kubernetes API';
  generation = 0;
  private byContainer = new Map<string, KubernetesContainerMeta>();
  private byPod = new Map<string, KubernetesPodMeta>();
  private readonly missed = new Set<string>();
  private agent: Agent | null = null;
  private readonly refresher: MetadataRefresher;
  readonly nodeName: string;
  private readonly path: string;
  private refusedSaid = false;

  constructor(
    private readonly apiUrl: string,
    private readonly options: KubernetesMetadataOptions,
    private readonly logger: Logger,
  ) {
    this.nodeName = options.nodeName ?? process.env['NODE_NAME'] ?? hostname();
    this.path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.nodeName}`)}`;
    this.refresher = new MetadataRefresher(this, refreshTiming(options), logger);
  }

  /** Loads now, as the interval would (a load under way is shared); resolves when it has ended. */
  reload(): Promise<void> {
    return this.refresher.refresh();
  }

  /** Sets the first load going; labels appear when it has answered (settled()). */
  start(): void {
    this.refresher.start();
  }

  async stop(): Promise<void> {
    this.refresher.stop();
    await this.refresher.settled();
    await this.agent?.destroy();
  }

  settled(): Promise<void> {
    return this.refresher.settled();
  }

  /** By container id (the part after `containerd://`); a miss asks for an early reload once per id. */
  lookupContainer(containerId: string): KubernetesContainerMeta | undefined {
    return this.lookup(this.byContainer, containerId);
  }

  lookupPod(podUid: string): KubernetesPodMeta | undefined {
    return this.lookup(this.byPod, podUid);
  }

  private lookup<T>(map: ReadonlyMap<string, T>, key: string): T | undefined {
    const found = map.get(key);
    if (found !== undefined || this.missed.has(key)) return found;
    rememberMiss(this.missed, key);
    this.refresher.refreshSoon();
    return undefined;
  }

  load(stop: AbortSignal): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_KUBERNETES_TIMEOUT_MS;
    // One deadline for the whole load: the files, the connection, the headers and the last byte of the body.
    return withDeadline(stop, timeoutMs, (signal) => this.loadWithin(signal, timeoutMs));
  }

  private async loadWithin(signal: AbortSignal, timeoutMs: number): Promise<void> {
    const agent = await this.ensureAgent(timeoutMs);
    // Projected service-account tokens rotate: read the file on every load.
    const tokenPath = this.options.tokenPath ?? `${this.serviceAccountDir}/token`;
    const token = (await readFileWithin(tokenPath, { timeoutMs })).toString('utf8').trim();
    const response = await undici().request(`${this.apiUrl}${this.path}`, {
      dispatcher: agent,
      signal,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const what = `GET ${this.path}`;
    const maxBytes = this.options.maxAnswerBytes ?? MAX_POD_LIST_BYTES;
    if (response.statusCode !== 200) {
      const body = await readJsonAnswer(response.body, response.headers['content-length'], maxBytes, what).catch(() => null);
      throw new KubernetesApiError(response.statusCode, this.path, statusMessage(body));
    }
    const body = await readJsonAnswer(response.body, response.headers['content-length'], maxBytes, what);
    const tables = parsePodList(body, this.options.podLabels ?? [], (field, value) => this.sayRefused(field, value));
    this.byContainer = tables.byContainer;
    this.byPod = tables.byPod;
    this.generation++;
  }

  /** Once per run: the API handed over a name or label value its own validation would refuse. */
  private sayRefused(field: string, value: string): void {
    if (this.refusedSaid) return;
    this.refusedSaid = true;
    this.logger.warn(
      { source: this.sourceName, field, value: shown(value) },
      'the Kubernetes API gave a name or label value that Kubernetes itself does not allow: such values are left out of the labels (said once)',
    );
  }

  private get serviceAccountDir(): string {
    return this.options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  }

  private async ensureAgent(timeoutMs: number): Promise<Agent> {
    if (this.agent) return this.agent;
    const ca = await readFileWithin(this.options.caPath ?? `${this.serviceAccountDir}/ca.crt`, { timeoutMs });
    this.agent = new (undici().Agent)({ connect: { ca, timeout: timeoutMs }, connections: 1 });
    return this.agent;
  }

  explain(error: unknown): string {
    const without = 'pod names, namespaces, node and container names will be missing (the cgroup labels remain)';
    if (error instanceof KubernetesApiError) {
      if (error.statusCode === 401) {
        return `The Kubernetes API rejected the service-account token (HTTP 401): ${without}. Check that the pod mounts a valid service-account token`;
      }
      if (error.statusCode === 403) {
        const refused = error.apiMessage ? `: ${error.apiMessage}` : '';
        return (
          `The Kubernetes API refused to list pods (HTTP 403${refused}): ${without}. Bind scaph's service account ` +
          `(ClusterRoleBinding) to a ClusterRole with the rule ${ruleText()}, as deploy/kubernetes/base/rbac.yaml does`
        );
      }
      return `${error.message}: ${without}`;
    }
    if (error instanceof MetadataAnswerError) return `The Kubernetes API at ${this.apiUrl}: ${error.message}; ${without} until it answers a pod list`;
    const code = requestFailureCode(error);
    if (code === 'ENOENT' || code === 'EACCES') {
      return `Cannot read the service-account token or CA (${errorText(error)}): ${without}. Run scaph in a pod with automountServiceAccountToken, or give the token and CA paths`;
    }
    if (code === 'ETIMEDOUT') {
      const timeoutMs = this.options.timeoutMs ?? DEFAULT_KUBERNETES_TIMEOUT_MS;
      return `The Kubernetes API at ${this.apiUrl} did not answer within ${timeoutMs} ms: ${without} until it does (power figures are not held up)`;
    }
    return `Cannot list pods from the Kubernetes API at ${this.apiUrl} (${errorText(error)}): ${without}`;
  }
}

const RUNTIME_BY_SCHEME: Readonly<Record<string, ContainerRuntime>> = {
  containerd: 'containerd',
  docker: 'docker',
  'cri-o': 'cri-o',
};

interface PodTables {
  readonly byContainer: Map<string, KubernetesContainerMeta>;
  readonly byPod: Map<string, KubernetesPodMeta>;
}

/**
 * A v1 PodList → tables by container id and by pod UID. A body that is no PodList (no `items` array) is
 * refused (MetadataAnswerError: the tables in use stay); malformed items are skipped, and names or label
 * values Kubernetes would not accept are left out (`refused` is told each).
 */
export function parsePodList(body: unknown, labelKeys: readonly string[], refused: RefusedValue = () => undefined): PodTables {
  const byContainer = new Map<string, KubernetesContainerMeta>();
  const byPod = new Map<string, KubernetesPodMeta>();
  const items = body !== null && typeof body === 'object' ? (body as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) throw new MetadataAnswerError('the answer to the pod list is JSON but not a PodList (no "items" array)');
  for (const item of items as unknown[]) {
    const pod = podMeta(item, labelKeys, refused);
    if (!pod) continue;
    byPod.set(pod.podUid, pod);
    const status = (item as { status?: unknown }).status;
    if (status === null || typeof status !== 'object') continue;
    for (const field of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
      addContainers(byContainer, pod, (status as Record<string, unknown>)[field], refused);
    }
  }
  return { byContainer, byPod };
}

function podMeta(item: unknown, labelKeys: readonly string[], refused: RefusedValue): KubernetesPodMeta | null {
  if (item === null || typeof item !== 'object') return null;
  const { metadata, spec } = item as { metadata?: unknown; spec?: unknown };
  if (metadata === null || typeof metadata !== 'object') return null;
  const meta = metadata as Record<string, unknown>;
  if (typeof meta['uid'] !== 'string' || typeof meta['name'] !== 'string') return null;
  const podLabels = stringRecord(meta['labels']);
  const labels: Record<string, string> = {};
  for (const key of labelKeys) {
    const v = podLabels[key];
    if (v === undefined) continue;
    if (isLabelValue(v)) labels[podLabelMetricName(key)] = v;
    else refused(`label ${key}`, v);
  }
  const nodeName = spec !== null && typeof spec === 'object' ? (spec as Record<string, unknown>)['nodeName'] : undefined;
  return {
    podUid: meta['uid'],
    podName: checked(meta['name'], isDnsSubdomain, 'pod name', refused),
    namespace: typeof meta['namespace'] === 'string' ? checked(meta['namespace'], isDnsLabel, 'namespace', refused) : '',
    nodeName: typeof nodeName === 'string' ? checked(nodeName, isDnsSubdomain, 'node name', refused) : '',
    labels: Object.freeze(labels),
  };
}

/** `value` when `valid`, else '' (left out) after telling `refused`. */
function checked(value: string, valid: (v: string) => boolean, field: string, refused: RefusedValue): string {
  if (valid(value)) return value;
  refused(field, value);
  return '';
}

function addContainers(out: Map<string, KubernetesContainerMeta>, pod: KubernetesPodMeta, statuses: unknown, refused: RefusedValue): void {
  if (!Array.isArray(statuses)) return;
  for (const s of statuses as unknown[]) {
    if (s === null || typeof s !== 'object') continue;
    const { name, containerID } = s as { name?: unknown; containerID?: unknown };
    if (typeof name !== 'string' || typeof containerID !== 'string') continue;
    const sep = containerID.indexOf('://');
    if (sep < 0) continue;
    const runtime = RUNTIME_BY_SCHEME[containerID.slice(0, sep)];
    out.set(containerID.slice(sep + 3), { pod, containerName: checked(name, isDnsLabel, 'container name', refused), runtime });
  }
}

const LABEL_UNSAFE_RE = /[^a-zA-Z0-9_]/g;

/** `app.kubernetes.io/name` → `kubernetes_pod_label_app_kubernetes_io_name` (Prometheus label charset). */
export function podLabelMetricName(key: string): string {
  return `${POD_LABEL_PREFIX}${key.replace(LABEL_UNSAFE_RE, '_')}`;
}
