/**
 * The container plumbing, shown without a container engine: which real-server suites run, are left out
 * or fail (and, in a vitest subprocess on this machine's real state, what a run prints and how it
 * exits), the pull and start timeouts, the container output on a failed start, and the stop grace
 * period handed to testcontainers (through ContainerServer's launch seam).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { StartedTestContainer, StopOptions } from 'testcontainers';
import { describe, expect, it } from 'vitest';
import { planContainerSuite } from './container-suites.js';
import {
  ContainerPullTimeoutError,
  ContainerStartError,
  findContainerEngine,
  OutputTail,
  pullImage,
  REQUIRED_ENGINE_MISSING_EXIT,
  requiredEngineMissingLine,
  startWithOutput,
  STOP_GRACE_MS,
  urlHost,
  type StartableContainer,
} from './containers.js';
import { ContainerServer, type LaunchContainer, type ServerRecipe } from './managed-server.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const NOT_FOUND = { found: false, reason: 'Could not find a working container runtime strategy' } as const;

describe('which real-server suites run', () => {
  it('runs them where testcontainers found an engine, whatever SCAPH_REQUIRE_CONTAINERS says', () => {
    const found = { found: true, host: 'localhost' } as const;
    expect(planContainerSuite('s', 'img:1.0', found, {})).toEqual({ kind: 'run' });
    expect(planContainerSuite('s', 'img:1.0', found, { SCAPH_REQUIRE_CONTAINERS: '1' })).toEqual({ kind: 'run' });
  });

  it('leaves them out with one line naming the suite, its image and the laptop command', () => {
    expect(planContainerSuite('Riemann against the real Riemann', 'riemannio/riemann:0.3.12', NOT_FOUND, { SCAPH_REQUIRE_CONTAINERS: '0' })).toEqual({
      kind: 'leave-out',
      line: 'scaph tests: left out "Riemann against the real Riemann" (riemannio/riemann:0.3.12): no container engine found; SCAPH_REQUIRE_CONTAINERS=1 npm test runs it or fails',
    });
  });

  it('fails them with SCAPH_REQUIRE_CONTAINERS=1, saying what to do', () => {
    const plan = planContainerSuite('s', 'img:1.0', NOT_FOUND, { SCAPH_REQUIRE_CONTAINERS: '1' });
    expect(plan).toEqual({ kind: 'fail', line: requiredEngineMissingLine(NOT_FOUND.reason) });
    expect(requiredEngineMissingLine('no socket')).toBe(
      'SCAPH_REQUIRE_CONTAINERS=1 but testcontainers found no container engine (no socket): start Docker (or point DOCKER_HOST at one), or run without SCAPH_REQUIRE_CONTAINERS',
    );
  });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `command` in the repo root, in a child process, with `env` on top of ours (less vitest's own variables). */
function run(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(childEnv)) if (key.startsWith('VITEST') || key === 'SCAPH_REQUIRE_CONTAINERS') delete childEnv[key];
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** vitest on the files that hold the real-server suites. */
function runVitest(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const files = ['test/e2e/exporters/riemann.test.ts', 'test/e2e/exporters/riemann-tls.test.ts', 'test/e2e/exporters/warp10.test.ts'];
  return run(join(ROOT, 'node_modules', '.bin', 'vitest'), ['run', ...files, ...args], env);
}

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

const REAL_SUITES = [
  'Riemann exporter against the real Riemann (testcontainers)',
  'Riemann exporter over mutual TLS against the real Riemann (testcontainers)',
  'scaph warp10 against the real Warp 10 (testcontainers)',
];

describe('a vitest run of the real-server suites, on this machine as it is', () => {
  it('without an engine: each suite left out with one line and the run green; with SCAPH_REQUIRE_CONTAINERS=1: one line and a failure', async () => {
    const engine = await findContainerEngine();
    if (engine.found) {
      // A laptop with Docker: nothing is left out and the variable lets the run through (no test selected, no container started).
      const run = await runVitest(['-t', 'no test is named like this', '--passWithNoTests'], { SCAPH_REQUIRE_CONTAINERS: '1' });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toContain('left out');
      return;
    }
    const plain = await runVitest(['-t', 'against the real'], {});
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const leftOut = nonEmptyLines(plain.stderr);
    expect(leftOut.map((l) => /left out "([^"]+)"/.exec(l)?.[1]).sort()).toEqual([...REAL_SUITES].sort());
    for (const line of leftOut) expect(line).toMatch(/\((riemannio\/riemann|warp10io\/warp10):[0-9][^)]*\): no container engine found; SCAPH_REQUIRE_CONTAINERS=1 npm test runs it or fails$/);

    const required = await runVitest(['-t', 'against the real'], { SCAPH_REQUIRE_CONTAINERS: '1' });
    expect(required.code).toBe(REQUIRED_ENGINE_MISSING_EXIT);
    expect(nonEmptyLines(required.stderr)).toEqual([requiredEngineMissingLine(engine.reason)]);
    expect(required.stdout).not.toMatch(/Tests? .*passed|left out/);

    // The laptop command itself (its build step aside): stops after that line, before its second vitest run.
    const npmTest = await run('npm', ['test', '--ignore-scripts'], { SCAPH_REQUIRE_CONTAINERS: '1' });
    expect(npmTest.code).toBe(1);
    expect(nonEmptyLines(npmTest.stderr)).toEqual([requiredEngineMissingLine(engine.reason)]);
    expect(npmTest.stdout.match(/ RUN /g)).toHaveLength(1);
    expect(npmTest.stdout).not.toContain('tests:');
  }, 180_000);
});

