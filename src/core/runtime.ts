import { isSea } from 'node:sea';
import { getHeapStatistics } from 'node:v8';

/** What runs the agent, for the start-up debug line (-vv): the same fields from a checkout and from the single executable. */
export interface RuntimeFacts {
  readonly node: string;
  /** The node/V8 flags in effect: bin.ts's shebang under node, the executable's built-in execArgv (NODE_OPTIONS is not listed, as with node). */
  readonly execArgv: readonly string[];
  /** The executable of `npm run package` (a Node.js single executable application). */
  readonly singleExecutable: boolean;
  /** V8's heap limit, which NODE_OPTIONS=--max-old-space-size=N sets (honoured by both). */
  readonly heapLimitMb: number;
}

export function runtimeFacts(): RuntimeFacts {
  return {
    node: process.version,
    execArgv: process.execArgv,
    singleExecutable: isSea(),
    heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1048576),
  };
}
