/**
 * How a fake metadata API (kube-api.ts, docker-api.ts) can misbehave instead of answering: hang after
 * accepting the request, answer garbage, or stream a huge answer. The huge one is written chunk by chunk
 * as the client reads it (the test process never holds it), and stops when the client hangs up.
 */
import type { ServerResponse } from 'node:http';

export type Misbehaviour =
  /** Accepts the request and never answers (the connection stays open until the client gives up). */
  | { readonly kind: 'hang' }
  /** Answers `status` (default 200) with this body as application/json. */
  | { readonly kind: 'garbage'; readonly body: string | Buffer; readonly status?: number }
  /**
   * Answers 200 with a JSON array of `bytes` bytes, streamed; `declared` sends its Content-Length up
   * front (else it comes chunked, as a daemon that does not know its size answers).
   */
  | { readonly kind: 'huge'; readonly bytes: number; readonly declared?: boolean };

const CHUNK_ITEM = `"${'x'.repeat(1022)}",`;
/** 1 MiB of array items: few writes, so even a loaded box streams the cap well within a request's deadline. */
const CHUNK = Buffer.from(CHUNK_ITEM.repeat(1024));

/** Answers `res` as `m` says. */
export function misbehave(res: ServerResponse, m: Misbehaviour): void {
  if (m.kind === 'hang') return;
  if (m.kind === 'garbage') {
    res.writeHead(m.status ?? 200, { 'content-type': 'application/json' });
    res.end(m.body);
    return;
  }
  const head = Buffer.from('[');
  const tail = Buffer.from('""]');
  const chunks = Math.max(0, Math.floor((m.bytes - head.length - tail.length) / CHUNK.length));
  const total = head.length + chunks * CHUNK.length + tail.length;
  res.writeHead(200, { 'content-type': 'application/json', ...(m.declared ? { 'content-length': String(total) } : {}) });
  res.write(head);
  let sent = 0;
  let closed = false;
  res.on('close', () => (closed = true));
  const pump = (): void => {
    while (!closed && sent < chunks) {
      sent++;
      if (!res.write(CHUNK)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed) res.end(tail);
  };
  pump();
}
