/**
 * Turning input into a validated KclConfig: `buildConfig` (defaults and validation, also for configs built in
 * code) and the reading of the Java MultiLangDaemon's properties keys (see docs/daemon-protocol.md,
 * 'Properties file'). Both go through the field table in fields.ts; this file adds only the rules that span
 * fields (epsilon against the failover time, the initial position and its timestamp) and the unknown-key
 * warnings. Where Java is lenient in ways that hide mistakes (an unparsable number silently becomes 0, an unknown
 * boolean becomes false, unknown keys vanish), we fail or warn instead, naming the key, the value and what is
 * allowed — every bad value at once, one per line.
 */

import { ConfigError } from '../common/errors.js';
import type { KclConfig, KclConfigInput } from './config.js';
import { CORE_FIELDS, DAEMON_KEYS, NOT_ACTED_ON_GROUPS, type RecognisedKey } from './fields.js';
import { readPropertiesFile } from './properties.js';
import {
  caseInsensitivePrefixes,
  type FromFile,
  Invalid,
  Problems,
  propertiesKey,
  propertiesKeys,
  readFields,
  show,
  validateFields,
  type ValidateOptions,
} from './schema.js';

// ---------------------------------------------------------------------------------------------------------------
// buildConfig: defaults and validation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Fills defaults (tableName = applicationName, workerId = a random UUID) and validates every field, so a config
 * built in code gets the same checks as one read from a file. Throws one ConfigError listing every bad value,
 * each naming the key, the value and what is allowed.
 */
export function buildConfig(input: KclConfigInput): KclConfig {
  const problems = new Problems();
  const config = checkConfig(input, problems);
  problems.throwIfAny();
  return config;
}

/**
 * Validation with the cross-field rules, adding problems instead of throwing (for callers that validate more than
 * the core's fields, such as the daemon); complete only if no problem was added. Keys not in the table are ignored.
 */
export function checkConfig(input: Partial<KclConfig>, problems: Problems, options: ValidateOptions = {}): KclConfig {
  // A timestamp without an explicit position can only mean AT_TIMESTAMP; silently starting at LATEST would hide it.
  const positioned: Partial<KclConfig> =
    input.initialPositionInStream === undefined && input.initialPositionTimestamp !== undefined
      ? { ...input, initialPositionInStream: 'AT_TIMESTAMP' }
      : input;
  const config = validateFields(CORE_FIELDS, positioned, problems, options) as Partial<KclConfig>;
  checkEpsilon(config, problems);
  checkConsumerArn(config, problems);
  if (config.initialPositionInStream === 'AT_TIMESTAMP' && config.initialPositionTimestamp === undefined) {
    // Skipped when the timestamp was already reported (invalid, or missing from the file under its own key).
    if (!options.skip?.has('initialPositionTimestamp') && !problems.has('initialPositionTimestamp')) {
      problems.missing('initialPositionTimestamp', 'a Date when initialPositionInStream is AT_TIMESTAMP');
    }
  }
  return config as KclConfig;
}

/** Renewals happen every failover/3 − epsilon, so epsilon must leave a positive renewal period. */
function checkEpsilon(config: Partial<KclConfig>, problems: Problems): void {
  const { epsilonMillis, failoverTimeMillis } = config;
  if (epsilonMillis === undefined || failoverTimeMillis === undefined) return;
  const limit = failoverTimeMillis / 3;
  if (epsilonMillis >= limit) {
    const expected = `a number >= 0 and less than failoverTimeMillis / 3 (${Math.round(limit * 100) / 100})`;
    problems.invalid('epsilonMillis', show(epsilonMillis), new Invalid('is too large', expected));
  }
}

