/**
 * Broken backends: servers that refuse, fail, hang, reset, lie about waiting, or are not there. scaph keeps
 * sampling, retries what may succeed, counts what it gives up on, and says each problem once. What was
 * sampled (a json exporter in the same run) is checked against what arrived plus what was counted as
 * dropped: nothing disappears silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScaph } from '../../support/fixtures/run-scaph.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import { RemoteWriteV2Receiver, type ReceiverMode } from '../../support/servers/remote-write-v2-receiver.js';
import { makeTestCerts, type TestCerts } from '../../support/servers/certs.js';
import { OtlpReceiver } from '../../support/servers/otlp-receiver.js';
import { countByTime, lastSelfMetric, otlpRun, pointsOf } from '../../support/harness/otlp.js';
import { asctimeDate, eventually, expectClean, HOST_SERIES, jsonReportTimes, logLines, missing, RemoteWriteReceiver, riemannHostTimes, runConfig, saying, sleep, tempDir, type ScriptedAnswer, JSON_LOGS } from '../../support/harness/bad-input.js';

/** `scaph run` with one push exporter (its TOML lines) and the list of every sample taken. */
function pushRun(exporter: string) {
  const { config, sampled } = runConfig(tempDir(), exporter);
  return { sampled, scaph: startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000 }) };
}

async function remoteWriteThrough(script: readonly ScriptedAnswer[], extra = '') {
  const receiver = await RemoteWriteReceiver.start();
  receiver.script.push(...script);
  const run = pushRun(`type = "remote-write"\nurl = "${receiver.url}"\n${extra}`);
  return { receiver, ...run };
}

