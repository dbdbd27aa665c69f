/**
 * Faults the emulators cannot produce, injected at the HTTP edge: an expired shard iterator and throttled
 * GetRecords calls are survived with nothing lost and nothing delivered twice.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { silentLogger } from '../../src/common/logger.js';
import { Recorder } from '../helpers/recording-processor.js';
import { FaultInjectingHandler, faultyKinesisClient } from '../helpers/fault-handler.js';
import { KINESIS_PROTOCOLS, type KinesisProtocol } from '../../src/config/fields.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

async function consumeWithFaults(rule: (op: string, n: number) => string | undefined, count: number, kinesisProtocol: KinesisProtocol) {
  const e = env!;
  const stream = await createTestStream(e, 'faults', 1);
  await produceRecords(e.kinesis, { stream, count, partitionKeys: 4 });
  const handler = new FaultInjectingHandler(rule);
  const kinesis = faultyKinesisClient(e.kinesisEndpoint, handler, kinesisProtocol);
  const recorder = new Recorder();
  const worker = new Worker({
    config: workerConfig(e, stream, uniqueName('app'), { maxRecords: 25, idleTimeBetweenReadsInMillis: 0 }),
    processorFactory: recorder.factory,
    kinesis,
    dynamodb: e.dynamodb,
    logger: silentLogger,
  });
  await worker.start();
  try {
    await waitFor(`${count} deliveries`, () => recorder.deliveries.length >= count);
  } finally {
    await worker.shutdown();
    kinesis.destroy();
  }
  return { recorder, handler };
}

describe('retrieval faults', { skip: env ? false : SKIP_REASON }, () => {
  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`an expired iterator is replaced from the last record received: nothing lost or repeated (kinesisProtocol ${kinesisProtocol})`, async () => {
      const { recorder, handler } = await consumeWithFaults((op, n) => (op === 'GetRecords' && (n === 3 || n === 4) ? 'ExpiredIteratorException' : undefined), 200, kinesisProtocol);
      assert.equal(handler.injected.filter((f) => f.error === 'ExpiredIteratorException').length, 2, 'the faults were injected');
      assert.ok((handler.calls.get('GetShardIterator') ?? 0) >= 3, 'fresh iterators were requested');
      const ids = recorder.ids();
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
      const seqs = recorder.deliveries.map((d) => BigInt(d.record.sequenceNumber));
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'delivered in order');
    });
  }

  for (const kinesisProtocol of KINESIS_PROTOCOLS) {
    test(`throttled GetRecords calls are retried with backoff: nothing lost or repeated (kinesisProtocol ${kinesisProtocol})`, async () => {
      const { recorder, handler } = await consumeWithFaults(
        (op, n) => (op === 'GetRecords' && n >= 2 && n <= 4 ? 'ProvisionedThroughputExceededException' : undefined),
        150,
        kinesisProtocol,
      );
      assert.equal(handler.injected.length, 3);
      assert.equal(handler.calls.get('GetShardIterator'), 1, 'a throttled iterator is retried, not replaced');
      const ids = recorder.ids();
      assert.equal(ids.length, 150);
      assert.equal(new Set(ids).size, 150);
    });
  }
});
