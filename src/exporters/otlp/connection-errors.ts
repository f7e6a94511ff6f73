/**
 * A connection failure as one stable line: what OpenSSL and grpc-js add (an address and a source path per
 * OpenSSL error, grpc-js's time of the last attempt and an empty "Resolution note") is cut, so the same
 * failure reads the same at every attempt (the delivery core says each distinct error once), and a TLS
 * mismatch says what to change.
 */

const HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/wrong version number|packet length too long|http request/i, 'the receiver does not speak TLS there: use an http:// endpoint, or its TLS port'],
  [/certificate required|peer did not return a certificate/i, 'the receiver asks for a client certificate: give --cert and --key'],
  [/self.signed|unable to (get local issuer|verify)|certificate (has expired|verify failed)|CERT_/i, "the receiver's certificate is not trusted: give its CA with --ca"],
  [/altnames|hostname.*(mismatch|does not match)|ERR_TLS_CERT_ALTNAME/i, 'the certificate does not name this host: connect with the name it was issued for'],
];

/** `text` without the noise (see above), and with what to do when the failure says it. */
export function tidyConnectionError(text: string): string {
  const tidy = text
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]{8}:SSL routines:\w+:/g, '')
    .replace(/:\.\.\/deps\/openssl\/\S*?:\d+:/g, ' ')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const hint = HINTS.find(([pattern]) => pattern.test(tidy))?.[1];
  return hint === undefined ? tidy : `${tidy} (${hint})`;
}
