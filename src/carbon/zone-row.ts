/** One row of the static table (zone-table.ts): ISO 3166-1 alpha-2 code (or WORLD), gCO2e/kWh, the year it is for. */
export type ZoneRow = readonly [code: string, gPerKwh: number, year: number];
