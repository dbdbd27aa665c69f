/**
 * metrics/ — metrics derived from the worker's event stream, never counted on the side. It subscribes to
 * `worker.events` and may not touch leases, retrieval or the lifecycle directly.
 * - prometheus.ts: prom-client counters, gauges and histograms (`kcl_*`), served at `/metrics` by status/server.ts.
 */
export { attachPrometheusMetrics, METRIC_NAMES } from './prometheus.js';
