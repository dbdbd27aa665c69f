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
import type { HashKeyRange } from '../common/hash-key-range.js';
import { toError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { isShardEnd, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { ChildShard } from '../processor/types.js';
import type { PollBeat } from './poll-beat.js';
import { ReadHealth } from './read-health.js';
import { CheckpointFilter, startingPosition, toChildShards, unpackRecords } from './records.js';
import { BatchQueue, type RecordsBatch, type RecordsSource } from './source.js';
import { sendArgs } from '../aws/call-signal.js';

export type { RecordsBatch, RecordsSource } from './source.js';

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
  /** Shared by a worker's sources: after an empty read, the next one is made on it (see poll-beat.ts). */
  beat?: PollBeat;
  /** Opt-in: after consecutive empty reads the idle time doubles up to this (docs/retrieval.md, 'Polling'). */
  maxIdleTimeBetweenReadsMillis?: number;
}

export class PollingRecordsSource implements RecordsSource {
  private readonly queue: BatchQueue;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  /** The last Kinesis record received: where to resume after an expired iterator. */
  private lastReceived: string | undefined;
  private readonly health: ReadHealth;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly options: PollingOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    events?: KclEvents,
    private readonly onCall?: (outcome: AwsCallOutcome) => void,
  ) {
    this.queue = new BatchQueue(options.shardId, options.maxPendingBatches, options.maxPendingBytes ?? 8 * 1024 * 1024);
    this.health = new ReadHealth(options.shardId, clock, logger, events);
  }

  private call<T>(operation: string, deadlineMillis: number, signal: AbortSignal, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const what = `${operation} ${this.options.streamName}/${this.options.shardId}`;
    return callAws({ service: 'kinesis', operation, shardId: this.options.shardId, what, deadlineMillis, signal, onOutcome: this.onCall }, send);
  }

  next(signal: AbortSignal): Promise<RecordsBatch> {
    this.loop ??= this.fetchLoop().catch((err: unknown) => this.queue.fail(toError(err)));
    return this.queue.take(signal);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  /**
   * The shard has nothing more: an empty final batch. `childShards` undefined = not known (the lease was already
   * at SHARD_END); [] = the shard or stream is gone, so there are no children to follow.
   */
  private endOfShard(childShards: ChildShard[] | undefined): void {
    this.queue.push({ records: [], millisBehindLatest: 0, isShardEnd: true, childShards, bytes: 0 });
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
    const filter = new CheckpointFilter(start);
    let lastCallAt: number | undefined;
    let lastWasEmpty = false;
    let emptyReads = 0;
    let failures = 0;
    const { beat } = this.options;
    while (!signal.aborted) {
      await this.queue.waitForSpace(signal);
      if (signal.aborted) break;
      const idle = this.options.idleTimeBetweenReadsMillis;
      const pace = idlePace(idle, this.options.maxIdleTimeBetweenReadsMillis, emptyReads);
      let onBeat: number | undefined;
      if (failures === 0 && lastCallAt !== undefined && lastWasEmpty && beat) {
        // An idle shard polls on the worker's shared beat: never later than due, so no record waits longer.
        onBeat = await beat.wait(lastCallAt + pace, signal);
        if (onBeat === undefined) break;
      } else {
        const wait = failures > 0 ? Math.max(retryDelayMillis(RETRY.records, failures), idle) : lastCallAt === undefined ? 0 : lastCallAt + pace - this.clock.now();
        if (wait > 0 && !(await sleepUnlessAborted(this.clock, wait, signal))) break;
      }
      const callAt = Math.max(this.clock.now(), onBeat ?? Number.NEGATIVE_INFINITY);
      try {
        const input = { ShardIterator: iterator, Limit: this.options.maxRecords };
        const out: GetRecordsCommandOutput = await this.call('GetRecords', AWS_DEADLINES.getRecords, signal, (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new GetRecordsCommand(input), abortSignal)));
        failures = 0;
        this.health.succeeded();
        lastCallAt = callAt;
        lastWasEmpty = (out.Records?.length ?? 0) === 0 && !(out.MillisBehindLatest! > 0);
        emptyReads = lastWasEmpty ? emptyReads + 1 : 0;
        const { records, bytes, lastSequenceNumber } = unpackRecords(out.Records, shardId, this.options.hashKeyRange, this.logger);
        if (lastSequenceNumber) this.lastReceived = lastSequenceNumber;
        const isShardEnd = !out.NextShardIterator;
        this.queue.push({ records: filter.apply(records), millisBehindLatest: out.MillisBehindLatest ?? 0, isShardEnd, childShards: toChildShards(out.ChildShards), bytes });
        if (isShardEnd) return;
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
          this.health.failed(error, failures);
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
    const position = startingPosition(start, initialTimestamp, this.lastReceived);
    const input: GetShardIteratorCommandInput = {
      StreamName: streamName,
      ShardId: shardId,
      ShardIteratorType: position.type,
      StartingSequenceNumber: position.sequenceNumber,
      Timestamp: position.timestamp,
    };
    for (let failures = 0; !signal.aborted; ) {
      try {
        const out = await this.call('GetShardIterator', AWS_DEADLINES.kinesisControl, signal, (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new GetShardIteratorCommand(input), abortSignal)));
        this.health.succeeded();
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
        this.health.failed(error, failures);
        const delay = Math.max(retryDelayMillis(RETRY.records, failures), this.options.idleTimeBetweenReadsMillis);
        if (!(await sleepUnlessAborted(this.clock, delay, signal))) break;
      }
    }
    return undefined;
  }
}

/**
 * Time from one GetRecords to the next after `emptyReads` empty reads in a row: the idle time, doubling from the
 * second empty read on up to the opt-in maximum (off when unset or not above the idle time).
 */
export function idlePace(idleMillis: number, maxIdleMillis: number | undefined, emptyReads: number): number {
  if (maxIdleMillis === undefined || maxIdleMillis <= idleMillis || emptyReads < 2) return idleMillis;
  // From an idle time of 0, doubling starts at the 200 ms that keeps one reader within Kinesis' 5 reads a second.
  return Math.min(maxIdleMillis, Math.max(idleMillis, 200) * 2 ** Math.min(emptyReads - 1, 30));
}
