/**
 * The enhanced fan-out RecordsSource: one SubscribeToShard subscription at a time for one shard, from the
 * checkpoint, resubscribed from the last event's continuation when the service ends it (every 5 minutes on AWS)
 * or after an error, with flow control and shard end (docs/retrieval.md, 'Enhanced fan-out').
 *
 * It owns its subscription's request and the timer watching it; the consumer it reads for is registered by
 * consumer-registration.ts before any source exists.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  SubscribeToShardCommand,
  type KinesisClient,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { AwsCallError, awsErrorKind, classifyAwsError } from '../aws/errors.js';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import { toError } from '../common/errors.js';
import type { HashKeyRange } from '../common/hash-key-range.js';
import type { Logger } from '../common/logger.js';
import { RETRY, retryDelayMillis } from '../common/retry.js';
import { isSentinel, isShardEnd, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { ChildShard } from '../processor/types.js';
import { ReadHealth } from './read-health.js';
import { CheckpointFilter, startingPosition, toChildShards, unpackRecords, type StartingPosition } from './records.js';
import { BatchQueue, type RecordsBatch, type RecordsSource } from './source.js';
import { sendArgs } from '../aws/call-signal.js';

/** Kinesis allows one SubscribeToShard per second per consumer and shard. */
const MIN_SUBSCRIBE_GAP_MILLIS = 1_000;

export const FANOUT_DEFAULTS = {
  /** Events waiting for the consumer before the subscription is no longer read (the Java KCL holds about 10). */
  maxPendingEvents: 10,
  maxPendingBytes: 16 * 1024 * 1024,
  /**
   * An open subscription that delivers no event for this long is taken to be on a dead connection (the service
   * sends empty events on an idle shard too): it is dropped and a new one made from where it was.
   */
  eventTimeoutMillis: 30_000,
  /** How long a subscription to a shard known to be closed may deliver nothing before the end is confirmed. */
  quietMillis: 3_000,
} as const;

export interface FanOutOptions {
  streamName: string;
  shardId: string;
  consumerArn: string;
  /** The checkpoint to resume from (a sentinel or a sequence number). */
  start: ExtendedSequenceNumber;
  /** Used when `start` is AT_TIMESTAMP. */
  initialTimestamp?: Date;
  /** The shard's hash range: KPL aggregates with a user record outside it are dropped (after resharding). */
  hashKeyRange?: HashKeyRange;
  maxPendingEvents?: number;
  maxPendingBytes?: number;
  eventTimeoutMillis?: number;
  quietMillis?: number;
  /**
   * True when the latest shard listing shows this shard closed. A subscription to it that has gone quiet then
   * confirms the end with one GetRecords, for services that never send the shard-end event (the emulator).
   */
  isShardClosed?: () => boolean;
}

type SubscriptionEnd = 'completed' | 'shard-end';

export class FanOutRecordsSource implements RecordsSource {
  private readonly queue: BatchQueue;
  private readonly controller = new AbortController();
  private readonly health: ReadHealth;
  private readonly filter: CheckpointFilter;
  private loop: Promise<void> | undefined;
  /** The last event's continuation: the next subscription starts just after it. */
  private continuation: string | undefined;
  private lastSubscribeAt: number | undefined;
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  /**
   * `subscriber` makes the subscriptions (HTTP/2 against AWS, see aws/clients.ts); `kinesis` the one-off calls
   * that confirm a shard's end.
   */
  constructor(
    private readonly subscriber: KinesisClient,
    private readonly kinesis: KinesisClient,
    private readonly options: FanOutOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events?: KclEvents,
    private readonly onCall?: (outcome: AwsCallOutcome) => void,
  ) {
    this.queue = new BatchQueue(options.shardId, options.maxPendingEvents ?? FANOUT_DEFAULTS.maxPendingEvents, options.maxPendingBytes ?? FANOUT_DEFAULTS.maxPendingBytes);
    this.health = new ReadHealth(options.shardId, clock, logger, events);
    this.filter = new CheckpointFilter(options.start);
  }

