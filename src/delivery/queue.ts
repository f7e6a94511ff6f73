/** Something that knows its own (approximate) size in memory. */
export interface Sized {
  readonly bytes: number;
}

export interface QueueLimits {
  /** Most entries kept; >= 1. A capacity of 1 makes the queue "latest wins" (Pushgateway). */
  readonly maxSamples: number;
  /** Most bytes kept (sum of entry sizes); the newest entry is always kept even when alone it is larger. */
  readonly maxBytes: number;
}

/**
 * A FIFO with a hard cap in entries and bytes. When a push would exceed either cap, the OLDEST entries
 * are evicted and handed back to the caller (who counts them): fresh data is worth more than stale data.
 */
export class BoundedQueue<T extends Sized> {
  /** Slots before `head` are already removed and hold undefined (never a reference to a sent entry). */
  private items: (T | undefined)[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(readonly limits: QueueLimits) {
    if (!(limits.maxSamples >= 1)) throw new RangeError('queue maxSamples must be >= 1');
    if (!(limits.maxBytes > 0)) throw new RangeError('queue maxBytes must be > 0');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Appends an entry; returns the entries evicted to make room (oldest first), usually none. */
  push(item: T): readonly T[] {
    this.items.push(item);
    this.totalBytes += item.bytes;
    let evicted: T[] | null = null;
    while (this.length > 1 && (this.length > this.limits.maxSamples || this.totalBytes > this.limits.maxBytes)) {
      (evicted ??= []).push(this.shiftOne());
    }
    return evicted ?? NONE;
  }

  /** The oldest entry, or undefined. */
  first(): T | undefined {
    return this.items[this.head];
  }

  /** Up to `count` oldest entries, oldest first, without removing them. */
  peek(count: number): T[] {
    return this.items.slice(this.head, this.head + Math.max(0, count)) as T[];
  }

  /** Removes the oldest entries while `predicate` holds; returns them. */
  shiftWhile(predicate: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let item = this.first(); item !== undefined && predicate(item); item = this.first()) out.push(this.shiftOne());
    return out;
  }

  /** Removes and returns everything. */
  drain(): T[] {
    return this.shiftWhile(() => true);
  }

  private shiftOne(): T {
    const item = this.items[this.head] as T;
    // Drop the reference now: a sent sample must not stay reachable until the next compaction (it
    // would be memory the byte cap never counts).
    this.items[this.head] = undefined;
    this.head += 1;
    this.totalBytes -= item.bytes;
    if (this.head === this.items.length) {
      // Empty: the usual steady state (one sample in, one out). Start over without copying.
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Compact now and then instead of Array.shift() on every removal (O(n) each).
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

const NONE: readonly never[] = Object.freeze([]);
