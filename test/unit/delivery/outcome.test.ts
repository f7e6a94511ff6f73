import { describe, expect, it } from 'vitest';
import { classifyHttp, classifyNetworkError, parseRetryAfterMs } from '../../../src/delivery/outcome.js';

describe('classifyHttp (remote-write spec table)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([200, 204, 299])('%i is ok', (status) => {
    expect(classifyHttp(status, {}, '', now)).toEqual({ kind: 'ok' });
  });
  it.each([500, 502, 503, 504, 599])('%i is retried without a server-imposed wait', (status) => {
    const o = classifyHttp(status, {}, 'boom', now);
    expect(o).toEqual({ kind: 'retry', error: `HTTP ${status}: boom` });
  });
  it.each([400, 401, 403, 404, 409, 413, 422])('%i is dropped with reason http_<status>', (status) => {
    const o = classifyHttp(status, {}, 'bad things\nhappened', now);
    expect(o).toEqual({ kind: 'drop', reason: `http_${status}`, error: `HTTP ${status}: bad things happened` });
  });
  it('429 honours Retry-After in seconds', () => {
    expect(classifyHttp(429, { 'retry-after': '7' }, '', now)).toEqual({ kind: 'retry', afterMs: 7000, error: 'HTTP 429' });
  });
  it('429 honours Retry-After as an HTTP date (Headers object)', () => {
    const h = new Headers({ 'Retry-After': 'Thu, 01 Jan 2026 00:00:12 GMT' });
    expect(classifyHttp(429, h, '', now)).toEqual({ kind: 'retry', afterMs: 12_000, error: 'HTTP 429' });
  });
  it('429 with a date in the past asks for no wait (the backoff applies); without the header, with backoff', () => {
    expect(classifyHttp(429, { 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, '', now)).toMatchObject({ afterMs: 0 });
    expect(classifyHttp(429, {}, '', now)).toEqual({ kind: 'retry', error: 'HTTP 429' });
    expect(classifyHttp(429, { 'retry-after': 'soon' }, '', now)).toEqual({ kind: 'retry', error: 'HTTP 429' });
  });
  it('keeps only a short excerpt of a long body', () => {
    const o = classifyHttp(400, {}, 'x'.repeat(5000), now);
    expect(o.kind === 'drop' && o.error.length).toBe('HTTP 400: '.length + 200);
  });
  it('parseRetryAfterMs', () => {
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
    expect(parseRetryAfterMs(' 3 ', now)).toBe(3000);
    expect(parseRetryAfterMs('0', now)).toBe(0);
  });
  it('parseRetryAfterMs reads every HTTP-date form as GMT', () => {
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:12 GMT', now)).toBe(12_000);
    expect(parseRetryAfterMs('Thursday, 01-Jan-26 00:00:12 GMT', now)).toBe(12_000);
    expect(parseRetryAfterMs('Thu Jan  1 00:00:12 2026', now)).toBe(12_000);
    expect(parseRetryAfterMs('Thu Jan  1 00:00:12 2026 GMT', now)).toBeUndefined();
  });
});

describe('classifyNetworkError', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'EPIPE'])('%s is retried', (code) => {
    const err = Object.assign(new Error('socket trouble'), { code });
    expect(classifyNetworkError(err)).toEqual({ kind: 'retry', error: `${code}: socket trouble` });
  });
  it('finds the code in a wrapped cause (fetch failed)', () => {
    const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }) });
    expect(classifyNetworkError(err)).toMatchObject({ kind: 'retry', error: 'ECONNREFUSED: fetch failed' });
  });
  it('a timeout (TimeoutError from AbortSignal.timeout) is retried', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((r) => setTimeout(r, 20));
    const o = classifyNetworkError(signal.reason);
    expect(o.kind).toBe('retry');
    expect(o.kind === 'retry' && o.error).toMatch(/^timed out or aborted/);
  });
});
