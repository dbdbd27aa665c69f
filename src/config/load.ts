/**
 * Turning input into a validated KclConfig: `buildConfig` (defaults + validation, also for configs built in code)
 * and the mapping of the Java MultiLangDaemon's properties keys onto KclConfig (shared/spec/multilang-protocol.md
 * §5.2–§5.5). Where Java is lenient in ways that hide mistakes (an unparsable number silently becomes 0, an unknown
 * boolean becomes false, unknown keys vanish), we fail or warn instead, naming the key, the value and what is
 * allowed.
 */

import { randomUUID } from 'node:crypto';
import { ConfigError } from '../common/errors.js';
import { DEFAULTS, type InitialPosition, type KclConfig, type KclConfigInput } from './config.js';
import { readPropertiesFile } from './properties.js';

// ---------------------------------------------------------------------------------------------------------------
// buildConfig: defaults and validation
// ---------------------------------------------------------------------------------------------------------------

const INITIAL_POSITIONS: readonly InitialPosition[] = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'];

/** What a numeric field accepts; `describeRule` turns it into the "expected …" part of an error message. */
interface NumberRule {
  integer?: boolean;
  min?: number;
  /** When set, `min` itself is not allowed (e.g. "greater than 0"). */
  minExclusive?: boolean;
  max?: number;
  /** Infinity is a legal value meaning "unlimited". */
  allowInfinity?: boolean;
  note?: string;
}

type NumericField =
  | 'failoverTimeMillis'
  | 'epsilonMillis'
  | 'shardSyncIntervalMillis'
  | 'maxRecords'
  | 'idleTimeBetweenReadsInMillis'
  | 'parentShardPollIntervalMillis'
  | 'taskBackoffTimeMillis'
  | 'maxLeasesForWorker'
  | 'maxLeasesToStealAtOneTime'
  | 'gracefulLeaseHandoffTimeoutMillis'
  | 'maxPendingProcessRecordsInput'
  | 'metricsBufferTimeMillis'
  | 'metricsMaxQueueSize'
  | 'maxActiveThreads'
  | 'timeoutInSeconds'
  | 'shutdownGraceMillis';

const POSITIVE: NumberRule = { min: 0, minExclusive: true };
const NON_NEGATIVE: NumberRule = { min: 0 };

const NUMBER_RULES: Readonly<Record<NumericField, NumberRule>> = {
  failoverTimeMillis: POSITIVE,
  // The cross-check against failoverTimeMillis is in checkEpsilon.
  epsilonMillis: NON_NEGATIVE,
  shardSyncIntervalMillis: POSITIVE,
  // Kinesis GetRecords rejects a Limit above 10000.
  maxRecords: { integer: true, min: 1, max: 10_000 },
  idleTimeBetweenReadsInMillis: NON_NEGATIVE,
  parentShardPollIntervalMillis: POSITIVE,
  taskBackoffTimeMillis: NON_NEGATIVE,
  maxLeasesForWorker: { integer: true, min: 1, allowInfinity: true, note: 'leave unset for unlimited' },
  maxLeasesToStealAtOneTime: { integer: true, min: 1 },
  gracefulLeaseHandoffTimeoutMillis: NON_NEGATIVE,
  maxPendingProcessRecordsInput: { integer: true, min: 1, max: 100 },
  metricsBufferTimeMillis: NON_NEGATIVE,
  metricsMaxQueueSize: { integer: true, min: 1 },
  // Java: > 0 is a fixed pool, <= 0 unbounded, so every integer is meaningful.
  maxActiveThreads: { integer: true, note: '0 or less = unbounded' },
  timeoutInSeconds: POSITIVE,
  shutdownGraceMillis: NON_NEGATIVE,
};

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  let range = '';
  if (rule.min !== undefined && rule.max !== undefined) range = ` from ${rule.min} to ${rule.max}`;
  else if (rule.min !== undefined) range = rule.minExclusive ? ` greater than ${rule.min}` : ` >= ${rule.min}`;
  return `${kind}${range}${rule.note ? ` (${rule.note})` : ''}`;
}

