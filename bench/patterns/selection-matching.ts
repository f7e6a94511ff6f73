/**
 * What RE2 (user-pattern.ts, re2js) costs on the process-selection hot path, against the JavaScript
 * RegExp matching it replaced, measured side by side in one run:
 *
 *   node dist/bench/patterns/selection-matching.js [--quick]
 *
 * - **match**: every process's exe and cmdline tested once (what a selector does for processes it has not
 *   seen: at its first step, and for each new (pid, starttime) after), on a compiled pattern whose engine
 *   has already seen a few names (warm), and on a fresh one (cold: RE2 builds its automaton as it goes).
 * - **select**: ProcessSelector.select end to end, first step (every process matched) and a steady step
 *   (same processes: verdicts kept per (pid, starttime), nothing matched again).
 * The RegExp rows wrap a RegExp in the shape of UserPatterns: a bench-only stand-in for the code before.
 * Prints one table (medians, ms) to stdout.
 */
import { cpus, loadavg } from 'node:os';
import { ProcessSelector, type SelectionOptions } from '../../src/core/process-selection.js';
import type { ProcessSample, Sample } from '../../src/core/sample.js';
import { UserPatterns } from '../../src/core/user-pattern.js';
import { makeProcess, makeSample } from '../../test/support/fixtures/sample.js';
import { median, round } from '../stats.js';

const PATTERNS = ['^kworker', 'firefox|chrome', 'python3?\\s.*train\\.py', 'java .*kafka\\.Kafka', '[0-9]{4}\\.conf$', '(a+)+$'];

/** Names like a busy host's: kernel threads (no cmdline), services, some long Java command lines. */
function processes(n: number): ProcessSample[] {
  const kinds = ['firefox', 'chrome', 'python3', 'node', 'postgres', 'nginx', 'java', 'bash', 'sshd', 'containerd-shim-runc-v2'];
  const classpath = Array.from({ length: 60 }, (_, i) => `/opt/kafka/libs/lib-${i}-3.7.0.jar`).join(':');
  const list: ProcessSample[] = [];
  for (let i = 0; i < n; i++) {
    const pid = 1000 + i;
    if (i % 5 === 0) {
      list.push(makeProcess({ pid, exe: `kworker/${i % 8}:${i % 3}-events`, exePath: '', cmdline: '', powerUw: 1000 + i }));
      continue;
    }
    const exe = kinds[i % kinds.length] as string;
    const cmdline =
      exe === 'java' && i % 20 === 6
        ? `/usr/bin/java -Xmx1G -cp ${classpath} kafka.Kafka /etc/kafka/server.properties`
        : `/usr/bin/${exe} --config /etc/${exe}/conf.d/${i}.conf --worker-id=${i} --listen 127.0.0.1:${8000 + (i % 1000)}`;
    list.push(makeProcess({ pid, exe, exePath: `/usr/bin/${exe}`, cmdline, powerUw: 1_000_000 + ((i * 7919) % 5_000_000) }));
  }
  return list;
}

interface Matcher {
  test(text: string): boolean;
}

/** The code before: one RegExp per pattern (a RegExp's test has the shape UserPatterns has). */
function regExpMatcher(source: string): UserPatterns {
  const re = new RegExp(source);
  const m: Matcher = { test: (text) => re.test(text) };
  return m as unknown as UserPatterns;
}

function re2Matcher(source: string): UserPatterns {
  return UserPatterns.compile({ flag: '--process-regex' }, [source], 'anywhere');
}

function matchAll(m: Matcher, list: readonly ProcessSample[]): number {
  let n = 0;
  for (const p of list) if (m.test(p.exe) || m.test(p.cmdline)) n++;
  return n;
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function samplesOf(list: readonly ProcessSample[], steps: number): Sample[] {
  return Array.from({ length: steps }, (_, i) => makeSample({ timestampMs: Date.UTC(2026, 0, 1) + i * 2000, processes: [...list] }));
}

function selectionOf(include: UserPatterns): SelectionOptions {
  return { maxTopConsumers: 20, minPowerUw: 0, include, exclude: null, holdSteps: 5 };
}

interface Row {
  readonly size: number;
  readonly pattern: string;
  readonly engine: 'RegExp' | 'RE2';
  readonly matched: number;
  readonly coldMs: number;
  readonly warmMs: number;
  readonly firstSelectMs: number;
  readonly steadySelectMs: number;
}

function measure(size: number, source: string, engine: Row['engine'], rounds: number): Row {
  const list = processes(size);
  const make = engine === 'RE2' ? re2Matcher : regExpMatcher;
  const cold: number[] = [];
  const warm: number[] = [];
  const first: number[] = [];
  const steady: number[] = [];
  let matched = 0;
  for (let r = 0; r < rounds; r++) {
    const fresh = make(source);
    cold.push(timed(() => matchAll(fresh, list)));
    const used = make(source);
    matchAll(used, list.slice(0, 50));
    warm.push(timed(() => (matched = matchAll(used, list))));
    const selector = new ProcessSelector(selectionOf(make(source)));
    const [s0, ...rest] = samplesOf(list, 6);
    first.push(timed(() => selector.select(s0 as Sample)));
    for (const s of rest) steady.push(timed(() => selector.select(s)));
  }
  return { size, pattern: source, engine, matched, coldMs: median(cold), warmMs: median(warm), firstSelectMs: median(first), steadySelectMs: median(steady) };
}

function ms(value: number, width: number): string {
  return value.toFixed(2).padStart(width);
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const sizes = quick ? [200] : [500, 10_000];
  const rounds = quick ? 2 : 7;
  const [l1, l5] = loadavg();
  process.stdout.write(`node ${process.version}, ${cpus().length} CPUs, load average ${round(l1 ?? 0, 2)} (1 min) ${round(l5 ?? 0, 2)} (5 min)\n`);
  // JIT warm-up of both engines' code, so that "cold" measures a fresh pattern, not a fresh process.
  for (const source of PATTERNS) for (const engine of ['RegExp', 'RE2'] as const) measure(200, source, engine, 2);
  process.stdout.write('processes  pattern                        engine  matched  cold match  warm match  first select  steady select   (medians, ms)\n');
  for (const size of sizes) {
    for (const source of PATTERNS) {
      for (const engine of ['RegExp', 'RE2'] as const) {
        const r = measure(size, source, engine, rounds);
        process.stdout.write(
          `${String(r.size).padStart(9)}  ${r.pattern.padEnd(30)} ${r.engine.padEnd(7)} ${String(r.matched).padStart(7)} ${ms(r.coldMs, 11)} ${ms(r.warmMs, 11)} ${ms(r.firstSelectMs, 13)} ${ms(r.steadySelectMs, 14)}\n`,
        );
      }
    }
  }
}

main();
