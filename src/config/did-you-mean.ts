/**
 * " (did you mean address?)" for a key or a name that is close to one scaph knows (`adress`, `remote_write`
 * for the type remote-write, `procfs-path`), or "" when none is: a misspelt key is refused as unknown, and
 * the message should name what was meant. Close means: the same once case and `-`/`_` are set aside, or (for a
 * word of 4 characters or more) one edit away, two for 8 or more, an edit being a character added, removed,
 * replaced, or two neighbours swapped (Damerau-Levenshtein, restricted). The nearest wins; a tie is
 * reported as it comes in `known`.
 */
export function didYouMean(word: string, known: readonly string[]): string {
  const best = closest(word, known);
  return best === null ? '' : ` (did you mean ${best}?)`;
}

/** The known name nearest to `word` within reach, or null. */
export function closest(word: string, known: readonly string[]): string | null {
  const norm = normalized(word);
  const reach = norm.length >= 8 ? 2 : norm.length >= 4 ? 1 : 0;
  let best: string | null = null;
  let bestDistance = reach + 1;
  for (const name of known) {
    if (name === word) continue;
    const d = editDistance(norm, normalized(name), reach);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function normalized(s: string): string {
  return s.toLowerCase().replace(/-/g, '_');
}

/** Restricted Damerau-Levenshtein distance, or `cap + 1` once it is known to exceed `cap` (names are short). */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > cap) return cap + 1;
    before = previous;
    previous = row;
  }
  return Math.min(previous[b.length] ?? cap + 1, cap + 1);
}
