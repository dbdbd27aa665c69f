/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) by self time: the top functions, and the same grouped by
 * file, as percentages of all samples.
 *
 *   node dist/bench/cpuprofile-top.js FILE.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: cpuprofile-top.js FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Self time per node from the samples and their time deltas (hitCount ignores how long each sample was).
const selfMicros = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) {
  const id = samples[i] as number;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0));
}
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
// Percentages are of the busy time: idle samples say when the process waited, not what it spent.
const total = [...selfMicros].reduce((a, [id, micros]) => (idleIds.has(id) ? a : a + micros), 0);
const idle = [...selfMicros].reduce((a, [id, micros]) => (idleIds.has(id) ? a + micros : a), 0);
const shortUrl = (url: string) => {
  const i = url.indexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  return url ? path.relative(process.cwd(), url.replace(/^file:\/\//, '')) : '';
};
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  if (idleIds.has(id)) continue;
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = shortUrl(url);
  const fn = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  const fileKey = where ? where.replace(/^(@[^/]+\/[^/]+|[^/]+)\/.*$/, (m, pkg: string) => (where.startsWith('dist/') || where.startsWith('node:') ? m : pkg)) : functionName;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + micros);
}
const top = Number(values.top);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}, % of ${(total / 1000).toFixed(0)} ms busy (${(idle / 1000).toFixed(0)} ms idle not counted)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
};
print('self time by function', byFunction);
print('self time by file or package', byFile);
