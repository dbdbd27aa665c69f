/**
 * Prometheus metrics from a worker's event stream, with prom-client. The names and label names below are a
 * contract (dashboards and alerts are built on them): change them only as a breaking change.
 *
 * Everything is derived from `worker.events`; nothing here reaches into the worker. Each worker writes into one
 * registry (its own, or the one a user passes as `WorkerOptions.metricsRegistry`); several workers may share a
 * registry, and then share its counters (series carry `stream` / `shard_id` / `worker_id` where that matters).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { awsErrorKind } from '../aws/errors.js';
import { ShutdownException } from '../common/errors.js';
import type { KclEventStream } from '../common/events.js';
import { acquiredMoveKind, listenAll, releasedMoveKind } from '../status/event-helpers.js';

export const METRIC_NAMES = {
  recordsProcessed: 'kcl_records_processed_total',
  bytesProcessed: 'kcl_bytes_processed_total',
  millisBehindLatest: 'kcl_millis_behind_latest',
  leasesHeld: 'kcl_leases_held',
  leaseEvents: 'kcl_lease_events_total',
  checkpoints: 'kcl_checkpoints_total',
  processRecordsDuration: 'kcl_process_records_duration_seconds',
  awsRequests: 'kcl_aws_requests_total',
  awsRequestDuration: 'kcl_aws_request_duration_seconds',
} as const;

/** Seconds: a processRecords call or an AWS request, from a millisecond to a long poll or a slow processor. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PrometheusMetricsOptions {
  readonly registry: Registry;
  readonly stream: string;
  readonly workerId: string;
}

type ShardLabels = 'stream' | 'shard_id';
type AwsLabels = 'service' | 'operation' | 'outcome';

/** The metric of that name in the registry (a second worker on the same registry), or a new one. */
function metric<M extends Metric<string>>(registry: Registry, name: string, create: (registers: Registry[]) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create([registry]);
}

/** `kcl_checkpoints_total{outcome}`: 'ok', 'lease-lost', or the AWS error kind (throttled, timeout, ...). */
export function checkpointOutcome(error: Error | undefined): string {
  if (!error) return 'ok';
  if (error instanceof ShutdownException) return 'lease-lost';
  return awsErrorKind(error);
}

/**
 * Subscribes the metrics to `events`; returns the function that unsubscribes. The series of a shard's lag is
 * removed when the shard stops being this worker's, so a scrape never shows another worker's shard as ours.
 */
export function attachPrometheusMetrics(events: KclEventStream, options: PrometheusMetricsOptions): () => void {
  const { registry, stream, workerId } = options;
  const records = metric(registry, METRIC_NAMES.recordsProcessed, (registers) => new Counter<ShardLabels>({ name: METRIC_NAMES.recordsProcessed, help: 'User records delivered to the record processor', labelNames: ['stream', 'shard_id'], registers }));
  const bytes = metric(registry, METRIC_NAMES.bytesProcessed, (registers) => new Counter<ShardLabels>({ name: METRIC_NAMES.bytesProcessed, help: 'Bytes of record data delivered to the record processor', labelNames: ['stream', 'shard_id'], registers }));
  const lag = metric(registry, METRIC_NAMES.millisBehindLatest, (registers) => new Gauge<ShardLabels>({ name: METRIC_NAMES.millisBehindLatest, help: "How far the latest read of a shard held by this worker was behind the stream's tip, in milliseconds", labelNames: ['stream', 'shard_id'], registers }));
  const leasesHeld = metric(registry, METRIC_NAMES.leasesHeld, (registers) => new Gauge<'worker_id'>({ name: METRIC_NAMES.leasesHeld, help: 'Leases held by this worker', labelNames: ['worker_id'], registers }));
  const leaseEvents = metric(registry, METRIC_NAMES.leaseEvents, (registers) => new Counter<'event'>({ name: METRIC_NAMES.leaseEvents, help: 'Lease moves seen by this worker: taken, stolen, lost, released, handed_off', labelNames: ['event'], registers }));
  const checkpoints = metric(registry, METRIC_NAMES.checkpoints, (registers) => new Counter<'outcome'>({ name: METRIC_NAMES.checkpoints, help: "Checkpoints written ('ok') or failed (the reason)", labelNames: ['outcome'], registers }));
  const processDuration = metric(registry, METRIC_NAMES.processRecordsDuration, (registers) => new Histogram({ name: METRIC_NAMES.processRecordsDuration, help: 'Time the record processor took in processRecords', buckets: DURATION_BUCKETS, registers }));
  const awsRequests = metric(registry, METRIC_NAMES.awsRequests, (registers) => new Counter<AwsLabels>({ name: METRIC_NAMES.awsRequests, help: "AWS requests made, by outcome ('ok' or the kind of error)", labelNames: ['service', 'operation', 'outcome'], registers }));
  const awsDuration = metric(registry, METRIC_NAMES.awsRequestDuration, (registers) => new Histogram<AwsLabels>({ name: METRIC_NAMES.awsRequestDuration, help: 'Duration of AWS requests', labelNames: ['service', 'operation', 'outcome'], buckets: DURATION_BUCKETS, registers }));

  const held = new Set<string>();
  /** Workers the latest scan found alive: a lease taken from one of them was stolen, from anyone else taken. */
  let alive: readonly string[] = [];
  leasesHeld.set({ worker_id: workerId }, 0);
  const lostOrReleased = (leaseKey: string) => {
    held.delete(leaseKey);
    leasesHeld.set({ worker_id: workerId }, held.size);
    lag.remove({ stream, shard_id: leaseKey });
  };
  return listenAll(events, {
    'records.delivered': ({ shardId, count, bytes: size, millisBehindLatest, processMillis }) => {
      const labels = { stream, shard_id: shardId };
      records.inc(labels, count);
      bytes.inc(labels, size);
      lag.set(labels, millisBehindLatest);
      if (processMillis !== undefined) processDuration.observe(processMillis / 1000);
    },
    'leases.scanned': ({ workers }) => {
      alive = workers;
    },
    'lease.acquired': ({ leaseKey, stolenFrom }) => {
      held.add(leaseKey);
      leasesHeld.set({ worker_id: workerId }, held.size);
      leaseEvents.inc({ event: acquiredMoveKind(stolenFrom, alive) });
    },
    'lease.lost': ({ leaseKey }) => {
      lostOrReleased(leaseKey);
      leaseEvents.inc({ event: 'lost' });
    },
    'lease.released': ({ leaseKey, to }) => {
      lostOrReleased(leaseKey);
      leaseEvents.inc({ event: releasedMoveKind(to) });
    },
    'checkpoint.written': () => checkpoints.inc({ outcome: 'ok' }),
    'checkpoint.failed': ({ error }) => checkpoints.inc({ outcome: checkpointOutcome(error) }),
    'aws.call': ({ service, operation, outcome, millis }) => {
      const labels = { service, operation, outcome };
      awsRequests.inc(labels);
      awsDuration.observe(labels, millis / 1000);
    },
  });
}

/** prom-client's process metrics (CPU, memory, event-loop lag, GC, ...), collected once per process. */
let processRegistry: Registry | undefined;

/**
 * What `GET /metrics` serves: the worker's registry plus the process metrics, unless the registry has them
 * already (a user who called collectDefaultMetrics on the registry they passed). The process metrics live in a
 * registry of their own so that many workers in one process do not each start an event-loop monitor.
 */
export function scrapeRegistry(registry: Registry): Registry {
  if (registry.getSingleMetric('process_cpu_user_seconds_total')) return registry;
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return Registry.merge([registry, processRegistry]);
}
