/**
 * config/ owns the typed KCL configuration: its fields, defaults and validation, and the Java-style
 * `.properties` reader that fills it. It must not touch AWS or any other part of the library.
 */

export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** Everything a worker needs. Built by `buildConfig()` from code, or by `loadPropertiesConfig()` from a file. */
export interface KclConfig {
  /** Kinesis stream to consume. */
  streamName: string;
  /** Application name: names the lease table (unless `tableName` is set) and the metrics namespace. */
  applicationName: string;
  /** Lease table name; defaults to `applicationName`. */
  tableName: string;
  /** This worker's identity in the lease table (`leaseOwner`); defaults to a random UUID. */
  workerId: string;
  /** AWS region for Kinesis and DynamoDB; undefined = the SDK's default chain (AWS_REGION, profile). */
  regionName?: string;
  /** Endpoint overrides (URLs with scheme), e.g. the local emulators. */
  kinesisEndpoint?: string;
  dynamoDBEndpoint?: string;
  /** Where a new lease starts when no checkpoint exists yet. */
  initialPositionInStream: InitialPosition;
  /** Required when `initialPositionInStream` is AT_TIMESTAMP. */
  initialPositionTimestamp?: Date;
  /** A lease not renewed for this long is expired and may be taken by another worker. */
  failoverTimeMillis: number;
  /** Slack subtracted from the renewal period (Java's `epsilonMillis`). */
  epsilonMillis: number;
  /** Period of the shard sync (ListShards → new leases). */
  shardSyncIntervalMillis: number;
  /** GetRecords `Limit`, 1..10000. */
  maxRecords: number;
  /** Minimum time between two GetRecords calls on one shard. */
  idleTimeBetweenReadsInMillis: number;
  /** Call processRecords with an empty list when a poll returns nothing. */
  callProcessRecordsEvenForEmptyRecordList: boolean;
  /** How often a consumer re-checks whether its parent shards have finished. */
  parentShardPollIntervalMillis: number;
  /** Delete a finished parent's lease once its children have started. */
  cleanupLeasesUponShardCompletion: boolean;
  /** Backoff after a failed lifecycle task (initialize, shutdown) before it runs again. */
  taskBackoffTimeMillis: number;
  /** Upper bound on leases this worker holds; Infinity = unlimited. */
  maxLeasesForWorker: number;
  /** How many leases one taker cycle may steal from the most loaded worker. */
  maxLeasesToStealAtOneTime: number;
  /**
   * Leases stolen for balancing are handed over gracefully: the old owner's processor gets shutdownRequested
   * and checkpoints before the new owner starts (the KCL 3.x checkpointOwner protocol). Default true.
   */
  isGracefulLeaseHandoffEnabled: boolean;
  /** How long an old owner may take to finish before a hand-off is forced. */
  gracefulLeaseHandoffTimeoutMillis: number;
  /** Batches fetched ahead of the processor, per shard. */
  maxPendingProcessRecordsInput: number;
  /** Accepted for compatibility with the Java daemon's file; not acted on yet (see README). */
  metricsBufferTimeMillis: number;
  metricsMaxQueueSize: number;
  validateSequenceNumberBeforeCheckpointing: boolean;
  maxActiveThreads: number;
  /** Credentials provider name(s) as written in a properties file; `DefaultCredentialsProvider` = SDK default chain. */
  awsCredentialsProvider: string;
  /** MultiLangDaemon keys, carried for the daemon; the core ignores them. */
  executableName?: string;
  processingLanguage?: string;
  timeoutInSeconds?: number;
  shutdownGraceMillis?: number;
}

/** The defaults of the Java KCL (see shared/spec/kcl-semantics.md §11 and multilang-protocol.md §5.3). */
export const DEFAULTS = {
  initialPositionInStream: 'LATEST' as InitialPosition,
  failoverTimeMillis: 10_000,
  epsilonMillis: 25,
  shardSyncIntervalMillis: 60_000,
  maxRecords: 10_000,
  idleTimeBetweenReadsInMillis: 1_500,
  callProcessRecordsEvenForEmptyRecordList: false,
  parentShardPollIntervalMillis: 10_000,
  cleanupLeasesUponShardCompletion: true,
  taskBackoffTimeMillis: 500,
  maxLeasesForWorker: Number.POSITIVE_INFINITY,
  maxLeasesToStealAtOneTime: 1,
  isGracefulLeaseHandoffEnabled: true,
  gracefulLeaseHandoffTimeoutMillis: 30_000,
  maxPendingProcessRecordsInput: 3,
  metricsBufferTimeMillis: 10_000,
  metricsMaxQueueSize: 10_000,
  validateSequenceNumberBeforeCheckpointing: true,
  maxActiveThreads: 0,
  awsCredentialsProvider: 'DefaultCredentialsProvider',
} as const;

/** What a caller must give; everything else has a default. */
export type KclConfigInput = Pick<KclConfig, 'streamName' | 'applicationName'> & Partial<KclConfig>;
