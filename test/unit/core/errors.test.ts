import { describe, expect, it } from 'vitest';
import { causeChain, errorCode, errorCodeOrText, errorText } from '../../../src/core/errors.js';

/** An Error with a code and a cause, as Node.js and undici build them. */
function failure(message: string, code?: string, cause?: unknown): Error {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as NodeJS.ErrnoException;
  if (code !== undefined) err.code = code;
  return err;
}

describe('error helpers (one home: src/core/errors.ts)', () => {
  it('errorText gives an Error its message and anything else as a string', () => {
    expect(errorText(new TypeError('bad type'))).toBe('bad type');
    expect(errorText('plain string')).toBe('plain string');
    expect(errorText(42)).toBe('42');
    expect(errorText(undefined)).toBe('undefined');
  });

  it('errorCode reads the first code along the cause chain, at most four errors deep', () => {
    expect(errorCode(failure('read failed', 'ENOENT'))).toBe('ENOENT');
    // undici: TypeError('fetch failed') wrapping the socket error.
    expect(errorCode(failure('fetch failed', undefined, failure('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED')))).toBe('ECONNREFUSED');
    expect(errorCode(failure('outer', 'UND_ERR_SOCKET', failure('inner', 'ECONNRESET')))).toBe('UND_ERR_SOCKET');
    const deep = failure('1', undefined, failure('2', undefined, failure('3', undefined, failure('4', undefined, failure('5', 'EIO')))));
    expect(errorCode(deep)).toBeUndefined();
    expect(errorCode('ENOENT')).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
  });

  it('causeChain lists the error and what it wraps, outermost first', () => {
    const inner = failure('inner', 'EPIPE');
    const outer = failure('outer', undefined, inner);
    expect(causeChain(outer)).toEqual([outer, inner]);
    expect(causeChain('text')).toEqual([]);
  });

  it('errorCodeOrText gives the code, or the text without one', () => {
    expect(errorCodeOrText(failure('no such file', 'ENOENT'))).toBe('ENOENT');
    expect(errorCodeOrText(new Error('it is a directory'))).toBe('it is a directory');
    expect(errorCodeOrText('gone')).toBe('gone');
  });
});
