/**
 * The one module that compiles, checks and matches the patterns users give (selection, filters): RE2 in
 * linear time, the same verdicts as before for the patterns people write, and a refusal naming the flag,
 * the pattern, why and what to write instead for what RE2 does not run.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PROGRAM_SIZE, UserPatternError, UserPatterns, userPatternProblem, type PatternUse } from '../../../src/core/user-pattern.js';
import { UsageError } from '../../../src/core/errors.js';

const SELECT: PatternUse = { flag: '--process-regex', insteadOfLookaround: 'to leave processes out, give --exclude-process-regex' };
const anywhere = (...sources: string[]): UserPatterns => UserPatterns.compile(SELECT, sources, 'anywhere');
const whole = (...sources: string[]): UserPatterns => UserPatterns.compile({ flag: '--keep-metrics' }, sources, 'whole');

function refusal(source: string, use: PatternUse = SELECT): UserPatternError {
  try {
    UserPatterns.compile(use, [source], 'anywhere');
  } catch (err) {
    expect(err).toBeInstanceOf(UserPatternError);
    return err as UserPatternError;
  }
  throw new Error(`expected ${JSON.stringify(source)} to be refused`);
}

/** Names like the ones a host has: exe basenames and command lines. */
const NAMES = [
  'kworker/3:1-events',
  'kworker/u16:2',
  'ksoftirqd/0',
  'firefox',
  '/usr/lib/firefox/firefox -contentproc -childID 7 -isForBrowser',
  'python3',
  '/usr/bin/python3 train.py --epochs 10',
  'java',
  'java -cp /opt/kafka/libs/* kafka.Kafka /etc/kafka/server.properties',
  'sshd: alice [priv]',
  'nginx: worker process',
  'Élodie-app',
  'node --max-old-space-size=4096 server.js',
  '',
  'a b\tc',
];

/** Patterns people write for selection, which read the same in RegExp and RE2. */
const COMMON = ['^kworker', 'firefox|chrome', 'python3? .*train\\.py', '^java .*kafka\\.Kafka', 'sshd', 'worker process$', '\\d+', '^[a-z]+$', '\\bnode\\b', '-childID \\d+', '\\s', '^$', 'É', '[/:]'];

describe('UserPatterns: matching', () => {
  it('anywhere: the same verdict as RegExp.test for the patterns people write, name by name', () => {
    for (const source of COMMON) {
      const js = new RegExp(source);
      const re2 = anywhere(source);
      const expected = NAMES.map((n) => js.test(n));
      expect(NAMES.map((n) => re2.test(n)), source).toEqual(expected);
    }
    // And the values themselves, for a few.
    expect(NAMES.filter((n) => anywhere('^kworker').test(n))).toEqual(['kworker/3:1-events', 'kworker/u16:2']);
    expect(NAMES.filter((n) => anywhere('python3? .*train\\.py').test(n))).toEqual(['/usr/bin/python3 train.py --epochs 10']);
  });

  it('whole: the same verdict as the ^(?:…)$ RegExp the metric filters used before (anchored at both ends)', () => {
    const families = ['scaph_host_power_microwatts', 'scaph_process_power_consumption_microwatts', 'scaph_socket_power_microwatts', 'scaph_self_version'];
    for (const source of ['scaph_(host|process)_.*', 'scaph_host_power_microwatts', 'process', '.*_microwatts', 'scaph_s.*|.*version']) {
      const js = new RegExp(`^(?:${source})$`);
      expect(families.map((f) => whole(source).test(f)), source).toEqual(families.map((f) => js.test(f)));
    }
    // A part of a name is not the whole name; an alternation is anchored as a whole, not only its ends.
    expect(whole('process').test('scaph_process_power_consumption_microwatts')).toBe(false);
    expect(whole('scaph_host.*|version').test('scaph_self_version')).toBe(false);
    expect(whole('scaph_host.*|version').test('scaph_host_power_microwatts')).toBe(true);
  });

  it('several patterns are alternatives; with() adds one the way a repeated flag does', () => {
    const p = anywhere('^kworker', 'firefox');
    expect(NAMES.filter((n) => p.test(n))).toEqual(['kworker/3:1-events', 'kworker/u16:2', 'firefox', '/usr/lib/firefox/firefox -contentproc -childID 7 -isForBrowser']);
    const more = p.with(SELECT, '^java$');
    expect(more.sources).toEqual(['^kworker', 'firefox', '^java$']);
    expect(more.test('java')).toBe(true);
    expect(p.test('java')).toBe(false);
    expect(more.toString()).toBe('^kworker or firefox or ^java$');
    // Each pattern stands alone: an unclosed \Q quotes to the end of its own pattern, not into the next.
    const quoted = anywhere('\\Qa.b', 'c');
    expect(['a.b', 'axb', 'c'].map((n) => quoted.test(n))).toEqual([true, false, true]);
  });

  it('reads RE2 syntax: inline flags, Unicode classes, \\z; `.` stops at a newline, as in RegExp', () => {
    expect(anywhere('(?i)FIREFOX').test('firefox')).toBe(true);
    expect(anywhere('FIREFOX').test('firefox')).toBe(false);
    expect(anywhere('^\\p{Lu}').test('Élodie-app')).toBe(true);
    expect(anywhere('^\\p{Lu}').test('élodie')).toBe(false);
    expect(anywhere('\\p{Greek}').test('αβγ')).toBe(true);
    expect(anywhere('app\\z').test('Élodie-app')).toBe(true);
    expect(anywhere('^a.b$').test('a\nb')).toBe(false);
    expect(anywhere('(?s)^a.b$').test('a\nb')).toBe(true);
    // A name with a character outside the BMP (a process may name itself anything) is one character.
    expect(anywhere('^.$').test('😀')).toBe(true);
  });
});

