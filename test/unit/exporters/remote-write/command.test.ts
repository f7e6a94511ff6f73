import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OptionValues } from 'commander';
import { commandFor, settingsFrom } from '../../../../src/exporters/command.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/core/errors.js';
import { silentLogger } from '../../../../src/core/log.js';
import { BASIC_PASSWORD_ENV, authFrom, remoteWriteCommand } from '../../../../src/exporters/remote-write/command.js';
import { SecretFileError } from '../../../../src/net/secret.js';
import { TlsClientPairError, TlsFileMissingError, TlsFileNotPemError } from '../../../../src/net/tls.js';
import { commandPlan } from '../../../support/fixtures/command-plan.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { startRecordingHttpServer } from '../../../support/servers/recording-http.js';
import snappy from 'snappy';
import { decodeWriteRequest } from '../../../support/oracles/remote-write.js';

function parse(args: string[]): OptionValues {
  const cmd = commandFor(remoteWriteCommand).exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

const ctx = { logger: silentLogger(), hostname: 'node-7', version: '9.9.9' };
const create = (args: string[]) => commandPlan(remoteWriteCommand, args, ctx);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaph-rw-cmd-'));
  await writeFile(join(dir, 'token'), 'tok-123\n');
  await writeFile(join(dir, 'password'), 'pw\n');
  await writeFile(join(dir, 'not-pem'), 'hello');
  await writeFile(join(dir, 'empty'), '');
});

