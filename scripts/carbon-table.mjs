#!/usr/bin/env node
/**
 * Builds scaph's static table of grid carbon intensity per country (src/carbon/zone-table.ts) and its list in
 * docs/carbon.md from Ember's Yearly Electricity Data (https://ember-energy.org/data/yearly-electricity-data/,
 * CC BY 4.0): the emissions intensity of each country's electricity generation, Ember's figures only (no
 * other publisher's numbers mixed in). Not run by the build: run it by hand when Ember publishes a new year,
 * and commit the table and docs it writes (never the input: it is Ember's file or a copy of it).
 *
 *   node scripts/carbon-table.mjs --ember yearly_full_release_long_format.csv --from '<where and when it was read>'
 *   node scripts/carbon-table.mjs --ember average-intensities.json --from 'github.com/thegreenwebfoundation/co2.js, commit <sha> …' \
 *     --copy-licence 'CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), the terms co2.js states for its copy'
 *   node scripts/carbon-table.mjs --write-iso-map /usr/share/iso-codes/json/iso_3166-1.json
 *
 * Two layouts are read: Ember's own long-format CSV (columns Area, "ISO 3 code", Year, Variable, Unit, Value;
 * the rows whose Variable is "CO2 intensity" in gCO2/kWh) and the JSON the co2.js project writes from Ember's
 * data API (country_overview_yearly: an object per country with country_code, country_or_region, year and
 * emissions_intensity_gco2_per_kwh, each country's latest year, values as Ember serves them). Each country
 * keeps its latest year with a value, at most --until (leave out a year Ember has only partly). Ember's
 * alpha-3 codes become alpha-2 through scripts/carbon-table/iso-3166-1.csv, written by --write-iso-map from
 * Debian's iso-codes package (the ISO 3166-1 list); Ember's regions (EU, Asia, G20...) are left out except
 * World, the world average, kept as WORLD. --table and --docs write elsewhere than the repository's files.
 * --copy-licence names the terms a copy of Ember's data was read under when they differ from Ember's (co2.js
 * states CC BY-SA 4.0 for its copy): the table is then offered under those terms, which CC BY allows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ISO_MAP = join(HERE, 'carbon-table', 'iso-3166-1.csv');
const TABLE = join(HERE, '..', 'src', 'carbon', 'zone-table.ts');
const DOCS = join(HERE, '..', 'docs', 'carbon.md');
const DOCS_LIST_HEADER = '| zone | zone | zone |';
const WORLD = 'WORLD';

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    if (!key || argv[i + 1] === undefined) throw new Error(`usage: see the comment at the top of ${fileURLToPath(import.meta.url)}`);
    out[key] = argv[i + 1];
  }
  return out;
}

/** RFC 4180 fields of one line (quoted fields with commas and doubled quotes; no line breaks inside). */
function fields(line) {
  const out = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i += 1;
          break;
        } else value += line[i++];
      }
      out.push(value);
      i += 1;
    } else {
      const end = line.indexOf(',', i);
      const stop = end < 0 ? line.length : end;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
}

function rows(file) {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l !== '');
  const header = fields(lines[0]);
  return lines.slice(1).map((l) => {
    const f = fields(l);
    return Object.fromEntries(header.map((h, k) => [h, f[k] ?? '']));
  });
}

function writeIsoMap(jsonFile) {
  const list = JSON.parse(readFileSync(jsonFile, 'utf8'))['3166-1'];
  const lines = list
    .map((c) => `${c.alpha_3},${c.alpha_2},"${c.name.replace(/"/g, '""')}"`)
    .sort();
  const header = [
    '# ISO 3166-1 alpha-3 to alpha-2 codes, as listed by Debian\'s iso-codes package (json/iso_3166-1.json;',
    '# https://salsa.debian.org/iso-codes-team/iso-codes, LGPL-2.1+), written by scripts/carbon-table.mjs --write-iso-map',
    `# from ${jsonFile} (${list.length} countries).`,
    'alpha3,alpha2,name',
  ];
  writeFileSync(ISO_MAP, `${[...header, ...lines].join('\n')}\n`);
  console.log(`wrote ${ISO_MAP}: ${lines.length} codes`);
}

function isoMap() {
  const map = new Map();
  for (const line of readFileSync(ISO_MAP, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('alpha3,')) continue;
    const [a3, a2] = fields(line);
    map.set(a3, a2);
  }
  return map;
}

const EMBER_LICENCE = 'CC BY 4.0';
const EMBER_SOURCE = "Ember's Yearly Electricity Data (emissions intensity of electricity generation)";

/** [iso3, year, value text, name] of each country or World row with a carbon intensity, from either layout. */
function readings(file) {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (text.trimStart().startsWith('{')) {
    return Object.values(JSON.parse(text)).map((r) => {
      const iso3 = r.country_code === '' && r.country_or_region === 'World' ? WORLD : r.country_code;
      const value = r.emissions_intensity_gco2_per_kwh;
      return [iso3, Number(r.year), value === null || value === undefined ? '' : String(value), r.country_or_region];
    });
  }
  const data = rows(file);
  if (!('ISO 3 code' in (data[0] ?? {}))) throw new Error(`${file}: neither Ember's long-format CSV (column "ISO 3 code") nor co2.js's JSON`);
  return data
    .filter((r) => r.Variable === 'CO2 intensity' && r.Unit === 'gCO2/kWh')
    .map((r) => [r['ISO 3 code'] === '' && r.Area === 'World' ? WORLD : r['ISO 3 code'], Number(r.Year), r.Value, r.Area]);
}

