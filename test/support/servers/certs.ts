/**
 * Test certificates made at test time with the openssl CLI: a CA, a server certificate for
 * localhost/127.0.0.1, client certificates with RSA (PKCS#1), PKCS#8 and EC (SEC1) keys, a second
 * "wrong" CA with its own server and client certificates, and a server certificate for another name.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCerts {
  readonly dir: string;
  readonly caFile: string;
  readonly wrongCaFile: string;
  /** Signed by the CA, for DNS:localhost and IP:127.0.0.1; key in PKCS#8 (what Riemann requires). */
  readonly server: CertPair;
  /** Signed by the CA but only for DNS:riemann.invalid: a hostname mismatch for 127.0.0.1. */
  readonly serverOtherName: CertPair;
  /** Signed by the wrong CA, for localhost/127.0.0.1. */
  readonly serverWrongCa: CertPair;
  /** Client certificates signed by the CA, one per key format. */
  readonly clientRsa: CertPair;
  readonly clientPkcs8: CertPair;
  readonly clientEc: CertPair;
  /** A client certificate signed by the wrong CA. */
  readonly clientWrongCa: CertPair;
  read(file: string): Buffer;
  cleanup(): void;
}

type KeyFormat = 'rsa-pkcs1' | 'pkcs8' | 'ec';

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-riemann-certs-'));
  const file = (name: string): string => join(dir, name);
  const caFile = makeCa(file, 'ca', 'scaph test CA');
  const wrongCaFile = makeCa(file, 'wrong-ca', 'scaph wrong CA');
  const localhost = 'DNS:localhost,IP:127.0.0.1';
  return {
    dir,
    caFile,
    wrongCaFile,
    server: makeLeaf(file, 'server', 'ca', 'pkcs8', 'localhost', localhost, 'serverAuth'),
    serverOtherName: makeLeaf(file, 'server-other', 'ca', 'pkcs8', 'riemann.invalid', 'DNS:riemann.invalid', 'serverAuth'),
    serverWrongCa: makeLeaf(file, 'server-wrong', 'wrong-ca', 'pkcs8', 'localhost', localhost, 'serverAuth'),
    clientRsa: makeLeaf(file, 'client-rsa', 'ca', 'rsa-pkcs1', 'scaph-client', null, 'clientAuth'),
    clientPkcs8: makeLeaf(file, 'client-pkcs8', 'ca', 'pkcs8', 'scaph-client', null, 'clientAuth'),
    clientEc: makeLeaf(file, 'client-ec', 'ca', 'ec', 'scaph-client', null, 'clientAuth'),
    clientWrongCa: makeLeaf(file, 'client-wrong', 'wrong-ca', 'pkcs8', 'scaph-client', null, 'clientAuth'),
    read: (f) => readFileSync(f),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Another server certificate signed by the test CA, for `hosts` (names and IP addresses): e.g. for a
 * container reached at the engine's host rather than 127.0.0.1. PKCS#8 RSA key, as Riemann requires.
 */
export function makeServerCert(certs: TestCerts, name: string, hosts: readonly string[]): CertPair {
  return makeLeaf((n) => join(certs.dir, n), name, 'ca', 'pkcs8', hosts[0] ?? 'localhost', subjectAltName(hosts), 'serverAuth');
}

/** `DNS:a,IP:b` for a subjectAltName extension (duplicates dropped). */
export function subjectAltName(hosts: readonly string[]): string {
  const entries = hosts.map((h) => {
    const bare = h.replace(/^\[(.*)\]$/, '$1');
    return isIP(bare) ? `IP:${bare}` : `DNS:${h}`;
  });
  return [...new Set(entries)].join(',');
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeKey(keyFile: string, format: KeyFormat): void {
  if (format === 'ec') openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  else if (format === 'rsa-pkcs1') openssl(['genrsa', '-traditional', '-out', keyFile, '2048']);
  else openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile]);
}

function makeCa(file: (n: string) => string, name: string, cn: string): string {
  makeKey(file(`${name}.key`), 'pkcs8');
  openssl(['req', '-x509', '-new', '-key', file(`${name}.key`), '-sha256', '-days', '2', '-subj', `/CN=${cn}`, '-out', file(`${name}.crt`)]);
  return file(`${name}.crt`);
}

function makeLeaf(
  file: (n: string) => string,
  name: string,
  ca: string,
  format: KeyFormat,
  cn: string,
  san: string | null,
  usage: 'serverAuth' | 'clientAuth',
): CertPair {
  const keyFile = file(`${name}.key`);
  makeKey(keyFile, format);
  openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', file(`${name}.csr`)]);
  const ext = [`extendedKeyUsage=${usage}`, 'basicConstraints=CA:FALSE', ...(san ? [`subjectAltName=${san}`] : [])].join('\n');
  writeFileSync(file(`${name}.ext`), `${ext}\n`);
  openssl([
    'x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`),
  ]);
  return { certFile: file(`${name}.crt`), keyFile };
}
