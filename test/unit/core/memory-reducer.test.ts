import { afterEach, describe, expect, it, vi } from 'vitest';
import { exposedCollector, keepMemoryReducerWorking, needsMemoryReducerNudge, NUDGE_INTERVAL_MS } from '../../../src/core/memory-reducer.js';

describe('memory reducer nudge', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is needed from V8 13.1 on (Node.js 24 and later), not on the V8 of Node.js 20 or 22', () => {
    expect(needsMemoryReducerNudge('11.3.244.8-node.33')).toBe(false);
    expect(needsMemoryReducerNudge('12.4.254.21-node.33')).toBe(false);
    expect(needsMemoryReducerNudge('13.0.245.25')).toBe(false);
    expect(needsMemoryReducerNudge('13.1.201.8')).toBe(true);
    expect(needsMemoryReducerNudge('13.6.233.17-node.29')).toBe(true);
    expect(needsMemoryReducerNudge('14.6.202.9-node.12')).toBe(true);
  });

  it('finds the collector only where the runtime exposes it (--expose-gc)', () => {
    expect(exposedCollector({})).toBeUndefined();
    expect(exposedCollector({ gc: 'not a function' })).toBeUndefined();
    const gc = vi.fn();
    const collect = exposedCollector({ gc });
    collect?.();
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('on V8 13.1 and later runs the collector once per interval, never at start; on older V8 starts nothing', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    expect(keepMemoryReducerWorking({ collect, collectedByV8: () => false, v8Version: '13.6.233.17-node.29' })).toBe(true);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(NUDGE_INTERVAL_MS - 1);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2 * NUDGE_INTERVAL_MS);
    expect(collect).toHaveBeenCalledTimes(3);

    const old = vi.fn();
    expect(keepMemoryReducerWorking({ collect: old, collectedByV8: () => false, v8Version: '11.3.244.8-node.33' })).toBe(false);
    vi.advanceTimersByTime(10 * NUDGE_INTERVAL_MS);
    expect(old).not.toHaveBeenCalled();
  });

  it('skips a tick\'s collection when V8 ran a full collection of its own since the previous tick', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const own = [false, true, true, false];
    expect(keepMemoryReducerWorking({ collect, collectedByV8: () => own.shift() ?? false, v8Version: '14.6.202.9-node.12' })).toBe(true);
    vi.advanceTimersByTime(NUDGE_INTERVAL_MS);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2 * NUDGE_INTERVAL_MS);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(NUDGE_INTERVAL_MS);
    expect(collect).toHaveBeenCalledTimes(2);
  });
});
