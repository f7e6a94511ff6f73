import { describe, expect, it } from 'vitest';
import { isQemuProcess, vmNameFromCmdline } from '../../../src/sensors/qemu.js';

describe('vmNameFromCmdline', () => {
  it('reads libvirt guest= names', () => {
    const argv = ['/usr/bin/qemu-system-x86_64', '-name', 'guest=vm1,debug-threads=on', '-S', '-machine', 'pc'];
    expect(vmNameFromCmdline(argv)).toBe('vm1');
  });
  it('reads Proxmox names, plain and with options', () => {
    expect(vmNameFromCmdline(['/usr/bin/kvm', '-id', '100', '-name', 'vm100', '-no-shutdown'])).toBe('vm100');
    expect(vmNameFromCmdline(['/usr/bin/kvm', '-id', '101', '-name', 'myvm,debug-threads=on'])).toBe('myvm');
  });
  it('handles --name, escaped commas and guest= after other keys', () => {
    expect(vmNameFromCmdline(['qemu-system-aarch64', '--name', 'a,,b,process=qemu-ab'])).toBe('a,b');
    expect(vmNameFromCmdline(['qemu-system-x86_64', '-name', 'debug-threads=on,guest=late'])).toBe('late');
  });
  it('is null without a usable -name', () => {
    expect(vmNameFromCmdline(['qemu-system-x86_64', '-m', '1024'])).toBeNull();
    expect(vmNameFromCmdline(['qemu-system-x86_64', '-name'])).toBeNull();
    expect(vmNameFromCmdline(['qemu-system-x86_64', '-name', 'debug-threads=on'])).toBeNull();
  });
});

describe('isQemuProcess', () => {
  it('recognises qemu-system, qemu-kvm and the Proxmox kvm wrapper', () => {
    expect(isQemuProcess('qemu-system-x86_64', [])).toBe(true);
    expect(isQemuProcess('qemu-kvm', [])).toBe(true);
    expect(isQemuProcess('kvm', ['/usr/bin/kvm', '-name', 'x'])).toBe(true);
    expect(isQemuProcess('unknown', ['/usr/libexec/qemu-kvm'])).toBe(true);
    expect(isQemuProcess('nginx', ['nginx', '-name', 'x'])).toBe(false);
  });
});
