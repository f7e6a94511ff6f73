/**
 * The setup of the real-Riemann containers, checked where no container engine is needed: the config
 * text they run, the files copied into them, the server key format Riemann's TLS loads (unencrypted
 * PKCS#8 RSA), and a server certificate made for the engine's host.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerCert, makeTestCerts, subjectAltName, type TestCerts } from './certs.js';
import { RIEMANN_CONFIG_PATH } from './images.js';
import { checkRiemannServerKey, clojureFormsClose, riemannConfig, riemannContainerFiles, RiemannKeyFormatError, RIEMANN_TLS_FILES } from './riemann-container.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

describe('Riemann container config', () => {
  it('plain: logs on the console, listens on 0.0.0.0:5555, indexes every event', () => {
    const text = riemannConfig(false);
    expect(clojureFormsClose(text)).toBe(true);
    expect(text).toContain('(logging/init {:console? true})');
    expect(text).toContain('(let [host "0.0.0.0"]');
    expect(text).toContain('(tcp-server {:host host :port 5555})');
    expect(text).toMatch(/\(streams\s+\(default :ttl 60\s+index\)\)\)/);
    expect(text).not.toContain(':tls?');
  });

  it('TLS: a second listener on 5554 with :tls? and the key, certificate and CA where they are copied', () => {
    const text = riemannConfig(true);
    expect(clojureFormsClose(text)).toBe(true);
    expect(text).toContain('(tcp-server {:host host :port 5555})');
    expect(text.replace(/\s+/g, ' ')).toContain(
      `(tcp-server {:host host :port 5554 :tls? true :key "${RIEMANN_TLS_FILES.key}" :cert "${RIEMANN_TLS_FILES.cert}" :ca-cert "${RIEMANN_TLS_FILES.caCert}"})`,
    );
  });

  it('copies the config to the path the image reads and the TLS files to the paths the config names', () => {
    expect(RIEMANN_CONFIG_PATH).toBe('/etc/riemann.config');
    const plain = riemannContainerFiles(null);
    expect(plain.content.map((c) => c.target)).toEqual(['/etc/riemann.config']);
    expect(plain.files).toEqual([]);
    const tls = riemannContainerFiles({ caFile: certs.caFile, server: certs.server });
    expect(tls.files).toEqual([
      { source: certs.caFile, target: RIEMANN_TLS_FILES.caCert },
      { source: certs.server.certFile, target: RIEMANN_TLS_FILES.cert },
      { source: certs.server.keyFile, target: RIEMANN_TLS_FILES.key },
    ]);
    expect(tls.content[0]?.content).toBe(riemannConfig(true));
  });
});

describe('Riemann server key format', () => {
  it('accepts the test server key: unencrypted PKCS#8 RSA', () => {
    const pem = readFileSync(certs.server.keyFile, 'utf8');
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(() => checkRiemannServerKey(pem, certs.server.keyFile)).not.toThrow();
  });

  it('refuses a PKCS#1 RSA key, saying how to convert it', () => {
    const pem = readFileSync(certs.clientRsa.keyFile, 'utf8');
    expect(() => checkRiemannServerKey(pem, 'k.pem')).toThrow(RiemannKeyFormatError);
    expect(() => checkRiemannServerKey(pem, 'k.pem')).toThrow('k.pem: Riemann needs an unencrypted PKCS#8 key ("BEGIN PRIVATE KEY"), found a "BEGIN RSA PRIVATE KEY" block: convert it with openssl pkcs8 -topk8 -nocrypt');
  });

  it('refuses an EC key (even as PKCS#8): Riemann loads RSA keys only', () => {
    const sec1 = readFileSync(certs.clientEc.keyFile, 'utf8');
    expect(() => checkRiemannServerKey(sec1, 'ec.pem')).toThrow(/found a "BEGIN EC PRIVATE KEY" block/);
    const pkcs8Ec = join(certs.dir, 'ec-pkcs8.key');
    writeFileSync(pkcs8Ec, createPrivateKey(sec1).export({ type: 'pkcs8', format: 'pem' }));
    expect(() => checkRiemannServerKey(readFileSync(pkcs8Ec, 'utf8'), 'ec8.pem')).toThrow('ec8.pem: Riemann loads RSA keys only (less-awful-ssl\'s RSA KeyFactory), this one is ec');
  });

  it('refuses the container setup before starting anything when the key is not PKCS#8', () => {
    expect(() => riemannContainerFiles({ caFile: certs.caFile, server: certs.clientRsa })).toThrow(RiemannKeyFormatError);
  });
});

describe('server certificate for the engine host', () => {
  it('names IPs as IP and the rest as DNS, once each', () => {
    expect(subjectAltName(['localhost', '127.0.0.1', 'docker.example', '::1', '[fd00::2]', '127.0.0.1'])).toBe(
      'DNS:localhost,IP:127.0.0.1,DNS:docker.example,IP:::1,IP:fd00::2',
    );
  });

  it('is signed by the test CA, lists the host, and has a key Riemann loads', () => {
    const pair = makeServerCert(certs, 'server-engine', ['localhost', '127.0.0.1', '192.0.2.7']);
    const cert = new X509Certificate(readFileSync(pair.certFile));
    const ca = new X509Certificate(readFileSync(certs.caFile));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:192.0.2.7');
    expect(cert.checkIP('192.0.2.7')).toBe('192.0.2.7');
    expect(() => checkRiemannServerKey(readFileSync(pair.keyFile, 'utf8'), pair.keyFile)).not.toThrow();
    expect(createPublicKey(readFileSync(pair.keyFile)).equals(cert.publicKey)).toBe(true);
  });
});
