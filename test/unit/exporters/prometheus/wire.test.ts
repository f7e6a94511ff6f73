import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../../../../src/exporters/prometheus/wire.js';

describe('prometheus-text content types', () => {
  // Written as literals so prom-client loads only when something is rendered: they must stay prom-client's.
  it("are prom-client's own", () => {
    expect(TEXT_CONTENT_TYPE).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(OPENMETRICS_CONTENT_TYPE).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
  });
});
