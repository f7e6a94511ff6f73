import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonical, exporterIdentity, spoolKey } from '../../../src/agent/exporter-identity.js';
import { UserPatterns } from '../../../src/core/user-pattern.js';
import { diffExporters, diffSensor, type PlanEntry, type SensorPlan } from '../../../src/agent/plan-diff.js';
import { validateRunConfig, type ExporterConfig } from '../../../src/config/run-config.js';
import { parseConfigText } from '../../../src/config/source.js';
import { jsonCommand } from '../../../src/exporters/json/command.js';
import { fakePushCommand } from '../../support/fakes/fake-push-command.js';
import { DEFAULT_SENSOR } from '../../support/fixtures/run-globals.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-plan-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const commands = [jsonCommand, fakePushCommand('remote-write'), fakePushCommand('riemann')];

/** The [[exporter]] tables of a TOML text, as a run config loads them (relative paths against `dir`). */
function exporters(toml: string): ExporterConfig[] {
  const file = join(dir, 'scaph.toml');
  return [...validateRunConfig(file, parseConfigText(file, toml), { commands }).exporters];
}

function entries(toml: string): PlanEntry[] {
  return exporters(toml).map((config) => ({ config, identity: exporterIdentity(config), spoolKey: spoolKey(config) }));
}

/** `type[index]` of each side of a diff, for readable expectations. */
function named(running: string, next: string): Record<string, string[]> {
  const d = diffExporters(entries(running), entries(next));
  const label = (e: PlanEntry): string => `${e.config.type}[${e.config.index}]`;
  return {
    kept: d.kept.map((p) => `${label(p.from)}->${label(p.to)}`),
    rebuilt: d.rebuilt.map((p) => `${label(p.from)}->${label(p.to)}`),
    added: d.added.map(label),
    removed: d.removed.map(label),
  };
}

const RW = (extra = ''): string => `[[exporter]]\ntype = "remote-write"\nurl = "http://a/api/v1/write"\n${extra}\n`;
const RIEMANN = (extra = ''): string => `[[exporter]]\ntype = "riemann"\nurl = "riemann"\n${extra}\n`;
const JSON_OUT = `[[exporter]]\ntype = "json"\nfile = "out.json"\n`;

