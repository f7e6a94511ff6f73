/**
 * A Docker Engine API stand-in on a unix socket, answering what scaph asks with the documented shapes
 * (Engine API v1.43): `GET /containers/json` → ContainerSummary[], and `GET /events` → a stream of
 * newline-separated event objects that stays open. Optionally fails with a status, to test the warning
 * path, or misbehaves on the list (hangs, garbage, a huge body: misbehaviour.ts). Paths with a version
 * prefix (`/v1.43/containers/json`) are accepted too.
 */
import { createServer, type ServerResponse, type Server } from 'node:http';
import { misbehave, type Misbehaviour } from './misbehaviour.js';

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
  /** When each request arrived (performance.now()), in order. */
  readonly requestedAt: number[];
  containers: ContainerSummary[];
  /** When set, every request is answered with this status and a Docker-style error body. */
  failWithStatus: number | null;
  /** When set, `GET /containers/json` answers this way instead. */
  misbehaviour: Misbehaviour | null;
  /** Sends container events (`docker events` shape) to every open `/events` stream, in one write. */
  emitContainerEvents(events: readonly (readonly [action: string, c: ContainerSummary])[]): void;
  /** Writes `text` as it is to every open `/events` stream (garbage, a line that never ends). */
  emitRaw(text: string | Buffer): void;
  /** How many `/events` streams are open now. */
  openEventStreams(): number;
  close(): Promise<void>;
}

const LIST_PATH_RE = /^(?:\/v1\.\d+)?\/containers\/json(?:\?.*)?$/;
const EVENTS_PATH_RE = /^(?:\/v1\.\d+)?\/events(?:\?.*)?$/;

/** A `/events` object as the Engine API documents it (EventMessage), plus the legacy status/id/from. */
export function containerEvent(action: string, c: ContainerSummary): unknown {
  const time = Math.floor(Date.now() / 1000);
  return {
    status: action,
    id: c.Id,
    from: c.Image,
    Type: 'container',
    Action: action,
    Actor: { ID: c.Id, Attributes: { ...c.Labels, image: c.Image, name: (c.Names[0] ?? '').slice(1) } },
    scope: 'local',
    time,
    timeNano: time * 1_000_000_000,
  };
}

export async function startDockerApi(socketPath: string, containers: ContainerSummary[]): Promise<FakeDockerApi> {
  const streams = new Set<ServerResponse>();
  const api: FakeDockerApi = {
    socketPath,
    requests: [],
    requestedAt: [],
    containers,
    failWithStatus: null,
    misbehaviour: null,
    emitContainerEvents: (events) => {
      const text = events.map(([action, c]) => `${JSON.stringify(containerEvent(action, c))}\n`).join('');
      for (const res of streams) res.write(text);
    },
    emitRaw: (text) => {
      for (const res of streams) res.write(text);
    },
    openEventStreams: () => streams.size,
    close: () => closeServer(server),
  };
  const server: Server = createServer((req, res) => {
    api.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    api.requestedAt.push(performance.now());
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.43' });
      res.end(JSON.stringify(body));
    };
    if (api.failWithStatus !== null) return json(api.failWithStatus, { message: 'server error' });
    if (req.method === 'GET' && LIST_PATH_RE.test(req.url ?? '')) {
      if (api.misbehaviour) return misbehave(res, api.misbehaviour);
      return json(200, api.containers);
    }
    if (req.method === 'GET' && EVENTS_PATH_RE.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.43' });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
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
