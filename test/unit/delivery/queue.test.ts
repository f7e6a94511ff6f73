import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../src/delivery/queue.js';

const item = (id: number, bytes = 10) => ({ id, bytes });

describe('BoundedQueue', () => {
  it('drops the oldest entries when the sample cap is exceeded', () => {
    const q = new BoundedQueue<{ id: number; bytes: number }>({ maxSamples: 3, maxBytes: 1e9 });
    const evicted = [1, 2, 3, 4, 5].flatMap((i) => q.push(item(i)).map((e) => e.id));
    expect(evicted).toEqual([1, 2]);
    expect(q.peek(10).map((e) => e.id)).toEqual([3, 4, 5]);
    expect(q.length).toBe(3);
    expect(q.bytes).toBe(30);
  });
  it('drops the oldest entries when the byte cap is exceeded', () => {
    const q = new BoundedQueue<{ id: number; bytes: number }>({ maxSamples: 100, maxBytes: 100 });
    q.push(item(1, 40));
    q.push(item(2, 40));
    expect(q.push(item(3, 40)).map((e) => e.id)).toEqual([1]);
    expect(q.bytes).toBe(80);
    // An entry larger than the whole cap evicts everything before it but is itself kept (newest wins).
    expect(q.push(item(4, 500)).map((e) => e.id)).toEqual([2, 3]);
    expect(q.peek(10).map((e) => e.id)).toEqual([4]);
  });
  it('capacity 1 keeps only the latest (Pushgateway "latest wins")', () => {
    const q = new BoundedQueue<{ id: number; bytes: number }>({ maxSamples: 1, maxBytes: 1e9 });
    q.push(item(1));
    expect(q.push(item(2)).map((e) => e.id)).toEqual([1]);
    expect(q.first()?.id).toBe(2);
  });
  it('shiftWhile removes from the head only while the predicate holds, across compactions', () => {
    const q = new BoundedQueue<{ id: number; bytes: number }>({ maxSamples: 5000, maxBytes: 1e9 });
    for (let i = 0; i < 3000; i++) q.push(item(i, 1));
    expect(q.shiftWhile((e) => e.id < 2500).length).toBe(2500);
    expect(q.first()?.id).toBe(2500);
    expect(q.length).toBe(500);
    expect(q.bytes).toBe(500);
    expect(q.drain().map((e) => e.id).slice(0, 2)).toEqual([2500, 2501]);
    expect(q.length).toBe(0);
  });
  it('keeps no reference to an entry once it is removed (sent samples are garbage, not hidden memory)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    type Entry = { id: number; bytes: number; payload: number[] };
    const q = new BoundedQueue<Entry>({ maxSamples: 5000, maxBytes: 1e12 });
    const refs: WeakRef<object>[] = [];
    const add = (id: number, size: number): void => {
      const entry: Entry = { id, bytes: 10, payload: new Array<number>(size).fill(id) };
      refs.push(new WeakRef(entry));
      q.push(entry);
    };
    // A steady state of one in, one out, then a burst that is drained partly: neither may pin what left.
    (() => {
      for (let i = 0; i < 50; i += 1) {
        add(i, 1000);
        q.shiftWhile(() => true);
      }
      for (let i = 50; i < 100; i += 1) add(i, 1);
      q.shiftWhile((e) => e.id < 90);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const alive = refs.flatMap((r, id) => (r.deref() === undefined ? [] : [id]));
    expect(alive).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
    expect(q.length).toBe(10);
  });
});
