/**
 * Missing and odd files: trees, secrets, certificates and configs that are absent, empty, directories or
 * garbage. One line naming the file and what to do; exit 1 for a machine or file problem, 2 for usage and
 * config (and --check lists every problem of a config at once).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import { NOBODY, runScaph, SCAPH_BIN, type ScaphRun } from '../../support/fixtures/run-scaph.js';
import { expectClean, expectFailure, logLines, refusedReload, saying, tempDir, JSON_LOGS, type RefusedReload } from '../../support/harness/bad-input.js';
import { runCommand, withoutDacOverride } from '../../support/harness/run-command.js';
import { startRecordingHttpServer } from '../../support/servers/recording-http.js';

const ESTIMATE = ['--no-header', '--sensor', 'estimate'];
const RW = [...ESTIMATE, 'remote-write', '-u', 'http://127.0.0.1:9/api/v1/write'];

function file(name: string, content: string | Buffer): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

describe('trees', () => {
  it('a powercap tree that does not exist: exit 1 with the RAPL guidance', async () => {
    expectFailure(await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', '/nonexistent/powercap', 'stdout', '-t', '1']), 1, /No RAPL powercap zone found under \/nonexistent\/powercap/, /modprobe intel_rapl_common/);
  });

  it('a powercap path that is a regular file: exit 1', async () => {
    const path = file('powercap', 'not a tree');
    expectFailure(await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', path, 'stdout', '-t', '1']), 1, new RegExp(`No RAPL powercap zone found under ${path}`));
  });

  it('a procfs that does not exist: exit 1 naming --procfs-path', async () => {
    expectFailure(await runScaph([...ESTIMATE, '--procfs-path', '/nonexistent/proc', 'stdout', '-t', '1']), 1, /cannot read \/nonexistent\/proc\/stat \(ENOENT/, /--procfs-path/);
  });
});

describe('secret files', () => {
  it('a bearer token file that does not exist: exit 1', async () => {
    expectFailure(await runScaph([...RW, '--bearer-token-file', '/nonexistent/token']), 1, /bearer token file "\/nonexistent\/token" does not exist/);
  });

  it('an empty token file: exit 1', async () => {
    expectFailure(await runScaph([...RW, '--bearer-token-file', file('token', '\n')]), 1, /bearer token file ".*" is empty/);
  });

  it('a token file of two lines: exit 1 (a header injection otherwise)', async () => {
    expectFailure(await runScaph([...RW, '--bearer-token-file', file('token', 'abc\nX-Evil: 1\n')]), 1, /holds more than one line/);
  });

  it('a token file that is a directory: exit 1', async () => {
    const dir = tempDir();
    expectFailure(await runScaph([...RW, '--bearer-token-file', dir]), 1, new RegExp(`bearer token file "${dir}" cannot be read: ${dir} is a directory`));
  });

  it('a Warp 10 token file that does not exist: exit 1', async () => {
    expectFailure(await runScaph([...ESTIMATE, 'warp10', '--write-token-file', '/nonexistent/w10']), 1, /Warp 10 write token file "\/nonexistent\/w10" does not exist/);
  });
});

describe('certificates', () => {
  it('a --ca that does not exist: exit 1', async () => {
    expectFailure(await runScaph([...RW, '--ca', '/nonexistent/ca.pem']), 1, /CA certificate file "\/nonexistent\/ca.pem" does not exist/);
  });

  it('a --ca that is not PEM (DER bytes): exit 1', async () => {
    expectFailure(await runScaph([...RW, '--ca', file('ca.der', Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02]))]), 1, /is not PEM: expected a "-----BEGIN CERTIFICATE" block/);
  });

  it('a --ca whose PEM block holds garbage: exit 2, not a retry loop', async () => {
    const pem = file('ca.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expectFailure(await runScaph([...RW, '--ca', pem]), 2, new RegExp(`CA certificate file "${pem}" does not hold a valid certificate`));
  });

  it('--cert without --key: exit 2', async () => {
    expectFailure(await runScaph([...RW, '--cert', '/etc/hostname']), 2, /--cert and --key go together/);
  });
});

describe('config files', () => {
  it('a config file that does not exist: exit 2', async () => {
    expectFailure(await runScaph(['run', '-c', '/nonexistent/scaph.toml']), 2, /cannot read the config file "\/nonexistent\/scaph.toml" \(ENOENT\)/);
  });

  it('an empty config file: exit 2, no exporter configured', async () => {
    const path = file('empty.toml', '');
    expectFailure(await runScaph(['run', '-c', path, '--check']), 2, /no exporter configured/);
  });

  it('binary garbage: exit 2 with the line of the syntax error', async () => {
    const path = file('garbage.toml', Buffer.from([0x5b, 0x00, 0xff, 0xfe, 0x0a, 0x3d, 0x3d]));
    expectFailure(await runScaph(['run', '-c', path, '--check']), 2, new RegExp(`${path}:1: TOML syntax`));
  });

  it('filter keys with a bad regex and an identity label: exit 2 naming the exporter and the key', async () => {
    const path = file(
      'filters.toml',
      `[[exporter]]\ntype = "prometheus"\nkeep_metrics = ["scaph_host_.*", "scaph_(process"]\n\n[[exporter]]\ntype = "riemann"\ndrop_labels = ["cmdline", "pid"]\n`,
    );
    const r = await runScaph(['run', '-c', path, '--check']);
    expectFailure(r, 2, /exporter\[0\]\.keep_metrics: \(prometheus\) --keep-metrics "scaph_\(process" is not a valid regular expression: missing closing \)/);
    expect(r.stderr).toMatch(/exporter\[1\]\.drop_labels: \(riemann\) --drop-labels cannot drop "pid"/);
    // Without --check the agent does not start either: nothing is sampled or sent.
    const started = await runScaph(['--no-header', 'run', '-c', path]);
    expectFailure(started, 2, /--keep-metrics "scaph_\(process" is not a valid regular expression/);
    expect(started.stdout).toBe('');
  });

  it('every problem at once: a *_file that is a directory, a missing key file, an unknown key', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'token-dir'));
    const path = join(dir, 'scaph.toml');
    writeFileSync(path, `[[exporter]]\ntype = "remote-write"\nurl = "http://x/api/v1/write"\nbearer_token_file = "token-dir"\nca = "missing.pem"\ncolour = "blue"\n`);
    const r = await runScaph(['run', '-c', path, '--check']);
    expectFailure(r, 2, /exporter\[0\]\.colour: \(remote-write\) unknown key/);
    // commander stops at the first unknown key; the file errors are listed once that is fixed.
    writeFileSync(path, `[[exporter]]\ntype = "remote-write"\nurl = "http://x/api/v1/write"\nbearer_token_file = "token-dir"\nca = "missing.pem"\n`);
    const both = await runScaph(['run', '-c', path, '--check']);
    expectFailure(both, 2, new RegExp(`exporter\\[0\\]\\.bearer_token_file: \\(remote-write\\) file "${dir}/token-dir" is a directory`));
    expect(both.stderr).toContain(`exporter[0].ca: (remote-write) file "${dir}/missing.pem" does not exist`);
    expect(both.stderr).toContain('(2 problems in');
  });

  it('a misspelt key, [sensor] key or type: exit 2 at --check and at start, each line naming the one meant; nothing started', async () => {
    const path = file('misspelt.toml', '[sensor]\nkind = "estimate"\nprocfs-path = "/proc"\n\n[[exporter]]\ntype = "prometheus"\nadress = "127.0.0.1"\n\n[[exporter]]\ntype = "remote_write"\n');
    for (const args of [['run', '-c', path, '--check'], [...ESTIMATE, 'run', '-c', path]]) {
      const r = await runScaph(args);
      expectFailure(r, 2);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
        expect.stringMatching(new RegExp(`^scaph: ${path}:3: sensor\\.procfs-path: unknown key \\(did you mean procfs_path\\?\\); valid keys: kind, `)),
        expect.stringMatching(new RegExp(`^${path}:7: exporter\\[0\\]\\.adress: \\(prometheus\\) unknown key for a prometheus exporter \\(did you mean address\\?\\); valid keys: address, `)),
        expect.stringMatching(new RegExp(`^${path}:10: exporter\\[1\\]\\.type: unknown exporter type "remote_write" \\(did you mean remote-write\\?\\); known types: `)),
        `(3 problems in ${path}; "scaph run -c ${path} --check" re-checks it)`,
      ]);
      expectNothingStarted(r);
    }
  });
});

describe('config files spoiled under a running agent, then SIGHUP (reload)', () => {
  /** Still running after the SIGHUP, one error line (the reason in full), sampling on, nothing lost. */
  function expectRefused(r: RefusedReload, message: RegExp): void {
    expect(r.aliveAfter, r.run.stderr).toBe(true);
    expectClean(r.run);
    expect(r.refused, r.run.stderr).toHaveLength(1);
    expect(r.refused[0]?.level).toBe(50);
    expect(r.refused[0]?.msg).toMatch(/^config not reloaded, the running config stays: /);
    expect(r.refused[0]?.msg).toMatch(message);
    expect(r.refused[0]?.msg).not.toContain('\n');
    expect(logLines(r.run.stderr).filter((l) => l.level >= 50)).toHaveLength(1);
    expect(r.sampledAfter).toBeGreaterThanOrEqual(4);
    expect(r.missing).toEqual([]);
  }

  it('a file scaph may no longer read (EACCES): refused, the running config stays', async () => {
    // Root reads a mode-000 file anyway: the agent runs as nobody, as the unit runs it as scaph.
    const asRoot = process.getuid?.() === 0;
    const dir = tempDir('scaph-reload-');
    if (asRoot) chownSync(dir, 65534, 65534);
    chmodSync(dir, 0o755);
    const r = await refusedReload((config) => chmodSync(config, 0o000), { dir, ...(asRoot ? { as: NOBODY } : {}) });
    expectRefused(r, /cannot read the config file ".*\/scaph-[a-z0-9]+\.toml" \(EACCES\)/);
  });

  it('a syntax error: refused with its line, the running config stays', async () => {
    const r = await refusedReload((config) => writeFileSync(config, `${readFileSync(config, 'utf8')}\n[[exporter]\ntype = "json"\n`));
    expectRefused(r, /1 problem: .*\.toml:13: TOML syntax: Invalid TOML document: expected end of table array declaration$/);
  });

  it('the file deleted (a package removal, a bad deploy): refused, the running config stays', async () => {
    const r = await refusedReload((config) => rmSync(config));
    expectRefused(r, /cannot read the config file ".*\.toml" \(ENOENT\)/);
  });

  it('every problem on the one line: an unknown key and an input file that is gone', async () => {
    const r = await refusedReload((config, dir) =>
      writeFileSync(config, `${readFileSync(config, 'utf8').replace('type = "remote-write"', 'type = "remote-write"\ncolor = "red"')}[[exporter]]\ntype = "riemann"\ntls = true\nca = "${dir}/gone.pem"\n`),
    );
    expectRefused(r, /2 problems: .*exporter\[0\]\.color: \(remote-write\) unknown key.*; .*exporter\[2\]\.ca: \(riemann\) file ".*\/gone\.pem" does not exist$/);
  });
});

