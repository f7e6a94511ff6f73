/**
 * Wrong exits and messages: user-caused problems answered as internal errors (exit 70), runs that go on
 * with nobody to read them or nothing to reach, configuration mistakes hidden behind retries. Each is one
 * line naming the path or flag and what to do, with exit 1 (machine or file) or 2 (usage, config).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { eventually, expectClean, expectFailure, logLines, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';

const ESTIMATE = ['--no-header', '--sensor', 'estimate'];

describe('output files (json -f, stdout)', () => {
  it('json -f in a directory that does not exist: exit 1 naming the path', async () => {
    expectFailure(await runScaph([...ESTIMATE, 'json', '-t', '1', '-f', '/nonexistent/dir/out.json']), 1, /cannot write the JSON output to "\/nonexistent\/dir\/out.json" \(ENOENT\): its directory does not exist/);
  });

  it('json -f /dev/full: exit 1, no space left', async () => {
    expectFailure(await runScaph([...ESTIMATE, 'json', '-t', '1', '-s', '0.3', '-f', '/dev/full']), 1, /cannot write the JSON output to "\/dev\/full" \(ENOSPC\): no space left/);
  });

  it('json -f naming a directory: exit 1 (EISDIR)', async () => {
    const dir = tempDir();
    expectFailure(await runScaph([...ESTIMATE, 'json', '-t', '1', '-f', dir]), 1, new RegExp(`cannot write the JSON output to "${dir}" \\(EISDIR\\): it is a directory`));
  });

  it('json with stdout on a full device: exit 1', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      expectFailure(await runScaph([...ESTIMATE, 'json', '-t', '1', '-s', '0.3'], { stdout: fd }), 1, /cannot write the JSON output to stdout \(ENOSPC\)/);
    } finally {
      closeSync(fd);
    }
  });

  it('stdout with stdout on a full device: exit 1, one line, no stack trace', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      expectFailure(await runScaph([...ESTIMATE, 'stdout', '-t', '1', '-s', '0.3'], { stdout: fd }), 1, /cannot write to stdout \(ENOSPC\)/);
    } finally {
      closeSync(fd);
    }
  });

  it.each([['json'], ['stdout']])('scaph %s -t -1 | head -c 50: ends quietly once the reader left', async (exporter) => {
    const scaph = startScaph([...ESTIMATE, exporter, '-t', '-1', '-s', '0.2'], { timeoutMs: 20_000 });
    await eventually(() => scaph.stdout.length >= 50, 10_000, 'output');
    scaph.child.stdout?.destroy();
    const r = await scaph.done;
    expectClean(r);
    expect(r.stderr).toBe('');
  });
});

describe('ports', () => {
  it('prometheus -p 0: the port the system chose is printed, and scrapes answer there', async () => {
    const scaph = startScaph([...ESTIMATE, 'prometheus', '-a', '127.0.0.1', '-p', '0', '--step', '0.3'], { timeoutMs: 30_000 });
    try {
      await scaph.waitForStderr(/^scaph: prometheus exporter listening on port \d+ of 127\.0\.0\.1 \(chosen by the system for -p 0\)$/m);
      const port = Number(/listening on port (\d+)/.exec(scaph.stderr)?.[1]);
      expect(port).toBeGreaterThan(0);
      let text = '';
      for (let i = 0; i < 50 && !text.includes('scaph_host_power_microwatts'); i++) {
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text()).catch(() => '');
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(text).toContain('scaph_host_power_microwatts');
      expectClean(await scaph.stop());
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});

describe('client certificates and keys', () => {
  let dir: string;
  let a: { cert: string; key: string };
  let b: { cert: string; key: string };
  let encrypted: string;

  function selfSigned(name: string): { cert: string; key: string } {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.crt`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
    return { cert, key };
  }

  beforeAll(() => {
    dir = tempDir('scaph-bad-tls-');
    a = selfSigned('a');
    b = selfSigned('b');
    encrypted = join(dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', a.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted], { stdio: 'ignore' });
  });

  it('riemann --mtls with a key that does not match the certificate: exit 2 naming both files', async () => {
    const r = await runScaph([...ESTIMATE, 'riemann', '--mtls', '-a', 'localhost', '-p', '5554', '--ca', a.cert, '--cert', a.cert, '--key', b.key]);
    expectFailure(r, 2, new RegExp(`client key file "${b.key}" does not match the client certificate "${a.cert}"`));
  });

  it('riemann --mtls with an encrypted key and no passphrase: exit 2 saying how to decrypt it', async () => {
    const r = await runScaph([...ESTIMATE, 'riemann', '--mtls', '-a', 'localhost', '-p', '5554', '--ca', a.cert, '--cert', a.cert, '--key', encrypted]);
    expectFailure(r, 2, new RegExp(`client key file "${encrypted}" is encrypted with a passphrase`), /openssl pkey -in/);
  });

  it('remote-write --cert/--key that do not match: exit 2', async () => {
    const r = await runScaph([...ESTIMATE, 'remote-write', '-u', 'https://127.0.0.1:9/api/v1/write', '--cert', b.cert, '--key', a.key]);
    expectFailure(r, 2, /does not match the client certificate/);
  });

  it('a key file that holds a certificate: exit 1, not PEM key', async () => {
    const r = await runScaph([...ESTIMATE, 'remote-write', '-u', 'https://127.0.0.1:9/api/v1/write', '--cert', a.cert, '--key', a.cert]);
    expectFailure(r, 1, new RegExp(`client key file "${a.cert}" is not PEM: expected a "-----BEGIN PRIVATE KEY" block`));
  });

  it('scaph run --check finds the mismatched pair in a config file', async () => {
    const config = join(dir, 'tls.toml');
    writeFileSync(config, `[[exporter]]\ntype = "remote-write"\nurl = "https://127.0.0.1:9/api/v1/write"\ncert = "a.crt"\nkey = "b.key"\n`);
    expectFailure(await runScaph(['run', '-c', config, '--check']), 2, /exporter\[0\]\.key: \(remote-write\) client key file ".*\/b\.key" does not match the client certificate ".*\/a\.crt"/);
  });
});

describe('spool directories holding odd entries', () => {
  it('a directory named like a spool segment: exit 1 naming it (not an internal error)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'spool', '0000000000000007.seg'), { recursive: true });
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "riemann"\nspool_dir = "spool"\n`);
    const r = await runScaph([...ESTIMATE, 'run', '-c', config]);
    expectFailure(r, 1, /holds "0000000000000007.seg", named like a spool segment but unreadable \(it is a directory\): remove that entry/);
  });

  it('an ack that is a directory: exit 1 naming it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'spool', 'ack'), { recursive: true });
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "riemann"\nspool_dir = "spool"\n`);
    expectFailure(await runScaph([...ESTIMATE, 'run', '-c', config]), 1, /holds an unreadable "ack" file \(it is a directory\)/);
  });

  it('a spool a newer scaph wrote (format 2, a downgrade): exit 1 naming the directory and both formats; nothing in it deleted', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    mkdirSync(spool);
    const files: Record<string, string> = { format: 'scaph spool format 2\n', ack: '41\n', '0000000000000000.seg': 'records 0 to 41: acknowledged', '0000000000000042.seg': 'unsent, in a layout 0.1.0 cannot read' };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(spool, name), content);
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "riemann"\nspool_dir = "spool"\n`);
    const r = await runScaph([...ESTIMATE, 'run', '-c', config]);
    expectFailure(r, 1, new RegExp(`spool directory "${spool}" holds spool format 2, written by a newer scaph; this scaph reads spool format 1\\. Nothing in it was changed`));
    expect(r.ms).toBeLessThan(10_000);
    // Not indexed (the acknowledged segment would have been deleted), not locked.
    expect(Object.fromEntries(Object.keys(files).map((name) => [name, readFileSync(join(spool, name), 'utf8')]))).toEqual(files);
    expect(existsSync(join(spool, 'lock'))).toBe(false);
  });
});

describe('config files', () => {
  let tree: ProcfsTree;
  beforeAll(() => {
    tree = ProcfsTree.create({ processes: [{ pid: 42, comm: 'worker', utime: 10, stime: 1, starttime: 3 }] });
  });
  afterAll(() => tree.cleanup());

  it('relative paths resolve against the config file, whatever the working directory; --check prints them', async () => {
    const dir = tempDir();
    execFileSync('cp', ['-r', tree.root, join(dir, 'proc')]);
    const config = join(dir, 'scaph.toml');
    const riemann = await FakeRiemannServer.start();
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nprocfs_path = "proc"\nstep = 0.3\n` +
        `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nspool_dir = "spool/riemann"\nstep = 0.3\n` +
        `[[exporter]]\ntype = "json"\nfile = "out/power.json"\nstep = 0.3\n`,
    );
    mkdirSync(join(dir, 'out'));
    const check = await runScaph(['run', '-c', config, '--check'], { cwd: '/' });
    expectClean(check);
    expect(check.stdout.split('\n')).toEqual([
      expect.stringMatching(/: OK: /),
      `  sensor.procfs_path = ${dir}/proc`,
      `  exporter[0].spool_dir = ${dir}/spool/riemann`,
      `  exporter[1].file = ${dir}/out/power.json`,
      '',
    ]);
    const run = await runScaph(['--no-header', 'run', '-c', config, '-t', '1'], { cwd: '/' });
    await riemann.stop();
    expectClean(run);
    expect(riemann.events.length).toBeGreaterThan(0);
    const reports = JSON.parse(readFileSync(join(dir, 'out', 'power.json'), 'utf8')) as Array<{ consumers: Array<{ pid: number }> }>;
    expect(reports[0]?.consumers.map((c) => c.pid)).toEqual([42]);
    expect(existsSync(join(dir, 'spool', 'riemann', 'lock'))).toBe(false); // released on stop
    expect(existsSync(join(dir, 'spool', 'riemann'))).toBe(true);
  });

  it('an inline secret in a file others may read: one warning naming the file and the fix; none once it is 0600', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "warp10"\nwrite_token = "s3cr3t-token"\n`);
    chmodSync(config, 0o644);
    const open = await runScaph([...JSON_LOGS, 'run', '-c', config, '--check']);
    expectClean(open);
    const warnings = logLines(open.stderr).filter((l) => /holds a secret/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain(`config file ${config} holds a secret (exporter[0].write_token) and other users may read it: run "chmod 600 ${config}"`);
    expect(warnings[0]?.msg).toMatch(/write_token_file/);
    expect(open.stderr).not.toContain('s3cr3t-token');
    chmodSync(config, 0o600);
    const closed = await runScaph(['run', '-c', config, '--check']);
    expectClean(closed);
    expect(closed.stderr).toBe('');
  });

  it('a secret taken from the environment is not inline: no warning', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "warp10"\nwrite_token = "\${WARP10_TOKEN}"\n`);
    chmodSync(config, 0o644);
    const r = await runScaph(['run', '-c', config, '--check'], { env: { WARP10_TOKEN: 'from-env' } });
    expectClean(r);
    expect(r.stderr).toBe('');
  });

  it('a config file that is a directory: exit 2', async () => {
    const dir = tempDir();
    expectFailure(await runScaph(['run', '-c', dir, '--check']), 2, new RegExp(`cannot read the config file "${dir}" \\(it is a directory\\)`));
  });
});

describe('log settings from the environment', () => {
  it('SCAPH_LOG_LEVEL=loud: exit 2 naming the levels (it was "unexpected error", exit 70)', async () => {
    const r = await runScaph([...ESTIMATE, 'json', '-t', '1'], { env: { SCAPH_LOG_LEVEL: 'loud' } });
    expectFailure(r, 2, /^scaph: SCAPH_LOG_LEVEL="loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent \(or unset it and use -v \/ -vv\)$/);
    expect(r.stdout).toBe('');
  });

  it('SCAPH_LOG_FORMAT=xml: exit 2 naming the formats, before anything starts', async () => {
    const r = await runScaph([...ESTIMATE, 'json', '-t', '1'], { env: { SCAPH_LOG_FORMAT: 'xml' } });
    expectFailure(r, 2, /^scaph: SCAPH_LOG_FORMAT="xml" is not a log format: use text or json \(or unset it; --log-format wins over it\)$/);
    expect(r.stdout).toBe('');
    // The flag wins over a bad variable: the run goes on.
    expectClean(await runScaph([...ESTIMATE, '--log-format', 'json', 'json', '-t', '1'], { env: { SCAPH_LOG_FORMAT: 'xml' }, stdout: 'ignore' }));
  });

  it('a JOURNAL_STREAM that is not device:inode (or names another stream): plain lines, no crash', async () => {
    for (const value of ['garbage', '8:', '99999:99999']) {
      const r = await runScaph(['--no-header', '--powercap-path', '/nonexistent-powercap', 'json', '-t', '1'], { env: { JOURNAL_STREAM: value }, stdout: 'ignore' });
      expectClean(r);
      expect(r.stderr, value).toMatch(/^WARN  no usable RAPL powercap zone under \/nonexistent-powercap; .* time=\S+Z\n$/);
    }
  });
});
