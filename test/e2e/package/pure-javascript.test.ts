/**
 * The executable can carry JavaScript only: a native addon would have to be written to disk to be loaded
 * (refused on a noexec /tmp, under the unit's hardening). Checked twice: no production dependency ships a
 * native addon, and the bundle step refuses one (or any require() it cannot follow).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleError, bundleAgent, twoByteCharacters } from '../../../packaging/executable/bundle.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const dir = mkdtempSync(join(tmpdir(), 'scaph-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Files under `d` whose name says native code: compiled addons and their build files. */
function nativeFiles(d: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const path = join(d, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out.push(...nativeFiles(path));
    else if (e.isFile() && (e.name.endsWith('.node') || e.name === 'binding.gyp')) out.push(path);
  }
  return out;
}

describe('pure JavaScript', () => {
  it('no production dependency ships a native addon', () => {
    const dirs = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((d) => d !== '' && d !== ROOT && existsSync(d) && statSync(d).isDirectory());
    expect(dirs.length).toBeGreaterThan(15);
    expect(dirs.some((d) => d.endsWith('/node_modules/snappyjs'))).toBe(true);
    expect(dirs.some((d) => d.endsWith('/node_modules/snappy'))).toBe(false);
    expect(dirs.flatMap(nativeFiles)).toEqual([]);
  });

  it('the bundle step refuses a native addon and a require() it cannot follow', async () => {
    writeFileSync(join(dir, 'addon.node'), 'not really ELF');
    writeFileSync(join(dir, 'native.js'), "module.exports = require('./addon.node');\n");
    await expect(bundleAgent(join(dir, 'native.js'), join(dir, 'out1.cjs'))).rejects.toThrow(BundleError);
    await expect(bundleAgent(join(dir, 'native.js'), join(dir, 'out1.cjs'))).rejects.toThrow(/^native addons cannot go into the single executable \(required from .*native\.js\)/);
    writeFileSync(join(dir, 'dynamic.js'), "const name = process.argv[2];\nmodule.exports = require(name + '.js');\n");
    await expect(bundleAgent(join(dir, 'dynamic.js'), join(dir, 'out2.cjs'))).rejects.toThrow(/^require\(\) calls left to run time that are not Node\.js built-ins .*: require\(name\+"\.js"\.\.\.\)$/);
    writeFileSync(join(dir, 'plain.js'), "#!/usr/bin/env -S node --single-threaded\nmodule.exports = require('node:os').EOL;\n");
    const ok = await bundleAgent(join(dir, 'plain.js'), join(dir, 'out3.cjs'));
    expect(ok.inputs).toEqual([expect.stringMatching(/plain\.js$/)]);
    // The shebang is gone (the executable's flags are its execArgv), the built-in require stays.
    expect(readFileSync(ok.file, 'utf8')).toMatch(/^const __scaphImportMetaUrl = [^\n]*\n[\s\S]*require\("node:os"\)\.EOL/);
  });

  it('the bundle is one-byte text: comments dropped, other characters escaped, names and values kept', async () => {
    writeFileSync(
      join(dir, 'wide.js'),
      [
        '// the response’s status… (a comment as undici writes them)',
        'class WideError extends Error {}',
        "module.exports = { text: 'µ ± ’ … ✓', name: new WideError('x').constructor.name, re: new RegExp('’').test('a’b') };",
        '',
      ].join('\n'),
    );
    const b = await bundleAgent(join(dir, 'wide.js'), join(dir, 'out4.cjs'));
    const text = readFileSync(b.file, 'utf8');
    expect(text).not.toMatch(/[^\x00-\x7f]/);
    expect(text).not.toContain('response');
    expect(twoByteCharacters(text)).toEqual([]);
    const loaded = spawnSync(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(b.file)}))`], { encoding: 'utf8' });
    expect(loaded.stderr).toBe('');
    expect(JSON.parse(loaded.stdout)).toEqual({ text: 'µ ± ’ … ✓', name: 'WideError', re: true });
    // esbuild leaves a regular expression literal as written: refused, with the characters named.
    writeFileSync(join(dir, 'wide-re.js'), "module.exports = /it’s/.test('it’s');\n");
    await expect(bundleAgent(join(dir, 'wide-re.js'), join(dir, 'out5.cjs'))).rejects.toThrow(
      /^the bundle holds characters above U\+00FF \(U\+2019\): V8 would keep the whole script two bytes a character; escape them in the source$/,
    );
    expect(twoByteCharacters('plain ASCII and Latin-1: µ ± ×')).toEqual([]);
    expect(twoByteCharacters('it’s… it’s ✓')).toEqual(['U+2019', 'U+2026', 'U+2713']);
  });
});
