/**
 * CloudWatch metrics at the network edge: a worker against the emulators with `cloudWatchEndpoint` pointing at
 * a capture server (test/helpers/cloudwatch-capture.ts), which decodes every PutMetricData the SDK sends.
 * Checked: the namespace, the Java KCL's names, operations and dimensions, values that match what the
 * processor saw, the levels, batching and limits over the wire; and a CloudWatch that refuses connections
 * or never answers: processing goes on at its normal speed, the queue stays within its bound, the dropped
 * data points are counted and the shutdown stays short.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { silentLogger, type Logger } from '../../src/common/logger.js';
import { systemClock } from '../../src/common/clock.js';
import { createCloudWatchClient } from '../../src/aws/clients.js';
import { CloudWatchPublisher, cloudWatchSink, CLOUDWATCH_LIMITS } from '../../src/metrics/cloudwatch.js';
import { METRICS_DIMENSIONS } from '../../src/config/fields.js';
import type { KclConfigInput } from '../../src/config/config.js';
import { Recorder } from '../helpers/recording-processor.js';
import { CloudWatchCapture, type CapturedDatum } from '../helpers/cloudwatch-capture.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig, type TestEnv } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

const dims = (d: CapturedDatum) => Object.fromEntries(d.Dimensions.map((x) => [x.Name, x.Value]));
const sumOf = (datums: CapturedDatum[]) => datums.reduce((n, d) => n + (d.StatisticValues?.Sum ?? 0), 0);
const named = (datums: CapturedDatum[], name: string, operation: string) => datums.filter((d) => d.MetricName === name && dims(d).Operation === operation);

/** Runs a worker over `count` fresh records until the processor has seen them all; returns what it saw. */
async function consume(e: TestEnv, prefix: string, count: number, extra: Partial<KclConfigInput>, options: { waitForRenewal?: boolean; logger?: Logger } = {}) {
  const stream = await createTestStream(e, prefix, 2);
  const app = uniqueName('cwapp');
  await produceRecords(e.kinesis, { stream, count, partitionKeys: 16 });
  const recorder = new Recorder();
  const worker = new Worker({ config: workerConfig(e, stream, app, extra), processorFactory: recorder.factory, logger: options.logger ?? silentLogger });
  let renewed = false;
  let cloudWatchCalls = 0;
  worker.events.on('aws.call', (c) => {
    if (c.purpose === 'renew') renewed = true;
    if (c.service === 'cloudwatch') cloudWatchCalls++;
  });
  let maxQueued = 0;
  const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, worker.cloudWatchMetricsStats()?.queued ?? 0)), 20);
  const started = Date.now();
  await worker.start();
  let consumeMillis: number;
  let shutdownMillis: number;
  try {
    await waitFor(`${count} deliveries`, () => recorder.deliveries.length >= count, 60_000);
    consumeMillis = Date.now() - started;
    if (options.waitForRenewal) await waitFor('a lease renewal', () => renewed, 15_000);
  } finally {
    const stopping = Date.now();
    await worker.shutdown();
    shutdownMillis = Date.now() - stopping;
    clearInterval(sampler);
  }
  return { app, worker, recorder, consumeMillis, shutdownMillis, maxQueued, stats: worker.cloudWatchMetricsStats(), cloudWatchCalls };
}

