import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { requestFailureCode, withDeadline } from '../../../../src/sensors/containers/refresh.js';

/** The garbage collector, callable (what `node --expose-gc` gives). */
function collector(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** A load that ends only when its signal aborts, as a request to a server that never answers. */
const hangingLoad = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));

describe('withDeadline', () => {
  it('aborts a hung load at its deadline, however often the garbage collector runs meanwhile', async () => {
    // AbortSignal.any([stop, AbortSignal.timeout(ms)]) never fired here: its timeout source was collected.
    const gc = collector();
    const collecting = setInterval(gc, 10);
    const started = performance.now();
    try {
      const error = await withDeadline(new AbortController().signal, 200, hangingLoad).catch((e: unknown) => e);
      expect(requestFailureCode(error)).toBe('ETIMEDOUT');
      expect((error as Error).message).toBe('no answer within 200 ms');
    } finally {
      clearInterval(collecting);
    }
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1_000);
  });

  it('aborts at once when stopped, with the stop\'s reason; a load that ends first keeps its value', async () => {
    const stop = new AbortController();
    const loading = withDeadline(stop.signal, 60_000, hangingLoad);
    stop.abort(new Error('stopping'));
    await expect(loading).rejects.toThrow('stopping');
    const stopped = new AbortController();
    stopped.abort(new Error('already stopped'));
    await expect(withDeadline(stopped.signal, 60_000, hangingLoad)).rejects.toThrow('already stopped');
    await expect(withDeadline(new AbortController().signal, 50, async () => 'answered')).resolves.toBe('answered');
  });
});
