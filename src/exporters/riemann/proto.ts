/**
 * Riemann's protobuf messages and TCP framing (4-byte big-endian length, then a serialized Msg, both
 * directions). The .proto is loaded at run time with protobufjs rather than compiled to a static
 * module: the schema is five small messages, loading takes a few milliseconds once per process, and
 * proto/riemann.proto stays the single source (no generated code to keep in step, no build tool).
 */
import protobuf from 'protobufjs';
import { packageFileText } from '../../core/package-file.js';

/** Field names as protobufjs exposes them (camelCase). Longs are numbers here: our values fit in 2^53. */
export interface RiemannAttribute {
  key: string;
  value?: string;
}

export interface RiemannEvent {
  time?: number;
  state?: string;
  service?: string;
  host?: string;
  description?: string;
  tags?: string[];
  ttl?: number;
  attributes?: RiemannAttribute[];
  timeMicros?: number;
  metricSint64?: number;
  metricD?: number;
  metricF?: number;
}

export interface RiemannMsg {
  ok?: boolean;
  error?: string;
  query?: { string?: string };
  events?: RiemannEvent[];
}

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** A frame longer than this is not a Riemann message (the server's own cap is far below it). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const PROTO_FILE = 'proto/riemann.proto';

let msgType: protobuf.Type | null = null;

/** The riemann.Msg type, loaded once. */
export function riemannMsgType(): protobuf.Type {
  msgType ??= protobuf.parse(packageFileText(PROTO_FILE)).root.lookupType('riemann.Msg');
  return msgType;
}

/** Serializes a Msg with its length prefix, ready to write to the socket. */
export function encodeFrame(msg: RiemannMsg): Buffer {
  const body = riemannMsgType().encode(msg).finish();
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** The bytes of Msg{ok: true}: the server's answer to every accepted Msg of events. */
const OK_BODY_0 = 0x10; // field 2 (ok), varint
const OK_BODY_1 = 0x01;

/** Decodes one Msg body (no prefix) into a plain object; unset fields stay absent. Throws on bad bytes. */
export function decodeMsg(body: Uint8Array): RiemannMsg {
  // The common reply, every step on every Msg: no need for protobufjs' generic decode and toObject.
  if (body.length === 2 && body[0] === OK_BODY_0 && body[1] === OK_BODY_1) return { ok: true };
  const type = riemannMsgType();
  return type.toObject(type.decode(body), { longs: Number, arrays: false, defaults: false }) as RiemannMsg;
}

/** Thrown by the frame reader when the peer sends something that cannot be a Riemann frame. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/**
 * Reassembles length-prefixed frames from a byte stream: push chunks, get whole Msg bodies back.
 * Keeps at most one partial frame in memory.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the complete frame bodies it finished, in order. Throws MalformedFrameError. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const bodies: Buffer[] = [];
    while (this.pending.length >= FRAME_HEADER_BYTES) {
      const length = this.pending.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new MalformedFrameError(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      const end = FRAME_HEADER_BYTES + length;
      if (this.pending.length < end) break;
      bodies.push(this.pending.subarray(FRAME_HEADER_BYTES, end));
      this.pending = this.pending.subarray(end);
    }
    return bodies;
  }

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}
