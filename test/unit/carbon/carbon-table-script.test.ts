import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';

/**
 * scripts/carbon-table.mjs on small inputs in both layouts it reads (Ember's long-format CSV, co2.js's copy of
 * Ember's API): the rows it keeps, the year it picks, what it leaves out, the header and the docs list it writes.
 */
const SCRIPT = join(packageRoot(), 'scripts', 'carbon-table.mjs');

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaph-carbon-table-'));
  await writeFile(join(dir, 'carbon.md'), '# Carbon\n\ntext kept\n\n| zone | zone | zone |\n| --- | --- | --- |\n| `XX` stale 1 (2000) | | |\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(input: string, ...more: string[]): string {
  return execFileSync(process.execPath, [SCRIPT, '--ember', input, '--from', 'test input', '--table', join(dir, 'table.ts'), '--docs', join(dir, 'carbon.md'), ...more], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

function tableRows(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith("  ['"));
}

describe('scripts/carbon-table.mjs', () => {
  it("reads Ember's long-format CSV: the CO2 intensity rows only, each country's latest year, World as WORLD", async () => {
    const csv = [
      'Area,ISO 3 code,Year,Area type,Category,Subcategory,Variable,Unit,Value',
      'France,FRA,2023,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,56.04',
      'France,FRA,2024,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,44.179',
      'France,FRA,2024,Country,Electricity generation,Total,Total Generation,TWh,539.0',
      '"Bosnia, and ""Herzegovina""",BIH,2024,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,638.05',
      'Germany,DEU,2025,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,',
      'Germany,DEU,2024,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,342.06',
      'Kosovo,XKX,2024,Country,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,894.65',
      'Asia,,2024,Region,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,580.1',
      'World,,2024,Region,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,472.94',
      'World,,2023,Region,Power sector emissions,CO2 intensity,CO2 intensity,gCO2/kWh,480.2',
    ].join('\n');
    await writeFile(join(dir, 'ember.csv'), `${csv}\n`);
    const out = run(join(dir, 'ember.csv'));
    const table = await readFile(join(dir, 'table.ts'), 'utf8');
    expect(tableRows(table)).toEqual([
      "  ['BA', 638.05, 2024], // Bosnia, and \"Herzegovina\"",
      "  ['DE', 342.06, 2024], // Germany",
      "  ['FR', 44.18, 2024], // France",
      "  ['WORLD', 472.94, 2024], // World",
    ]);
    expect(table).toMatch(/Source: Ember's Yearly Electricity Data .*\n \* Read from: test input\n \* Licence: CC BY 4\.0/);
    expect(table).toMatch(/zones per year: 2024: 4\)/);
    expect(out).toMatch(/left out \(no ISO 3166-1 code\): Kosovo \(XKX\)$/m);
    const docs = await readFile(join(dir, 'carbon.md'), 'utf8');
    expect(docs).toBe(
      '# Carbon\n\ntext kept\n\n| zone | zone | zone |\n| --- | --- | --- |\n' +
        '| `BA` Bosnia, and "Herzegovina" 638.05 (2024) | `DE` Germany 342.06 (2024) | `FR` France 44.18 (2024) |\n' +
        '| `WORLD` World 472.94 (2024) | | |\n',
    );
    run(join(dir, 'ember.csv'), '--until', '2023');
    expect(tableRows(await readFile(join(dir, 'table.ts'), 'utf8'))).toEqual(["  ['FR', 56.04, 2023], // France", "  ['WORLD', 480.2, 2023], // World"]);
  });

  it("reads co2.js's JSON of Ember's API rows: its year per country, regions left out but World", async () => {
    const json = {
      FRA: { country_code: 'FRA', country_or_region: 'France', year: 2024, emissions_intensity_gco2_per_kwh: 44.18 },
      AFG: { country_code: 'AFG', country_or_region: 'Afghanistan', year: 2023, emissions_intensity_gco2_per_kwh: 123.71 },
      SYC: { country_code: 'SYC', country_or_region: 'Seychelles', year: 2022, emissions_intensity_gco2_per_kwh: null },
      EU: { country_code: '', country_or_region: 'EU', year: 2024, emissions_intensity_gco2_per_kwh: 213.02 },
      World: { country_code: '', country_or_region: 'World', year: 2024, emissions_intensity_gco2_per_kwh: 472.94 },
    };
    await writeFile(join(dir, 'co2js.json'), JSON.stringify(json));
    run(join(dir, 'co2js.json'));
    const table = await readFile(join(dir, 'table.ts'), 'utf8');
    expect(tableRows(table)).toEqual(["  ['AF', 123.71, 2023], // Afghanistan", "  ['FR', 44.18, 2024], // France", "  ['WORLD', 472.94, 2024], // World"]);
    expect(table).toMatch(/zones per year: 2023: 1, 2024: 2\)/);
    expect(table).toContain(`export const ZONE_TABLE_LICENCE = "CC BY 4.0 (Ember)";`);
    // A copy read under other terms (co2.js states CC BY-SA 4.0 for its copy): the table carries those.
    run(join(dir, 'co2js.json'), '--copy-licence', 'CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), the terms co2.js states for its copy');
    const copied = await readFile(join(dir, 'table.ts'), 'utf8');
    expect(copied).toMatch(/\n \* Licence: CC BY-SA 4\.0 \(https:\/\/creativecommons\.org\/licenses\/by-sa\/4\.0\/\), the terms co2\.js states for its copy\. The figures are Ember's, under CC BY 4\.0 /);
    expect(copied).toContain(`export const ZONE_TABLE_LICENCE = "CC BY-SA 4.0 (a copy of Ember's figures, which are CC BY 4.0)";`);
    expect(tableRows(copied)).toEqual(tableRows(table));
  });

  it('refuses an input without a world average, and a value that is no number of g/kWh', async () => {
    await writeFile(join(dir, 'no-world.json'), JSON.stringify({ FRA: { country_code: 'FRA', country_or_region: 'France', year: 2024, emissions_intensity_gco2_per_kwh: 44.18 } }));
    expect(() => run(join(dir, 'no-world.json'))).toThrow(/no World row/);
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ FRA: { country_code: 'FRA', country_or_region: 'France', year: 2024, emissions_intensity_gco2_per_kwh: 'n/a' } }));
    expect(() => run(join(dir, 'bad.json'))).toThrow(/France 2024: carbon intensity "n\/a" is not a number of g\/kWh/);
  });
});
