/**
 * The CloudWatch publisher (src/metrics/cloudwatch.ts) with a fake sink and a virtual clock: aggregation into
 * StatisticValues per interval, the level and dimension filters end to end, batching within CloudWatch's
 * limits, the queue bound and drop counting when the sink is slow or failing, and the bounded final flush.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { CloudWatchPublisher, CLOUDWATCH_LIMITS, datumBytes, takeBatch, type CloudWatchPublisherOptions, type MetricsSink } from '../../src/metrics/cloudwatch.js';
import { VirtualClock, flushMicrotasks } from '../../src/common/clock.js';
import { KclEvents } from '../../src/common/events.js';
import { AwsCallError } from '../../src/aws/errors.js';
import type { Logger } from '../../src/common/logger.js';
import { METRICS_DIMENSIONS } from '../../src/config/fields.js';

const W = 'worker-1';

/** A logger that keeps what was said, by level. */
function memoryLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (a: Record<string, unknown> | string, b?: string): void => {
      lines.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
    };
  const logger = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

type Request = { namespace: string; datums: MetricDatum[] };

/** A sink whose behaviour the test sets: answer at once, fail, or hang until released. */
class FakeSink {
  readonly requests: Request[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private readonly hanging: (() => void)[] = [];
  readonly sink: MetricsSink = (request, signal) => {
    this.requests.push({ namespace: request.namespace, datums: [...request.datums] });
    if (this.mode === 'ok') return Promise.resolve();
    if (this.mode === 'fail') return Promise.reject(new AwsCallError('PutMetricData: connection refused', 'unreachable'));
    return new Promise<void>((resolve, reject) => {
      this.hanging.push(resolve);
      signal.addEventListener('abort', () => reject(new AwsCallError('PutMetricData: stopped', 'aborted')), { once: true });
    });
  };
  releaseAll(): void {
    for (const r of this.hanging.splice(0)) r();
  }
  datums(): MetricDatum[] {
    return this.requests.flatMap((r) => r.datums);
  }
}

function setup(overrides: Partial<CloudWatchPublisherOptions> = {}, { start = true } = {}) {
  const clock = new VirtualClock();
  const fake = new FakeSink();
  const logger = memoryLogger();
  const events = new KclEvents();
  const publisher = new CloudWatchPublisher({
    namespace: 'my-app',
    workerId: W,
    level: 'DETAILED',
    dimensions: [...METRICS_DIMENSIONS],
    bufferTimeMillis: 10_000,
    maxQueueSize: 10_000,
    sink: fake.sink,
    clock,
    logger,
    random: () => 0.5,
    ...overrides,
  });
  publisher.attach(events.readOnly());
  if (start) publisher.start();
  return { clock, fake, logger, events, publisher };
}

const dims = (d: MetricDatum) => Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
const find = (datums: MetricDatum[], name: string, shardId?: string) => datums.filter((d) => d.MetricName === name && (shardId === undefined || dims(d).ShardId === shardId));

describe('aggregation', () => {
  test('points of one interval are summed per name and dimensions into StatisticValues, sent at the interval', async () => {
    const { clock, fake, events, publisher } = setup();
    events.emit('records.delivered', { shardId: 's1', count: 10, bytes: 1000, millisBehindLatest: 300, processMillis: 4 });
    events.emit('records.delivered', { shardId: 's1', count: 30, bytes: 2000, millisBehindLatest: 100, processMillis: 6 });
    events.emit('records.delivered', { shardId: 's2', count: 5, bytes: 50, millisBehindLatest: 0 });
    await clock.advance(9_999);
    assert.equal(fake.requests.length, 0, 'nothing before the buffer time');
    await clock.advance(1);
    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request!.namespace, 'my-app');
    const [s1] = find(request!.datums, 'RecordsProcessed', 's1');
    assert.deepEqual(s1!.StatisticValues, { SampleCount: 2, Sum: 40, Minimum: 10, Maximum: 30 });
    assert.equal(s1!.Unit, 'Count');
    assert.deepEqual(dims(s1!), { Operation: 'ProcessTask', ShardId: 's1' });
    assert.deepEqual(find(request!.datums, 'RecordsProcessed', 's2')[0]!.StatisticValues, { SampleCount: 1, Sum: 5, Minimum: 5, Maximum: 5 });
    assert.deepEqual(find(request!.datums, 'DataBytesProcessed', 's1')[0]!.StatisticValues, { SampleCount: 2, Sum: 3000, Minimum: 1000, Maximum: 2000 });
    assert.equal(find(request!.datums, 'DataBytesProcessed', 's1')[0]!.Unit, 'Bytes');
    assert.deepEqual(find(request!.datums, 'RecordProcessor.processRecords.Time', 's1')[0]!.StatisticValues, { SampleCount: 2, Sum: 10, Minimum: 4, Maximum: 6 });
    assert.equal(find(request!.datums, 'RecordProcessor.processRecords.Time', 's2').length, 0, 'no processRecords call, no time');
    // Per flush: the application's lag (the largest latest lag: s1's last was 100), no ShardId.
    const app = request!.datums.find((d) => d.MetricName === 'MillisBehindLatest' && dims(d).Operation === 'ApplicationTracker');
    assert.deepEqual(dims(app!), { Operation: 'ApplicationTracker' });
    assert.equal(app!.StatisticValues!.Maximum, 100);
    assert.deepEqual(request!.datums[0]!.Timestamp, clock.wallNow());
    assert.equal(publisher.stats().queued, 0);
    assert.equal(publisher.stats().sentDataPoints, request!.datums.reduce((n, d) => n + d.StatisticValues!.SampleCount!, 0));
    await publisher.stop();
  });

  test('each interval starts afresh', async () => {
    const { clock, fake, events, publisher } = setup();
    events.emit('records.delivered', { shardId: 's1', count: 10, bytes: 1, millisBehindLatest: 0 });
    await clock.advance(10_000);
    events.emit('records.delivered', { shardId: 's1', count: 7, bytes: 1, millisBehindLatest: 0 });
    await clock.advance(10_000);
    assert.deepEqual(
      fake.requests.map((r) => find(r.datums, 'RecordsProcessed', 's1')[0]!.StatisticValues!.Sum),
      [10, 7],
    );
    await publisher.stop();
  });
});

