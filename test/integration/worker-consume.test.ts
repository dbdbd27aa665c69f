/**
 * One worker consumes a whole stream end to end against the emulators: nothing lost, order kept per shard and
 * per key, the restart resumes exactly after the checkpoint, graceful shutdown checkpoints and releases.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Worker } from '../../src/worker/worker.js';
import { workerInternals } from '../../src/worker/internals.js';
import { produceRecords, parseProducedRecord } from '../../src/local/producer.js';
import { compareSequenceNumbers } from '../../src/checkpoint/sequence.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { Recorder } from '../helpers/recording-processor.js';
import { KINESIS_PROTOCOLS } from '../../src/config/fields.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

describe('single worker, whole stream', { skip: env ? false : SKIP_REASON }, () => {
  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`consumes every record of a 4-shard stream, in order per shard and per key (kinesisProtocol ${kinesisProtocol})`, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'consume', 4);
      const app = uniqueName('app');
      const { written } = await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 3000, partitionKeys: 32 });
      assert.equal(written, 3000);

      const recorder = new Recorder();
      const worker = new Worker({ config: workerConfig(e, stream, app, { kinesisProtocol }), processorFactory: recorder.factory, logger: silentLogger });
      await worker.start();
      try {
        await waitFor('3000 deliveries', () => recorder.deliveries.length >= 3000, 60_000);
      } finally {
        await worker.shutdown();
      }

      const ids = recorder.ids();
      assert.equal(new Set(ids).size, 3000, 'every record delivered exactly once');
      assert.equal(ids.length, 3000, 'no duplicates');
      const byShard = new Map<string, string[]>();
      const seqByKey = new Map<string, number>();
      for (const { shardId, record } of recorder.deliveries) {
        const list = byShard.get(shardId) ?? [];
        list.push(record.sequenceNumber);
        byShard.set(shardId, list);
        const body = parseProducedRecord(record.data);
        const expected = seqByKey.get(body.pk) ?? 0;
        assert.equal(body.seq, expected, `key ${body.pk} in order`);
        seqByKey.set(body.pk, expected + 1);
      }
      assert.equal(byShard.size, 4, 'all four shards delivered');
      for (const [shardId, seqs] of byShard) {
        for (let i = 1; i < seqs.length; i++) {
          assert.ok(BigInt(seqs[i]!) > BigInt(seqs[i - 1]!), `${shardId} sequence numbers increase`);
        }
      }
      for (const shardId of byShard.keys()) {
        assert.deepEqual(recorder.callsFor(shardId).filter((c) => c !== 'processRecords'), ['initialize', 'shutdownRequested']);
      }
    });
  }

  test('graceful shutdown checkpoints the last record and releases every lease', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'shutdown', 2);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 200 });
    const recorder = new Recorder();
    const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger: silentLogger });
    await worker.start();
    await waitFor('200 deliveries', () => recorder.deliveries.length >= 200);
    const released: string[] = [];
    worker.events.on('lease.released', ({ leaseKey }) => released.push(leaseKey));
    await worker.shutdown();

    const lastPerShard = new Map<string, string>();
    for (const d of recorder.deliveries) lastPerShard.set(d.shardId, d.record.sequenceNumber);
    const leases = await new LeaseTable(e.dynamodb, app, systemClock).listLeases();
    assert.equal(leases.length, 2);
    for (const lease of leases) {
      assert.equal(lease.leaseOwner, undefined, `${lease.leaseKey} released`);
      assert.equal(lease.checkpoint.sequenceNumber, lastPerShard.get(lease.leaseKey), `${lease.leaseKey} checkpointed at its last record`);
    }
    assert.deepEqual(released.sort(), leases.map((l) => l.leaseKey).sort());
  });

  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`a restart resumes exactly after the checkpoint: nothing before it again, nothing after it skipped (kinesisProtocol ${kinesisProtocol})`, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'restart', 2);
      const app = uniqueName('app');
      await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 400, partitionKeys: 8 });

      // First run: checkpoint at the 50th record of each shard, then stop without checkpointing further.
      const checkpointed = new Map<string, string>();
      const first = new Recorder({
        processRecords: async (input) => {
          const seen = first.deliveries.filter((d) => d.shardId === input.shardId);
          if (!checkpointed.has(input.shardId) && seen.length >= 50) {
            const at = seen[49]!.record;
            await input.checkpointer.checkpoint(at.sequenceNumber);
            checkpointed.set(input.shardId, at.sequenceNumber);
          }
        },
        shutdownRequested: () => undefined,
      });
      const w1 = new Worker({ config: workerConfig(e, stream, app, { maxRecords: 20, kinesisProtocol }), processorFactory: first.factory, logger: silentLogger });
      await w1.start();
      await waitFor('both shards checkpointed', () => checkpointed.size === 2);
      await w1.shutdown();

      // Second run, another worker id: it must start right after each checkpoint.
      const second = new Recorder();
      const w2 = new Worker({ config: workerConfig(e, stream, app, { kinesisProtocol }), processorFactory: second.factory, logger: silentLogger });
      await w2.start();
      try {
        await waitFor('the rest delivered', () => {
          const expected = first.deliveries.filter((d) => {
            const cp = checkpointed.get(d.shardId)!;
            return BigInt(d.record.sequenceNumber) > BigInt(cp);
          }).length;
          return second.deliveries.length >= 400 - (first.deliveries.length - expected) ? true : undefined;
        });
      } finally {
        await w2.shutdown();
      }
      for (const [shardId, cp] of checkpointed) {
        const again = second.deliveries.filter((d) => d.shardId === shardId);
        assert.equal(second.initializedAt.get(shardId)?.sequenceNumber, cp, 'initialize receives the checkpoint');
        assert.ok(again.length > 0);
        assert.ok(again.every((d) => BigInt(d.record.sequenceNumber) > BigInt(cp)), `${shardId}: nothing at or before the checkpoint redelivered`);
        const firstRun = first.deliveries.filter((d) => d.shardId === shardId).map((d) => d.record.sequenceNumber);
        const next = firstRun.find((s) => BigInt(s) > BigInt(cp));
        if (next) assert.equal(again[0]!.record.sequenceNumber, next, `${shardId}: the record right after the checkpoint comes first`);
      }
      const all = new Set([...first.deliveries, ...second.deliveries].map((d) => (d.record.json() as { id: string }).id));
      assert.equal(all.size, 400, 'nothing skipped across the restart');
    });
  }

  test('the lease item written is the Java KCL format, field by field', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'format', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 10 });
    const recorder = new Recorder();
    const worker = new Worker({ config: workerConfig(e, stream, app, { workerId: 'worker-a' }), processorFactory: recorder.factory, logger: silentLogger });
    await worker.start();
    await waitFor('10 deliveries', () => recorder.deliveries.length >= 10);
    const last = recorder.deliveries[9]!.record.sequenceNumber;
    // Checkpoint through the shutdown path but keep the owner visible: read the item while still held.
    const lease = await waitFor('lease owned', async () => (await new LeaseTable(e.dynamodb, app, systemClock).getLease('shardId-000000000000'))?.leaseOwner);
    assert.equal(lease, 'worker-a');
    await worker.shutdown();
    const item = (await e.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'shardId-000000000000' } }, ConsistentRead: true }))).Item!;
    assert.deepEqual(Object.keys(item).sort(), [
      'checkpoint',
      'checkpointSubSequenceNumber',
      'endingHashKey',
      'entityType',
      'leaseCounter',
      'leaseKey',
      'ownerSwitchesSinceCheckpoint',
      'startingHashKey',
    ]);
    assert.deepEqual(item.leaseKey, { S: 'shardId-000000000000' });
    assert.deepEqual(item.checkpoint, { S: last });
    assert.deepEqual(item.checkpointSubSequenceNumber, { N: '0' });
    assert.deepEqual(item.ownerSwitchesSinceCheckpoint, { N: '0' });
    assert.deepEqual(item.entityType, { S: 'LEASE' });
    assert.deepEqual(item.startingHashKey, { S: '0' });
    assert.deepEqual(item.endingHashKey, { S: '340282366920938463463374607431768211455' });
    assert.ok(item.leaseCounter?.N && /^\d+$/.test(item.leaseCounter.N) && Number(item.leaseCounter.N) >= 3, 'counter raised by take, checkpoint and release');
    assert.equal(compareSequenceNumbers({ sequenceNumber: last, subSequenceNumber: 0 }, { sequenceNumber: item.checkpoint!.S!, subSequenceNumber: 0 }), 0);
  });

  test('a lease taken by another worker is noticed at the next renewal: leaseLost, and the shard is no longer processed', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'stolen', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 10 });
    const recorder = new Recorder();
    const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger: silentLogger });
    await worker.start();
    try {
      await waitFor('10 records', () => recorder.deliveries.length >= 10);
      const table = new LeaseTable(e.dynamodb, app, systemClock);
      const lease = (await table.getLease('shardId-000000000000'))!;
      assert.ok(await table.takeLease(lease, 'thief'));
      const lost = Date.now();
      await waitFor('leaseLost', () => recorder.callsFor('shardId-000000000000').includes('leaseLost'), 10_000);
      assert.ok(Date.now() - lost <= workerInternals(worker).leases.renewIntervalMillis + 4_000, 'noticed at a renewal, well before the lease could expire');
      await waitFor('consumer gone', () => worker.progress().length === 0);
      assert.equal(workerInternals(worker).leases.isHeld('shardId-000000000000'), false);
      assert.equal((await table.getLease('shardId-000000000000'))?.leaseOwner, 'thief', 'the worker did not take it back (it has not expired yet)');
    } finally {
      await worker.shutdown();
    }
    assert.deepEqual(recorder.callsFor('shardId-000000000000').filter((c) => c !== 'processRecords'), ['initialize', 'leaseLost']);
  });
});
