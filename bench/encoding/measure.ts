/** Encodes per second: as many encodes as fit in a time budget, after a warm-up (JIT, caches). */
import type { QueuedSample } from '../../src/delivery/transport.js';
import { elapsedNs, nowNs } from '../stats.js';
import type { Encoder } from './scaph-encoders.js';

export async function opsPerSecond(encoder: Encoder, entry: QueuedSample, budgetMs: number): Promise<number> {
  const budgetNs = budgetMs * 1e6;
  const start = nowNs();
  let ops = 0;
  let spent = 0;
  // At least 3 encodes even when one takes longer than the budget.
  while (ops < 3 || spent < budgetNs) {
    await encoder.encode(entry);
    ops++;
    spent = elapsedNs(start);
  }
  return (ops * 1e9) / spent;
}
