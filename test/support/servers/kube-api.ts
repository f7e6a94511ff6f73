/**
 * A Kubernetes API server stand-in over HTTPS (certificate from a CA made at test time), answering
 * `GET /api/v1/pods` with a v1 PodList filtered by the `spec.nodeName=<node>` field selector, and 401 (a
 * v1 Status) unless the request carries the expected bearer token. `failWithStatus = 403` answers what the
 * API server's RBAC authorizer does for a service account without the rule: a Forbidden Status naming it.
 * `misbehaviour` makes the pod list hang, answer garbage or a huge body (misbehaviour.ts); `pods` may be
 * changed between requests (a list that changes under the agent).
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { misbehave, type Misbehaviour } from './misbehaviour.js';
import type { TestPki } from './test-ca.js';

export interface PodFixture {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly nodeName: string;
  readonly labels?: Record<string, string>;
  /** container name → runtime-prefixed id (`containerd://<64hex>`). */
  readonly containers: Record<string, string>;
}

export interface FakeKubeApi {
  readonly url: string;
  readonly requests: string[];
  /** When each request arrived (performance.now()), in order. */
  readonly requestedAt: number[];
  pods: PodFixture[];
  failWithStatus: number | null;
  /** When set, the pod list answers this way instead. */
  misbehaviour: Misbehaviour | null;
  /** The user a 403 names, as the API server derives it from the token. */
  user: string;
  close(): Promise<void>;
}

export function podJson(p: PodFixture): unknown {
  return {
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: '12345',
      labels: p.labels ?? {},
    },
    spec: { nodeName: p.nodeName, containers: Object.keys(p.containers).map((name) => ({ name, image: 'x' })) },
    status: {
      phase: 'Running',
      qosClass: 'Burstable',
      containerStatuses: Object.entries(p.containers).map(([name, containerID]) => ({
        name,
        containerID,
        image: 'docker.io/library/nginx:1.25',
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: '2024-01-01T00:00:00Z' } },
      })),
    },
  };
}

function status(code: number, reason: string, message: string, details?: Record<string, string>): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** The Status an API server answers when RBAC refuses `list pods` at the cluster scope. */
function forbidden(user: string): unknown {
  const message = `pods is forbidden: User "${user}" cannot list resource "pods" in API group "" at the cluster scope`;
  return status(403, 'Forbidden', message, { kind: 'pods' });
}

export async function startKubeApi(pki: TestPki, token: string, pods: PodFixture[]): Promise<FakeKubeApi> {
  const server: Server = createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    api.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    api.requestedAt.push(performance.now());
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    if (api.failWithStatus === 403) return json(403, forbidden(api.user));
    if (api.failWithStatus !== null) return json(api.failWithStatus, status(api.failWithStatus, 'InternalError', 'an error on the server has prevented the request from succeeding'));
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method !== 'GET' || url.pathname !== '/api/v1/pods') return json(404, status(404, 'NotFound', 'not found'));
    if (api.misbehaviour) return misbehave(res, api.misbehaviour);
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const node = selector.startsWith('spec.nodeName=') ? selector.slice('spec.nodeName='.length) : null;
    const items = api.pods.filter((p) => node === null || p.nodeName === node).map(podJson);
    json(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '12345' }, items });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const api: FakeKubeApi = {
    url: `https://127.0.0.1:${port}`,
    requests: [],
    requestedAt: [],
    pods,
    failWithStatus: null,
    misbehaviour: null,
    user: 'system:serviceaccount:scaph:scaph',
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
