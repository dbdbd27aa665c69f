/**
 * The KPL aggregated-record format and its decoder (see docs/retrieval.md, 'KPL aggregation'); the encoder that
 * the producer uses lives in local/kpl-aggregate.ts.
 *
 * Wire format: the magic bytes F3 89 9A C2, a protobuf2 `AggregatedRecord`, then the 16-byte MD5 of the protobuf
 * bytes. Schema (field numbers):
 *   AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                      repeated Record records = 3; }
 *   Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *            required bytes data = 3; repeated Tag tags = 4; }
 *   Tag { required string key = 1; optional string value = 2; }
 *
 * Protobuf is decoded (and, in local/, encoded) by hand for exactly this schema: no dependency beyond node:crypto.
 * The decoder follows protobuf rules: fields in any order, unknown fields (and known field numbers with an
 * unexpected wire type) skipped, last value wins for singular fields, required fields checked, tags parsed and
 * validated but ignored.
 *
 * `deaggregate` is what retrieval calls per Kinesis record (the seam is `toUserRecords` in ./records.ts); it
 * never throws on bad data: anything that is not a valid aggregate is passed through unchanged as one plain
 * record, and the outcome tells the caller whether to log it.
 */
import { createHash } from 'node:crypto';
import type { KinesisClientRecord } from '../processor/types.js';
import type { HashKeyRange } from '../common/hash-key-range.js';
import { asBuffer, createUserRecord } from './user-record.js';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/** Whether `data` starts with the KPL magic: four byte compares, nothing allocated (it runs on every record). */
export function hasKplMagic(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}
export const DIGEST_SIZE = 16;
export const MAX_HASH_KEY = (1n << 128n) - 1n;

/** The Kinesis record as retrieval sees it (camelCase, data as bytes). */
export interface KinesisRecordInput {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  approximateArrivalTimestamp?: Date;
  encryptionType?: string;
  explicitHashKey?: string;
}

export type DeaggregateOutcome = 'plain' | 'aggregated' | 'corrupt' | 'out-of-range';

