/**
 * Connection failures as the delivery core logs them: one stable line per failure (the same at every
 * attempt, so it is said once), and what to change for a TLS mismatch. The inputs are what Node.js and
 * grpc-js gave here against the test receiver.
 */
import { describe, expect, it } from 'vitest';
import { tidyConnectionError } from '../../../../src/exporters/otlp/connection-errors.js';

describe('tidyConnectionError', () => {
  it.each([
    [
      'EPROTO: write EPROTO 80BC8FE2767F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
      'EPROTO: write EPROTO wrong version number (the receiver does not speak TLS there: use an http:// endpoint, or its TLS port)',
    ],
    [
      'No connection established. Last error: 80BC8FE2767F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-12-07T15:44:59.889Z). Resolution note: ',
      'No connection established. Last error: tlsv13 alert certificate required SSL alert number 116 (the receiver asks for a client certificate: give --cert and --key)',
    ],
    [
      'SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain',
      "SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain (the receiver's certificate is not trusted: give its CA with --ca)",
    ],
    ['ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4318', 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4318'],
  ])('%s', (raw, said) => {
    expect(tidyConnectionError(raw)).toBe(said);
  });

  it('the same failure at two attempts reads the same (grpc-js stamps each with its time)', () => {
    const at = (t: string): string => `No connection established. Last error: Failed to connect (${t}). Resolution note: `;
    expect(tidyConnectionError(at('2026-12-07T15:44:59.854Z'))).toBe(tidyConnectionError(at('2026-12-07T15:45:03.101Z')));
    expect(tidyConnectionError(at('2026-12-07T15:44:59.854Z'))).toBe('No connection established. Last error: Failed to connect');
  });
});
