/**
 * Workers reading with enhanced fan-out (SubscribeToShard) against kinesis-local, end to end: every record
 * once and in order, checkpoints that a restart resumes from, subscriptions that the service ends or fails
 * resumed without a gap or a duplicate, shard end from AWS's ChildShards event (injected at the network edge by
 * the event-stream proxy, since kinesis-local never sends it) and from a quiet closed shard (kinesis-local
 * alone), and the consumer registration a deployment relies on.
 *
 * kinesis-local delivers one event per second per shard and frees a shard only ~3 s after a subscription to it
 * was cut: the tests run concurrently, each on a stream and an application of its own.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  ListStreamConsumersCommand,
  MergeShardsCommand,
  RegisterStreamConsumerCommand,
  SplitShardCommand,
  type ChildShard,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords, parseProducedRecord } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import type { KclConfigInput } from '../../src/config/config.js';
import { Recorder, type Delivery } from '../helpers/recording-processor.js';
import { EventLog } from '../helpers/delivery-log.js';
import { startEventStreamProxy, type EventStreamProxy, type ProxiedSubscription, type RecordedStartingPosition } from '../helpers/event-stream-proxy.js';
import { FaultInjectingHandler, faultyKinesisClient } from '../helpers/fault-handler.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig, type TestEnv } from '../helpers/env.js';

import { KINESIS_PROTOCOLS } from '../../src/config/fields.js';

const env = testEnv();
after(() => env?.close());

const SHARD0 = 'shardId-000000000000';

/**
 * Fan-out, said explicitly (workerConfig sets a polling key, which alone would mean polling); a short failover
 * so a graceful shutdown does not hold on to its leases for long.
 */
function fanoutConfig(e: TestEnv, stream: string, app: string, extra: Partial<KclConfigInput> = {}): KclConfigInput {
  return workerConfig(e, stream, app, { retrievalMode: 'FANOUT', failoverTimeMillis: 3_000, parentShardPollIntervalMillis: 200, ...extra });
}

/** A worker with a recorder and a log of its subscriptions and AWS calls. */
function fanoutWorker(config: KclConfigInput, kinesis?: KinesisClient) {
  const recorder = new Recorder();
  const worker = new Worker({ config, processorFactory: recorder.factory, logger: silentLogger, kinesis });
  const log = new EventLog(worker.events, ['subscription.started', 'subscription.ended', 'aws.call']);
  const calls = (operation: string) => log.of('aws.call').filter((c) => c.event.operation === operation);
  return { worker, recorder, log, calls };
}

type FanOutWorker = ReturnType<typeof fanoutWorker>;

/** Starts the worker, waits for `count` deliveries and shuts it down gracefully (also when the wait fails). */
async function consume(w: FanOutWorker, count: number): Promise<void> {
  try {
    await w.worker.start();
    await waitFor(`${count} records`, () => w.recorder.deliveries.length >= count);
  } finally {
    await w.worker.shutdown();
  }
}

