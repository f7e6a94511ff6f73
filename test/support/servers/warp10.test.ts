import { gzipSync } from 'node:zlib';
import { Warp10 } from '@senx/warp10';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Warp10TestServer } from './warp10.js';

let server: Warp10TestServer;

beforeEach(async () => {
  server = await Warp10TestServer.start({ writeTokens: ['w-tok'], readTokens: ['r-tok'] });
});
afterEach(async () => {
  await server.stop();
});

async function post(body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/api/v0/update`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

describe('warp10 test server, proven with the vendor client (@senx/warp10)', () => {
  it('stores what the vendor client pushes, with class, labels, timestamps and typed values', async () => {
    const w10 = new Warp10({ endpoint: server.url, silent: true });
    const result = await w10.update('w-tok', [
      { timestamp: 1_700_000_000_000_000, className: 'io.senx.test', labels: { room: 'a b,c', floor: '1' }, value: 54 },
      { timestamp: 1_700_000_000_000_001, className: 'io.senx.test', labels: { room: 'a b,c', floor: '1' }, value: 1.5 },
      { timestamp: 1_700_000_000_000_002, className: 'io.senx.flag', labels: { k: 'é=%' }, value: true },
      { timestamp: 1_700_000_000_000_003, className: 'io.senx.text', labels: {}, value: "hello wörld 'x'" },
      { timestamp: 1_700_000_000_000_004, className: 'io.senx.geo', labels: {}, value: 3, lat: 48.5, lng: -4.25, elev: 120 },
      '1380475081000000// io.senx.raw{key=value} T',
    ]);
    expect(result.count).toBe(6);
    expect(server.requests.map((r) => r.status)).toEqual([200]);
    expect(server.requests[0]!.token).toBe('w-tok');
    const p = server.points;
    expect(p).toHaveLength(6);
    expect(p[0]).toMatchObject({ className: 'io.senx.test', labels: { room: 'a b,c', floor: '1' }, timestampUs: 1_700_000_000_000_000, type: 'LONG', value: 54 });
    expect(p[1]).toMatchObject({ type: 'DOUBLE', value: 1.5 });
    expect(p[2]).toMatchObject({ className: 'io.senx.flag', labels: { k: 'é=%' }, type: 'BOOLEAN', value: true });
    expect(p[3]).toMatchObject({ className: 'io.senx.text', labels: {}, type: 'STRING', value: "hello wörld 'x'" });
    expect(p[4]).toMatchObject({ latitude: 48.5, longitude: -4.25, elevation: 120, type: 'LONG', value: 3 });
    expect(p[5]).toMatchObject({ className: 'io.senx.raw', labels: { key: 'value' }, timestampUs: 1380475081000000, type: 'BOOLEAN', value: true });
  });

  it('shows the vendor client writes a whole double as a LONG (why we do not copy its formatting)', async () => {
    const w10 = new Warp10({ endpoint: server.url, silent: true });
    await w10.update('w-tok', [{ timestamp: 1, className: 'c', labels: {}, value: 42.0 }]);
    expect(server.points[0]).toMatchObject({ type: 'LONG', value: 42 });
  });

  it('reads points back through /api/v0/fetch with the vendor client', async () => {
    const w10 = new Warp10({ endpoint: server.url, silent: true });
    await w10.update('w-tok', [
      { timestamp: 2, className: 'io.x', labels: { a: 'b c' }, value: 2 },
      { timestamp: 1, className: 'io.x', labels: { a: 'b c' }, value: 1 },
      { timestamp: 1, className: 'io.x', labels: { a: 'other' }, value: 9 },
    ]);
    const res = await fetch(`${server.url}/api/v0/fetch?selector=${encodeURIComponent('io.x{a=b%20c}')}&format=text`, { headers: { 'X-Warp10-Token': 'r-tok' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1// io.x{a=b%20c} 1\n2// io.x{a=b%20c} 2\n');
  });
});

describe('warp10 test server: protocol', () => {
  const line = '1000// c{k=v} 1\n';

  it('answers 403 without a token or with a wrong one, and stores nothing', async () => {
    expect((await post(line, {})).status).toBe(403);
    expect((await post(line, { 'X-Warp10-Token': 'nope' })).status).toBe(403);
    expect(server.points).toHaveLength(0);
  });

  it('gunzips Content-Type: application/gzip but does not decode Content-Encoding: gzip (as Warp 10)', async () => {
    const gz = gzipSync(Buffer.from(line + '2000// c{k=v} 2.0\n'));
    expect((await post(gz, { 'X-Warp10-Token': 'w-tok', 'Content-Type': 'application/gzip' })).status).toBe(200);
    expect(server.points.map((p) => p.value)).toEqual([1, 2]);
    const bad = await post(gz, { 'X-Warp10-Token': 'w-tok', 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' });
    expect(bad.status).toBe(400);
    expect(server.points).toHaveLength(2);
  });

  it('answers 400 "Parse error at index N in <line>" and keeps the lines before (not atomic)', async () => {
    const res = await post('1// ok{} 1\n2// bad{k=v} notavalue\n3// after{} 3\n', { 'X-Warp10-Token': 'w-tok' });
    expect(res.status).toBe(400);
    expect(res.text).toContain("Parse error at index 13 in '2// bad{k=v} notavalue'");
    expect(server.points.map((p) => p.className)).toEqual(['ok']);
  });

  it.each([
    ['no timestamp separator', '1000 c{} 1'],
    ['no labels', '1000// c 1'],
    ['unclosed labels', '1000// c{k=v 1'],
    ['label without =', '1000// c{kv} 1'],
    ['raw space in a label value', '1000// c{k=a b} 1'],
    ['no value', '1000// c{}'],
    ['LONG overflow', '1000// c{} 9223372036854775808'],
    ['bad timestamp', '10x0// c{} 1'],
    ['continuation first', '=1000// 1'],
  ])('rejects %s with 400', async (_what, bad) => {
    expect((await post(`${bad}\n`, { 'X-Warp10-Token': 'w-tok' })).status).toBe(400);
  });

  it('answers 500 for a stray % (URLDecoder error in Warp 10), not 400', async () => {
    expect((await post('1// c{k=100%} 1\n', { 'X-Warp10-Token': 'w-tok' })).status).toBe(500);
    expect((await post('1// c{k=%zz} 1\n', { 'X-Warp10-Token': 'w-tok' })).status).toBe(500);
  });

  it('accepts comments, blank lines, CRLF, attributes, continuations, quoted strings and + as a literal', async () => {
    const body = "# comment\n\n1// a%2Bb+c{k=x+y}{attr=1} 'it%27s'\r\n=2// 'again'\n3/1.5:2.5/ g{} -4.5e3\n";
    expect((await post(body, { 'X-Warp10-Token': 'w-tok' })).status).toBe(200);
    expect(server.points.map((p) => [p.className, p.labels, p.timestampUs, p.value])).toEqual([
      ['a+b+c', { k: 'x+y' }, 1, "it's"],
      ['a+b+c', { k: 'x+y' }, 2, 'again'],
      ['g', {}, 3, -4500],
    ]);
    expect(server.points[0]!.attributes).toEqual({ attr: '1' });
  });

  it('injects statuses with headers, and survives stop/restart on the same port', async () => {
    server.inject(429, 1, { 'Retry-After': '1' });
    server.inject(500);
    const r1 = await fetch(`${server.url}/api/v0/update`, { method: 'POST', body: line, headers: { 'X-Warp10-Token': 'w-tok' } });
    expect([r1.status, r1.headers.get('retry-after')]).toEqual([429, '1']);
    expect((await post(line, { 'X-Warp10-Token': 'w-tok' })).status).toBe(500);
    expect(server.points).toHaveLength(0);
    const port = server.port;
    await server.stop();
    await expect(post(line, { 'X-Warp10-Token': 'w-tok' })).rejects.toThrow();
    await server.restart();
    expect(server.port).toBe(port);
    expect((await post(line, { 'X-Warp10-Token': 'w-tok' })).status).toBe(200);
    expect(server.points).toHaveLength(1);
  });
});
