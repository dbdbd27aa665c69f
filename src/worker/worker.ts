/**
 * The Worker wires the parts together for one application on one stream: the AWS clients, the lease table,
 * the lease coordinator, the consumer supervisor and the shard-sync loop; it starts them and stops them in
 * order. It owns the stop signal and its own lifecycle state, and nothing else.
 */
import { setMaxListeners } from 'node:events';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Registry } from 'prom-client';
import type { AwsCallOutcome } from '../aws/call.js';
import { createDynamoDBClient, createKinesisClient, createKinesisSubscriptionClient, subscriptionTransport } from '../aws/clients.js';
import { sleepUnlessAborted, systemClock, type Clock } from '../common/clock.js';
import { InvalidStateException, toError } from '../common/errors.js';
import { retry, RETRY } from '../common/retry.js';
import { KclEvents, type KclEventStream } from '../common/events.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { KclConfig, KclConfigInput } from '../config/config.js';
import { buildConfig } from '../config/load.js';
import { LeaseCoordinator, renewIntervalMillis } from '../leases/coordinator.js';
import { createWorkerCloudWatchMetrics, type CloudWatchPublisherStats, type WorkerCloudWatchMetrics } from '../metrics/cloudwatch.js';
import { checkNoActiveJava3Leader } from '../leases/java-coordination.js';
import { LeaseTable } from '../leases/lease-table.js';
import type { Lease } from '../leases/lease.js';
import { ShardConsumer } from '../lifecycle/shard-consumer.js';
import type { RecordProcessorFactory } from '../processor/types.js';
import { ensureStreamConsumer } from '../retrieval/consumer-registration.js';
import { FanOutRecordsSource } from '../retrieval/fanout.js';
import { PollBeat } from '../retrieval/poll-beat.js';
import { PollingRecordsSource } from '../retrieval/polling.js';
import type { RecordsSource } from '../retrieval/source.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { createChildLeases } from '../shards/shard-sync.js';
import { ConsumerSupervisor, type ShardProgress } from './consumer-supervisor.js';
import { registerInternals } from './internals.js';
import { ShardSyncLoop } from './shard-sync-loop.js';
import { StatusService } from '../status/service.js';

export type { ShardProgress } from './consumer-supervisor.js';

/** A graceful shutdown releases its leases this long before another worker's scan (see shutdown). */
const RELEASE_LEAD_MILLIS = 300;

export interface WorkerOptions {
  /** A full config, or the fields to override on top of the defaults (streamName and applicationName required). */
  config: KclConfig | KclConfigInput;
  processorFactory: RecordProcessorFactory;
  /**
   * Clients to use instead of ones built from the config (endpoints, region, credentials). The worker destroys
   * only the clients it built itself: an injected client stays the caller's.
   */
  kinesis?: KinesisClient;
  /**
   * The client for enhanced fan-out subscriptions. Default: one built from the config (HTTP/2 against AWS), or
   * the injected `kinesis` client when one is given.
   */
  kinesisSubscriptions?: KinesisClient;
  dynamodb?: DynamoDBClient;
  logger?: Logger;
  clock?: Clock;
  /** Upper bound on a graceful shutdown before leases are left to expire. Default 30 s. */
  shutdownTimeoutMillis?: number;
  /** Aborting it starts the graceful shutdown, as shutdown() does. */
  signal?: AbortSignal;
  /**
   * A prom-client registry to write the worker's `kcl_*` metrics into, to serve it yourself (with or without
   * `metricsHttpPort`). Default: the worker's own, served at `/metrics` when `metricsHttpPort` is set.
   */
  metricsRegistry?: Registry;
}

