/**
 * This file owns the test-data producer used by `kcl produce`, the demo and the tests: PutRecords in batches of
 * at most 500, failed entries retried with backoff until written (never dropped), optional pacing. Each record is
 * JSON that lets a consumer check completeness (`id`, `n`) and per-key order (`pk`, `seq`).
 */
import { randomUUID } from 'node:crypto';
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { systemClock, sleepUnlessAborted } from '../common/clock.js';
import { AWS_DEADLINES, callAws } from '../aws/call.js';
import { isRetriable, RETRY, retryDelayMillis } from '../common/retry.js';
import { aggregateInto } from './kpl-aggregate.js';
import { sendArgs } from '../aws/call-signal.js';

export interface ProduceOptions {
  stream: string;
  /** Records to write; `Infinity` for a producer that runs until `signal` aborts. */
  count: number;
  /** Records per second; unlimited when absent. */
  ratePerSecond?: number;
  /** Number of distinct partition keys `pk-0`..`pk-(K-1)`, used round-robin. Default 16. */
  partitionKeys?: number;
  /** Stops the producer after the batch in flight has been written. */
  signal?: AbortSignal;
  /** Called after every acknowledged batch with the running total. */
  onProgress?: (written: number) => void;
  /** Prefix of every record id; a random one when absent, so runs are distinguishable. */
  runId?: string;
  /**
   * Pack up to this many user records into one KPL-aggregated Kinesis record (1 or absent: plain records).
   * An aggregate holds records of one partition key only, so it lands on the shard that owns all of them.
   */
  aggregate?: number;
  /** Pad each record's JSON (a `pad` field) to at least this many bytes; absent: no padding. */
  recordBytes?: number;
}

export interface ProduceResult {
  written: number;
  runId: string;
  /** Entries that PutRecords rejected at least once and that were written on a later attempt. */
  retriedEntries: number;
}

/** The JSON body of every record the producer writes. */
export interface ProducedRecord {
  id: string;
  n: number;
  pk: string;
  /** Counter per partition key, from 0: consecutive records of one key carry consecutive `seq`. */
  seq: number;
  /** Date.now() just before the PutRecords call that wrote it. */
  ts: number;
  /** Filler up to ProduceOptions.recordBytes. */
  pad?: string;
}

const MAX_BATCH = 500;
/** Give up (throw, never silently drop) when a batch makes no progress for this long. */
const STALL_MILLIS = 60_000;

/** Decodes a record written by produceRecords; throws if the data is not one. */
export function parseProducedRecord(data: Uint8Array): ProducedRecord {
  const value: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
  if (
    typeof value === 'object' &&
    value !== null &&
    'id' in value &&
    typeof value.id === 'string' &&
    'n' in value &&
    typeof value.n === 'number' &&
    'pk' in value &&
    typeof value.pk === 'string' &&
    'seq' in value &&
    typeof value.seq === 'number' &&
    'ts' in value &&
    typeof value.ts === 'number'
  ) {
    return { id: value.id, n: value.n, pk: value.pk, seq: value.seq, ts: value.ts };
  }
  throw new Error('not a record written by produceRecords');
}

/**
 * Writes `entries` with PutRecords, re-sending only the entries that failed, until all are in. Not interrupted
 * by the abort signal, so an acknowledged batch is never left half-written; bounded by STALL_MILLIS instead.
 *
 * Per-key order holds as long as PutRecords does not fail part of a batch: a retried entry lands after any later
 * entry of the same key that succeeded the first time. kinesis-local does not throttle, so tests see exact order.
 */
async function putAll(kinesis: KinesisClient, stream: string, entries: PutRecordsRequestEntry[]): Promise<number> {
  let pending = entries;
  let retried = 0;
  let attempt = 0;
  let lastProgress = systemClock.now();
  let lastError = '';
  while (pending.length > 0) {
    let failed: PutRecordsRequestEntry[];
    try {
      const input = { StreamName: stream, Records: pending };
      const out = await callAws({ service: 'kinesis', operation: 'PutRecords', what: `PutRecords ${stream}`, deadlineMillis: AWS_DEADLINES.putRecords }, (abortSignal) =>
        kinesis.send(...sendArgs(kinesis, new PutRecordsCommand(input), abortSignal)),
      );
      const results = out.Records ?? [];
      failed = pending.filter((_, i) => results[i] === undefined || results[i]?.ErrorCode !== undefined);
      const firstError = results.find((r) => r.ErrorCode !== undefined);
      if (firstError) lastError = `${firstError.ErrorCode}: ${firstError.ErrorMessage ?? ''}`;
    } catch (err) {
      if (!isRetriable(err)) throw err;
      // A timed-out call may still have landed: its entries are written again (duplicates, never loss).
      lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      failed = pending;
    }
    if (failed.length < pending.length) {
      lastProgress = systemClock.now();
      attempt = 0;
    }
    if (failed.length === 0) break;
    retried += failed.length;
    pending = failed;
    if (systemClock.now() - lastProgress > STALL_MILLIS) {
      throw new Error(`PutRecords to ${stream}: ${pending.length} records not written after ${STALL_MILLIS / 1000} s of retries (last error ${lastError})`);
    }
    await systemClock.sleep(retryDelayMillis(RETRY.produce, ++attempt));
  }
  return retried;
}

