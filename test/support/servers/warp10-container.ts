/**
 * The real Warp 10 (senx/warp10-docker image) through testcontainers, for the suite that runs where a
 * container engine is found. In-memory flavour (FLAVOR=in-memory, the 3.x variable). Tokens: the `-ci`
 * images carry fixed ones; otherwise the image's demo envelope goes through `warp10.sh tokengen` and
 * its JSON is read by token id (see tokensFromTokengen).
 */
import type { StartedTestContainer } from 'testcontainers';
import { runContainer, stopContainer, urlHost } from './containers.js';
import { WARP10_IMAGE } from './images.js';

export interface Warp10Container {
  readonly image: string;
  readonly baseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly writeToken: string;
  readonly readToken: string;
  stop(): Promise<void>;
}

export interface Warp10Tokens {
  readonly writeToken: string;
  readonly readToken: string;
}

/** What `docker exec … warp10.sh tokengen` gave back (testcontainers' ExecResult, stdout and stderr apart). */
export interface TokengenResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Warp10TokenError extends Error {
  override readonly name = 'Warp10TokenError';
}

/** Up to 240 s in senx/warp10-docker's own test script; a little more for a loaded laptop. */
export const WARP10_START_MS = 300_000;

/** The envelope the 3.x images ship (ids DemoReadToken, DemoWriteToken). */
export const DEMO_ENVELOPE = '/opt/warp10/tokens/demo-tokengen.mc2';
export const DEMO_IDS = { write: 'DemoWriteToken', read: 'DemoReadToken' } as const;

/** predictible-tokens-for-ci/ci.tokens in senx/warp10-docker: the `-ci` images accept these token strings. */
export const CI_TOKENS: Warp10Tokens = { writeToken: 'writeTokenCI', readToken: 'readTokenCI' };

export function isCiImage(image: string): boolean {
  return /-ci$/.test(image);
}

/**
 * The tokens TokenGen printed, by their envelope `id`. TokenGen prints the WarpScript stack as a JSON
 * array (top first) on stdout, log lines on stderr; each TOKENGEN result is a map of token, ident and id,
 * whose key order changed in 3.2.0 (a HashMap before: ident, id, token; a LinkedHashMap since: token,
 * ident, id). Reading it as JSON and picking by id does not depend on either order.
 */
export function tokensFromTokengen(result: TokengenResult): Map<string, string> {
  const context = `\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
  if (result.exitCode !== 0) throw new Warp10TokenError(`warp10.sh tokengen exited with ${result.exitCode}${context}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch (err) {
    throw new Warp10TokenError(`warp10.sh tokengen did not print JSON (${(err as Error).message})${context}`);
  }
  if (!Array.isArray(parsed)) throw new Warp10TokenError(`warp10.sh tokengen printed no JSON array${context}`);
  const tokens = new Map<string, string>();
  for (const level of parsed as unknown[]) {
    if (level === null || typeof level !== 'object') continue;
    const { id, token } = level as { id?: unknown; token?: unknown };
    if (typeof id === 'string' && typeof token === 'string') tokens.set(id, token);
  }
  return tokens;
}

/** The write and read tokens named `ids` in tokengen's output. */
export function pickTokens(result: TokengenResult, ids: { readonly write: string; readonly read: string } = DEMO_IDS): Warp10Tokens {
  const tokens = tokensFromTokengen(result);
  const token = (id: string): string => {
    const found = tokens.get(id);
    if (found === undefined) throw new Warp10TokenError(`no token with id ${id} in the tokengen output (ids: ${[...tokens.keys()].join(', ') || 'none'})`);
    return found;
  };
  return { writeToken: token(ids.write), readToken: token(ids.read) };
}

/**
 * /api/v0/fetch parameters covering exactly the points written at `timestampsMs` (this machine's clock):
 * `now` is the newest of them, in µs, and `timespan` reaches back to the oldest. `now=now` would use
 * the container's clock, which drifts in Docker Desktop's VM after the laptop sleeps.
 */
export function fetchWindow(timestampsMs: readonly number[]): { now: string; timespan: string } {
  if (timestampsMs.length === 0) throw new Error('fetchWindow: no timestamps');
  const newestUs = Math.max(...timestampsMs) * 1000;
  const oldestUs = Math.min(...timestampsMs) * 1000;
  return { now: String(newestUs), timespan: String(newestUs - oldestUs + 1) };
}

export async function startWarp10Container(image = WARP10_IMAGE): Promise<Warp10Container> {
  const { Wait } = await import('testcontainers');
  const container = await runContainer(
    'Warp 10',
    image,
    (c) =>
      c
        .withEnvironment({ FLAVOR: 'in-memory' })
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp('/api/v0/check', 8080).forStatusCode(200)),
    { startMs: WARP10_START_MS },
  );
  try {
    const tokens = isCiImage(image) ? CI_TOKENS : pickTokens(await container.exec(['warp10.sh', 'tokengen', DEMO_ENVELOPE]));
    return describeContainer(image, container, tokens);
  } catch (err) {
    await stopContainer(container);
    throw err;
  }
}

function describeContainer(image: string, container: StartedTestContainer, tokens: Warp10Tokens): Warp10Container {
  const host = container.getHost();
  const port = container.getMappedPort(8080);
  return {
    image,
    host,
    port,
    baseUrl: `http://${urlHost(host)}:${port}`,
    ...tokens,
    stop: () => stopContainer(container),
  };
}
