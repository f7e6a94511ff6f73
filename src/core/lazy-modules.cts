/**
 * Libraries loaded at their first use rather than at start-up: each costs megabytes of resident memory
 * that an agent which never needs it should not pay. undici (~8 MB): container metadata only (cli.ts
 * imports the container modules statically). yaml (~5 MB): YAML config files only, most are TOML.
 * prom-client (~4 MB): the first /metrics render or Pushgateway push (every command module imports the
 * renderer). @grpc/grpc-js: `scaph otlp --protocol grpc` only.
 *
 * This module is CommonJS on purpose: its plain `require()` calls load each library at the first call
 * under node, and esbuild (`npm run package`) follows the same calls into the single executable, where
 * each library's code still runs at its first call only. ES modules have no synchronous `require`, and
 * the one `createRequire` gives is opaque to a bundler.
 */
type Undici = typeof import('undici');
type Yaml = typeof import('yaml');
type PromClient = typeof import('prom-client');
type GrpcJs = typeof import('@grpc/grpc-js');

let undiciModule: Undici | undefined;
let yamlModule: Yaml | undefined;
let promClientModule: PromClient | undefined;
let grpcJsModule: GrpcJs | undefined;

export function undici(): Undici {
  return (undiciModule ??= require('undici') as Undici);
}

export function yaml(): Yaml {
  return (yamlModule ??= require('yaml') as Yaml);
}

export function promClient(): PromClient {
  return (promClientModule ??= require('prom-client') as PromClient);
}

export function grpcJs(): GrpcJs {
  return (grpcJsModule ??= require('@grpc/grpc-js') as GrpcJs);
}
