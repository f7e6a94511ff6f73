/**
 * V8's memory reducer is the collection that, once a program has gone quiet after its start-up, compacts
 * the heap and hands its free pages back to the system (Node.js 20, bench: the agent's RSS ~83 -> ~75 MB
 * some 20 s into a run). From V8 13.1 (Node.js 24) it never starts in a program that allocates nothing on
 * V8's C++ heap (cppgc): the reducer starts only when every allocation rate it samples is low, and a
 * C++-heap rate that has only ever been zero counts as high (V8 issue 570738027, nodejs/node issue 66564).
 * The heap then keeps every page it ever grew to, and the executable (Node.js 24) ended up above node +
 * dist on Node.js 20.
 *
 * Node.js allocates on that heap for node:vm's scripts, so compiling an empty script now and then keeps
 * the rate positive and tiny (it decays with a 100 ms half-life, and underflows to zero again ~100 s after
 * the last allocation): the reducer then works as on Node.js 20. V8 12 and older need none of this.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Script } from 'node:vm';

/** Well within the ~100 s a C++-heap allocation keeps the rate above zero; the reducer samples every 8 s. */
export const NUDGE_INTERVAL_MS = 30_000;

/** Whether this V8 is one whose memory reducer needs the nudge (13.1 and later). */
export function needsMemoryReducerNudge(v8Version: string = process.versions.v8): boolean {
  const [major = 0, minor = 0] = v8Version.split('.').map(Number);
  return major > 13 || (major === 13 && minor >= 1);
}

/**
 * V8's collector when the runtime was started with --expose-gc (the single executable is: RUNTIME_V8_FLAGS in
 * packaging/executable/node-flags.ts), else undefined.
 */
export function exposedCollector(scope: object = globalThis): (() => void) | undefined {
  const gc = (scope as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => void (gc as () => unknown)() : undefined;
}

/**
 * Whether V8 ran a full collection of its own (not one that gc() forced) since the last call: read from
 * node's `gc` performance entries, so only when asked for (the executable). With thousands of processes V8
 * collects every few steps on its own, and a forced collection on top of it only cost memory (10,000
 * processes: peak RSS +5 MB).
 */
export function watchOwnFullCollections(): () => boolean {
  let seen = false;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { readonly detail?: { readonly kind?: number; readonly flags?: number } | null }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && ((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0) seen = true;
    }
  }).observe({ entryTypes: ['gc'] });
  return () => {
    const was = seen;
    seen = false;
    return was;
  };
}

export interface NudgeOptions {
  /** A full collection (default: V8's, where the runtime exposes it). */
  readonly collect?: (() => void) | undefined;
  /** Whether V8 collected on its own since the last tick (default: watchOwnFullCollections, when there is a collector). */
  readonly collectedByV8?: () => boolean;
  readonly v8Version?: string;
}

/**
 * Starts the nudge on the V8 versions that need it (an unref'd timer: it never keeps the program alive). Returns
 * whether it did. Where V8's collector is exposed, a tick also runs a full collection, unless V8 ran one of its
 * own since the previous tick.
 *
 * Why the collection: once the reducer has compacted the heap after start-up it is done, and from V8 13 it
 * starts again only on a context disposal or a full collection that finds the heap grown by 10 % and 10 MB
 * (memory-reducer.cc), while the next full collection comes when the old generation plus the external
 * memory allocated since the last one reach the limit, some 11 MB above the live heap (8 MB growing step plus
 * the young generation). The agent's heap hardly grows between steps, but the buffers of a step that lived
 * across a scavenge are promoted, and their malloc'd backing stores are freed only by a full collection:
 * on Node.js 24 the process's malloc heap grew 7.6 -> 11.9 MB in 95 s (bench config, 500 processes) with
 * no full collection in between, and stayed flat with one every 15 or 30 s. A full collection of the
 * agent's ~14 MB heap takes 15-30 ms.
 */
export function keepMemoryReducerWorking(options: NudgeOptions = {}): boolean {
  if (!needsMemoryReducerNudge(options.v8Version ?? process.versions.v8)) return false;
  const collect = 'collect' in options ? options.collect : exposedCollector();
  const collectedByV8 = collect === undefined ? undefined : (options.collectedByV8 ?? watchOwnFullCollections());
  void new Script('');
  setInterval(() => {
    void new Script('');
    if (collect !== undefined && collectedByV8?.() !== true) collect();
  }, NUDGE_INTERVAL_MS).unref();
  return true;
}
