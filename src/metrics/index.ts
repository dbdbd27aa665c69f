/**
 * metrics/: what the worker's events mean as metrics, and publishing them. CloudWatch (the Java KCL's names,
 * operations, dimensions and levels: docs/metrics.md): `cloudwatch-mapping.ts` turns events into data points
 * (pure), `cloudwatch.ts` aggregates and sends them with PutMetricData.
 *
 * Owns: the metric names and their meaning, the CloudWatch client's use, the metrics queue and its bound.
 * May not touch: anything inside the core. It learns everything from `worker.events` (the one event stream)
 * and is started and stopped by the Worker; no part of leases/, retrieval/, lifecycle/ or worker/ internals
 * imports it or counts anything for it on the side. It never blocks an event handler: listeners only
 * aggregate, sending runs on its own.
 */
export { pointsForEvent, selectPoint, MetricsTracker, type MetricPoint, type SelectedPoint, type MetricUnit, type PointLevel } from './cloudwatch-mapping.js';
export {
  CloudWatchPublisher,
  cloudWatchDecision,
  cloudWatchSink,
  createWorkerCloudWatchMetrics,
  CLOUDWATCH_LIMITS,
  type CloudWatchPublisherOptions,
  type CloudWatchPublisherStats,
  type MetricsSink,
  type WorkerCloudWatchMetrics,
} from './cloudwatch.js';
