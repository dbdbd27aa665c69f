/**
 * KPL-aggregated records end to end: `produceRecords({ aggregate })` (what `kcl produce --aggregate N` runs)
 * writes aggregates, the worker unpacks them into user records with sub-sequence numbers, and a checkpoint in
 * the middle of an aggregate resumes exactly after that user record — in-process and through the daemon.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords, parseProducedRecord } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';
import { fixture, startDaemon, stopDaemons } from '../helpers/multilang.js';

import { KINESIS_PROTOCOLS } from '../../src/config/fields.js';

const env = testEnv();
after(() => env?.close());
afterEach(stopDaemons);
const SHARD = 'shardId-000000000000';

describe('KPL aggregation', { skip: env ? false : SKIP_REASON }, () => {
  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`aggregated records are unpacked into user records with sub-sequence numbers, in order per key, none lost (kinesisProtocol ${kinesisProtocol})`, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'kpl', 2);
      await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 300, partitionKeys: 8, aggregate: 10 });
      const recorder = new Recorder();
      const worker = new Worker({ config: workerConfig(e, stream, uniqueName('app'), { kinesisProtocol }), processorFactory: recorder.factory, logger: silentLogger });
      await worker.start();
      try {
        await waitFor('300 user records', () => recorder.deliveries.length >= 300);
      } finally {
        await worker.shutdown();
      }
      assert.equal(new Set(recorder.ids()).size, 300);
      assert.equal(recorder.deliveries.length, 300);
      assert.ok(recorder.deliveries.every((d) => d.record.aggregated), 'every record came out of an aggregate');
      const seqs = new Set(recorder.deliveries.map((d) => d.record.sequenceNumber));
      assert.ok(seqs.size <= 40 && seqs.size >= 30, `about 30 Kinesis records carried 300 user records (${seqs.size})`);
      const next = new Map<string, number>();
      for (const { record } of recorder.deliveries) {
        const body = parseProducedRecord(record.data);
        assert.equal(body.seq, next.get(body.pk) ?? 0, `key ${body.pk} in order`);
        next.set(body.pk, body.seq + 1);
        assert.equal(record.partitionKey, body.pk);
      }
      const subs = recorder.deliveries.filter((d) => d.record.sequenceNumber === recorder.deliveries[0]!.record.sequenceNumber).map((d) => d.record.subSequenceNumber);
      assert.deepEqual(subs, subs.map((_, i) => i), 'sub-sequence numbers 0..n-1 within one aggregate');
    });
  }

  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`a checkpoint in the middle of an aggregate resumes exactly after that user record (in-process) (kinesisProtocol ${kinesisProtocol})`, async () => {
      const e = env!;
      const stream = await createTestStream(e, 'kplcp', 1);
      const app = uniqueName('app');
      await produceRecords(e.kinesisFor(kinesisProtocol), { stream, count: 50, partitionKeys: 1, aggregate: 10 });
      let checkpointed: { seq: string; sub: number } | undefined;
      const first = new Recorder({
        processRecords: async (input) => {
          if (!checkpointed && first.deliveries.length >= 15) {
            const at = first.deliveries[14]!.record;
            await input.checkpointer.checkpoint(at.sequenceNumber, at.subSequenceNumber);
            checkpointed = { seq: at.sequenceNumber, sub: at.subSequenceNumber };
          }
        },
        shutdownRequested: () => undefined,
      });
      const w1 = new Worker({ config: workerConfig(e, stream, app, { kinesisProtocol }), processorFactory: first.factory, logger: silentLogger });
      await w1.start();
      await waitFor('the mid-aggregate checkpoint', () => checkpointed);
      await w1.shutdown();
      assert.equal(checkpointed!.sub, 4, 'the 15th record is the 5th of the second aggregate');
      const stored = (await new LeaseTable(e.dynamodb, app, systemClock).getLease(SHARD))!.checkpoint;
      assert.deepEqual(stored, { sequenceNumber: checkpointed!.seq, subSequenceNumber: 4 });

      const second = new Recorder();
      const w2 = new Worker({ config: workerConfig(e, stream, app, { kinesisProtocol }), processorFactory: second.factory, logger: silentLogger });
      await w2.start();
      try {
        await waitFor('the 35 records after the checkpoint', () => second.deliveries.length >= 35);
      } finally {
        await w2.shutdown();
      }
      assert.equal(second.deliveries.length, 35);
      assert.deepEqual(second.deliveries.map((d) => parseProducedRecord(d.record.data).n), Array.from({ length: 35 }, (_, i) => i + 15));
      assert.deepEqual([second.deliveries[0]!.record.sequenceNumber, second.deliveries[0]!.record.subSequenceNumber], [checkpointed!.seq, 5]);
    });
  }

  test('a checkpoint in the middle of an aggregate resumes exactly after that user record (through the daemon)', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'kplml', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 50, partitionKeys: 1, aggregate: 10 });
    const config = { ...workerConfig(e, stream, app, { maxRecords: 2 }), executableName: `python3 ${fixture('kclpy_mini.py')}` };
    const first = startDaemon(config, 'checkpoint-at', { KCL_FIXTURE_CHECKPOINT_AT: '15' });
    await first.worker.start();
    const ok = await waitFor('the child checkpoint', () => first.events().find((x) => x.event === 'checkpoint_ok'));
    await first.worker.shutdown();
    assert.equal(ok.sub, 4);
    const stored = (await new LeaseTable(e.dynamodb, app, systemClock).getLease(SHARD))!.checkpoint;
    assert.deepEqual(stored, { sequenceNumber: ok.seq, subSequenceNumber: 4 });

    const second = startDaemon(config, 'normal');
    await second.worker.start();
    try {
      await waitFor('35 records', () => second.events().filter((x) => x.event === 'record').length >= 35);
    } finally {
      await second.worker.shutdown();
    }
    const records = second.events().filter((x) => x.event === 'record');
    assert.equal(records.length, 35);
    assert.deepEqual(records.map((x) => parseProducedRecord(Buffer.from(x.data ?? '')).n), Array.from({ length: 35 }, (_, i) => i + 15));
    assert.equal(records[0]!.sub, 5);
  });

  test('kcl produce --aggregate writes aggregates a plain GetRecords sees as KPL records', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'kplraw', 1);
    const result = await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 2, aggregate: 20 });
    assert.equal(result.written, 40);
    const it = await e.kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }));
    const out = await e.kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 100 }));
    assert.equal(out.Records?.length, 2, 'two keys × 20 records = two aggregates');
    for (const r of out.Records ?? []) assert.deepEqual([...Buffer.from(r.Data!).subarray(0, 4)], [0xf3, 0x89, 0x9a, 0xc2]);
  });
});