/**
 * Writes `count` records to `stream` (see ProducedRecord for their content), one batch in flight at a time so
 * records of one key reach the stream in `seq` order. Stops early, after the batch in flight, when `signal` aborts.
 */
export async function produceRecords(kinesis: KinesisClient, options: ProduceOptions): Promise<ProduceResult> {
  const { stream, count, ratePerSecond, signal, onProgress } = options;
  const partitionKeys = options.partitionKeys ?? 16;
  if (!stream) throw new Error('stream name must not be empty');
  if (!(count === Infinity || (Number.isInteger(count) && count >= 0))) throw new Error(`count must be a non-negative integer or Infinity, got ${count}`);
  if (!Number.isInteger(partitionKeys) || partitionKeys <= 0) throw new Error(`partitionKeys must be a positive integer, got ${partitionKeys}`);
  if (ratePerSecond !== undefined && !(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
    throw new Error(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  }
  if (count === Infinity && !signal) throw new Error('an unbounded producer (count = Infinity) needs an AbortSignal to stop it');
  const aggregate = options.aggregate ?? 1;
  if (!Number.isInteger(aggregate) || aggregate < 1) throw new Error(`aggregate must be a positive integer, got ${aggregate}`);

  const runId = options.runId ?? randomUUID().slice(0, 8);
  // With pacing, small batches (about ten per second) keep the flow smooth instead of bursty.
  const batchSize = ratePerSecond === undefined ? MAX_BATCH : Math.min(MAX_BATCH, Math.max(1, Math.ceil(ratePerSecond / 10)));
  const seqByKey = new Array<number>(partitionKeys).fill(0);
  const started = systemClock.now();
  const never = new AbortController().signal;
  let written = 0;
  let retriedEntries = 0;

  while (written < count && !signal?.aborted) {
    if (ratePerSecond !== undefined) {
      // Pacing: record n may not leave before start + n/rate. No tokens pile up while a slow batch is in flight
      // beyond what the schedule allows, so the average stays at the rate.
      const due = started + (written * 1000) / ratePerSecond;
      const wait = due - systemClock.now();
      if (wait > 0 && !(await sleepUnlessAborted(systemClock, wait, signal ?? never))) break;
    }
    const size = Math.min(batchSize, count - written);
    const entries: PutRecordsRequestEntry[] = [];
    for (let i = 0; i < size; i++) {
      const n = written + i;
      const k = n % partitionKeys;
      const pk = `pk-${k}`;
      const record: ProducedRecord = { id: `${runId}-${n}`, n, pk, seq: seqByKey[k] ?? 0, ts: Date.now() };
      seqByKey[k] = record.seq + 1;
      entries.push({ PartitionKey: pk, Data: Buffer.from(padded(record, options.recordBytes ?? 0)) });
    }
    retriedEntries += await putAll(kinesis, stream, aggregate > 1 ? aggregateByKey(entries, aggregate) : entries);
    written += size;
    onProgress?.(written);
  }
  return { written, runId, retriedEntries };
}

/** The record's JSON, with a `pad` field that brings it to at least `bytes` bytes (all ASCII: bytes = chars). */
function padded(record: ProducedRecord, bytes: number): string {
  const json = JSON.stringify(record);
  const missing = bytes - json.length - ',"pad":""'.length;
  return missing > 0 ? JSON.stringify({ ...record, pad: '.'.repeat(missing) }) : json;
}

/**
 * Packs plain entries into KPL aggregates of at most `perRecord` user records, one partition key per aggregate
 * (so it hashes to the shard that owns every record in it). Each key's records keep their order: its
 * aggregates are emitted in order, and sub-sequence numbers follow the order inside one.
 */
export function aggregateByKey(entries: readonly PutRecordsRequestEntry[], perRecord: number): PutRecordsRequestEntry[] {
  const byKey = new Map<string, PutRecordsRequestEntry[]>();
  for (const e of entries) {
    const key = e.PartitionKey ?? '';
    const list = byKey.get(key) ?? [];
    list.push(e);
    byKey.set(key, list);
  }
  const out: PutRecordsRequestEntry[] = [];
  for (const [key, list] of byKey) {
    for (let i = 0; i < list.length; i += perRecord) {
      const chunk = list.slice(i, i + perRecord).map((e) => ({ partitionKey: key, data: e.Data ?? new Uint8Array(0) }));
      for (const data of aggregateInto(chunk)) out.push({ PartitionKey: key, Data: data });
    }
  }
  return out;
}
