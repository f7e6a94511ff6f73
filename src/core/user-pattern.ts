/**
 * Every regular expression a user or a config file gives (process selection, metric filters) is compiled,
 * checked and matched here, and nowhere else.
 *
 * - **Engine**: RE2 (re2js, a pure JavaScript port of RE2/J), not JavaScript's RegExp. RegExp backtracks:
 *   `(a+)+$` against a process named with 30 `a`s and one other character takes 2^30 steps, and a
 *   process chooses its own name. RE2 runs in time linear in the text, whatever the pattern, so a hostile
 *   name cannot stall sampling, /metrics or a SIGTERM. The syntax is RE2's (https://github.com/google/re2/wiki/Syntax),
 *   the one Prometheus relabelling and Go use.
 * - **Refused at start**: what RE2 cannot run in linear time (backreferences, lookahead, lookbehind), the
 *   JavaScript-only spellings RE2 reads otherwise (`\u0041`, `[^]`, `\cA`), empty patterns (they match
 *   every name: a typo'd variable, not an intent), and patterns whose compiled program exceeds
 *   MAX_PROGRAM_SIZE. Each refusal names the flag or key, the pattern, why, and what to write instead.
 * - **Scope**: a selection pattern matches anywhere in the name (as `grep` and RegExp.test do); a metric
 *   filter matches the whole family name (as Prometheus relabelling does). Several patterns are
 *   alternatives (any of them), matched one by one rather than joined into one source, so that one
 *   pattern's syntax (an unclosed `\Q`) never reaches into the next.
 * - **Cost**: RE2's time is linear in the text, with a factor that grows with the pattern's program
 *   (about one instruction per literal character, class or repetition copy) when its automaton does not
 *   fit (MAX_PROGRAM_SIZE); callers match each name once and keep the verdict (process-selection.ts keeps
 *   it per (pid, starttime) and matches again only when exe or cmdline change).
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { UsageError } from './errors.js';

/** Where a pattern must match: anywhere in the text, or the whole text. */
export type PatternScope = 'anywhere' | 'whole';

/**
 * Largest compiled pattern accepted, in RE2 program instructions. Realistic selection and filter patterns
 * stay under 100; `x{1000}` or `(\w+\s?){300}` do not. When RE2's automaton outgrows its memory budget
 * (a large program, or a counted repeat after an unbounded one, as in `(a|b)*a(a|b){100}c`), re2js
 * simulates the program instead, at about 12 ns per instruction per character: still linear, but the cap
 * is what bounds the factor (measured with re2js 2.10 over 1 MiB: `(\w+\s?){1000}$`, 6003 instructions,
 * 71 s; at 160 repeats, 963 instructions, 7 ms; `(a|b)*b(a|b){100}c`, 308 instructions, 3.8 s on random a/b).
 */
export const MAX_PROGRAM_SIZE = 1000;

/** Longest pattern shown in a message; the rest is elided. */
const SHOWN_CHARS = 120;

/** Who gave the pattern, for messages, and what to use instead of a negative lookaround there. */
export interface PatternUse {
  /** The flag as the user sees it (`--exclude-process-regex`); a config file's problem names the key before it. */
  readonly flag: string;
  /** e.g. 'to leave processes out, give --exclude-process-regex'. */
  readonly insteadOfLookaround?: string;
}

/** A pattern scaph will not run: its message names the flag, the pattern, why, and what to write instead. */
export class UserPatternError extends UsageError {
  constructor(
    readonly flag: string,
    readonly pattern: string,
    readonly why: string,
  ) {
    super(`${flag} ${quoted(pattern)} ${why}`);
  }
}

/** One or more compiled patterns, matched as alternatives. */
export class UserPatterns {
  private readonly whole: boolean;

  private constructor(
    /** The patterns as the user wrote them. */
    readonly sources: readonly string[],
    readonly scope: PatternScope,
    private readonly compiled: readonly RE2JS[],
  ) {
    this.whole = scope === 'whole';
  }

  /** Compiles `sources` as alternatives; throws UserPatternError on the first one scaph will not run. */
  static compile(use: PatternUse, sources: readonly string[], scope: PatternScope): UserPatterns {
    return new UserPatterns([...sources], scope, sources.map((s) => compileOne(use, s)));
  }

  /** Whether any of the patterns matches `text` (anywhere in it, or all of it, per the scope). Linear time. */
  test(text: string): boolean {
    const compiled = this.compiled;
    for (let i = 0; i < compiled.length; i++) {
      const re = compiled[i] as RE2JS;
      if (this.whole ? re.testExact(text) : re.test(text)) return true;
    }
    return false;
  }

  /** These patterns and `source` (checked the same way), as alternatives: how a repeated flag adds up. */
  with(use: PatternUse, source: string): UserPatterns {
    return new UserPatterns([...this.sources, source], this.scope, [...this.compiled, compileOne(use, source)]);
  }

