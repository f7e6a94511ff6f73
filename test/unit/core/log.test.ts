import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { isJournalStream, priorityOfLevel } from '../../../src/core/journald.js';
import { createLogger, resolveLogFormat, resolveLogLevel, type LogSettings, type LogSink } from '../../../src/core/log.js';
import { formatTextLine } from '../../../src/core/log-text.js';

const AGENT: LogSettings = { verbosity: 0, defaultLevel: 'info', format: undefined };
const TERMINAL: LogSettings = { verbosity: 0, defaultLevel: 'warn', format: undefined };

function sink(journal = false): LogSink & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, journal, write: (line) => void lines.push(line) };
}

describe('text log lines', () => {
  const at = Date.parse('2026-12-07T08:30:01.123Z');

  it('start with the level and the message, then the fields as key=value, then the time', () => {
    const line = formatTextLine(
      { level: 40, time: at, pid: 7, name: 'scaph', transport: 'remote-write', error: 'connect ECONNREFUSED 127.0.0.1:9', retryInS: 0.5, msg: 'delivery failed; will retry' },
      { withoutTime: false },
    );
    expect(line).toBe('WARN  delivery failed; will retry transport=remote-write error="connect ECONNREFUSED 127.0.0.1:9" retryInS=0.5 time=2026-12-07T08:30:01.123Z');
  });

  it('quote what would not read as one value: spaces, quotes, =, backslashes, control characters, empty strings', () => {
    const line = formatTextLine(
      { level: 30, msg: 'm', a: 'plain/path:1', b: 'two words', c: 'say "hi"', d: 'k=v', e: 'C:\\x', f: 'tab\there', g: '', h: 'bell\u0007' },
      { withoutTime: true },
    );
    expect(line).toBe('INFO  m a=plain/path:1 b="two words" c="say \\"hi\\"" d="k=v" e="C:\\\\x" f="tab\\there" g="" h="bell\\u0007"');
  });

  it('write nested objects as dotted keys, lists of plain values joined by commas, errors as their message', () => {
    const line = formatTextLine(
      {
        level: 50,
        msg: 'x',
        dropped: { http_400: 3, queue_full: 1 },
        zones: ['intel-rapl:0=package-0', 'intel-rapl:0:0=core'],
        names: ['a', 'b'],
        mixed: [{ a: 1 }],
        err: { type: 'Error', message: 'boom: no such file', stack: 'Error: boom\n    at x' },
        n: null,
        ok: true,
        big: 12n,
        empty: {},
      },
      { withoutTime: true },
    );
    expect(line).toBe(
      'ERROR x dropped.http_400=3 dropped.queue_full=1 zones="intel-rapl:0=package-0,intel-rapl:0:0=core" names=a,b mixed="[{\\"a\\":1}]" err="boom: no such file" n=null ok=true big=12 empty={}',
    );
  });

  it('keep a message on one line (a line break would start a line that is not an event)', () => {
    expect(formatTextLine({ level: 60, msg: 'first\nsecond\r\nthird' }, { withoutTime: true })).toBe('FATAL first\\nsecond\\nthird');
  });
});

describe('the log level', () => {
  it('is info for an agent and warn for a person at the terminal without -v; -v is info, -vv debug', () => {
    expect(resolveLogLevel(AGENT, {})).toBe('info');
    expect(resolveLogLevel(TERMINAL, {})).toBe('warn');
    expect(resolveLogLevel({ ...TERMINAL, verbosity: 1 }, {})).toBe('info');
    expect(resolveLogLevel({ ...AGENT, verbosity: 2 }, {})).toBe('debug');
    expect(resolveLogLevel({ ...AGENT, verbosity: 3 }, {})).toBe('debug');
  });

  it('is $SCAPH_LOG_LEVEL when set (whatever -v says); an unknown one is a usage error naming the levels', () => {
    expect(resolveLogLevel({ ...AGENT, verbosity: 2 }, { SCAPH_LOG_LEVEL: 'error' })).toBe('error');
    expect(resolveLogLevel(TERMINAL, { SCAPH_LOG_LEVEL: ' Debug ' })).toBe('debug');
    expect(resolveLogLevel(TERMINAL, { SCAPH_LOG_LEVEL: '' })).toBe('warn');
    expect(() => resolveLogLevel(AGENT, { SCAPH_LOG_LEVEL: 'loud' })).toThrow(UsageError);
    expect(() => resolveLogLevel(AGENT, { SCAPH_LOG_LEVEL: 'loud' })).toThrow('SCAPH_LOG_LEVEL="loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent');
  });
});