describe('levels and dimensions, end to end', () => {
  const emitSome = (events: KclEvents) => {
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 10, millisBehindLatest: 5, processMillis: 1 });
    events.emit('records.delivered', { shardId: 's2', count: 2, bytes: 20, millisBehindLatest: 7, processMillis: 1 });
    events.emit('checkpoint.written', { shardId: 's1', checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 }, millis: 3 });
    events.emit('aws.call', { service: 'dynamodb', operation: 'UpdateItem', purpose: 'renew', outcome: 'ok', millis: 4 });
    events.emit('aws.call', { service: 'kinesis', operation: 'GetRecords', shardId: 's1', outcome: 'ok', millis: 4 });
  };

  test('SUMMARY sends no DETAILED name', async () => {
    const { clock, fake, events, publisher } = setup({ level: 'SUMMARY' });
    emitSome(events);
    await clock.advance(10_000);
    const names = new Set(fake.datums().map((d) => d.MetricName));
    for (const detailed of ['UpdateLease.Success', 'UpdateLease.Time', 'RenewLease.Success', 'RenewLease.Time', 'KinesisDataFetcher.getRecords.Success', 'KinesisDataFetcher.getRecords.Time']) {
      assert.ok(!names.has(detailed), detailed);
    }
    for (const summary of ['RecordsProcessed', 'DataBytesProcessed', 'MillisBehindLatest', 'RecordProcessor.processRecords.Time', 'Success', 'Time', 'CurrentLeases', 'LostLeases']) {
      assert.ok(names.has(summary), summary);
    }
    await publisher.stop();
  });

  test('DETAILED sends both', async () => {
    const { clock, fake, events, publisher } = setup({ level: 'DETAILED' });
    emitSome(events);
    await clock.advance(10_000);
    const names = new Set(fake.datums().map((d) => d.MetricName));
    for (const name of ['UpdateLease.Success', 'RenewLease.Time', 'KinesisDataFetcher.getRecords.Time', 'RecordsProcessed', 'CurrentLeases']) assert.ok(names.has(name), name);
    await publisher.stop();
  });

  test('without ShardId the shards add up into one datum per name', async () => {
    const { clock, fake, events, publisher } = setup({ dimensions: ['Operation', 'WorkerIdentifier'] });
    emitSome(events);
    await clock.advance(10_000);
    const records = find(fake.datums(), 'RecordsProcessed');
    assert.equal(records.length, 1);
    assert.deepEqual(dims(records[0]!), { Operation: 'ProcessTask' });
    assert.deepEqual(records[0]!.StatisticValues, { SampleCount: 2, Sum: 3, Minimum: 1, Maximum: 2 });
    assert.ok(fake.datums().every((d) => dims(d).ShardId === undefined));
    assert.ok(find(fake.datums(), 'CurrentLeases').every((d) => dims(d).WorkerIdentifier === W));
    await publisher.stop();
  });
});

