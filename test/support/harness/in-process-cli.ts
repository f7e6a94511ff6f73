/**
 * The CLI's entry (`main` of src/cli.ts) run inside the test's process, its stdout and stderr captured: a
 * table of hundreds of bad values costs milliseconds a case instead of a node start-up each. A test using it
 * must keep the agent from starting (vi.mock of src/agent/assemble.js's runAgent, counting the starts), and
 * compare a sample of its cases with the built binary (runScaph) to show both paths say the same.
 */
import { main } from '../../../src/cli.js';

export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Write = typeof process.stdout.write;

/** A stream's write that appends to `sink` instead, calling the callback as a stream would. */
function capture(sink: { text: string }): Write {
  return ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    sink.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as Write;
}

/** `scaph <argv>` in this process: its exit code and what it wrote (one run at a time: the streams are swapped). */
export async function runMainInProcess(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<InProcessRun> {
  const out = { text: '' };
  const err = { text: '' };
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const code = await main(argv, env);
    return { code, stdout: out.text, stderr: err.text };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
}
