/**
 * The Worker wires the parts together for one application on one stream: it ensures the lease table, runs
 * shard sync, the lease coordinator and one ShardConsumer per held lease, and owns every timer, loop and
 * the stop signal. It is the only place that knows all the parts; none of them knows the worker.
 */
import { setMaxListeners } from 'node:events';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient, createKinesisClient } from '../aws/clients.js';
import { sleepUnlessAborted, systemClock, type Clock } from '../common/clock.js';
import { KclError } from '../common/errors.js';
import { KclEvents, toError } from '../common/events.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { KclConfig, KclConfigInput } from '../config/config.js';
import { buildConfig } from '../config/load.js';
import { LeaseCoordinator } from '../leases/coordinator.js';
import { checkNoActiveJava3Leader } from '../leases/java-coordination.js';
import { LeaseTable } from '../leases/lease-table.js';
import { ShardConsumer } from '../lifecycle/shard-consumer.js';
import type { ConsumerState } from '../lifecycle/states.js';
import type { Lease } from '../leases/lease.js';
import type { RecordProcessorFactory } from '../processor/types.js';
import { PollingRecordsSource } from '../retrieval/polling.js';
import { createChildLeases, syncShards } from '../shards/shard-sync.js';
import { leasesToCleanUp } from '../shards/cleanup.js';

const RECENT_SCAN_MILLIS = 10_000;
/** A graceful shutdown releases its leases this long before another worker's scan (see doShutdown). */
const RELEASE_LEAD_MILLIS = 300;

export interface WorkerOptions {
  /** A full config, or the fields to override on top of the defaults (streamName and applicationName required). */
  config: KclConfig | KclConfigInput;
  processorFactory: RecordProcessorFactory;
  /** Clients to use instead of ones built from the config (endpoints, region, credentials). */
  kinesis?: KinesisClient;
  dynamodb?: DynamoDBClient;
  logger?: Logger;
  clock?: Clock;
  /** Upper bound on a graceful shutdown before leases are left to expire. Default 30 s. */
  shutdownTimeoutMillis?: number;
}

export interface ShardProgress {
  shardId: string;
  state: ConsumerState;
  recordsDelivered: number;
  checkpoint: ExtendedSequenceNumber;
  millisBehindLatest: number;
}

export class Worker {
  readonly config: KclConfig;
  readonly events: KclEvents;
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly leaseTable: LeaseTable;
  readonly leases: LeaseCoordinator;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly consumers = new Map<string, ShardConsumer>();
  private readonly consumerRuns = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();
  /** Aborted when shutdown starts, so a processor restart waiting out its backoff gives up at once. */
  private readonly stopRestarts = new AbortController();
  private readonly restartWake = new Map<string, () => void>();
  private readonly tasks: Promise<void>[] = [];
  private readonly ownsClients: boolean;
  private started: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private shuttingDown = false;
  private startCompleted = false;

  constructor(private readonly options: WorkerOptions) {
    this.config = buildConfig(options.config);
    // The stop signal is shared by every loop and per-lease timer (hand-off timeouts, restart backoffs): many
    // listeners at once are expected, not a leak.
    setMaxListeners(0, this.controller.signal, this.stopRestarts.signal);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child({ workerId: this.config.workerId });
    this.events = new KclEvents((err, name) => this.logger.error({ err, event: name }, 'an event listener threw'));
    const clientOptions = {
      region: this.config.regionName,
      kinesisEndpoint: this.config.kinesisEndpoint,
      dynamoDBEndpoint: this.config.dynamoDBEndpoint,
      credentials: this.config.awsCredentialsProvider,
    };
    this.ownsClients = !options.kinesis && !options.dynamodb;
    this.kinesis = options.kinesis ?? createKinesisClient(clientOptions);
    this.dynamodb = options.dynamodb ?? createDynamoDBClient(clientOptions);
    this.leaseTable = new LeaseTable(this.dynamodb, this.config.tableName, this.clock);
    this.leases = new LeaseCoordinator(this.leaseTable, this.config, this.clock, this.events, this.logger);
    this.events.on('lease.acquired', ({ leaseKey }) => this.startConsumer(leaseKey));
    this.events.on('lease.lost', ({ leaseKey }) => this.consumers.get(leaseKey)?.leaseLost());
    this.events.on('lease.handoffRequested', ({ leaseKey }) => this.handOver(leaseKey));
    // Released while its consumer still runs: the hand-off was forced at its timeout.
    this.events.on('lease.released', ({ leaseKey }) => this.consumers.get(leaseKey)?.leaseLost());
  }

