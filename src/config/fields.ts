/**
 * THE table of the core's configuration keys: one row per field (kind and validation, default, properties key
 * and aliases, the README's one line, acted on or not), and compact rows for the keys the Java daemon knows that
 * are only recognised. `KclConfig`, `DEFAULTS`, `buildConfig`'s checks, the properties reader, the unknown-key
 * suggestions, `ACCEPTED_NOT_ACTED_ON` and the README's key table are all derived from here.
 *
 * Adding a key: add its row (or move it from a compact list into a row) and write its consumer; then run
 * `npm run docs:config` to regenerate the README table (a unit test fails until you do). The defaults are the
 * Java KCL's unless the README says otherwise (see docs/differences-from-java.md).
 */

import { randomUUID } from 'node:crypto';
import {
  type Alias,
  booleanKind,
  defaulted,
  derived,
  epochSecondsDateKind,
  httpUrlKind,
  Invalid,
  NON_NEGATIVE,
  propertiesKey,
  type NotActedOn,
  numberKind,
  oneOfKind,
  optional,
  subsetKind,
  POSITIVE,
  required,
  show,
  textKind,
} from './schema.js';

export const INITIAL_POSITIONS = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const;
export const RETRIEVAL_MODES = ['FANOUT', 'POLLING'] as const;
export const KINESIS_PROTOCOLS = ['CBOR', 'JSON'] as const;
export type KinesisProtocol = (typeof KINESIS_PROTOCOLS)[number];

/** CBOR, like the AWS SDKs for Java, unless the environment disables it the way the Java SDK v1 reads it. */
export function defaultKinesisProtocol(env: NodeJS.ProcessEnv = process.env): KinesisProtocol {
  return env.AWS_CBOR_DISABLE !== undefined && env.AWS_CBOR_DISABLE !== '' && env.AWS_CBOR_DISABLE.toLowerCase() !== 'false' ? 'JSON' : 'CBOR';
}
export const METRICS_LEVELS = ['NONE', 'SUMMARY', 'DETAILED'] as const;
export type MetricsLevel = (typeof METRICS_LEVELS)[number];
/** The CloudWatch dimensions a data point may carry (StreamId only in the Java KCL's multi-stream mode). */
export const METRICS_DIMENSIONS = ['Operation', 'ShardId', 'WorkerIdentifier', 'StreamId'] as const;
export type MetricsDimension = (typeof METRICS_DIMENSIONS)[number];
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

/** Setting any of these (without retrievalMode) means polling, as in the Java daemon. */
export const POLLING_FIELDS = ['maxRecords', 'idleTimeBetweenReadsInMillis', 'millisBehindLatestThresholdForReducedTps', 'retryGetRecordsInSeconds', 'maxGetRecordsThreadPool'] as const;

/**
 * The Java daemon's rule: retrievalMode as set; unset (or DEFAULT), polling when a polling key is set and
 * enhanced fan-out otherwise. The reason is logged at start.
 */
export function chooseRetrievalMode(given: Readonly<Record<string, unknown>>): { mode: RetrievalMode; reason: string } {
  const mode = given.retrievalMode;
  if (mode === 'FANOUT' || mode === 'POLLING') return { mode, reason: `retrievalMode is ${mode}` };
  const polling = POLLING_FIELDS.filter((name) => given[name] !== undefined).map((name) => propertiesKey(name, CORE_FIELDS[name]) ?? name);
  if (polling.length > 0) return { mode: 'POLLING', reason: `retrievalMode is not set and the polling key${polling.length > 1 ? 's' : ''} ${polling.join(', ')} ${polling.length > 1 ? 'are' : 'is'} set` };
  return { mode: 'FANOUT', reason: 'retrievalMode is not set and no polling key is set (the Java KCL default)' };
}

/** A retrievalMode value: FANOUT or POLLING; in a properties file also DEFAULT (= not set), any case. */
const retrievalModeKind = (() => {
  const kind = oneOfKind(RETRIEVAL_MODES, 'is not a retrieval mode');
  return {
    ...kind,
    parse: (text: string) => (text.toUpperCase() === 'DEFAULT' ? undefined : kind.parse(text)),
  };
})();

const CONSUMER_ARN = /^arn:aws[^:]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]{1,128})\/consumer\/[A-Za-z0-9_.-]{1,128}:\d+$/;