export interface DeaggregateResult {
  records: KinesisClientRecord[];
  /**
   * 'plain': no magic, passed through. 'aggregated': unpacked. 'corrupt': magic present but not a valid aggregate
   * (see `reason`), passed through unchanged like the Java KCL does. 'out-of-range': a valid aggregate with a user
   * record outside `hashRange`, dropped whole (`records` is empty).
   */
  outcome: DeaggregateOutcome;
  reason?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Hash keys

/**
 * The hash key Kinesis routes by: the explicit hash key (decimal) if given, else MD5(UTF-8 partition key) read as
 * an unsigned 128-bit big-endian integer. Throws RangeError for an explicit hash key that is not a decimal integer.
 */
export function effectiveHashKey(partitionKey: string, explicitHashKey?: string): bigint {
  if (explicitHashKey !== undefined) {
    if (!/^[0-9]+$/.test(explicitHashKey)) throw new RangeError(`explicit hash key is not a decimal integer: ${JSON.stringify(explicitHashKey)}`);
    return BigInt(explicitHashKey);
  }
  const digest = createHash('md5').update(partitionKey, 'utf8').digest();
  return BigInt('0x' + digest.toString('hex'));
}

export function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf decoding (exactly the schema above)

class ParseError extends Error {}

interface ParsedRecord {
  partitionKeyIndex: number;
  explicitHashKeyIndex?: number;
  data: Buffer;
}

interface ParsedAggregate {
  partitionKeys: string[];
  explicitHashKeys: string[];
  records: ParsedRecord[];
}

/**
 * Reads a base-128 varint of at most 10 bytes. Returned as a Number: values above 2^53 lose precision but stay
 * above 2^53, so they can never pass as a table index or a length that fits the buffer.
 */
function readVarint(buf: Buffer, pos: number, end: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new ParseError('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new ParseError('malformed varint (more than 10 bytes)');
}

function readLength(buf: Buffer, pos: number, end: number): [start: number, stop: number] {
  const [len, p] = readVarint(buf, pos, end);
  if (len > end - p) throw new ParseError('length-delimited field runs past the end of its message');
  return [p, p + len];
}

function readTag(buf: Buffer, pos: number, end: number): [field: number, wireType: number, next: number] {
  const [tag, p] = readVarint(buf, pos, end);
  if (tag > 0xffffffff) throw new ParseError('invalid tag');
  const field = Math.floor(tag / 8);
  if (field === 0) throw new ParseError('invalid tag (field number 0)');
  return [field, tag % 8, p];
}

/** Skips one field of the given wire type (an unknown field, or a known number with an unexpected wire type). */
function skipField(buf: Buffer, pos: number, end: number, field: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return readVarint(buf, pos, end)[1];
    case 1:
      if (end - pos < 8) throw new ParseError('truncated fixed64');
      return pos + 8;
    case 2:
      return readLength(buf, pos, end)[1];
    case 5:
      if (end - pos < 4) throw new ParseError('truncated fixed32');
      return pos + 4;
    case 3: {
      // start group: skip fields until the matching end group
      for (;;) {
        const [f, wt, p] = readTag(buf, pos, end);
        if (wt === 4) {
          if (f !== field) throw new ParseError('mismatched end group');
          return p;
        }
        pos = skipField(buf, p, end, f, wt);
      }
    }
    case 4:
      throw new ParseError('unexpected end group');
    default:
      throw new ParseError(`invalid wire type ${wireType}`);
  }
}

function parseTag(buf: Buffer, pos: number, end: number): void {
  let hasKey = false;
  while (pos < end) {
    const [field, wt, p] = readTag(buf, pos, end);
    if ((field === 1 || field === 2) && wt === 2) {
      pos = readLength(buf, p, end)[1];
      if (field === 1) hasKey = true;
    } else {
      pos = skipField(buf, p, end, field, wt);
    }
  }
  if (!hasKey) throw new ParseError('Tag without required key');
}

function parseRecord(buf: Buffer, pos: number, end: number): ParsedRecord {
  let partitionKeyIndex: number | undefined;
  let explicitHashKeyIndex: number | undefined;
  let data: Buffer | undefined;
  while (pos < end) {
    const [field, wt, p] = readTag(buf, pos, end);
    if (field === 1 && wt === 0) {
      [partitionKeyIndex, pos] = readVarint(buf, p, end);
    } else if (field === 2 && wt === 0) {
      [explicitHashKeyIndex, pos] = readVarint(buf, p, end);
    } else if (field === 3 && wt === 2) {
      const [s, e] = readLength(buf, p, end);
      data = buf.subarray(s, e);
      pos = e;
    } else if (field === 4 && wt === 2) {
      const [s, e] = readLength(buf, p, end);
      parseTag(buf, s, e);
      pos = e;
    } else {
      pos = skipField(buf, p, end, field, wt);
    }
  }
  if (partitionKeyIndex === undefined) throw new ParseError('Record without required partition_key_index');
  if (data === undefined) throw new ParseError('Record without required data');
  return explicitHashKeyIndex === undefined ? { partitionKeyIndex, data } : { partitionKeyIndex, explicitHashKeyIndex, data };
}

function parseAggregate(buf: Buffer, pos: number, end: number): ParsedAggregate {
  const out: ParsedAggregate = { partitionKeys: [], explicitHashKeys: [], records: [] };
  while (pos < end) {
    const [field, wt, p] = readTag(buf, pos, end);
    if (wt === 2 && (field === 1 || field === 2 || field === 3)) {
      const [s, e] = readLength(buf, p, end);
      if (field === 1) out.partitionKeys.push(buf.toString('utf8', s, e));
      else if (field === 2) out.explicitHashKeys.push(buf.toString('utf8', s, e));
      else out.records.push(parseRecord(buf, s, e));
      pos = e;
    } else {
      pos = skipField(buf, p, end, field, wt);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// De-aggregation

function passThrough(record: KinesisRecordInput, outcome: 'plain' | 'corrupt', reason?: string): DeaggregateResult {
  const user = createUserRecord({
    data: record.data,
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: 0,
    approximateArrivalTimestamp: record.approximateArrivalTimestamp,
    aggregated: false,
    explicitHashKey: record.explicitHashKey,
    encryptionType: record.encryptionType,
  });
  return reason === undefined ? { records: [user], outcome } : { records: [user], outcome, reason };
}

/**
 * Unpacks one Kinesis record. It is an aggregate only if it has the magic, more than 16 bytes
 * follow the magic, the MD5 trailer matches and the protobuf parses with every index inside its table (and every
 * referenced explicit hash key is a decimal integer). Otherwise it is passed through unchanged as one plain
 * record (subSequenceNumber 0, aggregated false): outcome 'plain' without the magic, 'corrupt' with a reason when
 * the magic is there (including magic + at most 16 bytes).
 *
 * User records get the outer sequence number, arrival timestamp and encryption type, their own partition key,
 * explicit hash key (only when set in the aggregate) and data, aggregated true and subSequenceNumber 0, 1, 2, … in
 * protobuf order. User data is a view into `record.data` (not copied).
 *
 * With `hashRange` (the shard's range, after resharding) every user record's effective hash key must lie in
 * [startingHashKey, endingHashKey]; if any does not, the whole aggregate is dropped (records [], 'out-of-range').
 * Plain records are never filtered.
 */
export function deaggregate(record: KinesisRecordInput, hashRange?: HashKeyRange): DeaggregateResult {
  if (!hasKplMagic(record.data)) return passThrough(record, 'plain');
  const buf = asBuffer(record.data);
  if (buf.length - KPL_MAGIC.length <= DIGEST_SIZE) {
    return passThrough(record, 'corrupt', `KPL magic followed by only ${buf.length - KPL_MAGIC.length} bytes (need more than ${DIGEST_SIZE})`);
  }
  const protoEnd = buf.length - DIGEST_SIZE;
  const proto = buf.subarray(KPL_MAGIC.length, protoEnd);
  if (!md5(proto).equals(buf.subarray(protoEnd))) {
    return passThrough(record, 'corrupt', 'MD5 of the aggregated record does not match its trailer');
  }

  let parsed: ParsedAggregate;
  try {
    parsed = parseAggregate(buf, KPL_MAGIC.length, protoEnd);
  } catch (err) {
    if (err instanceof ParseError) return passThrough(record, 'corrupt', `protobuf does not parse: ${err.message}`);
    throw err;
  }

  // Resolve table indexes; any invalid reference makes the whole record corrupt (passed through, nothing lost).
  const resolved: { partitionKey: string; explicitHashKey?: string; data: Buffer }[] = [];
  for (let i = 0; i < parsed.records.length; i++) {
    const r = parsed.records[i]!;
    if (r.partitionKeyIndex >= parsed.partitionKeys.length) {
      return passThrough(record, 'corrupt', `user record ${i}: partition_key_index ${r.partitionKeyIndex} outside the table of ${parsed.partitionKeys.length}`);
    }
    const partitionKey = parsed.partitionKeys[r.partitionKeyIndex]!;
    if (r.explicitHashKeyIndex === undefined) {
      resolved.push({ partitionKey, data: r.data });
      continue;
    }
    if (r.explicitHashKeyIndex >= parsed.explicitHashKeys.length) {
      return passThrough(record, 'corrupt', `user record ${i}: explicit_hash_key_index ${r.explicitHashKeyIndex} outside the table of ${parsed.explicitHashKeys.length}`);
    }
    const explicitHashKey = parsed.explicitHashKeys[r.explicitHashKeyIndex]!;
    if (!/^[0-9]+$/.test(explicitHashKey)) {
      return passThrough(record, 'corrupt', `user record ${i}: explicit hash key is not a decimal integer`);
    }
    resolved.push({ partitionKey, explicitHashKey, data: r.data });
  }

  if (hashRange !== undefined) {
    const start = BigInt(hashRange.startingHashKey);
    const end = BigInt(hashRange.endingHashKey);
    for (let i = 0; i < resolved.length; i++) {
      const r = resolved[i]!;
      const key = effectiveHashKey(r.partitionKey, r.explicitHashKey);
      if (key < start || key > end) {
        return {
          records: [],
          outcome: 'out-of-range',
          reason: `user record ${i} has hash key ${key} outside [${start}, ${end}]; aggregate of ${resolved.length} dropped`,
        };
      }
    }
  }

  const records = resolved.map((r, i) =>
    createUserRecord({
      data: r.data,
      partitionKey: r.partitionKey,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: i,
      approximateArrivalTimestamp: record.approximateArrivalTimestamp,
      aggregated: true,
      explicitHashKey: r.explicitHashKey,
      encryptionType: record.encryptionType,
    }),
  );
  return { records, outcome: 'aggregated' };
}
