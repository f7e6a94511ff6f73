/**
 * Periods of the agent's own reminders (the delivery summary, the sensor fallback warning) are constants;
 * tests shorten them through an environment variable named SCAPH_TEST_*. Not an operator setting: a value
 * that is not a number of milliseconds >= 10 is ignored and the constant applies.
 */
export function periodMs(name: `SCAPH_TEST_${string}`, defaultMs: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return defaultMs;
  const ms = Number(raw);
  return Number.isFinite(ms) && ms >= 10 ? ms : defaultMs;
}
