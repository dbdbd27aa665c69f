/**
 * The machinery behind the field tables (the core's in fields.ts, the daemon's in multilang/): what a field row
 * holds, the kinds of values with their checks and properties-text conversions, the config types derived from a
 * table, and the two generic passes every table gets — reading a properties file's values, and validating a
 * config with defaults filled. Both passes collect problems instead of throwing, so one error can list them all.
 */

import { type ConfigProblem, ConfigError } from '../common/errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------------------------

/** Why a value was refused; rendered as `key: value <problem>; expected <expected>`. */
export class Invalid {
  constructor(
    readonly problem: string,
    readonly expected: string,
  ) {}
}

/** Collects every problem of one config so they are reported together, one per line. */
export class Problems {
  private readonly list: ConfigProblem[] = [];

  invalid(key: string, shown: string, why: Invalid): void {
    this.list.push({ key, message: `${key}: ${shown} ${why.problem}; expected ${why.expected}` });
  }

  missing(key: string, expected: string): void {
    this.list.push({ key, message: `${key}: missing; expected ${expected}` });
  }

  has(key: string): boolean {
    return this.list.some((p) => p.key === key);
  }

  /** Throws one ConfigError listing every problem collected, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw ConfigError.fromProblems(this.list);
  }
}

/** How a value is shown in a message: strings quoted (so blanks and spaces are visible), the rest as is. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  return String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Kinds of values
// ---------------------------------------------------------------------------------------------------------------

/** A type of value: how one given in code is checked, and how the text of a properties value converts to it. */
export interface Kind<T> {
  /** Checks a value given in code (or converted from a file); returns it, or why it is refused. */
  check(value: unknown): T | Invalid;
  /** Converts the trimmed, non-blank text of a properties value; `check` still runs on the result. */
  /** Undefined: the text means "not set" (Java's `DEFAULT` for an enum), so the field's default applies. */
  parse(text: string): T | Invalid | undefined;
  /** How a default is written in the README. */
  format(value: T): string;
}

/** What a numeric field accepts; also the "expected …" part of its messages. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  /** When set, `min` itself is not allowed (e.g. "greater than 0"). */
  minExclusive?: boolean;
  max?: number;
  /** Infinity is a legal value meaning "unlimited". */
  allowInfinity?: boolean;
  note?: string;
}

export const POSITIVE: NumberRule = { min: 0, minExclusive: true };
export const NON_NEGATIVE: NumberRule = { min: 0 };

export function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  let range = '';
  if (rule.min !== undefined && rule.max !== undefined) range = ` from ${rule.min} to ${rule.max}`;
  else if (rule.min !== undefined) range = rule.minExclusive ? ` greater than ${rule.min}` : ` >= ${rule.min}`;
  return `${kind}${range}${rule.note ? ` (${rule.note})` : ''}`;
}

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Unlike `Number()`, rejects hex, "Infinity" and the empty string, which would otherwise parse "successfully". */
export function parseDecimal(text: string): number | undefined {
  return NUMBER_PATTERN.test(text) ? Number(text) : undefined;
}

export function numberKind(rule: NumberRule): Kind<number> {
  const expected = describeRule(rule);
  return {
    check(value) {
      if (typeof value !== 'number' || Number.isNaN(value)) return new Invalid('is not a number', expected);
      if (!Number.isFinite(value) && !(rule.allowInfinity && value === Number.POSITIVE_INFINITY)) {
        return new Invalid('is not a finite number', expected);
      }
      if (rule.integer && Number.isFinite(value) && !Number.isInteger(value)) return new Invalid('is not an integer', expected);
      const belowMin = rule.min !== undefined && (rule.minExclusive ? value <= rule.min : value < rule.min);
      const aboveMax = rule.max !== undefined && value > rule.max;
      return belowMin || aboveMax ? new Invalid('is out of range', expected) : value;
    },
    parse: (text) => parseDecimal(text) ?? new Invalid('is not a number', expected),
    format: (value) => (value === Number.POSITIVE_INFINITY ? 'unlimited' : String(value)),
  };
}

// Pairs rather than an object literal so messages list them in this order (objects put '1' and '0' first).
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true], ['false', false], ['yes', true], ['no', false], ['y', true], ['n', false],
  ['on', true], ['off', false], ['1', true], ['0', false],
]);