describe('process selection keys', () => {
  it('bad selection keys in an [[exporter]] table: exit 2, every one named with its line, nothing started', async () => {
    const path = file(
      'selection.toml',
      '[[exporter]]\ntype = "remote-write"\nurl = "http://x/api/v1/write"\nmax_top_consumers = 0\n\n' +
        '[[exporter]]\ntype = "riemann"\nmin_process_power = -0.5\n\n' +
        '[[exporter]]\ntype = "prometheus"\nexclude_process_regex = "(kworker"\n',
    );
    const r = await runScaph(['run', '-c', path]);
    expectFailure(r, 2, new RegExp(`${path}:4: exporter\\[0\\]\\.max_top_consumers: \\(remote-write\\) --max-top-consumers must be a positive whole number, got "0"`));
    expect(r.stderr).toContain(`${path}:8: exporter[1].min_process_power: (riemann) --min-process-power must be a number of watts >= 0 (decimals allowed), got "-0.5"`);
    expect(r.stderr).toContain(`${path}:12: exporter[2].exclude_process_regex: (prometheus) --exclude-process-regex "(kworker" is not a valid regular expression: missing closing )`);
    // Refused before the sensor or any exporter started: no banner, no log line.
    expect(r.stdout).toBe('');
    expect(logLines(r.stderr)).toEqual([]);
  });
});

