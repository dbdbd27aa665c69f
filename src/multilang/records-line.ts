/**
 * The `processRecords` line, encoded straight from the records into bytes: the same line, byte for byte, as
 * encodeDaemonMessage writes for the batch (docs/daemon-protocol.md, 'Messages'), without a message object, a
 * key/value array, or the whole line as one string to be converted to bytes again. A batch of 10,000 records of 1 KB is a 14 MB line: it comes
 * out as a sequence of chunks of about `chunkBytes`, each encoded only when the caller asks for it, so a writer
 * that waits for the pipe to drain between chunks holds one chunk in memory, not the whole line, and no single
 * large buffer is allocated (fresh large allocations cost a page fault every 4 KiB).
 *
 * The only per-record allocations left are the base64 text of the data (copied into the chunk at once) and the
 * short escaped strings of the partition key, the sequence number and the two integers.
 */
import type { KinesisClientRecord } from '../processor/types.js';
import { jsonInteger, jsonString } from './codec.js';

/** Large enough that a pipe write costs little per byte, small enough that the allocator reuses the memory. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

const HEAD = '{"action":"processRecords","records":[';
const RECORD_HEAD = '{"action":"record","data":"';
const AFTER_DATA = '","partitionKey":';
const BEFORE_SEQUENCE = ',"sequenceNumber":';
const BEFORE_ARRIVAL = ',"approximateArrivalTimestamp":';
const BEFORE_SUB = ',"subSequenceNumber":';
/** Every fixed character of one record: its keys, quotes around the data, braces and the separating comma. */
const RECORD_FIXED = RECORD_HEAD.length + AFTER_DATA.length + BEFORE_SEQUENCE.length + BEFORE_ARRIVAL.length + BEFORE_SUB.length + 2;
/** The most one UTF-16 unit of a string can take once escaped (`\uXXXX`), plus room for the quotes. */
const MAX_ESCAPE = 6;
/** The longest String(n) of an integer-valued number: a sign and 21 digits (from 1e21 on it is exponent form). */
const MAX_INTEGER_CHARS = 22;

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** Copies a string known to be ASCII (everything we emit is: non-ASCII is escaped) into `out`. */
function writeAscii(text: string, out: Uint8Array, o: number): number {
  for (let i = 0; i < text.length; i++) out[o + i] = text.charCodeAt(i);
  return o + text.length;
}

/** An upper bound of one record's encoded size, without encoding it. */
function maxRecordBytes(record: KinesisClientRecord): number {
  return RECORD_FIXED + base64Length(record.data.length) + MAX_ESCAPE * (record.partitionKey.length + record.sequenceNumber.length + 2) + 2 * MAX_INTEGER_CHARS;
}

/**
 * The `processRecords` line for `records`, terminated by `\n`, as chunks that concatenate to exactly
 * `encodeDaemonMessage({ action: 'processRecords', records: records.map(recordToMessage), millisBehindLatest }) + '\n'`.
 * Each chunk is a fresh buffer the caller may keep (hand to a stream) while asking for the next one.
 */
export function* processRecordsLine(
  records: readonly KinesisClientRecord[],
  millisBehindLatest: number | null | undefined,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Generator<Buffer, void, undefined> {
  const tail = `],"millisBehindLatest":${jsonInteger(millisBehindLatest)}}\n`;
  // What is still to come, bounded from above, so that a small batch gets a small buffer.
  let remaining = HEAD.length + tail.length;
  for (const record of records) remaining += maxRecordBytes(record);
  let out = Buffer.allocUnsafe(Math.max(HEAD.length, Math.min(chunkBytes, remaining)));
  let o = writeAscii(HEAD, out, 0);
  remaining -= HEAD.length;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as KinesisClientRecord;
    const partitionKey = jsonString(record.partitionKey);
    const sequenceNumber = jsonString(record.sequenceNumber);
    const arrival = jsonInteger(record.approximateArrivalTimestamp.getTime());
    const sub = jsonInteger(record.subSequenceNumber);
    const size = RECORD_FIXED + base64Length(record.data.length) + partitionKey.length + sequenceNumber.length + arrival.length + sub.length;
    if (o + size > out.length) {
      yield out.subarray(0, o);
      out = Buffer.allocUnsafe(Math.max(size, Math.min(chunkBytes, remaining)));
      o = 0;
    }
    remaining -= maxRecordBytes(record);
    if (i > 0) out[o++] = 0x2c;
    o = writeAscii(RECORD_HEAD, out, o);
    // Node's base64 encoder and one copy beat a JavaScript encoder writing into `out` (2.5× in a micro benchmark).
    o += out.write(record.data.toString('base64'), o, 'latin1');
    o = writeAscii(AFTER_DATA, out, o);
    o = writeAscii(partitionKey, out, o);
    o = writeAscii(BEFORE_SEQUENCE, out, o);
    o = writeAscii(sequenceNumber, out, o);
    o = writeAscii(BEFORE_ARRIVAL, out, o);
    o = writeAscii(arrival, out, o);
    o = writeAscii(BEFORE_SUB, out, o);
    o = writeAscii(sub, out, o);
    out[o++] = 0x7d;
  }
  if (o + tail.length > out.length) {
    yield out.subarray(0, o);
    out = Buffer.allocUnsafe(tail.length);
    o = 0;
  }
  o = writeAscii(tail, out, o);
  yield out.subarray(0, o);
}
