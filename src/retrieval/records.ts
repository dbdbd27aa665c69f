/**
 * Turning Kinesis records into the user records a processor sees: KPL aggregates are unpacked here (one
 * Kinesis record → many user records with sub-sequence numbers, see kpl.ts).
 */
import type { _Record } from '@aws-sdk/client-kinesis';
import type { HashKeyRange } from '../common/hash-key-range.js';
import { deaggregate, type DeaggregateResult } from './kpl.js';

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
