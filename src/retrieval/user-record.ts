/**
 * The record a processor sees (KinesisClientRecord): one Kinesis record, or one user record of a KPL aggregate.
 */
import type { KinesisClientRecord } from '../processor/types.js';

/**
 * `data` may be a view into the response body it came in (over CBOR: the whole GetRecords answer, up to 10 MB;
 * a KPL user record: its aggregate): see docs/retrieval.md, 'Record data is a view'.
 */
export class UserRecord implements KinesisClientRecord {
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
  return new UserRecord(
    asBuffer(fields.data),
    fields.partitionKey,
    fields.sequenceNumber,
    fields.subSequenceNumber ?? 0,
    fields.approximateArrivalTimestamp ?? new Date(0),
    fields.aggregated ?? false,
    fields.explicitHashKey,
    fields.encryptionType,
  );
}

/** The same bytes as a Buffer (a view, not a copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
