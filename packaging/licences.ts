/**
 * The third-party code the executable embeds, with its licence texts: Node.js (its LICENSE covers Node.js
 * and every library it carries: V8, OpenSSL, libuv, ...) and each npm package esbuild put in the bundle
 * (its metafile lists the files, hence the packages). Both packages ship these texts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ThirdParty {
  readonly name: string;
  readonly version: string;
  /** SPDX expression, as the package declares it. */
  readonly license: string;
  readonly licenceText: string;
  /** The copyright lines of the licence text (empty when it has none). */
  readonly copyright: readonly string[];
  /** Where its files are in the build tree (node_modules/<name>), for the Debian copyright's Files: field. */
  readonly path: string;
  /** The Files: pattern when it is one file, not the folder at path. */
  readonly file?: string;
}

export class MissingLicenceError extends Error {
  constructor(dir: string) {
    super(`${dir} has no LICENSE, LICENCE or COPYING file: its licence text must ship with the executable; add it or do not bundle the package`);
    this.name = 'MissingLicenceError';
  }
}

/** The npm packages among the bundle's inputs (repository-relative paths), sorted by name. */
export function bundledPackages(inputs: readonly string[], root: string): ThirdParty[] {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '');
    dirs.add(`${input.slice(0, at)}node_modules/${name}`);
  }
  return [...dirs].map((dir) => packageAt(join(root, dir), dir)).sort((a, b) => a.name.localeCompare(b.name));
}

function packageAt(dir: string, relative: string): ThirdParty {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
  const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (licenceFile === undefined) throw new MissingLicenceError(dir);
  const licenceText = readFileSync(join(dir, licenceFile), 'utf8');
  return { name: manifest.name, version: manifest.version, license: manifest.license ?? 'SEE LICENSE', licenceText, copyright: copyrightLines(licenceText), path: relative };
}

/** Node.js itself, from the LICENSE of the runtime the executable was built from. */
export function nodeComponent(version: string, licenceFile: string): ThirdParty {
  const licenceText = readFileSync(licenceFile, 'utf8');
  return { name: 'Node.js', version, license: 'MIT AND others (see the text)', licenceText, copyright: ['Node.js contributors. All rights reserved.'], path: 'node' };
}

/**
 * The carbon-intensity table the agent embeds (src/carbon/zone-table.ts): data, not code, under the licence its
 * generated header states. Creative Commons licences are satisfied by the licence's URI (CC BY-SA 4.0
 * section 3(a)(1)(C)), which the header gives, with the source and the credit it asks for.
 */
export function carbonTableComponent(table: { readonly source: string; readonly from: string; readonly licence: string }): ThirdParty {
  const spdx = table.licence.startsWith('CC BY-SA 4.0') ? 'CC-BY-SA-4.0' : table.licence.startsWith('CC BY 4.0') ? 'CC-BY-4.0' : table.licence;
  const url = spdx === 'CC-BY-SA-4.0' ? 'https://creativecommons.org/licenses/by-sa/4.0/' : 'https://creativecommons.org/licenses/by/4.0/';
  const licenceText =
    `The grid carbon intensity per country in src/carbon/zone-table.ts (scaph --carbon-zone) is\n${table.source}.\n` +
    `Read from: ${table.from}.\nLicence: ${table.licence}, ${url}\nCredit: Ember (https://ember-energy.org)${table.from.includes('co2.js') ? ' and co2.js (The Green Web Foundation)' : ''}.\n`;
  return { name: 'Carbon intensity table', version: 'see src/carbon/zone-table.ts', license: spdx, licenceText, copyright: ['Ember', ...(table.from.includes('co2.js') ? ['The Green Web Foundation (co2.js)'] : [])], path: 'src/carbon', file: 'src/carbon/zone-table.ts' };
}

function copyrightLines(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const found = lines.filter((l) => /^(copyright\b|\(c\)|©)/i.test(l)).map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim());
  // Apache-2.0's appendix template ("Copyright [yyyy] [name of copyright owner]") names nobody.
  return [...new Set(found)].filter((l) => l !== '' && !/\[yyyy\]|\{yyyy\}/i.test(l));
}

/** THIRD-PARTY-NOTICES: each component's name, version, licence and full licence text. */
export function noticesText(components: readonly ThirdParty[]): string {
  const head =
    'The scaph executable is Node.js with scaph, these npm packages and this data bundled into it.\n' +
    "scaph itself is under the Apache License 2.0 (LICENSE). The other components' licences follow.\n";
  const sections = components.map((c) => `${'='.repeat(78)}\n${c.name} ${c.version}\nLicense: ${c.license}\n${'-'.repeat(78)}\n${c.licenceText.trimEnd()}\n`);
  return `${head}\n${sections.join('\n')}`;
}
