/**
 * The attributes of the one Resource every request carries: scaph's own (service.name `scaph`,
 * service.version, service.instance.id and host.name = the host name scaph gives every exporter, host.id =
 * the machine id when readable), under $OTEL_RESOURCE_ATTRIBUTES, under $OTEL_SERVICE_NAME (which wins over
 * a service.name of OTEL_RESOURCE_ATTRIBUTES: specification/configuration/sdk-environment-variables.md),
 * under --resource-attribute. Receivers that translate to Prometheus make `job` of service.name and
 * `instance` of service.instance.id, as remote-write's job and instance labels.
 */
import { UsageError } from '../../core/errors.js';
import type { OtlpAttribute } from '../../core/otlp-names.js';
import { quoted } from '../../core/quoted.js';
import { parseKeyValueList, type Environment } from './environment.js';

export const RESOURCE_ATTRIBUTES_ENV = 'OTEL_RESOURCE_ATTRIBUTES';
export const SERVICE_NAME_ENV = 'OTEL_SERVICE_NAME';

export interface ResourceFacts {
  readonly hostname: string;
  readonly version: string;
  /** /etc/machine-id (machine-id.ts), or null when there is none to trust. */
  readonly machineId: string | null;
}

export function resourceAttributes(flags: Readonly<Record<string, string>>, facts: ResourceFacts, env: Environment = process.env): OtlpAttribute[] {
  const attributes = new Map<string, string>([
    ['service.name', 'scaph'],
    ['service.version', facts.version],
    ['service.instance.id', facts.hostname],
    ['host.name', facts.hostname],
  ]);
  if (facts.machineId !== null) attributes.set('host.id', facts.machineId);
  const fromEnv = env[RESOURCE_ATTRIBUTES_ENV]?.trim();
  if (fromEnv) for (const [k, v] of Object.entries(parseKeyValueList(fromEnv, `$${RESOURCE_ATTRIBUTES_ENV}`))) attributes.set(k, v);
  const service = env[SERVICE_NAME_ENV]?.trim();
  if (service) attributes.set('service.name', service);
  for (const [k, v] of Object.entries(flags)) attributes.set(k, v);
  return [...attributes];
}

/** $OTEL_RESOURCE_ATTRIBUTES parses (checked with the flags, so `scaph run --check` says it too). */
export function checkResourceEnvironment(env: Environment = process.env): void {
  const fromEnv = env[RESOURCE_ATTRIBUTES_ENV]?.trim();
  if (fromEnv) parseKeyValueList(fromEnv, `$${RESOURCE_ATTRIBUTES_ENV}`);
}

/** --resource-attribute key=value (repeatable): a key given twice is refused (one value would be lost). */
export function resourceAttribute(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  const key = eq < 0 ? '' : value.slice(0, eq);
  if (key.trim() === '' || key !== key.trim()) throw new UsageError(`--resource-attribute takes key=value, e.g. deployment.environment.name=prod, got ${quoted(value)}`);
  const earlier = previous?.[key];
  if (earlier !== undefined) throw new UsageError(`--resource-attribute ${key}=${earlier} and ${key}=${value.slice(eq + 1)} name the same attribute: keep one`);
  return { ...(previous ?? {}), [key]: value.slice(eq + 1) };
}
