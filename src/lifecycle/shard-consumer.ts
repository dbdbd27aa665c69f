/**
 * ShardConsumer: one per held lease. It waits for parent shards to finish, initializes the processor, pulls
 * batches from its RecordsSource and hands them over one at a time, and ends in exactly one of leaseLost,
 * shardEnded or shutdownRequested. Every wait is abortable, so a lost lease or a shutdown request is acted
 * on promptly even while the shard is idle.
 */
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { ProcessorFailedException, toError } from '../common/errors.js';
import { type KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import { retryDelayMillis, taskBackoffPolicy } from '../common/retry.js';
import { RecordProcessorCheckpointer } from '../checkpoint/checkpointer.js';
import { formatSequenceNumber, isShardEnd, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { Lease } from '../leases/lease.js';
import type { ChildShard, RecordProcessor } from '../processor/types.js';
import type { RecordsBatch, RecordsSource } from '../retrieval/source.js';
import { canTransition, mergeShutdownReason, type ConsumerState, type ShutdownReason } from './states.js';

/** What a consumer needs from the lease layer, and nothing more. */
export interface ConsumerLeaseAccess {
  isHeld(leaseKey: string, concurrencyToken: string): boolean;
  getLease(leaseKey: string): Promise<Lease | undefined>;
  checkpoint(leaseKey: string, concurrencyToken: string, value: ExtendedSequenceNumber, childShardIds?: readonly string[]): Promise<unknown>;
}

export interface ShardConsumerOptions {
  callProcessRecordsEvenForEmptyRecordList: boolean;
  parentShardPollIntervalMillis: number;
  taskBackoffTimeMillis: number;
}

export interface ShardConsumerDeps {
  lease: Lease;
  concurrencyToken: string;
  processor: RecordProcessor;
  createSource: (start: ExtendedSequenceNumber) => RecordsSource;
  leases: ConsumerLeaseAccess;
  /** Creates child leases when the shard ends (before shardEnded is called). */
  onShardEnd?: (shardId: string, childShards: readonly ChildShard[]) => Promise<void>;
  options: ShardConsumerOptions;
  clock: Clock;
  events: KclEvents;
  logger: Logger;
}

export class ShardConsumer {
  readonly shardId: string;
  private stateValue: ConsumerState = 'WAITING_ON_PARENT_SHARDS';
  private reason: ShutdownReason | undefined;
  private readonly stop = new AbortController();
  /** Aborted by an outside request (shutdown or lease loss), which also ends a shard-end retry loop. */
  private readonly interrupt = new AbortController();
  private readonly checkpointer: RecordProcessorCheckpointer;
  private source: RecordsSource | undefined;
  private running: Promise<ShutdownReason> | undefined;
  private childShards: readonly ChildShard[] = [];
  /** Records handed to the processor so far. */
  delivered = 0;
  /** The processor threw ProcessorFailedException: it is discarded and no further call reaches it. */
  private failedProcessor = false;
  millisBehindLatest = 0;

  constructor(private readonly deps: ShardConsumerDeps) {
    this.shardId = deps.lease.leaseKey;
    const { leases, concurrencyToken, events } = deps;
    this.checkpointer = new RecordProcessorCheckpointer(this.shardId, deps.lease.checkpoint, async (value) => {
      const started = performance.now();
      try {
        await leases.checkpoint(this.shardId, concurrencyToken, value, isShardEnd(value) ? this.childShards.map((c) => c.shardId) : undefined);
      } catch (err) {
        events.emit('checkpoint.failed', { shardId: this.shardId, checkpoint: value, error: toError(err), millis: performance.now() - started });
        throw err;
      }
      events.emit('checkpoint.written', { shardId: this.shardId, checkpoint: value, millis: performance.now() - started });
    });
  }

  get state(): ConsumerState {
    return this.stateValue;
  }
  get shutdownReason(): ShutdownReason | undefined {
    return this.reason;
  }
  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.checkpointer.lastCheckpoint;
  }
  /** True when the consumer ended because its processor failed; the worker then starts a fresh one. */
  get processorFailed(): boolean {
    return this.failedProcessor;
  }

  /** Every error of this consumer is logged once, with the shard id, and emitted as `worker.error`. */
  private report(err: unknown, where: string, message: string, details: Record<string, unknown> = {}): void {
    const error = toError(err);
    this.deps.logger.error({ shardId: this.shardId, where, err: error, ...details }, message);
    this.deps.events.emit('worker.error', { error, shardId: this.shardId, where });
  }

  /** A dead processor gets no more calls; the consumer ends so the worker can replace it. */
  private processorDied(err: unknown, where: string): void {
    this.failedProcessor = true;
    this.report(err, where, 'record processor failed; it will be replaced');
    this.setReason('REQUESTED');
  }

  /** Starts the consumer once; resolves with the reason it shut down for. */
  run(): Promise<ShutdownReason> {
    this.running ??= this.lifecycle();
    return this.running;
  }

  /** Asks the consumer to end with `shutdownRequested` (unless something ranking higher already happened). */
  requestShutdown(): void {
    this.setReason('REQUESTED');
    this.interrupt.abort();
  }

  /** The lease is gone: the consumer ends with `leaseLost` as soon as the current call returns. */
  leaseLost(): void {
    this.setReason('LEASE_LOST');
    this.interrupt.abort();
  }

  private setReason(reason: ShutdownReason): void {
    this.reason = mergeShutdownReason(this.reason, reason);
    this.stop.abort();
  }

  private transition(to: ConsumerState): void {
    if (!canTransition(this.stateValue, to)) throw new Error(`illegal consumer transition ${this.stateValue} → ${to} for ${this.shardId}`);
    this.stateValue = to;
  }

  private async lifecycle(): Promise<ShutdownReason> {
    try {
      if ((await this.waitOnParents()) && (await this.initialize())) await this.processLoop();
      this.transition('SHUTTING_DOWN');
      // Asked to shut down while, by this worker's own clock, the lease may have expired (a worker cut off from
      // its lease table, then stopped): another worker may be processing the shard already, and a checkpoint
      // can no longer be written, so the processor gets leaseLost, not shutdownRequested.
      if ((this.reason ?? 'REQUESTED') === 'REQUESTED' && !this.deps.leases.isHeld(this.shardId, this.deps.concurrencyToken)) this.setReason('LEASE_LOST');
      const reason = this.reason ?? 'REQUESTED';
      await this.shutdown(reason);
      return this.reason ?? reason;
    } finally {
      this.checkpointer.close('the record processor has shut down');
      await this.source?.close();
      if (this.stateValue === 'SHUTTING_DOWN') this.transition('SHUTDOWN_COMPLETE');
    }
  }

  /** Blocks until every parent lease is gone or checkpointed at SHARD_END; false if told to stop first. */
  private async waitOnParents(): Promise<boolean> {
    const { lease, leases, options, clock, logger } = this.deps;
    for (const parent of lease.parentShardIds) {
      for (;;) {
        if (this.reason) return false;
        let blocked = false;
        try {
          const parentLease = await leases.getLease(parent);
          blocked = parentLease !== undefined && !isShardEnd(parentLease.checkpoint);
        } catch (err) {
          blocked = true;
          logger.warn({ shardId: this.shardId, parent, err: toError(err).message }, 'could not read parent lease');
        }
        if (!blocked) break;
        logger.debug({ shardId: this.shardId, parent }, 'waiting for parent shard to finish');
        if (!(await sleepUnlessAborted(clock, options.parentShardPollIntervalMillis, this.stop.signal))) return false;
      }
    }
    return !this.reason;
  }

  /** Calls initialize, retrying after the task backoff if it throws; false if told to stop first. */
  private async initialize(): Promise<boolean> {
    const { lease, processor, events, clock, options } = this.deps;
    this.transition('INITIALIZING');
    for (;;) {
      if (this.reason) return false;
      try {
        await processor.initialize({ shardId: this.shardId, extendedSequenceNumber: lease.checkpoint, pendingCheckpointSequenceNumber: lease.pendingCheckpoint });
        events.emit('processor.initialized', { shardId: this.shardId, checkpoint: lease.checkpoint });
        return true;
      } catch (err) {
        if (err instanceof ProcessorFailedException) {
          this.processorDied(err, 'initialize');
          return false;
        }
        this.report(err, 'initialize', 'initialize failed; retrying after backoff');
        if (!(await sleepUnlessAborted(clock, options.taskBackoffTimeMillis, this.stop.signal))) return false;
      }
    }
  }

  private async processLoop(): Promise<void> {
    const { lease, leases, concurrencyToken } = this.deps;
    this.transition('PROCESSING');
    if (isShardEnd(lease.checkpoint)) {
      this.setReason('SHARD_END');
      return;
    }
    this.source = this.deps.createSource(lease.checkpoint);
    while (!this.reason) {
      let batch: RecordsBatch;
      try {
        batch = await this.source.next(this.stop.signal);
      } catch (err) {
        if (this.reason) return;
        // Not expected (the source retries AWS errors itself): end cleanly so the lease is released and
        // the shard starts again from its checkpoint, rather than leaving the processor without a final call.
        this.report(err, 'records source', 'reading records failed; shutting this shard down');
        this.setReason('REQUESTED');
        return;
      }
      // A lease that expired by our own clock may already be someone else's: hand over nothing more.
      if (!leases.isHeld(this.shardId, concurrencyToken)) {
        this.setReason('LEASE_LOST');
        return;
      }
      await this.deliver(batch);
      if (batch.isShardEnd) {
        this.childShards = batch.childShards ?? [];
        this.setReason('SHARD_END');
      }
    }
  }

  /**
   * Hands one batch to the processor and reports it (`records.delivered`, also for an empty batch, whose lag
   * still counts; `processMillis` only when processRecords was called).
   */
  private async deliver(batch: RecordsBatch): Promise<void> {
    const { processor, events, options } = this.deps;
    this.millisBehindLatest = batch.millisBehindLatest;
    const last = batch.records[batch.records.length - 1];
    if (last) this.checkpointer.advanceLargestPermitted(last);
    let bytes = 0;
    for (const record of batch.records) bytes += record.data.byteLength;
    const report = (processMillis?: number) =>
      events.emit('records.delivered', { shardId: this.shardId, count: batch.records.length, bytes, millisBehindLatest: batch.millisBehindLatest, lastSequenceNumber: last?.sequenceNumber, processMillis });
    if (batch.records.length === 0 && !options.callProcessRecordsEvenForEmptyRecordList) {
      report();
      return;
    }
    const started = performance.now();
    try {
      await processor.processRecords({
        shardId: this.shardId,
        records: batch.records,
        millisBehindLatest: batch.millisBehindLatest,
        checkpointer: this.checkpointer,
        isAtShardEnd: batch.isShardEnd,
        childShards: batch.childShards,
      });
    } catch (err) {
      if (err instanceof ProcessorFailedException) {
        // Not skipped: the replacement processor resumes from the last checkpoint, before this batch.
        this.processorDied(err, 'processRecords');
        return;
      }
      // As in the Java KCL, the batch is skipped, not redelivered; a later checkpoint() covers it.
      this.report(err, 'processRecords', 'processRecords threw; the batch is skipped', {
        records: batch.records.length,
        firstSequenceNumber: batch.records[0]?.sequenceNumber,
      });
    }
    this.delivered += batch.records.length;
    report(performance.now() - started);
  }

  private async shutdown(reason: ShutdownReason): Promise<void> {
    const { processor, events } = this.deps;
    const input = { shardId: this.shardId, checkpointer: this.checkpointer };
    if (this.failedProcessor) {
      events.emit('processor.shutdown', { shardId: this.shardId, reason: this.reason ?? reason });
      return;
    }
    try {
      if (reason === 'LEASE_LOST') {
        this.checkpointer.close('the lease was lost');
        await processor.leaseLost({ shardId: this.shardId });
      } else if (reason === 'SHARD_END') {
        await this.shardEnded();
      } else {
        await processor.shutdownRequested(input);
      }
    } catch (err) {
      this.report(err, reason, 'record processor failed during shutdown');
    }
    events.emit('processor.shutdown', { shardId: this.shardId, reason: this.reason ?? reason });
  }

  /**
   * Creates the children's leases, then calls shardEnded until the processor has checkpointed SHARD_END: a
   * shard's children start only after that, so a processor that forgets (or throws) gets a clear warning each
   * time and another call after backoff, instead of a silent stall. Stops early if the lease is lost or the
   * worker shuts down; the next owner then runs shard end again.
   */
  private async shardEnded(): Promise<void> {
    const { processor, events, logger, clock, options, onShardEnd } = this.deps;
    const children = this.childShards.map((c) => c.shardId);
    let childLeasesCreated = !onShardEnd || this.childShards.length === 0;
    this.checkpointer.markShardEnd();
    for (let attempt = 1; ; attempt++) {
      try {
        if (!childLeasesCreated) {
          await onShardEnd?.(this.shardId, this.childShards);
          childLeasesCreated = true;
        }
        await processor.shardEnded({ shardId: this.shardId, checkpointer: this.checkpointer });
        if (isShardEnd(this.checkpointer.lastCheckpoint)) break;
        logger.warn(
          { shardId: this.shardId, attempt, lastCheckpoint: formatSequenceNumber(this.checkpointer.lastCheckpoint) },
          `shard ${this.shardId} ended but the processor did not checkpoint SHARD_END; call checkpointer.checkpoint() in shardEnded. ` +
            'Its child shards will not be processed until it does. Calling shardEnded again after backoff.',
        );
      } catch (err) {
        if (err instanceof ProcessorFailedException) {
          this.processorDied(err, 'shardEnded');
          return;
        }
        const where = childLeasesCreated ? 'shardEnded' : 'creating child leases';
        this.report(err, where, `${where} failed at shard end; retrying after backoff`, { attempt });
      }
      const wait = retryDelayMillis(taskBackoffPolicy(options.taskBackoffTimeMillis), attempt);
      if (!(await sleepUnlessAborted(clock, wait, this.interrupt.signal))) return;
    }
    events.emit('shard.ended', { shardId: this.shardId, childShardIds: children });
  }
}
