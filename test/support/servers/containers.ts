/**
 * What the real-server suites need of a container engine, in one place.
 *
 * - Whether an engine is there is testcontainers' own answer (getContainerRuntimeClient: DOCKER_HOST,
 *   ~/.testcontainers.properties, /var/run/docker.sock, $XDG_RUNTIME_DIR, ~/.docker/run and
 *   ~/.docker/desktop sockets, /run/user/UID), never a probe of ours that looks in fewer places.
 * - Without one, a real-server suite is left out with one line on stderr; with SCAPH_REQUIRE_CONTAINERS=1
 *   that absence is a failure (require-containers.setup.ts stops the run first, with one line). The
 *   suites' side of it is container-suites.ts.
 * - A first pull (hundreds of MB) and a slow start (an amd64 image emulated on Apple silicon) each get
 *   their own timeout; a failed start shows the container's last output; containers stop with a grace
 *   period (SIGTERM, then SIGKILL after 20 s), as the binary servers do.
 */
import type { Readable } from 'node:stream';
import type { GenericContainer, StartedTestContainer, StopOptions } from 'testcontainers';

export const REQUIRE_CONTAINERS = 'SCAPH_REQUIRE_CONTAINERS';
/** How a run asked to use containers ends without an engine (package.json's test script stops on it). */
export const REQUIRED_ENGINE_MISSING_EXIT = 78;

/** A first pull of a large image on a slow line. */
export const PULL_TIMEOUT_MS = 15 * 60_000;
/** SIGTERM, then SIGKILL after this: servers flush what they acknowledged (VictoriaMetrics keeps up to 5 s in memory). */
export const STOP_GRACE_MS = 20_000;

export type ContainerEngine = { readonly found: true; readonly host: string } | { readonly found: false; readonly reason: string };

let engine: Promise<ContainerEngine> | undefined;

/** testcontainers' verdict (asked once per process; well under a second when there is no engine). */
export function findContainerEngine(): Promise<ContainerEngine> {
  engine ??= (async (): Promise<ContainerEngine> => {
    const tc = await import('testcontainers');
    try {
      const client = await tc.getContainerRuntimeClient();
      return { found: true, host: client.info.containerRuntime.host };
    } catch (err) {
      return { found: false, reason: messageOf(err) };
    }
  })();
  return engine;
}

export class ContainerPullTimeoutError extends Error {
  override readonly name = 'ContainerPullTimeoutError';
  constructor(image: string, timeoutMs: number) {
    super(`pulling ${image} took longer than ${Math.round(timeoutMs / 1000)} s: run "docker pull ${image}" once, then run the tests again`);
  }
}

export class ContainerStartError extends Error {
  override readonly name = 'ContainerStartError';
  constructor(what: string, image: string, cause: unknown, output: string) {
    super(`${what} (${image}) did not start: ${messageOf(cause)}\n--- its last output ---\n${output.trimEnd() || '(nothing)'}`);
  }
}

/** The one line that ends a run asked to use containers when there is no engine. */
export function requiredEngineMissingLine(reason: string): string {
  return `${REQUIRE_CONTAINERS}=1 but testcontainers found no container engine (${reason}): start Docker (or point DOCKER_HOST at one), or run without ${REQUIRE_CONTAINERS}`;
}

export type PullImage = (image: string, platform: string | undefined) => Promise<void>;

/** Pulls `image` unless present, within `timeoutMs` (testcontainers' own pull has no limit). */
export async function pullImage(image: string, platform: string | undefined, timeoutMs = PULL_TIMEOUT_MS, pull: PullImage = pullWithTestcontainers): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ContainerPullTimeoutError(image, timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([pull(image, platform), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function pullWithTestcontainers(image: string, platform: string | undefined): Promise<void> {
  const tc = await import('testcontainers');
  const client = await tc.getContainerRuntimeClient();
  await client.image.pull(tc.ImageName.fromString(image), { force: false, platform });
}

/** The last `maxChars` characters a stream wrote. */
export class OutputTail {
  private kept = '';
  constructor(private readonly maxChars = 8_000) {}

  push(chunk: string | Buffer): void {
    this.kept = (this.kept + chunk.toString()).slice(-this.maxChars);
  }

  follow(stream: Readable): void {
    stream.on('data', (chunk: string | Buffer) => this.push(chunk));
    stream.on('error', () => undefined);
  }

  text(): string {
    return this.kept;
  }
}

/** What startWithOutput needs of a GenericContainer (so a test can hand it a fake). */
export interface StartableContainer {
  withStartupTimeout(startupTimeoutMs: number): unknown;
  withLogConsumer(consumer: (stream: Readable) => unknown): unknown;
  start(): Promise<StartedTestContainer>;
}

/** Starts `container` within `startMs`; when it fails, the error carries the container's last output. */
export async function startWithOutput(what: string, image: string, container: StartableContainer, startMs: number): Promise<StartedTestContainer> {
  const output = new OutputTail();
  container.withStartupTimeout(startMs);
  container.withLogConsumer((stream) => output.follow(stream));
  try {
    return await container.start();
  } catch (err) {
    throw new ContainerStartError(what, image, err, output.text());
  }
}

export interface RunOptions {
  readonly startMs: number;
  /** Asked for explicitly when the image is published for one architecture only. */
  readonly platform?: string;
}

/** Pulls (own timeout), configures and starts `image` (own timeout, output shown on failure). */
export async function runContainer(
  what: string,
  image: string,
  configure: (container: GenericContainer) => GenericContainer,
  options: RunOptions,
): Promise<StartedTestContainer> {
  await pullImage(image, options.platform);
  const tc = await import('testcontainers');
  const base = new tc.GenericContainer(image);
  const container = configure(options.platform ? base.withPlatform(options.platform) : base);
  return startWithOutput(what, image, container, options.startMs);
}

/** The part of a started container that stopping needs (testcontainers' StartedTestContainer has it). */
export interface StoppableContainer {
  stop(options: Partial<StopOptions>): Promise<unknown>;
}

/** Stops and removes a container the way the binary servers are stopped: SIGTERM, SIGKILL after the grace period. */
export async function stopContainer(container: StoppableContainer): Promise<void> {
  await container.stop({ timeout: STOP_GRACE_MS, remove: true });
}

/** A host for a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
