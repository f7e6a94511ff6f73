/** TLS and network failures described in words a user can act on (codes as node:tls and OpenSSL report them). */
import { describe, expect, it } from 'vitest';
import { RiemannConnectionLostError } from '../../../../src/exporters/riemann/connection.js';
import { describeRiemannFailure } from '../../../../src/exporters/riemann/problems.js';

const ENDPOINT = { host: 'riemann.example.org', port: 5554, tls: { rejectUnauthorized: true }, connectTimeoutMs: 1000 };
const FILES = { caFile: '/etc/scaph/ca.pem', certFile: '/etc/scaph/client.pem' };

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('describeRiemannFailure', () => {
  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', true, "the Riemann server's certificate (riemann.example.org:5554) is not signed by the CA in --ca /etc/scaph/ca.pem"],
    ['SELF_SIGNED_CERT_IN_CHAIN', true, 'is not signed by the CA in --ca /etc/scaph/ca.pem'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', true, 'does not name "riemann.example.org"'],
    ['CERT_HAS_EXPIRED', true, 'is expired or not yet valid'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', true, 'requires a client certificate (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED): use --mtls with --cert and --key'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', true, 'refused our client certificate --cert /etc/scaph/client.pem'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', true, 'refused our client certificate --cert /etc/scaph/client.pem'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', true, 'does not speak TLS'],
    ['ECONNREFUSED', false, 'nothing accepts connections at riemann.example.org:5554 (connection refused)'],
    ['ENOTFOUND', false, 'cannot resolve "riemann.example.org"'],
  ])('%s', (code, tls, words) => {
    const p = describeRiemannFailure(coded(code), ENDPOINT, FILES);
    expect(p.tls).toBe(tls);
    expect(p.text).toContain(words);
  });

  it('a TLS connection closed before any reply points at the client certificate; a plain one does not', () => {
    const tlsClose = describeRiemannFailure(new RiemannConnectionLostError('closed', undefined, true), ENDPOINT, FILES);
    expect(tlsClose).toEqual({ tls: true, text: expect.stringContaining('most likely refused our client certificate --cert /etc/scaph/client.pem') });
    const noCert = describeRiemannFailure(new RiemannConnectionLostError('closed', undefined, true), ENDPOINT, { caFile: FILES.caFile });
    expect(noCert.text).toContain('most likely requires a client certificate: use --mtls with --cert and --key');
    const plain = describeRiemannFailure(new RiemannConnectionLostError('closed'), ENDPOINT, FILES);
    expect(plain).toEqual({ tls: false, text: 'closed (riemann.example.org:5554)' });
  });

  it('finds the code under a cause', () => {
    const wrapped = new Error('outer', { cause: coded('ECONNRESET', 'read ECONNRESET') });
    expect(describeRiemannFailure(wrapped, ENDPOINT)).toEqual({ tls: false, text: 'ECONNRESET: outer (riemann.example.org:5554)' });
  });
});
