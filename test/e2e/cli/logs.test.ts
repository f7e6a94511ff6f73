/**
 * The logs as an operator reads them, from the built CLI: text by default (level and message first),
 * JSON on request, the journal's priorities when stderr is the journal (JOURNAL_STREAM naming it), a line
 * when a backend first takes data and a summary per period, warnings between the stdout tables, never
 * inside one.
 */
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { NOBODY, runScaph, SCAPH_BIN, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, JSON_LOGS, logLines, RemoteWriteReceiver } from '../../support/harness/bad-input.js';

const ESTIMATE = ['--no-header', '--sensor', 'estimate'];

interface ShellRun {
  readonly code: number | null;
  readonly out: string;
}

/**
 * Runs `sh -c script` with its stdout and stderr in one pipe (a terminal's view of both), the CLI as
 * $SCAPH (node and the built bin). The script can read the pipe's device:inode from /proc/self/fd/2.
 */
function shell(script: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ShellRun> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `exec 2>&1\n${script}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, SCAPH: `${process.execPath} ${SCAPH_BIN}`, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** JOURNAL_STREAM set to this pipe's device:inode (`match`), or to the inode next to it (another stream). */
function journalStream(match: boolean): string {
  const ino = match ? '$ino' : '$((ino + 1))';
  return `dev=$(stat -L -c %d /proc/self/fd/2); ino=$(stat -L -c %i /proc/self/fd/2); export JOURNAL_STREAM=$dev:${ino}\n`;
}

describe('the log format', () => {
  it('text by default: the level and the message first, then key=value, then the time', async () => {
    const r = await runScaph([...ESTIMATE, '-v', 'json', '-t', '1.2', '-s', '0.5'], { stdout: 'ignore' });
    expectClean(r);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^INFO  machine sensor started procfsPath=\/proc processes=\d+ pageSizeBytes=\d+ attribution=host reapedChildren=true time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
  });

  it('json with --log-format json or SCAPH_LOG_FORMAT=json; the flag wins over the variable', async () => {
    const args = ['-v', 'json', '-t', '1.2', '-s', '0.5'];
    const flag = await runScaph([...ESTIMATE, ...JSON_LOGS, ...args], { stdout: 'ignore' });
    const env = await runScaph([...ESTIMATE, ...args], { stdout: 'ignore', env: { SCAPH_LOG_FORMAT: 'json' } });
    const both = await runScaph([...ESTIMATE, '--log-format', 'text', ...args], { stdout: 'ignore', env: { SCAPH_LOG_FORMAT: 'json' } });
    for (const r of [flag, env]) {
      expectClean(r);
      expect(logLines(r.stderr)).toEqual([
        expect.objectContaining({ level: 30, name: 'scaph', pid: expect.any(Number), time: expect.any(Number), procfsPath: '/proc', msg: 'machine sensor started' }),
      ]);
    }
    expectClean(both);
    expect(both.stderr).toMatch(/^INFO  machine sensor started /);
  });
});

describe('under the journal (JOURNAL_STREAM names stderr)', () => {
  it('each line starts with its syslog priority and carries no time; an error exit line is <3>', async () => {
    const tree = '/nonexistent-powercap';
    const r = await shell(`${journalStream(true)}$SCAPH --no-header --powercap-path ${tree} -v json -t 1.2 -s 0.5 >/dev/null\n` + 'SCAPH_LOG_LEVEL=loud $SCAPH json -t 1\n');
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^<4>WARN  no usable RAPL powercap zone under \/nonexistent-powercap; using the CPU-load estimate .* powercapPath=\/nonexistent-powercap reason=rapl_missing$/);
    expect(lines[1]).toMatch(/^<6>INFO  machine sensor started procfsPath=\/proc processes=\d+ pageSizeBytes=\d+ attribution=host reapedChildren=true$/);
    expect(lines[2]).toBe('<3>scaph: SCAPH_LOG_LEVEL="loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent (or unset it and use -v / -vv)');
    expect(lines).toHaveLength(3);
    expect(r.code).toBe(2);
  });

  it('json lines get the prefix too (the journal strips it; the time stays in the JSON)', async () => {
    const r = await shell(`${journalStream(true)}$SCAPH --no-header --sensor estimate --log-format json -v json -t 1.2 -s 0.5 >/dev/null\n`);
    expect(r.code).toBe(0);
    const line = r.out.trim();
    expect(line).toMatch(/^<6>\{"level":30,"time":\d+,"pid":\d+,"name":"scaph",.*"msg":"machine sensor started"\}$/);
  });

  it('a JOURNAL_STREAM naming another stream (a wrapper redirected stderr): no prefix, the time stays', async () => {
    const r = await shell(`${journalStream(false)}$SCAPH --no-header --sensor estimate -v json -t 1.2 -s 0.5 >/dev/null\n`);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^INFO  machine sensor started .* time=\S+Z$/);
  });
});

describe('what an agent says by default (info), and the stdout/json subcommands (warn)', () => {
  const receivers: RemoteWriteReceiver[] = [];
  afterAll(async () => {
    for (const r of receivers) await r.stop();
  });

  it('a push exporter: a few lines at start, one when the backend first takes data, then only the summaries', async () => {
    const [rt, rj] = [await RemoteWriteReceiver.start(), await RemoteWriteReceiver.start()];
    receivers.push(rt, rj);
    const args = (receiver: RemoteWriteReceiver): string[] => [...ESTIMATE, 'remote-write', '-u', receiver.url, '-S', '0.5'];
    // The 10-minute summary, shortened to 1 s (a test hook).
    const env = { SCAPH_TEST_DELIVERY_SUMMARY_MS: '1000' };
    const text = startScaph(args(rt), { env });
    const json = startScaph([...JSON_LOGS, ...args(rj)], { env });
    // Two periodic summaries in each run (the stop adds a third): the samples alone don't pace them, as the
    // splayed first batch carries two samples and a loaded machine delays the 1 s timer.
    const summaryCount = (s: string): number => s.split('\n').filter((l) => l.includes('delivery summary')).length;
    await eventually(
      () => rt.stored.size >= 7 && rj.stored.size >= 7 && summaryCount(text.stderr) >= 2 && summaryCount(json.stderr) >= 2,
      30_000,
      'seven samples delivered and two summaries written by each run',
    );
    const [t, j] = [await text.stop(), await json.stop()];
    expectClean(t);
    expectClean(j);
    // Events of their own, not part of this: the stop signal, and on a loaded machine a reading that overran its step.
    const other = /^(stopping|sampling overran its step)/;

    const textLines = t.stderr.trim().split('\n').filter((l) => !other.test(l.slice(6)));
    // This host's offset within the step (splay), then the sensor.
    expect(textLines[0]).toMatch(/^INFO  splay: remote-write sends near 0\.\d{3} s past every multiple of 0\.5 s of the clock .* exporter=remote-write offsetS=[\d.]+ stepS=0\.5 from=/);
    expect(textLines[1]).toMatch(/^INFO  machine sensor started /);
    // The first batch: the start-up reading and the first sample at the offset.
    const firstText = textLines.filter((l) => l.includes('first delivery accepted'));
    expect(firstText).toEqual([
      expect.stringMatching(new RegExp(`^INFO  first delivery accepted by the backend transport=remote-write target=http://127\\.0\\.0\\.1:${rt.port}/api/v1/write samples=2 series=\\d+ time=\\S+$`)),
    ]);
    const rest = textLines.slice(2).filter((l) => !l.includes('first delivery accepted'));
    expect(rest.length).toBeGreaterThanOrEqual(3);
    for (const l of rest) expect(l).toMatch(/^INFO  delivery summary( at stop)? transport=remote-write target=\S+ periodS=\d+ sent=\d+ retried=0 failedAttempts=0 dropped=0 queued=\d+ sentTotal=\d+ time=\S+$/);
    // What the text run said it sent is what its receiver stored.
    expect(rest.reduce((n, l) => n + Number(/ sent=(\d+)/.exec(l)?.[1]), 0)).toBe(rt.stored.size);

    const lines = logLines(j.stderr).filter((l) => !other.test(l.msg));
    expect(lines[0]).toMatchObject({ level: 30, exporter: 'remote-write', stepS: 0.5 });
    expect(lines[0]?.msg).toMatch(/^splay: remote-write sends near /);
    expect(lines[1]?.msg).toBe('machine sensor started');
    const first = lines.findIndex((l) => l.msg === 'first delivery accepted by the backend');
    expect(lines.filter((l) => l.msg === 'first delivery accepted by the backend')).toHaveLength(1);
    const summaries = lines.slice(2).filter((l) => l.msg !== 'first delivery accepted by the backend');
    expect(summaries.map((l) => l.msg)).toEqual([...summaries.slice(1).map(() => 'delivery summary'), 'delivery summary at stop']);
    expect(summaries.length).toBeGreaterThanOrEqual(3);
    // Before the backend took the first batch (a slow first request on a loaded machine), a summary has nothing sent.
    for (const s of lines.slice(2, first)) expect(s['sent']).toBe(0);
    for (const s of summaries) expect(s).toMatchObject({ level: 30, transport: 'remote-write', retried: 0, dropped: 0, failedAttempts: 0 });
    // The summaries add up: every sample the run delivered is in exactly one of them, and it is what the receiver stored.
    const sent = summaries.reduce((n, l) => n + Number(l['sent']), 0);
    expect(sent).toBe(summaries.at(-1)?.['sentTotal']);
    expect(sent).toBe(rj.stored.size);
  });

  it('json and stdout: only warnings and errors unless -v (their output is for a person at the terminal)', async () => {
    const quiet = await runScaph([...ESTIMATE, 'json', '-t', '1.2', '-s', '0.5']);
    expectClean(quiet);
    expect(quiet.stderr).toBe('');
    expect((JSON.parse(quiet.stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
    const table = await runScaph([...ESTIMATE, 'stdout', '-t', '1.2', '-s', '0.5']);
    expectClean(table);
    expect(table.stderr).toBe('');
    const told = await runScaph([...ESTIMATE, '-v', 'stdout', '-t', '1.2', '-s', '0.5']);
    expect(told.stderr).toMatch(/^INFO  machine sensor started /);
  });
});

describe('stdout and stderr on one terminal', () => {
  it('warnings land between the tables, whole lines, never inside a table', async () => {
    const t = createPowercapTree('server2s', { clock: 'real' });
    try {
      for (const z of t.zones) chmodSync(t.file(z), 0o400);
      // The fallback warning every 0.3 s (a test hook) while the table is printed every 0.25 s, as nobody.
      const r = await shell(
        `exec setpriv --reuid=${NOBODY.uid} --regid=${NOBODY.gid} --clear-groups -- $SCAPH --no-header --powercap-path ${t.powercapPath} stdout -t 3 -s 0.25\n`,
        { SCAPH_TEST_SENSOR_FALLBACK_WARNING_MS: '300' },
      );
      expect(r.code).toBe(0);
      const lines = r.out.split('\n');
      const warnings = lines.filter((l) => l.startsWith('WARN  RAPL energy counters exist'));
      expect(warnings.length).toBeGreaterThanOrEqual(4);
      let inTable = false;
      let tables = 0;
      for (const l of lines) {
        if (l.startsWith('Host:')) {
          inTable = true;
          tables += 1;
          expect(l).toContain('from estimate, as RAPL is not readable by this user');
        } else if (/^-{60}$/.test(l)) inTable = false;
        else if (inTable) expect(l, r.out).not.toMatch(/WARN|INFO|ERROR|reason=/);
        if (/WARN/.test(l)) expect(l, 'a log line is a whole line').toMatch(/^WARN  /);
      }
      expect(tables).toBeGreaterThanOrEqual(8);
    } finally {
      t.close();
    }
  });
});