  /**
   * Another worker asked for a lease: the processor gets shutdownRequested (it may checkpoint), then
   * consumeLease completes the hand-off. A processor that takes longer than the hand-off timeout loses the
   * lease (the hand-off forces it; see leases/handoff.ts).
   */
  private handOver(leaseKey: string): void {
    const consumer = this.consumers.get(leaseKey);
    if (consumer) consumer.requestShutdown();
    else if (!this.consumerRuns.has(leaseKey)) this.leases.release(leaseKey).catch((err: unknown) => this.reportError(err, 'lease hand-off', leaseKey));
    // Otherwise a consumer is between runs (restart backoff); consumeLease sees the request and hands over.
    this.restartWake.get(leaseKey)?.();
  }

  /** Logs an error once and emits it as `worker.error` (the shard consumer does the same for its own). */
  private reportError(err: unknown, where: string, shardId?: string): void {
    const error = toError(err);
    this.logger.error({ err: error, shardId, where }, `${where} failed`);
    this.events.emit('worker.error', { error, shardId, where });
  }

  get workerId(): string {
    return this.config.workerId;
  }

  /**
   * Creates the lease table if needed, runs the first shard sync and starts the loops. Resolves once the worker
   * is running; rejects with a clear error if the stream or table cannot be used.
   */
  start(): Promise<void> {
    this.started ??= this.doStart().catch((err: unknown) => {
      // Nothing is running yet: stop what was set up so a failed start leaves no open sockets behind.
      this.shuttingDown = true;
      this.controller.abort();
      if (this.ownsClients) {
        this.kinesis.destroy();
        this.dynamodb.destroy();
      }
      throw err;
    });
    return this.started;
  }

  private async doStart(): Promise<void> {
    const signal = this.controller.signal;
    this.logger.info({ stream: this.config.streamName, table: this.config.tableName }, 'worker starting');
    await this.leaseTable.createTableIfNotExists(signal);
    await checkNoActiveJava3Leader(this.dynamodb, this.config.tableName, this.clock, this.logger, signal, { applicationName: this.config.applicationName });
    await this.retryInitial(() => this.syncShardsOnce(), 'initial shard sync');
    this.tasks.push(
      this.leases.run(signal, (err) => this.reportError(err, 'lease taker')).catch((err: unknown) => this.reportError(err, 'lease coordinator')),
      this.shardSyncLoop(signal),
    );
    this.startCompleted = true;
    this.events.emit('worker.started', { workerId: this.workerId });
  }

