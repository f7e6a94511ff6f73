import { readRegularFileSync } from './bounded-fs.js';

/** Where systemd keeps the machine's identity (machine-id(5)). */
export const MACHINE_ID_FILE = '/etc/machine-id';
/**
 * Another file to read it from: a container that mounts the host's /etc/machine-id elsewhere (its own is
 * the image's, shared by every pod), or tests.
 */
export const MACHINE_ID_FILE_ENV = 'SCAPH_MACHINE_ID_FILE';

/** machine-id(5): 32 lower-case hexadecimal characters and a newline. */
const MACHINE_ID = /^[0-9a-f]{32}$/;

/**
 * The machine id, or null when there is none to trust: no file, unreadable, empty (images that get one at
 * first boot ship it empty), "uninitialized" (systemd, early at first boot) or anything else that is not
 * 32 hex characters.
 */
export function readMachineId(env: NodeJS.ProcessEnv = process.env): string | null {
  const path = env[MACHINE_ID_FILE_ENV]?.trim() || MACHINE_ID_FILE;
  let text: string;
  try {
    text = readRegularFileSync(path, 4096).toString('utf8');
  } catch {
    return null;
  }
  const id = text.trim().toLowerCase();
  return MACHINE_ID.test(id) ? id : null;
}
