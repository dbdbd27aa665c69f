/**
 * The README's minimal processor is samples/minimal.ts, which compiles with the tests: the two must not drift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoFile } from '../helpers/config.js';

test('the README shows samples/minimal.ts as it is, importing from kcl-ts', () => {
  const readme = readFileSync(repoFile('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A record processor in TypeScript'));
  const shown = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(shown !== undefined, 'the README has a TypeScript block under "A record processor in TypeScript"');
  const sample = readFileSync(repoFile('samples/minimal.ts'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('// '))
    .join('\n')
    .replace("from '../src/index.js'", "from 'kcl-ts'");
  assert.equal(shown, sample);
});
