/**
 * The README's configuration key table, rendered from the field tables: `npm run docs:config` writes it between
 * the markers in README.md, and a unit test fails when the README and the tables differ.
 */

import { CORE_FIELDS, NOT_ACTED_ON_GROUPS, type RecognisedKey } from './fields.js';
import { type AnyField, type FieldTable, propertiesKey } from './schema.js';

export const README_START = '<!-- config-keys:start — generated from src/config/fields.ts by `npm run docs:config`; edit the tables, not this block -->';
export const README_END = '<!-- config-keys:end -->';

const code = (key: string): string => `\`${key}\``;
const cell = (text: string): string => text.replace(/\|/g, '\\|');

function keyCell(key: string, field: AnyField): string {
  const aliases = (field.aliases ?? []).map((a) => code(a.key));
  return aliases.length === 0 ? code(key) : `${code(key)} (or ${aliases.join(', ')})`;
}

function defaultCell(field: AnyField): string {
  if (field.defaultDoc !== undefined) return field.defaultDoc;
  if (field.presence === 'required') return 'required';
  return field.default === undefined ? 'none' : field.kind.format(field.default);
}

/** The acted-on keys of a table that a properties file can set, one row each, in table order. */
function keyTable(table: FieldTable): string[] {
  const rows = Object.entries(table).flatMap(([name, field]) => {
    const key = propertiesKey(name, field);
    if (key === undefined || field.notActedOn) return [];
    return [`| ${keyCell(key, field)} | ${cell(defaultCell(field))} | ${cell(field.doc)} |`];
  });
  return ['| key | default | meaning |', '|---|---|---|', ...rows];
}

/** One line per group: its field rows (with `notActedOn`) first, then its compact keys. */
function notActedOnList(tables: readonly FieldTable[]): string[] {
  return Object.entries(NOT_ACTED_ON_GROUPS).flatMap(([id, group]) => {
    const fromRows = tables.flatMap((table) =>
      Object.entries(table).flatMap(([name, field]) => {
        const key = propertiesKey(name, field);
        if (key === undefined || field.notActedOn?.group !== id) return [];
        return [{ key, note: field.notActedOn.note }];
      }),
    );
    const compact = group.keys.map((entry: RecognisedKey) => (typeof entry === 'string' ? { key: entry, note: undefined } : entry));
    const keys = [...fromRows, ...compact].map(({ key, note }) => (note === undefined ? code(key) : `${code(key)} (${note})`));
    return keys.length === 0 ? [] : [`- ${group.label}: ${keys.join(', ')}`];
  });
}

/** The whole generated block (without the markers); `daemonFields` is the daemon's table from multilang/. */
export function renderConfigDocs(daemonFields: FieldTable): string {
  return [
    ...keyTable(CORE_FIELDS),
    '',
    'The daemon\'s own keys (read by `kcl multilang` and `kcl demo --properties`, not by the library):',
    '',
    ...keyTable(daemonFields),
    '',
    'Accepted but **not acted on yet** (no warning):',
    '',
    ...notActedOnList([CORE_FIELDS, daemonFields]),
  ].join('\n');
}

/** The text between the markers, or undefined when the markers are missing. */
export function readmeConfigBlock(readme: string): string | undefined {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + README_START.length, end).replace(/^\n/, '').replace(/\n$/, '');
}

/** The README with the block between the markers replaced by `block`. */
export function withConfigBlock(readme: string, block: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${README_START}" … "${README_END}" markers`);
  return `${readme.slice(0, start + README_START.length)}\n${block}\n${readme.slice(end)}`;
}
