/**
 * Reading the Prometheus text format as a scraper would, for tests: the samples of one metric by their label
 * set, and a sum over them.
 */

/** `{labels}` (as written, '' for none) → value, for every sample of `name` in `text`. */
export function promSamples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out[m[2] ?? ''] = Number(m[3]);
  }
  return out;
}

/** The sum of the samples of `name` whose label set contains every `label="value"` of `where`. */
export function promSum(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const [labels, value] of Object.entries(promSamples(text, name))) {
    if (Object.entries(where).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}
