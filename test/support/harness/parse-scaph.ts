import type { OptionValues } from 'commander';
import { buildProgram, type GlobalOptions } from '../../../src/cli.js';

export interface ParsedScaph {
  readonly exporter: string;
  readonly opts: OptionValues;
  readonly globals: GlobalOptions;
}

/** What scaph's own parser makes of an argv (as bin.js would get it), without running anything. */
export async function parseScaph(argv: readonly string[]): Promise<ParsedScaph> {
  let parsed: ParsedScaph | null = null;
  const program = buildProgram(
    async (spec, opts, globals) => {
      parsed = { exporter: spec.name, opts, globals };
    },
    async (opts, globals) => {
      parsed = { exporter: 'run', opts, globals };
    },
  );
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined, outputError: () => undefined });
  await program.parseAsync([...argv], { from: 'user' });
  if (parsed === null) throw new Error(`scaph ran nothing for ${argv.join(' ')}`);
  return parsed;
}
