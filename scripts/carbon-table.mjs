#!/usr/bin/env node
/**
 * Builds scaph's static table of grid carbon intensity per country (src/carbon/zone-table.ts) from Our World
 * in Data's energy data set (https://github.com/owid/energy-data, CC BY 4.0), whose electricity carbon
 * intensity comes from Ember's yearly electricity data (CC BY 4.0). Not run by the build: run it by hand
 * when OWID publishes a new release, and commit the table it writes (never the CSV: it is megabytes).
 *
 *   node scripts/carbon-table.mjs --csv owid-energy-data.csv --from 'owid/energy-data@<commit>:owid-energy-data.csv'
 *   node scripts/carbon-table.mjs --csv 'Electricity mix from BP & EMBER (2022).csv' --names iso_codes.csv --from '…'
 *   node scripts/carbon-table.mjs --write-iso-map /usr/share/iso-codes/json/iso_3166-1.json
 *
 * Two layouts are read: the energy data set's own CSV (columns iso_code, year, carbon_intensity_elec) and the
 * grapher CSV the same repository published until 2022 (Country, Year, "Carbon intensity of electricity
 * (gCO2/kWh)"; its country names get their ISO code from the repository's scripts/input/shared/iso_codes.csv,
 * given with --names). Each country keeps its latest year with a value, at most --until (leave out a year
 * the source marks as preliminary). OWID's alpha-3 codes become alpha-2 through scripts/carbon-table/iso-3166-1.csv,
 * written by --write-iso-map from Debian's iso-codes package (the ISO 3166-1 list); OWID's own codes
 * (OWID_*) are left out except OWID_WRL, the world average, kept as WORLD.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ISO_MAP = join(HERE, 'carbon-table', 'iso-3166-1.csv');
const TABLE = join(HERE, '..', 'src', 'carbon', 'zone-table.ts');
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

/** [iso3, year, value] of each row with a carbon intensity, from either layout. */
function readings(csv, namesFile) {
  const data = rows(csv);
  const first = data[0] ?? {};
  if ('carbon_intensity_elec' in first) {
    return { list: data.map((r) => [r.iso_code, Number(r.year), r.carbon_intensity_elec, r.country]), unnamed: [] };
  }
  const column = 'Carbon intensity of electricity (gCO2/kWh)';
  if (!(column in first) || !namesFile) throw new Error(`${csv}: neither carbon_intensity_elec nor "${column}" (the latter needs --names iso_codes.csv)`);
  const byName = new Map(rows(namesFile).map((r) => [r.Country, r.iso_code]));
  const unnamed = new Set();
  const list = data.map((r) => {
    const iso = byName.get(r.Country) ?? '';
    if (iso === '' && r[column] !== '') unnamed.add(r.Country);
    return [iso, Number(r.Year), r[column], r.Country];
  });
  return { list, unnamed: [...unnamed] };
}

function build(o) {
  const until = o.until === undefined ? Infinity : Number(o.until);
  const toAlpha2 = isoMap();
  const latest = new Map();
  const { list, unnamed } = readings(o.csv, o.names);
  const skipped = new Set(unnamed);
  for (const [iso3, year, text, name] of list) {
    if (text === '' || !(year <= until)) continue;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} ${year}: carbon intensity ${JSON.stringify(text)} is not a number of g/kWh`);
    const code = iso3 === 'OWID_WRL' ? WORLD : toAlpha2.get(iso3);
    if (code === undefined) {
      if (iso3 !== '') skipped.add(`${name} (${iso3})`);
      continue;
    }
    const kept = latest.get(code);
    if (!kept || year > kept.year) latest.set(code, { year, value: Math.round(value * 100) / 100, name });
  }
  const codes = [...latest.keys()].sort();
  const years = [...new Set(codes.map((c) => latest.get(c).year))].sort();
  const body = codes.map((c) => {
    const r = latest.get(c);
    return `  ['${c}', ${r.value}, ${r.year}], // ${r.name.replace(/[\r\n]/g, ' ')}`;
  });
  const text = [
    '/**',
    ' * GENERATED by scripts/carbon-table.mjs: do not edit; run the script again (see its top comment).',
    ' *',
    ` * Source: ${o.source ?? "Our World in Data's energy data set (carbon intensity of electricity), from Ember's yearly electricity data"}`,
    ` * Read from: ${o.from}`,
    ` * Licence: ${o.licence ?? 'CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/): Our World in Data; Ember'}`,
    ' * Units: grams of CO2-equivalent per kWh of electricity generated (gCO2e/kWh), one figure per country and year',
    ` * Year: each country's latest year with a value${Number.isFinite(until) ? ` up to ${until}` : ''} (${years.join(', ')} here)`,
    ' * Codes: ISO 3166-1 alpha-2 (scripts/carbon-table/iso-3166-1.csv maps OWID\'s alpha-3 codes); WORLD is the world average.',
    ' */',
    "import type { ZoneRow } from './zone-row.js';",
    '',
    `export const ZONE_TABLE_SOURCE = ${JSON.stringify(o.source ?? "Our World in Data's energy data set, from Ember's yearly electricity data")};`,
    `export const ZONE_TABLE_FROM = ${JSON.stringify(o.from)};`,
    `export const ZONE_TABLE_LICENCE = ${JSON.stringify(o.licence ?? 'CC BY 4.0')};`,
    "export const ZONE_TABLE_UNITS = 'gCO2e/kWh';",
    '',
    '/** [ISO 3166-1 alpha-2 code, gCO2e/kWh, year] */',
    'export const ZONE_ROWS: readonly ZoneRow[] = [',
    ...body,
    '];',
    '',
  ].join('\n');
  writeFileSync(TABLE, text);
  console.log(`wrote ${TABLE}: ${codes.length} zones, years ${years.join(', ')}`);
  if (skipped.size > 0) console.log(`left out (no ISO 3166-1 code): ${[...skipped].sort().join('; ')}`);
}

const o = args(process.argv.slice(2));
if (o['write-iso-map']) writeIsoMap(o['write-iso-map']);
else if (o.csv && o.from) build(o);
else throw new Error(`usage: see the comment at the top of ${fileURLToPath(import.meta.url)}`);
