/**
 * Publishes the worker's metrics to CloudWatch with PutMetricData, the way the Java KCL does: data points are
 * summed per (name, unit, dimensions) into StatisticValues and sent every `metricsBufferTimeMillis`, in
 * requests within CloudWatch's limits, under the application's name as namespace.
 *
 * Never on the record path: an event handler only adds to an aggregate in a map (O(1)); sending runs on its
 * own, one request at a time. Never unbounded: everything not yet sent (this interval's aggregates, the closed
 * intervals waiting, the request in flight) counts against `metricsMaxQueueSize`; when it is full a data point
 * that would need a new slot is dropped and counted, and a batch CloudWatch refused after its retries is
 * dropped and counted too. While CloudWatch fails, one batch per interval is tried, so a down endpoint is not
 * hammered. The warning is logged once per outage.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { createCloudWatchClient, isLoopbackEndpoint } from '../aws/clients.js';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { toError } from '../common/errors.js';
import type { KclEventMap, KclEventName, KclEventStream } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import { retry, RETRY, type RetryPolicy } from '../common/retry.js';
import type { KclConfig } from '../config/config.js';
import type { MetricsDimension, MetricsLevel } from '../config/fields.js';
import { MAPPED_EVENTS, MAX_MAGNITUDE, MetricsTracker, pointsForEvent, selectPoint, TRACKED_EVENTS, type Dimension, type MetricPoint, type MetricUnit, type TrackedEventName } from './cloudwatch-mapping.js';
import { sendArgs } from '../aws/call-signal.js';

/** CloudWatch's PutMetricData limits (API reference, checked 2026): per request and per datum. */
export const CLOUDWATCH_LIMITS = {
  /** Metric data per request (raised from 20 to 1000 in 2023). */
  datumsPerRequest: 1_000,
  /** Request size for HTTP POST: 1 MB (counted before compression, so it holds whatever the SDK does). */
  requestBytes: 1_000_000,
  /** Dimensions per datum (ours carry three at most). */
  dimensionsPerDatum: 30,
} as const;

/** How long a shutdown waits for the last metrics to go out. */
export const SHUTDOWN_FLUSH_MILLIS = 2_000;

/** Sends one request: a namespace and at most CLOUDWATCH_LIMITS of data. Rejects with a classified error. */
export type MetricsSink = (request: { namespace: string; datums: MetricDatum[] }, signal: AbortSignal) => Promise<void>;

export interface CloudWatchPublisherOptions {
  /** The CloudWatch namespace: the application name. */
  readonly namespace: string;
  /** This worker (the WorkerIdentifier dimension). */
  readonly workerId: string;
  readonly level: MetricsLevel;
  readonly dimensions: readonly MetricsDimension[];
  readonly bufferTimeMillis: number;
  readonly maxQueueSize: number;
  readonly sink: MetricsSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Retries of one request. Default RETRY.metrics. */
  readonly retryPolicy?: RetryPolicy;
  /** The bound on the final flush. Default SHUTDOWN_FLUSH_MILLIS. */
  readonly shutdownFlushMillis?: number;
  /** For exact tests of the retry jitter. */
  readonly random?: () => number;
}

export interface CloudWatchPublisherStats {
  /** Aggregated data (datums) not yet acknowledged: this interval's, waiting, and in flight. */
  readonly queued: number;
  readonly maxQueueSize: number;
  /** Data points dropped: the queue was full, CloudWatch refused their batch, or the shutdown could not send them. */
  readonly droppedDataPoints: number;
  /** Data points CloudWatch accepted. */
  readonly sentDataPoints: number;
  readonly requestsSent: number;
  readonly requestsFailed: number;
}

