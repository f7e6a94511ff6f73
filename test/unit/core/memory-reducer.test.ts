import { describe, expect, it } from 'vitest';
import { needsMemoryReducerNudge } from '../../../src/core/memory-reducer.js';

describe('memory reducer nudge', () => {
  it('is needed from V8 13.1 on (Node.js 24 and later), not on the V8 of Node.js 20 or 22', () => {
    expect(needsMemoryReducerNudge('11.3.244.8-node.33')).toBe(false);
    expect(needsMemoryReducerNudge('12.4.254.21-node.33')).toBe(false);
    expect(needsMemoryReducerNudge('13.0.245.25')).toBe(false);
    expect(needsMemoryReducerNudge('13.1.201.8')).toBe(true);
    expect(needsMemoryReducerNudge('13.6.233.17-node.29')).toBe(true);
    expect(needsMemoryReducerNudge('14.6.202.9-node.12')).toBe(true);
  });
});