  /** For people: `sshd`, or `sshd or nginx`. */
  toString(): string {
    return this.sources.join(' or ');
  }
}

/** Why scaph will not run `source` (the sentence after the pattern in the message), or null when it will. */
export function userPatternProblem(source: string, use: PatternUse = { flag: '' }): string | null {
  try {
    compileOne(use, source);
    return null;
  } catch (err) {
    if (err instanceof UserPatternError) return err.why;
    throw err;
  }
}

function compileOne(use: PatternUse, source: string): RE2JS {
  if (source === '') {
    throw new UserPatternError(use.flag, source, 'is empty: an empty pattern matches every name. Leave the flag out, or write what to match');
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) throw new UserPatternError(use.flag, source, whyRefused(err.error, err.input ?? '', source, use));
    throw err;
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    throw new UserPatternError(
      use.flag,
      source,
      `is too large: it compiles to ${size} RE2 instructions, at most ${MAX_PROGRAM_SIZE} are accepted (matching time grows with it). ` +
        'Large counted repeats such as {500} make most of it: use + or *, or split it into several patterns',
    );
  }
  return re;
}

const SYNTAX = 'scaph reads RE2 syntax, as Prometheus and Go do: https://github.com/google/re2/wiki/Syntax';
const LINEAR = 'only a backtracking engine runs that (and a long name can stall one for hours); scaph matches patterns in linear time (RE2)';

/** The sentence for an RE2 syntax error: the constructs RE2 leaves out on purpose get their own. */
function whyRefused(error: string, input: string, source: string, use: PatternUse): string {
  const lookaround = (kind: string): string =>
    `uses a ${kind} (${input.slice(0, input.charAt(2) === '<' ? 4 : 3)}…)): ${LINEAR}. Write the pattern without it` +
    (use.insteadOfLookaround ? ` (${use.insteadOfLookaround})` : '');
  if (error === 'invalid escape sequence') {
    const escaped = input.charAt(1);
    if (escaped >= '1' && escaped <= '9') return `uses a backreference (${input}): ${LINEAR}. Write out what the group matches instead (e.g. aa|bb for (a|b)\\1)`;
    if (escaped === 'k') return `uses a named backreference (\\k<…>): ${LINEAR}. Write out what the group matches instead`;
    if (escaped === 'u') return 'uses \\u, which RE2 does not read: write the character itself, or \\x{…} with its hex code (\\x{e9} for é)';
    if (escaped === 'c') return 'uses \\c (a control character), which RE2 does not read: write \\x{…} with its hex code (\\x{01} for \\cA)';
    if (escaped === 'Z') return 'uses \\Z, which RE2 does not read: write \\z (end of text) or $';
    return `uses ${input}, which is not an escape in RE2: write the character alone (only punctuation needs a backslash; ${SYNTAX})`;
  }
  if (error === 'invalid or unsupported Perl syntax') {
    if (input.startsWith('(?=')) return lookaround('lookahead');
    if (input.startsWith('(?!')) return lookaround('negative lookahead');
    if (input.startsWith('(?>')) return `uses an atomic group ((?>…)), which RE2 does not need nor read: write (?:…)`;
  }
  if (error === 'invalid or unsupported Perl syntax' && source.includes('(?P=')) {
    return `uses a named backreference ((?P=…)): ${LINEAR}. Write out what the group matches instead`;
  }
  if (error === 'invalid named capture' && input.startsWith('(?<=')) return lookaround('lookbehind');
  if (error === 'invalid named capture' && input.startsWith('(?<!')) return lookaround('negative lookbehind');
  if (error === 'missing closing ]' && input.startsWith('[^]')) return 'uses [^] (any character), which RE2 reads as an unclosed class: write (?s:.)';
  if (error === 'invalid repeat count') return `has a repeat count RE2 does not accept (${input}): at most 1000, and nested counts multiply (${SYNTAX})`;
  if (error === 'invalid character class range' && input.startsWith('\\p')) {
    return `names a Unicode class RE2 does not know (${input}): RE2 takes short names, e.g. \\p{L}, \\p{Lu}, \\p{Greek} (${SYNTAX})`;
  }
  return `is not a valid regular expression: ${error}${input && input !== source ? ` at ${quoted(input)}` : ''} (${SYNTAX})`;
}

/** A pattern in a one-line message: quoted, control characters escaped, long ones elided. */
function quoted(pattern: string): string {
  const shown = pattern.length > SHOWN_CHARS ? `${pattern.slice(0, SHOWN_CHARS)}…` : pattern;
  let out = '';
  for (const ch of shown) {
    const code = ch.codePointAt(0) as number;
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return `"${out}"`;
}