  /** Retries retriable failures during start-up (up to 20 times, 1 s apart, as the Java scheduler does). */
  private async retryInitial<T>(fn: () => Promise<T>, what: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const e = toError(err);
        if (!(e instanceof KclError && e.retriable) || attempt >= 20 || this.controller.signal.aborted) throw e;
        this.logger.warn({ attempt, err: e.message }, `${what} failed; retrying`);
        await this.clock.sleep(1000, this.controller.signal);
      }
    }
  }

  private async syncShardsOnce(): Promise<Lease[]> {
    // The taker scans the table every few seconds; a scan younger than this is reused instead of scanning again.
    const recent = this.leases.latestScan();
    const fresh = recent && this.clock.now() - recent.at < RECENT_SCAN_MILLIS ? recent.leases : undefined;
    const { shardCount, leasesCreated, leasesBefore } = await syncShards(
      this.kinesis,
      this.leaseTable,
      this.config.streamName,
      this.config.initialPositionInStream,
      this.clock,
      this.controller.signal,
      fresh,
    );
    this.events.emit('shards.synced', { shardCount, leasesCreated });
    if (leasesCreated > 0) this.leases.requestTake();
    return leasesBefore;
  }

  private async shardSyncLoop(signal: AbortSignal): Promise<void> {
    while (await sleepUnlessAborted(this.clock, this.config.shardSyncIntervalMillis, signal)) {
      if (this.shuttingDown) return;
      try {
        const leases = await this.syncShardsOnce();
        if (this.config.cleanupLeasesUponShardCompletion) await this.cleanUpFinishedLeases(leases);
      } catch (err) {
        if (!signal.aborted) this.reportError(err, 'shard sync');
      }
    }
  }

  /** Deletes leases of finished shards whose children have started (see shards/cleanup.ts). */
  private async cleanUpFinishedLeases(leases: readonly Lease[]): Promise<void> {
    for (const leaseKey of leasesToCleanUp(leases)) {
      await this.leaseTable.deleteLease(leaseKey);
      this.events.emit('lease.deleted', { leaseKey });
      this.logger.info({ leaseKey }, 'deleted the lease of a finished shard whose children have started');
    }
  }

  private startConsumer(leaseKey: string): void {
    const held = this.leases.getHeld(leaseKey);
    if (!held || this.shuttingDown) return;
    const previous = this.consumerRuns.get(leaseKey) ?? Promise.resolve();
    const run = previous.then(() => this.consumeLease(leaseKey, held.concurrencyToken));
    const settled = run.catch((err: unknown) => this.reportError(err, 'shard consumer', leaseKey));
    this.consumerRuns.set(leaseKey, settled);
    void settled.finally(() => {
      if (this.consumerRuns.get(leaseKey) === settled) this.consumerRuns.delete(leaseKey);
    });
  }

  /**
   * Runs consumers for one held lease until it ends: released after a shutdown request or at shard end,
   * nothing more when lost. A processor that failed (ProcessorFailedException) is replaced by a fresh one
   * from the last checkpoint after a growing backoff, keeping the lease, so one bad shard never stops others.
   */
  private async consumeLease(leaseKey: string, concurrencyToken: string): Promise<void> {
    for (let failures = 0; ; failures++) {
      const current = this.leases.getHeld(leaseKey);
      if (!current || current.concurrencyToken !== concurrencyToken || this.shuttingDown || this.leases.handoffRequested(leaseKey)) {
        if (current && current.concurrencyToken === concurrencyToken) await this.leases.release(leaseKey);
        return;
      }
      const consumer = this.createConsumer(leaseKey, current.lease, concurrencyToken);
      this.consumers.set(leaseKey, consumer);
      this.logger.info({ shardId: leaseKey, checkpoint: current.lease.checkpoint.sequenceNumber }, 'processing shard');
      let reason: Awaited<ReturnType<ShardConsumer['run']>>;
      try {
        reason = await consumer.run();
      } catch (err) {
        this.reportError(err, 'shard consumer', leaseKey);
        this.leases.drop(leaseKey, 'expired');
        return;
      } finally {
        if (this.consumers.get(leaseKey) === consumer) this.consumers.delete(leaseKey);
      }
      if (reason === 'LEASE_LOST') return;
      if (consumer.processorFailed && !this.shuttingDown && !this.leases.handoffRequested(leaseKey)) {
        const wait = Math.min(this.config.taskBackoffTimeMillis * 2 ** failures, 30_000);
        this.logger.warn({ shardId: leaseKey, attempt: failures + 1, waitMillis: wait }, 'starting a new record processor for the shard after backoff');
        await this.restartBackoff(leaseKey, wait);
        continue;
      }
      // Hand the lease back at once (shutdown requested), to the worker that asked for it (hand-off), or give
      // up a finished shard (SHARD_END).
      const outcome = await this.leases.release(leaseKey);
      // A finished shard may have children to take; a consumer that stopped on its own should restart.
      if (!this.shuttingDown && outcome !== 'handed-off') this.leases.requestTake();
      return;
    }
  }

  /** Waits out a restart backoff; cut short by shutdown or by a hand-off request for this lease. */
  private async restartBackoff(leaseKey: string, millis: number): Promise<void> {
    const wake = new AbortController();
    const onStop = () => wake.abort();
    this.stopRestarts.signal.addEventListener('abort', onStop, { once: true });
    this.restartWake.set(leaseKey, onStop);
    try {
      await sleepUnlessAborted(this.clock, millis, wake.signal);
    } finally {
      this.stopRestarts.signal.removeEventListener('abort', onStop);
      this.restartWake.delete(leaseKey);
    }
  }

  private createConsumer(leaseKey: string, lease: Lease, concurrencyToken: string): ShardConsumer {
    const logger = this.logger.child({ shardId: leaseKey });
    return new ShardConsumer({
      lease,
      concurrencyToken,
      processor: this.options.processorFactory(leaseKey),
      createSource: (start) =>
        new PollingRecordsSource(
          this.kinesis,
          {
            streamName: this.config.streamName,
            shardId: leaseKey,
            start,
            initialTimestamp: this.config.initialPositionTimestamp,
            maxRecords: this.config.maxRecords,
            idleTimeBetweenReadsMillis: this.config.idleTimeBetweenReadsInMillis,
            maxPendingBatches: this.config.maxPendingProcessRecordsInput,
            hashKeyRange: lease.hashKeyRange,
          },
          this.clock,
          logger,
        ),
      leases: {
        isHeld: (key, token) => this.leases.isHeld(key, token),
        getLease: (key) => this.leaseTable.getLease(key),
        checkpoint: (key, token, value, children) => this.leases.checkpoint(key, token, value, children),
      },
      onShardEnd: async (_shardId, children) => {
        await createChildLeases(this.leaseTable, children);
      },
      options: {
        callProcessRecordsEvenForEmptyRecordList: this.config.callProcessRecordsEvenForEmptyRecordList,
        parentShardPollIntervalMillis: this.config.parentShardPollIntervalMillis,
        taskBackoffTimeMillis: this.config.taskBackoffTimeMillis,
      },
      clock: this.clock,
      events: this.events,
      logger,
    });
  }

  /** Per-shard progress of the leases this worker holds. */
  progress(): ShardProgress[] {
    return [...this.consumers.values()]
      .map((c) => ({ shardId: c.shardId, state: c.state, recordsDelivered: c.delivered, checkpoint: c.lastCheckpoint, millisBehindLatest: c.millisBehindLatest }))
      .sort((a, b) => a.shardId.localeCompare(b.shardId));
  }

  /**
   * Graceful shutdown: no new leases; every processor gets shutdownRequested (and may checkpoint); every lease
   * is released so another worker can take it at once; then all loops stop. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.stopRestarts.abort();
    this.logger.info('worker shutting down');
    this.leases.stopTaking();
    await this.leases.withdrawPendingHandoffs();
    // Still starting (e.g. waiting to see whether a Java leader lock is alive): stop that at once.
    if (!this.startCompleted) this.controller.abort();
    await this.started?.catch(() => undefined);
    // Keep processing until just before another worker's turn to scan, so the leases released below are taken
    // at once: the shards pause for a fraction of a second instead of up to two scan gaps.
    const peerScan = this.consumers.size > 0 ? this.leases.nextPeerScanIn() : undefined;
    if (peerScan !== undefined && peerScan > RELEASE_LEAD_MILLIS) {
      await sleepUnlessAborted(this.clock, peerScan - RELEASE_LEAD_MILLIS, this.controller.signal);
    }
    for (const consumer of this.consumers.values()) consumer.requestShutdown();
    const timeout = this.options.shutdownTimeoutMillis ?? 30_000;
    const deadline = new AbortController();
    const all = Promise.all([...this.consumerRuns.values()]);
    const finished = await Promise.race([
      all.then(() => true),
      sleepUnlessAborted(this.clock, timeout, deadline.signal).then(() => false),
    ]);
    deadline.abort();
    if (!finished) this.logger.warn({ timeoutMillis: timeout }, 'processors did not finish shutting down in time; their leases will expire');
    // Leases whose consumer never started (acquired during shutdown) are released too.
    await Promise.all(this.leases.heldLeases().map((h) => (this.consumers.has(h.lease.leaseKey) ? undefined : this.leases.release(h.lease.leaseKey))));
    this.controller.abort();
    await Promise.all(this.tasks);
    if (this.ownsClients) {
      this.kinesis.destroy();
      this.dynamodb.destroy();
    }
    this.events.emit('worker.stopped', { workerId: this.workerId });
    this.logger.info('worker stopped');
  }
}
