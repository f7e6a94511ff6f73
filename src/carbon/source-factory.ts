/** The intensity source a carbon plan asks for (a provider's token read from its file here, at start). */
import type { Logger } from '../core/log.js';
import { periodMs } from '../core/test-period.js';
import { readSecretFile } from '../net/secret.js';
import { fixedIntensity, staticIntensity, type IntensitySource } from './intensity.js';
import { DEFAULT_CARBON_TIMEOUT_MS, ProviderIntensitySource } from './provider-source.js';
import type { CarbonPlan } from './settings.js';

export async function intensitySourceFor(plan: CarbonPlan, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<IntensitySource> {
  if (plan.kind === 'fixed') return fixedIntensity(plan.gPerKwh);
  if (plan.kind === 'static') return staticIntensity(plan.zone);
  const token = plan.tokenFile === null ? null : await readSecretFile('--carbon-token-file (token_file)', plan.tokenFile);
  return new ProviderIntensitySource({
    provider: plan.provider,
    baseUrl: plan.url,
    zone: plan.zone,
    token,
    fallback: plan.fallback,
    // Test hooks (not settings): a refresh and a deadline short enough for a test to see several.
    refreshMs: periodMs('SCAPH_TEST_CARBON_REFRESH_MS', plan.refreshMs, env),
    timeoutMs: periodMs('SCAPH_TEST_CARBON_TIMEOUT_MS', DEFAULT_CARBON_TIMEOUT_MS, env),
    logger,
  });
}
