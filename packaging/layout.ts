/**
 * What both packages install, and where: one list, so the .deb and the .rpm cannot drift apart. Paths are
 * those of current Debian, Ubuntu, Fedora, RHEL and SUSE (units, sysusers, tmpfiles and udev rules under
 * /usr/lib). /var/lib/scaph is not in it: systemd creates it (StateDirectory=), and it is never the
 * package's to delete on removal.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface InstalledFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** The file to copy, or its content. */
  readonly from: { readonly file: string } | { readonly content: string | Buffer };
  readonly mode: number;
  /** The operator's file: kept across upgrades and reinstalls, removed on purge only. */
  readonly conffile?: boolean;
}

export interface InstalledDir {
  readonly path: string;
  readonly mode: number;
}

export interface Layout {
  readonly files: readonly InstalledFile[];
  /** Directories owned by the package beyond the parents of its files (created empty). */
  readonly dirs: readonly InstalledDir[];
}

export const CONFIG_FILE = '/etc/scaph/scaph.toml';
export const HOOKS = '/usr/lib/scaph/package-hooks';
export const DOC_DIR = '/usr/share/doc/scaph';

/** What differs between the packages: the documentation and licence files (Debian: DOC_DIR; rpm: /usr/share/licenses/scaph). */
export interface PackageDocs {
  readonly dir: string;
  readonly files: readonly InstalledFile[];
}

/** The files of both packages, and the directories they own. */
export function layout(executable: string, root: string, docs: PackageDocs): Layout {
  const file = (path: string, source: string, mode = 0o644, conffile = false): InstalledFile => ({ path, from: { file: resolve(root, source) }, mode, conffile });
  return {
    files: [
      file('/usr/bin/scaph', executable, 0o755),
      file('/usr/lib/systemd/system/scaph.service', 'systemd/scaph.service'),
      file('/usr/lib/sysusers.d/scaph.conf', 'systemd/scaph.sysusers.conf'),
      file('/usr/lib/tmpfiles.d/scaph-powercap.conf', 'systemd/scaph-powercap.conf'),
      file('/usr/lib/udev/rules.d/99-scaph-powercap.rules', 'systemd/99-scaph-powercap.rules'),
      file(HOOKS, 'packaging/package-hooks.sh', 0o755),
      file(CONFIG_FILE, 'packaging/scaph.toml', 0o644, true),
      // gzip -9n equivalent: no name, no time in the header (reproducible, and what lintian expects).
      { path: '/usr/share/man/man1/scaph.1.gz', from: { content: gzipSync(readFileSync(resolve(root, 'packaging/scaph.1')), { level: 9 }) }, mode: 0o644 },
      ...docs.files,
    ],
    dirs: [
      { path: '/etc/scaph', mode: 0o755 },
      // Secrets for LoadCredential=, readable by root only.
      { path: '/etc/scaph/credentials', mode: 0o700 },
      { path: '/usr/lib/scaph', mode: 0o755 },
      { path: docs.dir, mode: 0o755 },
    ],
  };
}

/** Writes the layout under `dest` (a package's root), with its modes (other directories 0755, the umask permitting). */
export function stage(l: Layout, dest: string): void {
  for (const f of l.files) {
    const to = join(dest, f.path);
    mkdirSync(dirname(to), { recursive: true });
    if ('file' in f.from) copyFileSync(f.from.file, to);
    else writeFileSync(to, f.from.content);
    chmodSync(to, f.mode);
  }
  for (const d of l.dirs) {
    mkdirSync(join(dest, d.path), { recursive: true });
    chmodSync(join(dest, d.path), d.mode);
  }
}