describe('UserPatterns: linear time on hostile names', () => {
  /** [pattern, whether it matches a run of 20 or more `a`s then `!`]: RegExp takes ~2^n steps on most. */
  const PATHOLOGICAL: ReadonlyArray<readonly [string, boolean]> = [
    ['(a+)+$', false],
    ['(a|aa)+$', false],
    ['(a|a)*b', false],
    ['(.*a){20}', true],
    ['^(\\w+\\s?)*$', false],
    ['(a*)*$', true],
    ['^(a+)+b', false],
    ['(x+x+)+y', false],
    ['(.*){1,20}[bc]', false],
  ];
  // A run of `a`s and one character that makes the match fail at the end: what makes RegExp backtrack.
  const hostile = (n: number): string => `${'a'.repeat(n)}!`;

  it.each(PATHOLOGICAL)('%s against 30 to 10,000 `a`s: the right verdict, in milliseconds', (source, verdict) => {
    const p = anywhere(source);
    for (const n of [30, 100, 1000, 10_000]) {
      const started = performance.now();
      expect(p.test(hostile(n)), `${source} on ${n} a's`).toBe(verdict);
      expect(performance.now() - started, `${source} on ${n} a's`).toBeLessThan(250);
    }
  });

  it('the verdicts on hostile names are the right ones', () => {
    const name = hostile(10_000);
    expect(anywhere('(a+)+$').test(name)).toBe(false);
    expect(anywhere('(a+)+$').test('a'.repeat(10_000))).toBe(true);
    expect(anywhere('(a|a)*b').test(name)).toBe(false);
    expect(anywhere('(a|a)*b').test(`${'a'.repeat(10_000)}b`)).toBe(true);
    expect(anywhere('(.*a){20}').test(name)).toBe(true);
    expect(anywhere('(.*a){20}').test('a'.repeat(19))).toBe(false);
    expect(anywhere('^(\\w+\\s?)*$').test(name)).toBe(false);
    expect(anywhere('^(\\w+\\s?)*$').test('a '.repeat(5000))).toBe(true);
  });

  it('a 1 MiB command line against the classic patterns: well under a second in all', () => {
    const name = hostile(1 << 20);
    const started = performance.now();
    for (const [source, verdict] of PATHOLOGICAL) expect(anywhere(source).test(name)).toBe(verdict);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('UserPatterns: refusals (exit 2, naming the flag, the pattern, why, what instead)', () => {
  it.each([
    ['(a)\\1', /^--process-regex "\(a\)\\1" uses a backreference \(\\1\): only a backtracking engine runs that .*linear time \(RE2\)\. Write out what the group matches/],
    ['(?<n>a)\\k<n>', /uses a named backreference \(\\k<…>\)/],
    ['(?P<n>a)(?P=n)', /uses a named backreference \(\(\?P=…\)\)/],
    ['^(?!kworker)', /uses a negative lookahead \(\(\?!…\)\): .*Write the pattern without it \(to leave processes out, give --exclude-process-regex\)$/],
    ['foo(?=bar)', /uses a lookahead \(\(\?=…\)\)/],
    ['(?<=x)a', /uses a lookbehind \(\(\?<=…\)\)/],
    ['(?<!x)a', /uses a negative lookbehind \(\(\?<!…\)\)/],
    ['\\u00e9', /uses \\u, which RE2 does not read: write the character itself, or \\x\{…\}/],
    ['\\cA', /uses \\c .* write \\x\{…\}/],
    ['a\\Z', /uses \\Z, which RE2 does not read: write \\z \(end of text\) or \$/],
    ['\\e', /uses \\e, which is not an escape in RE2: write the character alone/],
    ['[^]', /uses \[\^\] \(any character\).*write \(\?s:\.\)/],
    ['(?>a)', /atomic group .*write \(\?:…\)/],
    ['a{1001}', /has a repeat count RE2 does not accept \(\{1001\}\): at most 1000/],
    ['(a{100}){100}', /nested counts multiply/],
    ['\\p{Letter}', /names a Unicode class RE2 does not know \(\\p\{Letter\}\): RE2 takes short names, e\.g\. \\p\{L\}/],
    ['(unclosed', /^--process-regex "\(unclosed" is not a valid regular expression: missing closing \) \(scaph reads RE2 syntax/],
    ['[z-a]', /is not a valid regular expression: invalid character class range at "z-a"/],
    ['', /^--process-regex "" is empty: an empty pattern matches every name\. Leave the flag out, or write what to match$/],
    ['(\\w+\\s?){300}', new RegExp(`is too large: it compiles to 1802 RE2 instructions, at most ${MAX_PROGRAM_SIZE} are accepted`)],
  ])('%j', (source, message) => {
    const err = refusal(source);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.flag).toBe('--process-regex');
    expect(err.pattern).toBe(source);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });

  it('the hint for a lookaround is the caller\'s; a pattern in a message stays on one line and short', () => {
    expect(refusal('^(?!x)', { flag: '--keep-metrics', insteadOfLookaround: 'to leave families out, give --drop-metrics' }).message).toMatch(/\(to leave families out, give --drop-metrics\)$/);
    expect(refusal('(?=x)', { flag: '--x' }).message).toMatch(/Write the pattern without it$/);
    const multiline = refusal('a\nb(');
    expect(multiline.message).toMatch(/^--process-regex "a\\x0ab\(" is not a valid/);
    const long = refusal(`${'x'.repeat(500)}(`);
    expect(long.message).toContain(`"${'x'.repeat(120)}…"`);
    expect(long.message.length).toBeLessThan(400);
  });

  it('every pattern of a list is checked; the first one refused is named', () => {
    expect(() => anywhere('ok', '(a)\\1', '(?=x)')).toThrow(/"\(a\)\\1" uses a backreference/);
    expect(() => anywhere('ok').with(SELECT, '')).toThrow(/"" is empty/);
  });

  it('userPatternProblem: null for what runs, the reason for the rest', () => {
    expect(userPatternProblem('^kworker')).toBeNull();
    expect(userPatternProblem('x{1000}')).toMatch(/is too large/);
    expect(userPatternProblem('x{998}')).toBeNull();
    expect(userPatternProblem('(a)\\1')).toMatch(/^uses a backreference/);
  });
});