/** Refused before the sensor or any exporter started: nothing sampled, nothing sent, no log line. */
function expectNothingStarted(r: ScaphRun): void {
  expect(r.stdout).toBe('');
  expect(logLines(r.stderr)).toEqual([]);
}

describe('exporter steps', () => {
  it("riemann's step written twice, differently (step = 5, dispatch_interval = 7): exit 2 naming both, by --check and at start", async () => {
    const path = file('steps.toml', '[[exporter]]\ntype = "riemann"\nstep = 5\ndispatch_interval = 7\n');
    for (const args of [['run', '-c', path, '--check'], [...ESTIMATE, 'run', '-c', path]]) {
      const r = await runScaph(args);
      expectFailure(r, 2, new RegExp(`${path}:4: exporter\\[0\\]\\.dispatch_interval: \\(riemann\\) step = 5 and dispatch_interval = 7 both set the riemann step \\(--dispatch-interval\\): keep one`));
      expectNothingStarted(r);
    }
  });

  it("the command line's spellings as keys (d, S, dispatch): exit 2, each told the key to write", async () => {
    const path = file('spellings.toml', '[[exporter]]\ntype = "riemann"\nd = 7\ndispatch = 7\n[[exporter]]\ntype = "remote-write"\nurl = "http://x/api/v1/write"\nS = 10\n');
    const r = await runScaph([...ESTIMATE, 'run', '-c', path]);
    expectFailure(r, 2, /exporter\[0\]\.d: \(riemann\) "d" is a command-line spelling of --dispatch-interval: in a file write dispatch_interval \(or step\)/);
    expect(r.stderr).toContain('exporter[0].dispatch: (riemann) "dispatch" is a command-line spelling of --dispatch-interval: in a file write dispatch_interval (or step)');
    expect(r.stderr).toContain('exporter[1].S: (remote-write) "S" is a command-line spelling of --step: in a file write step');
    expectNothingStarted(r);
  });

  it('an exporter step written below the [sensor] step written: exit 2, both steps and the fix named', async () => {
    const path = file('below.toml', '[sensor]\nstep = 10\n[[exporter]]\ntype = "warp10"\nwrite_token_file = "t"\nstep = 2\n');
    writeFileSync(join(dirname(path), 't'), 'token\n');
    const r = await runScaph([...ESTIMATE, 'run', '-c', path]);
    expectFailure(r, 2, /exporter\[0\]\.step: \(warp10\) a step of 2 s is shorter than \[sensor\] step \(10 s\): the sensor samples no faster than that\. Lower \[sensor\] step to 2 or raise this step/);
    expectNothingStarted(r);
  });
});

