/**
 * From the worker's events to CloudWatch data points with the Java KCL's names (docs/metrics.md). Pure: no
 * timers, no I/O. `pointsForEvent` maps one event on its own; `MetricsTracker` keeps the little state the
 * per-flush figures need (the lag of each shard, the leases held, the leases lost since the last flush);
 * `selectPoint` applies `metricsLevel` and `metricsEnabledDimensions`.
 */
import type { KclEventMap, KclEventName } from '../common/events.js';
import type { MetricsDimension, MetricsLevel } from '../config/fields.js';

/** The CloudWatch units used (StandardUnit names). */
export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';
/** The level a metric is published at: SUMMARY ones at SUMMARY and DETAILED, DETAILED ones at DETAILED only. */
export type PointLevel = Exclude<MetricsLevel, 'NONE'>;

/** One observation, before the level and dimension filters. */
export interface MetricPoint {
  /** The `Operation` dimension: the Java KCL's scope (ProcessTask, RenewAllLeases, TakeLeases, ...). */
  readonly operation: string;
  readonly name: string;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly level: PointLevel;
  /** The `ShardId` dimension (per-shard scopes). */
  readonly shardId?: string;
  /** The `WorkerIdentifier` dimension (lease scopes). */
  readonly workerId?: string;
}

export interface Dimension {
  readonly Name: MetricsDimension;
  readonly Value: string;
}

/** A data point as published: name, unit, value and the dimensions the configuration lets through. */
export interface SelectedPoint {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly dimensions: readonly Dimension[];
}

export interface MetricsSelection {
  readonly level: MetricsLevel;
  readonly dimensions: readonly MetricsDimension[];
}

/** CloudWatch rejects values outside ±2^360 and NaN/Infinity (PutMetricData reference). */
export const MAX_MAGNITUDE = 2 ** 360;

/**
 * The point as published, or undefined when the level leaves it out (or its value is one CloudWatch rejects).
 * `Operation` is always kept, as in the Java KCL; the others only when enabled.
 */
export function selectPoint(point: MetricPoint, selection: MetricsSelection): SelectedPoint | undefined {
  if (selection.level === 'NONE') return undefined;
  if (selection.level === 'SUMMARY' && point.level === 'DETAILED') return undefined;
  if (!Number.isFinite(point.value) || Math.abs(point.value) > MAX_MAGNITUDE) return undefined;
  const dimensions: Dimension[] = [{ Name: 'Operation', Value: point.operation }];
  if (point.shardId !== undefined && selection.dimensions.includes('ShardId')) dimensions.push({ Name: 'ShardId', Value: point.shardId });
  if (point.workerId !== undefined && selection.dimensions.includes('WorkerIdentifier')) dimensions.push({ Name: 'WorkerIdentifier', Value: point.workerId });
  return { name: point.name, unit: point.unit, value: point.value, dimensions };
}

// Operations (the Java KCL's scope names).
const PROCESS = 'ProcessTask';
const RENEW = 'RenewAllLeases';
const TAKE = 'TakeLeases';
const APPLICATION = 'ApplicationTracker';
const SHARD_SYNC = 'ShardSyncTask';

/**
 * One point, always built with the same shape (the event handlers run per batch: no spreads, one hidden class).
 * `shardId` / `workerId`: the ShardId / WorkerIdentifier dimensions, where the scope has them.
 */
function point(operation: string, name: string, unit: MetricUnit, value: number, level: PointLevel, shardId?: string, workerId?: string): MetricPoint {
  return { operation, name, unit, value, level, shardId, workerId };
}

/** `<prefix>.Success` (1 or 0) and `<prefix>.Time`; no prefix = the scope's own Success and Time. */
function successAndTime(operation: string, level: PointLevel, prefix: string | undefined, success: boolean, millis: number, shardId?: string, workerId?: string): MetricPoint[] {
  return [
    point(operation, prefix ? `${prefix}.Success` : 'Success', 'Count', success ? 1 : 0, level, shardId, workerId),
    point(operation, prefix ? `${prefix}.Time` : 'Time', 'Milliseconds', millis, level, shardId, workerId),
  ];
}

/** Kinesis calls of the polling fetcher, by operation: the Java KinesisDataFetcher's metric prefix. */
const FETCHER_CALLS: Readonly<Record<string, string>> = {
  GetRecords: 'KinesisDataFetcher.getRecords',
  GetShardIterator: 'KinesisDataFetcher.getShardIterator',
};

/**
 * A call answered, for a `.Success` figure: the Java KCL counts a lease write that lost its condition as a
 * call that worked (the service answered; the lease had moved). Errors are 0.
 */
function answered(outcome: string): boolean {
  return outcome === 'ok' || outcome === 'conditional-check-failed';
}

function awsCallPoints(event: KclEventMap['aws.call'], workerId: string): MetricPoint[] {
  // The worker's own stop is not a failure; and CloudWatch's own calls are not published to CloudWatch.
  if (event.outcome === 'aborted' || event.service === 'cloudwatch') return [];
  if (event.service === 'kinesis') {
    const prefix = FETCHER_CALLS[event.operation];
    if (!prefix) return [];
    const points = successAndTime(PROCESS, 'DETAILED', prefix, answered(event.outcome), event.millis, event.shardId);
    if (event.operation === 'GetRecords' && event.outcome === 'expired-iterator') points.push(point(PROCESS, 'ExpiredIterator', 'Count', 1, 'SUMMARY', event.shardId));
    return points;
  }
  if (event.purpose === 'renew') {
    // Each renewal is one sample of RenewAllLeases' Success and Time (the Java KCL times the whole round; ours
    // renews every lease of a round at once, so a round lasts as long as its slowest renewal: the Maximum).
    const ok = answered(event.outcome);
    return [...successAndTime(RENEW, 'SUMMARY', undefined, ok, event.millis, undefined, workerId), ...successAndTime(RENEW, 'DETAILED', 'RenewLease', ok, event.millis, undefined, workerId)];
  }
  if (event.purpose === 'take') return successAndTime(TAKE, 'DETAILED', 'TakeLease', answered(event.outcome), event.millis, undefined, workerId);
  return [];
}

