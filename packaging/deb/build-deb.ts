/**
 * scaph_<version>_<arch>.deb with dpkg-deb: the shared layout (layout.ts), DEP-5 copyright, a changelog,
 * conffiles, md5sums, the maintainer scripts of this folder, and the shared libraries the executable
 * links (dpkg-shlibdeps) as its only dependencies: no nodejs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { ThirdParty } from '../licences.js';
import { layout, stage, DOC_DIR, type InstalledFile, type Layout } from '../layout.js';
import type { PackageMeta } from '../meta.js';
import { debianCopyright } from './copyright.js';
import { walkFiles } from '../walk.js';
import { COMPRESSION } from '../compression.js';

const run = promisify(execFile);

export interface DebPlan {
  readonly meta: PackageMeta;
  /** Debian's name of the architecture: amd64, arm64. */
  readonly arch: string;
  readonly executable: string;
  readonly components: readonly ThirdParty[];
  readonly root: string;
  readonly workDir: string;
  readonly outDir: string;
  /** The build's time (SOURCE_DATE_EPOCH when set): the changelog's date. */
  readonly date: Date;
}

export async function buildDeb(plan: DebPlan): Promise<string> {
  const tree = join(plan.workDir, `deb-${plan.arch}`);
  rmSync(tree, { recursive: true, force: true });
  const docs: InstalledFile[] = [
    { path: `${DOC_DIR}/copyright`, from: { content: debianCopyright(plan.meta, plan.components) }, mode: 0o644 },
    // Binary: gzip -9n equivalent (no name, no time), as lintian wants for changelogs.
    { path: `${DOC_DIR}/changelog.gz`, from: { content: gzipSync(changelog(plan.meta, plan.date), { level: 9 }) }, mode: 0o644 },
    { path: `/usr/share/lintian/overrides/${plan.meta.name}`, from: { file: join(plan.root, 'packaging', 'deb', 'lintian-overrides') }, mode: 0o644 },
  ];
  const files = layout(plan.executable, plan.root, { dir: DOC_DIR, files: docs });
  stage(files, tree);

  const control = join(tree, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  for (const script of ['postinst', 'prerm', 'postrm']) {
    copyFileSync(join(plan.root, 'packaging', 'deb', script), join(control, script));
    chmodSync(join(control, script), 0o755);
  }
  writeFileSync(join(control, 'conffiles'), conffiles(files));
  writeFileSync(join(control, 'md5sums'), md5sums(tree));
  writeFileSync(join(control, 'control'), controlFile(plan, await sharedLibraryDepends(plan), installedSizeKib(tree)));
  for (const f of ['conffiles', 'md5sums', 'control']) chmodSync(join(control, f), 0o644);

  const out = join(plan.outDir, `${plan.meta.name}_${plan.meta.version}_${plan.arch}.deb`);
  await run('dpkg-deb', ['--root-owner-group', `-Z${COMPRESSION.deb}`, `-z${COMPRESSION.level}`, '--threads-max=1', '--build', tree, out], { timeout: 600_000 });
  return out;
}

function controlFile(plan: DebPlan, depends: string, installedKib: number): string {
  const m = plan.meta;
  const long = m.description.map((p) => wrap(p, 78).map((l) => ` ${l}`).join('\n')).join('\n .\n');
  return [
    `Package: ${m.name}`,
    `Version: ${m.version}`,
    `Architecture: ${plan.arch}`,
    `Maintainer: ${m.maintainer}`,
    `Installed-Size: ${installedKib}`,
    `Depends: ${depends}`,
    'Section: admin',
    'Priority: optional',
    `Homepage: ${m.homepage}`,
    `Description: ${m.summary}`,
    long,
    '',
  ].join('\n');
}

function conffiles(l: Layout): string {
  return l.files.filter((f) => f.conffile === true).map((f) => `${f.path}\n`).join('');
}

function md5sums(tree: string): string {
  return walkFiles(tree)
    .filter((f) => !relative(tree, f).startsWith('DEBIAN'))
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(tree, f)}\n`)
    .join('');
}

function installedSizeKib(tree: string): number {
  return walkFiles(tree).reduce((sum, f) => sum + Math.ceil(statSync(f).size / 1024), 0);
}

/** libc6, libgcc-s1, libstdc++6 at the versions the executable's symbols need, as Debian's own packages compute them. */
async function sharedLibraryDepends(plan: DebPlan): Promise<string> {
  const dir = join(plan.workDir, `shlibdeps-${plan.arch}`);
  mkdirSync(join(dir, 'debian'), { recursive: true });
  writeFileSync(join(dir, 'debian', 'control'), `Source: ${plan.meta.name}\n\nPackage: ${plan.meta.name}\nArchitecture: any\n`);
  const { stdout } = await run('dpkg-shlibdeps', ['-O', `-e${plan.executable}`], { cwd: dir, timeout: 120_000 });
  const depends = /^shlibs:Depends=(.+)$/m.exec(stdout)?.[1];
  if (depends === undefined) throw new Error(`dpkg-shlibdeps gave no dependencies for ${plan.executable}: ${stdout}`);
  return depends;
}

function changelog(meta: PackageMeta, date: Date): string {
  // RFC 5322 date, as dpkg-parsechangelog reads it.
  const when = date.toUTCString().replace(/GMT$/, '+0000');
  return `${meta.name} (${meta.version}) unstable; urgency=medium\n\n  * scaph ${meta.version}: ${meta.homepage}/releases\n\n -- ${meta.maintainer}  ${when}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