describe('image pulls and container starts', () => {
  it('gives a pull its own timeout, and says how to pull by hand', async () => {
    const started = Date.now();
    const never = (): Promise<void> => new Promise(() => undefined);
    await expect(pullImage('warp10io/warp10:3.5.0-ubuntu', undefined, 150, never)).rejects.toThrow(ContainerPullTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await expect(pullImage('warp10io/warp10:3.5.0-ubuntu', undefined, 150, never)).rejects.toThrow(
      'pulling warp10io/warp10:3.5.0-ubuntu took longer than 0 s: run "docker pull warp10io/warp10:3.5.0-ubuntu" once, then run the tests again',
    );
  });

  it('passes the platform to the pull and returns once it is done', async () => {
    const asked: Array<[string, string | undefined]> = [];
    await pullImage('riemannio/riemann:0.3.12', 'linux/amd64', 5_000, async (image, platform) => void asked.push([image, platform]));
    expect(asked).toEqual([['riemannio/riemann:0.3.12', 'linux/amd64']]);
  });

  it('sets the start timeout, and shows the container output when the start fails', async () => {
    const fake = new FakeStartable(['Starting\n', 'java.io.FileNotFoundException: /etc/riemann.config\n'], new Error('Log message "Hyperspace core online" not received after 240000ms'));
    const err = await startWithOutput('Riemann', 'riemannio/riemann:0.3.12', fake, 240_000).catch((e: unknown) => e);
    expect(fake.startupTimeoutMs).toBe(240_000);
    expect(err).toBeInstanceOf(ContainerStartError);
    expect((err as Error).message).toBe(
      'Riemann (riemannio/riemann:0.3.12) did not start: Log message "Hyperspace core online" not received after 240000ms\n' +
        '--- its last output ---\nStarting\njava.io.FileNotFoundException: /etc/riemann.config',
    );
  });

  it('returns the started container when the start succeeds', async () => {
    const fake = new FakeStartable(['ok\n'], null);
    expect(await startWithOutput('Warp 10', 'warp10io/warp10:3.5.0-ubuntu', fake, 300_000)).toBe(fake.started);
  });

  it('keeps only the end of a long output', () => {
    const tail = new OutputTail(10);
    tail.push('0123456789');
    tail.push(Buffer.from('abc'));
    expect(tail.text()).toBe('3456789abc');
  });
});

class FakeStartable implements StartableContainer {
  startupTimeoutMs = 0;
  readonly started = {} as StartedTestContainer;
  private consumer: ((stream: Readable) => unknown) | null = null;

  constructor(
    private readonly output: readonly string[],
    private readonly failure: Error | null,
  ) {}

  withStartupTimeout(ms: number): this {
    this.startupTimeoutMs = ms;
    return this;
  }

  withLogConsumer(consumer: (stream: Readable) => unknown): this {
    this.consumer = consumer;
    return this;
  }

  async start(): Promise<StartedTestContainer> {
    const stream = new PassThrough();
    this.consumer?.(stream);
    for (const chunk of this.output) stream.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failure) throw this.failure;
    return this.started;
  }
}

describe('a managed server in a container (launch seam, no engine needed)', () => {
  const recipe: ServerRecipe = {
    name: 'victoria-metrics',
    binary: 'victoria-metrics',
    binaryArgs: () => [],
    readyPath: '/health',
    image: 'victoriametrics/victoria-metrics:v1.102.0',
    containerPort: 8428,
    containerDataDir: '/data',
    containerArgs: () => [],
  };

  function fakeLaunch(): { launch: LaunchContainer; launches: Array<[number, string]>; stops: Array<Partial<StopOptions>> } {
    const launches: Array<[number, string]> = [];
    const stops: Array<Partial<StopOptions>> = [];
    const launch: LaunchContainer = async (_recipe, port, dataDir) => {
      launches.push([port, dataDir]);
      return {
        stop: async (options: Partial<StopOptions>) => {
          stops.push(options);
        },
      };
    };
    return { launch, launches, stops };
  }

  it('stops with SIGTERM and a 20 s grace period (not testcontainers\' default of 0), like the binary path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-container-server-'));
    const { launch, launches, stops } = fakeLaunch();
    const server = new ContainerServer(recipe, 18428, dir, 'localhost', launch);
    await server.start();
    await server.stop();
    await server.stop();
    expect(STOP_GRACE_MS).toBe(20_000);
    expect(stops).toEqual([{ timeout: 20_000, remove: true }]);
    await server.start();
    expect(launches).toEqual([[18428, dir], [18428, dir]]);
    await server.dispose();
    expect(stops).toHaveLength(2);
    expect(existsSync(dir)).toBe(false);
  });

  it('is reached at the engine host testcontainers reports, not a hard-coded 127.0.0.1', () => {
    const { launch } = fakeLaunch();
    expect(new ContainerServer(recipe, 8428, '/nonexistent', 'docker.example', launch).baseUrl).toBe('http://docker.example:8428');
    expect(new ContainerServer(recipe, 8428, '/nonexistent', 'fd00::2', launch).baseUrl).toBe('http://[fd00::2]:8428');
    expect(urlHost('[fd00::2]')).toBe('[fd00::2]');
  });
});
