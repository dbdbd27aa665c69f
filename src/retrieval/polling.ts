/**
 * The polling RecordsSource: GetRecords for one shard from the checkpoint, with bounded prefetch, iterator
 * expiry, throttling backoff and shard end (docs/retrieval.md, 'Polling', 'Iterators' and 'Throttling').
 */
import { GetRecordsCommand, GetShardIteratorCommand, type GetRecordsCommandOutput, type GetShardIteratorCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { awsErrorKind } from '../aws/errors.js';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import { RETRY, retryDelayMillis } from '../common/retry.js';
import { hashKeyRangeOf, type HashKeyRange } from '../common/hash-key-range.js';
import { toError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { compareSequenceNumbers, isSentinel, isShardEnd, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { ChildShard, KinesisClientRecord } from '../processor/types.js';
import { toUserRecords } from './records.js';

export interface RecordsBatch {
  readonly records: readonly KinesisClientRecord[];
  readonly millisBehindLatest: number;
  /** True when the shard is closed and this is its last batch. */
  readonly isShardEnd: boolean;
  readonly childShards?: readonly ChildShard[];
  /** Payload bytes, for the prefetch bound. */
  readonly bytes: number;
}

/** What a consumer reads from. `next` waits for the next batch; `close` stops fetching. */
export interface RecordsSource {
  next(signal: AbortSignal): Promise<RecordsBatch>;
  close(): Promise<void>;
}

export interface PollingOptions {
  streamName: string;
  shardId: string;
  /** The checkpoint to resume from (a sentinel or a sequence number). */
  start: ExtendedSequenceNumber;
  /** Used when `start` is AT_TIMESTAMP (the timestamp is configuration, not stored in the lease). */
  initialTimestamp?: Date;
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  maxPendingBatches: number;
  maxPendingBytes?: number;
  /** The shard's hash range: KPL aggregates with a user record outside it are dropped (after resharding). */
  hashKeyRange?: HashKeyRange;
}

export class PollingRecordsSource implements RecordsSource {
  private readonly queue: RecordsBatch[] = [];
  private queuedBytes = 0;
  private failure: Error | undefined;
  private finished = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  /** The last Kinesis record received: where to resume after an expired iterator. */
  private lastReceived: string | undefined;

  /** Since when reads of this shard have been failing (this clock), and whether that was reported. */
  private failingSince: number | undefined;
  private failureReported = false;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly options: PollingOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events?: KclEvents,
    private readonly onCall?: (outcome: AwsCallOutcome) => void,
  ) {}

  private call<T>(operation: string, deadlineMillis: number, signal: AbortSignal, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const what = `${operation} ${this.options.streamName}/${this.options.shardId}`;
    return callAws({ service: 'kinesis', operation, what, deadlineMillis, signal, onOutcome: this.onCall }, send);
  }

  /**
   * A read failed. Reported once per outage (a warning and `retrieval.failing`), except throttling, which is
   * Kinesis pacing us and only reported when it persists.
   */
  private readFailed(error: Error, consecutive: number): void {
    const now = this.clock.now();
    this.failingSince ??= now;
    if (this.failureReported || (awsErrorKind(error) === 'throttled' && consecutive < 5)) return;
    this.failureReported = true;
    const { shardId } = this.options;
    const failingForMillis = now - this.failingSince;
    this.logger.warn({ shardId, err: error.message, failingForMillis }, `reading shard ${shardId} is failing; retrying with backoff from where it was`);
    this.events?.emit('retrieval.failing', { shardId, error, failingForMillis });
  }

  private readSucceeded(): void {
    if (this.failingSince === undefined) return;
    const failedForMillis = this.clock.now() - this.failingSince;
    if (this.failureReported) {
      const { shardId } = this.options;
      this.logger.warn({ shardId, failedForMillis }, `reading shard ${shardId} works again`);
      this.events?.emit('retrieval.recovered', { shardId, failedForMillis });
    }
    this.failingSince = undefined;
    this.failureReported = false;
  }

  async next(signal: AbortSignal): Promise<RecordsBatch> {
    this.loop ??= this.fetchLoop().catch((err: unknown) => {
      this.failure = toError(err);
      this.wakeConsumer?.();
    });
    for (;;) {
      const batch = this.queue.shift();
      if (batch) {
        this.queuedBytes -= batch.bytes;
        this.wakeProducer?.();
        return batch;
      }
      if (this.failure) throw this.failure;
      if (signal.aborted) throw signal.reason;
      if (this.finished) throw new Error(`records source for ${this.options.shardId} is closed`);
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wakeConsumer = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.wakeConsumer = undefined;
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    this.wakeProducer?.();
    await this.loop;
  }

  private push(batch: RecordsBatch): void {
    this.queue.push(batch);
    this.queuedBytes += batch.bytes;
    this.wakeConsumer?.();
  }

  /**
   * The shard has nothing more: an empty final batch. `childShards` undefined = not known (the lease was already
   * at SHARD_END); [] = the shard or stream is gone, so there are no children to follow.
   */
  private endOfShard(childShards: ChildShard[] | undefined): void {
    this.push({ records: [], millisBehindLatest: 0, isShardEnd: true, childShards, bytes: 0 });
    this.finished = true;
  }

  private async waitForSpace(signal: AbortSignal): Promise<void> {
    const maxBytes = this.options.maxPendingBytes ?? 8 * 1024 * 1024;
    while (!signal.aborted && (this.queue.length >= this.options.maxPendingBatches || (this.queue.length > 0 && this.queuedBytes >= maxBytes))) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wakeProducer = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.wakeProducer = undefined;
    }
  }

  private async fetchLoop(): Promise<void> {
    const signal = this.controller.signal;
    const { start, shardId } = this.options;
    if (isShardEnd(start)) {
      this.endOfShard(undefined);
      return;
    }
    let iterator: string | undefined = await this.getIterator(signal);
    if (iterator === undefined) return;
    // Records at or before the checkpoint are re-read by AT_SEQUENCE_NUMBER and dropped here.
    let filterUpTo: ExtendedSequenceNumber | undefined = isSentinel(start.sequenceNumber) ? undefined : start;
    let lastCallAt: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      await this.waitForSpace(signal);
      if (signal.aborted) break;
      const idle = this.options.idleTimeBetweenReadsMillis;
      const wait = failures > 0 ? Math.max(retryDelayMillis(RETRY.records, failures), idle) : lastCallAt === undefined ? 0 : lastCallAt + idle - this.clock.now();
      if (wait > 0 && !(await sleepUnlessAborted(this.clock, wait, signal))) break;
      const callAt = this.clock.now();
      try {
        const input = { ShardIterator: iterator, Limit: this.options.maxRecords };
        const out: GetRecordsCommandOutput = await this.call('GetRecords', AWS_DEADLINES.getRecords, signal, (abortSignal) => this.kinesis.send(new GetRecordsCommand(input), { abortSignal }));
        failures = 0;
        this.readSucceeded();
        lastCallAt = callAt;
        let records: KinesisClientRecord[] = [];
        let bytes = 0;
        for (const r of out.Records ?? []) {
          bytes += r.Data?.byteLength ?? 0;
          if (r.SequenceNumber) this.lastReceived = r.SequenceNumber;
          const unpacked = toUserRecords(r, this.options.hashKeyRange);
          if (unpacked.outcome === 'corrupt' || unpacked.outcome === 'out-of-range') {
            this.logger.warn(
              { shardId, sequenceNumber: r.SequenceNumber, outcome: unpacked.outcome, reason: unpacked.reason },
              unpacked.outcome === 'corrupt'
                ? 'KPL aggregate is corrupt; delivering it unchanged as one record'
                : 'KPL aggregate has a user record outside this shard\'s hash range; dropping it, as the KCL does',
            );
          }
          records.push(...unpacked.records);
        }
        if (filterUpTo && records.length > 0) {
          const upTo: ExtendedSequenceNumber = filterUpTo;
          records = records.filter((rec) => compareSequenceNumbers(rec, upTo) > 0);
          if (records.length > 0) filterUpTo = undefined;
        }
        const isShardEnd = !out.NextShardIterator;
        this.push({
          records,
          millisBehindLatest: out.MillisBehindLatest ?? 0,
          isShardEnd,
          childShards: out.ChildShards?.map((c) => ({
            shardId: c.ShardId ?? '',
            parentShards: c.ParentShards ?? [],
            hashKeyRange: hashKeyRangeOf(c.HashKeyRange),
          })),
          bytes,
        });
        if (isShardEnd) {
          this.finished = true;
          return;
        }
        iterator = out.NextShardIterator;
      } catch (err) {
        if (signal.aborted) break;
        const error = toError(err);
        const kind = awsErrorKind(error);
        if (kind === 'not-found') {
          // The shard (or stream) is gone: treat as the end, with no children to follow.
          this.logger.warn({ shardId }, 'shard not found; treating it as ended');
          this.endOfShard([]);
          return;
        }
        if (kind === 'expired-iterator') {
          // Normal after a long pause: not a failure, just a fresh iterator from the last record received.
          this.logger.info({ shardId, lastReceived: this.lastReceived }, 'shard iterator expired; getting a fresh one');
        } else {
          failures++;
          this.readFailed(error, failures);
          // The iterator is still good after throttling and most errors; after a few failures in a row (or a
          // rejected iterator) a fresh one from the last record received costs one call and rules it out.
          if (kind === 'throttled' || (kind !== 'invalid' && failures < 3)) continue;
        }
        const fresh = await this.getIterator(signal);
        if (fresh === undefined) return;
        iterator = fresh;
      }
    }
  }

  /** An iterator from the last record received, or from the start position; retried until the signal aborts. */
  private async getIterator(signal: AbortSignal): Promise<string | undefined> {
    const { streamName, shardId, start, initialTimestamp } = this.options;
    const input: GetShardIteratorCommandInput = { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' };
    if (this.lastReceived) {
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = this.lastReceived;
    } else if (start.sequenceNumber === 'LATEST' || start.sequenceNumber === 'TRIM_HORIZON') {
      input.ShardIteratorType = start.sequenceNumber;
    } else if (start.sequenceNumber === 'AT_TIMESTAMP') {
      input.ShardIteratorType = 'AT_TIMESTAMP';
      input.Timestamp = initialTimestamp ?? new Date(0);
    } else {
      input.ShardIteratorType = 'AT_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = start.sequenceNumber;
    }
    for (let failures = 0; !signal.aborted; ) {
      try {
        const out = await this.call('GetShardIterator', AWS_DEADLINES.kinesisControl, signal, (abortSignal) => this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal }));
        this.readSucceeded();
        if (!out.ShardIterator) {
          this.endOfShard([]);
          return undefined;
        }
        return out.ShardIterator;
      } catch (err) {
        if (signal.aborted) break;
        const error = toError(err);
        if (awsErrorKind(error) === 'not-found') {
          this.endOfShard([]);
          return undefined;
        }
        failures++;
        this.readFailed(error, failures);
        const delay = Math.max(retryDelayMillis(RETRY.records, failures), this.options.idleTimeBetweenReadsMillis);
        if (!(await sleepUnlessAborted(this.clock, delay, signal))) break;
      }
    }
    return undefined;
  }
}
