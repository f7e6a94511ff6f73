/**
 * Bad flags: every one is refused before anything starts, with exit 2 and one line naming the flag and
 * what it takes, never a stack trace and never a run that goes on with a value nobody meant.
 */
import { describe, it } from 'vitest';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { expectFailure } from '../../support/harness/bad-input.js';

const ESTIMATE = ['--no-header', '--sensor', 'estimate'];

/** [what a user typed, what the one-line message must say]. */
const CASES: ReadonlyArray<readonly [readonly string[], RegExp]> = [
  [['stdout', '-s', '0'], /-s\/--step must be a positive number of seconds, got "0"/],
  [['stdout', '-s', '-1'], /-s\/--step must be a positive number/],
  [['stdout', '-s', 'abc'], /-s\/--step must be a positive number of seconds, got "abc"/],
  [['stdout', '-s', '1e309'], /-s\/--step must be a positive number/],
  // A step beyond what one timer can wait made the loop spin, sampling every millisecond.
  [['stdout', '-s', '3000000'], /-s\/--step must be at most 2147483 seconds/],
  [['stdout', '-p', '0'], /-p\/--process-number must be a positive whole number/],
  // stdout -t 0 runs until stopped (Scaphandre's documentation); json's -t 0 is a run of no length.
  [['json', '-t', '0'], /-t\/--timeout must be a non-zero number of seconds/],
  [['stdout', '-t', 'forever'], /-t\/--timeout must be a number of seconds \(0 or negative = run until stopped\), got "forever"/],
  // Beyond every other flag's seconds: a run no clock would end, taken without a word.
  [['json', '-t', '9007199254740993'], /-t\/--timeout must be at most 2147483 seconds \(about 24.8 days; negative = run until stopped\), got "9007199254740993"/],
  [['run', '-c', '/dev/null', '-t', '3000000'], /-t\/--timeout must be at most 2147483 seconds/],
  [['stdout', '--max-cmdline-length', '-1'], /--max-cmdline-length must be a whole number >= 0/],
  [['stdout', '-r', '(unclosed'], /-r\/--regex-filter "\(unclosed" is not a valid regular expression: missing closing \)/],
  [['json', '-m', '0'], /--max-top-consumers must be a positive whole number/],
  [['json', '--step-nano', '-5'], /--step-nano must be a whole number >= 0/],
  [['json', '-s', '0', '--step-nano', '0'], /the step must be longer than 0/],
  [['json', '-s', '-0.5'], /-s\/--step must be a number of seconds >= 0 \(0 with -n\/--step-nano\), got "-0.5"/],
  // Named by -s itself (in a file: its key and line), not only by the check of -s plus -n.
  [['json', '-s', '9007199254740993'], /-s\/--step must be at most 2147483 seconds \(about 24.8 days\), got "9007199254740993"/],
  [['prometheus', '-p', '65536'], /-p\/--port must be a TCP port \(0-65535\), got "65536"/],
  [['prometheus', '--suffix', 'a b'], /--suffix must be a URL path/],
  [['remote-write'], /required option '-u, --url <url>' not specified/],
  [['remote-write', '-u', 'ftp://prom.example/api/v1/write'], /-u\/--url must use http or https/],
  [['remote-write', '-u', 'http://user:pw@prom.example/api/v1/write'], /must not hold credentials/],
  [['remote-write', '-u', 'http://127.0.0.1:0/api/v1/write'], /-u\/--url must name the server's port \(1-65535\), got port 0/],
  [['remote-write', '-u', 'http://x/api/v1/write', '--header', 'Content-Type=text/plain'], /--header Content-Type is set by the remote-write protocol/],
  [['remote-write', '-u', 'http://x/api/v1/write', '--label', '__x=y'], /--label name "__x" is not a valid Prometheus label name/],
  // A request timeout beyond a timer's range fired after 1 ms: every request "timed out", nothing was ever sent.
  [['remote-write', '-u', 'http://x/api/v1/write', '--timeout', '99999999'], /--timeout must be at most 2147483 seconds/],
  [['remote-write', '-u', 'http://x/api/v1/write', '--basic-auth-password-file', '/etc/hostname'], /--basic-auth-password-file needs --basic-auth-user/],
  // OTLP: the URL and protocol checked before anything starts, TLS flags refused on a plaintext endpoint.
  [['otlp', '-u', 'ftp://collector:4318/v1/metrics'], /-u\/--url must use http or https, got "ftp:"/],
  [['otlp', '-u', 'collector:4318'], /-u\/--url must use http or https, got "collector:" \(for gRPC, add --protocol grpc\)/],
  [['otlp', '-u', 'http://collector:0/v1/metrics'], /-u\/--url must name the receiver's port \(1-65535\), got port 0/],
  [['otlp', '-u', 'http://user:pw@collector:4318/v1/metrics'], /-u\/--url must not hold credentials/],
  [['otlp', '--protocol', 'thrift'], /--protocol must be http\/protobuf or grpc, got "thrift"/],
  [['otlp', '--protocol', 'http/json'], /--protocol http\/json is not supported: scaph sends binary protobuf; use http\/protobuf or grpc/],
  [['otlp', '--protocol', 'grpc', '-u', 'http://collector:4317/v1/metrics'], /-u\/--url is a gRPC endpoint: host:port without a path/],
  [['otlp', '--naming', 'otel'], /option '--naming <naming>' argument 'otel' is invalid\. Allowed choices are scaph, semconv/],
  [['otlp', '--compression', 'zstd'], /--compression must be gzip or none, got "zstd"/],
  [['otlp', '-u', 'http://collector:4318/v1/metrics', '--ca', '/etc/hostname'], /--ca is for TLS, but the endpoint http:\/\/collector:4318\/v1\/metrics is plaintext: use https:\/\//],
  [['otlp', '--protocol', 'grpc', '-u', 'http://collector:4317', '--insecure'], /--insecure is for TLS, but the endpoint http:\/\/collector:4317 is plaintext/],
  [['otlp', '--header', 'grpc-timeout=1S'], /--header grpc-timeout is set by the OTLP protocol and cannot be replaced/],
  [['otlp', '--protocol', 'grpc', '--header', 'X-Weird!=1'], /header "X-Weird!" cannot go as gRPC metadata/],
  [['otlp', '--bearer-token-file', '/etc/hostname', '--header', 'Authorization=Bearer x'], /choose one authentication/],
  [['otlp', '--resource-attribute', 'novalue'], /--resource-attribute takes key=value/],
  [['otlp', '--resource-attribute', 'a=1', '--resource-attribute', 'a=2'], /--resource-attribute a=1 and a=2 name the same attribute: keep one/],
  [['riemann', '-p', '0'], /-p\/--port must be the server's TCP port \(1-65535\), got "0"/],
  [['riemann', '--ttl', '0'], /--ttl must be a positive number of seconds/],
  [['riemann', '--mtls'], /--mtls needs --ca, --cert, --key/],
  // scaph 0.1 took -s as the step; -s is the metrics path again (as in Scaphandre): a number is refused.
  [['prometheus', '-s', '5'], /-s\/--suffix is the metrics path \(as in Scaphandre\), got the number "5": for the step between measurements use --step 5/],
  [['riemann', '--ca', '/etc/hostname'], /--ca, --cert and --key are only used with --tls or --mtls/],
  [['warp10', '-p', '0', '-t', 'token'], /-p\/--port must be the server's TCP port \(1-65535\)/],
  // -s and -S each take the scheme or the step (Scaphandre 0.5 and 1.0 swapped them): the value tells which.
  [['warp10', '-s', 'ftp', '-t', 'token'], /^scaph: -s takes the scheme \(http or https\) or the step \(seconds between two writes\), got "ftp": Scaphandre 1\.0 reads -S as the scheme and -s as the step, 0\.5 the other way round/],
  [['warp10', '-S', '0', '-t', 'token'], /-S must be a positive number of seconds, got "0"/],
  [['warp10', '--scheme', 'ftp', '-t', 'token'], /--scheme must be http or https, got "ftp"/],
  [['warp10', '-s', '30', '-S', '10', '-t', 'token'], /-s 30 and -S 10 both give the step: keep one \(-s and -S each take the scheme or the step, told apart by the value\)/],
  [['warpten', '-S', 'https', '--scheme', 'http', '-t', 'token'], /-S https and --scheme http both give the scheme: keep one/],
  // Scaphandre 1.0's json --container-regex selects by the container's name, which only --containers looks up.
  [['json', '--container-regex', 'web'], /^scaph: --container-regex selects processes by the name of their container: add --containers/],
  [['stdout', '--container-regex', '(a)\\1', '--containers'], /--container-regex "\(a\)\\1" uses a backreference/],
  [['warp10'], /warp10 needs a write token: pass -t <token>, --write-token-file <path>, or set SCAPH_WARP10_WRITE_TOKEN/],
  [['prometheus-push', '-p', '0'], /-p\/--port must be the server's TCP port \(1-65535\)/],
  [['prometheus-push', '-S', 'gopher'], /-S\/--scheme must be http or https/],
  [['remote-write', '-u', 'http://x/api/v1/write', '--max-backoff', '0'], /--max-backoff must be a positive number of seconds, got "0"/],
  [['riemann', '--min-backoff', 'soon'], /--min-backoff must be a positive number of seconds, got "soon"/],
  // A wait beyond a timer's range would fire at once: a dead backend hammered in a loop.
  [['warp10', '-t', 'token', '--max-backoff', '99999999'], /--max-backoff must be at most 2147483 seconds/],
  [['prometheus-push', '--max-backoff', '-5'], /--max-backoff must be a positive number of seconds/],
  // Metric and label filters (--keep-metrics, --drop-metrics, --drop-labels): refused before anything starts.
  [['remote-write', '-u', 'http://x/api/v1/write', '--keep-metrics', 'scaph_(host'], /--keep-metrics "scaph_\(host" is not a valid regular expression/],
  // Anchored like Prometheus relabelling: a part of a name matches nothing, and would silently send nothing.
  [['riemann', '--drop-metrics', 'process'], /--drop-metrics "process" matches no metric family: it must match a whole name/],
  [['riemann', '--keep-metrics', 'scaph_delivery_.*'], /matches no metric family.*scaph_delivery_\* are never filtered/],
  // Dropping an identity label would merge series: two processes' power summed or overwritten.
  [['warp10', '-t', 'token', '--drop-labels', 'cmdline,pid'], /--drop-labels cannot drop "pid": it tells series apart/],
  [['prometheus', '--drop-labels', 'socket_id'], /--drop-labels cannot drop "socket_id"/],
  [['prometheus-push', '--drop-labels', 'instance'], /--drop-labels cannot drop "instance": the exporter adds it/],
  [['prometheus-push', '--drop-labels', 'cmd-line'], /--drop-labels "cmd-line" is not a label name/],
  [['remote-write', '-u', 'http://x/api/v1/write', '--drop-labels', 'cmdline,,exe'], /--drop-labels takes label names separated by commas, got "cmdline,,exe"/],
  // The table has no labels: a filter there would be ignored.
  [['stdout', '--drop-labels', 'cmdline'], /filter the metrics of --raw-metrics: add --raw-metrics/],
  [['qemu', '-s', '0'], /-s\/--step must be a positive number/],
  // Process selection (issue 20): a top of 0 would send no process and roll every one into the others.
  [['remote-write', '-u', 'http://x/api/v1/write', '--max-top-consumers', '0'], /--max-top-consumers must be a positive whole number, got "0"/],
  [['prometheus', '--max-top-consumers', '2.5'], /--max-top-consumers must be a positive whole number, got "2.5"/],
  [['warp10', '-t', 'token', '--min-process-power', '-1'], /--min-process-power must be a number of watts >= 0 \(decimals allowed\), got "-1"/],
  [['prometheus-push', '--min-process-power', 'lots'], /--min-process-power must be a number of watts >= 0 \(decimals allowed\), got "lots"/],
  [['riemann', '--process-regex', '(unclosed'], /--process-regex "\(unclosed" is not a valid regular expression/],
  [['prometheus', '--exclude-process-regex', '[z-a]'], /--exclude-process-regex "\[z-a\]" is not a valid regular expression: invalid character class range/],
  [['json', '--selection-hold-steps', '-1'], /--selection-hold-steps must be a whole number >= 0, got "-1"/],
  // stdout's shared spelling is an alias of Scaphandre's -p: the message names the flag it stands for.
  [['stdout', '--max-top-consumers', '0'], /-p\/--process-number must be a positive whole number, got "0"/],
  [['nosuchexporter'], /unknown command 'nosuchexporter'/],
  [['run'], /required option '-c, --config <file>' not specified/],
  [['stdout', '--bogus'], /unknown option '--bogus'/],
  // Splay is the push exporters' (their sends are what bunch); a local exporter has no such flag.
  [['prometheus', '--no-splay'], /unknown option '--no-splay'/],
];

const GLOBAL_CASES: ReadonlyArray<readonly [readonly string[], RegExp]> = [
  [['--sensor', 'magic', 'stdout'], /argument 'magic' is invalid/],
  [['--log-format', 'xml', 'stdout'], /option '--log-format <format>' argument 'xml' is invalid\. Allowed choices are text, json/],
  // Watts, not seconds: the flag had borrowed the step's parser ("must be a positive number of seconds", "at most 24.8 days").
  [['--estimate-idle-watts-per-cpu', '-1', 'stdout'], /--estimate-idle-watts-per-cpu must be a number of watts per logical CPU above 0 and at most 1000 \(decimals allowed\), got "-1"/],
  // Scaphandre's buffer sizes have no effect here, yet take what Scaphandre takes (a u16): "abc" was accepted.
  [['--sensor-buffer-per-socket-max-kB', 'abc', 'stdout'], /--sensor-buffer-per-socket-max-kB must be a whole number from 0 to 65535, got "abc"/],
  [['--sensor-buffer-per-domain-max-kB', '-1', 'stdout'], /--sensor-buffer-per-domain-max-kB must be a whole number from 0 to 65535, got "-1"/],
  [['--sensor', 'estimate', '--estimate-idle-watts-per-cpu', '10', '--estimate-max-watts-per-cpu', '1', 'stdout', '-t', '1'], /0 <= idle \(10 W\) <= max \(1 W\)/],
];

describe('bad flags: exit 2 and one line naming the flag', () => {
  it.each(CASES)('scaph %j', async (args, message) => {
    expectFailure(await runScaph([...ESTIMATE, ...args], { env: { SCAPH_WARP10_WRITE_TOKEN: '' } }), 2, message);
  });

  it.each(GLOBAL_CASES)('scaph %j', async (args, message) => {
    expectFailure(await runScaph(['--no-header', ...args]), 2, message);
  });
});

/** [the OTEL_* variables set, what the one-line message must say]: a variable that does not parse stops the start, named. */
const OTEL_CASES: ReadonlyArray<readonly [Readonly<Record<string, string>>, RegExp]> = [
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /\$OTEL_EXPORTER_OTLP_ENDPOINT must use http or https, got "collector:"/],
  [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://:4318' }, /\$OTEL_EXPORTER_OTLP_METRICS_ENDPOINT must be an http\(s\) URL/],
  [{ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization' }, /\$OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas, got "Authorization"/],
  [{ OTEL_EXPORTER_OTLP_HEADERS: 'content-type=text/plain' }, /header content-type \(from \$OTEL_EXPORTER_OTLP_HEADERS or --header\) is set by the OTLP protocol/],
  [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, /\$OTEL_EXPORTER_OTLP_PROTOCOL http\/json is not supported/],
  [{ OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'br' }, /\$OTEL_EXPORTER_OTLP_METRICS_COMPRESSION must be gzip or none, got "br"/],
  [{ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /\$OTEL_EXPORTER_OTLP_TIMEOUT must be a positive whole number of milliseconds, got "10s"/],
  [{ OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name' }, /\$OTEL_RESOURCE_ATTRIBUTES must be key=value pairs separated by commas/],
];

describe("bad OTEL_* variables: exit 2 and one line naming the variable", () => {
  it.each(OTEL_CASES)('%j', async (env, message) => {
    expectFailure(await runScaph([...ESTIMATE, 'otlp', '-S', '1'], { env }), 2, message);
  });
});