/** What one event says on its own. `workerId`: this worker (WorkerIdentifier on lease scopes). */
export function pointsForEvent<K extends KclEventName>(name: K, event: KclEventMap[K], workerId: string): MetricPoint[] {
  const mapper = EVENT_MAPPERS[name] as ((e: KclEventMap[K], workerId: string) => MetricPoint[]) | undefined;
  return mapper ? mapper(event, workerId) : [];
}

const EVENT_MAPPERS: { readonly [K in KclEventName]?: (event: KclEventMap[K], workerId: string) => MetricPoint[] } = {
  'records.delivered': (e) => {
    // Every batch, empty ones too (0 records, still a lag), as the Java ProcessTask does.
    const points = [
      point(PROCESS, 'RecordsProcessed', 'Count', e.count, 'SUMMARY', e.shardId),
      point(PROCESS, 'DataBytesProcessed', 'Bytes', e.bytes, 'SUMMARY', e.shardId),
      point(PROCESS, 'MillisBehindLatest', 'Milliseconds', e.millisBehindLatest, 'SUMMARY', e.shardId),
    ];
    if (e.processMillis !== undefined) points.push(point(PROCESS, 'RecordProcessor.processRecords.Time', 'Milliseconds', e.processMillis, 'SUMMARY', e.shardId));
    return points;
  },
  'checkpoint.written': (e) => successAndTime(PROCESS, 'DETAILED', 'UpdateLease', true, e.millis, e.shardId),
  'checkpoint.failed': (e) => successAndTime(PROCESS, 'DETAILED', 'UpdateLease', false, e.millis, e.shardId),
  'leases.scanned': (e) => [
    point(TAKE, 'TakenLeases', 'Count', e.moved, 'SUMMARY', undefined, e.workerId),
    point(TAKE, 'UntakenLeases', 'Count', Math.max(0, e.wanted - e.moved), 'SUMMARY', undefined, e.workerId),
    point(TAKE, 'NumWorkers', 'Count', e.workers.length, 'SUMMARY', undefined, e.workerId),
    point(TAKE, 'TotalLeases', 'Count', e.leases.length, 'DETAILED', undefined, e.workerId),
    point(TAKE, 'LeasesToTake', 'Count', e.wanted, 'DETAILED', undefined, e.workerId),
    ...successAndTime(TAKE, 'DETAILED', 'ListLeases', true, e.scanMillis, undefined, e.workerId),
  ],
  'shards.synced': () => [point(SHARD_SYNC, 'SyncShards.Success', 'Count', 1, 'DETAILED')],
  'aws.call': awsCallPoints,
};

/** The events whose data points depend on nothing but the event. */
export const MAPPED_EVENTS = Object.keys(EVENT_MAPPERS) as KclEventName[];

/** The events MetricsTracker follows. */
export const TRACKED_EVENTS = ['records.delivered', 'lease.acquired', 'lease.lost', 'lease.released', 'processor.shutdown'] as const satisfies readonly KclEventName[];
export type TrackedEventName = (typeof TRACKED_EVENTS)[number];

/**
 * The state behind the figures taken once per flush: the application's lag (ApplicationTracker
 * MillisBehindLatest: the largest latest lag among the shards this worker processes, no ShardId) and the
 * renewer's health (RenewAllLeases CurrentLeases: leases held at the flush; LostLeases: lost since the last).
 */
export class MetricsTracker {
  private readonly lagByShard = new Map<string, number>();
  private readonly held = new Set<string>();
  private lostSinceFlush = 0;

  constructor(private readonly workerId: string) {}

  observe<K extends TrackedEventName>(name: K, event: KclEventMap[K]): void {
    switch (name) {
      case 'records.delivered': {
        const e = event as KclEventMap['records.delivered'];
        this.lagByShard.set(e.shardId, e.millisBehindLatest);
        return;
      }
      case 'lease.acquired':
        this.held.add((event as KclEventMap['lease.acquired']).leaseKey);
        return;
      case 'lease.lost': {
        const { leaseKey } = event as KclEventMap['lease.lost'];
        this.held.delete(leaseKey);
        this.lagByShard.delete(leaseKey);
        this.lostSinceFlush++;
        return;
      }
      case 'lease.released': {
        const { leaseKey } = event as KclEventMap['lease.released'];
        this.held.delete(leaseKey);
        this.lagByShard.delete(leaseKey);
        return;
      }
      case 'processor.shutdown':
        // The shard is no longer processed here (ended, lost, handed over): its last lag no longer counts.
        this.lagByShard.delete((event as KclEventMap['processor.shutdown']).shardId);
        return;
    }
  }

  /** The figures of this flush; starts the next interval (LostLeases counts from here). */
  flush(): MetricPoint[] {
    const points = [
      point(RENEW, 'CurrentLeases', 'Count', this.held.size, 'SUMMARY', undefined, this.workerId),
      point(RENEW, 'LostLeases', 'Count', this.lostSinceFlush, 'SUMMARY', undefined, this.workerId),
    ];
    this.lostSinceFlush = 0;
    if (this.lagByShard.size > 0) points.push(point(APPLICATION, 'MillisBehindLatest', 'Milliseconds', Math.max(...this.lagByShard.values()), 'SUMMARY'));
    return points;
  }
}
