/**
 * The Prometheus mapping (src/metrics/prometheus.ts): events in, the registry's text out. The names and labels
 * are a contract, so the tests read them from the exposition text as a scraper would.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { KclEvents } from '../../src/common/events.js';
import { ShutdownException } from '../../src/common/errors.js';
import { AwsCallError } from '../../src/aws/errors.js';
import { attachPrometheusMetrics, scrapeRegistry } from '../../src/metrics/prometheus.js';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { promSamples } from '../helpers/prometheus.js';

function setUp(registry = new Registry(), workerId = 'w1') {
  const events = new KclEvents((err) => {
    throw err;
  });
  const detach = attachPrometheusMetrics(events.readOnly(), { registry, stream: 'words', workerId });
  return { events, registry, detach };
}

/** The samples of one metric in the registry's text, by label set. */
async function samples(registry: Registry, name: string): Promise<Record<string, number>> {
  return promSamples(await registry.metrics(), name);
}

const cp = extendedSequenceNumber('49590338271490256608559692538361571095921575989136588802');

describe('Prometheus metrics from events', () => {
  test('records and bytes per stream and shard; the lag gauge per shard; processRecords durations', async () => {
    const { events, registry } = setUp();
    events.emit('lease.acquired', { leaseKey: 'shardId-000000000000', workerId: 'w1' });
    events.emit('records.delivered', { shardId: 'shardId-000000000000', count: 3, bytes: 30, millisBehindLatest: 1200, processMillis: 4 });
    events.emit('records.delivered', { shardId: 'shardId-000000000000', count: 2, bytes: 25, millisBehindLatest: 700, processMillis: 40 });
    events.emit('records.delivered', { shardId: 'shardId-000000000001', count: 0, bytes: 0, millisBehindLatest: 0 });
    assert.deepEqual(await samples(registry, 'kcl_records_processed_total'), {
      '{stream="words",shard_id="shardId-000000000000"}': 5,
      '{stream="words",shard_id="shardId-000000000001"}': 0,
    });
    assert.deepEqual(await samples(registry, 'kcl_bytes_processed_total'), {
      '{stream="words",shard_id="shardId-000000000000"}': 55,
      '{stream="words",shard_id="shardId-000000000001"}': 0,
    });
    assert.deepEqual(await samples(registry, 'kcl_millis_behind_latest'), {
      '{stream="words",shard_id="shardId-000000000000"}': 700,
      '{stream="words",shard_id="shardId-000000000001"}': 0,
    });
    // An empty poll (processMillis absent) did not call the processor: two observations.
    assert.equal((await samples(registry, 'kcl_process_records_duration_seconds_count'))[''], 2);
    assert.ok(Math.abs((await samples(registry, 'kcl_process_records_duration_seconds_sum'))['']! - 0.044) < 1e-9);
    assert.equal((await samples(registry, 'kcl_process_records_duration_seconds_bucket'))['{le="0.005"}'], 1);
  });

  test('leases held by this worker; lease events taken, stolen, lost, released, handed_off; the lag series leaves with the lease', async () => {
    const { events, registry } = setUp();
    const held = async () => (await samples(registry, 'kcl_leases_held'))['{worker_id="w1"}'];
    assert.equal(await held(), 0, 'present from the start');
    events.emit('leases.scanned', { workerId: 'w1', leases: [], workers: ['w1', 'w2'], wanted: 0, moved: 0, scanMillis: 3 });
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' }); // nobody had it: taken
    events.emit('lease.acquired', { leaseKey: 's1', workerId: 'w1', stolenFrom: 'w2' }); // w2 is alive: stolen
    events.emit('lease.acquired', { leaseKey: 's2', workerId: 'w1', stolenFrom: 'w9' }); // w9's expired lease: taken
    events.emit('lease.acquired', { leaseKey: 's3', workerId: 'w1' });
    events.emit('records.delivered', { shardId: 's1', count: 1, bytes: 1, millisBehindLatest: 5 });
    events.emit('records.delivered', { shardId: 's2', count: 1, bytes: 1, millisBehindLatest: 6 });
    events.emit('records.delivered', { shardId: 's3', count: 1, bytes: 1, millisBehindLatest: 7 });
    assert.equal(await held(), 4);
    events.emit('lease.lost', { leaseKey: 's1', workerId: 'w1', reason: 'taken' });
    events.emit('lease.released', { leaseKey: 's2', workerId: 'w1' });
    events.emit('lease.released', { leaseKey: 's3', workerId: 'w1', to: 'w2' });
    assert.equal(await held(), 1);
    assert.deepEqual(await samples(registry, 'kcl_lease_events_total'), {
      '{event="taken"}': 3,
      '{event="stolen"}': 1,
      '{event="lost"}': 1,
      '{event="released"}': 1,
      '{event="handed_off"}': 1,
    });
    assert.deepEqual(await samples(registry, 'kcl_millis_behind_latest'), {}, 'no series for shards that are no longer ours');
    assert.equal((await samples(registry, 'kcl_records_processed_total'))['{stream="words",shard_id="s1"}'], 1, 'counters stay');
  });

  test('checkpoints by outcome, AWS requests by service, operation and outcome with durations', async () => {
    const { events, registry } = setUp();
    events.emit('checkpoint.written', { shardId: 's0', checkpoint: cp, millis: 5 });
    events.emit('checkpoint.written', { shardId: 's0', checkpoint: cp, millis: 5 });
    events.emit('checkpoint.failed', { shardId: 's0', checkpoint: cp, error: new ShutdownException('lease lost'), millis: 3 });
    events.emit('checkpoint.failed', { shardId: 's0', checkpoint: cp, error: new AwsCallError('throttled', 'throttled'), millis: 3 });
    assert.deepEqual(await samples(registry, 'kcl_checkpoints_total'), { '{outcome="ok"}': 2, '{outcome="lease-lost"}': 1, '{outcome="throttled"}': 1 });

    events.emit('aws.call', { service: 'kinesis', operation: 'GetRecords', outcome: 'ok', millis: 20 });
    events.emit('aws.call', { service: 'kinesis', operation: 'GetRecords', outcome: 'ok', millis: 30 });
    events.emit('aws.call', { service: 'kinesis', operation: 'GetRecords', outcome: 'expired-iterator', millis: 2 });
    events.emit('aws.call', { service: 'dynamodb', operation: 'UpdateItem', purpose: 'renew', outcome: 'ok', millis: 7 });
    assert.deepEqual(await samples(registry, 'kcl_aws_requests_total'), {
      '{service="kinesis",operation="GetRecords",outcome="ok"}': 2,
      '{service="kinesis",operation="GetRecords",outcome="expired-iterator"}': 1,
      '{service="dynamodb",operation="UpdateItem",outcome="ok"}': 1,
    });
    const counts = await samples(registry, 'kcl_aws_request_duration_seconds_count');
    assert.equal(counts['{service="kinesis",operation="GetRecords",outcome="ok"}'], 2);
    const sums = await samples(registry, 'kcl_aws_request_duration_seconds_sum');
    assert.ok(Math.abs(sums['{service="kinesis",operation="GetRecords",outcome="ok"}']! - 0.05) < 1e-9);
  });

  test('two workers share a user registry; detaching stops the updates; the served text adds the process metrics once', async () => {
    const registry = new Registry();
    const a = setUp(registry, 'wa');
    const b = setUp(registry, 'wb');
    a.events.emit('lease.acquired', { leaseKey: 's0', workerId: 'wa' });
    b.events.emit('lease.acquired', { leaseKey: 's1', workerId: 'wb' });
    b.events.emit('lease.acquired', { leaseKey: 's2', workerId: 'wb' });
    assert.deepEqual(await samples(registry, 'kcl_leases_held'), { '{worker_id="wa"}': 1, '{worker_id="wb"}': 2 });
    a.detach();
    a.events.emit('records.delivered', { shardId: 's0', count: 9, bytes: 9, millisBehindLatest: 0 });
    b.events.emit('records.delivered', { shardId: 's1', count: 4, bytes: 4, millisBehindLatest: 0 });
    assert.deepEqual(await samples(registry, 'kcl_records_processed_total'), { '{stream="words",shard_id="s1"}': 4 });

    const served = await scrapeRegistry(registry).metrics();
    assert.match(served, /^# TYPE process_cpu_user_seconds_total counter$/m);
    assert.match(served, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    assert.match(served, /^kcl_records_processed_total\{stream="words",shard_id="s1"\} 4$/m);
    assert.equal(served.match(/^# TYPE process_cpu_user_seconds_total/gm)?.length, 1);
    // A registry with the process metrics already (the user collected them) is served as it is.
    const own = new Registry();
    const { collectDefaultMetrics } = await import('prom-client');
    collectDefaultMetrics({ register: own });
    assert.equal(scrapeRegistry(own), own);
  });

  test('every name and label of the contract is present with its type', async () => {
    const { events, registry } = setUp();
    events.emit('records.delivered', { shardId: 's0', count: 1, bytes: 1, millisBehindLatest: 0, processMillis: 1 });
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    events.emit('checkpoint.written', { shardId: 's0', checkpoint: cp, millis: 1 });
    events.emit('aws.call', { service: 'kinesis', operation: 'GetRecords', outcome: 'ok', millis: 1 });
    const text = await registry.metrics();
    for (const [name, type] of [
      ['kcl_records_processed_total', 'counter'],
      ['kcl_bytes_processed_total', 'counter'],
      ['kcl_millis_behind_latest', 'gauge'],
      ['kcl_leases_held', 'gauge'],
      ['kcl_lease_events_total', 'counter'],
      ['kcl_checkpoints_total', 'counter'],
      ['kcl_process_records_duration_seconds', 'histogram'],
      ['kcl_aws_requests_total', 'counter'],
      ['kcl_aws_request_duration_seconds', 'histogram'],
    ] as const) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    }
  });
});
