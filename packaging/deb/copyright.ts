/**
 * /usr/share/doc/scaph/copyright in Debian's machine-readable format (DEP-5,
 * https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/): scaph under Apache-2.0 (whose text
 * Debian ships in /usr/share/common-licenses), then one paragraph per component the executable embeds,
 * with its licence text in full.
 */
import type { PackageMeta } from '../meta.js';
import type { ThirdParty } from '../licences.js';

/** A multi-line field value: each line indented by one space, empty lines as " .". */
function continuation(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\t/g, '    ').trimEnd()}`))
    .join('\n');
}

/** Licences Debian ships in /usr/share/common-licenses: referenced there, not repeated. */
const COMMON_LICENCES = new Set(['Apache-2.0']);

export function debianCopyright(meta: PackageMeta, components: readonly ThirdParty[]): string {
  const common = new Set([meta.license, ...components.map((c) => c.license)].filter((l) => COMMON_LICENCES.has(l)));
  const paragraphs = [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      `Upstream-Name: ${meta.name}`,
      `Source: ${meta.homepage}`,
    ].join('\n'),
    [
      'Files: *',
      `Copyright: ${meta.maintainer.replace(/\s*<.*>$/, '')}`,
      `License: ${meta.license}`,
    ].join('\n'),
    ...components.map((c) => {
      const head = [`Files: ${c.file ?? `${c.path}/*`}`, `Copyright: ${c.copyright.length > 0 ? c.copyright.join('\n ') : `${c.name} authors`}`];
      if (common.has(c.license)) return [...head, `License: ${c.license}`].join('\n');
      // A licence name per component: the texts differ (each names its own authors).
      const name = `${c.license.replace(/[^\w.+-]+/g, '-')}~${c.name.replace(/[^\w.+-]+/g, '-')}`;
      return [...head, `License: ${name}`, continuation(c.licenceText)].join('\n');
    }),
    ...[...common].map((l) => [`License: ${l}`, continuation(`On Debian systems, the full text of this licence can be found in\n/usr/share/common-licenses/${l}.`)].join('\n')),
  ];
  return `${paragraphs.join('\n\n')}\n`;
}