/** created → starting → running → stopping → stopped; a failed start goes from starting to stopped. */
export type WorkerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One consumer application on one stream.
 *
 * ```ts
 * await using worker = new Worker({ config, processorFactory, signal: controller.signal });
 * await worker.run(); // starts, then settles when the worker has stopped
 * ```
 *
 * - `start()` resolves once the worker runs; `shutdown()` stops it gracefully (idempotent); so do aborting
 *   `options.signal` and `await using` (`Symbol.asyncDispose`).
 * - `run()` starts the worker if needed and settles when it has stopped: it resolves after a graceful
 *   shutdown, and rejects with the error that stopped the worker when that was fatal.
 * - Fatal: a failed start (the lease table cannot be created, the stream does not exist, a Java KCL 3.x leader
 *   coordinates the table, ...), the lease table deleted under a running worker (the taker's scan finds no
 *   table), or one of the worker's loops dying from an error it did not expect. After a fatal error the worker
 *   shuts itself down gracefully. Everything else (throttling, network errors, a processor that throws) is
 *   retried and reported as `worker.error` events only.
 * - `events` is the read-only event stream (on/once/off).
 */
export class Worker {
  readonly config: KclConfig;
  readonly events: KclEventStream;
  private readonly emitter: KclEvents;
  private readonly kinesis: KinesisClient;
  private readonly subscriber: KinesisClient | undefined;
  /** The fan-out consumer, once registered (fan-out only). */
  private consumerArn: string | undefined;
  private readonly dynamodb: DynamoDBClient;
  private readonly ownedClients: { destroy(): void }[] = [];
  private readonly leaseTable: LeaseTable;
  private readonly leases: LeaseCoordinator;
  private readonly supervisor: ConsumerSupervisor;
  private readonly shardSync: ShardSyncLoop;
  /** CloudWatch metrics, fed by the event stream only; undefined when off. */
  private readonly cloudWatch: WorkerCloudWatchMetrics | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private stateValue: WorkerState = 'created';
  private started: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private fatal: Error | undefined;
  private readonly stopped: Promise<void>;
  private settleStopped!: (error?: Error) => void;
  private readonly unlistenSignal: () => void = () => undefined;
  /** Prometheus metrics, the status model and its HTTP server; undefined when none is configured. */
  private readonly statusService: StatusService | undefined;
  /** The beat idle shards poll on (polling only). */
  private readonly pollBeat: PollBeat | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.config = buildConfig(options.config);
    // The stop signal is shared by every loop and per-lease timer (restart backoffs): many listeners at once
    // are expected, not a leak.
    setMaxListeners(0, this.controller.signal);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child({ workerId: this.config.workerId });
    this.emitter = new KclEvents((err, name) => this.logger.error({ err, event: name }, 'an event listener threw'));
    this.events = this.emitter.readOnly();
    this.stopped = new Promise<void>((resolve, reject) => {
      this.settleStopped = (error) => (error ? reject(error) : resolve());
    });
    // Nobody has to await run(): a fatal error must not become an unhandled rejection.
    this.stopped.catch(() => undefined);
    const clientOptions = {
      region: this.config.regionName,
      kinesisEndpoint: this.config.kinesisEndpoint,
      dynamoDBEndpoint: this.config.dynamoDBEndpoint,
      credentials: this.config.awsCredentialsProvider,
      kinesisProtocol: this.config.kinesisProtocol,
      logger: this.logger,
    };
    this.kinesis = options.kinesis ?? this.own(createKinesisClient(clientOptions));
    if (this.config.retrievalMode === 'FANOUT') {
      this.subscriber = options.kinesisSubscriptions ?? (options.kinesis ? options.kinesis : this.own(createKinesisSubscriptionClient(clientOptions)));
    }
    this.dynamodb = options.dynamodb ?? this.own(createDynamoDBClient(clientOptions));
    this.pollBeat = this.config.retrievalMode === 'POLLING' ? PollBeat.forIdleMillis(this.clock, this.config.idleTimeBetweenReadsInMillis) : undefined;
    this.leaseTable = new LeaseTable(this.dynamodb, this.config.tableName, this.clock, {
      // A lease write answered after its renewal period is worth nothing and holds up the lease's next write.
      writeDeadlineMillis: renewIntervalMillis(this.config),
      signal: this.controller.signal,
      onCall: this.onAwsCall,
    });
    this.leases = new LeaseCoordinator(this.leaseTable, this.config, this.clock, this.emitter, this.logger);
    this.emitter.on('aws.call', ({ service, outcome }) => {
      if (service === 'dynamodb' && outcome === 'ok') this.leases.health.callSucceeded();
    });
    const report = (err: unknown, where: string, shardId?: string) => this.reportError(err, where, shardId);
    this.supervisor = new ConsumerSupervisor(this.config, {
      leases: this.leases,
      createConsumer: (leaseKey, lease, token) => this.createConsumer(leaseKey, lease, token),
      clock: this.clock,
      events: this.emitter,
      logger: this.logger,
      report,
    });
    this.shardSync = new ShardSyncLoop(this.config, {
      onCall: this.onAwsCall,
      kinesis: this.kinesis,
      table: this.leaseTable,
      leases: this.leases,
      clock: this.clock,
      events: this.emitter,
      logger: this.logger,
      report,
    });
    this.cloudWatch = createWorkerCloudWatchMetrics(this.config, { events: this.events, clock: this.clock, logger: this.logger, onCall: this.onAwsCall });
    registerInternals(this, { leases: this.leases });
    this.statusService = StatusService.create({ events: this.events, config: this.config, clock: this.clock, logger: this.logger, registry: options.metricsRegistry });
    const { signal } = options;
    if (signal) {
      const onAbort = () => void this.shutdown();
      if (signal.aborted) queueMicrotask(onAbort);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.unlistenSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Every AWS call's outcome goes onto the event stream. */
  private readonly onAwsCall = (outcome: AwsCallOutcome): void => this.emitter.emit('aws.call', outcome);

  private own<T extends { destroy(): void }>(client: T): T {
    this.ownedClients.push(client);
    return client;
  }

  get workerId(): string {
    return this.config.workerId;
  }

  /** The status page (`/metrics` and `/status` beside it) once the worker runs with `metricsHttpPort`, e.g. `http://127.0.0.1:9464/`. */
  get metricsUrl(): string | undefined {
    return this.statusService?.url;
  }

  /** Where the worker is in its lifecycle. */
  get state(): WorkerState {
    return this.stateValue;
  }

  /** Logs an error once and emits it as `worker.error` (the shard consumer does the same for its own). */
  private reportError(err: unknown, where: string, shardId?: string): void {
    const error = toError(err);
    this.logger.error({ err: error, shardId, where }, `${where} failed`);
    this.emitter.emit('worker.error', { error, shardId, where });
  }

  /** A fatal error: reported, kept for run(), and the worker shuts itself down. */
  private fail(err: unknown, where: string): void {
    this.reportError(err, where);
    this.fatal ??= toError(err);
    void this.shutdown();
  }

  /**
   * Creates the lease table if needed, runs the first shard sync and starts the loops. Resolves once the worker
   * is running; rejects with a clear error if the stream or table cannot be used (a fatal error: run() rejects
   * with it too).
   */
  start(): Promise<void> {
    this.started ??= this.doStart().catch(async (err: unknown) => {
      // Nothing is running yet: stop what was set up so a failed start leaves no open sockets behind.
      this.stateValue = 'stopped';
      this.supervisor.stop();
      this.shardSync.stop();
      this.controller.abort();
      this.destroyOwnedClients();
      void this.cloudWatch?.stop();
      this.unlistenSignal();
      await this.statusService?.close();
      this.fatal ??= toError(err);
      this.settleStopped(this.fatal);
      throw err;
    });
    return this.started;
  }

  /** Starts the worker (unless it was) and settles when it has stopped: rejects with a fatal error. */
  async run(): Promise<void> {
    await this.start();
    return this.stopped;
  }

  private async doStart(): Promise<void> {
    if (this.stateValue !== 'created') throw new InvalidStateException(`worker ${this.workerId} was shut down before it started`);
    this.stateValue = 'starting';
    this.cloudWatch?.start();
    const signal = this.controller.signal;
    this.logger.info({ stream: this.config.streamName, table: this.config.tableName }, 'worker starting');
    // A network blip at start-up must not fail the start: each step is retried by the start-up policy.
    await this.retryInitial(() => this.leaseTable.createTableIfNotExists(signal), 'creating or checking the lease table');
    await this.retryInitial(
      () => checkNoActiveJava3Leader(this.dynamodb, this.config.tableName, this.clock, this.logger, signal, { applicationName: this.config.applicationName }),
      'checking for a Java KCL 3.x leader',
    );
    await this.startRetrieval(signal);
    await this.retryInitial(() => this.shardSync.syncOnce(signal), 'initial shard sync');
    await this.statusService?.start();
    this.loops.push(
      this.leases.run(signal, (err) => this.fail(err, 'lease taker')).catch((err: unknown) => this.fail(err, 'lease coordinator')),
      this.shardSync.run(signal).catch((err: unknown) => this.fail(err, 'shard sync')),
    );
    if (this.stateValue === 'starting') this.stateValue = 'running';
    this.emitter.emit('worker.started', { workerId: this.workerId });
  }

  /** Says how shards will be read and why; for fan-out, registers the stream consumer (or checks the configured one). */
  private async startRetrieval(signal: AbortSignal): Promise<void> {
    const { retrievalMode, retrievalModeReason, consumerName, streamName } = this.config;
    if (retrievalMode === 'POLLING') {
      this.logger.info({ retrievalMode, reason: retrievalModeReason }, `reading shards by polling (GetRecords): ${retrievalModeReason}`);
      return;
    }
    this.consumerArn = await this.retryInitial(
      () => ensureStreamConsumer(this.kinesis, { streamName, consumerName, consumerArn: this.config.consumerArn, clock: this.clock, logger: this.logger, signal, onCall: this.onAwsCall }),
      'registering the enhanced fan-out consumer',
    );
    const transport = this.options.kinesisSubscriptions || this.options.kinesis ? 'injected client' : subscriptionTransport(this.config.kinesisEndpoint);
    this.logger.info(
      { retrievalMode, reason: retrievalModeReason, consumerArn: this.consumerArn, transport },
      `reading shards with enhanced fan-out (SubscribeToShard) as consumer ${this.consumerArn}: ${retrievalModeReason}`,
    );
  }

  private createSource(leaseKey: string, lease: Lease, start: ExtendedSequenceNumber, logger: Logger): RecordsSource {
    const { config } = this;
    if (this.subscriber && this.consumerArn) {
      return new FanOutRecordsSource(
        this.subscriber,
        this.kinesis,
        {
          streamName: config.streamName,
          shardId: leaseKey,
          consumerArn: this.consumerArn,
          start,
          initialTimestamp: config.initialPositionTimestamp,
          hashKeyRange: lease.hashKeyRange,
          isShardClosed: () => this.shardSync.isShardClosed(leaseKey),
        },
        this.clock,
        logger,
        this.emitter,
        this.onAwsCall,
      );
    }
    return new PollingRecordsSource(
      this.kinesis,
      {
        streamName: config.streamName,
        shardId: leaseKey,
        start,
        initialTimestamp: config.initialPositionTimestamp,
        maxRecords: config.maxRecords,
        idleTimeBetweenReadsMillis: config.idleTimeBetweenReadsInMillis,
        maxIdleTimeBetweenReadsMillis: config.maxIdleTimeBetweenReadsInMillis,
        maxPendingBatches: config.maxPendingProcessRecordsInput,
        hashKeyRange: lease.hashKeyRange,
        beat: this.pollBeat,
      },
      this.clock,
      logger,
      this.emitter,
      this.onAwsCall,
    );
  }

  /** Retries retriable failures during start-up (20 attempts, as the Java scheduler makes). */
  private retryInitial<T>(fn: () => Promise<T>, what: string): Promise<T> {
    return retry(fn, {
      policy: RETRY.startup,
      clock: this.clock,
      signal: this.controller.signal,
      onRetry: ({ error, attempt, delayMillis }) => this.logger.warn({ attempt, err: error.message, delayMillis }, `${what} failed; retrying`),
    });
  }

  private createConsumer(leaseKey: string, lease: Lease, concurrencyToken: string): ShardConsumer {
    const logger = this.logger.child({ shardId: leaseKey });
    return new ShardConsumer({
      lease,
      concurrencyToken,
      processor: this.options.processorFactory(leaseKey),
      createSource: (start) => this.createSource(leaseKey, lease, start, logger),
      leases: {
        isHeld: (key, token) => this.leases.isHeld(key, token),
        getLease: (key) => this.leaseTable.getLease(key),
        checkpoint: (key, token, value, children) => this.leases.checkpoint(key, token, value, children),
      },
      onShardEnd: async (_shardId, children) => {
        await createChildLeases(this.leaseTable, children);
      },
      options: this.config,
      clock: this.clock,
      events: this.emitter,
      logger,
    });
  }

  /** CloudWatch publishing: what is queued, sent and dropped; undefined when CloudWatch metrics are off. */
  cloudWatchMetricsStats(): CloudWatchPublisherStats | undefined {
    return this.cloudWatch?.publisher.stats();
  }

  /** Per-shard progress of the leases this worker holds. */
  progress(): ShardProgress[] {
    return this.supervisor.progress();
  }

  /**
   * Graceful shutdown: no new leases; every processor gets shutdownRequested (and may checkpoint); every lease
   * is released so another worker can take it at once; then all loops stop. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  /** `await using worker = new Worker(...)` shuts it down at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  private async doShutdown(): Promise<void> {
    const timeout = this.options.shutdownTimeoutMillis ?? 30_000;
    const deadlineAt = this.clock.now() + timeout;
    // Whatever the network does, the shutdown ends by its deadline: every call still in flight is then aborted
    // and every loop stopped; leases that could not be released expire for the other workers.
    const deadline = new AbortController();
    void sleepUnlessAborted(this.clock, timeout, deadline.signal).then((reached) => {
      if (!reached) return;
      this.logger.warn({ timeoutMillis: timeout }, 'shutdown reached its deadline: stopping every call still in flight');
      this.controller.abort();
    });
    const wasStarting = this.stateValue === 'starting';
    if (this.stateValue !== 'stopped') this.stateValue = 'stopping';
    this.unlistenSignal();
    this.supervisor.stop();
    this.shardSync.stop();
    this.logger.info('worker shutting down');
    this.leases.stopTaking();
    await this.leases.withdrawPendingHandoffs();
    // Still starting (e.g. waiting to see whether a Java leader lock is alive): stop that at once.
    if (wasStarting) this.controller.abort();
    await this.started?.catch(() => undefined);
    // Keep processing until just before another worker's turn to scan, so the leases released below are taken
    // at once: the shards pause for a fraction of a second instead of up to two scan gaps.
    const peerScan = this.supervisor.consuming > 0 ? this.leases.nextPeerScanIn() : undefined;
    if (peerScan !== undefined && peerScan > RELEASE_LEAD_MILLIS) {
      await sleepUnlessAborted(this.clock, Math.min(peerScan - RELEASE_LEAD_MILLIS, timeout / 4), this.controller.signal);
    }
    this.supervisor.requestShutdownAll();
    // The processors get what is left, less a renewal period for the releases that follow.
    const drainMillis = Math.max(0, deadlineAt - this.clock.now() - renewIntervalMillis(this.config));
    if (!(await this.supervisor.drain(drainMillis))) this.logger.warn({ timeoutMillis: timeout }, 'processors did not finish shutting down in time; their leases will expire');
    // Leases whose consumer never started (acquired during shutdown) are released too.
    await this.supervisor.releaseIdle();
    this.controller.abort();
    deadline.abort();
    await Promise.all(this.loops);
    const unreleased = this.leases.heldLeases().map((h) => h.lease.leaseKey);
    if (unreleased.length > 0) {
      this.logger.warn(
        { leaseKeys: unreleased },
        `could not release ${unreleased.join(', ')} before stopping; other workers take ${unreleased.length === 1 ? 'it' : 'them'} once ${unreleased.length === 1 ? 'it expires' : 'they expire'} (failoverTimeMillis)`,
      );
    }
    // After the releases, so the last interval has them; bounded (metrics/cloudwatch.ts, SHUTDOWN_FLUSH_MILLIS).
    await this.cloudWatch?.stop();
    this.destroyOwnedClients();
    await this.statusService?.close();
    this.stateValue = 'stopped';
    this.emitter.emit('worker.stopped', { workerId: this.workerId });
    this.logger.info('worker stopped');
    this.settleStopped(this.fatal);
  }

  private destroyOwnedClients(): void {
    for (const client of this.ownedClients.splice(0)) client.destroy();
  }
}
