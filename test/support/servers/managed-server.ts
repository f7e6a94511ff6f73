/**
 * Starts a real backend for integration tests: the binary on PATH first (Debian packages here and in
 * CI), else a container when testcontainers finds an engine, else a clear failure (never a skip).
 * The server can be stopped and started again on the same port and data directory (outage tests);
 * both ways stop it gracefully (SIGTERM, SIGKILL after 20 s) so it flushes what it acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { findContainerEngine, runContainer, STOP_GRACE_MS, stopContainer, urlHost, type StoppableContainer } from './containers.js';
import { freePort } from './free-port.js';

export interface ServerRecipe {
  /** For messages: "prometheus", "victoria-metrics". */
  readonly name: string;
  readonly binary: string;
  /** Arguments for the binary, given the port and the data directory. */
  binaryArgs(port: number, dataDir: string): string[];
  /** Prepares the data directory before the first start (config files). */
  prepare?(dataDir: string): Promise<void>;
  /** Path answering 200 once the server accepts writes. */
  readonly readyPath: string;
  /** Container fallback (a pinned tag: see test/e2e/deploy/image-tags.test.ts). */
  readonly image: string;
  readonly containerPort: number;
  readonly containerDataDir: string;
  containerArgs(dataDir: string): string[];
}

export interface ManagedServer {
  readonly name: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly via: 'binary' | 'container';
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export { freePort };

export function onPath(binary: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

export async function startManagedServer(recipe: ServerRecipe): Promise<ManagedServer> {
  const dataDir = await mkdtemp(join(tmpdir(), `scaph-${recipe.name}-`));
  await recipe.prepare?.(dataDir);
  const port = await freePort();
  const binary = onPath(recipe.binary);
  const server = binary ? new BinaryServer(recipe, binary, port, dataDir) : await containerServer(recipe, port, dataDir);
  await server.start();
  return server;
}

class BinaryServer implements ManagedServer {
  readonly via = 'binary';
  readonly name: string;
  private child: ChildProcess | null = null;
  private output = '';

  constructor(
    private readonly recipe: ServerRecipe,
    private readonly binaryPath: string,
    readonly port: number,
    readonly dataDir: string,
  ) {
    this.name = recipe.name;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(this.binaryPath, this.recipe.binaryArgs(this.port, this.dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitReady(`${this.baseUrl}${this.recipe.readyPath}`, 60_000, () => (exited ? `${this.name} exited during start-up:\n${this.output}` : null));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

async function containerServer(recipe: ServerRecipe, port: number, dataDir: string): Promise<ManagedServer> {
  const engine = await findContainerEngine();
  if (!engine.found) {
    throw new Error(
      `${recipe.name}: neither the "${recipe.binary}" binary is on PATH nor a container engine reachable ` +
        `(${engine.reason}). Install the Debian package (apt-get install ${recipe.binary}) or start Docker.`,
    );
  }
  return new ContainerServer(recipe, port, dataDir, engine.host, launchRecipe);
}

/** Starts the recipe's image for one run of the server (a seam: tests hand ContainerServer a fake). */
export type LaunchContainer = (recipe: ServerRecipe, port: number, dataDir: string) => Promise<StoppableContainer>;

/** The recipe's server in a container, on a fixed host port and data directory so it can be stopped and started again. */
export class ContainerServer implements ManagedServer {
  readonly via = 'container';
  readonly name: string;
  private started: StoppableContainer | null = null;

  constructor(
    private readonly recipe: ServerRecipe,
    readonly port: number,
    readonly dataDir: string,
    /** Where the engine publishes ports (testcontainers' host: DOCKER_HOST, TESTCONTAINERS_HOST_OVERRIDE...). */
    readonly host: string,
    private readonly launch: LaunchContainer,
  ) {
    this.name = recipe.name;
  }

  get baseUrl(): string {
    return `http://${urlHost(this.host)}:${this.port}`;
  }

  async start(): Promise<void> {
    this.started = await this.launch(this.recipe, this.port, this.dataDir);
  }

  async stop(): Promise<void> {
    const started = this.started;
    this.started = null;
    if (started) await stopContainer(started);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Servers that are native binaries start in seconds, even emulated. */
const MANAGED_START_MS = 120_000;

async function launchRecipe(recipe: ServerRecipe, port: number, dataDir: string): Promise<StartedTestContainer> {
  const { Wait } = await import('testcontainers');
  return runContainer(
    recipe.name,
    recipe.image,
    (c) =>
      c
        .withExposedPorts({ container: recipe.containerPort, host: port })
        .withBindMounts([{ source: dataDir, target: recipe.containerDataDir, mode: 'rw' }])
        .withUser(`${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`)
        .withCommand(recipe.containerArgs(recipe.containerDataDir))
        .withWaitStrategy(Wait.forHttp(recipe.readyPath, recipe.containerPort).forStatusCode(200)),
    { startMs: MANAGED_START_MS },
  );
}

async function waitReady(url: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last})`);
}
