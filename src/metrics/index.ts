/**
 * metrics/ — metrics derived from the worker's event stream, never counted on the side. It subscribes to
 * `worker.events` and may not touch leases, retrieval or the lifecycle directly; the Worker starts and stops it.
 * No event handler here blocks or does I/O: listeners only update counters or aggregates.
 * - prometheus.ts: prom-client counters, gauges and histograms (`kcl_*`), served at `/metrics` by status/server.ts.
 * - cloudwatch-mapping.ts: events → data points with the Java KCL's CloudWatch names, operations, dimensions and
 *   levels (pure; docs/metrics.md).
 * - cloudwatch.ts: the CloudWatch publisher: aggregates per interval, sends with PutMetricData within
 *   CloudWatch's limits, bounded by metricsMaxQueueSize (drops counted), and the Worker's on/off rule.
 */
export { attachPrometheusMetrics, METRIC_NAMES } from './prometheus.js';
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
