import type { RunConfig } from '../config/run-config.js';

/**
 * What the agent runs: the [sensor] step and settings, the [carbon] settings (null: the flags'), and the exporters (a lone subcommand is a
 * one-entry plan). Built at start (assemble.ts) and again by each reload (reload.ts).
 */
export type AgentPlan = Pick<RunConfig, 'sensor' | 'exporters'> & { readonly carbon: RunConfig['carbon'] };