describe('remote-write receivers that misbehave', () => {
  it('500 for a while: retried, then every sample arrives', async () => {
    const { receiver, sampled, scaph } = await remoteWriteThrough(Array.from({ length: 3 }, () => ({ status: 500, body: 'internal error' })));
    try {
      await sleep(2000);
      await eventually(() => receiver.stored.size > 0 && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 20_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), new Set(receiver.stored.keys()))).toEqual([]);
      expect(logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry')).toHaveLength(1);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('400 (rejected for good): dropped, counted in scaph_delivery_samples_dropped_total, logged once; sent + dropped = sampled', async () => {
    const { receiver, sampled, scaph } = await remoteWriteThrough(Array.from({ length: 4 }, () => ({ status: 400, body: 'out of order sample' })), 'max_samples_per_send = 1\n');
    try {
      await eventually(() => receiver.requests.length >= 8, 20_000, 'requests after the rejections');
      const r = await scaph.stop();
      expectClean(r);
      const taken = jsonReportTimes(sampled);
      const dropped = receiver.selfMetrics.get('scaph_delivery_samples_dropped_total{reason="http_400",transport="remote-write"}') ?? 0;
      const sent = receiver.selfMetrics.get('scaph_delivery_samples_sent_total{transport="remote-write"}') ?? 0;
      expect(dropped).toBe(4);
      expect(missing(taken, new Set(receiver.stored.keys()))).toHaveLength(4);
      // The last request carried the counters as they were before it: it was sent and acknowledged too.
      expect(sent + dropped + 1).toBe(receiver.stored.size + 4);
      const rejected = logLines(r.stderr).filter((l) => /rejected by the backend/.test(l.msg));
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.['error']).toBe('HTTP 400: out of order sample');
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('a receiver that never answers: each request times out and is retried; every sample arrives when it answers', async () => {
    const { receiver, sampled, scaph } = await remoteWriteThrough([{ status: 0, hang: true }, { status: 0, hang: true }], 'timeout = 1\n');
    try {
      await eventually(() => receiver.requests.length >= 3 && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 20_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      expect(logLines(r.stderr).some((l) => /timed out or aborted|no answer within 1000 ms/.test(String(l['error'])))).toBe(true);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('connections reset before the answer: retried, nothing lost', async () => {
    const { receiver, sampled, scaph } = await remoteWriteThrough([{ status: 0, reset: true }, { status: 0, reset: true }, { status: 0, reset: true }]);
    try {
      await eventually(() => receiver.requests.length >= 4 && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 20_000, 'every sample');
      expectClean(await scaph.stop());
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('a 5 MB error page: the log keeps a short excerpt, delivery goes on', async () => {
    const page = `<html>${'x'.repeat(5 * 1024 * 1024)}</html>`;
    const { receiver, sampled, scaph } = await remoteWriteThrough([{ status: 503, body: page }]);
    try {
      await eventually(() => receiver.stored.size > 2 && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 20_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      const failed = logLines(r.stderr).find((l) => l.msg === 'delivery failed; will retry');
      expect(String(failed?.['error']).length).toBeLessThanOrEqual(220);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('Retry-After as a date a day ahead: capped like a number of seconds', async () => {
    const { receiver, scaph } = await remoteWriteThrough([{ status: 429, headers: { 'retry-after': new Date(Date.now() + 86_400_000).toUTCString() } }]);
    try {
      await scaph.waitForStderr(/Retry-After/);
      const r = await scaph.stop('SIGKILL');
      const line = logLines(r.stderr).find((l) => /Retry-After/.test(l.msg));
      expect(Number(line?.['retryAfterAskedS'])).toBeGreaterThan(86_000);
      expect(line?.['retryInS']).toBe(30);
    } finally {
      await receiver.stop();
    }
  });

  // The scenario: a 12 s outage left dashboards blind for up to 30 s after the return, the data
  // sleeping in a backoff that had grown to 30 s, and no line said so.
  it('down for 12 s: the first sample arrives within 5 s of its return, the backlog right after; the log said when it would retry', async () => {
    const { receiver, sampled, scaph } = await remoteWriteThrough([]);
    try {
      await eventually(() => receiver.stored.size >= 2, 10_000, 'the first samples');
      await receiver.stop();
      const downAt = Date.now();
      await sleep(12_000);
      await receiver.restart();
      const upAt = Date.now();
      const taken = jsonReportTimes(sampled).filter((t) => t < upAt);
      await eventually(() => [...receiver.stored.keys()].some((t) => t >= downAt && t < upAt), 10_000, 'a sample from the outage');
      const firstMs = Date.now() - upAt;
      await eventually(() => missing(taken, new Set(receiver.stored.keys())).length === 0, 5_000, 'the backlog');
      const fullMs = Date.now() - upAt;
      console.info(`[bad-input 12 s outage] first sample from the outage stored ${firstMs} ms after the return, all ${taken.length} taken before it at ${fullMs} ms`);
      expect(firstMs).toBeLessThanOrEqual(5_000 + 500);
      expect(fullMs - firstMs).toBeLessThan(1_000);
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), new Set(receiver.stored.keys()))).toEqual([]);
      // Said once per distinct error for the outage, not per attempt (some 8 attempts in 12 s): the stop can
      // cut a request in flight (a reset) before the refusals start, and a loaded machine may time out one
      // more request just after the return, a new failure with its own line.
      const retry = logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry' && Number(l['time']) < upAt);
      const errors = retry.map((l) => String(l['error']));
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(new Set(errors).size).toBe(errors.length);
      expect(errors.some((e) => e.includes('ECONNREFUSED'))).toBe(true);
      for (const l of retry) {
        expect(Number(l['retryInS'])).toBeGreaterThan(0);
        expect(Number(l['retryInS'])).toBeLessThanOrEqual(5);
      }
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('a host name that does not resolve: said with the name, retried; SIGTERM still ends the run in time', async () => {
    const run = pushRun('type = "remote-write"\nurl = "http://scaph-no-such-host.invalid:9090/api/v1/write"\n');
    try {
      await run.scaph.waitForStderr(/delivery failed; will retry/);
      const r = await run.scaph.stop();
      expectClean(r);
      expect(r.stderr).toMatch(/ENOTFOUND|EAI_AGAIN/);
      expect(r.stderr).toContain('scaph-no-such-host.invalid');
      expect(r.ms).toBeLessThan(20_000);
    } finally {
      await run.scaph.stop('SIGKILL');
    }
  });
});

/** `Sunday, 06-Nov-94 08:49:37 GMT`: RFC 9110's obsolete rfc850-date (a two-digit year, GMT). */
function rfc850(ms: number): string {
  const d = new Date(ms);
  const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()] as string;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const month = d.toUTCString().slice(8, 11);
  return `${day}, ${pad(d.getUTCDate())}-${month}-${pad(d.getUTCFullYear() % 100)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} GMT`;
}

/** The "will retry" line of each failed attempt whose error says `what`, in the order they came. */
function retryLines(stderr: string, what: string): number[] {
  return logLines(stderr)
    .filter((l) => l.msg === 'delivery failed; will retry' && String(l['error']).includes(what))
    .map((l) => Number(l['retryInS']));
}

describe('Retry-After that lies, is garbage or huge (429): scaph waits what is true, and loses nothing', () => {
  it('garbage, negative, a decimal, a date gone by or that does not exist, 12 KB of it, a 70 KB header: the backoff (0.5 s, then 1 s), never a hammering nor a long wait', async () => {
    // One answer each, in a row; the body tells the attempts apart in the log.
    const hostile: ReadonlyArray<readonly [string, ScriptedAnswer['headers']]> = [
      ['garbage', { 'retry-after': 'soon' }],
      ['negative', { 'retry-after': '-5' }],
      ['a decimal', { 'retry-after': '2.5' }],
      ['a date gone by', (now) => ({ 'retry-after': new Date(now - 3_600_000).toUTCString() })],
      ['a day that does not exist', { 'retry-after': 'Wed, 31 Feb 2027 08:49:37 GMT' }],
      ['12 KB of garbage', { 'retry-after': 'x'.repeat(12_000) }],
    ];
    const script: ScriptedAnswer[] = hostile.map(([what, headers]) => ({ status: 429, headers: headers ?? {}, body: `slow down (${what})` }));
    // Beyond what an HTTP client reads (undici: 16 KiB of headers): a failed attempt like a reset, retried.
    script.push({ status: 429, headers: { 'retry-after': '1'.repeat(70_000) }, body: 'slow down (70 KB)' });
    const { receiver, sampled, scaph } = await remoteWriteThrough(script, 'max_backoff = 1\n');
    try {
      await eventually(() => receiver.requests.length > script.length && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 30_000, 'every sample after the 429s');
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), new Set(receiver.stored.keys()))).toEqual([]);
      // Each wait is the backoff's: 0.5 s at first (jittered down to 0.4 s), then 1 s (the max_backoff given).
      const waits = hostile.map(([what]) => retryLines(r.stderr, `(${what})`));
      waits.forEach((w, i) => {
        expect(w, hostile[i]?.[0]).toHaveLength(1);
        expect(w[0]).toBeGreaterThanOrEqual(i === 0 ? 0.4 : 0.8);
        expect(w[0]).toBeLessThanOrEqual(i === 0 ? 0.5 : 1);
      });
      const overflow = logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry' && /UND_ERR_HEADERS_OVERFLOW|header/i.test(String(l['error'])));
      expect(overflow).toHaveLength(1);
      expect(Number(overflow[0]?.['retryInS'])).toBeLessThanOrEqual(1);
      expect(String(overflow[0]?.['error']).length).toBeLessThanOrEqual(220);
      // The attempts came apart by those waits: the server was never hammered.
      const gaps = receiver.requests.slice(1, script.length + 1).map((q, i) => q.atMs - (receiver.requests[i]?.atMs ?? 0));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(350);
      expect(saying(r.stderr, /asked to wait/)).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('each of RFC 9110\'s three forms, and seconds, 3 s ahead: honoured (2 to 3.6 s, jittered up), then every sample arrives', async () => {
    const forms: ReadonlyArray<readonly [string, ScriptedAnswer['headers']]> = [
      ['IMF-fixdate', (now) => ({ 'retry-after': new Date(now + 3000).toUTCString() })],
      ['rfc850-date', (now) => ({ 'retry-after': rfc850(now + 3000) })],
      ['asctime-date', (now) => ({ 'retry-after': asctimeDate(now + 3000) })],
      ['delay-seconds', { 'retry-after': '3' }],
    ];
    const { receiver, sampled, scaph } = await remoteWriteThrough(forms.map(([what, headers]) => ({ status: 429, headers: headers ?? {}, body: `slow down (${what})` })), 'max_backoff = 1\n');
    try {
      await eventually(() => receiver.requests.length > forms.length && missing(jsonReportTimes(sampled), new Set(receiver.stored.keys())).length === 0, 40_000, 'every sample after the 429s');
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), new Set(receiver.stored.keys()))).toEqual([]);
      for (const [what] of forms) {
        const w = retryLines(r.stderr, `(${what})`);
        expect(w, what).toHaveLength(1);
        // A date has whole seconds: 3 s ahead is 2 to 3 s away; the wait is jittered up by at most 20 %.
        expect(w[0], what).toBeGreaterThanOrEqual(what === 'delay-seconds' ? 3 : 1.9);
        expect(w[0], what).toBeLessThanOrEqual(3.6);
      }
      const gaps = receiver.requests.slice(1, forms.length + 1).map((q, i) => q.atMs - (receiver.requests[i]?.atMs ?? 0));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1800);
      expect(saying(r.stderr, /asked to wait/)).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('a number of 400 digits (beyond any clock): cut to 30 s, and the line says so without a figure it was not given', async () => {
    const { receiver, scaph } = await remoteWriteThrough([{ status: 429, headers: { 'retry-after': '9'.repeat(400) }, body: 'slow down' }]);
    try {
      await scaph.waitForStderr(/Retry-After/);
      // Killed at once: a clean stop would spend its 10 s flush deadline waiting out the 30 s.
      const r = await scaph.stop('SIGKILL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const lines = saying(r.stderr, /Retry-After/);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.msg).toMatch(/^the server asked to wait more than 9007199254740991 s before retrying \(Retry-After\); scaph waits at most 30 s and retries then$/);
      expect(lines[0]?.['retryInS']).toBe(30);
      expect(lines[0]?.['retryAfterAskedS']).toBeUndefined();
      expect(retryLines(r.stderr, 'slow down')).toEqual([expect.closeTo(30, 0)]);
    } finally {
      await receiver.stop();
    }
  });
});

describe('Riemann servers that misbehave', () => {
  it('hangs up on the first messages: reconnects and resends, nothing lost', async () => {
    const riemann = await FakeRiemannServer.start();
    for (const n of [1, 2, 3]) riemann.hangUpAt.add(n);
    const { sampled, scaph } = pushRun(`type = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\n`);
    try {
      await sleep(1500);
      // Samples first: on a loaded machine the agent may not have sampled yet, and none missing would hold for nothing.
      await eventually(() => jsonReportTimes(sampled).length >= 4 && missing(jsonReportTimes(sampled), riemannHostTimes(riemann.events)).length === 0, 20_000, 'every sample');
      expectClean(await scaph.stop());
      expect(riemann.counts.connections).toBeGreaterThanOrEqual(4);
    } finally {
      await scaph.stop('SIGKILL');
      await riemann.stop();
    }
  });

  it('answers ok=false: the rejected samples are dropped and counted (riemann_error), logged once', async () => {
    const riemann = await FakeRiemannServer.start();
    let rejections = 3;
    riemann.reject = (msg) => ((msg.events ?? []).some((e) => e.service === 'scaph_host_power_microwatts') && rejections-- > 0 ? 'stream threw' : null);
    const { sampled, scaph } = pushRun(`type = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nmax_events_per_msg = 100000\n`);
    try {
      // The counter of a drop rides on the samples taken after it: wait until one of them has arrived (a
      // fixed 2.5 s ended some loaded runs before the third drop was counted in the stream).
      const droppedCount = (): number =>
        Math.max(
          0,
          ...riemann.events
            .filter((e) => e.service?.startsWith('scaph_delivery_samples_dropped_total') && e.attributes?.some((a) => a.key === 'reason' && a.value === 'riemann_error'))
            .map((e) => Number(e.metricSint64 ?? 0)),
        );
      await eventually(() => droppedCount() >= 3, 15_000, 'the three drops counted in the stream');
      const r = await scaph.stop();
      expectClean(r);
      const arrived = riemannHostTimes(riemann.events);
      const lost = missing(jsonReportTimes(sampled), arrived);
      expect(lost).toHaveLength(3);
      expect(droppedCount()).toBe(3);
      expect(logLines(r.stderr).filter((l) => /rejected by the backend/.test(l.msg))).toHaveLength(1);
    } finally {
      await scaph.stop('SIGKILL');
      await riemann.stop();
    }
  });

  it('is down and comes back: everything sampled in between arrives (TTL long enough)', async () => {
    const riemann = await FakeRiemannServer.start();
    await riemann.stop();
    const { sampled, scaph } = pushRun(`type = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nttl = 600\n`);
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 6, 10_000, 'samples during the outage');
      await riemann.restart();
      await eventually(() => missing(jsonReportTimes(sampled), riemannHostTimes(riemann.events)).length === 0, 20_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      expect(logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry')).toHaveLength(1);
    } finally {
      await scaph.stop('SIGKILL');
      await riemann.stop();
    }
  });
});

describe('Warp 10 refusing the token', () => {
  it('403: said once (not per attempt), never echoing the token; nothing stored', async () => {
    const warp10 = await Warp10TestServer.start({ writeTokens: ['the-right-token'] });
    const { sampled, scaph } = pushRun(`type = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "a-wrong-token"\n`);
    try {
      await eventually(() => warp10.requests.length >= 4, 10_000, 'requests');
      const r = await scaph.stop();
      expectClean(r);
      expect(r.stderr).not.toContain('a-wrong-token');
      expect(warp10.points).toEqual([]);
      // Not a line per attempt: the refusal once (what to fix), and the drop once (what it costs).
      const lines = logLines(r.stderr).filter((l) => l.level >= 50);
      expect(lines.filter((l) => /refused the write token/.test(l.msg))).toHaveLength(1);
      expect(lines.filter((l) => /rejected by the backend/.test(l.msg))).toHaveLength(1);
      expect(lines).toHaveLength(2);
      expect(jsonReportTimes(sampled).length).toBeGreaterThanOrEqual(4);
    } finally {
      await scaph.stop('SIGKILL');
      await warp10.stop();
    }
  });
});

/** `scaph run` pushing remote-write 2.0 (and the json list of samples) to the spec-faithful 2.0 test receiver. */
async function remoteWriteV2Through(mode: ReceiverMode) {
  const receiver = await RemoteWriteV2Receiver.start(mode);
  const run = pushRun(`type = "remote-write"\nurl = "${receiver.url}"\nprotocol_version = "2.0"\n`);
  return { receiver, ...run };
}

/** Host power timestamps the 2.0 receiver stored, and the latest value of one of scaph's own counters there. */
function v2Stored(receiver: RemoteWriteV2Receiver): Set<number> {
  return new Set(receiver.timestamps(HOST_SERIES));
}
function v2SelfMetric(receiver: RemoteWriteV2Receiver, name: string): number | undefined {
  const samples = receiver.find(name, { transport: 'remote-write' })[0]?.samples ?? [];
  return samples[samples.length - 1]?.value;
}

describe('remote-write 2.0 receivers that lie about what they wrote, or refuse everything', () => {
  it('claims more written than sent: taken as everything written (nothing rejected), said once; every sample arrives, no fallback', async () => {
    const { receiver, sampled, scaph } = await remoteWriteV2Through('2.0');
    receiver.answer = (req, planned) => (req.version === '2.0' ? { headers: { ...planned.headers, 'x-prometheus-remote-write-samples-written': String(req.points + 1000) } } : undefined);
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 6 && missing(jsonReportTimes(sampled), v2Stored(receiver)).length === 0 && receiver.requests.length >= 4, 20_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), v2Stored(receiver))).toEqual([]);
      const said = saying(r.stderr, /wrote more samples than scaph sent/);
      expect(said).toHaveLength(1);
      expect(said[0]?.['written']).toBe(Number(said[0]?.['sent']) + 1000);
      expect(v2SelfMetric(receiver, 'scaph_delivery_rejected_points_total')).toBe(0);
      expect(saying(r.stderr, /does not take remote-write 2\.0/)).toEqual([]);
      expect(receiver.requests.every((q) => q.version === '2.0')).toBe(true);
      expect(receiver.violations).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('garbage in X-Prometheus-Remote-Write-Samples-Written (letters, a sign, an exponent, two values, beyond 2^63, 12 KB): the 2xx is believed, said once, quoted short; nothing lost', async () => {
    const garbage = ['abc', '-1', '1e3', '12, 13', '9223372036854775808', ' ', 'x'.repeat(12_000)];
    const { receiver, sampled, scaph } = await remoteWriteV2Through('2.0');
    let i = 0;
    receiver.answer = (req, planned) => (req.version === '2.0' ? { headers: { ...planned.headers, 'x-prometheus-remote-write-samples-written': garbage[i++ % garbage.length] as string } } : undefined);
    try {
      await eventually(() => receiver.requests.length >= garbage.length + 1 && missing(jsonReportTimes(sampled), v2Stored(receiver)).length === 0, 20_000, 'every sample through the garbage');
      const r = await scaph.stop();
      expectClean(r);
      expect(missing(jsonReportTimes(sampled), v2Stored(receiver))).toEqual([]);
      const said = saying(r.stderr, /Samples-Written header that is not a count/);
      expect(said).toHaveLength(1);
      expect(said[0]?.['value']).toBe('"abc"');
      expect(r.stderr.length).toBeLessThan(20_000);
      expect(v2SelfMetric(receiver, 'scaph_delivery_rejected_points_total')).toBe(0);
      expect(saying(r.stderr, /does not take remote-write 2\.0/)).toEqual([]);
      expect(receiver.requests.every((q) => q.version === '2.0')).toBe(true);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('writes fewer than sent: the difference counted in scaph_delivery_rejected_points_total and said once, not sent again', async () => {
    const { receiver, sampled, scaph } = await remoteWriteV2Through('2.0');
    receiver.answer = (req, planned) => (req.version === '2.0' ? { headers: { ...planned.headers, 'x-prometheus-remote-write-samples-written': String(req.points - 2) } } : undefined);
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 6 && (v2SelfMetric(receiver, 'scaph_delivery_rejected_points_total') ?? 0) >= 6, 20_000, 'rejections counted');
      const r = await scaph.stop();
      expectClean(r);
      const said = saying(r.stderr, /wrote only part of it/);
      expect(said).toHaveLength(1);
      expect(said[0]?.['rejected']).toBe(2);
      // Two per request, every request before the one that carried the counter.
      const rejected = v2SelfMetric(receiver, 'scaph_delivery_rejected_points_total') ?? 0;
      expect(rejected % 2).toBe(0);
      expect(rejected).toBeLessThanOrEqual(2 * (receiver.requests.length - 1));
      expect(receiver.requests.every((q) => q.version === '2.0')).toBe(true);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('415 to 2.0 and to 1.0 alike (a 415 loop): one request as 2.0, then 1.0, each batch dropped and counted, no retry storm; SIGTERM ends it', async () => {
    const { receiver, sampled, scaph } = await remoteWriteV2Through('415-all');
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 8 && receiver.requests.length >= 6, 20_000, 'refused requests');
      await sleep(500);
      const r = await scaph.stop();
      expectClean(r);
      // 2.0 once, then 1.0 (remembered): never back and forth.
      expect(receiver.requests[0]?.version).toBe('2.0');
      expect(receiver.requests.slice(1).every((q) => q.version === '1.0')).toBe(true);
      expect(receiver.series.size).toBe(0);
      // Not hammered: one request per batch, a batch per step at most (plus the resend of the first).
      expect(receiver.requests.length).toBeLessThanOrEqual(jsonReportTimes(sampled).length + 2);
      expect(saying(r.stderr, /does not take remote-write 2\.0 \(it answered HTTP 415 Unsupported Media Type\)/)).toHaveLength(1);
      const rejected = logLines(r.stderr).filter((l) => /rejected by the backend/.test(l.msg));
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.['reason']).toBe('http_415');
      expect(String(rejected[0]?.['error'])).toMatch(/the receiver takes neither remote-write 2\.0 nor 1\.0: is http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write its remote-write endpoint\?/);
      // What was lost is said: every sample taken (the receiver took none), counted as dropped.
      const atStop = saying(r.stderr, /delivery summary at stop/).filter((l) => l['transport'] === 'remote-write');
      expect(atStop).toHaveLength(1);
      expect(atStop[0]?.['droppedBy']).toEqual({ http_415: atStop[0]?.['dropped'] });
      expect(Number(atStop[0]?.['dropped'])).toBeGreaterThanOrEqual(receiver.requests.length - 1);
      expect(atStop[0]?.['sentTotal']).toBe(0);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });
});

describe('OTLP receivers that misbehave', () => {
  /** Every sample taken arrived once over `protocol`: the times that did not. */
  function notOnce(receiver: OtlpReceiver, protocol: 'http' | 'grpc', sampled: string): number[] {
    const arrived = countByTime(pointsOf(receiver, protocol, 'scaph_host_power_microwatts'));
    return jsonReportTimes(sampled).filter((t) => arrived.get(t) !== 1);
  }

  it('nothing listening on either port, then a receiver: retried (said once each), and every sample arrives once it listens', async () => {
    const receiver = await OtlpReceiver.start({ http: true, grpc: true });
    await receiver.stop();
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${receiver.httpUrl}"`, `type = "otlp"\nprotocol = "grpc"\nurl = "http://${receiver.grpcTarget}"`]);
    try {
      await scaph.waitForStderr(/ECONNREFUSED/, 20_000);
      await scaph.waitForStderr(/gRPC UNAVAILABLE/, 20_000);
      await sleep(1500);
      await receiver.restart();
      await eventually(() => jsonReportTimes(sampled).length > 6 && notOnce(receiver, 'http', sampled).length === 0 && notOnce(receiver, 'grpc', sampled).length === 0, 30_000, 'every sample over both');
      const r = await scaph.stop();
      expectClean(r);
      expect(notOnce(receiver, 'http', sampled)).toEqual([]);
      expect(notOnce(receiver, 'grpc', sampled)).toEqual([]);
      const retries = logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry').map((l) => String(l['error']));
      // Each distinct failure said once, however many attempts.
      expect(new Set(retries).size).toBe(retries.length);
      expect(retries.filter((e) => e.includes('ECONNREFUSED') && !e.startsWith('gRPC'))).toHaveLength(1);
      expect(retries.filter((e) => /^gRPC UNAVAILABLE: .*ECONNREFUSED/.test(e))).toHaveLength(1);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it('OTLP/gRPC down for 20 s: the first sample arrives within 5 s of its return (the channel reconnects at once, not after its own growing backoff)', async () => {
    const receiver = await OtlpReceiver.start({ http: false, grpc: true });
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nprotocol = "grpc"\nurl = "http://${receiver.grpcTarget}"\nkeep_metrics = "scaph_host_.*"`], '500ms');
    try {
      await eventually(() => receiver.acceptedPoints().length > 0, 20_000, 'the first samples');
      await receiver.stop();
      const downAt = Date.now();
      await sleep(20_000);
      await receiver.restart();
      const upAt = Date.now();
      await eventually(() => pointsOf(receiver, 'grpc', 'scaph_host_power_microwatts').some((p) => p.timeMs >= downAt && p.timeMs < upAt), 15_000, 'a sample from the outage');
      const firstMs = Date.now() - upAt;
      console.info(`[bad-input gRPC 20 s outage] first sample from the outage stored ${firstMs} ms after the return`);
      expect(firstMs).toBeLessThanOrEqual(5_000 + 1_000);
      await eventually(() => notOnce(receiver, 'grpc', sampled).filter((t) => t < upAt).length === 0, 10_000, 'the backlog');
      expectClean(await scaph.stop());
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  }, 90_000);

  it('a web page answered with 200 (the URL names a web server): dropped as not_otlp, said once with what to check; counted', async () => {
    const receiver = await OtlpReceiver.start({ http: true, grpc: false });
    const page = { status: 200, body: '<!DOCTYPE html><html><body>It works!</body></html>', contentType: 'text/html' };
    receiver.script.push(page, page);
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${receiver.httpUrl}"\nmax_samples_per_send = 1`]);
    try {
      await eventually(() => receiver.requests.filter((q) => q.accepted && q.answered === 200).length >= 5, 20_000, 'requests after the pages');
      const r = await scaph.stop();
      expectClean(r);
      const dropped = logLines(r.stderr).filter((l) => l.msg === 'delivery rejected by the backend; dropping the batch (not retried)');
      expect(dropped).toHaveLength(1);
      expect(dropped[0]).toMatchObject({ reason: 'not_otlp', transport: 'otlp' });
      expect(String(dropped[0]?.['error'])).toMatch(/^HTTP 200 with text\/html: a web page, not an OTLP receiver's answer; check the URL/);
      // The two pages took one sample each, counted; every other sample arrived once.
      expect(lastSelfMetric(receiver, 'http', 'scaph_delivery_samples_dropped_total', { reason: 'not_otlp', transport: 'otlp' })).toBe(2);
      expect(notOnce(receiver, 'http', sampled)).toHaveLength(2);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  it.each(['http', 'grpc'] as const)('a receiver that never answers (%s): each request ends at timeout = 1 and is retried; every sample arrives', async (protocol) => {
    const receiver = await OtlpReceiver.start({ http: protocol === 'http', grpc: protocol === 'grpc' });
    receiver.script.push({ hang: true }, { hang: true });
    const target = protocol === 'http' ? `url = "${receiver.httpUrl}"` : `protocol = "grpc"\nurl = "http://${receiver.grpcTarget}"`;
    // Host figures only: small requests, so a loaded machine answers each well within the 1 s timeout.
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\n${target}\ntimeout = 1\nkeep_metrics = "scaph_host_.*"`]);
    try {
      await eventually(() => receiver.requests.length >= 3 && notOnce(receiver, protocol, sampled).length === 0, 30_000, 'every sample');
      const r = await scaph.stop();
      expectClean(r);
      expect(notOnce(receiver, protocol, sampled)).toEqual([]);
      expect(logLines(r.stderr).some((l) => l.msg === 'delivery failed; will retry' && /timed out or aborted|no answer within 1000 ms/.test(String(l['error'])))).toBe(true);
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });

  describe('TLS mismatches: retried, said once with what to change; SIGTERM ends the run in time', () => {
    let certs: TestCerts;
    beforeAll(() => {
      certs = makeTestCerts();
    });
    afterAll(() => certs.cleanup());

    it.each([
      ['https:// to a plaintext receiver', false, (r: OtlpReceiver) => `url = "${r.httpUrl.replace('http:', 'https:')}"\nca = "${certs.caFile}"`, /wrong version number \(the receiver does not speak TLS there: use an http:\/\/ endpoint, or its TLS port\)/],
      ['gRPC host:port (TLS) to a plaintext receiver', false, (r: OtlpReceiver) => `protocol = "grpc"\nurl = "${r.grpcTarget}"`, /^gRPC UNAVAILABLE: .*wrong version number \(the receiver does not speak TLS there/],
      ['a receiver that asks for a client certificate, none given', true, (r: OtlpReceiver) => `url = "${r.httpUrl}"\nca = "${certs.caFile}"`, /certificate required.*\(the receiver asks for a client certificate: give --cert and --key\)/],
      ['gRPC to a receiver whose CA is not given', false, (r: OtlpReceiver) => `protocol = "grpc"\nurl = "https://${r.grpcTarget}"\nca = "${certs.wrongCaFile}"`, /(self-signed certificate in certificate chain|unable to verify the first certificate) \(the receiver's certificate is not trusted: give its CA with --ca\)/],
    ] as const)('%s', async (_what, clientCert, exporter, said) => {
      const serverTls = { cert: certs.read(certs.server.certFile), key: certs.read(certs.server.keyFile) };
      const tls = _what.includes('plaintext') ? undefined : { ...serverTls, ...(clientCert ? { clientCa: certs.read(certs.caFile) } : {}) };
      const receiver = await OtlpReceiver.start({ http: true, grpc: true, ...(tls ? { tls } : {}) });
      const { scaph } = otlpRun(tempDir(), [`type = "otlp"\n${exporter(receiver)}`]);
      try {
        await scaph.waitForStderr(/delivery failed; will retry/, 20_000);
        await sleep(2500);
        const r = await scaph.stop();
        expectClean(r);
        expect(r.ms).toBeLessThan(60_000);
        const retries = logLines(r.stderr).filter((l) => l.msg === 'delivery failed; will retry');
        // Several attempts, each distinct failure said once (it reads the same at every attempt); the TLS one
        // with what to change (a plaintext server may also just close the connection: a reset, said once too).
        const errors = retries.map((l) => String(l['error']));
        expect(new Set(errors).size).toBe(errors.length);
        expect(errors.filter((e) => said.test(e))).toHaveLength(1);
        expect(errors.filter((e) => !said.test(e) && !/ECONNRESET/.test(e))).toEqual([]);
        expect(receiver.acceptedPoints()).toEqual([]);
        // What was lost is said: the samples still queued at the stop.
        const lost = logLines(r.stderr).find((l) => l.msg === 'shutdown deadline reached; unsent samples dropped');
        expect(Number(lost?.['samples'])).toBeGreaterThan(0);
      } finally {
        await scaph.stop('SIGKILL');
        await receiver.stop();
      }
    });
  });
});
