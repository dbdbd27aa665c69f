/**
 * From what Kinesis returns to what a processor sees, the same for every retrieval mode: KPL aggregates
 * unpacked (one Kinesis record → many user records with sub-sequence numbers, see kpl.ts), records at or before
 * the checkpoint dropped, child shards converted, and where a read starts from a checkpoint.
 */
import type { ChildShard as SdkChildShard, _Record } from '@aws-sdk/client-kinesis';
import { compareSequenceNumbers, isSentinel, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { hashKeyRangeOf, type HashKeyRange } from '../common/hash-key-range.js';
import type { Logger } from '../common/logger.js';
import type { ChildShard, KinesisClientRecord } from '../processor/types.js';
import { deaggregate, hasKplMagic, type DeaggregateResult } from './kpl.js';
import { asBuffer, UserRecord } from './user-record.js';

/**
 * User records of one Kinesis record, in sub-sequence order: a KPL aggregate is unpacked (and dropped whole
 * when a user record hashes outside the shard after resharding, as the KCL does); anything else is one
 * record with sub-sequence 0. `outcome`/`reason` let the caller log corrupt and dropped aggregates.
 */
export function toUserRecords(record: _Record, hashKeyRange?: HashKeyRange): DeaggregateResult {
  return deaggregate(
    {
      data: record.Data ?? new Uint8Array(0),
      partitionKey: record.PartitionKey ?? '',
      sequenceNumber: record.SequenceNumber ?? '0',
      approximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
      encryptionType: record.EncryptionType,
    },
    hashKeyRange,
  );
}

export interface UnpackedRecords {
  readonly records: KinesisClientRecord[];
  /** Payload bytes as received (before unpacking), for the prefetch bound. */
  readonly bytes: number;
  /** The last Kinesis record's sequence number: where a read resumes after it. */
  readonly lastSequenceNumber: string | undefined;
}

/** All user records of one response (a GetRecords page or a fan-out event); corrupt and dropped aggregates are logged. */
export function unpackRecords(raw: readonly _Record[] | undefined, shardId: string, hashKeyRange: HashKeyRange | undefined, logger: Logger): UnpackedRecords {
  const records: KinesisClientRecord[] = [];
  let bytes = 0;
  let lastSequenceNumber: string | undefined;
  for (const r of raw ?? []) {
    bytes += r.Data?.byteLength ?? 0;
    if (r.SequenceNumber) lastSequenceNumber = r.SequenceNumber;
    if (r.Data !== undefined && !hasKplMagic(r.Data)) {
      // The common case, straight to the record a processor sees: no unpacking, no intermediate objects.
      records.push(new UserRecord(asBuffer(r.Data), r.PartitionKey ?? '', r.SequenceNumber ?? '0', 0, r.ApproximateArrivalTimestamp ?? new Date(0), false, undefined, r.EncryptionType));
      continue;
    }
    const unpacked = toUserRecords(r, hashKeyRange);
    if (unpacked.outcome === 'corrupt' || unpacked.outcome === 'out-of-range') {
      logger.warn(
        { shardId, sequenceNumber: r.SequenceNumber, outcome: unpacked.outcome, reason: unpacked.reason },
        unpacked.outcome === 'corrupt'
          ? 'KPL aggregate is corrupt; delivering it unchanged as one record'
          : "KPL aggregate has a user record outside this shard's hash range; dropping it, as the KCL does",
      );
    }
    for (const record of unpacked.records) records.push(record);
  }
  return { records, bytes, lastSequenceNumber };
}

/**
 * A read from a real checkpoint starts AT its sequence number (the checkpoint may sit in the middle of a KPL
 * aggregate), so the user records at or before it come back once and are dropped here; after the first record
 * beyond it, nothing more is filtered.
 */
export class CheckpointFilter {
  private upTo: ExtendedSequenceNumber | undefined;

  constructor(start: ExtendedSequenceNumber) {
    this.upTo = isSentinel(start.sequenceNumber) ? undefined : start;
  }

  apply(records: KinesisClientRecord[]): KinesisClientRecord[] {
    const upTo = this.upTo;
    if (!upTo || records.length === 0) return records;
    const kept = records.filter((rec) => compareSequenceNumbers(rec, upTo) > 0);
    if (kept.length > 0) this.upTo = undefined;
    return kept;
  }
}

export function toChildShards(raw: readonly SdkChildShard[] | undefined): ChildShard[] | undefined {
  return raw?.map((c) => ({ shardId: c.ShardId ?? '', parentShards: c.ParentShards ?? [], hashKeyRange: hashKeyRangeOf(c.HashKeyRange) }));
}

/** Where a read starts, in the terms both GetShardIterator and SubscribeToShard use. */
export interface StartingPosition {
  readonly type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  readonly sequenceNumber?: string;
  readonly timestamp?: Date;
}

/**
 * After a record already received: just after it. Otherwise from the checkpoint: a sentinel as it says (the
 * AT_TIMESTAMP timestamp is configuration, not stored in the lease), a real checkpoint AT its sequence number.
 */
export function startingPosition(start: ExtendedSequenceNumber, initialTimestamp: Date | undefined, after?: string): StartingPosition {
  if (after !== undefined) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after };
  switch (start.sequenceNumber) {
    case 'LATEST':
    case 'TRIM_HORIZON':
      return { type: start.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { type: 'AT_TIMESTAMP', timestamp: initialTimestamp ?? new Date(0) };
    default:
      return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: start.sequenceNumber };
  }
}
