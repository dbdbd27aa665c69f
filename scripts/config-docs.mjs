#!/usr/bin/env node
// Rewrites the configuration key block of README.md from the field tables (src/config/fields.ts and
// src/multilang/daemon-config.ts). Run through `npm run docs:config`, which compiles first; the unit test
// test/unit/config-docs.test.ts fails while the README and the tables differ.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs, withConfigBlock } from '../dist/src/config/docs.js';
import { DAEMON_FIELDS } from '../dist/src/multilang/daemon-config.js';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const before = await readFile(readmePath, 'utf8');
const after = withConfigBlock(before, renderConfigDocs(DAEMON_FIELDS));
if (after === before) {
  console.log('README.md configuration keys are up to date');
} else {
  await writeFile(readmePath, after);
  console.log('README.md configuration keys rewritten');
}