describe('CloudWatch metrics', { skip: env ? false : SKIP_REASON }, () => {
  let capture: CloudWatchCapture;
  before(async () => {
    capture = await CloudWatchCapture.start();
  });
  after(async () => capture?.close());

  test("DETAILED: the Java KCL's names, operations and dimensions; RecordsProcessed adds up to what the processor saw", async () => {
    capture.requests.length = 0;
    const run = await consume(env!, 'cw-detailed', 400, { cloudWatchEndpoint: capture.endpoint, metricsBufferTimeMillis: 300 }, { waitForRenewal: true });
    capture.assertAllDecoded();
    const { requests } = capture;
    assert.ok(requests.length >= 2, `${requests.length} requests`);
    for (const r of requests) {
      assert.equal(r.operation, 'PutMetricData');
      assert.equal(r.namespace, run.app, 'namespace = applicationName');
      assert.ok(r.datums.length <= CLOUDWATCH_LIMITS.datumsPerRequest);
      assert.ok(r.bodyBytes <= CLOUDWATCH_LIMITS.requestBytes);
      for (const d of r.datums) {
        assert.ok(d.Dimensions.length <= CLOUDWATCH_LIMITS.dimensionsPerDatum);
        const s = d.StatisticValues!;
        assert.ok(s.SampleCount >= 1 && s.Minimum <= s.Maximum && s.Sum >= s.Minimum, `${d.MetricName} ${JSON.stringify(s)}`);
        assert.ok(typeof d.Timestamp === 'number' && Math.abs(d.Timestamp * 1000 - Date.now()) < 120_000, 'timestamp near now');
      }
    }
    const datums = capture.datums();
    const delivered = run.recorder.deliveries;
    const shardIds = new Set(delivered.map((d) => d.shardId));

    // Per shard (ProcessTask + ShardId): the counts are exactly what the processor saw.
    const records = named(datums, 'RecordsProcessed', 'ProcessTask');
    assert.equal(sumOf(records), delivered.length, 'RecordsProcessed sums to the records delivered');
    for (const shardId of shardIds) {
      assert.equal(sumOf(records.filter((d) => dims(d).ShardId === shardId)), delivered.filter((d) => d.shardId === shardId).length, shardId);
    }
    assert.equal(sumOf(named(datums, 'DataBytesProcessed', 'ProcessTask')), delivered.reduce((n, d) => n + d.record.data.byteLength, 0));
    for (const d of records) {
      assert.deepEqual(Object.keys(dims(d)).sort(), ['Operation', 'ShardId']);
      assert.ok(shardIds.has(dims(d).ShardId!), dims(d).ShardId);
      assert.equal(d.Unit, 'Count');
    }
    assert.equal(named(datums, 'DataBytesProcessed', 'ProcessTask')[0]!.Unit, 'Bytes');
    for (const name of ['MillisBehindLatest', 'RecordProcessor.processRecords.Time', 'KinesisDataFetcher.getRecords.Time', 'UpdateLease.Time']) {
      const found = named(datums, name, 'ProcessTask');
      assert.ok(found.length > 0, name);
      assert.ok(found.every((d) => d.Unit === 'Milliseconds' && dims(d).ShardId), name);
    }
    for (const name of ['KinesisDataFetcher.getRecords.Success', 'UpdateLease.Success']) {
      const found = named(datums, name, 'ProcessTask');
      assert.ok(found.length > 0 && found.every((d) => d.StatisticValues!.Minimum === 1), `${name}: all 1`);
    }
    // The application's lag: no ShardId.
    const app = named(datums, 'MillisBehindLatest', 'ApplicationTracker');
    assert.ok(app.length > 0);
    assert.ok(app.every((d) => Object.keys(dims(d)).join() === 'Operation'));
    // Lease scopes carry the worker.
    for (const [name, operation] of [
      ['CurrentLeases', 'RenewAllLeases'],
      ['LostLeases', 'RenewAllLeases'],
      ['Success', 'RenewAllLeases'],
      ['Time', 'RenewAllLeases'],
      ['RenewLease.Success', 'RenewAllLeases'],
      ['TakenLeases', 'TakeLeases'],
      ['NumWorkers', 'TakeLeases'],
      ['TotalLeases', 'TakeLeases'],
    ] as const) {
      const found = named(datums, name, operation);
      assert.ok(found.length > 0, `${operation} ${name}`);
      assert.ok(found.every((d) => dims(d).WorkerIdentifier === run.worker.workerId), `${operation} ${name} has WorkerIdentifier`);
    }
    assert.equal(Math.max(...named(datums, 'CurrentLeases', 'RenewAllLeases').map((d) => d.StatisticValues!.Maximum)), 2, 'both leases held');
    assert.equal(sumOf(named(datums, 'TakenLeases', 'TakeLeases')), 2, 'two leases taken');
    assert.equal(sumOf(named(datums, 'LostLeases', 'RenewAllLeases')), 0);
    assert.equal(Math.max(...named(datums, 'NumWorkers', 'TakeLeases').map((d) => d.StatisticValues!.Maximum)), 1);
    assert.equal(run.stats?.droppedDataPoints, 0);
    assert.ok(run.cloudWatchCalls >= requests.length, 'every PutMetricData is on the event stream as an aws.call');
  });

  test('SUMMARY without ShardId and WorkerIdentifier: no DETAILED name, shards add up per operation', async () => {
    capture.requests.length = 0;
    const run = await consume(env!, 'cw-summary', 200, { cloudWatchEndpoint: capture.endpoint, metricsBufferTimeMillis: 300, metricsLevel: 'SUMMARY', metricsEnabledDimensions: ['Operation'] });
    capture.assertAllDecoded();
    const datums = capture.datums();
    const names = new Set(datums.map((d) => d.MetricName));
    for (const detailed of ['UpdateLease.Success', 'UpdateLease.Time', 'KinesisDataFetcher.getRecords.Success', 'KinesisDataFetcher.getRecords.Time', 'RenewLease.Success', 'TotalLeases', 'LeasesToTake', 'ListLeases.Time', 'SyncShards.Success', 'TakeLease.Time']) {
      assert.ok(!names.has(detailed), `${detailed} is DETAILED`);
    }
    for (const summary of ['RecordsProcessed', 'DataBytesProcessed', 'MillisBehindLatest', 'RecordProcessor.processRecords.Time', 'CurrentLeases', 'TakenLeases', 'NumWorkers']) {
      assert.ok(names.has(summary), summary);
    }
    assert.ok(datums.every((d) => Object.keys(dims(d)).join() === 'Operation'), 'only Operation');
    assert.equal(sumOf(named(datums, 'RecordsProcessed', 'ProcessTask')), run.recorder.deliveries.length);
  });

  test('batching over the wire: 2500 metrics through the SDK client arrive in requests of at most 1000, gzipped, all decoded', async () => {
    capture.requests.length = 0;
    const client = createCloudWatchClient({ cloudWatchEndpoint: capture.endpoint });
    const publisher = new CloudWatchPublisher({
      namespace: 'batching-app',
      workerId: 'w',
      level: 'SUMMARY',
      dimensions: [...METRICS_DIMENSIONS],
      bufferTimeMillis: 60_000,
      maxQueueSize: 10_000,
      sink: cloudWatchSink(client),
      clock: systemClock,
      logger: silentLogger,
    });
    publisher.start();
    try {
      for (let i = 0; i < 2500; i++) publisher.record({ operation: 'ProcessTask', name: 'RecordsProcessed', unit: 'Count', value: i, level: 'SUMMARY', shardId: `shardId-${String(i).padStart(12, '0')}` });
      await publisher.stop(); // the final flush sends it all
    } finally {
      client.destroy();
    }
    capture.assertAllDecoded();
    const sizes = capture.requests.map((r) => r.datums.length);
    assert.ok(sizes.every((n) => n <= 1000), sizes.join());
    assert.equal(sizes.reduce((a, b) => a + b, 0), 2500 + 2, 'every metric (and the per-flush CurrentLeases, LostLeases)');
    assert.ok(capture.requests.every((r) => r.contentEncoding === 'gzip' && r.bodyBytes <= CLOUDWATCH_LIMITS.requestBytes), 'large bodies are gzipped, within 1 MB');
    assert.equal(sumOf(capture.datums().filter((d) => d.MetricName === 'RecordsProcessed')), (2499 * 2500) / 2);
    assert.equal(publisher.stats().droppedDataPoints, 0);
  });

  test('CloudWatch refusing connections or never answering: processing at normal speed, queue bounded, drops counted, shutdown short', async () => {
    const refusing = http.createServer();
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusedEndpoint = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
    const silent = await CloudWatchCapture.start();
    silent.mode = 'hang';
    try {
      const count = 1500;
      const metrics = { metricsBufferTimeMillis: 100, metricsMaxQueueSize: 25 };
      const baseline = await consume(env!, 'cw-baseline', count, { metricsLevel: 'NONE' });
      const down = await consume(env!, 'cw-down', count, { cloudWatchEndpoint: refusedEndpoint, ...metrics });
      const slow = await consume(env!, 'cw-slow', count, { cloudWatchEndpoint: silent.endpoint, ...metrics });
      const report = `baseline ${baseline.consumeMillis} ms, refused ${down.consumeMillis} ms, silent ${slow.consumeMillis} ms; shutdown ${baseline.shutdownMillis}/${down.shutdownMillis}/${slow.shutdownMillis} ms`;
      for (const run of [down, slow]) {
        assert.equal(run.recorder.deliveries.length, count);
        assert.ok(run.consumeMillis <= baseline.consumeMillis * 2 + 2_000, `processing at normal speed: ${report}`);
        assert.ok(run.maxQueued <= 25, `queue bounded: ${run.maxQueued}`);
        assert.ok(run.stats!.queued === 0, 'nothing held after shutdown');
        assert.ok(run.stats!.droppedDataPoints > 0, `drops counted: ${JSON.stringify(run.stats)}`);
        assert.equal(run.stats!.sentDataPoints, 0);
        assert.ok(run.shutdownMillis <= baseline.shutdownMillis + 3_000, `shutdown short: ${report}`);
      }
      assert.ok(down.stats!.requestsFailed >= 1);
      assert.ok(silent.hung >= 1 && silent.hung <= 3, `one request at a time to a silent CloudWatch (${silent.hung})`);
      console.error(`[cloudwatch down/slow] ${report}; dropped ${down.stats!.droppedDataPoints}/${slow.stats!.droppedDataPoints}`);
    } finally {
      await silent.close();
    }
  });

  test('local Kinesis and DynamoDB without cloudWatchEndpoint: off, and the log says so once', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: (a: unknown, b?: string) => void lines.push(typeof a === 'string' ? a : (b ?? '')),
      warn: () => undefined,
      error: () => undefined,
      child: () => logger,
    };
    const run = await consume(env!, 'cw-off', 50, {}, { logger });
    assert.equal(run.stats, undefined);
    assert.equal(run.cloudWatchCalls, 0);
    assert.equal(lines.filter((l) => /CloudWatch metrics are off: the Kinesis and DynamoDB endpoints are local/.test(l)).length, 1, lines.join('\n'));
  });
});
