import { describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../../src/delivery/http-date.js';

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  const now = Date.UTC(2026, 11, 7, 6, 35, 50);
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);

  it('reads the three forms of the RFC example as the same instant, in GMT', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2000, 0, 1))).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', now)).toBe(expected);
  });

  it('reads the asctime form as GMT whatever the local zone (the form Date.parse reads locally)', () => {
    // The date: 12 s after `now`.
    expect(parseHttpDate('Mon Dec  7 06:36:02 2026', now)! - now).toBe(12_000);
    expect(parseHttpDate('Mon Dec 17 06:36:02 2026', now)).toBe(Date.UTC(2026, 11, 17, 6, 36, 2));
  });

  it('takes a two-digit rfc850 year as the most recent past year when it would be over 50 years ahead', () => {
    expect(parseHttpDate('Monday, 07-Dec-26 06:36:02 GMT', now)).toBe(Date.UTC(2026, 11, 7, 6, 36, 2));
    expect(parseHttpDate('Tuesday, 07-Dec-76 06:36:02 GMT', now)).toBe(Date.UTC(2076, 11, 7, 6, 36, 2));
    expect(parseHttpDate('Friday, 07-Dec-77 06:36:02 GMT', now)).toBe(Date.UTC(1977, 11, 7, 6, 36, 2));
  });

  it('accepts a leap second and any letter case in names', () => {
    expect(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT', now)).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
    expect(parseHttpDate('sun, 06 nov 1994 08:49:37 gmt', now)).toBe(expected);
  });

  it.each([
    ['a zone other than GMT', 'Sun, 06 Nov 1994 08:49:37 EST'],
    ['an ISO date', '1994-11-06T08:49:37Z'],
    ['no zone on the IMF form', 'Sun, 06 Nov 1994 08:49:37'],
    ['a day of the month that does not exist', 'Sat, 31 Feb 2026 08:49:37 GMT'],
    ['an hour past 23', 'Sun, 06 Nov 1994 24:49:37 GMT'],
    ['an unknown month', 'Sun, 06 Foo 1994 08:49:37 GMT'],
    ['a single-digit asctime day without its padding space', 'Sun Nov 6 08:49:37 1994'],
    ['words', 'soon'],
    ['empty', ''],
  ])('refuses %s', (_why, text) => {
    expect(parseHttpDate(text, now)).toBeUndefined();
  });
});
