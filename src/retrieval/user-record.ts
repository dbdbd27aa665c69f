/**
 * The record a processor sees (KinesisClientRecord): one Kinesis record, or one user record of a KPL aggregate.
 */
import type { KinesisClientRecord } from '../processor/types.js';

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