describe('batching within the limits', () => {
  test('2500 metrics go out as 1000 + 1000 + 500', async () => {
    const { clock, fake, events, publisher } = setup({ level: 'SUMMARY' });
    // 3 SUMMARY metrics per shard (no processRecords time) + the per-flush ones.
    for (let i = 0; i < 832; i++) events.emit('records.delivered', { shardId: `shardId-${String(i).padStart(12, '0')}`, count: 1, bytes: 1, millisBehindLatest: 1 });
    await clock.advance(10_000);
    const total = 832 * 3 + 3;
    assert.equal(total, 2499);
    assert.deepEqual(
      fake.requests.map((r) => r.datums.length),
      [1000, 1000, 499],
    );
    await publisher.stop();
  });

  test('a batch never exceeds the request size: large dimension values split it earlier', () => {
    const long = 'x'.repeat(1024); // the longest dimension value CloudWatch takes
    const datum = (i: number): MetricDatum => ({
      MetricName: 'RecordsProcessed',
      Dimensions: [
        { Name: 'Operation', Value: 'ProcessTask' },
        { Name: 'ShardId', Value: `${long}-${i}` },
        { Name: 'WorkerIdentifier', Value: long },
      ],
      Unit: 'Count',
      Timestamp: new Date(),
      StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 },
    });
    const queue = Array.from({ length: 1500 }, (_, i) => datum(i));
    const perDatum = datumBytes(queue[0]!);
    const batches: MetricDatum[][] = [];
    while (queue.length > 0) batches.push(takeBatch(queue, 'my-app'));
    assert.ok(batches.length >= 3, `split by size (${batches.map((b) => b.length).join(', ')})`);
    for (const batch of batches) {
      const body = JSON.stringify({ Namespace: 'my-app', MetricData: batch.map((d) => ({ ...d, Timestamp: d.Timestamp!.getTime() / 1000 })) });
      assert.ok(Buffer.byteLength(body) <= CLOUDWATCH_LIMITS.requestBytes, `${Buffer.byteLength(body)} bytes`);
      assert.ok(batch.length <= CLOUDWATCH_LIMITS.datumsPerRequest);
    }
    assert.equal(batches.reduce((n, b) => n + b.length, 0), 1500);
    assert.ok(perDatum > 2000);
  });
});