describe('credentials', () => {
  const toml = '[[exporter]]\ntype = "riemann"\nmtls = true\nca = "${CREDENTIALS_DIRECTORY}/scaph_ca.pem"\ncert = "${CREDENTIALS_DIRECTORY}/scaph_client.pem"\nkey = "${CREDENTIALS_DIRECTORY}/scaph_client.key"\n';

  it('${CREDENTIALS_DIRECTORY} unset outside systemd: exit 2, one line per key naming the variable and the flag, no missing-file noise', async () => {
    const path = file('creds.toml', toml);
    const r = await runScaph([...ESTIMATE, 'run', '-c', path], { env: { CREDENTIALS_DIRECTORY: undefined } });
    expectFailure(r, 2, /exporter\[0\]\.ca: environment variable CREDENTIALS_DIRECTORY is not set .*outside systemd give "scaph run --credentials-directory DIR"/);
    const problems = r.stderr.split('\n').filter((l) => l.includes(`${path}:`));
    expect(problems.map((l) => /exporter\[0\]\.(\w+):/.exec(l)?.[1])).toEqual(['ca', 'cert', 'key']);
    expect(r.stderr).not.toContain('does not exist');
    expect(r.stderr).toContain(`(3 problems in ${path};`);
    expectNothingStarted(r);
  });

  it('--credentials-directory that is a file or missing: exit 2 naming it', async () => {
    const path = file('creds.toml', toml);
    const notDir = file('not-a-dir', 'x');
    expectFailure(await runScaph(['run', '-c', path, '--check', '--credentials-directory', notDir]), 2, new RegExp(`--credentials-directory "${notDir}" is not a directory`));
    expectFailure(await runScaph(['run', '-c', path, '--check', '--credentials-directory', '/nonexistent/creds']), 2, /--credentials-directory "\/nonexistent\/creds" cannot be used \(ENOENT\)/);
  });

  it('a credential the directory lacks: exit 2 naming the file in it', async () => {
    const path = file('creds.toml', toml);
    const dir = tempDir();
    const r = await runScaph(['run', '-c', path, '--check', '--credentials-directory', dir]);
    expectFailure(r, 2, new RegExp(`exporter\\[0\\]\\.ca: \\(riemann\\) file "${dir}/scaph_ca.pem" does not exist`));
  });
});