export const booleanKind: Kind<boolean> = {
  check: (value) => (typeof value === 'boolean' ? value : new Invalid('is not a boolean', 'true or false')),
  parse: (text) =>
    BOOLEAN_WORDS.get(text.toLowerCase()) ??
    new Invalid('is not a boolean', `one of ${[...BOOLEAN_WORDS.keys()].join(', ')} (case-insensitive)`),
  format: String,
};

/** A string that may be anything, blank included. */
export const anyStringKind: Kind<string> = {
  check: (value) => (typeof value === 'string' ? value : new Invalid('is not a string', 'a string')),
  parse: (text) => text,
  format: (value) => `\`${value}\``,
};

/** A non-blank string described by `expected`, optionally matching `shape`. */
export function textKind(expected: string, shape?: { pattern: RegExp; problem: string }): Kind<string> {
  return {
    check(value) {
      if (typeof value !== 'string') return new Invalid('is not a string', expected);
      if (value.trim() === '') return new Invalid('is blank', expected);
      if (shape && !shape.pattern.test(value)) return new Invalid(shape.problem, expected);
      return value;
    },
    parse: (text) => text,
    format: (value) => `\`${value}\``,
  };
}

/** An http(s) URL; anything else would only fail at the first request. */
export const httpUrlKind: Kind<string> = (() => {
  const expected = 'a URL with an http or https scheme, e.g. "http://localhost:4567"';
  const nonBlank = textKind(expected);
  return {
    check(value) {
      const text = nonBlank.check(value);
      if (text instanceof Invalid) return text;
      const url = URL.canParse(text) ? new URL(text) : undefined;
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) return new Invalid('is not an http(s) URL', expected);
      return text;
    },
    parse: (text) => text,
    format: (value) => `\`${value}\``,
  };
})();

/**
 * Some of `values`, as an array in code; in a properties file a comma-separated list (case-insensitive), where
 * `all` (Java's ALL) means every value.
 */
export function subsetKind<const V extends string>(values: readonly V[], problem: string): Kind<readonly V[]> {
  const expected = `a comma-separated list of ${values.join(', ')} (or ALL)`;
  return {
    check(value) {
      if (!Array.isArray(value)) return new Invalid(problem, `an array of ${values.join(', ')}`);
      const unknown = value.filter((v) => !values.includes(v as V));
      return unknown.length > 0 ? new Invalid(`${problem} (${unknown.join(', ')})`, `an array of ${values.join(', ')}`) : (value as V[]);
    },
    parse(text) {
      const words = text.split(',').map((w) => w.trim()).filter(Boolean);
      if (words.length === 1 && words[0]?.toUpperCase() === 'ALL') return [...values];
      const chosen: V[] = [];
      for (const word of words) {
        const value = values.find((v) => v.toUpperCase() === word.toUpperCase());
        if (value === undefined) return new Invalid(`${problem} (${word})`, expected);
        if (!chosen.includes(value)) chosen.push(value);
      }
      return chosen;
    },
    format: (value) => (value.length === values.length ? '`ALL`' : value.map((v) => `\`${v}\``).join(', ')),
  };
}

/** One of `values`: exact in code, case-insensitive in a properties file (as Java's enum parsing). */
export function oneOfKind<const V extends string>(values: readonly V[], problem: string): Kind<V> {
  return {
    check: (value) => values.find((v) => v === value) ?? new Invalid(problem, values.join(', ')),
    parse: (text) =>
      values.find((v) => v.toUpperCase() === text.toUpperCase()) ?? new Invalid(problem, `one of ${values.join(', ')} (case-insensitive)`),
    format: (value) => `\`${value}\``,
  };
}

/** A Date; in a properties file, epoch seconds (fractions allowed), rounded to the millisecond. */
export const epochSecondsDateKind: Kind<Date> = {
  check: (value) =>
    value instanceof Date && !Number.isNaN(value.getTime()) ? value : new Invalid('is not a valid Date', 'a valid Date'),
  parse(text) {
    const expected = 'epoch seconds (e.g. 1617406032 or 1617406032.5), not negative';
    const seconds = parseDecimal(text);
    if (seconds === undefined) return new Invalid('is not a number', expected);
    const date = new Date(Math.round(seconds * 1000));
    return seconds < 0 || Number.isNaN(date.getTime()) ? new Invalid('is out of range', expected) : date;
  },
  format: (value) => value.toISOString(),
};

