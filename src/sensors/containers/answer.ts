/**
 * Reads what a metadata API (Docker Engine, Kubernetes) answered, as a node's hostile or broken daemon may
 * answer it: the body is read up to a size cap and refused beyond it (memory stays bounded whatever the
 * daemon sends), and what is not JSON is refused with a few of its first characters. Either way the
 * caller keeps the tables it had and says so once.
 */
import type { Readable } from 'node:stream';
import { ScaphError } from '../../core/errors.js';

/** The API answered something scaph cannot use (too large, not JSON, not the documented shape). */
export class MetadataAnswerError extends ScaphError {}

/**
 * The body as JSON, read in chunks up to `maxBytes`; a larger one (by Content-Length up front, or as it
 * streams in) is abandoned at once. `what` names the request for the message: "GET /api/v1/pods".
 */
export async function readJsonAnswer(
  body: Readable,
  contentLength: string | string[] | undefined,
  maxBytes: number,
  what: string,
): Promise<unknown> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : Number.NaN;
  if (declared > maxBytes) {
    body.destroy();
    throw tooLarge(what, `${declared} bytes`, maxBytes);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    length += buf.length;
    if (length > maxBytes) {
      body.destroy();
      throw tooLarge(what, `more than ${maxBytes} bytes`, maxBytes);
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks, length).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MetadataAnswerError(`the answer to ${what} is not JSON (it starts with ${JSON.stringify(text.slice(0, 40))})`);
  }
}

function tooLarge(what: string, size: string, maxBytes: number): MetadataAnswerError {
  return new MetadataAnswerError(`the answer to ${what} is ${size}, more than the ${maxBytes / 1024 / 1024} MiB scaph accepts: refused`);
}
