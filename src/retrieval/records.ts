/**
 * Turning Kinesis records into the user records a processor sees: KPL aggregates are unpacked here (one
 * Kinesis record → many user records with sub-sequence numbers, see kpl.ts).
 */
import type { _Record } from '@aws-sdk/client-kinesis';
import type { KinesisClientRecord } from '../processor/types.js';
import { deaggregate, type DeaggregateResult, type HashKeyRange } from './kpl.js';

class UserRecord implements KinesisClientRecord {
  constructor(
    readonly data: Buffer,
    readonly partitionKey: string,
    readonly sequenceNumber: string,
    readonly subSequenceNumber: number,
    readonly approximateArrivalTimestamp: Date,
    readonly aggregated: boolean,
    readonly explicitHashKey?: string,
    readonly encryptionType?: string,
  ) {}
  text(): string {
    return this.data.toString('utf8');
  }
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

export function createUserRecord(fields: {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  subSequenceNumber?: number;
  approximateArrivalTimestamp?: Date;
  aggregated?: boolean;
  explicitHashKey?: string;
  encryptionType?: string;
}): KinesisClientRecord {
  const data = Buffer.isBuffer(fields.data) ? fields.data : Buffer.from(fields.data.buffer, fields.data.byteOffset, fields.data.byteLength);
  return new UserRecord(
    data,
    fields.partitionKey,
    fields.sequenceNumber,
    fields.subSequenceNumber ?? 0,
    fields.approximateArrivalTimestamp ?? new Date(0),
    fields.aggregated ?? false,
    fields.explicitHashKey,
    fields.encryptionType,
  );
}

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
