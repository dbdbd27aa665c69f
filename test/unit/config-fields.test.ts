/**
 * The field tables as the single place of every configuration key: the README's key block is exactly what the
 * tables render (run `npm run docs:config` after changing a row), every properties key belongs to one row, the
 * core knows the daemon's keys, and every default passes its own field's check.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoFile } from '../helpers/config.js';
import { readmeConfigBlock, renderConfigDocs } from '../../src/config/docs.js';
import { CORE_FIELDS, DAEMON_KEYS, NOT_ACTED_ON_GROUPS, type RecognisedKey } from '../../src/config/fields.js';
import { ACCEPTED_NOT_ACTED_ON } from '../../src/config/load.js';
import { type FieldTable, Invalid, propertiesKey, propertiesKeys } from '../../src/config/schema.js';
import { DEFAULTS } from '../../src/config/config.js';
import { DAEMON_FIELDS } from '../../src/multilang/daemon-config.js';

const readme = (): string => readFileSync(repoFile('README.md'), 'utf8');

describe('the README key table', () => {
  test('is the one the field tables render (run `npm run docs:config` to regenerate it)', () => {
    const block = readmeConfigBlock(readme());
    assert.ok(block !== undefined, 'README.md lost its config-keys markers');
    assert.equal(block, renderConfigDocs(DAEMON_FIELDS), 'README.md is out of date: run `npm run docs:config`');
  });

  test('lists every acted-on key and every accepted-not-acted-on key', () => {
    const block = renderConfigDocs(DAEMON_FIELDS);
    for (const key of [...propertiesKeys(CORE_FIELDS), ...propertiesKeys(DAEMON_FIELDS), ...ACCEPTED_NOT_ACTED_ON]) {
      assert.ok(block.includes(`\`${key}\``), key);
    }
  });
});

describe('the field tables', () => {
  test('every properties key belongs to exactly one row or compact entry', () => {
    const compact = Object.values(NOT_ACTED_ON_GROUPS).flatMap((g) => g.keys.map((k: RecognisedKey) => (typeof k === 'string' ? k : k.key)));
    const all = [...propertiesKeys(CORE_FIELDS), ...propertiesKeys(DAEMON_FIELDS), ...compact].map((k) => k.toLowerCase());
    const duplicates = all.filter((key, i) => all.indexOf(key) !== i);
    assert.deepEqual(duplicates, []);
  });

  test('the core knows exactly the daemon table\'s keys', () => {
    assert.deepEqual([...propertiesKeys(DAEMON_FIELDS)].sort(), [...DAEMON_KEYS].sort());
  });

  test('ACCEPTED_NOT_ACTED_ON is the rows marked notActedOn plus the compact entries', () => {
    const marked = Object.entries(CORE_FIELDS).filter(([, f]) => f.notActedOn).map(([name, f]) => propertiesKey(name, f) ?? name);
    for (const key of marked) assert.ok(ACCEPTED_NOT_ACTED_ON.includes(key), key);
    assert.equal(new Set(ACCEPTED_NOT_ACTED_ON).size, ACCEPTED_NOT_ACTED_ON.length);
  });

  test('every constant default passes its own field\'s check, and DEFAULTS holds them all', () => {
    for (const table of [CORE_FIELDS, DAEMON_FIELDS] as FieldTable[]) {
      for (const [name, field] of Object.entries(table)) {
        if (field.default === undefined) continue;
        assert.ok(!(field.kind.check(field.default) instanceof Invalid), name);
      }
    }
    const constant = Object.entries(CORE_FIELDS).filter(([, f]) => 'default' in f).map(([name]) => name);
    assert.deepEqual(Object.keys(DEFAULTS).sort(), constant.sort());
  });

  test('every row has a one-line doc', () => {
    for (const table of [CORE_FIELDS, DAEMON_FIELDS] as FieldTable[]) {
      for (const [name, field] of Object.entries(table)) assert.match(field.doc, /^[^\n]+$/, name);
    }
  });
});
