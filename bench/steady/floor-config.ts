/** What the steady section hands the I/O floor (io-floor.ts): one JSON file and the payloads beside it. */
export interface FloorConfig {
  readonly procfsRoot: string;
  readonly stepMs: number;
  readonly remoteWriteUrl: string;
  readonly warp10Url: string;
  readonly warp10Token: string;
  readonly warp10Gzipped: boolean;
  readonly riemannPort: number;
  /** Riemann frames (length prefix included) in riemann.bin, back to back. */
  readonly riemannFrames: number;
  /**
   * Where otlp.pb (an ExportMetricsServiceRequest, uncompressed) goes, gzipped at every step as the agent
   * sends it; null when the agent it stands beside has no OTLP exporter (the scale section's three transports).
   */
  readonly otlpUrl: string | null;
  /** The agent's gzip level for OTLP (the transport's GZIP_LEVEL), so the floor compresses as it does. */
  readonly otlpGzipLevel: number;
}

export const FLOOR_CONFIG_FILE = 'floor.json';
export const REMOTE_WRITE_FILE = 'remote-write.pb';
export const WARP10_FILE = 'warp10.body';
export const RIEMANN_FILE = 'riemann.bin';
export const OTLP_FILE = 'otlp.pb';
