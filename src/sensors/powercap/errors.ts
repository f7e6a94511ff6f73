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

/** Where the scaph packages install the rules that give group `scaph` read access to energy_uj (systemd/ in the repository). */
export const PACKAGED_TMPFILES_RULE = '/usr/lib/tmpfiles.d/scaph-powercap.conf';
export const PACKAGED_UDEV_RULE = '/usr/lib/udev/rules.d/99-scaph-powercap.rules';

/**
 * How to let scaph read the RAPL counters without root, as the packages ship it: read access for the one
 * group `scaph` (tmpfiles.d or udev), and scaph running in that group. Never read access for every user:
 * the counters are root-only because they leak what other programs compute (CVE-2020-8694).
 */
export const GROUP_READ_FIX =
  'give group scaph read access with the rule the scaph packages install, `sudo systemd-tmpfiles --create scaph-powercap.conf` ' +
  `(${PACKAGED_TMPFILES_RULE}; or the udev rule ${PACKAGED_UDEV_RULE}; from a source checkout see docs/fleet.md), ` +
  'and run scaph in group scaph (the packaged unit runs as User=scaph)';

/** Said with the fix: the advice found elsewhere (chmod o+r) undoes the CVE's fix for every user of the machine. */
export const NOT_WORLD_READABLE = 'Do not make energy_uj readable by all users: it is root-only against the PLATYPUS side channel (CVE-2020-8694).';

/** energy_uj exists but this user may not read it (root-only since the PLATYPUS fix). */
export class PowercapPermissionError extends ScaphError {
  readonly file: string;
  constructor(file: string) {
    super(
      `Permission denied reading ${file}: RAPL energy_uj files are readable by root only since the fix for ` +
        `CVE-2020-8694 (PLATYPUS). To measure without root, ${GROUP_READ_FIX}; or run scaph as root. ${NOT_WORLD_READABLE}`,
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
