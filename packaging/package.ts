/**
 * npm run package: the single executable, the .deb and the .rpm, under dist/pkg/.
 *
 *   node dist/packaging/package.js [--arch ARCHES] [--out DIR] [--executable-only]
 *
 * dist/pkg/scaph-<version>-linux-<arch>     one file: Node.js with the agent in it (no node, no node_modules needed)
 * dist/pkg/scaph_<version>_<deb arch>.deb   \\ for the host's architecture: the executable, the hardened unit,
 * dist/pkg/scaph-<version>-1.<rpm arch>.rpm  / sysusers, tmpfiles and udev files, /etc/scaph/scaph.toml
 * dist/pkg/THIRD-PARTY-NOTICES              the licences of what the executable embeds (ship it with the bare executable)
 * dist/pkg/SHA256SUMS                       of the executables and packages
 *
 * Offline once the Node.js runtime is in the cache (packaging/executable/node-runtime.ts). npm run build first
 * (npm run package does): the bundle is made from dist/src.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/core/package-file.js';
import { sha256sums } from './checksums.js';
import { buildDeb } from './deb/build-deb.js';
import { bundleAgent } from './executable/bundle.js';
import { executableExecArgv } from './executable/node-flags.js';
import { ARCHES, nodeRuntime, type Arch } from './executable/node-runtime.js';
import { buildExecutable } from './executable/sea.js';
import { bundledPackages, carbonTableComponent, nodeComponent, noticesText } from './licences.js';
import { ZONE_TABLE_FROM, ZONE_TABLE_LICENCE, ZONE_TABLE_SOURCE } from '../src/carbon/zone-table.js';
import { packageMeta } from './meta.js';
import { buildRpm } from './rpm/build-rpm.js';

const DEB_ARCH: Readonly<Record<Arch, string>> = { x64: 'amd64', arm64: 'arm64' };
const RPM_ARCH: Readonly<Record<Arch, string>> = { x64: 'x86_64', arm64: 'aarch64' };

const USAGE = `usage: npm run package -- [--arch ARCHES] [--out DIR]

  --arch ARCHES  comma-separated executables to build: ${ARCHES.join(', ')} (default: the host's, ${process.arch});
                 the .deb and .rpm are built for the host's architecture when it is among them
  --out DIR      where the artefacts go (default dist/pkg; those of an earlier run are replaced)
  --executable-only  no .deb or .rpm (npm run bench builds its executable so)
`;

class UsageError extends Error {}

function log(line: string): void {
  process.stderr.write(`package: ${line}\n`);
}

function isArch(a: string): a is Arch {
  return (ARCHES as readonly string[]).includes(a);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, out: { type: 'string' }, 'executable-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  if (!isArch(process.arch)) throw new UsageError(`the host's architecture ${process.arch} is not one of ${ARCHES.join(', ')}`);
  const hostArch: Arch = process.arch;
  const arches = (values.arch ?? hostArch).split(',').map((a) => a.trim());
  const unknown = arches.filter((a) => !isArch(a));
  if (unknown.length > 0) throw new UsageError(`--arch: unknown ${unknown.join(', ')}; choose from ${ARCHES.join(', ')}`);

  const started = Date.now();
  const root = packageRoot();
  const meta = packageMeta(root);
  const outDir = values.out ?? join(root, 'dist', 'pkg');
  const workDir = join(outDir, 'build');
  removeArtefacts(outDir, meta.name);
  mkdirSync(workDir, { recursive: true });

  const bundle = await bundleAgent(join(root, 'dist', 'src', 'bin.js'), join(workDir, 'scaph.cjs'));
  const host = await nodeRuntime(hostArch);
  const execArgv = executableExecArgv(join(root, 'src', 'bin.ts'), host.version);
  log(`bundle ${mb(bundle.file)} from ${bundle.inputs.length} files; V8 flags ${execArgv.join(' ')}`);
  const components = [
    nodeComponent(host.version, host.licenceFile),
    ...bundledPackages(bundle.inputs, root),
    carbonTableComponent({ source: ZONE_TABLE_SOURCE, from: ZONE_TABLE_FROM, licence: ZONE_TABLE_LICENCE }),
  ];
  const notices = join(outDir, 'THIRD-PARTY-NOTICES');
  writeFileSync(notices, noticesText(components));

  const artefacts: string[] = [];
  for (const arch of arches as Arch[]) {
    const target = arch === hostArch ? host : await nodeRuntime(arch);
    const out = join(outDir, `${meta.name}-${meta.version}-linux-${arch}`);
    const t = Date.now();
    await buildExecutable({ bundle: bundle.file, host, target, execArgv, root, workDir, out });
    artefacts.push(out);
    log(`${out}: ${mb(out)} (Node.js ${target.version}, ${arch}) in ${seconds(t)}`);
  }

  const executable = join(outDir, `${meta.name}-${meta.version}-linux-${hostArch}`);
  if (arches.includes(hostArch) && values['executable-only'] !== true) {
    const version = execFileSync(executable, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
    if (version !== meta.version) throw new Error(`${executable} --version printed "${version}", not ${meta.version}`);
    const licence = join(root, 'LICENSE');
    const date = process.env['SOURCE_DATE_EPOCH'] ? new Date(Number(process.env['SOURCE_DATE_EPOCH']) * 1000) : new Date();
    let t = Date.now();
    const deb = await buildDeb({ meta, arch: DEB_ARCH[hostArch], executable, components, root, workDir, outDir, date });
    artefacts.push(deb);
    log(`${deb}: ${mb(deb)} in ${seconds(t)}`);
    t = Date.now();
    const rpm = await buildRpm({
      meta, arch: RPM_ARCH[hostArch], executable, root, workDir, outDir,
      licences: [{ name: 'LICENSE', file: licence }, { name: 'THIRD-PARTY-NOTICES', file: notices }],
    });
    artefacts.push(rpm);
    log(`${rpm}: ${mb(rpm)} in ${seconds(t)}`);
  }
  writeFileSync(join(outDir, 'SHA256SUMS'), sha256sums(artefacts));
  copyFileSync(join(root, 'LICENSE'), join(outDir, 'LICENSE'));
  rmSync(workDir, { recursive: true, force: true });
  log(`done in ${seconds(started)}: ${outDir}`);
}

/** What an earlier run wrote in `dir` (and only that: --out may name a directory holding other files). */
function removeArtefacts(dir: string, name: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`${name}-`) || f.startsWith(`${name}_`) || ['SHA256SUMS', 'THIRD-PARTY-NOTICES', 'LICENSE', 'build'].includes(f)) {
      rmSync(join(dir, f), { recursive: true, force: true });
    }
  }
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function mb(file: string): string {
  return `${(statSync(file).size / 1048576).toFixed(1)} MB`;
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`package: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
