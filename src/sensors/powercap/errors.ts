import { ScaphError } from '../../core/errors.js';

/** The powercap tree is absent or holds no intel-rapl zone. */
export class PowercapMissingError extends ScaphError {
  constructor(powercapPath: string, detail: string) {
    super(
      `No RAPL powercap zone found under ${powercapPath} (${detail}). ` +
        'On a physical machine, load the kernel module: `sudo modprobe intel_rapl_common` ' +
        '(`intel_rapl` on kernels older than 5.0; AMD CPUs need kernel >= 5.8). ' +
        'Inside a virtual machine there is no RAPL: run `scaph qemu` on the hypervisor and start scaph in the ' +
        'guest with `--vm`. Without RAPL, use `--sensor estimate` for a CPU-load based estimate.',
    );
  }
}

/** energy_uj exists but this user may not read it (root-only since the PLATYPUS fix). */
export class PowercapPermissionError extends ScaphError {
  readonly file: string;
  constructor(file: string) {
    super(
      `Permission denied reading ${file}. RAPL energy_uj files are readable by root only since the fix for ` +
        'CVE-2020-8694 (PLATYPUS). Either run scaph as root, or grant read access: ' +
        '`sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*/*/energy_uj` ' +
        '(lost at reboot); to make it permanent add a systemd-tmpfiles rule, e.g. /etc/tmpfiles.d/scaph.conf with ' +
        '`z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root scaph -` and ' +
        '`z /sys/class/powercap/intel-rapl:*/*/energy_uj 0440 root scaph -` and run scaph as a member of group ' +
        'scaph (or an equivalent udev rule).',
    );
    this.file = file;
  }
}

/** Zones exist but none of them gives a usable reading (malformed or unreadable energy_uj everywhere). */
export class PowercapUnusableError extends ScaphError {
  constructor(powercapPath: string, problems: readonly string[]) {
    super(
      `No usable RAPL zone under ${powercapPath}: ${problems.join('; ')}. ` +
        'Check that the files hold plain numbers (`cat <file>`); if the tree was written by `scaph qemu` on the ' +
        'hypervisor, check that exporter. Without RAPL, use `--sensor estimate`.',
    );
  }
}