describe('exporter identity', () => {
  it('is the same for the same table, whatever the order of its keys, the way a key is spelled or a default written out', () => {
    const [a, b, c] = exporters(
      `[[exporter]]\ntype = "remote-write"\nurl = "http://a/api/v1/write"\nlabel = { dc = "par1", rack = "r1" }\n` +
        `[[exporter]]\nlabel = { rack = "r1", dc = "par1" }\nurl = "http://a/api/v1/write"\ntype = "remote-write"\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "http://a/api/v1/write"\nlabel = { dc = "par1", rack = "r1" }\nmode = "ok"\n`,
    );
    expect(exporterIdentity(a as ExporterConfig)).toBe(exporterIdentity(b as ExporterConfig));
    expect(exporterIdentity(a as ExporterConfig)).toBe(exporterIdentity(c as ExporterConfig));
    expect(exporterIdentity(a as ExporterConfig)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with a label, the step, the spool and its caps, the type', () => {
    const base = exporterIdentity(exporters(RW('label = { dc = "par1" }'))[0] as ExporterConfig);
    for (const other of [
      RW('label = { dc = "par2" }'),
      RW('label = { dc = "par1" }\nstep = 3'),
      RW('label = { dc = "par1" }\nspool_dir = "spool"'),
      RIEMANN('label = { dc = "par1" }').replace('url = "riemann"', 'url = "http://a/api/v1/write"'),
    ]) {
      expect(exporterIdentity(exporters(other)[0] as ExporterConfig)).not.toBe(base);
    }
    const spooled = exporterIdentity(exporters(RW('spool_dir = "spool"'))[0] as ExporterConfig);
    expect(exporterIdentity(exporters(RW('spool_dir = "spool"\nspool_max_bytes = "1MiB"'))[0] as ExporterConfig)).not.toBe(spooled);
    expect(exporterIdentity(exporters(RW('spool_dir = "spool"\nspool_max_age = "2h"'))[0] as ExporterConfig)).not.toBe(spooled);
  });

  it('follows the content of the files the options name: a rotated token is a change, the same token is not', () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'first\n');
    const table = RW(`write_token_file = "${token}"`);
    const before = exporterIdentity(exporters(table)[0] as ExporterConfig);
    expect(exporterIdentity(exporters(table)[0] as ExporterConfig)).toBe(before);
    writeFileSync(token, 'second\n');
    expect(exporterIdentity(exporters(table)[0] as ExporterConfig)).not.toBe(before);
  });

  it('resolves the spool directory: the same one through a symlink is the same exporter', () => {
    mkdirSync(join(dir, 'real-spool'), { recursive: true });
    symlinkSync(join(dir, 'real-spool'), join(dir, 'alias-spool'));
    const real = exporters(RW('spool_dir = "real-spool"'))[0] as ExporterConfig;
    const alias = exporters(RW('spool_dir = "alias-spool"'))[0] as ExporterConfig;
    expect(exporterIdentity(alias)).toBe(exporterIdentity(real));
    expect(spoolKey(alias)).toBe(join(dir, 'real-spool'));
  });

  it('never holds a secret in clear', () => {
    const e = exporters(RW('password = "hunter2"'))[0] as ExporterConfig;
    expect(exporterIdentity(e)).not.toContain('hunter2');
  });

  it('compares regexes by source and flags, and refuses a value it cannot compare', () => {
    expect(canonical({ b: /x+/i, a: [1, undefined] })).toEqual({ a: [1, null], b: { regex: 'x+', flags: 'i' } });
    expect(JSON.stringify(canonical({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
    expect(() => canonical({ when: new Date(0) })).toThrow(/cannot compare an exporter option of type \[object Date\]/);
  });

  it('compares user patterns by their sources and scope: the same list is the same option, another is a change', () => {
    const use = { flag: '--process-regex' };
    const a = UserPatterns.compile(use, ['^nginx', 'sshd'], 'anywhere');
    expect(canonical({ processRegex: a })).toEqual({ processRegex: { patterns: ['^nginx', 'sshd'], scope: 'anywhere' } });
    expect(JSON.stringify(canonical(a))).toBe(JSON.stringify(canonical(UserPatterns.compile(use, ['^nginx', 'sshd'], 'anywhere'))));
    expect(JSON.stringify(canonical(a))).not.toBe(JSON.stringify(canonical(UserPatterns.compile(use, ['^nginx'], 'anywhere'))));
    expect(JSON.stringify(canonical(a))).not.toBe(JSON.stringify(canonical(UserPatterns.compile(use, ['^nginx', 'sshd'], 'whole'))));
  });
});

describe('diffExporters', () => {
  it('an unchanged file: every exporter kept', () => {
    expect(named(RW() + JSON_OUT, RW() + JSON_OUT)).toEqual({ kept: ['remote-write[0]->remote-write[0]', 'json[1]->json[1]'], rebuilt: [], added: [], removed: [] });
  });

  it('an exporter that moved in the file is still kept', () => {
    expect(named(RW() + JSON_OUT, JSON_OUT + RW())).toEqual({ kept: ['json[1]->json[0]', 'remote-write[0]->remote-write[1]'], rebuilt: [], added: [], removed: [] });
  });

  it('a changed label rebuilds that exporter only', () => {
    expect(named(RW('label = { dc = "a" }') + JSON_OUT, RW('label = { dc = "b" }') + JSON_OUT)).toEqual({
      kept: ['json[1]->json[1]'],
      rebuilt: ['remote-write[0]->remote-write[0]'],
      added: [],
      removed: [],
    });
  });

  it('pairs by spool directory first, even across types and positions: the new exporter replays that spool', () => {
    const running = RW('spool_dir = "s1"') + RW('label = { x = "1" }\nspool_dir = "s2"');
    const next = RIEMANN('spool_dir = "s2"') + RW('label = { x = "2" }\nspool_dir = "s1"');
    expect(named(running, next)).toEqual({
      kept: [],
      rebuilt: ['remote-write[1]->riemann[0]', 'remote-write[0]->remote-write[1]'],
      added: [],
      removed: [],
    });
    // Two of one type that swap spools: each follows its spool, not its place.
    expect(named(running, RW('label = { x = "3" }\nspool_dir = "s2"') + RW('label = { x = "4" }\nspool_dir = "s1"')).rebuilt).toEqual([
      'remote-write[1]->remote-write[0]',
      'remote-write[0]->remote-write[1]',
    ]);
  });

  it('then by type, in file order; what is left is added or removed', () => {
    const running = RW('label = { n = "1" }') + RW('label = { n = "2" }') + RIEMANN();
    const next = RW('label = { n = "3" }') + JSON_OUT;
    expect(named(running, next)).toEqual({ kept: [], rebuilt: ['remote-write[0]->remote-write[0]'], added: ['json[1]'], removed: ['remote-write[1]', 'riemann[2]'] });
  });

  it('two identical tables are two exporters: each running one is kept once', () => {
    expect(named(RW() + RW(), RW() + RW() + RW())).toEqual({
      kept: ['remote-write[0]->remote-write[0]', 'remote-write[1]->remote-write[1]'],
      rebuilt: [],
      added: ['remote-write[2]'],
      removed: [],
    });
  });

  it('a spool that moves to another directory is a rebuild by type (the old spool keeps its unsent records)', () => {
    expect(named(RW('spool_dir = "old"'), RW('spool_dir = "new"'))).toEqual({ kept: [], rebuilt: ['remote-write[0]->remote-write[0]'], added: [], removed: [] });
  });
});

describe('diffSensor', () => {
  const plan = (over: Partial<SensorPlan> = {}, settings: Partial<SensorPlan['settings']> = {}): SensorPlan => ({
    settings: { ...DEFAULT_SENSOR, ...settings },
    stepMs: 2000,
    qemu: false,
    containers: false,
    ...over,
  });

  it('the same sensor: nothing to do', () => {
    expect(diffSensor(plan(), plan())).toEqual({ stepMs: null, restartNeeded: [] });
  });

  it('a new step applies; nothing else is needed', () => {
    expect(diffSensor(plan(), plan({ stepMs: 500 }))).toEqual({ stepMs: 500, restartNeeded: [] });
  });

  it('a new kind, tree or attribution model needs a restart, each named with both values', () => {
    const d = diffSensor(plan(), plan({ stepMs: 1000 }, { kind: 'estimate', procfsPath: '/host/proc', attribution: 'active', estimateIdleWattsPerCpu: 1 }));
    expect(d.stepMs).toBe(1000);
    expect(d.restartNeeded).toEqual([
      '[sensor] kind "auto" -> "estimate"',
      '[sensor] procfs_path "/proc" -> "/host/proc"',
      '[sensor] attribution "host" -> "active"',
      '[sensor] estimate_idle_watts_per_cpu (default) -> 1',
    ]);
  });

  it('platform meter settings: equal lists are the same sensor; a changed channel list, BMC or interval needs a restart', () => {
    const hwmon = { kind: 'hwmon' as const, hwmonChannels: ['grace/power1', 'hwmon3/energy1'] };
    expect(diffSensor(plan({}, hwmon), plan({}, { ...hwmon, hwmonChannels: ['grace/power1', 'hwmon3/energy1'] })).restartNeeded).toEqual([]);
    expect(diffSensor(plan({}, hwmon), plan({}, { ...hwmon, hwmonChannels: ['grace/power1'] })).restartNeeded).toEqual([
      '[sensor] hwmon_channel ["grace/power1","hwmon3/energy1"] -> ["grace/power1"]',
    ]);
    expect(diffSensor(plan({}, { kind: 'redfish', redfishUrl: 'https://a' }), plan({}, { kind: 'redfish', redfishUrl: 'https://b', redfishIntervalMs: 30_000 })).restartNeeded).toEqual([
      '[sensor] redfish_url "https://a" -> "https://b"',
      '[sensor] redfish_interval (ms) 10000 -> 30000',
    ]);
  });

  it('an exporter newly asking for VM names or containers needs a restart; one no longer asking does not', () => {
    expect(diffSensor(plan(), plan({ qemu: true, containers: true })).restartNeeded).toEqual([
      'an exporter now has qemu (the sensor names VMs only when built for it)',
      'an exporter now has containers (the sensor resolves containers only when built for it)',
    ]);
    expect(diffSensor(plan({ qemu: true, containers: true }), plan()).restartNeeded).toEqual([]);
  });
});