/**
 * Keys that are accepted but not acted on, by README group. A field row joins a group with `notActedOn`; a key
 * that is only recognised (no field, no validation) is a compact entry here. When a key starts being acted on,
 * it moves from here into a row of CORE_FIELDS.
 */
export const NOT_ACTED_ON_GROUPS = {
  metrics: { label: 'metrics', keys: [] },
  processing: { label: 'record processing', keys: [] },
  credentials: {
    label: 'per-client credentials (the `AWSCredentialsProvider` one is used for every client)',
    keys: ['AWSCredentialsProviderDynamoDB'],
  },
  retrieval: {
    label: 'retrieval',
    keys: [],
  },
  leaseTable: {
    label: 'lease-table tuning',
    keys: [
      'leaseAssignmentIntervalMillis',
      'ignoreUnexpectedChildShards',
      'enablePriorityLeaseAssignment',
      'initialLeaseTableReadCapacity',
      'initialLeaseTableWriteCapacity',
      'leaseTableDeletionProtectionEnabled',
      'leaseTablePitrEnabled',
      'leaseTableScanTotalSegments',
      'listShardsBackoffTimeInMillis',
      'maxListShardsRetryAttempts',
      'skipShardSyncAtWorkerInitializationIfLeasesExist',
      'schedulerInitializationBackoffTimeMillis',
      'logWarningForTaskAfterMillis',
    ],
  },
  kcl3Migration: {
    label: 'KCL 3 migration',
    keys: ['clientVersionConfig', 'migrateAllEntitiesToLeaseTable', 'tableMigrationCompleteBakeTimeSeconds'],
  },
  workerMetrics: {
    label: 'KCL 3 worker-utilisation balancing (leases are balanced by count, as in KCL 2.x)',
    keys: [
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
    ],
  },
  auxiliaryTables: {
    label: 'KCL 3 auxiliary tables',
    keys: [...auxiliaryTableKeys('workerMetrics'), ...auxiliaryTableKeys('coordinatorState')],
  },
  clientConfig: {
    label: 'KCL 1.x SDK client settings (ignored by the Java 2.x/3.x daemon too)',
    keys: ['kinesisClientConfig', 'dynamoDBClientConfig', 'cloudWatchClientConfig'],
  },
  daemon: { label: '`kcl multilang`', keys: [] },
} satisfies Record<string, { label: string; keys: readonly RecognisedKey[] }>;

export type RecognisedKey = string | { key: string; note: string };
export type NotActedOnGroup = keyof typeof NOT_ACTED_ON_GROUPS;

export function notActedOn(group: NotActedOnGroup, note?: string): NotActedOn {
  return note === undefined ? { group } : { group, note };
}

function auxiliaryTableKeys(prefix: string): string[] {
  const suffixes = ['TableName', 'BillingMode', 'ReadCapacity', 'WriteCapacity', 'PointInTimeRecoveryEnabled', 'DeletionProtectionEnabled', 'Tags'];
  return suffixes.map((suffix) => `${prefix}${suffix}`);
}

/**
 * The keys of the daemon's own table (multilang/daemon-config.ts, which is checked against this list by the
 * type system). The core does not read them, but knows them, so a daemon file read by the core does not warn.
 */
export const DAEMON_KEYS = ['executableName', 'processingLanguage', 'timeoutInSeconds', 'shutdownGraceMillis'] as const;
export type DaemonKey = (typeof DAEMON_KEYS)[number];

// ---------------------------------------------------------------------------------------------------------------
// Kinds used by more than one row
// ---------------------------------------------------------------------------------------------------------------

const TABLE_NAME_WHAT = '3 to 255 characters from a-z, A-Z, 0-9, "_", "-" and "." (a DynamoDB table name';

/** DynamoDB's table-name rules, checked here so a bad name fails at startup rather than at CreateTable. */
function tableNameKind(hint = '') {
  return textKind(`${TABLE_NAME_WHAT}${hint})`, { pattern: /^[A-Za-z0-9_.-]{3,255}$/, problem: 'is not a valid lease table name' });
}

const STREAM_ARN = /^arn:aws[^:]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]{1,128})$/;

