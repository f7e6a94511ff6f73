/**
 * The answers scaph reads by hand, written by OpenTelemetry's generated code (ExportMetricsServiceResponse)
 * and by protobufjs from googleapis' definitions (google.rpc.Status with a RetryInfo).
 */
import { describe, expect, it } from 'vitest';
import { readExportResponse, readStatus } from '../../../../src/exporters/otlp/responses.js';
import { encodeExportResponse, encodeStatus } from '../../../support/servers/otlp-proto.js';

describe('readExportResponse', () => {
  it('a full success: no partial_success, or an empty body', () => {
    expect(readExportResponse(encodeExportResponse())).toEqual({ understood: true, rejected: null });
    expect(readExportResponse(new Uint8Array(0))).toEqual({ understood: true, rejected: null });
  });

  it('a partial success: the points and the message, on one line', () => {
    expect(readExportResponse(encodeExportResponse({ points: 123_456_789_012, message: 'out of order\nsample' }))).toEqual({
      understood: true,
      rejected: { points: 123_456_789_012, message: 'out of order sample' },
    });
    expect(readExportResponse(encodeExportResponse({ points: 0, message: 'a warning only' })).rejected).toEqual({ points: 0, message: 'a warning only' });
  });

  it('a message of 10,000 characters is cut', () => {
    const said = readExportResponse(encodeExportResponse({ points: 1, message: 'x'.repeat(10_000) })).rejected?.message ?? '';
    expect(said.length).toBe(301);
    expect(said.endsWith('…')).toBe(true);
  });

  it.each([
    ['an HTML page', Buffer.from('<html><body>Welcome</body></html>')],
    ['JSON', Buffer.from('{"partialSuccess":{}}')],
    ['a message cut short', encodeExportResponse({ points: 5, message: 'out of order' }).subarray(0, 6)],
  ])('%s is not understood', (_what, bytes) => {
    expect(readExportResponse(bytes)).toEqual({ understood: false, rejected: null });
  });
});

describe('readStatus', () => {
  it('code and message; a RetryInfo detail as ms', () => {
    expect(readStatus(encodeStatus(14, 'overloaded', 2500))).toEqual({ code: 14, message: 'overloaded', retryDelayMs: 2500 });
    expect(readStatus(encodeStatus(3, 'bad data'))).toEqual({ code: 3, message: 'bad data', retryDelayMs: null });
  });

  it('text is not a Status', () => {
    expect(readStatus(Buffer.from('bad metric name\n'))).toBeNull();
  });
});