/** A consumer ARN names its stream: reading another stream's consumer could only fail later, less clearly. */
function checkConsumerArn(config: Partial<KclConfig>, problems: Problems): void {
  const { consumerArn, streamName } = config;
  if (consumerArn === undefined || streamName === undefined) return;
  const arnStream = /:stream\/([^/]+)\/consumer\//.exec(consumerArn)?.[1];
  if (arnStream !== undefined && arnStream !== streamName) {
    problems.invalid('consumerArn', show(consumerArn), new Invalid(`is a consumer of stream "${arnStream}", not of "${streamName}"`, `a consumer ARN of stream "${streamName}"`));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Properties keys
// ---------------------------------------------------------------------------------------------------------------

function recognisedKey(entry: RecognisedKey): string {
  return typeof entry === 'string' ? entry : entry.key;
}

/**
 * Keys the Java daemon knows that this library accepts without acting on them (listed in the README): the
 * fields with `notActedOn` (parsed and validated into KclConfig for later use) and the compact rows of
 * NOT_ACTED_ON_GROUPS (only recognised, so they do not trigger the unknown-key warning).
 */
export const ACCEPTED_NOT_ACTED_ON: readonly string[] = [
  ...Object.entries(CORE_FIELDS).flatMap(([name, field]) => {
    const key = propertiesKey(name, field);
    return field.notActedOn && key !== undefined ? [key] : [];
  }),
  ...Object.values(NOT_ACTED_ON_GROUPS).flatMap((group) => group.keys.map(recognisedKey)),
];

const PREFIXES = caseInsensitivePrefixes(CORE_FIELDS);

/**
 * Java matches any key starting with `awscredentialsprovider` case-insensitively; only that prefix is normalised,
 * the suffix (DynamoDB, CloudWatch) stays case-sensitive.
 */
function normaliseKey(key: string): string {
  const prefix = PREFIXES.find((p) => key.toLowerCase().startsWith(p.toLowerCase()));
  return prefix === undefined ? key : prefix + key.slice(prefix.length);
}

const CORE_KEYS = propertiesKeys(CORE_FIELDS);
const ACTED_ON_KEYS = CORE_KEYS.filter((key) => !ACCEPTED_NOT_ACTED_ON.includes(key));
/** Every key a properties file may hold: the core's, the recognised ones and the daemon's. */
const KNOWN_KEYS: ReadonlySet<string> = new Set([...CORE_KEYS, ...ACCEPTED_NOT_ACTED_ON, ...DAEMON_KEYS].map(normaliseKey));
/** What suggestions offer, the keys the core acts on first. */
const SUGGESTIONS: readonly string[] = [...ACTED_ON_KEYS, ...DAEMON_KEYS, ...ACCEPTED_NOT_ACTED_ON];

// ---------------------------------------------------------------------------------------------------------------
// configFromProperties
// ---------------------------------------------------------------------------------------------------------------

export interface PropertiesConfigOptions {
  /** Called for unknown keys and conflicting duplicates; the default ignores them. */
  onWarning?: (message: string) => void;
  /** Applied on top of the file's values before validation (e.g. command-line flags); undefined entries are skipped. */
  overrides?: Partial<KclConfig>;
}

/** A file's values by normalised key, trimmed, with blank values removed. */
export type PropertyValues = ReadonlyMap<string, string>;

/**
 * Maps the Java daemon's keys onto KclConfig and validates the result like `buildConfig`, reporting every bad
 * value in one ConfigError.
 *
 * Differences from Java, on purpose (see docs/daemon-protocol.md, 'Properties file'):
 * - A value that does not convert (number, boolean, enum, URL, ARN) is a ConfigError, not a silent 0/false.
 * - Explicit zero/false values ARE applied. Java skips a value equal to the field type's default (0, false), so
 *   `cleanupLeasesUponShardCompletion = false` does nothing there; here it gives false, and `maxRecords = 0` is an
 *   error instead of silently keeping 10000.
 * - Values are trimmed. Java keeps trailing whitespace, which for numbers, booleans and enums only causes
 *   failures, and for names (stream, application, worker) makes a trailing space part of the name — invisible
 *   in the file and almost never intended.
 * - A blank value counts as not given (so `workerId =` means "generate one"), matching the Java outcome for
 *   numbers and booleans (blank converts to 0/false, which is then skipped).
 * - `executableName` and the credentials key are not required: the core runs without a daemon and defaults to
 *   the SDK's default credentials chain.
 * - `initialPositionInStream = AT_TIMESTAMP` is accepted when a timestamp key is given; a timestamp key alone
 *   implies AT_TIMESTAMP and wins over any other position (Java's winner depended on hash order).
 */
export function configFromProperties(props: Map<string, string>, options: PropertiesConfigOptions = {}): KclConfig {
  const problems = new Problems();
  const values = normaliseProperties(props, options.onWarning ?? (() => {}));
  const config = configFromValues(values, problems, options);
  problems.throwIfAny();
  return config;
}

/** Reads a properties file and maps it with `configFromProperties`; every failure is a ConfigError. */
export async function loadPropertiesConfig(path: string, options: PropertiesConfigOptions = {}): Promise<KclConfig> {
  return mapPropertiesFile(path, (props) => configFromProperties(props, options));
}

/** Reads a properties file and maps it with `map`; every failure is a ConfigError whose lines name the path. */
export async function mapPropertiesFile<T>(path: string, map: (props: Map<string, string>) => T): Promise<T> {
  const props = await readPropertiesFile(path);
  try {
    return map(props);
  } catch (err) {
    throw err instanceof ConfigError ? err.inFile(path) : err;
  }
}

/**
 * The core's part of reading a file whose values another reader (the daemon's) also reads: problems are added to
 * `problems` rather than thrown, so the caller reports both readers' problems in one error.
 */
export function configFromValues(values: PropertyValues, problems: Problems, options: PropertiesConfigOptions = {}): KclConfig {
  const warn = options.onWarning ?? (() => {});
  const file = readCoreFields(values, problems, warn);
  const overrides = Object.fromEntries(Object.entries(options.overrides ?? {}).filter(([, v]) => v !== undefined));
  return checkConfig({ ...file.input, ...overrides }, problems, { skip: file.failed, fromFile: true });
}

function readCoreFields(values: PropertyValues, problems: Problems, warn: (message: string) => void): FromFile {
  const file = readFields(CORE_FIELDS, values, problems, warn);
  const position = file.input.initialPositionInStream;
  if (file.input.initialPositionTimestamp !== undefined) {
    if (position !== undefined && position !== 'AT_TIMESTAMP') {
      warn(`initialPositionInStream = ${String(position)} is overridden by the timestamp key: starting AT_TIMESTAMP`);
    }
    file.input.initialPositionInStream = 'AT_TIMESTAMP';
  } else if (position === 'AT_TIMESTAMP' && !file.failed.has('initialPositionTimestamp')) {
    problems.missing(
      'initialPositionInStreamExtended',
      'epoch seconds because initialPositionInStream is "AT_TIMESTAMP" (or choose LATEST / TRIM_HORIZON)',
    );
    file.failed.add('initialPositionTimestamp');
  }
  return file;
}

/**
 * Normalises keys (the credentials prefix), warns about unknown keys (with a suggestion) and about one key given
 * in two spellings, trims values and drops blank ones. Shared by every reader of the same file, so each warning
 * is given once.
 */
export function normaliseProperties(props: Map<string, string>, warn: (message: string) => void): PropertyValues {
  const values = new Map<string, string>();
  const originalKey = new Map<string, string>();
  for (const [key, rawValue] of props) {
    const normalised = normaliseKey(key);
    if (!KNOWN_KEYS.has(normalised)) {
      warn(unknownKeyMessage(key));
      continue;
    }
    const previous = originalKey.get(normalised);
    if (previous !== undefined) warn(`"${previous}" and "${key}" are the same key; using the value of "${key}"`);
    originalKey.set(normalised, key);
    const value = rawValue.trim();
    if (value === '') values.delete(normalised);
    else values.set(normalised, value);
  }
  return values;
}

function unknownKeyMessage(key: string): string {
  const message = `unknown key "${key}" in properties file (ignored)`;
  const suggestion = closestKey(key);
  return suggestion === undefined ? message : `${message} — did you mean "${suggestion}"?`;
}

function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of SUGGESTIONS) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insert, delete, substitute), one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