/** How a value is shown in a message: strings quoted (so blanks and spaces are visible), the rest as is. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  return String(value);
}

function fail(key: string, shown: string, problem: string, expected: string): never {
  throw new ConfigError(`${key}: ${shown} ${problem}; expected ${expected}`, key);
}

function missing(key: string, expected: string): never {
  throw new ConfigError(`${key}: missing; expected ${expected}`, key);
}

/** Validates one number against its rule; `shown` lets the properties path quote the text from the file. */
function checkNumber(key: NumericField, value: unknown, shown = show(value)): number {
  const rule = NUMBER_RULES[key];
  const expected = describeRule(rule);
  if (typeof value !== 'number' || Number.isNaN(value)) fail(key, shown, 'is not a number', expected);
  if (!Number.isFinite(value) && !(rule.allowInfinity && value === Number.POSITIVE_INFINITY)) {
    fail(key, shown, 'is not a finite number', expected);
  }
  if (rule.integer && Number.isFinite(value) && !Number.isInteger(value)) fail(key, shown, 'is not an integer', expected);
  const belowMin =
    rule.min !== undefined && (rule.minExclusive ? value <= rule.min : value < rule.min);
  const aboveMax = rule.max !== undefined && value > rule.max;
  if (belowMin || aboveMax) fail(key, shown, 'is out of range', expected);
  return value;
}

function checkOptionalNumber(key: NumericField, value: number | undefined): number | undefined {
  return value === undefined ? undefined : checkNumber(key, value);
}

/** Renewals happen every failover/3 − epsilon, so epsilon must leave a positive renewal period. */
function checkEpsilon(epsilonMillis: number, failoverTimeMillis: number): void {
  checkNumber('epsilonMillis', epsilonMillis);
  const limit = failoverTimeMillis / 3;
  if (epsilonMillis >= limit) {
    fail(
      'epsilonMillis',
      show(epsilonMillis),
      'is too large',
      `a number >= 0 and less than failoverTimeMillis / 3 (${Math.round(limit * 100) / 100})`,
    );
  }
}

function checkNonBlank(key: string, value: unknown, what: string): string {
  if (value === undefined) missing(key, what);
  if (typeof value !== 'string') fail(key, show(value), 'is not a string', what);
  if (value.trim() === '') fail(key, show(value), 'is blank', what);
  return value;
}

function checkBoolean(key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(key, show(value), 'is not a boolean', 'true or false');
  return value;
}

/** DynamoDB's table-name rules, checked here so a bad name fails at startup rather than at CreateTable. */
function checkTableName(key: string, value: unknown, hint = ''): string {
  const what = `3 to 255 characters from a-z, A-Z, 0-9, "_", "-" and "." (a DynamoDB table name${hint})`;
  const name = checkNonBlank(key, value, what);
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name)) fail(key, show(name), 'is not a valid lease table name', what);
  return name;
}

/** Region names are passed straight to the SDK; reject only what can never be a region (spaces, blanks). */
function checkRegion(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const what = 'an AWS region name such as "us-east-1"';
  const region = checkNonBlank('regionName', value, what);
  if (!/^[A-Za-z0-9-]+$/.test(region)) fail('regionName', show(region), 'is not a region name', what);
  return region;
}

function checkEndpoint(key: 'kinesisEndpoint' | 'dynamoDBEndpoint', value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const what = 'a URL with an http or https scheme, e.g. "http://localhost:4567"';
  let url: URL | undefined;
  try {
    url = new URL(checkNonBlank(key, value, what));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(key, show(value), 'is not an http(s) URL', what);
  }
  return value;
}

function checkOptionalString(key: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return fail(key, show(value), 'is not a string', 'a string');
}

