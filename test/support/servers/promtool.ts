import { spawn } from 'node:child_process';

export interface PromtoolResult {
  /** 0 clean, 3 lint remarks only, 1 parse error. */
  readonly code: number;
  /** Lint remarks, e.g. `x counter metrics should have "_total" suffix`. */
  readonly remarks: string[];
  /** Parse errors, e.g. `error while linting: text format parsing error in line 1: ...`. */
  readonly errors: string[];
}

/** Runs `promtool check metrics` on an exposition text given on stdin. */
export function promtoolCheckMetrics(text: string | Buffer): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // promtool 2.42 writes remarks and errors alike to stderr; tell them apart by their text.
      const lines = nonEmptyLines(out + err);
      const errors = lines.filter((l) => PARSE_ERROR.test(l));
      resolve({ code: code ?? -1, remarks: lines.filter((l) => !PARSE_ERROR.test(l)), errors });
    });
    child.stdin.end(text);
  });
}

const PARSE_ERROR = /^error|parsing error/;

function nonEmptyLines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

/** The distinct kinds of lint remark (metric name stripped), to list which remain. */
export function remarkKinds(remarks: readonly string[]): string[] {
  return [...new Set(remarks.map((r) => r.slice(r.indexOf(' ') + 1)))].sort();
}
