/**
 * Recognises qemu guests among processes and reads the VM name from their argv.
 *
 * qemu's syntax is `-name [guest=]NAME[,process=P][,debug-threads=on|off]`; a literal comma in a
 * value is written ",,". libvirt writes `-name guest=vm1,debug-threads=on`; Proxmox writes
 * `-name vm100` or `-name myvm,debug-threads=on`. qemu accepts `--name` as well as `-name`.
 */

/** True for qemu-system-* binaries, RHEL's qemu-kvm, and Proxmox's `kvm` wrapper. */
export function isQemuProcess(exe: string, argv: readonly string[]): boolean {
  if (exe.startsWith('qemu-system') || exe === 'qemu-kvm') return true;
  const argv0 = argv[0] ?? '';
  const name = argv0.slice(argv0.lastIndexOf('/') + 1);
  return name.startsWith('qemu-system') || name === 'qemu-kvm' || (name === 'kvm' && argv.includes('-name'));
}

export function vmNameFromCmdline(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length - 1; i++) {
    const arg = argv[i];
    if (arg !== '-name' && arg !== '--name') continue;
    return nameFromOptionValue(argv[i + 1] as string);
  }
  return null;
}

/** The guest name in a `-name` value: the `guest=` key, or the first, key-less element. */
function nameFromOptionValue(value: string): string | null {
  const parts = splitQemuOptions(value);
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] as string;
    if (part.startsWith('guest=')) return part.slice(6) || null;
    if (k === 0 && !isKeyValue(part)) return part || null;
  }
  return null;
}

const KNOWN_KEYS = ['process=', 'debug-threads='];

function isKeyValue(part: string): boolean {
  return KNOWN_KEYS.some((key) => part.startsWith(key));
}

/** Splits on "," but not on ",," (qemu's escaped comma, which stands for one literal comma). */
function splitQemuOptions(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === ',') {
      if (value[i + 1] === ',') {
        current += ',';
        i++;
        continue;
      }
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}
