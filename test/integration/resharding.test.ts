/**
 * Consuming while the stream is resharded (split, then merge of the two children) against kinesis-local,
 * which returns ChildShards at shard end: every record arrives once, and every key's records arrive in the
 * order they were written across parent → child (children start only after their parents checkpointed
 * SHARD_END; a merge child waits for both parents).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeStreamSummaryCommand, MergeShardsCommand, SplitShardCommand, UpdateShardCountCommand } from '@aws-sdk/client-kinesis';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords, parseProducedRecord } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';

import { KINESIS_PROTOCOLS } from '../../src/config/fields.js';

const env = testEnv();
after(() => env?.close());

async function waitActive(stream: string): Promise<void> {
  await waitFor('stream ACTIVE', async () => (await env!.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
}

describe('resharding while consuming', { skip: env ? false : SKIP_REASON }, () => {
  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`split then merge: nothing lost, nothing twice, per-key order kept across parent and children (kinesisProtocol ${kinesisProtocol})`, { timeout: 120_000 }, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'reshard', 1);
      const app = uniqueName('app');
      const recorder = new Recorder();
      const worker = new Worker({
        config: workerConfig(e, stream, app, { maxRecords: 25, parentShardPollIntervalMillis: 200, shardSyncIntervalMillis: 2_000, cleanupLeasesUponShardCompletion: false, kinesisProtocol }),
        processorFactory: recorder.factory,
        logger: silentLogger,
      });
      await worker.start();
      const runs: string[] = [];
      const produce = async (count: number) => runs.push((await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count, partitionKeys: 16 })).runId);
      try {
        await produce(150);
        await e.kinesisFor(kinesisProtocol).send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
        await waitActive(stream);
        await produce(150);
        await e.kinesisFor(kinesisProtocol).send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }));
        await waitActive(stream);
        await produce(150);
        await waitFor('450 records', () => recorder.deliveries.length >= 450, 90_000);
      } finally {
        await worker.shutdown();
      }

      const bodies = recorder.deliveries.map((d) => ({ shard: d.shardId, ...parseProducedRecord(d.record.data) }));
      assert.equal(new Set(bodies.map((b) => b.id)).size, 450, 'every record once');
      assert.equal(bodies.length, 450, 'no duplicates');
      // Per key: runs in the order they were written, and within a run seq 0, 1, 2, ...
      const lastByKey = new Map<string, { run: number; seq: number }>();
      for (const b of bodies) {
        const run = runs.indexOf(b.id.slice(0, b.id.lastIndexOf('-')));
        const prev = lastByKey.get(b.pk);
        if (prev) {
          assert.ok(run > prev.run || (run === prev.run && b.seq === prev.seq + 1), `key ${b.pk}: run ${run} seq ${b.seq} after run ${prev.run} seq ${prev.seq}`);
        } else {
          assert.equal(b.seq, 0, `key ${b.pk} starts at its first record`);
        }
        lastByKey.set(b.pk, { run, seq: b.seq });
      }
      assert.deepEqual(new Set(bodies.map((b) => b.shard)), new Set(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']));

      const leases = new Map((await new LeaseTable(e.dynamodb, app, systemClock).listLeases()).map((l) => [l.leaseKey, l]));
      assert.equal(leases.get('shardId-000000000000')?.checkpoint.sequenceNumber, 'SHARD_END');
      assert.deepEqual([...(leases.get('shardId-000000000001')?.parentShardIds ?? [])], ['shardId-000000000000']);
      assert.deepEqual([...(leases.get('shardId-000000000003')?.parentShardIds ?? [])].sort(), ['shardId-000000000001', 'shardId-000000000002']);
      for (const parent of ['shardId-000000000001', 'shardId-000000000002']) {
        assert.equal(leases.get(parent)?.checkpoint.sequenceNumber, 'SHARD_END', `${parent} finished`);
        const lastOfParent = recorder.calls.filter((c) => c.shardId === parent).map((c) => c.call).at(-1);
        assert.equal(lastOfParent, 'shardEnded');
      }
      const firstMerged = recorder.calls.findIndex((c) => c.shardId === 'shardId-000000000003' && c.call === 'initialize');
      for (const parent of ['shardId-000000000001', 'shardId-000000000002']) {
        const ended = recorder.calls.findIndex((c) => c.shardId === parent && c.call === 'shardEnded');
        assert.ok(ended >= 0 && ended < firstMerged, `the merge child started only after ${parent} ended`);
      }
    });
  }

  test('cleanupLeasesUponShardCompletion: a split parent is deleted once its children have checkpointed, and not recreated', { timeout: 90_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'cleanup', 1);
    const app = uniqueName('app');
    const recorder = new Recorder({ processRecords: (input) => input.checkpointer.checkpoint() });
    const worker = new Worker({
      config: workerConfig(e, stream, app, { parentShardPollIntervalMillis: 200, shardSyncIntervalMillis: 500 }),
      processorFactory: recorder.factory,
      logger: silentLogger,
    });
    const deleted: string[] = [];
    worker.events.on('lease.deleted', ({ leaseKey }) => deleted.push(leaseKey));
    await worker.start();
    const table = new LeaseTable(e.dynamodb, app, systemClock);
    try {
      await produceRecords(e.kinesis, { stream, count: 20 });
      await waitFor('20 records', () => recorder.deliveries.length >= 20);
      await e.kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
      await waitActive(stream);
      await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 16 });
      await waitFor('the parent lease deleted', () => deleted.includes('shardId-000000000000'), 60_000);
      await waitFor('60 records', () => recorder.deliveries.length >= 60);
      // Several more shard syncs run: the finished parent must not come back.
      const syncs = { n: 0 };
      worker.events.on('shards.synced', () => syncs.n++);
      await waitFor('two more shard syncs', () => syncs.n >= 2);
      assert.deepEqual((await table.listLeases()).map((l) => l.leaseKey).sort(), ['shardId-000000000001', 'shardId-000000000002']);
    } finally {
      await worker.shutdown();
    }
    assert.equal(new Set(recorder.ids()).size, 60);
  });

  test('UpdateShardCount 2 → 4 while consuming aggregated records: nothing lost, per-key order kept', { timeout: 90_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'scale', 2);
    const recorder = new Recorder();
    const worker = new Worker({
      config: workerConfig(e, stream, uniqueName('app'), { parentShardPollIntervalMillis: 200, shardSyncIntervalMillis: 1_000 }),
      processorFactory: recorder.factory,
      logger: silentLogger,
    });
    await worker.start();
    const runs: string[] = [];
    try {
      runs.push((await produceRecords(e.kinesis, { stream, count: 200, partitionKeys: 16, aggregate: 5 })).runId);
      await e.kinesis.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
      await waitActive(stream);
      runs.push((await produceRecords(e.kinesis, { stream, count: 200, partitionKeys: 16, aggregate: 5 })).runId);
      await waitFor('400 records', () => recorder.deliveries.length >= 400, 60_000);
    } finally {
      await worker.shutdown();
    }
    const bodies = recorder.deliveries.map((d) => parseProducedRecord(d.record.data));
    assert.equal(new Set(bodies.map((b) => b.id)).size, 400);
    assert.equal(bodies.length, 400);
    const last = new Map<string, { run: number; seq: number }>();
    for (const b of bodies) {
      const run = runs.indexOf(b.id.slice(0, b.id.lastIndexOf('-')));
      const prev = last.get(b.pk);
      assert.ok(prev ? run > prev.run || (run === prev.run && b.seq === prev.seq + 1) : b.seq === 0, `key ${b.pk} in order`);
      last.set(b.pk, { run, seq: b.seq });
    }
    assert.ok(new Set(recorder.deliveries.map((d) => d.shardId)).size > 2, 'records came from the new shards too');
  });
});
