/**
 * Why a connection to Riemann failed, in words a user can act on. TLS problems are configuration
 * mistakes that retrying will not fix by itself, so they are told apart (logged once, loudly).
 */
import { RiemannConnectionLostError, RiemannConnectTimeoutError, type RiemannEndpoint } from './connection.js';
import { errorCode, errorText } from '../../core/errors.js';

/** The flags' files, only for messages. */
export interface RiemannTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
}

export interface RiemannProblem {
  readonly text: string;
  /** A TLS verification or authentication failure (a configuration mistake), not a network hiccup. */
  readonly tls: boolean;
}

/** The server's certificate does not chain to the CA we were given. */
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

const EXPIRED_SERVER = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** OpenSSL alerts the server sends when it refuses our client certificate. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

const CLIENT_CERT_MISSING = new Set(['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE']);

/** Describes a failed connect or request to the Riemann server at `endpoint`. */
export function describeRiemannFailure(err: unknown, endpoint: RiemannEndpoint, files: RiemannTlsFiles = {}): RiemannProblem {
  const code = errorCode(err);
  const where = `${endpoint.host}:${endpoint.port}`;
  const message = errorText(err);
  const ca = files.caFile ? `--ca ${files.caFile}` : 'the CA given with --ca';
  const cert = files.certFile ? `--cert ${files.certFile}` : 'the client certificate';
  if (code && UNTRUSTED_SERVER.has(code)) {
    return tls(`the Riemann server's certificate (${where}) is not signed by the CA in ${ca} (${code}): give --ca the CA that signed the server's certificate`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return tls(`the Riemann server's certificate does not name "${endpoint.host}" (${message}): set -a/--address to a name or address the certificate lists`);
  }
  if (code && EXPIRED_SERVER.has(code)) return tls(`the Riemann server's certificate (${where}) is expired or not yet valid (${code}): renew it or check this machine's clock`);
  if (code && CLIENT_CERT_MISSING.has(code)) {
    return tls(`the Riemann server at ${where} requires a client certificate (${code}): use --mtls with --cert and --key`);
  }
  if (code && CLIENT_CERT_REFUSED.has(code)) {
    return tls(`the Riemann server at ${where} refused our client certificate ${cert} (${code}): it must be signed by a CA the server trusts`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return tls(`${where} does not speak TLS (${code}): drop --tls/--mtls, or use the server's TLS port (Riemann's default is 5554)`);
  }
  if (err instanceof RiemannConnectTimeoutError) return net(message);
  if (err instanceof RiemannConnectionLostError && err.closedBeforeFirstTlsReply) {
    const likely = files.certFile
      ? `refused our client certificate ${cert}, which must be signed by a CA the server trusts`
      : 'requires a client certificate: use --mtls with --cert and --key';
    return tls(`the Riemann server at ${where} closed the TLS connection without answering: it most likely ${likely}`);
  }
  if (code === 'ECONNREFUSED') return net(`nothing accepts connections at ${where} (connection refused): is Riemann running there?`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return net(`cannot resolve "${endpoint.host}" (${code}): check -a/--address`);
  return net(code && !message.includes(code) ? `${code}: ${message} (${where})` : `${message} (${where})`);
}

function tls(text: string): RiemannProblem {
  return { text, tls: true };
}

function net(text: string): RiemannProblem {
  return { text, tls: false };
}

