/**
 * A Docker Engine API stand-in on a unix socket, answering what scaph asks with the documented shapes
 * (Engine API v1.43, `GET /containers/json` → ContainerSummary[]). Optionally fails with a status, to
 * test the warning path. Paths with a version prefix (`/v1.43/containers/json`) are accepted too.
 */
import { createServer, type Server } from 'node:http';

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly Image: string;
  readonly ImageID: string;
  readonly Command: string;
  readonly Created: number;
  readonly Ports: readonly unknown[];
  readonly Labels: Readonly<Record<string, string>>;
  readonly State: string;
  readonly Status: string;
  readonly HostConfig: { readonly NetworkMode: string };
  readonly NetworkSettings: { readonly Networks: Readonly<Record<string, unknown>> };
  readonly Mounts: readonly unknown[];
}

/** A running container as `docker ps` would list it. */
export function containerSummary(
  id: string,
  name: string,
  image: string,
  labels: Record<string, string> = {},
): ContainerSummary {
  return {
    Id: id,
    Names: [`/${name}`],
    Image: image,
    ImageID: `sha256:${'0'.repeat(64)}`,
    Command: '/docker-entrypoint.sh nginx -g daemon off;',
    Created: 1_700_000_000,
    Ports: [],
    Labels: labels,
    State: 'running',
    Status: 'Up 5 minutes',
    HostConfig: { NetworkMode: 'default' },
    NetworkSettings: { Networks: { bridge: {} } },
    Mounts: [],
  };
}

export interface FakeDockerApi {
  readonly socketPath: string;
  /** Every request's method and path, in order. */
  readonly requests: string[];
  containers: ContainerSummary[];
  /** When set, every request is answered with this status and a Docker-style error body. */
  failWithStatus: number | null;
  close(): Promise<void>;
}

const LIST_PATH_RE = /^(?:\/v1\.\d+)?\/containers\/json(?:\?.*)?$/;

export async function startDockerApi(socketPath: string, containers: ContainerSummary[]): Promise<FakeDockerApi> {
  const api: FakeDockerApi = {
    socketPath,
    requests: [],
    containers,
    failWithStatus: null,
    close: () => closeServer(server),
  };
  const server: Server = createServer((req, res) => {
    api.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.43' });
      res.end(JSON.stringify(body));
    };
    if (api.failWithStatus !== null) return json(api.failWithStatus, { message: 'server error' });
    if (req.method === 'GET' && LIST_PATH_RE.test(req.url ?? '')) return json(200, api.containers);
    json(404, { message: 'page not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return api;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
