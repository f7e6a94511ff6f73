/**
 * scaph-<version>-1.<arch>.rpm with rpmbuild (Debian's rpm): the shared layout (layout.ts) staged, then
 * packed by the spec of this folder. scaph.toml is %config(noreplace): an edited file is kept on upgrade
 * (the new one lands as scaph.toml.rpmnew).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { layout, stage, type InstalledFile, type Layout } from '../layout.js';
import type { PackageMeta } from '../meta.js';
import { COMPRESSION } from '../compression.js';

const run = promisify(execFile);

export interface RpmPlan {
  readonly meta: PackageMeta;
  /** rpm's name of the architecture: x86_64, aarch64. */
  readonly arch: string;
  readonly executable: string;
  /** LICENSE and THIRD-PARTY-NOTICES, installed as %license. */
  readonly licences: readonly { readonly name: string; readonly file: string }[];
  readonly root: string;
  readonly workDir: string;
  readonly outDir: string;
}

export async function buildRpm(plan: RpmPlan): Promise<string> {
  const top = join(plan.workDir, `rpm-${plan.arch}`);
  const staged = join(top, 'stage');
  rmSync(top, { recursive: true, force: true });
  const licenceDir = `/usr/share/licenses/${plan.meta.name}`;
  const licences: InstalledFile[] = plan.licences.map((l) => ({ path: `${licenceDir}/${l.name}`, from: { file: l.file }, mode: 0o644 }));
  const files = layout(plan.executable, plan.root, { dir: licenceDir, files: licences });
  stage(files, staged);
  const spec = join(top, `${plan.meta.name}.spec`);
  writeFileSync(spec, specText(plan, files, staged));
  await run(
    'rpmbuild',
    ['-bb', '--target', plan.arch, '--define', `_topdir ${top}`, '--define', `_binary_payload ${COMPRESSION.rpm}`, '--define', `_rpmdir ${join(top, 'out')}`, spec],
    { timeout: 900_000, maxBuffer: 16 << 20 },
  );
  const built = join(top, 'out', plan.arch);
  const name = readdirSync(built).find((f) => f.endsWith('.rpm'));
  if (name === undefined) throw new Error(`rpmbuild wrote no package in ${built}`);
  const out = join(plan.outDir, name);
  mkdirSync(plan.outDir, { recursive: true });
  renameSync(join(built, name), out);
  return out;
}

function specText(plan: RpmPlan, files: Layout, staged: string): string {
  const m = plan.meta;
  const template = readFileSync(join(plan.root, 'packaging', 'rpm', 'scaph.spec.in'), 'utf8');
  const values: Record<string, string> = {
    NAME: m.name,
    VERSION: m.version,
    SUMMARY: m.summary,
    LICENSE: m.license,
    URL: m.homepage,
    MAINTAINER: m.maintainer,
    DESCRIPTION: m.description.join('\n\n'),
    STAGE: staged,
    FILES: fileList(files),
  };
  return template.replace(/@([A-Z]+)@/g, (whole, key: string) => values[key] ?? whole);
}

/** %files: every file with its mode and root ownership; the conffile as %config(noreplace), licences as %license. */
function fileList(l: Layout): string {
  const lines = l.dirs.map((d) => `%dir %attr(${d.mode.toString(8)},root,root) ${d.path}`);
  for (const f of l.files) {
    const attr = `%attr(${f.mode.toString(8)},root,root)`;
    if (f.conffile === true) lines.push(`%config(noreplace) ${attr} ${f.path}`);
    else if (f.path.startsWith('/usr/share/licenses/')) lines.push(`%license ${attr} ${f.path}`);
    else lines.push(`${attr} ${f.path}`);
  }
  return lines.join('\n');
}
