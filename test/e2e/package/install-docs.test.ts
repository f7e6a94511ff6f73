/**
 * The install commands of the README, docs/install.md and docs/fleet.md against what `npm run package`
 * writes and what the packages install: the artefact names of this version, and, for the install without
 * packages, every file copied from this repository to the path and mode the packages give it
 * (packaging/layout.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layout } from '../../../packaging/layout.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { docSection } from '../../support/harness/markdown-docs.js';

const ROOT = packageRoot();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The front page's install (the packages, then the bare executable), and what the packages do. */
const INSTALL = docSection('README.md', '## Install');
const PACKAGES = docSection('docs/install.md', '## What the packages do');
const FLEET = readFileSync(join(ROOT, 'docs', 'fleet.md'), 'utf8');
const EXECUTABLE = `dist/pkg/scaph-${VERSION}-linux-x64`;

/** The lines of the first sh block after `heading`, comments dropped. */
function block(doc: string, heading: string): string[] {
  const at = doc.indexOf(heading);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const body = /```sh\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '';
  return body.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
}

describe('the install commands of the docs', () => {
  it('name the artefacts npm run package writes for this version', () => {
    const names = [`scaph_${VERSION}_amd64.deb`, `scaph-${VERSION}-1.x86_64.rpm`];
    expect(block(INSTALL, '### Packages').slice(0, 2)).toEqual([`sudo apt install ./${names[0]}`, `sudo dnf install ./${names[1]}`]);
    expect(block(FLEET, '## 1. Install')).toEqual([`apt install ./${names[0]}`]);
    expect(FLEET).toContain(`dnf install ./${names[1]}`);
    expect(block(INSTALL, 'The bare executable runs anywhere')).toContain(`sudo install -m 0755 scaph-${VERSION}-linux-x64 /usr/local/bin/scaph`);
    expect(PACKAGES).toContain(`sudo SCAPH_ENABLE_SERVICE=1 apt install ./${names[0]}`);
  });

  it('install without the packages puts each file where the packages do, with their modes, and no more', () => {
    const lines = block(FLEET, 'Without the packages');
    const installs = lines.flatMap((l) => l.split(' && ')).filter((c) => c.startsWith('install '));
    const copied = new Map<string, { source: string; mode: number }>();
    const dirs: Array<{ path: string; mode: number }> = [];
    for (const command of installs) {
      const argv = command.split(/\s+/);
      const mode = Number.parseInt(argv[argv.indexOf('-m') + 1] ?? '', 8);
      if (argv.includes('-d')) dirs.push({ path: argv[argv.length - 1] ?? '', mode });
      else copied.set(argv[argv.length - 1] ?? '', { source: argv[argv.length - 2] ?? '', mode });
    }
    const packaged = layout(join(ROOT, EXECUTABLE), ROOT, { dir: '/usr/share/doc/scaph', files: [] });
    const expected = packaged.files.filter((f) => 'file' in f.from && !f.path.startsWith('/usr/lib/scaph/'));
    expect([...copied.keys()].sort()).toEqual(expected.map((f) => f.path).sort());
    for (const f of expected) {
      const doc = copied.get(f.path);
      expect(resolve(ROOT, doc?.source ?? ''), f.path).toBe('file' in f.from ? f.from.file : '');
      expect(doc?.mode, f.path).toBe(f.mode);
      if (!doc?.source.startsWith('dist/')) expect(existsSync(join(ROOT, doc?.source ?? '')), doc?.source).toBe(true);
    }
    expect(dirs).toEqual(packaged.dirs.filter((d) => d.path === '/etc/scaph/credentials'));
    // The command that broke /usr/bin/scaph where npm's prefix is /usr is gone.
    expect(FLEET).not.toMatch(/ln -sf "\$\(npm prefix -g\)/);
  });
});
