/**
 * The record processor API: the RecordProcessor interface, its inputs, the record and the checkpointer contract.
 * Types only (see processor/README.md).
 */
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { HashKeyRange } from '../common/hash-key-range.js';

/** One user record: a plain Kinesis record, or one record unpacked from a KPL aggregate. */
export interface KinesisClientRecord {
  /**
   * The payload as bytes. Over CBOR (the default `kinesisProtocol`) it may be a view into the GetRecords answer it
   * came in: copy it (`Buffer.from(data)`) to keep it after `processRecords`, or the whole answer may stay in memory.
   */
  readonly data: Buffer;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  /** Sequence number of the Kinesis record (shared by all user records of one aggregate). */
  readonly sequenceNumber: string;
  /** Index within a KPL aggregate; 0 for a plain record. */
  readonly subSequenceNumber: number;
  readonly approximateArrivalTimestamp: Date;
  readonly encryptionType?: string;
  /** True when the record came out of a KPL aggregate. */
  readonly aggregated: boolean;
  /** The payload decoded as UTF-8. */
  text(): string;
  /** The payload parsed as JSON (throws SyntaxError on invalid JSON). */
  json<T = unknown>(): T;
}

/**
 * Writes checkpoints for one shard. Every method resolves once DynamoDB has accepted the write. Errors are the
 * Java KCL's: ShutdownException (lease no longer held), ThrottlingException, InvalidStateException,
 * KinesisClientLibDependencyException (retry later), IllegalArgumentException (position out of range).
 */
export interface Checkpointer {
  /** Checkpoints the largest position delivered so far (SHARD_END inside `shardEnded`). */
  checkpoint(): Promise<void>;
  /** Checkpoints at a record (its sequence and sub-sequence number). */
  checkpoint(record: Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'>): Promise<void>;
  /** Checkpoints at an explicit position; it must lie between the last checkpoint and the largest delivered. */
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  /** The last checkpoint written (or the one the lease started from). */
  readonly lastCheckpoint: ExtendedSequenceNumber;
  /** The largest position that may be checkpointed now. */
  readonly largestPermittedCheckpoint: ExtendedSequenceNumber;
}

export interface InitializationInput {
  readonly shardId: string;
  /** Where this lease's processing resumes: its last checkpoint, or the initial-position sentinel. */
  readonly extendedSequenceNumber: ExtendedSequenceNumber;
  readonly pendingCheckpointSequenceNumber?: ExtendedSequenceNumber;
}

export interface ChildShard {
  readonly shardId: string;
  readonly parentShards: readonly string[];
  readonly hashKeyRange?: HashKeyRange;
}

export interface ProcessRecordsInput {
  readonly shardId: string;
  readonly records: readonly KinesisClientRecord[];
  /** How far behind the tip of the shard this batch was, in ms (from GetRecords). */
  readonly millisBehindLatest: number;
  readonly checkpointer: Checkpointer;
  /** True for the last batch of a closed shard; `shardEnded` follows. */
  readonly isAtShardEnd: boolean;
  readonly childShards?: readonly ChildShard[];
}

export interface LeaseLostInput {
  readonly shardId: string;
}

export interface ShardEndedInput {
  readonly shardId: string;
  /** Call `checkpoint()` here: a shard's children start only after it is checkpointed at SHARD_END. */
  readonly checkpointer: Checkpointer;
}

export interface ShutdownRequestedInput {
  readonly shardId: string;
  /** The lease is still held: checkpoint here so the next owner resumes exactly after your last record. */
  readonly checkpointer: Checkpointer;
}

/**
 * A record processor handles one shard at a time. Calls are strictly serial per shard:
 * `initialize` → `processRecords`* → exactly one of `leaseLost` / `shardEnded` / `shutdownRequested`.
 * Every method may return a Promise; the next call waits for it.
 */
export interface RecordProcessor {
  initialize(input: InitializationInput): void | Promise<void>;
  processRecords(input: ProcessRecordsInput): void | Promise<void>;
  /** Another worker took the lease (or this one could not renew it); checkpointing is no longer possible. */
  leaseLost(input: LeaseLostInput): void | Promise<void>;
  /** The shard is closed (split/merge) and every record was delivered; checkpoint SHARD_END. */
  shardEnded(input: ShardEndedInput): void | Promise<void>;
  /** The worker is shutting down (or handing the lease over); checkpoint if you want. */
  shutdownRequested(input: ShutdownRequestedInput): void | Promise<void>;
}

/** Creates one processor per shard lease. */
export type RecordProcessorFactory = (shardId: string) => RecordProcessor;
