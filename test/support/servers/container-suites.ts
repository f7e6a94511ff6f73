/**
 * The vitest side of the real-server suites: register, leave out (one line on stderr) or fail a suite
 * by testcontainers' verdict and SCAPH_REQUIRE_CONTAINERS, and start/stop its container around it.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { findContainerEngine, PULL_TIMEOUT_MS, REQUIRE_CONTAINERS, requiredEngineMissingLine, STOP_GRACE_MS, type ContainerEngine } from './containers.js';

export class ContainerEngineRequiredError extends Error {
  override readonly name = 'ContainerEngineRequiredError';
}

export type SuitePlan = { readonly kind: 'run' } | { readonly kind: 'leave-out' | 'fail'; readonly line: string };

/** Run a real-server suite, leave it out (one line saying so), or fail it, given the engine and the environment. */
export function planContainerSuite(suite: string, image: string, found: ContainerEngine, env: NodeJS.ProcessEnv): SuitePlan {
  if (found.found) return { kind: 'run' };
  if (env[REQUIRE_CONTAINERS] === '1') return { kind: 'fail', line: requiredEngineMissingLine(found.reason) };
  return {
    kind: 'leave-out',
    line: `scaph tests: left out "${suite}" (${image}): no container engine found; ${REQUIRE_CONTAINERS}=1 npm test runs it or fails`,
  };
}

/** `describe` for a suite that needs a container engine (see planContainerSuite). */
export async function describeWithContainers(suite: string, image: string, body: () => void): Promise<void> {
  const plan = planContainerSuite(suite, image, await findContainerEngine(), process.env);
  if (plan.kind === 'run') {
    describe(suite, body);
  } else if (plan.kind === 'leave-out') {
    process.stderr.write(`${plan.line}\n`);
  } else {
    describe(suite, () => {
      it('has a container engine', () => {
        throw new ContainerEngineRequiredError(plan.line);
      });
    });
  }
}

/** Time a beforeAll that pulls and starts a container may take. */
export function containerHookTimeoutMs(startMs: number): number {
  return PULL_TIMEOUT_MS + startMs + 30_000;
}

/**
 * In a describe: `start` runs before its tests (within the pull and start timeouts), the result is
 * stopped after them. Returns the started value for the tests to use.
 */
export function containerForSuite<T extends { stop(): Promise<void> }>(start: () => Promise<T>, startMs: number): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, containerHookTimeoutMs(startMs));
  afterAll(async () => {
    await started?.stop();
  }, STOP_GRACE_MS + 10_000);
  return () => {
    if (started === undefined) throw new Error('the container did not start (see the beforeAll error)');
    return started;
  };
}