describe('scaph remote-write options', () => {
  it('parses the documented options with their defaults', () => {
    const o = parse(['-u', 'http://127.0.0.1:9090/api/v1/write']);
    expect(o).toMatchObject({ url: 'http://127.0.0.1:9090/api/v1/write', step: 5, job: 'scaph', timeout: 10, queueMaxSamples: 1000, maxSamplesPerSend: 10, maxAge: 3600, insecure: false, label: {}, header: {} });
    const p = parse(['-u', 'https://m/api/v1/push', '-S', '2.5', '--label', 'dc=par1', '--label', 'rack=r2', '--header', 'X-Scope-OrgID=t1', '--max-age', '600', '--queue-max-samples', '20']);
    expect(p).toMatchObject({ step: 2.5, label: { dc: 'par1', rack: 'r2' }, header: { 'X-Scope-OrgID': 't1' }, maxAge: 600, queueMaxSamples: 20 });
  });

  it.each([
    [['-u', 'ftp://x/y'], /must use http or https/],
    [['-u', 'not a url'], /must be an http\(s\) URL/],
    [['-u', 'http://user:pw@x/api/v1/write'], /must not hold credentials/],
    [['-u', 'http://x', '-S', '0'], /-S\/--step must be a positive number/],
    [['-u', 'http://x', '--label', '__name__=x'], /not a valid Prometheus label name/],
    [['-u', 'http://x', '--label', '1abc=x'], /not a valid Prometheus label name/],
    [['-u', 'http://x', '--label', 'novalue'], /--label takes key=value/],
    [['-u', 'http://x', '--header', 'Content-Type=text/plain'], /set by the remote-write protocol/],
    [['-u', 'http://x', '--header', 'bad name=1'], /not a valid HTTP header name/],
    [['-u', 'http://x', '--queue-max-samples', '0'], /positive whole number/],
    [['-u', 'http://x', '--timeout', '-1'], /--timeout must be a positive number/],
  ])('%j is a usage error', (args, message) => {
    let caught: unknown;
    try {
      parse(args);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(2);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('requires --url', () => {
    expect(() => parse([])).toThrow(/required option '-u, --url <url>' not specified/);
  });
});

describe('scaph remote-write auth and TLS', () => {
  it('reads the bearer token and the basic password from files, or from the environment', async () => {
    expect(await authFrom(parse(['-u', 'http://x', '--bearer-token-file', join(dir, 'token')]), {})).toEqual({ kind: 'bearer', token: 'tok-123' });
    expect(await authFrom(parse(['-u', 'http://x', '--basic-auth-user', 'u', '--basic-auth-password-file', join(dir, 'password')]), {})).toEqual({
      kind: 'basic',
      user: 'u',
      password: 'pw',
    });
    expect(await authFrom(parse(['-u', 'http://x', '--basic-auth-user', 'u']), { [BASIC_PASSWORD_ENV]: 'from-env' })).toEqual({ kind: 'basic', user: 'u', password: 'from-env' });
    expect(await authFrom(parse(['-u', 'http://x']), {})).toEqual({ kind: 'none' });
  });

  it('refuses contradictory or incomplete auth, and names unusable secret files without their content', async () => {
    await expect(authFrom(parse(['-u', 'http://x', '--basic-auth-user', 'u']), {})).rejects.toBeInstanceOf(UsageError);
    await expect(authFrom(parse(['-u', 'http://x', '--basic-auth-password-file', join(dir, 'password')]), {})).rejects.toThrow('needs --basic-auth-user');
    await expect(
      authFrom(parse(['-u', 'http://x', '--bearer-token-file', join(dir, 'token'), '--basic-auth-user', 'u', '--basic-auth-password-file', join(dir, 'password')]), {}),
    ).rejects.toThrow('not both');
    await expect(authFrom(parse(['-u', 'http://x', '--bearer-token-file', join(dir, 'missing')]), {})).rejects.toThrow(SecretFileError);
    await expect(authFrom(parse(['-u', 'http://x', '--bearer-token-file', join(dir, 'empty')]), {})).rejects.toThrow(/bearer token file ".*empty" is empty/);
  });

  it('TLS files: missing, not PEM, unreadable and half a client pair are named errors', async () => {
    await expect(create(['-u', 'https://x', '--ca', join(dir, 'nope.pem')])).rejects.toBeInstanceOf(TlsFileMissingError);
    await expect(create(['-u', 'https://x', '--ca', join(dir, 'not-pem')])).rejects.toThrow(
      /CA certificate file ".*not-pem" is not PEM/,
    );
    await expect(create(['-u', 'https://x', '--cert', join(dir, 'not-pem')])).rejects.toBeInstanceOf(TlsClientPairError);
    await expect(create(['-u', 'https://x', '--ca', join(dir, 'not-pem')])).rejects.toBeInstanceOf(TlsFileNotPemError);
    if (process.getuid?.() !== 0) {
      await writeFile(join(dir, 'locked.pem'), '-----BEGIN CERTIFICATE-----\n');
      await chmod(join(dir, 'locked.pem'), 0o000);
      await expect(create(['-u', 'https://x', '--ca', join(dir, 'locked.pem')])).rejects.toThrow(/cannot be read \(EACCES\)/);
    }
  });
});

describe('scaph remote-write create()', () => {
  it('builds an exporter that pushes with the job, instance, --label and auth given', async () => {
    const { port, requests: got, server: srv } = await startRecordingHttpServer();
    const plan = await commandPlan(
      remoteWriteCommand,
      ['-u', `http://127.0.0.1:${port}/api/v1/write`, '-S', '2', '--bearer-token-file', join(dir, 'token'), '--label', 'dc=par1'],
      ctx,
    );
    expect(plan.stepMs).toBe(2000);
    expect(plan.durationMs).toBeNull();
    expect(plan.exporter.name).toBe('remote-write');
    await plan.exporter.start();
    plan.exporter.export(syntheticSample({ timestampMs: Date.now() }));
    await plan.exporter.stop(5000);
    srv.close();
    expect(got.length).toBe(1);
    expect(got[0]?.headers['authorization']).toBe('Bearer tok-123');
    expect(got[0]?.headers['user-agent']).toBe('scaph/9.9.9');
    const decoded = decodeWriteRequest(snappy.uncompressSync(got[0]?.body ?? Buffer.alloc(0)) as Buffer);
    const host = decoded.timeseries.find((t) => t.labels.some((l) => l.value === 'scaph_host_power_microwatts'));
    expect(Object.fromEntries(host?.labels.map((l) => [l.name, l.value]) ?? [])).toEqual({
      __name__: 'scaph_host_power_microwatts',
      dc: 'par1',
      instance: 'node-7',
      job: 'scaph',
      value_source: 'powercap_rapl_pkg',
    });
    expect(host?.samples[0]?.value).toBe(40_000_000);
  });
});
