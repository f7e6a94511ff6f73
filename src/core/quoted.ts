/** Most characters of a value a message quotes: a 1 MB value makes a message of a line, not of a megabyte. */
const QUOTED_CHARS = 80;

/**
 * A value as a one-line message quotes it: in double quotes, escaped as JSON (a newline shows as \n, never
 * breaks the line), cut after QUOTED_CHARS characters with the full length said.
 */
export function quoted(value: string): string {
  if (value.length <= QUOTED_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTED_CHARS))}… (${value.length} characters)`;
}
