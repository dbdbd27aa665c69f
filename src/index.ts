/**
 * The public API of `kcl-ts`: the Worker and its options, the configuration loader, what a record processor
 * is written against, the errors a processor may throw or catch, and the read-only event stream's types.
 * Anything not exported here (or from `kcl-ts/child`, `kcl-ts/local`) is internal and may change.
 */
export { Worker, type WorkerOptions, type WorkerState, type ShardProgress } from './worker/index.js';
// Everything a record processor is written against (RecordProcessor, its inputs, the record, the checkpointer).
export type * from './processor/types.js';
export type { HashKeyRange } from './common/hash-key-range.js';
export { type ExtendedSequenceNumber, compareSequenceNumbers, TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END } from './checkpoint/sequence.js';
export { loadPropertiesConfig, type KclConfig, type KclConfigInput, type InitialPosition, type PropertiesConfigOptions } from './config/index.js';
export {
  KclError,
  ConfigError,
  ShutdownException,
  ThrottlingException,
  InvalidStateException,
  KinesisClientLibDependencyException,
  IllegalArgumentException,
  ProcessorFailedException,
} from './common/errors.js';
export type { KclEventStream, KclEventMap, KclEventName, LeaseLossReason, LeaseView } from './common/events.js';
export type { Logger } from './common/logger.js';
export type { CloudWatchPublisherStats } from './metrics/cloudwatch.js';
export type { Clock } from './common/clock.js';
