/**
 * The parts of the Warp 10 container setup that run without a container engine: reading tokens from
 * tokengen's output in both of its shapes (test/support/fixtures/warp10-tokengen.ts says where each comes from),
 * the `-ci` images' fixed tokens, and a fetch window taken from our clock rather than the container's.
 */
import { describe, expect, it } from 'vitest';
import { CAPTURED_READ_TOKEN, CAPTURED_WRITE_TOKEN, RAW_BEFORE_3_2, RAW_SINCE_3_2, README_2X } from '../fixtures/warp10-tokengen.js';
import { WARP10_CI_IMAGE } from './images.js';
import { CI_TOKENS, fetchWindow, isCiImage, pickTokens, tokensFromTokengen, Warp10TokenError, type TokengenResult } from './warp10-container.js';

/** What the suite did before: senx/warp10-docker's pre-3.2 script, "the line after the one naming the id". */
function lineAfterId(output: string, id: string): string | null {
  return new RegExp(`${id}[^\\n]*\\n[^\\n]*" : "([^"]+)"`).exec(output)?.[1] ?? null;
}

describe('Warp 10 tokens from tokengen', () => {
  it('reads the 3.2+ shape (token, ident, id) by id', () => {
    expect(pickTokens(RAW_SINCE_3_2)).toEqual({ writeToken: CAPTURED_WRITE_TOKEN, readToken: CAPTURED_READ_TOKEN });
  });

  it('reads the pre-3.2 shape (ident, id, token) by id', () => {
    expect(pickTokens(RAW_BEFORE_3_2)).toEqual({ writeToken: CAPTURED_WRITE_TOKEN, readToken: CAPTURED_READ_TOKEN });
  });

  it('reads the capture printed in senx/warp10-docker (jq layout, its own envelope ids)', () => {
    expect(pickTokens(README_2X, { write: 'TokenWrite', read: 'TokenRead' })).toEqual({ writeToken: CAPTURED_WRITE_TOKEN, readToken: CAPTURED_READ_TOKEN });
    expect([...tokensFromTokengen(README_2X).keys()]).toEqual(['TokenWrite', 'TokenRead']);
  });

  it('shows why the old extraction broke: it finds the tokens in the pre-3.2 layout only', () => {
    const before = RAW_BEFORE_3_2.stdout + RAW_BEFORE_3_2.stderr;
    expect([lineAfterId(before, 'DemoWriteToken'), lineAfterId(before, 'DemoReadToken')]).toEqual([CAPTURED_WRITE_TOKEN, CAPTURED_READ_TOKEN]);
    const since = RAW_SINCE_3_2.stdout + RAW_SINCE_3_2.stderr;
    expect([lineAfterId(since, 'DemoWriteToken'), lineAfterId(since, 'DemoReadToken')]).toEqual([null, null]);
  });

  it('does not depend on the order of the stack levels', () => {
    const levels = JSON.parse(RAW_SINCE_3_2.stdout) as unknown[];
    const reversed: TokengenResult = { ...RAW_SINCE_3_2, stdout: JSON.stringify(levels.reverse(), null, 2) };
    expect(pickTokens(reversed)).toEqual({ writeToken: CAPTURED_WRITE_TOKEN, readToken: CAPTURED_READ_TOKEN });
  });

  it('reads stdout only: the log lines on stderr are not in the way', () => {
    expect(RAW_SINCE_3_2.stderr).toContain('WARN');
    expect(() => JSON.parse(RAW_SINCE_3_2.stdout + RAW_SINCE_3_2.stderr)).toThrow();
    expect(pickTokens(RAW_SINCE_3_2).writeToken).toBe(CAPTURED_WRITE_TOKEN);
  });

  it('fails on a non-zero exit code, with what the command printed', () => {
    const failed: TokengenResult = { exitCode: 1, stdout: '', stderr: 'Exception in thread "main" java.io.FileNotFoundException: /opt/warp10/tokens/x.mc2\n' };
    expect(() => pickTokens(failed)).toThrow(Warp10TokenError);
    expect(() => pickTokens(failed)).toThrow(/exited with 1[\s\S]*FileNotFoundException/);
  });

  it('fails on output that is not a JSON array, and on a missing id, naming the ids it saw', () => {
    expect(() => pickTokens({ exitCode: 0, stdout: 'Usage: warp10.sh tokengen envelope.mc2', stderr: '' })).toThrow(/did not print JSON[\s\S]*Usage/);
    expect(() => pickTokens({ exitCode: 0, stdout: '{"token":"x"}', stderr: '' })).toThrow(/no JSON array/);
    expect(() => pickTokens(README_2X)).toThrow('no token with id DemoWriteToken in the tokengen output (ids: TokenWrite, TokenRead)');
  });
});

describe('Warp 10 images', () => {
  it('uses the fixed tokens of the -ci images (predictible-tokens-for-ci/ci.tokens)', () => {
    expect(isCiImage(WARP10_CI_IMAGE)).toBe(true);
    expect(isCiImage('warp10io/warp10:3.5.0-ubuntu')).toBe(false);
    expect(CI_TOKENS).toEqual({ writeToken: 'writeTokenCI', readToken: 'readTokenCI' });
  });
});

describe('Warp 10 fetch window', () => {
  it('ends at the newest point written (µs, our clock) and reaches back to the oldest', () => {
    const written = [1_700_000_000_500, 1_700_000_000_000, 1_700_000_001_000];
    const w = fetchWindow(written);
    expect(w).toEqual({ now: '1700000001000000', timespan: '1000001' });
    // Warp 10 fetches ]now - timespan, now]: the oldest point is inside, one µs before it is not.
    const startUs = Number(w.now) - Number(w.timespan) + 1;
    expect(startUs).toBe(1_700_000_000_000_000);
  });

  it('covers a single point', () => {
    expect(fetchWindow([1_000])).toEqual({ now: '1000000', timespan: '1' });
  });
});