function checkInitialPosition(input: KclConfigInput): Pick<KclConfig, 'initialPositionInStream' | 'initialPositionTimestamp'> {
  const timestamp = input.initialPositionTimestamp;
  // A timestamp without an explicit position can only mean AT_TIMESTAMP; silently starting at LATEST would hide it.
  const position = input.initialPositionInStream ?? (timestamp !== undefined ? 'AT_TIMESTAMP' : DEFAULTS.initialPositionInStream);
  if (!INITIAL_POSITIONS.includes(position)) {
    fail('initialPositionInStream', show(position), 'is not a valid initial position', INITIAL_POSITIONS.join(', '));
  }
  if (timestamp !== undefined && !(timestamp instanceof Date && !Number.isNaN(timestamp.getTime()))) {
    fail('initialPositionTimestamp', show(timestamp), 'is not a valid Date', 'a valid Date');
  }
  if (position === 'AT_TIMESTAMP' && timestamp === undefined) {
    missing('initialPositionTimestamp', 'a Date when initialPositionInStream is AT_TIMESTAMP');
  }
  return timestamp === undefined
    ? { initialPositionInStream: position }
    : { initialPositionInStream: position, initialPositionTimestamp: timestamp };
}

function resolveWorkerId(value: string | undefined): string {
  if (value === undefined) return randomUUID();
  return checkNonBlank('workerId', value, 'a non-empty worker id (or leave it unset for a random one)');
}

function resolveTableName(input: KclConfigInput, applicationName: string): string {
  if (input.tableName !== undefined) return checkTableName('tableName', input.tableName);
  // The table is named after the application, so the application name must also be a valid table name.
  return checkTableName('applicationName', applicationName, '; the lease table is named after applicationName unless tableName is set');
}

type DefaultedNumber = Exclude<NumericField, 'timeoutInSeconds' | 'shutdownGraceMillis'>;
type BooleanField =
  | 'callProcessRecordsEvenForEmptyRecordList'
  | 'cleanupLeasesUponShardCompletion'
  | 'validateSequenceNumberBeforeCheckpointing'
  | 'isGracefulLeaseHandoffEnabled';

function numberOrDefault(input: KclConfigInput, key: DefaultedNumber): number {
  return checkNumber(key, input[key] ?? DEFAULTS[key]);
}

function booleanOrDefault(input: KclConfigInput, key: BooleanField): boolean {
  return checkBoolean(key, input[key] ?? DEFAULTS[key]);
}

/**
 * Fills defaults from `DEFAULTS` (tableName = applicationName, workerId = a random UUID) and validates every
 * field, so a config built in code gets the same checks as one read from a file. Throws ConfigError naming the
 * key, the bad value and what is allowed.
 */
export function buildConfig(input: KclConfigInput): KclConfig {
  const streamName = checkNonBlank('streamName', input.streamName, 'a Kinesis stream name');
  const applicationName = checkNonBlank('applicationName', input.applicationName, 'a non-empty application name');
  const failoverTimeMillis = numberOrDefault(input, 'failoverTimeMillis');
  const epsilonMillis = input.epsilonMillis ?? DEFAULTS.epsilonMillis;
  checkEpsilon(epsilonMillis, failoverTimeMillis);
  const config: KclConfig = {
    streamName,
    applicationName,
    tableName: resolveTableName(input, applicationName),
    workerId: resolveWorkerId(input.workerId),
    ...checkInitialPosition(input),
    failoverTimeMillis,
    epsilonMillis,
    shardSyncIntervalMillis: numberOrDefault(input, 'shardSyncIntervalMillis'),
    maxRecords: numberOrDefault(input, 'maxRecords'),
    idleTimeBetweenReadsInMillis: numberOrDefault(input, 'idleTimeBetweenReadsInMillis'),
    callProcessRecordsEvenForEmptyRecordList: booleanOrDefault(input, 'callProcessRecordsEvenForEmptyRecordList'),
    parentShardPollIntervalMillis: numberOrDefault(input, 'parentShardPollIntervalMillis'),
    cleanupLeasesUponShardCompletion: booleanOrDefault(input, 'cleanupLeasesUponShardCompletion'),
    taskBackoffTimeMillis: numberOrDefault(input, 'taskBackoffTimeMillis'),
    maxLeasesForWorker: numberOrDefault(input, 'maxLeasesForWorker'),
    maxLeasesToStealAtOneTime: numberOrDefault(input, 'maxLeasesToStealAtOneTime'),
    isGracefulLeaseHandoffEnabled: booleanOrDefault(input, 'isGracefulLeaseHandoffEnabled'),
    gracefulLeaseHandoffTimeoutMillis: numberOrDefault(input, 'gracefulLeaseHandoffTimeoutMillis'),
    maxPendingProcessRecordsInput: numberOrDefault(input, 'maxPendingProcessRecordsInput'),
    metricsBufferTimeMillis: numberOrDefault(input, 'metricsBufferTimeMillis'),
    metricsMaxQueueSize: numberOrDefault(input, 'metricsMaxQueueSize'),
    validateSequenceNumberBeforeCheckpointing: booleanOrDefault(input, 'validateSequenceNumberBeforeCheckpointing'),
    maxActiveThreads: numberOrDefault(input, 'maxActiveThreads'),
    awsCredentialsProvider: checkNonBlank(
      'awsCredentialsProvider',
      input.awsCredentialsProvider ?? DEFAULTS.awsCredentialsProvider,
      'a credentials provider name such as "DefaultCredentialsProvider"',
    ),
  };
  return withOptionalFields(config, input);
}

