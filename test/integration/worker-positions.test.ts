/**
 * Where a new lease starts (TRIM_HORIZON, LATEST, AT_TIMESTAMP), checkpoint errors seen by a processor, and
 * sharing a lease table written by the Java KCL.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { IllegalArgumentException, ShutdownException } from '../../src/common/errors.js';
import type { Checkpointer } from '../../src/processor/types.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());
const SHARD = 'shardId-000000000000';

async function readAll(stream: string) {
  const e = env!;
  const it = await e.kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }));
  const out = await e.kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 10_000 }));
  return out.Records ?? [];
}

function idsOf(recorder: Recorder): string[] {
  return recorder.ids().sort();
}

describe('initial position in stream', { skip: env ? false : SKIP_REASON }, () => {
  test('TRIM_HORIZON, LATEST and AT_TIMESTAMP start new leases where they say', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'positions', 1);
    const a = await produceRecords(e.kinesis, { stream, count: 30, runId: 'A' });
    const afterA = await readAll(stream);
    const timestamp = new Date(Math.max(...afterA.map((r) => r.ApproximateArrivalTimestamp!.getTime())) + 1);
    await produceRecords(e.kinesis, { stream, count: 30, runId: 'B' });
    const bRecords = (await readAll(stream)).slice(30);
    assert.ok(bRecords.every((r) => r.ApproximateArrivalTimestamp!.getTime() >= timestamp.getTime()), 'precondition: B arrived after the timestamp');
    assert.equal(a.written, 30);

    // TRIM_HORIZON: everything so far.
    const trim = new Recorder();
    const w1 = new Worker({ config: workerConfig(e, stream, uniqueName('trim')), processorFactory: trim.factory, logger: silentLogger });
    await w1.start();
    await waitFor('60 records', () => trim.deliveries.length >= 60);
    await w1.shutdown();
    assert.equal(trim.deliveries.length, 60);
    assert.ok(trim.ids().slice(0, 30).every((id) => id.startsWith('A-')));

    // AT_TIMESTAMP: only what arrived at or after the timestamp (B).
    const atTs = new Recorder();
    const w2 = new Worker({
      config: workerConfig(e, stream, uniqueName('atts'), { initialPositionInStream: 'AT_TIMESTAMP', initialPositionTimestamp: timestamp }),
      processorFactory: atTs.factory,
      logger: silentLogger,
    });
    await w2.start();
    await waitFor('30 records', () => atTs.deliveries.length >= 30);
    await w2.shutdown();
    assert.equal(atTs.deliveries.length, 30);
    assert.ok(atTs.ids().every((id) => id.startsWith('B-')), 'AT_TIMESTAMP skips records before the timestamp');

    // LATEST: nothing already in the stream; only what is written after the worker's first read.
    const polled = { empty: 0 };
    const latest = new Recorder({ processRecords: (input) => void (input.records.length === 0 && polled.empty++) });
    const w3 = new Worker({
      config: workerConfig(e, stream, uniqueName('latest'), { initialPositionInStream: 'LATEST', callProcessRecordsEvenForEmptyRecordList: true }),
      processorFactory: latest.factory,
      logger: silentLogger,
    });
    await w3.start();
    await waitFor('a first (empty) poll at LATEST', () => polled.empty > 0);
    await produceRecords(e.kinesis, { stream, count: 20, runId: 'C' });
    await waitFor('20 new records', () => latest.deliveries.length >= 20);
    await w3.shutdown();
    assert.deepEqual(
      idsOf(latest).map((id) => id.split('-')[0]),
      Array(20).fill('C'),
      'LATEST delivers only records written after it started',
    );
  });
});

describe('checkpoint errors seen by the processor', { skip: env ? false : SKIP_REASON }, () => {
  test('beyond the largest delivered is IllegalArgumentException; after the lease is taken it is ShutdownException and leaseLost follows', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'cperr', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 20 });
    let checkpointer: Checkpointer | undefined;
    let largest = '';
    const recorder = new Recorder({
      processRecords: (input) => {
        checkpointer = input.checkpointer;
        largest = input.records[input.records.length - 1]?.sequenceNumber ?? largest;
      },
    });
    const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger: silentLogger });
    await worker.start();
    try {
      await waitFor('20 records', () => recorder.deliveries.length >= 20);
      await assert.rejects(checkpointer!.checkpoint((BigInt(largest) + 1n).toString()), IllegalArgumentException);
      await assert.rejects(checkpointer!.checkpoint('not-a-number'), IllegalArgumentException);
      await checkpointer!.checkpoint(recorder.deliveries[4]!.record.sequenceNumber);
      await assert.rejects(checkpointer!.checkpoint(recorder.deliveries[2]!.record.sequenceNumber), IllegalArgumentException, 'behind the last checkpoint');

      // Another worker takes the lease (as a steal would).
      const table = new LeaseTable(e.dynamodb, app, systemClock);
      const current = (await table.getLease(SHARD))!;
      assert.ok(await table.takeLease(current, 'other-worker'));
      await assert.rejects(checkpointer!.checkpoint(), ShutdownException);
      await waitFor('leaseLost', () => recorder.callsFor(SHARD).includes('leaseLost'));
      const after = (await table.getLease(SHARD))!;
      assert.equal(after.leaseOwner, 'other-worker');
      assert.equal(after.checkpoint.sequenceNumber, recorder.deliveries[4]!.record.sequenceNumber, 'the old owner wrote nothing after losing the lease');
    } finally {
      await worker.shutdown();
    }
    assert.deepEqual(recorder.callsFor(SHARD).filter((c) => c !== 'processRecords'), ['initialize', 'leaseLost']);
  });
});

describe('a lease table shared with the Java KCL', { skip: env ? false : SKIP_REASON }, () => {
  test('reads a Java-written lease, resumes from its checkpoint, keeps unknown attributes and leaves non-lease items alone', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 40 });
    const records = await readAll(stream);
    const javaCheckpoint = records[24]!.SequenceNumber!;
    const table = new LeaseTable(e.dynamodb, app, systemClock);
    await table.createTableIfNotExists();
    // As DynamoDBLeaseSerializer writes it (2.x: no entityType), owned by a Java worker that has since died.
    await e.dynamodb.send(new PutItemCommand({
      TableName: app,
      Item: {
        leaseKey: { S: SHARD },
        leaseOwner: { S: 'java-worker-1' },
        leaseCounter: { N: '41' },
        checkpoint: { S: javaCheckpoint },
        checkpointSubSequenceNumber: { N: '0' },
        ownerSwitchesSinceCheckpoint: { N: '2' },
        startingHashKey: { S: '0' },
        endingHashKey: { S: '340282366920938463463374607431768211455' },
        throughputKBps: { N: '1.5' },
        someFutureAttribute: { S: 'kept' },
      },
    }));
    const leader = { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' }, ownerName: { S: 'java-worker-1' }, recordVersionNumber: { S: 'v1' } };
    await e.dynamodb.send(new PutItemCommand({ TableName: app, Item: leader }));

    const recorder = new Recorder();
    const worker = new Worker({
      config: workerConfig(e, stream, app, { failoverTimeMillis: 2_000, workerId: 'ts-worker' }),
      processorFactory: recorder.factory,
      logger: silentLogger,
    });
    await worker.start();
    try {
      await waitFor('the 15 records after the Java checkpoint', () => recorder.deliveries.length >= 15, 20_000);
    } finally {
      await worker.shutdown();
    }
    assert.equal(recorder.initializedAt.get(SHARD)?.sequenceNumber, javaCheckpoint);
    assert.deepEqual(
      recorder.deliveries.map((d) => d.record.sequenceNumber),
      records.slice(25).map((r) => r.SequenceNumber),
      'resumes right after the Java checkpoint',
    );
    const item = (await e.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: SHARD } }, ConsistentRead: true }))).Item!;
    assert.deepEqual(item.someFutureAttribute, { S: 'kept' });
    assert.deepEqual(item.checkpoint, { S: records[39]!.SequenceNumber });
    assert.ok(Number(item.leaseCounter!.N) > 41);
    const leaderAfter = (await e.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'Leader' } }, ConsistentRead: true }))).Item;
    assert.deepEqual(leaderAfter, leader, 'non-lease item untouched');
    assert.deepEqual((await table.listLeases()).map((l) => l.leaseKey), [SHARD], 'non-lease items are not listed as leases');
  });
});

describe('start-up errors', { skip: env ? false : SKIP_REASON }, () => {
  test('a stream that does not exist is a clear error naming it, and start() leaves nothing running', async () => {
    const e = env!;
    const missing = uniqueName('missing');
    const worker = new Worker({ config: workerConfig(e, missing, uniqueName('app')), processorFactory: new Recorder().factory, logger: silentLogger });
    await assert.rejects(worker.start(), (err: Error) => err.message.includes(`stream "${missing}" not found`));
    await worker.shutdown();
  });
});

describe('restart with a fixed worker id', { skip: env ? false : SKIP_REASON }, () => {
  test('leases still owned by this worker id from a crashed run are taken back at once, not after failover', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'sameid', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 10 });
    const table = new LeaseTable(e.dynamodb, app, systemClock);
    await table.createTableIfNotExists();
    // What a crashed run leaves: the lease still names this worker id, and its counter was renewed just now.
    await table.createLeaseIfNotExists({
      leaseKey: SHARD,
      leaseOwner: 'fixed-id',
      leaseCounter: 12,
      checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [],
      childShardIds: [],
    });
    const recorder = new Recorder();
    // A failover far longer than the test: taking the lease only after expiry would time the test out.
    const worker = new Worker({
      config: workerConfig(e, stream, app, { workerId: 'fixed-id', failoverTimeMillis: 120_000 }),
      processorFactory: recorder.factory,
      logger: silentLogger,
    });
    await worker.start();
    try {
      await waitFor('10 records', () => recorder.deliveries.length >= 10, 20_000);
    } finally {
      await worker.shutdown();
    }
    assert.equal(recorder.deliveries.length, 10);
  });
});
