import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonCommand } from '../../../src/exporters/json/command.js';
import { stdoutCommand } from '../../../src/exporters/stdout/command.js';
import { ConfigError, loadRunConfig, SPOOL_DEFAULTS, type LoadOptions } from '../../../src/config/run-config.js';
import { UsageError } from '../../../src/core/errors.js';
import { fakePushCommand } from '../../support/fakes/fake-push-command.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-config-'));
const commands = [stdoutCommand, jsonCommand, fakePushCommand('remote-write'), fakePushCommand('riemann')];

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(path: string, o: LoadOptions = {}): string[] {
  try {
    loadRunConfig(path, { commands, env: {}, ...o });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as ConfigError).message.split('\n').slice(0, -1);
  }
  throw new Error('expected a ConfigError');
}

const tokenFile = write('token', 'sekret-token\n');

describe('run config', () => {
  it('reads the TOML shape of the issue into sensor and exporter settings', () => {
    const path = write(
      'ok.toml',
      `[sensor]
kind = "estimate"
powercap_path = "/sys/class/powercap"
procfs_path = "/proc"
attribution = "active"
reaped_children = false
cgroupfs_path = "/host/sys/fs/cgroup"
step = 2

[[exporter]]
type = "remote-write"
url = "https://prom.example/api/v1/write"
step = 4
spool_dir = "/var/lib/scaph/spool/rw"
spool_max_bytes = "64MiB"
spool_max_age = "6h"
write_token_file = "${tokenFile}"
label = { dc = "par1", rack = "r7" }
gzip = true
self_metrics = false

[[exporter]]
type = "riemann"
url = "tcp://riemann.example:5555"
`,
    );
    const c = loadRunConfig(path, { commands, env: {}, checkFiles: true });
    expect(c.sensor).toEqual({
      kind: 'estimate',
      powercapPath: '/sys/class/powercap',
      procfsPath: '/proc',
      cgroupfsPath: '/host/sys/fs/cgroup',
      attribution: 'active',
      reapedChildren: false,
      vm: undefined,
      stepMs: 2000,
      stepFrom: '[sensor] step',
      estimateIdleWattsPerCpu: undefined,
      estimateMaxWattsPerCpu: undefined,
    });
    const [rw, riemann] = c.exporters;
    expect(rw?.type).toBe('remote-write');
    expect(rw?.stepMs).toBe(4000);
    // The subcommand's own --step gets the exporter step; everything else as `scaph remote-write` would parse it.
    expect(rw?.opts).toMatchObject({ url: 'https://prom.example/api/v1/write', step: 4, writeTokenFile: tokenFile, label: { dc: 'par1', rack: 'r7' }, gzip: true, selfMetrics: false, mode: 'ok' });
    expect(rw?.spool).toEqual({ dir: '/var/lib/scaph/spool/rw', maxBytes: 64 * 1024 * 1024, maxAgeMs: 6 * 3_600_000 });
    // No step of its own: the subcommand's default (the fake's --step defaults to 2 s), said as such.
    expect(rw?.stepFrom).toBe('step');
    expect(riemann?.stepMs).toBe(2000);
    expect(riemann?.opts['step']).toBe(2);
    expect(riemann?.stepFrom).toBe('default');
    expect(riemann?.spool).toBeNull();
  });

  it('reports every problem of a TOML file, each with its line and key', () => {
    const path = write(
      'bad.toml',
      `[sensor]
kind = "magic"
step = -1
bogus = 1
attribution = "idle"

[[exporter]]
type = "remote-write"
urll = "https://x"
mode = "sideways"
gzip = "yes"

[[exporter]]
type = "json"
max_top_consumers = 0
spool_dir = "/tmp/s"
timeout = 5

[[exporter]]
type = "influx"
`,
    );
    const lines = problems(path);
    expect(lines).toEqual([
      `${path}:4: sensor.bogus: unknown key; valid keys: kind, powercap_path, procfs_path, cgroupfs_path, attribution, reaped_children, vm, step, estimate_idle_watts_per_cpu, estimate_max_watts_per_cpu, hwmon_path, hwmon_channel, redfish_url, redfish_user, redfish_password_file, redfish_ca, redfish_insecure, redfish_chassis, redfish_interval`,
      `${path}:2: sensor.kind: must be one of powercap_rapl, estimate, auto, hwmon, redfish, got "magic"`,
      `${path}:5: sensor.attribution: must be one of host, active, got "idle"`,
      expect.stringMatching(new RegExp(`^${path}:3: sensor.step: must be a positive number of seconds`)),
      `${path}:9: exporter[0].urll: (remote-write) unknown key for a remote-write exporter (did you mean url?); valid keys: ca, gzip, label, mode, password, self_metrics, splay, step, url, write_token_file`,
      `${path}:10: exporter[0].mode: (remote-write) must be one of ok, hang, got "sideways"`,
      `${path}:11: exporter[0].gzip: (remote-write) must be true or false, got "yes"`,
      `${path}:7: exporter[0]: (remote-write) missing required key url`,
      `${path}:15: exporter[1].max_top_consumers: (json) -m/--max-top-consumers must be a positive whole number, got "0"`,
      expect.stringMatching(new RegExp(`^${path}:17: exporter\\[1\\].timeout: \\(json\\) scaph run runs until stopped`)),
      `${path}:16: exporter[1].spool_dir: a json exporter does not push: only remote-write, riemann take a spool`,
      `${path}:20: exporter[2].type: unknown exporter type "influx"; known types: stdout, json, remote-write, riemann`,
    ]);
  });

  it('reads the platform meter keys of [sensor]: hwmon channels (one or a list), the BMC and its files, durations', () => {
    const password = write('bmc-password', 'calvin\n');
    const one = write('hwmon.toml', `[sensor]\nkind = "hwmon"\nhwmon_path = "host/sys/class/hwmon"\nhwmon_channel = "grace/power1"\n[[exporter]]\ntype = "stdout"\n`);
    expect(loadRunConfig(one, { commands, env: {} }).sensor).toMatchObject({ kind: 'hwmon', hwmonPath: join(dir, 'host/sys/class/hwmon'), hwmonChannels: ['grace/power1'] });
    const list = write('hwmon-list.toml', `[sensor]\nkind = "hwmon"\nhwmon_channel = ["hwmon2/power1", "hwmon3/energy1"]\n[[exporter]]\ntype = "stdout"\n`);
    expect(loadRunConfig(list, { commands, env: {} }).sensor.hwmonChannels).toEqual(['hwmon2/power1', 'hwmon3/energy1']);
    const bmc = write(
      'redfish.toml',
      `[sensor]\nkind = "redfish"\nredfish_url = "https://10.0.0.5"\nredfish_user = "monitor"\nredfish_password_file = "\${CREDENTIALS_DIRECTORY}/bmc-password"\n` +
        `redfish_insecure = true\nredfish_chassis = "System.Embedded.1"\nredfish_interval = "30s"\n[[exporter]]\ntype = "stdout"\n`,
    );
    const c = loadRunConfig(bmc, { commands, env: { CREDENTIALS_DIRECTORY: dir }, checkFiles: true });
    expect(c.sensor).toMatchObject({
      kind: 'redfish',
      redfishUrl: 'https://10.0.0.5',
      redfishUser: 'monitor',
      redfishPasswordFile: password,
      redfishInsecure: true,
      redfishChassis: 'System.Embedded.1',
      redfishIntervalMs: 30_000,
    });
    expect(c.paths).toContainEqual({ where: 'sensor.redfish_password_file', path: password });
  });

  it('reports bad platform meter keys with their lines', () => {
    const path = write(
      'bad-platform.toml',
      `[sensor]\nkind = "ipmi"\nhwmon_channel = ["grace", 3]\nredfish_url = "bmc.example"\nredfish_interval = "200ms"\nredfish_password_file = "/nonexistent/bmc"\nredfish_insecure = "yes"\n[[exporter]]\ntype = "stdout"\n`,
    );
    expect(problems(path, { checkFiles: true })).toEqual([
      `${path}:2: sensor.kind: must be one of powercap_rapl, estimate, auto, hwmon, redfish, got "ipmi"`,
      `${path}:3: sensor.hwmon_channel: must be a string or a list of strings, got a list`,
      `${path}:4: sensor.redfish_url: not a URL: "bmc.example"; give the BMC's address as https://<bmc>`,
      `${path}:6: sensor.redfish_password_file: file "/nonexistent/bmc" does not exist`,
      `${path}:7: sensor.redfish_insecure: must be true or false, got "yes"`,
      `${path}:5: sensor.redfish_interval: must be at least 1 s: BMCs refresh their readings every few seconds at best`,
    ]);
    const selector = write('bad-selector.toml', `[sensor]\nhwmon_channel = "grace"\n[[exporter]]\ntype = "stdout"\n`);
    expect(problems(selector)).toEqual([
      `${selector}:2: sensor.hwmon_channel: must be <device>/<channel> (device: its name or hwmonN; channel: powerN, energyN, powerN_input, ...), e.g. power_meter/power1 or hwmon3/energy1, got "grace"`,
    ]);
  });

  it('reports TOML syntax errors with the line smol-toml gives', () => {
    const path = write('syntax.toml', '[sensor]\nstep = 2\n[[exporter]]\ntype = "json\n');
    const lines = problems(path);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${path}:4: TOML syntax: `));
  });

  it('reads YAML (by extension and by content) with key lines from the yaml parser', () => {
    const yaml = `sensor:
  kind: auto
  step: 1
exporter:
  - type: remote-write
    url: http://127.0.0.1:9/api/v1/write
    spool_dir: /tmp/spool
  - type: stdout
    process_number: many
    color: true
`;
    for (const name of ['bad.yaml', 'bad.conf']) {
      const path = write(name, yaml);
      expect(problems(path)).toEqual([
        `${path}:9: exporter[1].process_number: (stdout) -p/--process-number must be a positive whole number, got "many"`,
        expect.stringMatching(new RegExp(`^${path}:10: exporter\\[1\\].color: \\(stdout\\) unknown key for a stdout exporter; valid keys: container_regex, containers, `)),
      ]);
    }
    const good = write('good.yml', yaml.split('\n').slice(0, 7).join('\n'));
    const c = loadRunConfig(good, { commands, env: {} });
    expect(c.sensor.stepMs).toBe(1000);
    expect(c.exporters[0]?.spool).toEqual({ dir: '/tmp/spool', ...SPOOL_DEFAULTS });
    const syntax = write('syntax.yaml', 'sensor:\n  step: [1,\nexporter: []\n');
    expect(problems(syntax)[0]).toMatch(new RegExp(`^${syntax}:\\d+: YAML syntax: `));
  });

  it('expands ${ENV} references and names a missing variable with its key and line', () => {
    const path = write('env.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://\${PROM_HOST}/api/v1/write"\npassword = "\${PROM_PASSWORD}"\nwrite_token_file = "$\${CREDENTIALS}/x"\n`);
    expect(problems(path, { env: { PROM_HOST: 'prom.example' } })).toEqual([
      `${path}:4: exporter[0].password: environment variable PROM_PASSWORD is not set (referenced as \${PROM_PASSWORD})`,
    ]);
    const c = loadRunConfig(path, { commands, env: { PROM_HOST: 'prom.example', PROM_PASSWORD: 'p@ss' } });
    // `$$` is a literal `$`; the path it leaves is relative, so it is resolved against the file's directory.
    expect(c.exporters[0]?.opts).toMatchObject({ url: 'https://prom.example/api/v1/write', password: 'p@ss', writeTokenFile: join(dir, '${CREDENTIALS}/x') });
  });

  it('reads X_file into --X when the subcommand has no --X-file, and checks input files exist', () => {
    const pw = write('pw', 'from-file\n');
    const path = write('files.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://x"\npassword_file = "${pw}"\n`);
    expect(loadRunConfig(path, { commands, env: {} }).exporters[0]?.opts['password']).toBe('from-file');
    const missing = write('missing.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://x"\npassword_file = "${dir}/nope"\nca = "${dir}/no-ca.pem"\nwrite_token_file = "${tokenFile}"\n`);
    expect(problems(missing, { checkFiles: true })).toEqual([
      expect.stringMatching(new RegExp(`^${missing}:4: exporter\\[0\\].password_file: \\(remote-write\\) cannot read "${dir}/nope" \\(ENOENT\\)`)),
    ]);
    const noCa = write('noca.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://x"\nca = "${dir}/no-ca.pem"\n`);
    expect(problems(noCa, { checkFiles: true })).toEqual([`${noCa}:4: exporter[0].ca: (remote-write) file "${dir}/no-ca.pem" does not exist`]);
    expect(loadRunConfig(noCa, { commands, env: {} }).exporters).toHaveLength(1);
  });

  it('spool sizes and ages beyond 2^53 (bytes, ms) are refused: they are no longer exact', () => {
    const path = write('huge-spool.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://x"\nspool_dir = "s"\nspool_max_bytes = 1e16\nspool_max_age = "9007199254740993"\n`);
    expect(problems(path)).toEqual([
      `${path}:5: exporter[0].spool_max_bytes: must be at most 9007199254740991 bytes (2^53 - 1, 8 PiB), got 10000000000000000`,
      `${path}:6: exporter[0].spool_max_age: must be at most 9007199254740991 ms (2^53 - 1, about 285,000 years), got "9007199254740993"`,
    ]);
    const ok = write('ok-spool.toml', `[[exporter]]\ntype = "remote-write"\nurl = "https://x"\nspool_dir = "s"\nspool_max_bytes = "1024GiB"\nspool_max_age = "3650d"\n`);
    expect(loadRunConfig(ok, { commands, env: {} }).exporters[0]?.spool).toMatchObject({ maxBytes: 1024 ** 4, maxAgeMs: 3650 * 86_400_000 });
  });

  it('an X_file naming no usable path: one line each (escaped, cut), and not also "missing required key"', () => {
    const path = write(
      'bad-files.toml',
      `[[exporter]]\ntype = "remote-write"\nurl_file = "a\\nb"\n\n[[exporter]]\ntype = "remote-write"\nurl_file = ""\n\n` +
        `[[exporter]]\ntype = "remote-write"\nurl_file = true\n\n[[exporter]]\ntype = "remote-write"\nurl_file = "${'x'.repeat(5000)}"\n`,
    );
    expect(problems(path)).toEqual([
      `${path}:3: exporter[0].url_file: (remote-write) must not hold control characters (a newline, a tab, an escape...): got "${dir}/a\\nb", with U+000A at character ${dir.length + 3}`,
      `${path}:7: exporter[1].url_file: (remote-write) must not be empty`,
      `${path}:11: exporter[2].url_file: (remote-write) must be the path of a file holding the value, got true`,
      expect.stringMatching(new RegExp(`^${path}:15: exporter\\[3\\]\\.url_file: \\(remote-write\\) is ${dir.length + 5001} characters long: at most 4096 are accepted, got ".{80}"… \\(${dir.length + 5001} characters\\)$`)),
    ]);
  });

  it("keeps remote-write's own --timeout (a request timeout) and its file options", async () => {
    const { remoteWriteCommand } = await import('../../../src/exporters/remote-write/command.js');
    const path = write('rw.toml', `[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\ntimeout = 3\nbearer_token_file = "${tokenFile}"\nstep = 15\n`);
    const c = loadRunConfig(path, { commands: [remoteWriteCommand], env: {}, checkFiles: true });
    expect(c.exporters[0]?.opts).toMatchObject({ timeout: 3, step: 15, bearerTokenFile: tokenFile, job: 'scaph' });
  });

  it("has one key per option: the command line's spellings (-d, --dispatch) are refused with the key to write", async () => {
    const { riemannCommand } = await import('../../../src/exporters/riemann/command.js');
    const { warp10Command } = await import('../../../src/exporters/warp10/command.js');
    const path = write('alias.toml', '[[exporter]]\ntype = "riemann"\ndispatch = 10\nd = 10\na = "riemann.example"\n[[exporter]]\ntype = "warp10"\nS = 10\ns = "https"\n');
    expect(problems(path, { commands: [riemannCommand, warp10Command] })).toEqual([
      `${path}:3: exporter[0].dispatch: (riemann) "dispatch" is a command-line spelling of --dispatch-interval: in a file write dispatch_interval (or step)`,
      `${path}:4: exporter[0].d: (riemann) "d" is a command-line spelling of --dispatch-interval: in a file write dispatch_interval (or step)`,
      `${path}:5: exporter[0].a: (riemann) "a" is a command-line spelling of --address: in a file write address`,
      // Either letter takes the scheme or the step on the command line (Scaphandre 0.5 and 1.0 disagree).
      `${path}:8: exporter[1].S: (warp10) "S" is a command-line spelling of --scheme or --step: in a file write scheme or step`,
      `${path}:9: exporter[1].s: (warp10) "s" is a command-line spelling of --scheme or --step: in a file write scheme or step`,
    ]);
    const ok = write('alias-ok.toml', '[[exporter]]\ntype = "riemann"\nstep = 10\nper_socket_services = true\n[[exporter]]\ntype = "json"\nstep_nano = 5000\n');
    const c = loadRunConfig(ok, { commands: [riemannCommand, jsonCommand], env: {} });
    expect(c.exporters.map((e) => e.opts['dispatchInterval'] ?? e.opts['stepNano'])).toEqual([10, 5000]);
    expect(c.exporters[0]?.opts['perSocketServices']).toBe(true);
  });

  it('takes min_backoff and max_backoff on every push exporter; the longest wait defaults to max(5 s, step)', async () => {
    const { EXPORTER_COMMANDS } = await import('../../../src/exporters/index.js');
    const { PUSH_TYPES } = await import('../../../src/config/run-config.js');
    const extra: Record<string, string> = {
      'remote-write': 'url = "http://127.0.0.1:9/api/v1/write"',
      riemann: '',
      warp10: 'write_token = "t"',
      'prometheus-push': '',
    };
    const tables = [...PUSH_TYPES].flatMap((type) => [
      `[[exporter]]\ntype = "${type}"\n${extra[type] ?? ''}\nstep = 1\nmin_backoff = 0.1\nmax_backoff = 2\n`,
      `[[exporter]]\ntype = "${type}"\n${extra[type] ?? ''}\nstep = 30\n`,
    ]);
    const c = loadRunConfig(write('backoff.toml', tables.join('\n')), { commands: EXPORTER_COMMANDS, env: {} });
    // The backoff is part of each push spec's typed settings.
    expect(c.exporters.map((e) => [e.type, e.settings])).toEqual(
      [...PUSH_TYPES].flatMap((type) => [
        [type, expect.objectContaining({ stepMs: 1000, backoff: { minDelayMs: 100, maxDelayMs: 2000, jitter: 0.2 } })],
        [type, expect.objectContaining({ stepMs: 30_000, backoff: { minDelayMs: 500, maxDelayMs: 30_000, jitter: 0.2 } })],
      ]),
    );
    const bad = write('backoff-bad.toml', '[[exporter]]\ntype = "riemann"\nmax_backoff = 0\n');
    expect(problems(bad, { commands: EXPORTER_COMMANDS })).toEqual([
      `${bad}:3: exporter[0].max_backoff: (riemann) --max-backoff must be a positive number of seconds, got "0"`,
    ]);
  });

  it('quotes a refused value on one short line: a 5000-character kind, type or step is cut, its length said', () => {
    const long = 'x'.repeat(5000);
    const path = write('long.toml', `[sensor]\nkind = "${long}"\nstep = "${long}"\n\n[[exporter]]\ntype = "${long}"\n`);
    const found = problems(path);
    expect(found).toHaveLength(3);
    const cut = `"${'x'.repeat(80)}"… (5000 characters)`;
    expect(found[0]).toBe(`${path}:2: sensor.kind: must be one of powercap_rapl, estimate, auto, hwmon, redfish, got ${cut}`);
    expect(found[1]).toBe(`${path}:3: sensor.step: must be a positive number of seconds or a duration like "500ms", "30s", "24h", "7d", got ${cut}`);
    expect(found[2]).toMatch(new RegExp(`^${path}:6: exporter\\[0\\]\\.type: unknown exporter type "x{80}"… \\(5000 characters\\); known types: `));
  });

  it('needs at least one exporter and rejects unknown top-level keys', () => {
    const path = write('empty.toml', 'exporters = []\n[sensor]\nstep = "500ms"\n');
    expect(problems(path)).toEqual([
      `${path}:1: exporters: unknown top-level key (did you mean exporter?); expected [sensor], [carbon] and [[exporter]]`,
      `${path}: exporter: no exporter configured: add at least one [[exporter]] table with a type`,
    ]);
  });

  it('a key or type close to a known one is refused naming it; warpten (the command line\'s alias) names the type to write', async () => {
    const { EXPORTER_COMMANDS } = await import('../../../src/exporters/index.js');
    const path = write(
      'near.toml',
      '[sensor]\nprocfs-path = "/proc"\n\n[[exporter]]\ntype = "prometheus"\nadress = "127.0.0.1"\nno_splay = true\n\n' +
        '[[exporter]]\ntype = "remote_write"\n\n[[exporter]]\ntype = "warpten"\n\n[[exporter]]\ntype = "riemann"\nno_splay = true\ntimeout = 3\n\n' +
        '[[exporter]]\ntype = "stdout"\ntimeout = 3\nt = 3\n',
    );
    const found = problems(path, { commands: EXPORTER_COMMANDS });
    const keys = 'address, containers, drop_labels, drop_metrics, exclude_process_regex, health_max_age, keep_metrics, max_cmdline_length, max_top_consumers, min_process_power, port, process_regex, qemu, selection_hold_steps, step, suffix';
    expect(found).toEqual([
      `${path}:2: sensor.procfs-path: unknown key (did you mean procfs_path?); valid keys: kind, powercap_path, procfs_path, cgroupfs_path, attribution, reaped_children, vm, step, estimate_idle_watts_per_cpu, estimate_max_watts_per_cpu, hwmon_path, hwmon_channel, redfish_url, redfish_user, redfish_password_file, redfish_ca, redfish_insecure, redfish_chassis, redfish_interval`,
      `${path}:6: exporter[0].adress: (prometheus) unknown key for a prometheus exporter (did you mean address?); valid keys: ${keys}`,
      `${path}:7: exporter[0].no_splay: (prometheus) unknown key for a prometheus exporter; valid keys: ${keys}`,
      `${path}:10: exporter[1].type: unknown exporter type "remote_write" (did you mean remote-write?); known types: stdout, json, prometheus, prometheus-push, remote-write, otlp, riemann, warp10, qemu`,
      `${path}:13: exporter[2].type: "warpten" is the command line's other name of warp10: in a file write type = "warp10"`,
      `${path}:17: exporter[3].no_splay: (riemann) "no_splay" is a command-line spelling of --no-splay: in a file write splay = false`,
      // riemann has no run duration: its timeout is only a misspelt key (connect_timeout is not close enough).
      expect.stringMatching(new RegExp(`^${path}:18: exporter\\[3\\]\\.timeout: \\(riemann\\) unknown key for a riemann exporter; valid keys: address, ca, cert, connect_timeout, `)),
      `${path}:22: exporter[4].timeout: (stdout) scaph run runs until stopped: remove "timeout" (or use \`scaph run --timeout\`)`,
      `${path}:23: exporter[4].t: (stdout) scaph run runs until stopped: remove "timeout" (or use \`scaph run --timeout\`)`,
    ]);
  });
});