/** Optional fields are only set when given, so `'regionName' in config` means the caller chose one. */
function withOptionalFields(config: KclConfig, input: KclConfigInput): KclConfig {
  const optional: Partial<KclConfig> = {
    regionName: checkRegion(input.regionName),
    kinesisEndpoint: checkEndpoint('kinesisEndpoint', input.kinesisEndpoint),
    dynamoDBEndpoint: checkEndpoint('dynamoDBEndpoint', input.dynamoDBEndpoint),
    executableName: checkOptionalString('executableName', input.executableName),
    processingLanguage: checkOptionalString('processingLanguage', input.processingLanguage),
    timeoutInSeconds: checkOptionalNumber('timeoutInSeconds', input.timeoutInSeconds),
    shutdownGraceMillis: checkOptionalNumber('shutdownGraceMillis', input.shutdownGraceMillis),
  };
  return { ...config, ...withoutUndefined(optional) };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------------------------
// Properties keys
// ---------------------------------------------------------------------------------------------------------------

/**
 * Keys the Java daemon knows that this library accepts without acting on them (listed in the README). Some are
 * parsed and validated into KclConfig for later use (metricsBufferTimeMillis, metricsMaxQueueSize,
 * validateSequenceNumberBeforeCheckpointing, maxActiveThreads); the rest are
 * only recognised, so they do not trigger the unknown-key warning.
 */
export const ACCEPTED_NOT_ACTED_ON: readonly string[] = [
  // Parsed into KclConfig, not acted on by the core yet.
  'metricsBufferTimeMillis',
  'metricsMaxQueueSize',
  'validateSequenceNumberBeforeCheckpointing',
  'maxActiveThreads',
  // Per-client credentials: the Kinesis provider (AWSCredentialsProvider) is used for every client.
  'AWSCredentialsProviderDynamoDB',
  'AWSCredentialsProviderCloudWatch',
  // Lease management (KCL 2.x/3.x).
  'leaseAssignmentIntervalMillis',
  'ignoreUnexpectedChildShards',
  'enablePriorityLeaseAssignment',
  'initialLeaseTableReadCapacity',
  'initialLeaseTableWriteCapacity',
  'leaseTableDeletionProtectionEnabled',
  'leaseTablePitrEnabled',
  'leaseTableScanTotalSegments',
  'maxLeaseRenewalThreads',
  'listShardsBackoffTimeInMillis',
  'maxListShardsRetryAttempts',
  'skipShardSyncAtWorkerInitializationIfLeasesExist',
  'schedulerInitializationBackoffTimeMillis',
  'clientVersionConfig',
  'migrateAllEntitiesToLeaseTable',
  'tableMigrationCompleteBakeTimeSeconds',
  'logWarningForTaskAfterMillis',
  // Metrics.
  'metricsLevel',
  'metricsEnabledDimensions',
  // Retrieval: only polling exists, so the mode and polling extras are not consulted.
  'retrievalMode',
  'millisBehindLatestThresholdForReducedTps',
  'retryGetRecordsInSeconds',
  'maxGetRecordsThreadPool',
  'fanoutConfig.consumerArn',
  'fanoutConfig.consumerName',
  // KCL 3 worker-utilisation balancing (leases are balanced by count, as in KCL 2.x).
  'inMemoryWorkerMetricsCaptureFrequencyMillis',
  'workerMetricsReporterFreqInMillis',
  'noOfPersistedMetricsPerWorkerMetrics',
  'disableWorkerMetrics',
  'allowThroughputOvershoot',
  'maxThroughputPerHostKBps',
  'dampeningPercentage',
  'reBalanceThresholdPercentage',
  'varianceBalancingFrequency',
  'workerMetricsEMAAlpha',
  'staleWorkerMetricsEntryCleanupDuration',
  // KCL 3 auxiliary tables.
  ...auxiliaryTableKeys('workerMetrics'),
  ...auxiliaryTableKeys('coordinatorState'),
  // KCL 1.x SDK-v1 client settings, ignored by the 2.x/3.x daemon too.
  'kinesisClientConfig',
  'dynamoDBClientConfig',
  'cloudWatchClientConfig',
];

function auxiliaryTableKeys(prefix: string): string[] {
  const suffixes = ['TableName', 'BillingMode', 'ReadCapacity', 'WriteCapacity', 'PointInTimeRecoveryEnabled', 'DeletionProtectionEnabled', 'Tags'];
  return suffixes.map((suffix) => `${prefix}${suffix}`);
}

const STRING_KEYS = [
  'streamName',
  'applicationName',
  'tableName',
  'workerId',
  'regionName',
  'kinesisEndpoint',
  'dynamoDBEndpoint',
  'awsCredentialsProvider',
  'executableName',
  'processingLanguage',
] as const satisfies readonly (keyof KclConfig)[];

const NUMBER_KEYS = [
  'failoverTimeMillis',
  'shardSyncIntervalMillis',
  'maxRecords',
  'idleTimeBetweenReadsInMillis',
  'parentShardPollIntervalMillis',
  'taskBackoffTimeMillis',
  'maxLeasesForWorker',
  'maxLeasesToStealAtOneTime',
  'gracefulLeaseHandoffTimeoutMillis',
  'maxPendingProcessRecordsInput',
  'metricsBufferTimeMillis',
  'metricsMaxQueueSize',
  'maxActiveThreads',
  'timeoutInSeconds',
  'shutdownGraceMillis',
] as const satisfies readonly NumericField[];

const BOOLEAN_KEYS = [
  'callProcessRecordsEvenForEmptyRecordList',
  'cleanupLeasesUponShardCompletion',
  'validateSequenceNumberBeforeCheckpointing',
  'isGracefulLeaseHandoffEnabled',
] as const satisfies readonly BooleanField[];

/** Keys read through their own logic below rather than through the type tables. */
const SPECIAL_KEYS = [
  'streamArn',
  'workerIdentifier',
  'initialPositionInStream',
  'initialPositionInStreamExtended',
  'timestampAtInitialPositionInStream',
] as const;

const CREDENTIALS_PREFIX = 'awsCredentialsProvider';

/**
 * Java matches any key starting with `awscredentialsprovider` case-insensitively (§5.2); only that prefix is
 * normalised, the suffix (DynamoDB, CloudWatch) stays case-sensitive.
 */
function normaliseKey(key: string): string {
  if (key.toLowerCase().startsWith(CREDENTIALS_PREFIX.toLowerCase())) {
    return CREDENTIALS_PREFIX + key.slice(CREDENTIALS_PREFIX.length);
  }
  return key;
}

const ACTED_ON_KEYS: readonly string[] = [...STRING_KEYS, ...NUMBER_KEYS, ...BOOLEAN_KEYS, ...SPECIAL_KEYS];
const KNOWN_KEYS: ReadonlySet<string> = new Set([...ACTED_ON_KEYS, ...ACCEPTED_NOT_ACTED_ON].map(normaliseKey));
/** What suggestions show: the credentials key in the spelling the samples use. */
const SUGGESTIONS: readonly string[] = [...ACTED_ON_KEYS.filter((k) => k !== CREDENTIALS_PREFIX), 'AWSCredentialsProvider', ...ACCEPTED_NOT_ACTED_ON];

// ---------------------------------------------------------------------------------------------------------------
// Value conversion
// ---------------------------------------------------------------------------------------------------------------

// Pairs rather than an object literal so messages list them in this order (objects put '1' and '0' first).
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true], ['false', false], ['yes', true], ['no', false], ['y', true], ['n', false],
  ['on', true], ['off', false], ['1', true], ['0', false],
]);

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Unlike `Number()`, rejects hex, "Infinity" and the empty string, which would otherwise parse "successfully". */
function parseDecimal(text: string): number | undefined {
  return NUMBER_PATTERN.test(text) ? Number(text) : undefined;
}

