import { packageFileText } from './package-file.js';

/** scaph's version, read from its package.json (an asset of the single executable). */
export const VERSION: string = readVersion();

function readVersion(): string {
  try {
    return (JSON.parse(packageFileText('package.json')) as { version: string }).version;
  } catch {
    return '0.0.0-unknown';
  }
}
