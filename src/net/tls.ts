import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { FileTooLargeError, NotRegularFileError, ReadTimeoutError, readFileWithin } from '../core/bounded-fs.js';
import { ScaphError, UsageError } from '../core/errors.js';

/** Paths given on the command line (--ca, --cert, --key) and --insecure. */
export interface TlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Skip server certificate verification (self-signed test setups only). */
  readonly insecure?: boolean | undefined;
}

/** What node:tls / undici's `connect` take. */
export interface TlsOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

export type TlsFileRole = 'CA certificate' | 'client certificate' | 'client key';

/** A TLS file we cannot use; the message names the flag's file and what to do. */
export class TlsFileError extends ScaphError {
  constructor(
    readonly role: TlsFileRole,
    readonly path: string,
    why: string,
  ) {
    super(`${role} file "${path}" ${why}`);
  }
}

export class TlsFileMissingError extends TlsFileError {
  constructor(role: TlsFileRole, path: string) {
    super(role, path, 'does not exist: check the path');
  }
}

export class TlsFileUnreadableError extends TlsFileError {
  /** `hint` says what to check; by default the permissions (EACCES and the like). */
  constructor(role: TlsFileRole, path: string, reason: string, hint = 'check its permissions for the user scaph runs as') {
    super(role, path, `cannot be read (${reason}): ${hint}`);
  }
}

export class TlsFileNotPemError extends TlsFileError {
  constructor(role: TlsFileRole, path: string, expected: string) {
    super(role, path, `is not PEM: expected a "-----BEGIN ${expected}" block (convert DER with openssl first)`);
  }
}

/** Both halves of a client certificate, or neither. */
export class TlsClientPairError extends ScaphError {
  constructor() {
    super('--cert and --key go together: give both the client certificate and its private key', 2);
  }
}

/**
 * The client key cannot be used with its certificate (encrypted, not a key, not the certificate's key):
 * a configuration mistake that retrying would hide behind "server unreachable", so scaph refuses to start.
 */
export class TlsKeyPairError extends UsageError {}

/** Loads the CA / client cert / key files into TLS options, failing with a named error per file. */
export async function loadTls(files: TlsFiles): Promise<TlsOptions> {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) throw new TlsClientPairError();
  const ca = files.caFile === undefined ? undefined : await readPem('CA certificate', files.caFile, 'CERTIFICATE');
  const cert = files.certFile === undefined ? undefined : await readPem('client certificate', files.certFile, 'CERTIFICATE');
  const key = files.keyFile === undefined ? undefined : await readPem('client key', files.keyFile, 'PRIVATE KEY');
  if (ca !== undefined && files.caFile !== undefined) parseCertificate(ca, 'CA certificate', files.caFile);
  if (cert !== undefined && key !== undefined && files.certFile !== undefined && files.keyFile !== undefined) {
    checkKeyPair(cert, key, files.certFile, files.keyFile);
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    rejectUnauthorized: !files.insecure,
  };
}

/**
 * Checks that `keyPem` is an unencrypted private key and the one `certPem` was issued for; throws
 * TlsKeyPairError (exit 2) naming both files otherwise.
 */
export function checkKeyPair(certPem: string, keyPem: string, certFile: string, keyFile: string): void {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ERR_MISSING_PASSPHRASE' || /ENCRYPTED/.test(keyPem)) {
      throw new TlsKeyPairError(
        `client key file "${keyFile}" is encrypted with a passphrase, which scaph does not take: write an unencrypted copy ` +
          `("openssl pkey -in ${keyFile} -out <new key file>", readable by scaph's user only) and pass that to --key`,
      );
    }
    throw new TlsKeyPairError(`client key file "${keyFile}" does not hold a usable private key (${(err as Error).message}): check the file given to --key`);
  }
  const cert = parseCertificate(certPem, 'client certificate', certFile);
  if (!cert.checkPrivateKey(key)) {
    throw new TlsKeyPairError(
      `client key file "${keyFile}" does not match the client certificate "${certFile}": give --key the private key the certificate was issued for`,
    );
  }
}

function parseCertificate(pem: string, role: TlsFileRole, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsKeyPairError(`${role} file "${path}" does not hold a valid certificate (${(err as Error).message}): check the file`);
  }
}

async function readPem(role: TlsFileRole, path: string, expected: string): Promise<string> {
  let text: string;
  try {
    text = (await readFileWithin(path, { pipes: true })).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TlsFileMissingError(role, path);
    if (err instanceof NotRegularFileError || err instanceof ReadTimeoutError || err instanceof FileTooLargeError) {
      throw new TlsFileUnreadableError(role, path, err.message, 'give the PEM file itself');
    }
    throw new TlsFileUnreadableError(role, path, code ?? (err as Error).message);
  }
  // "PRIVATE KEY" also matches "RSA PRIVATE KEY" / "EC PRIVATE KEY" blocks.
  const begin = expected === 'PRIVATE KEY' ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/ : /-----BEGIN CERTIFICATE-----/;
  if (!begin.test(text)) throw new TlsFileNotPemError(role, path, expected);
  return text;
}