async function waitActive(e: TestEnv, stream: string): Promise<void> {
  await waitFor('stream ACTIVE', async () => (await e.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
}

async function streamArn(e: TestEnv, stream: string): Promise<string> {
  const arn = (await e.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamARN;
  assert.ok(arn, 'the stream has an ARN');
  return arn;
}

async function consumerNames(e: TestEnv, streamARN: string): Promise<(string | undefined)[]> {
  return ((await e.kinesis.send(new ListStreamConsumersCommand({ StreamARN: streamARN }))).Consumers ?? []).map((c) => c.ConsumerName);
}

/**
 * Every record of `runs` (producer run ids, in the order they were written) delivered exactly once, and each
 * key's records in the order they were written, across runs and across parent and child shards.
 */
function assertOnceInOrder(deliveries: readonly Delivery[], runs: readonly string[], expected: number): void {
  const bodies = deliveries.map((d) => parseProducedRecord(d.record.data));
  assert.equal(new Set(bodies.map((b) => b.id)).size, expected, 'every record delivered');
  assert.equal(bodies.length, expected, 'none delivered twice');
  const last = new Map<string, { run: number; seq: number }>();
  for (const b of bodies) {
    const run = runs.indexOf(b.id.slice(0, b.id.lastIndexOf('-')));
    assert.ok(run >= 0, `record ${b.id} is of this test`);
    const prev = last.get(b.pk);
    const inOrder = prev ? run > prev.run || (run === prev.run && b.seq === prev.seq + 1) : b.seq === 0;
    assert.ok(inOrder, `key ${b.pk}: run ${run} seq ${b.seq} after ${prev ? `run ${prev.run} seq ${prev.seq}` : 'nothing'}`);
    last.set(b.pk, { run, seq: b.seq });
  }
}

/** Sequence numbers increase within each shard; returns each shard's last delivered record. */
function assertShardOrder(deliveries: readonly Delivery[]): Map<string, string> {
  const lastPerShard = new Map<string, string>();
  for (const { shardId, record } of deliveries) {
    const prev = lastPerShard.get(shardId);
    assert.ok(prev === undefined || BigInt(record.sequenceNumber) > BigInt(prev), `${shardId}: ${record.sequenceNumber} after ${prev}`);
    lastPerShard.set(shardId, record.sequenceNumber);
  }
  return lastPerShard;
}

/**
 * Each subscription of the shard starts where the last one that relayed an event left off: just after its last
 * ContinuationSequenceNumber (the first from `initial`). A subscription refused while the shard was still busy
 * relayed nothing and leaves the position as it was.
 */
function assertNoGap(subscriptions: readonly ProxiedSubscription[], initial: RecordedStartingPosition): void {
  let expected = initial;
  for (const s of subscriptions) {
    assert.deepEqual(s.startingPosition, expected, `subscription #${s.index} (after ${JSON.stringify(expected)})`);
    if (s.lastContinuationSequenceNumber) expected = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: s.lastContinuationSequenceNumber };
  }
}

describe('enhanced fan-out, worker end to end', { skip: env ? false : SKIP_REASON, concurrency: true }, () => {
  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`a 4-shard stream: every record once, in order per shard and key, checkpointed; a restart resumes after the checkpoint (kinesisProtocol ${kinesisProtocol})`, { timeout: 60_000 }, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'efo4', 4);
      const app = uniqueName('app');
      const runs = [(await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 200, partitionKeys: 16 })).runId];

      const first = fanoutWorker(fanoutConfig(e, stream, app, { kinesisProtocol }));
      await consume(first, 200);
      assertOnceInOrder(first.recorder.deliveries, runs, 200);
      const lastPerShard = assertShardOrder(first.recorder.deliveries);
      assert.equal(lastPerShard.size, 4, 'all four shards delivered');
      const started = first.log.of('subscription.started').map((s) => s.event);
      assert.deepEqual(new Set(started.map((s) => s.shardId)), new Set(lastPerShard.keys()), 'every shard was read through a subscription');
      assert.ok(started.every((s) => s.startingPosition.type === 'TRIM_HORIZON'), 'from the initial position');
      assert.deepEqual([...first.calls('GetRecords'), ...first.calls('GetShardIterator')], [], 'nothing read by polling');

      const leases = await new LeaseTable(e.dynamodb, app, systemClock).listLeases();
      assert.equal(leases.length, 4);
      for (const lease of leases) {
        assert.equal(lease.checkpoint.sequenceNumber, lastPerShard.get(lease.leaseKey), `${lease.leaseKey} checkpointed at its last record`);
        assert.equal(lease.leaseOwner, undefined, `${lease.leaseKey} released`);
      }

      runs.push((await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 100, partitionKeys: 16 })).runId);
      const second = fanoutWorker(fanoutConfig(e, stream, app, { kinesisProtocol }));
      await consume(second, 100);
      assertOnceInOrder(second.recorder.deliveries, runs.slice(1), 100);
      for (const lease of leases) {
        const firstSubscription = second.log.of('subscription.started').find((s) => s.event.shardId === lease.leaseKey);
        // At the checkpoint, not after it: a checkpoint inside a KPL aggregate re-reads the aggregate; the
        // checkpointed record itself is not delivered again (asserted above).
        assert.deepEqual(firstSubscription?.event.startingPosition, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: lastPerShard.get(lease.leaseKey), timestamp: undefined });
      }
    });
  }

  /**
   * One shard read through the proxy while a producer writes 10 records a second, twice 40; during each run
   * `disturb` cuts the open subscription once it relays records. Every record must arrive exactly once, each
   * subscription starting just after the previous one's last event.
   */
  async function resumedAfter(disturb: (proxy: EventStreamProxy) => number) {
    const e = env!;
    const stream = await createTestStream(e, 'efocut', 1);
    const proxy = await startEventStreamProxy(e.kinesisEndpoint);
    const w = fanoutWorker(fanoutConfig(e, stream, uniqueName('app'), { kinesisEndpoint: proxy.endpoint }));
    const runs: string[] = [];
    try {
      await w.worker.start();
      for (let cut = 0; cut < 2; cut++) {
        const producing = produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 4, ratePerSecond: 10 });
        // The subscription cut before is over, so this is one that started after it.
        await waitFor(`an open subscription relaying records (cut ${cut})`, () => proxy.subscriptions.some((s) => s.ended === undefined && s.flow.records > 0));
        assert.equal(disturb(proxy), 1, 'one open subscription cut');
        runs.push((await producing).runId);
      }
      await waitFor('80 records', () => w.recorder.deliveries.length >= 80);
      await w.worker.shutdown();
      assertOnceInOrder(w.recorder.deliveries, runs, 80);
      assertNoGap(proxy.subscriptions, { Type: 'TRIM_HORIZON' });
      return { proxy, w };
    } finally {
      await w.worker.shutdown();
      await proxy.close();
    }
  }

  test('a subscription the service ends is resumed from its last event: no gap, no duplicate', { timeout: 60_000 }, async () => {
    const { proxy, w } = await resumedAfter((p) => p.endSubscriptions());
    assert.equal(proxy.subscriptions.filter((s) => s.ended?.how === 'ended-by-test').length, 2);
    const outcomes = w.log.of('subscription.ended').map((s) => s.event.outcome);
    assert.equal(outcomes.filter((o) => o === 'completed').length, 2, `ended twice by the service, then resumed (${outcomes.join(', ')})`);
    assert.deepEqual(w.calls('GetRecords'), []);
  });

  test('a subscription failing mid-stream (InternalFailureException) is resumed from where it was: nothing lost or repeated', { timeout: 60_000 }, async () => {
    const { proxy, w } = await resumedAfter((p) => p.failSubscription(SHARD0, 'InternalFailureException'));
    assert.equal(proxy.subscriptions.filter((s) => s.ended?.how === 'failed' && s.ended.from === 'test').length, 2);
    const failures = w.log.of('subscription.ended').filter((s) => s.event.outcome === 'failed' && s.event.error?.message.includes('InternalFailureException'));
    assert.equal(failures.length, 2, 'each failure reported on the subscription that carried it');
  });

  test("AWS's shard-end event ends a split parent: SHARD_END checkpoint, children read, per-key order kept, no GetRecords", { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'efoend', 1);
    const app = uniqueName('app');
    const proxy = await startEventStreamProxy(e.kinesisEndpoint);
    // No shard sync after the first: only the event can tell the worker that the parent has ended.
    const w = fanoutWorker(fanoutConfig(e, stream, app, { kinesisEndpoint: proxy.endpoint, shardSyncIntervalMillis: 600_000 }));
    const runs: string[] = [];
    try {
      await w.worker.start();
      runs.push((await produceRecords(e.kinesis, { stream, count: 30, partitionKeys: 8 })).runId);
      await waitFor('30 records from the parent', () => w.recorder.deliveries.length >= 30);
      await e.kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: SHARD0, NewStartingHashKey: (2n ** 127n).toString() }));
      await waitActive(e, stream);
      const listed = (await e.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
      const children: ChildShard[] = listed
        .filter((s) => s.ParentShardId === SHARD0)
        .map((s) => ({ ShardId: s.ShardId, ParentShards: [SHARD0], HashKeyRange: s.HashKeyRange }));
      assert.equal(children.length, 2);
      const carried = proxy.endShard(SHARD0, children);
      runs.push((await produceRecords(e.kinesis, { stream, count: 30, partitionKeys: 8 })).runId);
      await waitFor('60 records', () => w.recorder.deliveries.length >= 60);
      assert.deepEqual((await carried).ended, { how: 'shard-end' });
    } finally {
      await w.worker.shutdown();
      await proxy.close();
    }
    assertOnceInOrder(w.recorder.deliveries, runs, 60);
    assert.equal(w.recorder.callsFor(SHARD0).at(-1), 'shardEnded');
    const childIds = new Set(w.recorder.deliveries.filter((d) => d.shardId !== SHARD0).map((d) => d.shardId));
    assert.equal(childIds.size, 2, 'both children read');
    assert.ok(w.log.of('subscription.ended').some((s) => s.event.shardId === SHARD0 && s.event.outcome === 'shard-end'));
    const leases = new Map((await new LeaseTable(e.dynamodb, app, systemClock).listLeases()).map((l) => [l.leaseKey, l]));
    assert.equal(leases.get(SHARD0)?.checkpoint.sequenceNumber, 'SHARD_END');
    for (const child of childIds) assert.deepEqual([...(leases.get(child)?.parentShardIds ?? [])], [SHARD0]);
    assert.deepEqual(w.calls('GetRecords'), [], 'the end came from the event, not from a GetRecords');
  });

  test('split then merge against kinesis-local alone: quiet closed parents end with SHARD_END, nothing lost or repeated, per-key order kept', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'efosplit', 1);
    const app = uniqueName('app');
    const w = fanoutWorker(fanoutConfig(e, stream, app, { shardSyncIntervalMillis: 1_000, cleanupLeasesUponShardCompletion: false }));
    const runs: string[] = [];
    const produce = async () => runs.push((await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 8 })).runId);
    try {
      await w.worker.start();
      await produce();
      await e.kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: SHARD0, NewStartingHashKey: (2n ** 127n).toString() }));
      await waitActive(e, stream);
      await produce();
      await e.kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }));
      await waitActive(e, stream);
      await produce();
      await waitFor('120 records', () => w.recorder.deliveries.length >= 120, 50_000);
    } finally {
      await w.worker.shutdown();
    }
    assertOnceInOrder(w.recorder.deliveries, runs, 120);
    assert.deepEqual(new Set(w.recorder.deliveries.map((d) => d.shardId)), new Set([SHARD0, 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']));
    const leases = new Map((await new LeaseTable(e.dynamodb, app, systemClock).listLeases()).map((l) => [l.leaseKey, l]));
    for (const parent of [SHARD0, 'shardId-000000000001', 'shardId-000000000002']) {
      assert.equal(leases.get(parent)?.checkpoint.sequenceNumber, 'SHARD_END', `${parent} finished`);
      assert.equal(w.recorder.callsFor(parent).at(-1), 'shardEnded');
    }
    assert.deepEqual([...(leases.get('shardId-000000000003')?.parentShardIds ?? [])].sort(), ['shardId-000000000001', 'shardId-000000000002']);
    const started = new Set(w.log.of('subscription.started').map((s) => s.event.shardId));
    assert.equal(started.size, 4, 'every shard read through a subscription');
    // One GetRecords per closed parent confirms its end; polling would have made one every read.
    const getRecords = w.calls('GetRecords').length;
    assert.ok(getRecords >= 3 && getRecords <= 6, `${getRecords} GetRecords calls`);
  });

  test('registration: a consumer named after the application is registered; another application reuses it by consumerName', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'eforeg', 1);
    const arn = await streamArn(e, stream);
    const app = uniqueName('app');
    const owner = fanoutWorker(fanoutConfig(e, stream, app));
    await consume(owner, 0);
    const registered = (await e.kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: arn, ConsumerName: app }))).ConsumerDescription;
    assert.equal(registered?.ConsumerStatus, 'ACTIVE');
    assert.equal(owner.calls('RegisterStreamConsumer').length, 1);

    const { runId } = await produceRecords(e.kinesis, { stream, count: 10 });
    const other = fanoutWorker(fanoutConfig(e, stream, uniqueName('other'), { consumerName: app }));
    await consume(other, 10);
    assertOnceInOrder(other.recorder.deliveries, [runId], 10);
    assert.deepEqual(other.calls('RegisterStreamConsumer'), [], 'nothing registered');
    assert.deepEqual(await consumerNames(e, arn), [app], 'one consumer on the stream');
  });

  test('registration: with consumerArn set the consumer is used as configured, nothing looked up by name or registered', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'efoarn', 1);
    const arn = await streamArn(e, stream);
    const given = uniqueName('given');
    const consumerArn = (await e.kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: given }))).Consumer?.ConsumerARN;
    assert.ok(consumerArn);
    const { runId } = await produceRecords(e.kinesis, { stream, count: 10 });
    const w = fanoutWorker(fanoutConfig(e, stream, uniqueName('app'), { consumerArn }));
    await consume(w, 10);
    assertOnceInOrder(w.recorder.deliveries, [runId], 10);
    assert.deepEqual([...w.calls('DescribeStreamSummary'), ...w.calls('RegisterStreamConsumer')], []);
    assert.deepEqual(await consumerNames(e, arn), [given], 'no consumer of its own registered');
  });

  test('registration denied (AccessDeniedException on RegisterStreamConsumer): start() rejects naming the consumer, the stream and the permissions', { timeout: 30_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'efodeny', 1);
    const app = uniqueName('app');
    const handler = new FaultInjectingHandler((operation) => (operation === 'RegisterStreamConsumer' ? 'AccessDeniedException' : undefined));
    const kinesis = faultyKinesisClient(e.kinesisEndpoint, handler);
    const w = fanoutWorker(fanoutConfig(e, stream, app), kinesis);
    try {
      await assert.rejects(w.worker.start(), (err: Error) => {
        assert.match(err.message, new RegExp(`consumer "${app}"`));
        assert.match(err.message, new RegExp(`stream "${stream}"`));
        assert.match(err.message, /kinesis:RegisterStreamConsumer/);
        assert.match(err.message, /kinesis:SubscribeToShard/);
        return true;
      });
      assert.equal(w.worker.state, 'stopped');
      assert.deepEqual(handler.injected, [{ operation: 'RegisterStreamConsumer', error: 'AccessDeniedException' }], 'not retried');
    } finally {
      await w.worker.shutdown();
      kinesis.destroy();
    }
  });
});
