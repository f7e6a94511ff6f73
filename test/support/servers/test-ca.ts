/**
 * A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with the
 * openssl CLI at test time (nothing secret is checked in).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  readonly caPath: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function makeTestPki(dir: string): TestPki {
  const p = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=scaph test CA', '-keyout', p('ca.key'), '-out', p('ca.crt'));
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=kubernetes', '-keyout', p('server.key'), '-out', p('server.csr'));
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', p('ext.cnf'), '-out', p('server.crt'));
  return {
    caPath: p('ca.crt'),
    ca: readFileSync(p('ca.crt')),
    cert: readFileSync(p('server.crt')),
    key: readFileSync(p('server.key')),
  };
}