function build(o) {
  const until = o.until === undefined ? Infinity : Number(o.until);
  const toAlpha2 = isoMap();
  const latest = new Map();
  const skipped = new Set();
  for (const [iso3, year, text, name] of readings(o.ember)) {
    if (text === '' || !(year <= until)) continue;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} ${year}: carbon intensity ${JSON.stringify(text)} is not a number of g/kWh`);
    const code = iso3 === WORLD ? WORLD : toAlpha2.get(iso3);
    if (code === undefined) {
      if (iso3 !== '') skipped.add(`${name} (${iso3})`);
      continue;
    }
    const kept = latest.get(code);
    if (!kept || year > kept.year) latest.set(code, { year, value: Math.round(value * 100) / 100, name });
  }
  const codes = [...latest.keys()].sort();
  if (!codes.includes(WORLD)) throw new Error(`${o.ember}: no World row (the world average the table keeps as ${WORLD})`);
  const years = [...new Set(codes.map((c) => latest.get(c).year))].sort();
  const count = (y) => codes.filter((c) => latest.get(c).year === y).length;
  const yearsText = years.map((y) => `${y}: ${count(y)}`).join(', ');
  const body = codes.map((c) => {
    const r = latest.get(c);
    return `  ['${c}', ${r.value}, ${r.year}], // ${r.name.replace(/[\r\n]/g, ' ')}`;
  });
  const text = [
    '/**',
    ' * GENERATED by scripts/carbon-table.mjs: do not edit; run the script again (see its top comment).',
    ' *',
    ` * Source: ${EMBER_SOURCE}, https://ember-energy.org/data/yearly-electricity-data/`,
    ` * Read from: ${o.from}`,
    ...(o['copy-licence'] === undefined
      ? [` * Licence: ${EMBER_LICENCE} (https://creativecommons.org/licenses/by/4.0/), Ember's licence for its data (https://ember-energy.org/creative-commons/): credit "Ember"`]
      : [
          ` * Licence: ${o['copy-licence']}. The figures are Ember's, under ${EMBER_LICENCE} (https://ember-energy.org/creative-commons/), which allows that: credit "Ember" and the copy`,
        ]),
    ' * Units: grams of CO2-equivalent per kWh of electricity generated (gCO2e/kWh), one figure per country and year',
    ` * Year: each country's latest year with a value in Ember's data${Number.isFinite(until) ? ` up to ${until}` : ''} (zones per year: ${yearsText})`,
    " * Codes: ISO 3166-1 alpha-2 (scripts/carbon-table/iso-3166-1.csv maps Ember's alpha-3 codes); WORLD is Ember's world average.",
    ' */',
    "import type { ZoneRow } from './zone-row.js';",
    '',
    `export const ZONE_TABLE_SOURCE = ${JSON.stringify(EMBER_SOURCE)};`,
    `export const ZONE_TABLE_FROM = ${JSON.stringify(o.from)};`,
    `export const ZONE_TABLE_LICENCE = ${JSON.stringify(o['copy-licence'] === undefined ? `${EMBER_LICENCE} (Ember)` : `${o['copy-licence'].split(' (')[0]} (a copy of Ember's figures, which are ${EMBER_LICENCE})`)};`,
    "export const ZONE_TABLE_UNITS = 'gCO2e/kWh';",
    '',
    '/** [ISO 3166-1 alpha-2 code, gCO2e/kWh, year] */',
    'export const ZONE_ROWS: readonly ZoneRow[] = [',
    ...body,
    '];',
    '',
  ].join('\n');
  const table = o.table ?? TABLE;
  writeFileSync(table, text);
  console.log(`wrote ${table}: ${codes.length} zones (${yearsText})`);
  writeDocsList(o.docs ?? DOCS, codes.map((c) => ({ code: c, ...latest.get(c) })));
  if (skipped.size > 0) console.log(`left out (no ISO 3166-1 code): ${[...skipped].sort().join('; ')}`);
}

/** Rewrites the list of zones that ends docs/carbon.md (from its header row on), three zones a line. */
function writeDocsList(file, zones) {
  const docs = readFileSync(file, 'utf8');
  const at = docs.indexOf(DOCS_LIST_HEADER);
  if (at < 0) throw new Error(`${file}: no line ${JSON.stringify(DOCS_LIST_HEADER)} to write the list of zones after`);
  const lines = [];
  for (let i = 0; i < zones.length; i += 3) {
    const cells = zones.slice(i, i + 3).map((z) => ` \`${z.code}\` ${z.name.replace(/[|\r\n]/g, ' ')} ${z.value} (${z.year}) `);
    while (cells.length < 3) cells.push(' ');
    lines.push(`|${cells.join('|')}|`);
  }
  writeFileSync(file, `${docs.slice(0, at)}${DOCS_LIST_HEADER}\n| --- | --- | --- |\n${lines.join('\n')}\n`);
  console.log(`wrote ${file}: ${zones.length} zones listed`);
}

const o = args(process.argv.slice(2));
if (o['write-iso-map']) writeIsoMap(o['write-iso-map']);
else if (o.ember && o.from) build(o);
else throw new Error(`usage: see the comment at the top of ${fileURLToPath(import.meta.url)}`);