// ---------------------------------------------------------------------------------------------------------------
// Field rows
// ---------------------------------------------------------------------------------------------------------------

export type Presence = 'required' | 'defaulted' | 'optional';

/** Another properties key for the same field. */
export interface Alias<T> {
  key: string;
  /** How this key's text converts, when it differs from the field's kind (e.g. a stream ARN → a stream name). */
  parse?(text: string): T | Invalid;
  /** This key wins over the field's own key when both are given (default: the field's own key wins). */
  wins?: boolean;
}

/** A field that is accepted and validated but not acted on yet; listed in the README under `group`. */
export interface NotActedOn {
  group: string;
  note?: string;
}

/** What every row may say beyond its kind and presence. */
export interface FieldSpec<T> {
  /** One line for the README's "meaning" column. */
  doc: string;
  /** The README's "default" column when the default cannot simply be formatted (derived, or none). */
  defaultDoc?: string;
  /** The properties key; default the field's name; null = settable in code only. */
  key?: string | null;
  aliases?: readonly Alias<T>[];
  /** Warn when the key and an alias are both given with different values (default true). */
  warnOnAliasConflict?: boolean;
  /** Any key starting with this field's key, in any case, is this key (plus its suffix): Java's rule for credentials. */
  keyPrefixIgnoresCase?: boolean;
  /** The "expected" text when a required field is missing from a properties file. */
  missingFromFile?: string;
  /** Set for fields that are accepted but not acted on yet. */
  notActedOn?: NotActedOn;
}

/** Fills a default from fields validated before it (table order), reporting problems it finds there. */
/** `given` is the input as the caller gave it (before defaults), for defaults that depend on what was set. */
export type Derive<T> = (done: Readonly<Record<string, unknown>>, problems: Problems, given: Readonly<Record<string, unknown>>) => T | undefined;

export interface Field<T, P extends Presence = Presence> extends FieldSpec<T> {
  presence: P;
  kind: Kind<T>;
  default?: T;
  derive?: Derive<T>;
}

// Field<T> is covariant in T (methods are checked bivariantly), so every row fits AnyField.
export type AnyField = Field<unknown>;
export type FieldTable = Readonly<Record<string, AnyField>>;

export function required<T>(kind: Kind<T>, spec: FieldSpec<T>): Field<T, 'required'> {
  return { ...spec, presence: 'required', kind };
}

export function defaulted<T>(kind: Kind<T>, value: NoInfer<T>, spec: FieldSpec<T>): Field<T, 'defaulted'> & { default: T } {
  return { ...spec, presence: 'defaulted', kind, default: value };
}

/** A field whose default is computed from other fields (which must come earlier in the table). */
export function derived<T>(kind: Kind<T>, derive: Derive<NoInfer<T>>, spec: FieldSpec<T> & { defaultDoc: string }): Field<T, 'defaulted'> {
  return { ...spec, presence: 'defaulted', kind, derive };
}

export function optional<T>(kind: Kind<T>, spec: FieldSpec<T> & { defaultDoc: string }): Field<T, 'optional'> {
  return { ...spec, presence: 'optional', kind };
}

// ---------------------------------------------------------------------------------------------------------------
// Types derived from a table
// ---------------------------------------------------------------------------------------------------------------

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<F> = F extends { kind: Kind<infer T> } ? T : never;
type KeysWhere<Table, P extends Presence> = {
  [K in keyof Table]: Table[K] extends { presence: infer Q } ? (Q extends P ? K : never) : never;
}[keyof Table];

/** The validated config a table describes: required and defaulted fields always present, optional ones maybe. */
export type ConfigOf<Table> = Simplify<
  { [K in KeysWhere<Table, 'required' | 'defaulted'>]: ValueOf<Table[K]> } & {
    [K in KeysWhere<Table, 'optional'>]?: ValueOf<Table[K]>;
  }
>;

/** What a caller must give: the required fields; everything else is optional. */
export type InputOf<Table> = Simplify<
  { [K in KeysWhere<Table, 'required'>]: ValueOf<Table[K]> } & {
    [K in KeysWhere<Table, 'defaulted' | 'optional'>]?: ValueOf<Table[K]>;
  }
>;

/** The constant defaults of a table (derived defaults such as a random worker id are not constants). */
export function defaultsOf(table: FieldTable): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(table).flatMap(([name, field]) => (field.default === undefined ? [] : [[name, field.default]])),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Properties keys
// ---------------------------------------------------------------------------------------------------------------

