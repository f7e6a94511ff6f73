/**
 * The content of a labels object as one string: what the encoders and the staleness tracker intern series
 * by, so that labels objects with equal content (a new host-labels object every sample, a backlog of
 * several samples) are one series. Built once per frozen labels object (the metrics view hands out the same
 * frozen object for a process every step) and shared by whoever asks: one string per process, not one per
 * cache (bench, scale section: at 10,000 processes each cache kept its own copies, per series).
 */
import type { MetricLabels } from './metric-families.js';

const keys = new WeakMap<MetricLabels, string>();

/** Names and values in insertion order; a frozen object's key is kept while the object lives. */
export function labelsKey(labels: MetricLabels): string {
  let key = keys.get(labels);
  if (key === undefined) {
    const parts: string[] = [];
    for (const k in labels) parts.push(`${k}\u0001${labels[k] as string}`);
    // One flat string (join), not a chain of concatenations kept alive as a key.
    key = parts.join('\u0000');
    // A mutable object could change under its key: only frozen ones are remembered.
    if (Object.isFrozen(labels)) keys.set(labels, key);
  }
  return key;
}
