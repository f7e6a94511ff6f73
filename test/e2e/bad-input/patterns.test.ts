/**
 * User patterns (issue 27): a regex with catastrophic backtracking against a process that named itself
 * with thousands of `a`s froze the event loop (no sampling, /metrics and /healthz silent, SIGTERM
 * ignored). Patterns now run on RE2 in linear time: with the classic pathological patterns and hostile
 * names (synthetic procfs and real processes; command line and config file), reports keep arriving at the
 * step with the right processes in them, the HTTP endpoints answer within a second, SIGTERM ends the run.
 * What RE2 does not run (backreferences, lookaround, JavaScript-only escapes, empty or huge patterns) is
 * refused at start and by `scaph run --check`, exit 2, naming the flag or key, the pattern and why, with
 * nothing started. And a key that takes one value refuses a list; the pattern keys take lists (any of them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnHostileProcesses, type HostileProcesses } from '../../support/fixtures/hostile-processes.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, expectFailure, jsonReportTimes, logLines, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';

const trees: ProcfsTree[] = [];
const hostiles: HostileProcesses[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
  for (const h of hostiles.splice(0)) h.stop();
});

/** Patterns RegExp takes ~2^n steps on against a run of n `a`s that does not end the way they need. */
const INCLUDE = ['(a+)+$', '(.*a){20}'];
const EXCLUDE = ['(a|aa)+$', '(a|a)*b', '^(\\w+\\s?)*$'];

interface Report {
  readonly host: { readonly timestamp: number };
  readonly consumers: ReadonlyArray<{ readonly pid: number }>;
  readonly others: { readonly count: number };
}

/** The reports of a json exporter's file, even when the run was killed mid-array. */
function reports(file: string): Report[] {
  let text = readFileSync(file, 'utf8').trim();
  if (!text.endsWith(']')) text = `${text.replace(/,$/, '')}\n]`;
  return JSON.parse(text) as Report[];
}

/** Reports came at the step: enough of them, and no gap much longer than a step (a frozen loop leaves one). */
function expectSteady(times: readonly number[], stepMs: number, windowMs: number): void {
  expect(times.length).toBeGreaterThanOrEqual(Math.floor((windowMs / stepMs) * 0.6));
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  expect(Math.max(...gaps), `gaps ${gaps.join(', ')}`).toBeLessThan(stepMs * 4);
}