const streamArn: Alias<string> = {
  key: 'streamArn',
  wins: true,
  parse: (text) =>
    STREAM_ARN.exec(text)?.[1] ??
    new Invalid('is not a Kinesis stream ARN', 'arn:aws:kinesis:<region>:<12-digit account>:stream/<name>'),
};

const CREDENTIALS_DOC =
  'SDK v1 and v2 provider names map onto SDK v3 providers: `DefaultCredentialsProvider` / `DefaultAWSCredentialsProviderChain`, ' +
  '`EnvironmentVariableCredentialsProvider`, `ProfileCredentialsProvider|profile`, `InstanceProfileCredentialsProvider`, ' +
  '`ContainerCredentialsProvider`, `WebIdentityTokenFileCredentialsProvider`; comma-separated = a chain';

// ---------------------------------------------------------------------------------------------------------------
// The table. Row order is the README's order; a derived default may only use rows above it.
// ---------------------------------------------------------------------------------------------------------------

export const CORE_FIELDS = {
  streamName: required(textKind('a Kinesis stream name'), {
    doc: 'the stream',
    aliases: [streamArn],
    // streamArn simply wins, as in Java.
    warnOnAliasConflict: false,
    missingFromFile: 'streamName (or streamArn) in the properties, naming the stream to consume',
  }),
  applicationName: required(textKind('a non-empty application name'), {
    doc: 'the application; names the lease table',
    missingFromFile: 'applicationName in the properties (it also names the lease table)',
  }),
  tableName: derived(
    tableNameKind(),
    (done, problems) => {
      // The table is named after the application, so the application name must also be a valid table name.
      const app = done.applicationName;
      if (typeof app !== 'string') return undefined;
      const checked = tableNameKind('; the lease table is named after applicationName unless tableName is set').check(app);
      if (checked instanceof Invalid) problems.invalid('applicationName', show(app), checked);
      return checked instanceof Invalid ? undefined : checked;
    },
    { doc: 'lease table name', defaultDoc: '`applicationName`' },
  ),
  workerId: derived(textKind('a non-empty worker id (or leave it unset for a random one)'), () => randomUUID(), {
    doc: "this worker's `leaseOwner`",
    defaultDoc: 'random UUID',
    aliases: [{ key: 'workerIdentifier' }],
  }),
  regionName: optional(textKind('an AWS region name such as "us-east-1"', { pattern: /^[A-Za-z0-9-]+$/, problem: 'is not a region name' }), {
    // Passed straight to the SDK; only what can never be a region (spaces, blanks) is rejected.
    doc: 'region of both clients',
    defaultDoc: 'SDK default chain',
  }),
  kinesisEndpoint: optional(httpUrlKind, { doc: 'Kinesis endpoint URL (e.g. the local emulators)', defaultDoc: 'AWS' }),
  dynamoDBEndpoint: optional(httpUrlKind, { doc: 'DynamoDB endpoint URL (e.g. the local emulators)', defaultDoc: 'AWS' }),
  kinesisProtocol: derived(oneOfKind(KINESIS_PROTOCOLS, 'is not a Kinesis wire protocol'), () => defaultKinesisProtocol(), {
    doc: 'how the Kinesis client talks: `CBOR` (binary, record data as raw bytes, as the Java SDKs do) or `JSON` (data in base64; the fallback for an endpoint without CBOR)',
    defaultDoc: '`CBOR`; `JSON` when the environment sets `AWS_CBOR_DISABLE` (the Java SDK v1 switch)',
  }),
  awsCredentialsProvider: defaulted(textKind('a credentials provider name such as "DefaultCredentialsProvider"'), 'DefaultCredentialsProvider', {
    doc: CREDENTIALS_DOC,
    key: 'AWSCredentialsProvider',
    keyPrefixIgnoresCase: true,
  }),
  initialPositionInStream: defaulted(oneOfKind(INITIAL_POSITIONS, 'is not a valid initial position'), 'LATEST', {
    doc: '`TRIM_HORIZON`, `LATEST`, or `AT_TIMESTAMP` with `initialPositionInStreamExtended` (epoch seconds; alias `timestampAtInitialPositionInStream`)',
  }),
  initialPositionTimestamp: optional(epochSecondsDateKind, {
    doc: 'where `AT_TIMESTAMP` starts, in epoch seconds; given alone it implies `AT_TIMESTAMP`',
    defaultDoc: 'none',
    key: 'initialPositionInStreamExtended',
    aliases: [{ key: 'timestampAtInitialPositionInStream' }],
  }),
  failoverTimeMillis: defaulted(numberKind(POSITIVE), 10_000, {
    doc: 'a lease not renewed for this long may be taken; renewals run every failover/3',
  }),
  maxLeaseRenewalThreads: defaulted(numberKind({ integer: true, min: 1 }), 20, {
    doc: 'most lease renewals in flight at once (the Java KCL\'s renewal threads); each renewal\'s deadline starts when it is sent',
  }),
  // Slack subtracted from the renewal period; must stay below failoverTimeMillis / 3 (checked in load.ts).
  epsilonMillis: defaulted(numberKind(NON_NEGATIVE), 25, { doc: 'slack subtracted from the renewal period', key: null }),
  shardSyncIntervalMillis: defaulted(numberKind(POSITIVE), 60_000, { doc: 'how often the shard list is re-read for new shards' }),
  retrievalMode: derived(retrievalModeKind, (_done, _problems, given) => chooseRetrievalMode(given).mode, {
    doc: '`FANOUT` (enhanced fan-out: SubscribeToShard) or `POLLING` (GetRecords); `DEFAULT` or unset: polling if a polling key (`maxRecords`, `idleTimeBetweenReadsInMillis`, `millisBehindLatestThresholdForReducedTps`, `retryGetRecordsInSeconds`, `maxGetRecordsThreadPool`) is set, else fan-out',
    defaultDoc: '`FANOUT` unless a polling key is set',
  }),
  retrievalModeReason: derived(textKind('a non-empty text'), (_done, _problems, given) => chooseRetrievalMode(given).reason, {
    doc: 'why retrievalMode has its value (logged at start)',
    defaultDoc: 'derived',
    key: null,
  }),
  consumerName: derived(textKind('a stream consumer name (1-128 characters from a-z, A-Z, 0-9, "_", "-" and ".")', { pattern: /^[A-Za-z0-9_.-]{1,128}$/, problem: 'is not a valid consumer name' }), (done) => done.applicationName as string | undefined, {
    doc: 'fan-out: the stream consumer to read as; registered if missing, never deregistered',
    defaultDoc: '`applicationName`',
    key: 'fanoutConfig.consumerName',
  }),
  consumerArn: optional(
    textKind('a stream consumer ARN (arn:aws:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<timestamp>)', { pattern: CONSUMER_ARN, problem: 'is not a stream consumer ARN' }),
    {
      doc: 'fan-out: an existing consumer to read as (no registration)',
      defaultDoc: 'none',
      key: 'fanoutConfig.consumerArn',
    },
  ),
  // Kinesis GetRecords rejects a Limit above 10000.
  maxRecords: defaulted(numberKind({ integer: true, min: 1, max: 10_000 }), 10_000, { doc: 'polling: GetRecords limit (1–10000)' }),
  idleTimeBetweenReadsInMillis: defaulted(numberKind(NON_NEGATIVE), 1_500, { doc: 'polling: minimum time between GetRecords calls on a shard' }),
  maxIdleTimeBetweenReadsInMillis: optional(numberKind(NON_NEGATIVE), {
    doc:
      'polling, opt-in: on a shard whose reads keep coming back empty the time between GetRecords calls doubles ' +
      'from `idleTimeBetweenReadsInMillis` up to this, and is back at once after a read with records; fewer calls ' +
      'per idle shard, but a record arriving on a long-idle shard may wait this long (values at or below ' +
      '`idleTimeBetweenReadsInMillis` change nothing)',
    defaultDoc: 'off',
  }),
  millisBehindLatestThresholdForReducedTps: optional(numberKind(NON_NEGATIVE), {
    doc: 'polling: read less often when this close to the tip',
    defaultDoc: 'off',
    notActedOn: notActedOn('retrieval', 'counts as a polling key'),
  }),
  retryGetRecordsInSeconds: optional(numberKind({ integer: true, min: 1 }), {
    doc: 'polling: hedged GetRecords',
    defaultDoc: 'off',
    notActedOn: notActedOn('retrieval', 'counts as a polling key'),
  }),
  maxGetRecordsThreadPool: optional(numberKind({ integer: true, min: 1 }), {
    doc: 'polling: hedged GetRecords threads',
    defaultDoc: 'off',
    notActedOn: notActedOn('retrieval', 'counts as a polling key'),
  }),
  callProcessRecordsEvenForEmptyRecordList: defaulted(booleanKind, false, {
    doc: 'call `processRecords` with `[]` when a poll is empty',
  }),
  parentShardPollIntervalMillis: defaulted(numberKind(POSITIVE), 10_000, {
    doc: 'how often a child shard re-checks whether its parents finished',
  }),
  taskBackoffTimeMillis: defaulted(numberKind(NON_NEGATIVE), 500, {
    doc: 'wait before retrying a failed `initialize`, and between `shardEnded` retries',
  }),
  maxLeasesForWorker: defaulted(
    numberKind({ integer: true, min: 1, allowInfinity: true, note: 'leave unset for unlimited' }),
    Number.POSITIVE_INFINITY,
    { doc: 'cap on leases held by one worker' },
  ),
  maxLeasesToStealAtOneTime: defaulted(numberKind({ integer: true, min: 1 }), 1, { doc: 'leases stolen per look when balancing' }),
  isGracefulLeaseHandoffEnabled: defaulted(booleanKind, true, {
    doc: 'balancing moves are graceful hand-offs (old owner gets `shutdownRequested` and checkpoints first)',
  }),
  gracefulLeaseHandoffTimeoutMillis: defaulted(numberKind(NON_NEGATIVE), 30_000, {
    doc: 'how long an old owner may take before the hand-off is forced',
  }),
  maxPendingProcessRecordsInput: defaulted(numberKind({ integer: true, min: 1, max: 100 }), 3, {
    doc: 'batches fetched ahead of the processor per shard',
  }),
  cleanupLeasesUponShardCompletion: defaulted(booleanKind, true, {
    doc: "delete a finished parent's lease once all its children have started and checkpointed (checked at each shard sync)",
  }),
  metricsLevel: defaulted(oneOfKind(METRICS_LEVELS, 'is not a metrics level'), 'DETAILED', {
    doc: 'CloudWatch metrics published: `NONE`, `SUMMARY` or `DETAILED` (the Java KCL\'s names and levels)',
  }),
  metricsEnabledDimensions: defaulted(subsetKind(METRICS_DIMENSIONS, 'is not a metrics dimension'), [...METRICS_DIMENSIONS], {
    doc: 'dimensions CloudWatch data points may carry (`Operation` always)',
  }),
  metricsBufferTimeMillis: defaulted(numberKind(POSITIVE), 10_000, { doc: 'CloudWatch metrics are sent at least this often' }),
  metricsMaxQueueSize: defaulted(numberKind({ integer: true, min: 1 }), 10_000, {
    doc: 'CloudWatch metric data (summed per name and dimensions) waiting to be sent, at most; beyond it new data points are dropped (and counted)',
  }),
  cloudWatchEndpoint: optional(httpUrlKind, {
    doc: 'CloudWatch endpoint URL; with local Kinesis and DynamoDB endpoints and none set, CloudWatch is off',
    defaultDoc: 'AWS',
  }),
  awsCredentialsProviderCloudWatch: optional(textKind('a credentials provider name such as "DefaultCredentialsProvider"'), {
    doc: 'credentials for CloudWatch only',
    defaultDoc: '`AWSCredentialsProvider`',
    key: 'AWSCredentialsProviderCloudWatch',
  }),
  metricsHttpPort: optional(numberKind({ integer: true, min: 0, max: 65_535 }), {
    doc: 'serve Prometheus `/metrics`, `/status` (JSON) and the live status page `/` on this port (0 = any free port)',
    defaultDoc: 'off',
  }),
  metricsHttpHost: defaulted(textKind('a host name or IP address to listen on'), '127.0.0.1', {
    doc: 'where the metrics and status server listens',
  }),
  validateSequenceNumberBeforeCheckpointing: defaulted(booleanKind, true, {
    doc: 'checkpoint validation',
    notActedOn: notActedOn('processing', 'no effect in the Java KCL 2.x/3.x either'),
  }),
  // Java: > 0 is a fixed pool, <= 0 unbounded, so every integer is meaningful.
  maxActiveThreads: defaulted(numberKind({ integer: true, note: '0 or less = unbounded' }), 0, {
    doc: 'processing threads',
    notActedOn: notActedOn('processing'),
  }),
};
