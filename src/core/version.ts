import { readFileSync } from 'node:fs';
import { packageFile } from './package-file.js';

/** scaph's version, read from its package.json. */
export const VERSION: string = readVersion();

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0-unknown';
  }
}
