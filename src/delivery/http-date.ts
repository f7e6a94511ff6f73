/**
 * HTTP-dates as RFC 9110 §5.6.7 defines them, all in GMT whatever the agent's time zone. A recipient must
 * accept the three forms:
 *
 *   IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT     (obsolete; two-digit year)
 *   asctime-date  Sun Nov  6 08:49:37 1994           (obsolete; no zone, and it is GMT all the same)
 *
 * `Date.parse` is not used: it reads the asctime form in the local time zone (with TZ=America/New_York a
 * server asking to wait 12 s was read as 5 hours), and it accepts many shapes the RFC does not.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
const MONTH = '([A-Za-z]{3})';

const IMF_FIXDATE = new RegExp(String.raw`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ${MONTH} (\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(String.raw`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-${MONTH}-(\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(String.raw`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ( \d|\d{2}) ${TIME} (\d{4})$`, 'i');

/** Milliseconds since the epoch of an HTTP-date, or undefined when `text` is none of the three forms. */
export function parseHttpDate(text: string, nowMs = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m) return utc(rfc850Year(Number(m[3]), nowMs), m[2], m[1], m[4], m[5], m[6]);
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1], m[2], m[3], m[4], m[5]);
  return undefined;
}

/**
 * RFC 9110: a two-digit year that would put the date more than 50 years in the future means the most
 * recent past year ending in those digits.
 */
function rfc850Year(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

function utc(year: number, month: string | undefined, day: string | undefined, h: string | undefined, m: string | undefined, s: string | undefined): number | undefined {
  const monthIndex = MONTHS.indexOf((month ?? '').toLowerCase());
  const d = Number(day);
  const hours = Number(h);
  const minutes = Number(m);
  // 60 is a leap second (RFC 9110 allows it); Date.UTC carries it into the next minute.
  const seconds = Number(s);
  if (monthIndex < 0 || d < 1 || d > daysIn(year, monthIndex) || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  return Date.UTC(year, monthIndex, d, hours, minutes, seconds);
}

function daysIn(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}