interface Aggregate {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly dimensions: readonly Dimension[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

function toDatum(a: Aggregate, timestamp: Date): MetricDatum {
  return {
    MetricName: a.name,
    Dimensions: a.dimensions.map((d) => ({ Name: d.Name, Value: d.Value })),
    Timestamp: timestamp,
    Unit: a.unit,
    StatisticValues: { SampleCount: a.count, Sum: a.sum, Minimum: a.min, Maximum: a.max },
  };
}

/** The size a datum takes in the request body (JSON; Timestamp as epoch seconds), plus its separator. */
export function datumBytes(datum: MetricDatum): number {
  return Buffer.byteLength(JSON.stringify({ ...datum, Timestamp: (datum.Timestamp?.getTime() ?? 0) / 1000 })) + 1;
}

/**
 * Takes the next request's data off the front of `queue`: as many as fit both the count and the size limit
 * (with room for the namespace and the envelope). Always at least one, so a queue never stalls.
 */
export function takeBatch(queue: MetricDatum[], namespace: string, limits: { datumsPerRequest: number; requestBytes: number } = CLOUDWATCH_LIMITS): MetricDatum[] {
  let bytes = Buffer.byteLength(JSON.stringify({ Namespace: namespace, MetricData: [] }));
  let n = 0;
  while (n < queue.length && n < limits.datumsPerRequest) {
    const size = datumBytes(queue[n]!);
    if (n > 0 && bytes + size > limits.requestBytes) break;
    bytes += size;
    n++;
  }
  return queue.splice(0, n);
}

const samples = (datums: readonly MetricDatum[]) => datums.reduce((total, d) => total + (d.StatisticValues?.SampleCount ?? 1), 0);

export class CloudWatchPublisher {
  private readonly tracker: MetricsTracker;
  private readonly selection: { level: MetricsLevel; dimensions: readonly MetricsDimension[] };
  /** This interval's aggregates. */
  private current = new Map<string, Aggregate>();
  /** Closed intervals, oldest first, waiting to be sent. */
  private readonly waiting: MetricDatum[] = [];
  private inFlight = 0;
  private sending: Promise<void> | undefined;
  /** False after a batch failed, until one lands: then one batch per interval is tried, no more. */
  private healthy = true;
  private outage: { since: number; droppedBefore: number } | undefined;
  private dropped = 0;
  private sent = 0;
  private requestsSent = 0;
  private requestsFailed = 0;
  private loop: Promise<void> | undefined;
  private readonly loopStop = new AbortController();
  /** Aborts the request in flight and any retry wait: at the end of the final flush. */
  private readonly sendStop = new AbortController();
  private stopping: Promise<void> | undefined;
  /** Set once the final interval is closed: nothing more is recorded. */
  private closed = false;
  private readonly unsubscribe: (() => void)[] = [];

  private readonly withShardId: boolean;
  private readonly withWorkerId: boolean;

  constructor(private readonly options: CloudWatchPublisherOptions) {
    this.tracker = new MetricsTracker(options.workerId);
    this.selection = { level: options.level, dimensions: options.dimensions };
    this.withShardId = options.dimensions.includes('ShardId');
    this.withWorkerId = options.dimensions.includes('WorkerIdentifier');
  }

  /** Listens to a worker's events (until stop). Handlers only aggregate: O(1) per data point. */
  attach(events: KclEventStream): void {
    const tracked = new Set<KclEventName>(TRACKED_EVENTS);
    for (const name of new Set<KclEventName>([...MAPPED_EVENTS, ...TRACKED_EVENTS])) {
      const listener = (event: KclEventMap[typeof name]) => {
        for (const point of pointsForEvent(name, event, this.options.workerId)) this.record(point);
        if (tracked.has(name)) this.tracker.observe(name as TrackedEventName, event as KclEventMap[TrackedEventName]);
      };
      this.unsubscribe.push(events.on(name, listener));
    }
  }

  /** Adds one data point to this interval's aggregate; drops (and counts) it if that needs a slot and none is left. */
  record(point: MetricPoint): void {
    if (this.closed) return;
    // The key is the point's identity after the dimension filter (an operation's metric name fixes its unit and
    // level, so a key exists only for points the level lets through); the published form is built only for a
    // new key, so a point merged into an aggregate allocates nothing.
    const shardId = this.withShardId ? (point.shardId ?? '') : '';
    const workerId = this.withWorkerId ? (point.workerId ?? '') : '';
    const key = `${point.operation}\u0000${point.name}\u0000${shardId}\u0000${workerId}`;
    const existing = this.current.get(key);
    if (existing) {
      const { value } = point;
      if (!Number.isFinite(value) || Math.abs(value) > MAX_MAGNITUDE) return;
      existing.count++;
      existing.sum += value;
      if (value < existing.min) existing.min = value;
      if (value > existing.max) existing.max = value;
      return;
    }
    const selected = selectPoint(point, this.selection);
    if (!selected) return;
    if (this.size() >= this.options.maxQueueSize) {
      this.drop(1, 'the metrics queue is full (metricsMaxQueueSize)');
      return;
    }
    const { name, unit, dimensions, value } = selected;
    this.current.set(key, { name, unit, dimensions, count: 1, sum: value, min: value, max: value });
  }

  private size(): number {
    return this.current.size + this.waiting.length + this.inFlight;
  }

  stats(): CloudWatchPublisherStats {
    return {
      queued: this.size(),
      maxQueueSize: this.options.maxQueueSize,
      droppedDataPoints: this.dropped,
      sentDataPoints: this.sent,
      requestsSent: this.requestsSent,
      requestsFailed: this.requestsFailed,
    };
  }

  /** Starts the flush loop: every bufferTimeMillis the interval closes and its data is sent. */
  start(): void {
    this.loop ??= (async () => {
      while (await sleepUnlessAborted(this.options.clock, this.options.bufferTimeMillis, this.loopStop.signal)) this.flush();
    })();
  }

  /** Closes the interval (adding the per-flush figures) and starts sending, unless a send is running. */
  flush(): void {
    if (this.closed) return;
    this.closeInterval();
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  private closeInterval(): void {
    for (const point of this.tracker.flush()) this.record(point);
    if (this.current.size === 0) return;
    const timestamp = this.options.clock.wallNow();
    for (const aggregate of this.current.values()) this.waiting.push(toDatum(aggregate, timestamp));
    this.current = new Map();
  }

  /** Sends what waits, a request at a time; after a failed one, waits for the next interval. */
  private async drain(): Promise<void> {
    while (this.waiting.length > 0 && !this.sendStop.signal.aborted) {
      const batch = takeBatch(this.waiting, this.options.namespace);
      this.inFlight = batch.length;
      try {
        await retry(() => this.options.sink({ namespace: this.options.namespace, datums: batch }, this.sendStop.signal), {
          policy: this.options.retryPolicy ?? RETRY.metrics,
          clock: this.options.clock,
          signal: this.sendStop.signal,
          random: this.options.random,
        });
        this.requestsSent++;
        this.sent += samples(batch);
        this.healthy = true;
        if (this.outage) {
          const dropped = this.dropped - this.outage.droppedBefore;
          this.options.logger.info({ droppedDataPoints: dropped, outageMillis: Math.round(this.options.clock.now() - this.outage.since) }, `CloudWatch metrics are sent again; ${dropped} data points were dropped meanwhile`);
          this.outage = undefined;
        }
      } catch (err) {
        this.requestsFailed++;
        this.healthy = false;
        this.drop(samples(batch), `PutMetricData failed: ${toError(err).message}`);
        return;
      } finally {
        this.inFlight = 0;
      }
    }
  }

  private drop(points: number, why: string): void {
    if (!this.outage) {
      this.outage = { since: this.options.clock.now(), droppedBefore: this.dropped };
      this.options.logger.warn(
        { namespace: this.options.namespace, maxQueueSize: this.options.maxQueueSize },
        `CloudWatch metrics: ${why}; data points are dropped (and counted) until they can be sent again; processing is not affected`,
      );
    }
    this.dropped += points;
  }

  /**
   * Stops listening, closes the last interval and sends what is left, within shutdownFlushMillis. While
   * CloudWatch is failing nothing more is tried: the rest is dropped and counted. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    this.loopStop.abort();
    if (!this.loop) {
      // Never started (a worker shut down before it ran): nothing worth a request.
      this.closed = true;
      return;
    }
    await this.loop;
    this.closeInterval();
    this.closed = true;
    const bound = new AbortController();
    const deadline = sleepUnlessAborted(this.options.clock, this.options.shutdownFlushMillis ?? SHUTDOWN_FLUSH_MILLIS, bound.signal).then((reached) => {
      if (reached) this.sendStop.abort(new Error('the final metrics flush ran out of time'));
    });
    try {
      await this.sending;
      if (this.healthy && this.waiting.length > 0) await this.drain();
    } finally {
      bound.abort();
      await deadline;
      this.sendStop.abort();
    }
    if (this.waiting.length > 0) this.drop(samples(this.waiting.splice(0)), 'the final flush could not send everything');
    if (this.dropped > 0) this.options.logger.warn({ droppedDataPoints: this.dropped, sentDataPoints: this.sent }, `CloudWatch metrics: ${this.dropped} data points were dropped in all`);
  }
}

/** Whether CloudWatch publishing is on for this configuration, and if not, why (logged once). */
export function cloudWatchDecision(
  config: Pick<KclConfig, 'metricsLevel' | 'cloudWatchEndpoint' | 'kinesisEndpoint' | 'dynamoDBEndpoint'>,
): { enabled: true } | { enabled: false; reason: string } {
  if (config.metricsLevel === 'NONE') return { enabled: false, reason: 'metricsLevel is NONE' };
  if (config.cloudWatchEndpoint === undefined && isLoopbackEndpoint(config.kinesisEndpoint) && isLoopbackEndpoint(config.dynamoDBEndpoint)) {
    return { enabled: false, reason: 'the Kinesis and DynamoDB endpoints are local and no cloudWatchEndpoint is set' };
  }
  return { enabled: true };
}

/** A sink over a CloudWatch client: one PutMetricData under its deadline; the outcome reported like every AWS call. */
export function cloudWatchSink(client: CloudWatchClient, onCall?: (outcome: AwsCallOutcome) => void, deadlineMillis: number = AWS_DEADLINES.putMetricData): MetricsSink {
  return async ({ namespace, datums }, signal) => {
    await callAws(
      { service: 'cloudwatch', operation: 'PutMetricData', what: `PutMetricData of ${datums.length} metrics to namespace ${namespace}`, deadlineMillis, signal, onOutcome: onCall },
      (abortSignal) => client.send(...sendArgs(client, new PutMetricDataCommand({ Namespace: namespace, MetricData: datums }), abortSignal)),
    );
  };
}

export interface WorkerCloudWatchMetrics {
  readonly publisher: CloudWatchPublisher;
  start(): void;
  /** The final flush (bounded), then the client is closed. */
  stop(): Promise<void>;
}

/**
 * The Worker's CloudWatch metrics: off (undefined, said once in the log) or a publisher listening to `events`
 * with its own client, built from the configuration.
 */
export function createWorkerCloudWatchMetrics(
  config: KclConfig,
  deps: { events: KclEventStream; clock: Clock; logger: Logger; onCall?: (outcome: AwsCallOutcome) => void },
): WorkerCloudWatchMetrics | undefined {
  const decision = cloudWatchDecision(config);
  if (!decision.enabled) {
    deps.logger.info({ metricsLevel: config.metricsLevel }, `CloudWatch metrics are off: ${decision.reason}`);
    return undefined;
  }
  const client = createCloudWatchClient({
    region: config.regionName,
    kinesisEndpoint: config.kinesisEndpoint,
    dynamoDBEndpoint: config.dynamoDBEndpoint,
    cloudWatchEndpoint: config.cloudWatchEndpoint,
    credentials: config.awsCredentialsProvider,
    cloudWatchCredentials: config.awsCredentialsProviderCloudWatch,
    logger: deps.logger,
  });
  const publisher = new CloudWatchPublisher({
    namespace: config.applicationName,
    workerId: config.workerId,
    level: config.metricsLevel,
    dimensions: config.metricsEnabledDimensions,
    bufferTimeMillis: config.metricsBufferTimeMillis,
    maxQueueSize: config.metricsMaxQueueSize,
    sink: cloudWatchSink(client, deps.onCall),
    clock: deps.clock,
    logger: deps.logger.child({ component: 'cloudwatch-metrics' }),
  });
  publisher.attach(deps.events);
  deps.logger.info(
    { namespace: config.applicationName, metricsLevel: config.metricsLevel, endpoint: config.cloudWatchEndpoint ?? 'AWS', bufferTimeMillis: config.metricsBufferTimeMillis },
    `CloudWatch metrics (${config.metricsLevel}) go to namespace ${config.applicationName}`,
  );
  return {
    publisher,
    start: () => publisher.start(),
    stop: async () => {
      try {
        await publisher.stop();
      } finally {
        client.destroy();
      }
    },
  };
}