function parseNumberProperty(key: NumericField, raw: string): number {
  const value = parseDecimal(raw);
  if (value === undefined) fail(key, show(raw), 'is not a number', describeRule(NUMBER_RULES[key]));
  return checkNumber(key, value, show(raw));
}

function parseBooleanProperty(key: string, raw: string): boolean {
  const value = BOOLEAN_WORDS.get(raw.toLowerCase());
  if (value === undefined) {
    fail(key, show(raw), 'is not a boolean', `one of ${[...BOOLEAN_WORDS.keys()].join(', ')} (case-insensitive)`);
  }
  return value;
}

function parseInitialPosition(raw: string): InitialPosition {
  const upper = raw.toUpperCase();
  const match = INITIAL_POSITIONS.find((p) => p === upper);
  if (match === undefined) {
    fail('initialPositionInStream', show(raw), 'is not a valid initial position', `one of ${INITIAL_POSITIONS.join(', ')} (case-insensitive)`);
  }
  return match;
}

/** Epoch seconds (fractions allowed) → Date, rounded to the millisecond. */
function parseTimestamp(key: string, raw: string): Date {
  const expected = 'epoch seconds (e.g. 1617406032 or 1617406032.5), not negative';
  const seconds = parseDecimal(raw);
  if (seconds === undefined) fail(key, show(raw), 'is not a number', expected);
  const date = new Date(Math.round(seconds * 1000));
  if (seconds < 0 || Number.isNaN(date.getTime())) fail(key, show(raw), 'is out of range', expected);
  return date;
}