describe('a slow or failing CloudWatch', () => {
  test('a sink that never answers: the queue stays within metricsMaxQueueSize, the rest is dropped and counted, warned once', async () => {
    const { clock, fake, events, publisher, logger } = setup({ maxQueueSize: 50, bufferTimeMillis: 1_000 });
    fake.mode = 'hang';
    let emitted = 0;
    for (let interval = 0; interval < 20; interval++) {
      for (let i = 0; i < 10; i++) {
        events.emit('records.delivered', { shardId: `s${i}`, count: 1, bytes: 1, millisBehindLatest: 1 });
        emitted += 3;
      }
      assert.ok(publisher.stats().queued <= 50, `queued ${publisher.stats().queued}`);
      await clock.advance(1_000);
    }
    assert.equal(fake.requests.length, 1, 'one request in flight, no more');
    const stats = publisher.stats();
    assert.ok(stats.queued <= 50);
    assert.ok(stats.droppedDataPoints > emitted / 2, `dropped ${stats.droppedDataPoints} of ${emitted}`);
    assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1, 'one warning per outage');
    // The shutdown gives up on it within its bound.
    const stopped = publisher.stop();
    await clock.advance(2_000);
    await stopped;
    assert.equal(publisher.stats().queued, 0);
  });

  test('a failing sink: retried by the policy, then the batch is dropped; one batch per interval while it fails; recovery is said', async () => {
    const { clock, fake, events, publisher, logger } = setup({ bufferTimeMillis: 1_000 });
    fake.mode = 'fail';
    events.emit('records.delivered', { shardId: 's1', count: 4, bytes: 1, millisBehindLatest: 1 });
    await clock.advance(1_000);
    await clock.advance(500); // the retry waits: 150 + 300 ms (RETRY.metrics, half jitter)
    assert.equal(fake.requests.length, 3, 'three attempts (RETRY.metrics)');
    const afterFirst = publisher.stats();
    assert.equal(afterFirst.requestsFailed, 1);
    assert.ok(afterFirst.droppedDataPoints >= 4);
    await clock.advance(1_000);
    assert.equal(fake.requests.length, 6, 'the next interval: one batch, three attempts');
    fake.mode = 'ok';
    events.emit('records.delivered', { shardId: 's1', count: 2, bytes: 1, millisBehindLatest: 1 });
    await clock.advance(1_000);
    const last = fake.requests.at(-1)!;
    assert.equal(find(last.datums, 'RecordsProcessed', 's1')[0]!.StatisticValues!.Sum, 2);
    assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1, 'warned once for the outage');
    assert.ok(logger.lines.some((l) => l.level === 'info' && /sent again/.test(l.msg)));
    await publisher.stop();
  });

  test('a full queue still merges points into the data it already holds', async () => {
    const { clock, events, publisher, fake } = setup({ maxQueueSize: 3, bufferTimeMillis: 1_000 });
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 }); // 3 slots
    events.emit('records.delivered', { shardId: 's2', count: 1, bytes: 1, millisBehindLatest: 1 }); // no slot: 3 dropped
    events.emit('records.delivered', { shardId: 's1', count: 5, bytes: 1, millisBehindLatest: 1 }); // merged
    assert.equal(publisher.stats().droppedDataPoints, 3);
    await clock.advance(1_000);
    assert.equal(find(fake.datums(), 'RecordsProcessed', 's1')[0]!.StatisticValues!.Sum, 6);
    assert.equal(find(fake.datums(), 'RecordsProcessed', 's2').length, 0);
    await publisher.stop();
  });
});

describe('shutdown', () => {
  test('the final flush sends what the interval holds, without waiting for the interval', async () => {
    const { fake, events, publisher } = setup();
    events.emit('records.delivered', { shardId: 's1', count: 9, bytes: 1, millisBehindLatest: 1 });
    events.emit('lease.acquired', { leaseKey: 's1', workerId: W });
    events.emit('lease.released', { leaseKey: 's1', workerId: W });
    await publisher.stop();
    assert.equal(find(fake.datums(), 'RecordsProcessed', 's1')[0]!.StatisticValues!.Sum, 9);
    assert.equal(find(fake.datums(), 'CurrentLeases')[0]!.StatisticValues!.Sum, 0, 'the release is in');
    // After stop nothing is recorded any more.
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 });
    assert.equal(publisher.stats().queued, 0);
  });

  test('a publisher that never started sends nothing at stop', async () => {
    const { fake, events, publisher } = setup({}, { start: false });
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 });
    await publisher.stop();
    assert.equal(fake.requests.length, 0);
  });

  test('while CloudWatch is failing the final flush tries nothing: the rest is counted as dropped', async () => {
    const { clock, fake, events, publisher } = setup({ bufferTimeMillis: 1_000 });
    fake.mode = 'fail';
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 });
    await clock.advance(1_000);
    await clock.advance(500);
    const requests = fake.requests.length;
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 });
    const dropped = publisher.stats().droppedDataPoints;
    await publisher.stop();
    assert.equal(fake.requests.length, requests, 'no new attempt');
    assert.ok(publisher.stats().droppedDataPoints > dropped);
    assert.equal(publisher.stats().queued, 0);
  });

  test('a request in flight that answers within the bound is awaited, and what follows it is sent', async () => {
    const { clock, fake, events, publisher } = setup({ bufferTimeMillis: 1_000 });
    fake.mode = 'hang';
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 1 });
    await clock.advance(1_000);
    assert.equal(fake.requests.length, 1);
    events.emit('records.delivered', { shardId: 's1', count: 2, bytes: 1, millisBehindLatest: 1 });
    const stopped = publisher.stop();
    await flushMicrotasks();
    fake.mode = 'ok';
    fake.releaseAll();
    await stopped;
    assert.equal(fake.requests.length, 2);
    assert.equal(find(fake.requests[1]!.datums, 'RecordsProcessed', 's1')[0]!.StatisticValues!.Sum, 2);
    assert.equal(publisher.stats().droppedDataPoints, 0);
  });
});
