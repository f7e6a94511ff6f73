/**
 * Where `scaph otlp` sends, from its flags and OpenTelemetry's standard variables (the specification's
 * rules, specification/protocol/exporter.md), and the resource every request carries.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/core/errors.js';
import { parseGrpcTarget, parseKeyValueList, resolveEndpoint } from '../../../../src/exporters/otlp/environment.js';
import { resourceAttribute, resourceAttributes } from '../../../../src/exporters/otlp/resource.js';

describe('the endpoint', () => {
  it('defaults to the OTLP/HTTP default, gzip, 10 s', () => {
    expect(resolveEndpoint({}, {})).toMatchObject({ protocol: 'http/protobuf', url: 'http://localhost:4318/v1/metrics', from: 'default', compression: 'gzip', timeoutMs: 10_000, headers: {} });
    expect(resolveEndpoint({ protocol: 'grpc' }, {})).toMatchObject({ grpc: { target: 'localhost:4317', secure: false }, from: 'default' });
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT is a base: v1/metrics is appended (the specification\'s examples)', () => {
    const at = (base: string): string => resolveEndpoint({}, { OTEL_EXPORTER_OTLP_ENDPOINT: base }).url;
    expect(at('http://collector:4318')).toBe('http://collector:4318/v1/metrics');
    expect(at('http://collector:4318/')).toBe('http://collector:4318/v1/metrics');
    expect(at('http://collector:4318/mycollector/')).toBe('http://collector:4318/mycollector/v1/metrics');
    expect(at('https://prometheus:9090/api/v1/otlp')).toBe('https://prometheus:9090/api/v1/otlp/v1/metrics');
  });

  it('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is (a URL without a path gets /), over the generic one; the flag over both', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://collector.example.com/v1/metrics/' };
    expect(resolveEndpoint({}, env)).toMatchObject({ url: 'https://collector.example.com/v1/metrics/', from: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' });
    expect(resolveEndpoint({}, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318' }).url).toBe('http://collector:4318/');
    expect(resolveEndpoint({ url: 'http://mine:4318/v1/metrics' }, env)).toMatchObject({ url: 'http://mine:4318/v1/metrics', from: '--url' });
  });

  it('protocol, compression, timeout and headers from the variables, the metrics ones first, the flags over them', () => {
    const env = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc , x-scope-orgid = tenant%2C1',
    };
    expect(resolveEndpoint({}, env)).toMatchObject({
      protocol: 'grpc',
      grpc: { target: 'collector:4317', secure: false },
      compression: 'none',
      timeoutMs: 2500,
      headers: { Authorization: 'Bearer abc', 'x-scope-orgid': 'tenant,1' },
    });
    const flagged = resolveEndpoint({ protocol: 'http/protobuf', url: 'http://c:4318/v1/metrics', compression: 'gzip', timeoutMs: 1000, headers: { 'X-Scope-OrgID': 'mine' } }, env);
    expect(flagged).toMatchObject({ protocol: 'http/protobuf', compression: 'gzip', timeoutMs: 1000, headers: { Authorization: 'Bearer abc', 'X-Scope-OrgID': 'mine' } });
    expect(Object.keys(flagged.headers)).toHaveLength(2);
  });

  it('the TLS files of the variables, under --ca, --cert, --key', () => {
    const env = { OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/ca.pem', OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: '/etc/c.pem', OTEL_EXPORTER_OTLP_CLIENT_KEY: '/etc/k.pem' };
    expect(resolveEndpoint({}, env)).toMatchObject({ caFile: '/etc/ca.pem', certFile: '/etc/c.pem', keyFile: '/etc/k.pem' });
    expect(resolveEndpoint({ caFile: '/mine.pem' }, env).caFile).toBe('/mine.pem');
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, /^\$OTEL_EXPORTER_OTLP_PROTOCOL http\/json is not supported: scaph sends binary protobuf; use http\/protobuf or grpc$/],
    [{ OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'thrift' }, /^\$OTEL_EXPORTER_OTLP_METRICS_PROTOCOL must be http\/protobuf or grpc, got "thrift"$/],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, /^\$OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none, got "zstd"$/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /^\$OTEL_EXPORTER_OTLP_TIMEOUT must be a positive whole number of milliseconds, got "10s"$/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization' }, /^\$OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas, got "Authorization"$/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'a=%E0%A4%A' }, /^\$OTEL_EXPORTER_OTLP_HEADERS: the value of "a" is not valid percent-encoding$/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'a b=1' }, /^\$OTEL_EXPORTER_OTLP_HEADERS: "a b" is not a valid header name$/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'a=x%0Ay' }, /^\$OTEL_EXPORTER_OTLP_HEADERS: the value of a holds a control character/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /^\$OTEL_EXPORTER_OTLP_ENDPOINT must use http or https, got "collector:" \(for gRPC, add --protocol grpc\)$/],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://u:p@c:4318/v1/metrics' }, /must not hold credentials/],
  ])('a variable that does not parse is refused, named: %j', (env, message) => {
    expect(() => resolveEndpoint({}, env)).toThrow(UsageError);
    expect(() => resolveEndpoint({}, env)).toThrow(message);
  });
});

describe('gRPC targets', () => {
  it.each([
    ['collector:4317', { target: 'collector:4317', secure: true }],
    ['collector', { target: 'collector:4317', secure: true }],
    ['http://collector:4317', { target: 'collector:4317', secure: false }],
    ['http://collector:4317/', { target: 'collector:4317', secure: false }],
    ['https://collector.example', { target: 'collector.example:4317', secure: true }],
    ['[::1]:4317', { target: '[::1]:4317', secure: true }],
    ['127.0.0.1:9999', { target: '127.0.0.1:9999', secure: true }],
  ])('%s', (value, target) => {
    expect(parseGrpcTarget(value, '-u/--url')).toEqual(target);
  });

  it('without a scheme: plaintext when OTEL_EXPORTER_OTLP_INSECURE=true; a scheme wins over it', () => {
    expect(resolveEndpoint({ protocol: 'grpc', url: 'collector:4317' }, { OTEL_EXPORTER_OTLP_INSECURE: 'true' }).grpc).toEqual({ target: 'collector:4317', secure: false });
    expect(resolveEndpoint({ protocol: 'grpc', url: 'https://collector:4317' }, { OTEL_EXPORTER_OTLP_INSECURE: 'true' }).grpc).toEqual({ target: 'collector:4317', secure: true });
  });

  it.each([
    ['http://collector:4317/v1/metrics', /^-u\/--url is a gRPC endpoint: host:port without a path \(the service's is fixed\), got "http:\/\/collector:4317\/v1\/metrics"; for OTLP\/HTTP leave out --protocol grpc$/],
    ['ftp://collector:21', /^-u\/--url must be host:port, http:\/\/host:port \(plaintext\) or https:\/\/host:port \(TLS\) for gRPC, got "ftp:\/\/collector:21"$/],
    ['collector:0', /port 0/],
    ['collector:70000', /must be host:port/],
    ['user:pw@collector:4317', /must not hold credentials/],
  ])('refuses %s', (value, message) => {
    expect(() => parseGrpcTarget(value, '-u/--url')).toThrow(message);
  });
});

describe('key=value lists', () => {
  it('trims, percent-decodes, skips empty items; the last of a repeated key wins', () => {
    expect(parseKeyValueList(' a = 1 ,, b=x%3Dy%2Cz , a=2', '$V')).toEqual({ a: '2', b: 'x=y,z' });
  });
});

describe('the resource', () => {
  const facts = { hostname: 'node-1', version: '0.1.0', machineId: '0123456789abcdef0123456789abcdef' };

  it("scaph's own attributes, then OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, --resource-attribute", () => {
    expect(resourceAttributes({}, facts, {})).toEqual([
      ['service.name', 'scaph'],
      ['service.version', '0.1.0'],
      ['service.instance.id', 'node-1'],
      ['host.name', 'node-1'],
      ['host.id', '0123456789abcdef0123456789abcdef'],
    ]);
    const env = { OTEL_RESOURCE_ATTRIBUTES: 'service.name=power,deployment.environment.name=prod,k8s.cluster.name=par%201', OTEL_SERVICE_NAME: 'energy' };
    const attributes = new Map(resourceAttributes({ 'deployment.environment.name': 'staging' }, facts, env));
    expect(attributes.get('service.name')).toBe('energy');
    expect(attributes.get('deployment.environment.name')).toBe('staging');
    expect(attributes.get('k8s.cluster.name')).toBe('par 1');
    expect(new Map(resourceAttributes({}, { ...facts, machineId: null }, {})).has('host.id')).toBe(false);
  });

  it('--resource-attribute: key=value, a key given twice refused', () => {
    expect(resourceAttribute('a=1', { b: '2' })).toEqual({ a: '1', b: '2' });
    expect(() => resourceAttribute('=1', undefined)).toThrow(/^--resource-attribute takes key=value/);
    expect(() => resourceAttribute('a=2', { a: '1' })).toThrow('--resource-attribute a=1 and a=2 name the same attribute: keep one');
    expect(() => resourceAttributes({}, facts, { OTEL_RESOURCE_ATTRIBUTES: 'novalue' })).toThrow(/^\$OTEL_RESOURCE_ATTRIBUTES must be key=value pairs/);
  });
});
