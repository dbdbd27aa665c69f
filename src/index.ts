/**
 * The public API of the library. Everything a processor author or an embedder needs is exported here;
 * anything not exported is internal and may change.
 */
export { Worker, type WorkerOptions, type ShardProgress } from './worker/worker.js';
export type {
  RecordProcessor,
  RecordProcessorFactory,
  KinesisClientRecord,
  Checkpointer,
  InitializationInput,
  ProcessRecordsInput,
  LeaseLostInput,
  ShardEndedInput,
  ShutdownRequestedInput,
  ChildShard,
} from './processor/types.js';
export {
  type ExtendedSequenceNumber,
  compareSequenceNumbers,
  extendedSequenceNumber,
  TRIM_HORIZON,
  LATEST,
  AT_TIMESTAMP,
  SHARD_END,
} from './checkpoint/sequence.js';
export * from './config/index.js';
export {
  KclError,
  ConfigError,
  ShutdownException,
  ThrottlingException,
  InvalidStateException,
  KinesisClientLibDependencyException,
  IllegalArgumentException,
} from './common/errors.js';
export { KclEvents, type KclEventMap, type KclEventName } from './common/events.js';
export { createLogger, silentLogger, type Logger } from './common/logger.js';
export { systemClock, VirtualClock, type Clock } from './common/clock.js';
export { createKinesisClient, createDynamoDBClient, type AwsClientOptions } from './aws/clients.js';
export { LeaseTable } from './leases/lease-table.js';
export type { Lease, HashKeyRange } from './leases/lease.js';
export { createUserRecord } from './retrieval/user-record.js';