const STREAM_ARN = /^arn:aws[^:]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]{1,128})$/;

function streamNameFromArn(raw: string): string {
  const match = STREAM_ARN.exec(raw);
  if (match === null) {
    fail('streamArn', show(raw), 'is not a Kinesis stream ARN', 'arn:aws:kinesis:<region>:<12-digit account>:stream/<name>');
  }
  return match[1] as string;
}

// ---------------------------------------------------------------------------------------------------------------
// configFromProperties
// ---------------------------------------------------------------------------------------------------------------

export interface PropertiesConfigOptions {
  /** Called for unknown keys and conflicting duplicates; the default ignores them. */
  onWarning?: (message: string) => void;
  /** Applied on top of the file's values before validation (e.g. command-line flags); undefined entries are skipped. */
  overrides?: Partial<KclConfig>;
}

/** The file's values by normalised key, trimmed, with blank values removed. */
type Values = Map<string, string>;

/**
 * Maps the Java daemon's keys onto KclConfig and validates the result with `buildConfig`.
 *
 * Differences from Java, on purpose:
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
  const warn = options.onWarning ?? (() => {});
  const values = normaliseProperties(props, warn);
  const fromFile: Partial<KclConfig> = {
    ...readTypedKeys(values),
    ...readStream(values),
    ...readWorkerId(values, warn),
    ...readInitialPosition(values, warn),
  };
  const merged = { ...fromFile, ...withoutUndefined(options.overrides ?? {}) };
  return buildConfig(requireKeys(merged));
}

/** Reads a properties file and maps it with `configFromProperties`; every failure is a ConfigError. */
export async function loadPropertiesConfig(path: string, options: PropertiesConfigOptions = {}): Promise<KclConfig> {
  const props = await readPropertiesFile(path);
  try {
    return configFromProperties(props, options);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`, err.key);
    throw err;
  }
}

function normaliseProperties(props: Map<string, string>, warn: (message: string) => void): Values {
  const values: Values = new Map();
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

function readTypedKeys(values: Values): Partial<KclConfig> {
  const out: Partial<KclConfig> = {};
  for (const key of STRING_KEYS) {
    const raw = values.get(key);
    if (raw !== undefined) out[key] = raw;
  }
  for (const key of NUMBER_KEYS) {
    const raw = values.get(key);
    if (raw !== undefined) out[key] = parseNumberProperty(key, raw);
  }
  for (const key of BOOLEAN_KEYS) {
    const raw = values.get(key);
    if (raw !== undefined) out[key] = parseBooleanProperty(key, raw);
  }
  return out;
}

/** A (non-blank) streamArn must be a Kinesis stream ARN, and its stream name overrides streamName. */
function readStream(values: Values): Partial<KclConfig> {
  const arn = values.get('streamArn');
  return arn === undefined ? {} : { streamName: streamNameFromArn(arn) };
}

function readWorkerId(values: Values, warn: (message: string) => void): Partial<KclConfig> {
  const workerId = values.get('workerId');
  const alias = values.get('workerIdentifier');
  if (workerId !== undefined && alias !== undefined && workerId !== alias) {
    warn(`workerId and workerIdentifier are both set; using workerId = "${workerId}"`);
  }
  const chosen = workerId ?? alias;
  return chosen === undefined ? {} : { workerId: chosen };
}

function readInitialPosition(values: Values, warn: (message: string) => void): Partial<KclConfig> {
  const rawPosition = values.get('initialPositionInStream');
  const position = rawPosition === undefined ? undefined : parseInitialPosition(rawPosition);
  const timestamp = readTimestamp(values, warn);
  if (timestamp !== undefined) {
    if (position !== undefined && position !== 'AT_TIMESTAMP') {
      warn(`initialPositionInStream = ${position} is overridden by the timestamp key: starting AT_TIMESTAMP`);
    }
    return { initialPositionInStream: 'AT_TIMESTAMP', initialPositionTimestamp: timestamp };
  }
  if (position === 'AT_TIMESTAMP') {
    missing(
      'initialPositionInStreamExtended',
      'epoch seconds because initialPositionInStream is "AT_TIMESTAMP" (or choose LATEST / TRIM_HORIZON)',
    );
  }
  return position === undefined ? {} : { initialPositionInStream: position };
}

/** `initialPositionInStreamExtended` (2.x/3.x) wins over its 1.x name `timestampAtInitialPositionInStream`. */
function readTimestamp(values: Values, warn: (message: string) => void): Date | undefined {
  const extended = values.get('initialPositionInStreamExtended');
  const legacy = values.get('timestampAtInitialPositionInStream');
  if (extended !== undefined && legacy !== undefined && extended !== legacy) {
    warn(`initialPositionInStreamExtended and timestampAtInitialPositionInStream are both set; using initialPositionInStreamExtended = ${extended}`);
  }
  if (extended !== undefined) return parseTimestamp('initialPositionInStreamExtended', extended);
  if (legacy !== undefined) return parseTimestamp('timestampAtInitialPositionInStream', legacy);
  return undefined;
}

function requireKeys(config: Partial<KclConfig>): KclConfigInput {
  const { streamName, applicationName } = config;
  if (streamName === undefined) {
    missing('streamName', 'streamName (or streamArn) in the properties, naming the stream to consume');
  }
  if (applicationName === undefined) {
    missing('applicationName', 'applicationName in the properties (it also names the lease table)');
  }
  return { ...config, streamName, applicationName };
}
