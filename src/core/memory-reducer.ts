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
import { Script } from 'node:vm';

/** Well within the ~100 s a C++-heap allocation keeps the rate above zero; the reducer samples every 8 s. */
export const NUDGE_INTERVAL_MS = 30_000;

/** Whether this V8 is one whose memory reducer needs the nudge (13.1 and later). */
export function needsMemoryReducerNudge(v8Version: string = process.versions.v8): boolean {
  const [major = 0, minor = 0] = v8Version.split('.').map(Number);
  return major > 13 || (major === 13 && minor >= 1);
}

/** Starts the nudge on the V8 versions that need it (an unref'd timer: it never keeps the program alive). Returns whether it did. */
export function keepMemoryReducerWorking(): boolean {
  if (!needsMemoryReducerNudge()) return false;
  const nudge = (): void => void new Script('');
  nudge();
  setInterval(nudge, NUDGE_INTERVAL_MS).unref();
  return true;
}
