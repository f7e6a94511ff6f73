/** What both packages say about themselves: from package.json, plus what a distribution package needs besides. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PackageMeta {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly homepage: string;
  /** Who answers for the package (Debian's Maintainer, rpm's Packager): `Name <address>`. */
  readonly maintainer: string;
  readonly summary: string;
  /** Paragraphs of the long description. */
  readonly description: readonly string[];
}

export function packageMeta(root: string): PackageMeta {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; license: string; homepage: string; author: string };
  return {
    name: pkg.name,
    version: pkg.version,
    license: pkg.license,
    homepage: pkg.homepage,
    maintainer: pkg.author,
    summary: 'power-metering agent: host, socket, process, container and VM power',
    description: [
      'scaph measures the electrical power of a Linux host, each CPU socket and RAPL domain, and each process, container and virtual machine, and ships those figures to the monitoring you already run: Prometheus (scrape, remote-write, Pushgateway), Riemann, Warp 10, stdout or JSON. It speaks Scaphandre\'s metric names, labels and flags.',
      'This package holds one self-contained executable (Node.js built in), the hardened systemd unit scaph.service (not enabled on install), its system user, and the tmpfiles.d and udev rules that let group scaph read the RAPL energy counters.',
    ],
  };
}
