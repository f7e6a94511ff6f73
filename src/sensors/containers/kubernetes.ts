/**
 * Pod names, namespaces, container names and chosen pod labels from the Kubernetes API server, using the
 * in-cluster service-account token and CA, limited to this node's pods (`spec.nodeName` field selector).
 * Reloaded at a bounded interval and early when an unknown container or pod shows up.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Agent } from 'undici';
import { undici } from '../../core/lazy-modules.cjs';
import { ScaphError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ContainerRuntime } from './cgroup.js';
import { errorCode, MetadataRefresher, refreshTiming, rememberMiss, type MetadataLoader, type RefreshTimingOptions } from './refresh.js';
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
  readonly timeoutMs?: number;
}

export interface KubernetesPodMeta {
  readonly podUid: string;
  readonly podName: string;
  readonly namespace: string;
  readonly nodeName: string;
  /** Selected labels, keyed by metric label name. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface KubernetesContainerMeta {
  readonly pod: KubernetesPodMeta;
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

/** The message of a v1 Status body (`{"kind":"Status","message":…}`), cut short; null for anything else. */
export function statusMessage(body: string): string | null {
  try {
    const message = (JSON.parse(body) as { message?: unknown } | null)?.message;
    return typeof message === 'string' && message !== '' ? message.slice(0, 300) : null;
  } catch {
    return null;
  }
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

  constructor(
    private readonly apiUrl: string,
    private readonly options: KubernetesMetadataOptions,
    logger: Logger,
  ) {
    this.nodeName = options.nodeName ?? process.env['NODE_NAME'] ?? hostname();
    this.path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.nodeName}`)}`;
    this.refresher = new MetadataRefresher(this, refreshTiming(options), logger);
  }

  start(): Promise<void> {
    return this.refresher.start();
  }

  async stop(): Promise<void> {
    this.refresher.stop();
    await this.refresher.settled();
    await this.agent?.close();
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

  async load(): Promise<void> {
    const agent = await this.ensureAgent();
    // Projected service-account tokens rotate: read the file on every load.
    const token = (await readFile(this.options.tokenPath ?? `${this.serviceAccountDir}/token`, 'utf8')).trim();
    const response = await undici().request(`${this.apiUrl}${this.path}`, {
      dispatcher: agent,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    if (response.statusCode !== 200) {
      throw new KubernetesApiError(response.statusCode, this.path, statusMessage(await response.body.text()));
    }
    const tables = parsePodList(await response.body.json(), this.options.podLabels ?? []);
    this.byContainer = tables.byContainer;
    this.byPod = tables.byPod;
    this.generation++;
  }

  private get serviceAccountDir(): string {
    return this.options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  }

  private async ensureAgent(): Promise<Agent> {
    if (this.agent) return this.agent;
    const ca = await readFile(this.options.caPath ?? `${this.serviceAccountDir}/ca.crt`);
    this.agent = new (undici().Agent)({ connect: { ca }, connections: 1 });
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
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'EACCES') {
      return `Cannot read the service-account token or CA (${error instanceof Error ? error.message : String(error)}): ${without}. Run scaph in a pod with automountServiceAccountToken, or give the token and CA paths`;
    }
    if (code === 'ETIMEDOUT') return `The Kubernetes API at ${this.apiUrl} did not answer in time: ${without} until it does`;
    return `Cannot list pods from the Kubernetes API at ${this.apiUrl} (${error instanceof Error ? error.message : String(error)}): ${without}`;
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

/** A v1 PodList → tables by container id and by pod UID. Malformed items are skipped. */
export function parsePodList(body: unknown, labelKeys: readonly string[]): PodTables {
  const byContainer = new Map<string, KubernetesContainerMeta>();
  const byPod = new Map<string, KubernetesPodMeta>();
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return { byContainer, byPod };
  for (const item of items as unknown[]) {
    const pod = podMeta(item, labelKeys);
    if (!pod) continue;
    byPod.set(pod.podUid, pod);
    const status = (item as { status?: Record<string, unknown> }).status ?? {};
    for (const field of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
      addContainers(byContainer, pod, status[field]);
    }
  }
  return { byContainer, byPod };
}

function podMeta(item: unknown, labelKeys: readonly string[]): KubernetesPodMeta | null {
  if (item === null || typeof item !== 'object') return null;
  const { metadata, spec } = item as { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
  if (!metadata || typeof metadata['uid'] !== 'string' || typeof metadata['name'] !== 'string') return null;
  const podLabels = stringRecord(metadata['labels']);
  const labels: Record<string, string> = {};
  for (const key of labelKeys) {
    const v = podLabels[key];
    if (v !== undefined) labels[podLabelMetricName(key)] = v;
  }
  return {
    podUid: metadata['uid'],
    podName: metadata['name'],
    namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : '',
    nodeName: typeof spec?.['nodeName'] === 'string' ? spec['nodeName'] : '',
    labels: Object.freeze(labels),
  };
}

function addContainers(out: Map<string, KubernetesContainerMeta>, pod: KubernetesPodMeta, statuses: unknown): void {
  if (!Array.isArray(statuses)) return;
  for (const s of statuses as unknown[]) {
    const { name, containerID } = (s ?? {}) as { name?: unknown; containerID?: unknown };
    if (typeof name !== 'string' || typeof containerID !== 'string') continue;
    const sep = containerID.indexOf('://');
    if (sep < 0) continue;
    const runtime = RUNTIME_BY_SCHEME[containerID.slice(0, sep)];
    out.set(containerID.slice(sep + 3), { pod, containerName: name, runtime });
  }
}

const LABEL_UNSAFE_RE = /[^a-zA-Z0-9_]/g;

/** `app.kubernetes.io/name` → `kubernetes_pod_label_app_kubernetes_io_name` (Prometheus label charset). */
export function podLabelMetricName(key: string): string {
  return `kubernetes_pod_label_${key.replace(LABEL_UNSAFE_RE, '_')}`;
}
