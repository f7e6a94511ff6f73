/**
 * The real Riemann (riemannio/riemann image) through testcontainers, with a config of ours copied to
 * the path the image reads (/etc/riemann.config): logs on the console (the image's own config logs to a
 * file, so a failed start would show nothing), plain TCP on 5555 (events and the tests' queries), and
 * with `tls` a mutual-TLS listener on 5554 with the test CA, a server certificate and its key.
 *
 * Riemann's TLS (less-awful-ssl) reads the server key as an unencrypted PKCS#8 RSA key
 * (`-----BEGIN PRIVATE KEY-----` through an RSA KeyFactory): checked before anything starts.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runContainer, stopContainer } from './containers.js';
import type { CertPair } from './certs.js';
import { RIEMANN_CONFIG_PATH, RIEMANN_IMAGE, RIEMANN_PLATFORM } from './images.js';

/** An emulated amd64 JVM (Apple silicon) takes minutes to come up. */
export const RIEMANN_START_MS = 240_000;
export const RIEMANN_TCP_PORT = 5555;
export const RIEMANN_TLS_PORT = 5554;

/** Where the TLS files go inside the container. */
export const RIEMANN_TLS_FILES = {
  caCert: '/etc/riemann/tls/ca.crt',
  cert: '/etc/riemann/tls/server.crt',
  key: '/etc/riemann/tls/server.pkcs8.key',
} as const;

export interface RiemannTlsSetup {
  readonly caFile: string;
  readonly server: CertPair;
}

export interface RiemannContainer {
  readonly host: string;
  /** Plain TCP (mapped 5555). */
  readonly port: number;
  /** Mutual TLS (mapped 5554), when started with TLS. */
  readonly tlsPort: number | null;
  stop(): Promise<void>;
}

export class RiemannKeyFormatError extends Error {
  override readonly name = 'RiemannKeyFormatError';
}

/** Throws unless `pem` is an unencrypted PKCS#8 RSA private key, the only kind Riemann's TLS loads. */
export function checkRiemannServerKey(pem: string, file: string): void {
  const header = /^-----BEGIN ([A-Z ]*)PRIVATE KEY-----$/m.exec(pem)?.[1] ?? null;
  if (header !== '') {
    const found = header === null ? 'no PEM private key' : `a "BEGIN ${header}PRIVATE KEY" block`;
    throw new RiemannKeyFormatError(`${file}: Riemann needs an unencrypted PKCS#8 key ("BEGIN PRIVATE KEY"), found ${found}: convert it with openssl pkcs8 -topk8 -nocrypt`);
  }
  const type = createPrivateKey(pem).asymmetricKeyType;
  if (type !== 'rsa') throw new RiemannKeyFormatError(`${file}: Riemann loads RSA keys only (less-awful-ssl's RSA KeyFactory), this one is ${type ?? 'unknown'}`);
}

/** Every ( [ { of a Clojure text (a riemann.config) has its match, strings and ; comments aside. */
export function clojureFormsClose(text: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let inString = false;
  for (const line of text.split('\n')) {
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i] as string;
      if (inString) {
        if (c === '\\') i += 1;
        else if (c === '"') inString = false;
      } else if (c === ';') break;
      else if (c === '"') inString = true;
      else if ('([{'.includes(c)) stack.push(c);
      else if (c in pairs && stack.pop() !== pairs[c]) return false;
    }
  }
  return stack.length === 0 && !inString;
}

/** The riemann.config the container runs (Clojure): console logging, plain TCP, optional mutual TLS, an index. */
export function riemannConfig(tls: boolean): string {
  const tlsServer = tls
    ? [
        `  (tcp-server {:host host :port ${RIEMANN_TLS_PORT} :tls? true`,
        `               :key "${RIEMANN_TLS_FILES.key}"`,
        `               :cert "${RIEMANN_TLS_FILES.cert}"`,
        `               :ca-cert "${RIEMANN_TLS_FILES.caCert}"})`,
      ]
    : [];
  return [
    '; Written by scaph tests (test/support/servers/riemann-container.ts).',
    '(logging/init {:console? true})',
    '(let [host "0.0.0.0"]',
    `  (tcp-server {:host host :port ${RIEMANN_TCP_PORT}})`,
    ...tlsServer,
    ')',
    '(periodically-expire 5)',
    '(let [index (index)]',
    '  (streams',
    '    (default :ttl 60',
    '      index)))',
    '',
  ].join('\n');
}

/** What gets copied into the container: the config, and with TLS the CA, certificate and key. */
export function riemannContainerFiles(tls: RiemannTlsSetup | null): { content: Array<{ content: string; target: string }>; files: Array<{ source: string; target: string }> } {
  const content = [{ content: riemannConfig(tls !== null), target: RIEMANN_CONFIG_PATH }];
  if (!tls) return { content, files: [] };
  checkRiemannServerKey(readFileSync(tls.server.keyFile, 'utf8'), tls.server.keyFile);
  return {
    content,
    files: [
      { source: tls.caFile, target: RIEMANN_TLS_FILES.caCert },
      { source: tls.server.certFile, target: RIEMANN_TLS_FILES.cert },
      { source: tls.server.keyFile, target: RIEMANN_TLS_FILES.key },
    ],
  };
}

export async function startRiemannContainer(tls: RiemannTlsSetup | null = null): Promise<RiemannContainer> {
  const { Wait } = await import('testcontainers');
  const copied = riemannContainerFiles(tls);
  const ports = tls ? [RIEMANN_TCP_PORT, RIEMANN_TLS_PORT] : [RIEMANN_TCP_PORT];
  const container = await runContainer(
    tls ? 'Riemann (mutual TLS)' : 'Riemann',
    RIEMANN_IMAGE,
    (c) =>
      c
        .withExposedPorts(...ports)
        .withCopyContentToContainer(copied.content)
        .withCopyFilesToContainer(copied.files)
        .withWaitStrategy(Wait.forAll([Wait.forLogMessage(/Hyperspace core online/), Wait.forListeningPorts()])),
    { startMs: RIEMANN_START_MS, platform: RIEMANN_PLATFORM },
  );
  return {
    host: container.getHost(),
    port: container.getMappedPort(RIEMANN_TCP_PORT),
    tlsPort: tls ? container.getMappedPort(RIEMANN_TLS_PORT) : null,
    stop: () => stopContainer(container),
  };
}