describe('the log format', () => {
  it('is --log-format, else $SCAPH_LOG_FORMAT, else text; a bad variable is a usage error', () => {
    expect(resolveLogFormat(AGENT, {})).toBe('text');
    expect(resolveLogFormat(AGENT, { SCAPH_LOG_FORMAT: 'json' })).toBe('json');
    expect(resolveLogFormat({ ...AGENT, format: 'text' }, { SCAPH_LOG_FORMAT: 'json' })).toBe('text');
    expect(resolveLogFormat({ ...AGENT, format: 'json' }, { SCAPH_LOG_FORMAT: 'xml' })).toBe('json');
    expect(() => resolveLogFormat(AGENT, { SCAPH_LOG_FORMAT: 'xml' })).toThrow('SCAPH_LOG_FORMAT="xml" is not a log format: use text or json');
  });

  it('text: one line per event at the level asked for', () => {
    const out = sink();
    const logger = createLogger(TERMINAL, {}, out);
    logger.info({ a: 1 }, 'not shown at warn');
    logger.warn({ file: '/sys/x', problem: 'EACCES' }, 'cannot use this RAPL energy file');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(/^WARN  cannot use this RAPL energy file file=\/sys\/x problem=EACCES time=\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
  });

  it("json: pino's own line, fields kept for pipelines", () => {
    const out = sink();
    createLogger({ ...AGENT, format: 'json' }, {}, out).info({ transport: 'riemann', samples: 1 }, 'first delivery accepted by the backend');
    const record = JSON.parse(out.lines[0] ?? '') as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, name: 'scaph', pid: process.pid, transport: 'riemann', samples: 1, msg: 'first delivery accepted by the backend' });
    expect(typeof record['time']).toBe('number');
  });

  it('under journald: each line starts with its syslog priority, and the text line leaves the time to the journal', () => {
    const out = sink(true);
    const logger = createLogger({ ...AGENT, verbosity: 2 }, {}, out);
    logger.debug('d');
    logger.info('i');
    logger.warn({ k: 'v' }, 'w');
    logger.error('e');
    logger.fatal('f');
    expect(out.lines).toEqual(['<7>DEBUG d\n', '<6>INFO  i\n', '<4>WARN  w k=v\n', '<3>ERROR e\n', '<2>FATAL f\n']);
    const json = sink(true);
    createLogger({ ...AGENT, format: 'json' }, {}, json).warn('w');
    expect(json.lines[0]).toMatch(/^<4>\{"level":40,"time":\d+,.*"msg":"w"\}\n$/);
  });

  it('maps pino levels to sd-daemon priorities: fatal 2, error 3, warn 4, info 6, debug and trace 7', () => {
    expect([60, 50, 40, 30, 20, 10].map(priorityOfLevel)).toEqual([2, 3, 4, 6, 7, 7]);
  });
});

describe('isJournalStream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is true only when JOURNAL_STREAM holds the device:inode of the descriptor', () => {
    const fd = openSync(join(dir, 'stream'), 'w');
    try {
      const s = fstatSync(fd, { bigint: true });
      expect(isJournalStream({ JOURNAL_STREAM: `${s.dev}:${s.ino}` }, fd)).toBe(true);
      // Inherited by a child whose stderr was redirected: another inode.
      expect(isJournalStream({ JOURNAL_STREAM: `${s.dev}:${s.ino + 1n}` }, fd)).toBe(false);
      expect(isJournalStream({ JOURNAL_STREAM: `${s.dev + 1n}:${s.ino}` }, fd)).toBe(false);
      for (const bad of ['', 'journal', `${s.dev}`, `${s.dev}:`, `:${s.ino}`, `${s.dev}:${s.ino}:1`, `-1:${s.ino}`]) {
        expect(isJournalStream({ JOURNAL_STREAM: bad }, fd), bad).toBe(false);
      }
      expect(isJournalStream({}, fd)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it('is false when the descriptor cannot be examined', () => {
    expect(isJournalStream({ JOURNAL_STREAM: '1:2' }, 2, () => null)).toBe(false);
    expect(isJournalStream({ JOURNAL_STREAM: '1:2' }, 2, () => ({ dev: 1n, ino: 2n }))).toBe(true);
  });
});
