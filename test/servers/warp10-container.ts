/**
 * The real Warp 10 (warp10io/warp10 image) through testcontainers, for the suite variant that runs
 * only where a Docker engine is reachable. Tokens come from the image's demo token generator, as in
 * senx/warp10-docker's own test script. SCAPH_WARP10_IMAGE overrides the image.
 */
export interface Warp10Container {
  readonly baseUrl: string;
  readonly port: number;
  readonly writeToken: string;
  readonly readToken: string;
  stop(): Promise<void>;
}

export const WARP10_IMAGE = process.env['SCAPH_WARP10_IMAGE'] ?? 'warp10io/warp10:latest';

/** True when testcontainers finds a working container runtime (a couple of seconds when there is none). */
export async function dockerReachable(): Promise<boolean> {
  try {
    const tc = await import('testcontainers');
    await tc.getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startWarp10Container(): Promise<Warp10Container> {
  const tc = await import('testcontainers');
  const container = await new tc.GenericContainer(WARP10_IMAGE)
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forHttp('/api/v0/check', 8080).forStatusCode(200))
    .withStartupTimeout(180_000)
    .start();
  const gen = await container.exec(['warp10.sh', 'tokengen', '/opt/warp10/tokens/demo-tokengen.mc2']);
  const token = (id: string): string => {
    // As senx/warp10-docker's test.sh: the line after the one naming the token holds `"…" : "<token>"`.
    const m = new RegExp(`${id}[^\\n]*\\n[^\\n]*" : "([^"]+)"`).exec(gen.output);
    if (!m) throw new Error(`no ${id} in the tokengen output:\n${gen.output}`);
    return m[1]!;
  };
  const port = container.getMappedPort(8080);
  return {
    baseUrl: `http://${container.getHost()}:${port}`,
    port,
    writeToken: token('DemoWriteToken'),
    readToken: token('DemoReadToken'),
    stop: async () => {
      await container.stop({ remove: true });
    },
  };
}
