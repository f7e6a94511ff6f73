import { createRequire } from 'node:module';

type Undici = typeof import('undici');
const requireFromHere = createRequire(import.meta.url);

/**
 * undici, loaded when container metadata is first asked for: cli.ts imports the container modules
 * statically, and undici costs ~8 MB of RSS to load in an agent that never uses --containers.
 */
export function undici(): Undici {
  return requireFromHere('undici') as Undici;
}