describe('hostile names against pathological patterns: sampling keeps its step', () => {
  it('command line, synthetic procfs (names of 30 to 10,000 `a`s): every report on time, with the right processes', async () => {
    const hostile = (pid: number, n: number, last: string): FakeProcess => ({
      pid,
      comm: 'a'.repeat(15),
      utime: 10 * pid,
      stime: 1,
      starttime: pid,
      exe: `/usr/bin/${'a'.repeat(Math.min(n, 250))}${last}`,
      argv: [`${'a'.repeat(n)}${last}`],
    });
    const tree = ProcfsTree.create({
      processes: [
        hostile(30, 30, '!'),
        hostile(31, 1000, '!'),
        hostile(32, 10_000, '!'),
        // Matches (a|a)*b: left out.
        hostile(33, 10_000, 'b'),
        { pid: 40, comm: 'nginx', utime: 50, stime: 5, starttime: 40 },
      ],
    });
    trees.push(tree);
    const dir = tempDir();
    const file = join(dir, 'out.json');
    const args = ['--no-header', '--sensor', 'estimate', '--procfs-path', tree.root, 'json', '-t', '3', '-s', '0.25', '-m', '100', '-f', file];
    for (const p of INCLUDE) args.push('-r', p);
    for (const p of EXCLUDE) args.push('--exclude-process-regex', p);
    const r = await runScaph(args, { timeoutMs: 20_000 });
    expectClean(r);
    expect(r.ms).toBeLessThan(10_000);
    expectSteady(jsonReportTimes(file), 250, 3000);
    for (const report of reports(file)) {
      expect(report.consumers.map((c) => c.pid).sort((a, b) => a - b)).toEqual([30, 31, 32]);
      expect(report.others.count).toBe(2);
    }
  });

  it('config file, real processes named with `a`s: json on time, /metrics and /healthz answer throughout, SIGTERM ends it', async () => {
    const h = await spawnHostileProcesses([
      { exeName: `${'a'.repeat(200)}!`, argv0: `${'a'.repeat(10_000)}!` },
      { exeName: `${'a'.repeat(100)}!`, argv0: `${'a'.repeat(5000)}b` },
    ]);
    hostiles.push(h);
    const [kept, left] = h.processes as [HostileProcesses['processes'][0], HostileProcesses['processes'][0]];
    const dir = tempDir();
    const file = join(dir, 'out.json');
    const config = join(dir, 'scaph.toml');
    const patterns = `process_regex = ${JSON.stringify(INCLUDE)}\nexclude_process_regex = ${JSON.stringify(EXCLUDE)}\nmax_top_consumers = 500\n`;
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nstep = "500ms"\n\n[[exporter]]\ntype = "json"\nfile = "${file}"\nstep = "500ms"\n${patterns}\n` +
        `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = 0\nstep = "500ms"\n${patterns}`,
    );
    expectClean(await runScaph(['run', '-c', config, '--check'], { timeoutMs: 20_000 }));

    const scaph = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000 });
    try {
      await scaph.waitForStderr(/prometheus exporter listening on port \d+/);
      const port = Number(/listening on port (\d+)/.exec(scaph.stderr)?.[1]);
      const started = Date.now();
      await eventually(() => jsonReportTimes(file).length >= 2, 10_000, 'two json reports');
      // Probe both endpoints for 3 s. A frozen loop never answers (the old RegExp: minutes to forever), so
      // every probe must answer 200 within 3 s; the typical answer comes within a second (the median: on a
      // 2-core machine shared by a whole test suite, one probe in a while waits for a CPU).
      const answers: Array<{ path: string; status: number; ms: number; body: string }> = [];
      while (Date.now() - started < 3000) {
        for (const path of ['/metrics', '/healthz']) {
          const t0 = performance.now();
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
          answers.push({ path, status: res.status, body: await res.text(), ms: performance.now() - t0 });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(answers.length).toBeGreaterThanOrEqual(6);
      for (const a of answers) expect(a.status, `${a.path}: ${a.body.slice(0, 200)}`).toBe(200);
      const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
      console.info(`[patterns] /metrics and /healthz answered in ${ms.map((m) => Math.round(m)).join(', ')} ms`);
      expect(ms[Math.floor(ms.length / 2)]).toBeLessThan(1000);
      const metrics = answers.filter((a) => a.path === '/metrics').at(-1)?.body ?? '';
      expect(metrics).toMatch(new RegExp(`scaph_process_power_consumption_microwatts\\{[^}]*pid="${kept.pid}"`));
      expect(metrics).not.toMatch(new RegExp(`pid="${left.pid}"`));

      const stopped = performance.now();
      const r = await scaph.stop('SIGTERM');
      expect(performance.now() - stopped).toBeLessThan(10_000);
      expectClean(r);
      const times = jsonReportTimes(file);
      expectSteady(times, 500, times.at(-1) as number - (times[0] as number));
      for (const report of reports(file)) {
        const pids = report.consumers.map((c) => c.pid);
        expect(pids).toContain(kept.pid);
        expect(pids).not.toContain(left.pid);
      }
      // Nothing went wrong; a tick skipped now and then is this shared machine's load (the gaps are checked above).
      expect(logLines(r.stderr).filter((l) => l.level >= 40 && !l.msg.startsWith('sampling overran its step')).map((l) => l.msg)).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });

  it("stdout -r (Scaphandre's spelling), a real process with a 10,000-`a` command line: every table printed, exit 0", async () => {
    const h = await spawnHostileProcesses([{ exeName: `${'a'.repeat(200)}!`, argv0: `${'a'.repeat(10_000)}!` }]);
    hostiles.push(h);
    const r = await runScaph(['--no-header', '--sensor', 'estimate', 'stdout', '-t', '2', '-s', '0.25', '-r', '(a+)+$', '-r', '(a|aa)+$'], { timeoutMs: 20_000 });
    expectClean(r);
    const tables = r.stdout.split('Top 5 consumers matching (a+)+$ or (a|aa)+$:').length - 1;
    expect(tables).toBeGreaterThanOrEqual(5);
    // Neither pattern matches it (its names end with "!" and " 300"): it is never listed.
    expect(r.stdout).not.toContain(`\t${h.processes[0]?.pid}\t`);
  });
});

/** (An empty pattern is refused before RE2 sees it, like any empty value: every-flag.test.ts feeds it to every flag and key.) */
const REFUSED: ReadonlyArray<readonly [string, RegExp]> = [
  ['(a)\\1', /"\(a\)\\1" uses a backreference \(\\1\): only a backtracking engine runs that/],
  ['^(?!kworker)', /"\^\(\?!kworker\)" uses a negative lookahead/],
  ['(?<=/)sshd', /uses a lookbehind/],
  ['\\u0041', /uses \\u, which RE2 does not read/],
  ['(\\w+\\s?){300}', /is too large: it compiles to 1802 RE2 instructions, at most 1000/],
];

const ESTIMATE = ['--no-header', '--sensor', 'estimate'];

describe('patterns RE2 does not run: exit 2 naming the flag or key, the pattern and why; nothing started', () => {
  /** [exporter argv before the pattern, the flag, how the message names it]. */
  const ENTRY_POINTS: ReadonlyArray<readonly [readonly string[], string, string]> = [
    [['stdout'], '-r', '-r/--regex-filter'],
    [['stdout'], '--process-regex', '-r/--regex-filter'],
    [['json'], '-r', '-r/--process-regex'],
    [['json'], '--exclude-process-regex', '--exclude-process-regex'],
    [['prometheus'], '--process-regex', '--process-regex'],
    [['riemann'], '--exclude-process-regex', '--exclude-process-regex'],
    [['remote-write', '-u', 'http://127.0.0.1:9/api/v1/write'], '--keep-metrics', '--keep-metrics'],
    [['warp10', '-t', 'token'], '--drop-metrics', '--drop-metrics'],
  ];

  // Every refusal on one entry point, and every entry point with one refusal (the reasons themselves are
  // unit-tested in test/unit/core/user-pattern.test.ts; here, that each way in reaches them).
  const CASES = [
    ...REFUSED.map(([pattern, why]) => [['prometheus'], '--process-regex', pattern, '--process-regex', why] as const),
    ...ENTRY_POINTS.map(([argv, flag, named], i) => {
      const [pattern, why] = REFUSED[i % REFUSED.length] as readonly [string, RegExp];
      return [argv, flag, pattern, named, why] as const;
    }),
  ];

  it.each(CASES)(
    'scaph %j %s %j',
    async (argv, flag, pattern, named, why) => {
      const r = await runScaph([...ESTIMATE, ...argv, flag, pattern], { timeoutMs: 20_000 });
      expectFailure(r, 2, new RegExp(`^scaph: ${named.replace(/[/-]/g, '\\$&')} `, 'm'), why);
      expect(r.stdout).toBe('');
      expect(logLines(r.stderr)).toEqual([]);
    },
  );

  it('lookaround in a metric filter: the hint names the other filter', async () => {
    const r = await runScaph([...ESTIMATE, 'prometheus', '--keep-metrics', '(?!scaph_process_).*']);
    expectFailure(r, 2, /--keep-metrics "\(\?!scaph_process_\)\.\*" uses a negative lookahead .*\(to leave families out, give --drop-metrics\)/);
  });

  it.each([
    ['process_regex', 'prometheus'],
    ['exclude_process_regex', 'json'],
    ['regex_filter', 'stdout'],
    ['keep_metrics', 'riemann'],
    ['drop_metrics', 'prometheus'],
  ])('config key %s (%s): --check and run both refuse each, with the line, the key and the pattern', async (key, type) => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    const tables = REFUSED.map(([pattern]) => `[[exporter]]\ntype = "${type}"\n${key} = ${JSON.stringify(pattern)}\n`);
    writeFileSync(config, `[sensor]\nkind = "estimate"\n\n${tables.join('\n')}`);
    for (const argv of [['run', '-c', config, '--check'], ['--no-header', 'run', '-c', config]]) {
      const r = await runScaph(argv, { timeoutMs: 20_000 });
      expectFailure(r, 2, new RegExp(`^scaph: ${config}:6: exporter\\[0\\]\\.${key}: `));
      expect(r.stderr).toContain(`(${REFUSED.length} problems in ${config};`);
      REFUSED.forEach(([pattern, why], i) => {
        const line = 4 + i * 4 + 2;
        const where = `${config}:${line}: exporter[${i}].${key}: (${type}) `;
        const said = r.stderr.split('\n').find((l) => l.includes(where));
        expect(said, `${pattern} in ${r.stderr}`).toBeDefined();
        expect(said).toMatch(why);
        expect(said).toContain(JSON.stringify(pattern).replace(/\\\\/g, '\\'));
      });
      expect(r.stdout).toBe('');
      expect(logLines(r.stderr)).toEqual([]);
    }
  });
});

describe('a key that takes one value refuses a list; the pattern keys take lists', () => {
  it.each([
    ['scaph.toml', '[[exporter]]\ntype = "prometheus"\nmax_top_consumers = [5, 10]\nsuffix = ["a", "b"]\n', 3, 4],
    ['scaph.yaml', 'exporter:\n  - type: prometheus\n    max_top_consumers: [5, 10]\n    suffix:\n      - a\n      - b\n', 3, 4],
  ])('%s: max_top_consumers = [5, 10], suffix = [a, b]: exit 2 naming each key (the command line would keep only the last)', async (name, text, topLine, suffixLine) => {
    const dir = tempDir();
    const config = join(dir, name);
    writeFileSync(config, text);
    const r = await runScaph(['run', '-c', config, '--check']);
    expectFailure(r, 2, new RegExp(`${config}:${topLine}: exporter\\[0\\]\\.max_top_consumers: \\(prometheus\\) takes one value \\(--max-top-consumers cannot be repeated\\), got a list of 2: write one value`));
    expect(r.stderr).toContain(`${config}:${suffixLine}: exporter[0].suffix: (prometheus) takes one value (--suffix cannot be repeated), got a list of 2: write one value`);
    expect(r.stderr).toContain(`(2 problems in ${config};`);
  });

  it('YAML takes the pattern keys as lists too, and one pattern as a string', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.yaml');
    writeFileSync(config, 'exporter:\n  - type: prometheus\n    process_regex: ^nginx\n    exclude_process_regex:\n      - ^kworker\n      - ^ksoftirqd\n    keep_metrics: [scaph_host_.*, scaph_process_.*]\n');
    const r = await runScaph(['run', '-c', config, '--check']);
    expectClean(r);
    expect(r.stdout).toContain('1 exporter: prometheus');
  });

  it('exclude_process_regex = ["^kworker", "^ksoftirqd"]: --check passes and both apply (issue 27), as two flags do', async () => {
    const tree = ProcfsTree.create({
      processes: [
        // Kernel threads: no exe link, an empty cmdline; their exe is their comm.
        { pid: 10, comm: 'kworker/0:1', utime: 100, stime: 1, starttime: 10, exe: null, argv: [] },
        { pid: 11, comm: 'ksoftirqd/0', utime: 100, stime: 1, starttime: 11, exe: null, argv: [] },
        { pid: 12, comm: 'nginx', utime: 100, stime: 1, starttime: 12 },
      ],
    });
    trees.push(tree);
    const dir = tempDir();
    const file = join(dir, 'out.json');
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = "250ms"\n\n[[exporter]]\ntype = "json"\nfile = "${file}"\nstep = "250ms"\nexclude_process_regex = ["^kworker", "^ksoftirqd"]\n`);
    expectClean(await runScaph(['run', '-c', config, '--check']));
    const r = await runScaph(['--no-header', '--procfs-path', tree.root, 'run', '-c', config, '--timeout', '1.2'], { timeoutMs: 20_000 });
    expectClean(r);
    const all = reports(file);
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const report of all) {
      expect(report.consumers.map((c) => c.pid)).toEqual([12]);
      expect(report.others.count).toBe(2);
    }
    // The same as the flag given twice on the command line.
    const cli = await runScaph([...ESTIMATE, '--procfs-path', tree.root, 'json', '-t', '0.6', '-s', '0.25', '--exclude-process-regex', '^kworker', '--exclude-process-regex', '^ksoftirqd'], { timeoutMs: 20_000 });
    expectClean(cli);
    for (const report of JSON.parse(cli.stdout) as Report[]) expect(report.consumers.map((c) => c.pid)).toEqual([12]);
  });
});
