/**
 * vitest globalSetup: with SCAPH_REQUIRE_CONTAINERS=1 (the laptop command, see docs/development.md) a run
 * without a container engine stops before any test, with one line saying why, instead of leaving the
 * real-server suites out.
 */
import { findContainerEngine, REQUIRE_CONTAINERS, REQUIRED_ENGINE_MISSING_EXIT, requiredEngineMissingLine } from './containers.js';

export async function setup(): Promise<void> {
  if (process.env[REQUIRE_CONTAINERS] !== '1') return;
  const engine = await findContainerEngine();
  if (engine.found) return;
  // One line and out: a thrown error would come wrapped in vitest's "no test files" and stack output.
  // 78 (EX_CONFIG) tells `npm test` to stop there rather than start its second vitest run.
  process.stderr.write(`${requiredEngineMissingLine(engine.reason)}\n`);
  process.exit(REQUIRED_ENGINE_MISSING_EXIT);
}
