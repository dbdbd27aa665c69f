/**
 * The mapping from events to CloudWatch data points (src/metrics/cloudwatch-mapping.ts): one row per scenario,
 * event in → data points out, each point written `Operation Name Unit Value LEVEL [ShardId=..] [WorkerIdentifier=..]`;
 * then the level and dimension filters, and the per-flush figures.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsTracker, pointsForEvent, selectPoint, type MetricPoint } from '../../src/metrics/cloudwatch-mapping.js';
import { cloudWatchDecision } from '../../src/metrics/cloudwatch.js';
import type { KclEventMap, KclEventName } from '../../src/common/events.js';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { METRICS_DIMENSIONS } from '../../src/config/fields.js';

const W = 'worker-1';

function show(p: MetricPoint): string {
  return [p.operation, p.name, p.unit, p.value, p.level, p.shardId && `ShardId=${p.shardId}`, p.workerId && `WorkerIdentifier=${p.workerId}`].filter((x) => x !== undefined).join(' ');
}

type Row = { [K in KclEventName]: { title: string; name: K; event: KclEventMap[K]; points: string[] } }[KclEventName];

const ckpt = extendedSequenceNumber('49590338271490256608559692538361571095921575989136588898');
const lease = (leaseKey: string, leaseOwner?: string) => ({ leaseKey, leaseOwner, leaseCounter: 1, checkpoint: ckpt, parentShardIds: [] });

const ROWS: Row[] = [
  {
    title: 'a batch processed',
    name: 'records.delivered',
    event: { shardId: 'shardId-1', count: 3, bytes: 120, millisBehindLatest: 500, processMillis: 7 },
    points: [
      'ProcessTask RecordsProcessed Count 3 SUMMARY ShardId=shardId-1',
      'ProcessTask DataBytesProcessed Bytes 120 SUMMARY ShardId=shardId-1',
      'ProcessTask MillisBehindLatest Milliseconds 500 SUMMARY ShardId=shardId-1',
      'ProcessTask RecordProcessor.processRecords.Time Milliseconds 7 SUMMARY ShardId=shardId-1',
    ],
  },
  {
    title: 'an empty poll: zero records, still a lag, no processRecords call',
    name: 'records.delivered',
    event: { shardId: 'shardId-1', count: 0, bytes: 0, millisBehindLatest: 0 },
    points: [
      'ProcessTask RecordsProcessed Count 0 SUMMARY ShardId=shardId-1',
      'ProcessTask DataBytesProcessed Bytes 0 SUMMARY ShardId=shardId-1',
      'ProcessTask MillisBehindLatest Milliseconds 0 SUMMARY ShardId=shardId-1',
    ],
  },
  {
    title: 'a checkpoint written',
    name: 'checkpoint.written',
    event: { shardId: 'shardId-2', checkpoint: ckpt, millis: 12 },
    points: ['ProcessTask UpdateLease.Success Count 1 DETAILED ShardId=shardId-2', 'ProcessTask UpdateLease.Time Milliseconds 12 DETAILED ShardId=shardId-2'],
  },
  {
    title: 'a checkpoint failed',
    name: 'checkpoint.failed',
    event: { shardId: 'shardId-2', checkpoint: ckpt, error: new Error('x'), millis: 3000 },
    points: ['ProcessTask UpdateLease.Success Count 0 DETAILED ShardId=shardId-2', 'ProcessTask UpdateLease.Time Milliseconds 3000 DETAILED ShardId=shardId-2'],
  },
  {
    title: 'GetRecords answered',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'GetRecords', shardId: 'shardId-3', outcome: 'ok', millis: 20 },
    points: ['ProcessTask KinesisDataFetcher.getRecords.Success Count 1 DETAILED ShardId=shardId-3', 'ProcessTask KinesisDataFetcher.getRecords.Time Milliseconds 20 DETAILED ShardId=shardId-3'],
  },
  {
    title: 'GetRecords with an expired iterator',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'GetRecords', shardId: 'shardId-3', outcome: 'expired-iterator', millis: 15 },
    points: [
      'ProcessTask KinesisDataFetcher.getRecords.Success Count 0 DETAILED ShardId=shardId-3',
      'ProcessTask KinesisDataFetcher.getRecords.Time Milliseconds 15 DETAILED ShardId=shardId-3',
      'ProcessTask ExpiredIterator Count 1 SUMMARY ShardId=shardId-3',
    ],
  },
  {
    title: 'GetRecords throttled',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'GetRecords', shardId: 'shardId-3', outcome: 'throttled', millis: 9 },
    points: ['ProcessTask KinesisDataFetcher.getRecords.Success Count 0 DETAILED ShardId=shardId-3', 'ProcessTask KinesisDataFetcher.getRecords.Time Milliseconds 9 DETAILED ShardId=shardId-3'],
  },
  {
    title: 'GetShardIterator',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'GetShardIterator', shardId: 'shardId-3', outcome: 'ok', millis: 4 },
    points: ['ProcessTask KinesisDataFetcher.getShardIterator.Success Count 1 DETAILED ShardId=shardId-3', 'ProcessTask KinesisDataFetcher.getShardIterator.Time Milliseconds 4 DETAILED ShardId=shardId-3'],
  },
  {
    title: 'GetRecords stopped by the worker: no data (a stop is no failure)',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'GetRecords', shardId: 'shardId-3', outcome: 'aborted', millis: 1 },
    points: [],
  },
  {
    title: 'other Kinesis calls: none',
    name: 'aws.call',
    event: { service: 'kinesis', operation: 'ListShards', outcome: 'ok', millis: 30 },
    points: [],
  },
  {
    title: 'a lease renewal',
    name: 'aws.call',
    event: { service: 'dynamodb', operation: 'UpdateItem', purpose: 'renew', outcome: 'ok', millis: 6 },
    points: [
      `RenewAllLeases Success Count 1 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases Time Milliseconds 6 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Success Count 1 DETAILED WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Time Milliseconds 6 DETAILED WorkerIdentifier=${W}`,
    ],
  },
  {
    title: 'a renewal that found the lease taken: the call worked (as in the Java KCL)',
    name: 'aws.call',
    event: { service: 'dynamodb', operation: 'UpdateItem', purpose: 'renew', outcome: 'conditional-check-failed', millis: 5 },
    points: [
      `RenewAllLeases Success Count 1 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases Time Milliseconds 5 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Success Count 1 DETAILED WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Time Milliseconds 5 DETAILED WorkerIdentifier=${W}`,
    ],
  },
  {
    title: 'a renewal that timed out',
    name: 'aws.call',
    event: { service: 'dynamodb', operation: 'UpdateItem', purpose: 'renew', outcome: 'timeout', millis: 3300 },
    points: [
      `RenewAllLeases Success Count 0 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases Time Milliseconds 3300 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Success Count 0 DETAILED WorkerIdentifier=${W}`,
      `RenewAllLeases RenewLease.Time Milliseconds 3300 DETAILED WorkerIdentifier=${W}`,
    ],
  },
  {
    title: 'a take',
    name: 'aws.call',
    event: { service: 'dynamodb', operation: 'UpdateItem', purpose: 'take', outcome: 'ok', millis: 8 },
    points: [`TakeLeases TakeLease.Success Count 1 DETAILED WorkerIdentifier=${W}`, `TakeLeases TakeLease.Time Milliseconds 8 DETAILED WorkerIdentifier=${W}`],
  },
  {
    title: 'a checkpoint write as a DynamoDB call: counted by checkpoint.written instead',
    name: 'aws.call',
    event: { service: 'dynamodb', operation: 'UpdateItem', purpose: 'checkpoint', outcome: 'ok', millis: 8 },
    points: [],
  },
  {
    title: "CloudWatch's own calls are not published to CloudWatch",
    name: 'aws.call',
    event: { service: 'cloudwatch', operation: 'PutMetricData', outcome: 'unreachable', millis: 2 },
    points: [],
  },
  {
    title: 'a scan by the taker',
    name: 'leases.scanned',
    event: { workerId: W, leases: [lease('shardId-1', W), lease('shardId-2', 'w2'), lease('shardId-3')], workers: [W, 'w2'], wanted: 2, moved: 1, scanMillis: 14 },
    points: [
      `TakeLeases TakenLeases Count 1 SUMMARY WorkerIdentifier=${W}`,
      `TakeLeases UntakenLeases Count 1 SUMMARY WorkerIdentifier=${W}`,
      `TakeLeases NumWorkers Count 2 SUMMARY WorkerIdentifier=${W}`,
      `TakeLeases TotalLeases Count 3 DETAILED WorkerIdentifier=${W}`,
      `TakeLeases LeasesToTake Count 2 DETAILED WorkerIdentifier=${W}`,
      `TakeLeases ListLeases.Success Count 1 DETAILED WorkerIdentifier=${W}`,
      `TakeLeases ListLeases.Time Milliseconds 14 DETAILED WorkerIdentifier=${W}`,
    ],
  },
  {
    title: 'a shard sync',
    name: 'shards.synced',
    event: { shardCount: 4, leasesCreated: 0 },
    points: ['ShardSyncTask SyncShards.Success Count 1 DETAILED'],
  },
  { title: 'lease events alone: nothing (they feed the per-flush figures)', name: 'lease.lost', event: { leaseKey: 'shardId-1', workerId: W, reason: 'taken' }, points: [] },
  { title: 'errors: nothing (no Java name)', name: 'worker.error', event: { error: new Error('x'), where: 'somewhere' }, points: [] },
];

describe('events → data points', () => {
  for (const row of ROWS) {
    test(row.title, () => {
      assert.deepEqual(pointsForEvent(row.name, row.event, W).map(show), row.points);
    });
  }
});

describe('metricsLevel and metricsEnabledDimensions', () => {
  const summary: MetricPoint = { operation: 'ProcessTask', name: 'RecordsProcessed', unit: 'Count', value: 3, level: 'SUMMARY', shardId: 's1' };
  const detailed: MetricPoint = { operation: 'RenewAllLeases', name: 'RenewLease.Time', unit: 'Milliseconds', value: 5, level: 'DETAILED', workerId: W };
  const all = [...METRICS_DIMENSIONS];
  const TABLE: { title: string; point: MetricPoint; level: 'NONE' | 'SUMMARY' | 'DETAILED'; dimensions: typeof all; out: string | undefined }[] = [
    { title: 'DETAILED publishes SUMMARY metrics', point: summary, level: 'DETAILED', dimensions: all, out: 'RecordsProcessed Operation=ProcessTask ShardId=s1' },
    { title: 'DETAILED publishes DETAILED metrics', point: detailed, level: 'DETAILED', dimensions: all, out: `RenewLease.Time Operation=RenewAllLeases WorkerIdentifier=${W}` },
    { title: 'SUMMARY publishes SUMMARY metrics', point: summary, level: 'SUMMARY', dimensions: all, out: 'RecordsProcessed Operation=ProcessTask ShardId=s1' },
    { title: 'SUMMARY leaves DETAILED out', point: detailed, level: 'SUMMARY', dimensions: all, out: undefined },
    { title: 'NONE publishes nothing', point: summary, level: 'NONE', dimensions: all, out: undefined },
    { title: 'ShardId not enabled: dropped from the point', point: summary, level: 'DETAILED', dimensions: ['Operation', 'WorkerIdentifier'], out: 'RecordsProcessed Operation=ProcessTask' },
    { title: 'WorkerIdentifier not enabled', point: detailed, level: 'DETAILED', dimensions: ['Operation', 'ShardId'], out: 'RenewLease.Time Operation=RenewAllLeases' },
    { title: 'Operation is always kept, even when not listed', point: summary, level: 'DETAILED', dimensions: ['ShardId'], out: 'RecordsProcessed Operation=ProcessTask ShardId=s1' },
    { title: 'a value CloudWatch rejects (NaN) is left out', point: { ...summary, value: Number.NaN }, level: 'DETAILED', dimensions: all, out: undefined },
    { title: 'a value CloudWatch rejects (Infinity) is left out', point: { ...summary, value: Number.POSITIVE_INFINITY }, level: 'DETAILED', dimensions: all, out: undefined },
  ];
  for (const row of TABLE) {
    test(row.title, () => {
      const selected = selectPoint(row.point, { level: row.level, dimensions: row.dimensions });
      const out = selected && [selected.name, ...selected.dimensions.map((d) => `${d.Name}=${d.Value}`)].join(' ');
      assert.equal(out, row.out);
    });
  }
});

describe('per-flush figures (MetricsTracker)', () => {
  test('ApplicationTracker MillisBehindLatest: the largest latest lag of the shards processed here, no ShardId', () => {
    const t = new MetricsTracker(W);
    t.observe('lease.acquired', { leaseKey: 's1', workerId: W });
    t.observe('lease.acquired', { leaseKey: 's2', workerId: W });
    t.observe('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 9000 });
    t.observe('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 100 }); // s1 caught up
    t.observe('records.delivered', { shardId: 's2', count: 1, bytes: 1, millisBehindLatest: 2500 });
    assert.deepEqual(t.flush().map(show), [
      `RenewAllLeases CurrentLeases Count 2 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases LostLeases Count 0 SUMMARY WorkerIdentifier=${W}`,
      'ApplicationTracker MillisBehindLatest Milliseconds 2500 SUMMARY',
    ]);
  });

  test('a lost lease: counted once in LostLeases, gone from CurrentLeases and from the application lag', () => {
    const t = new MetricsTracker(W);
    for (const s of ['s1', 's2', 's3']) t.observe('lease.acquired', { leaseKey: s, workerId: W });
    t.observe('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 50_000 });
    t.observe('records.delivered', { shardId: 's2', count: 1, bytes: 1, millisBehindLatest: 10 });
    t.observe('lease.lost', { leaseKey: 's1', workerId: W, reason: 'expired' });
    t.observe('lease.released', { leaseKey: 's3', workerId: W, to: 'w2' });
    assert.deepEqual(t.flush().map(show), [
      `RenewAllLeases CurrentLeases Count 1 SUMMARY WorkerIdentifier=${W}`,
      `RenewAllLeases LostLeases Count 1 SUMMARY WorkerIdentifier=${W}`,
      'ApplicationTracker MillisBehindLatest Milliseconds 10 SUMMARY',
    ]);
    // The next interval starts at zero losses.
    assert.equal(t.flush().find((p) => p.name === 'LostLeases')?.value, 0);
  });

  test('no shard processed: no application lag at all (not a misleading 0)', () => {
    const t = new MetricsTracker(W);
    t.observe('records.delivered', { shardId: 's1', count: 0, bytes: 0, millisBehindLatest: 7 });
    t.observe('processor.shutdown', { shardId: 's1', reason: 'SHARD_END' });
    assert.deepEqual(
      t.flush().map((p) => p.name),
      ['CurrentLeases', 'LostLeases'],
    );
  });
});

describe('is CloudWatch publishing on?', () => {
  const local = { kinesisEndpoint: 'http://127.0.0.1:4567', dynamoDBEndpoint: 'http://localhost:4568' };
  const TABLE: { title: string; config: Parameters<typeof cloudWatchDecision>[0]; enabled: boolean; reason?: RegExp }[] = [
    { title: 'AWS endpoints, DETAILED: on', config: { metricsLevel: 'DETAILED' }, enabled: true },
    { title: 'AWS endpoints, SUMMARY: on', config: { metricsLevel: 'SUMMARY' }, enabled: true },
    { title: 'NONE: off', config: { metricsLevel: 'NONE' }, enabled: false, reason: /NONE/ },
    { title: 'local Kinesis and DynamoDB, no cloudWatchEndpoint: off', config: { metricsLevel: 'DETAILED', ...local }, enabled: false, reason: /local.*cloudWatchEndpoint/ },
    { title: 'local Kinesis and DynamoDB with a cloudWatchEndpoint: on', config: { metricsLevel: 'DETAILED', ...local, cloudWatchEndpoint: 'http://127.0.0.1:9' }, enabled: true },
    { title: 'only Kinesis local: on (DynamoDB is AWS, so is CloudWatch)', config: { metricsLevel: 'DETAILED', kinesisEndpoint: local.kinesisEndpoint }, enabled: true },
    { title: 'local endpoints and NONE with a cloudWatchEndpoint: off', config: { metricsLevel: 'NONE', ...local, cloudWatchEndpoint: 'http://127.0.0.1:9' }, enabled: false, reason: /NONE/ },
  ];
  for (const row of TABLE) {
    test(row.title, () => {
      const decision = cloudWatchDecision(row.config);
      assert.equal(decision.enabled, row.enabled);
      if (!decision.enabled) assert.match(decision.reason, row.reason!);
    });
  }
});