describe('a config file scaph may not read', () => {
  it('EACCES: exit 2 with its own hint (the unit runs as user scaph: chgrp, chmod 640), not "check the path"', async () => {
    const path = file('locked.toml', '[[exporter]]\ntype = "stdout"\n');
    chmodSync(path, 0o000);
    // As root, read permission is not checked: drop the capabilities that skip it, as the unit's user has none.
    const r = await runCommand(withoutDacOverride([process.execPath, SCAPH_BIN, 'run', '-c', path, '--check']));
    expectFailure(r, 2, new RegExp(`cannot read the config file "${path}" \\(EACCES\\): user .* may not read it or enter a directory above it\\. The scaph unit runs as user scaph: "chgrp scaph ${path} && chmod 640 ${path}"`));
    expect(r.stderr).not.toContain('check the path given to -c');
    expectNothingStarted(r);
  });
});

describe('container metadata sources', () => {
  it('a Docker socket path that is a regular file: one warning, the run completes with cgroup labels', async () => {
    const socket = file('docker.sock', 'not a socket');
    const r = await runScaph([...ESTIMATE, ...JSON_LOGS, '--docker-socket', socket, 'json', '-t', '1.2', '-s', '0.5', '--containers']);
    expectClean(r);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
    expect(logLines(r.stderr).filter((l) => l.level === 40).length).toBeLessThanOrEqual(2);
  });
});

describe('splay', () => {
  it('a splay key that is not a boolean, or on an exporter that does not push: exit 2 naming it', async () => {
    const path = file('splay.toml', '[[exporter]]\ntype = "remote-write"\nurl = "http://x/api/v1/write"\nsplay = "no"\n\n[[exporter]]\ntype = "prometheus"\nsplay = false\n');
    const r = await runScaph(['--no-header', 'run', '-c', path]);
    expectFailure(r, 2, new RegExp(`${path}:4: exporter\\[0\\]\\.splay: \\(remote-write\\) must be true or false, got "no"`));
    expect(r.stderr).toContain(`${path}:8: exporter[1].splay: (prometheus) unknown key for a prometheus exporter`);
    expect(r.stdout).toBe('');
  });

  // The machine id only chooses this host's offset: whatever stands at its path, the agent runs (on the
  // host name alone), never hangs on a FIFO, and delivers (here its start-up reading, at the stop).
  it.each(['a FIFO', 'a directory', 'binary garbage'])('a machine id file that is %s: the host name alone, no hang, the run delivers', async (kind) => {
    const dir = tempDir();
    const path = join(dir, 'machine-id');
    if (kind === 'a FIFO') execFileSync('mkfifo', [path]);
    else if (kind === 'a directory') mkdirSync(path);
    else writeFileSync(path, Buffer.from([0xff, 0x00, 0x41, 0x0a]));
    const sink = await startRecordingHttpServer();
    try {
      const config = join(dir, 'scaph.toml');
      writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = 2\n\n[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:${sink.port}/api/v1/write"\n`);
      const r = await runScaph([...JSON_LOGS, '-v', '--no-header', 'run', '-c', config, '-t', '1.5'], { env: { [MACHINE_ID_FILE_ENV]: path, SCAPH_HOSTNAME: 'splay-odd-id' }, timeoutMs: 20_000 });
      expectClean(r);
      expect(r.ms).toBeLessThan(10_000);
      expect(saying(r.stderr, /^splay: remote-write sends near/).map((l) => l['from'])).toEqual(['host name']);
      expect(sink.requests.length).toBeGreaterThanOrEqual(1);
    } finally {
      sink.server.close();
    }
  });
});