  next(signal: AbortSignal): Promise<RecordsBatch> {
    this.loop ??= this.subscribeLoop().catch((err: unknown) => this.queue.fail(toError(err)));
    return this.queue.take(signal);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  private what(operation: string): string {
    const target = `${operation} ${this.options.streamName}/${this.options.shardId}`;
    return operation === 'SubscribeToShard' ? `${target} as consumer ${this.options.consumerArn}` : target;
  }

  private endOfShard(childShards: ChildShard[] | undefined): void {
    this.queue.push({ records: [], millisBehindLatest: 0, isShardEnd: true, childShards, bytes: 0 });
  }

  private async subscribeLoop(): Promise<void> {
    const signal = this.controller.signal;
    const { shardId } = this.options;
    if (isShardEnd(this.options.start)) {
      this.endOfShard(undefined);
      return;
    }
    let failures = 0;
    while (!signal.aborted) {
      await this.queue.waitForSpace(signal);
      const sinceLast = this.lastSubscribeAt === undefined ? Number.POSITIVE_INFINITY : this.clock.now() - this.lastSubscribeAt;
      const wait = Math.max(failures > 0 ? retryDelayMillis(RETRY.records, failures) : 0, MIN_SUBSCRIBE_GAP_MILLIS - sinceLast);
      if (wait > 0 && !(await sleepUnlessAborted(this.clock, wait, signal))) break;
      if (signal.aborted) break;
      this.lastSubscribeAt = this.clock.now();
      try {
        if ((await this.subscribeOnce(signal)) === 'shard-end') return;
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        // The service counts a refused call too, at its arrival, which a slow network can delay: the next one is
        // paced from this answer, which came after that arrival.
        this.lastSubscribeAt = this.clock.now();
        const error = toError(err);
        if (awsErrorKind(error) === 'not-found') {
          // The shard or the stream is gone, or the consumer is: only the first is an end, so ask the shard.
          const children = await this.confirmEnd(signal);
          if (children !== undefined) {
            this.logger.warn({ shardId }, 'shard not found; treating it as ended');
            this.endOfShard(children);
            return;
          }
        }
        failures++;
        this.health.failed(error, failures);
      }
    }
  }

  /** One subscription, read until the service ends it ('completed'), the shard ends, or it fails (throws). */
  private async subscribeOnce(signal: AbortSignal): Promise<SubscriptionEnd> {
    const { shardId, consumerArn, start, initialTimestamp } = this.options;
    const position = startingPosition(start, initialTimestamp, this.continuation);
    const subscription = new AbortController();
    const stop = () => subscription.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const startedAt = this.clock.now();
    let received = 0;
    let ended: 'completed' | 'shard-end' | 'failed' | 'stopped' = 'failed';
    let failure: Error | undefined;
    this.events?.emit('subscription.started', { shardId, startingPosition: describe(position) });
    try {
      const out = await callAws(
        { service: 'kinesis', operation: 'SubscribeToShard', what: this.what('SubscribeToShard'), deadlineMillis: AWS_DEADLINES.kinesisControl, signal: subscription.signal, onOutcome: this.onCall },
        (abortSignal) =>
          this.subscriber.send(
            new SubscribeToShardCommand({
              ConsumerARN: consumerArn,
              ShardId: shardId,
              StartingPosition: { Type: position.type, SequenceNumber: position.sequenceNumber, Timestamp: position.timestamp },
            }),
            // callAws lets go of its signal once the answer's headers are in, but this answer goes on for minutes:
            // only the subscription's own abort can end it then (and with it the connection, which frees the
            // shard for the next subscription).
            { abortSignal: AbortSignal.any([abortSignal, subscription.signal]) },
          ),
      );
      if (!out.EventStream) throw new AwsCallError(`${this.what('SubscribeToShard')}: the answer has no event stream`, 'server');
      const events = out.EventStream[Symbol.asyncIterator]();
      let lastRecordsAt = this.clock.now();
      for (;;) {
        const next = await this.nextEvent(events, subscription);
        if (next.done) {
          ended = 'completed';
          return 'completed';
        }
        const event = next.value.SubscribeToShardEvent;
        if (!event) continue;
        received++;
        this.health.succeeded();
        const { records, bytes } = unpackRecords(event.Records, shardId, this.options.hashKeyRange, this.logger);
        const now = this.clock.now();
        if (records.length > 0) lastRecordsAt = now;
        // The shard-end event carries the children and no continuation.
        const isEnd = event.ContinuationSequenceNumber === undefined || event.ContinuationSequenceNumber === null;
        if (!isEnd) this.continuation = event.ContinuationSequenceNumber;
        this.queue.push({
          records: this.filter.apply(records),
          millisBehindLatest: event.MillisBehindLatest ?? 0,
          isShardEnd: isEnd,
          childShards: isEnd ? (toChildShards(event.ChildShards) ?? []) : undefined,
          bytes,
        });
        if (isEnd) {
          ended = 'shard-end';
          return 'shard-end';
        }
        if (records.length === 0 && now - lastRecordsAt >= this.quietMillis && now - this.lastProbeAt >= this.quietMillis && this.options.isShardClosed?.()) {
          this.lastProbeAt = now;
          const children = await this.confirmEnd(signal);
          if (children !== undefined) {
            this.logger.info({ shardId }, 'the subscription went quiet on a closed shard and GetRecords confirms its end');
            this.endOfShard(children);
            ended = 'shard-end';
            return 'shard-end';
          }
        }
        // Flow control: the next event is not read until the consumer has room for it.
        await this.queue.waitForSpace(signal);
        if (signal.aborted) {
          ended = 'stopped';
          return 'completed';
        }
      }
    } catch (err) {
      failure = signal.aborted ? undefined : classifyAwsError(err, this.what('SubscribeToShard'));
      if (signal.aborted) ended = 'stopped';
      throw failure ?? toError(err);
    } finally {
      signal.removeEventListener('abort', stop);
      // Ends the HTTP request, so the service frees the shard for the next subscription.
      subscription.abort();
      this.events?.emit('subscription.ended', { shardId, outcome: ended, events: received, millis: this.clock.now() - startedAt, error: failure });
    }
  }

  private get quietMillis(): number {
    return this.options.quietMillis ?? FANOUT_DEFAULTS.quietMillis;
  }

  /** The next event, or a `timeout` failure (and the subscription aborted) when none comes in time. */
  private async nextEvent(events: AsyncIterator<SubscribeToShardEventStream>, subscription: AbortController): Promise<IteratorResult<SubscribeToShardEventStream>> {
    const timeoutMillis = this.options.eventTimeoutMillis ?? FANOUT_DEFAULTS.eventTimeoutMillis;
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new AwsCallError(`${this.what('SubscribeToShard')}: no event for ${timeoutMillis} ms; the subscription was dropped`, 'timeout'));
        subscription.abort();
      }, timeoutMillis);
    });
    try {
      return await Promise.race([events.next(), silence]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether the shard has ended after what was delivered: one GetRecords just after it. Returns the children
   * (possibly none: the shard or stream is gone) when it has, undefined when it has not or the check failed.
   */
  private async confirmEnd(signal: AbortSignal): Promise<ChildShard[] | undefined> {
    const { streamName, shardId, start, initialTimestamp } = this.options;
    // Just after what was delivered; with nothing delivered yet, just after the checkpoint.
    const after = this.continuation ?? (isSentinel(start.sequenceNumber) ? undefined : start.sequenceNumber);
    const position = startingPosition(start, initialTimestamp, after);
    const call = <T>(operation: string, send: (abortSignal: AbortSignal) => Promise<T>) =>
      callAws({ service: 'kinesis', operation, what: this.what(operation), deadlineMillis: AWS_DEADLINES.kinesisControl, signal, onOutcome: this.onCall }, send);
    try {
      const iterator = await call('GetShardIterator', (abortSignal) =>
        this.kinesis.send(
          ...sendArgs(
            this.kinesis,
            new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: position.type, StartingSequenceNumber: position.sequenceNumber, Timestamp: position.timestamp }),
            abortSignal,
          ),
        ),
      );
      if (!iterator.ShardIterator) return [];
      const page = await call('GetRecords', (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1 }), abortSignal)));
      if ((page.Records?.length ?? 0) > 0 || page.NextShardIterator) return undefined;
      return toChildShards(page.ChildShards) ?? [];
    } catch (err) {
      if (awsErrorKind(err) === 'not-found') return [];
      if (!signal.aborted) this.logger.debug({ shardId, err: toError(err).message }, 'could not check whether the shard has ended; asking again later');
      return undefined;
    }
  }
}

function describe(position: StartingPosition): { type: string; sequenceNumber?: string; timestamp?: string } {
  return { type: position.type, sequenceNumber: position.sequenceNumber, timestamp: position.timestamp?.toISOString() };
}