/** The field's own properties key, or undefined for a code-only field. */
export function propertiesKey(name: string, field: AnyField): string | undefined {
  return field.key === null ? undefined : (field.key ?? name);
}

/** Every properties key of a table, aliases included. */
export function propertiesKeys(table: FieldTable): string[] {
  return Object.entries(table).flatMap(([name, field]) => {
    const key = propertiesKey(name, field);
    return key === undefined ? [] : [key, ...(field.aliases ?? []).map((a) => a.key)];
  });
}

/** Keys whose prefix is matched case-insensitively (Java's rule for `AWSCredentialsProvider…`). */
export function caseInsensitivePrefixes(table: FieldTable): string[] {
  return Object.entries(table).flatMap(([name, field]) => {
    const key = propertiesKey(name, field);
    return field.keyPrefixIgnoresCase && key !== undefined ? [key] : [];
  });
}

/** What the properties pass hands to validation. */
export interface FromFile {
  input: Record<string, unknown>;
  /** Fields whose value was refused (already reported); validation skips them. */
  failed: Set<string>;
}

/**
 * Reads and checks a table's fields from a file's values (normalised keys, trimmed, blanks removed), so messages
 * name the key as written in the file and quote its text. Where a field has several keys, the winner is the first
 * given in priority order (winning aliases, the field's key, other aliases).
 */
export function readFields(table: FieldTable, values: ReadonlyMap<string, string>, problems: Problems, warn: (message: string) => void): FromFile {
  const result: FromFile = { input: {}, failed: new Set() };
  for (const [name, field] of Object.entries(table)) {
    const own = propertiesKey(name, field);
    if (own === undefined) continue;
    const aliases = field.aliases ?? [];
    const ranked: Alias<unknown>[] = [...aliases.filter((a) => a.wins), { key: own }, ...aliases.filter((a) => !a.wins)];
    const given = ranked.filter((candidate) => values.has(candidate.key));
    const winner = given[0];
    if (winner === undefined) continue;
    const text = values.get(winner.key) as string;
    const loser = given.find((candidate) => values.get(candidate.key) !== text);
    if (loser !== undefined && field.warnOnAliasConflict !== false) {
      warn(`${winner.key} and ${loser.key} are both set; using ${winner.key} = ${JSON.stringify(text)}`);
    }
    const parsed = (winner.parse ?? field.kind.parse)(text);
    if (parsed === undefined) continue;
    const value = parsed instanceof Invalid ? parsed : field.kind.check(parsed);
    if (value instanceof Invalid) {
      problems.invalid(winner.key, show(text), value);
      result.failed.add(name);
    } else {
      result.input[name] = value;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

export interface ValidateOptions {
  /** Fields already reported (refused when read from a file): neither checked nor reported missing. */
  skip?: ReadonlySet<string>;
  /** The input came from a properties file: missing required fields use `missingFromFile`. */
  fromFile?: boolean;
}

/**
 * Fills defaults and checks every field of `table` in table order, collecting problems. Optional fields are set
 * only when given, so `'regionName' in config` means the caller chose one. Keys of `input` that are not in the
 * table are ignored. The result is complete only when no problem was added.
 */
export function validateFields(table: FieldTable, input: object, problems: Problems, options: ValidateOptions = {}): Record<string, unknown> {
  const given = input as Readonly<Record<string, unknown>>;
  const done: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(table)) {
    if (options.skip?.has(name)) continue;
    const value = given[name];
    if (value === undefined) {
      if (field.presence === 'required') {
        problems.missing(name, (options.fromFile ? field.missingFromFile : undefined) ?? expectedOf(field));
      } else if (field.derive) {
        const value = field.derive(done, problems, given);
        if (value !== undefined) done[name] = value;
      } else if (field.default !== undefined) {
        done[name] = field.default;
      }
      continue;
    }
    const checked = field.kind.check(value);
    if (checked instanceof Invalid) {
      problems.invalid(name, show(value), checked);
    } else {
      done[name] = checked;
    }
  }
  return done;
}

/** What a field accepts, as its kind words it (used for "missing" messages). */
function expectedOf(field: AnyField): string {
  const verdict = field.kind.check(undefined);
  return verdict instanceof Invalid ? verdict.expected : 'a value';
}
