import { describe, expect, it } from 'vitest';
import { closest, didYouMean } from '../../../src/config/did-you-mean.js';
import { SENSOR_KEYS } from '../../../src/config/run-config.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';

const TYPES = EXPORTER_COMMANDS.map((c) => c.name);
const PROMETHEUS_KEYS = ['address', 'port', 'suffix', 'step', 'max_cmdline_length', 'qemu', 'containers', 'health_max_age'];

describe('did you mean', () => {
  it('names the key or type meant by a slip: a letter missing, added, replaced or two swapped, _ for -, a capital', () => {
    expect(closest('adress', PROMETHEUS_KEYS)).toBe('address');
    expect(closest('addres', PROMETHEUS_KEYS)).toBe('address');
    expect(closest('prot', PROMETHEUS_KEYS)).toBe('port');
    expect(closest('sufix', PROMETHEUS_KEYS)).toBe('suffix');
    expect(closest('remote_write', TYPES)).toBe('remote-write');
    expect(closest('Prometheus', TYPES)).toBe('prometheus');
    expect(closest('prometheus_push', TYPES)).toBe('prometheus-push');
    expect(closest('procfs-path', SENSOR_KEYS)).toBe('procfs_path');
    // Two edits for a long name, one for a short one.
    expect(closest('max_cmdlin_lenght', PROMETHEUS_KEYS)).toBe('max_cmdline_length');
    expect(closest('stpe', PROMETHEUS_KEYS)).toBe('step');
  });

  it('says nothing when no name is close: a guess would mislead', () => {
    expect(closest('colour', PROMETHEUS_KEYS)).toBeNull();
    expect(closest('influx', TYPES)).toBeNull();
    // Words under 4 characters get no fuzzy match (`x` is one edit from many names).
    expect(closest('pot', PROMETHEUS_KEYS)).toBeNull();
    expect(closest('stp', PROMETHEUS_KEYS)).toBeNull();
    expect(closest('prt', PROMETHEUS_KEYS)).toBeNull();
    expect(didYouMean('bogus', SENSOR_KEYS)).toBe('');
  });

  it('reads as the part of a message it is', () => {
    expect(didYouMean('adress', PROMETHEUS_KEYS)).toBe(' (did you mean address?)');
  });
});
