/**
 * How the bench starts the agent: as installed (`/usr/bin/scaph`, `npx scaph`), that is with the node
 * flags of bin.js's shebang, run by this same node binary.
 */
import { shebangNodeFlags } from '../../packaging/executable/node-flags.js';

export { shebangNodeFlags };

/** argv for spawn(process.execPath, …) that runs `script` the way its shebang would. */
export function agentArgv(script: string, args: readonly string[]): string[] {
  return [...shebangNodeFlags(script), script, ...args];
}
