/**
 * Closing a fan-out source ends its subscription's connection, so the next subscription to the shard (the next
 * owner's, after a lease moved) gets it as soon as the service frees it. kinesis-local answers a subscription
 * to a shard that is still subscribed with ResourceInUseException, and frees it about 3 s after the connection
 * closes; a subscription left open would hold the shard until the emulator ends it, after 5 minutes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKinesisSubscriptionClient } from '../../src/aws/clients.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { produceRecords } from '../../src/local/producer.js';
import { ensureStreamConsumer } from '../../src/retrieval/consumer-registration.js';
import { FanOutRecordsSource } from '../../src/retrieval/fanout.js';
import type { RecordsSource } from '../../src/retrieval/source.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());
const SHARD = 'shardId-000000000000';

/** Batches until one has records; fails when none came within `millis`. */
async function firstRecords(source: RecordsSource, millis: number): Promise<number> {
  const signal = AbortSignal.timeout(millis);
  try {
    for (;;) {
      const batch = await source.next(signal);
      if (batch.records.length > 0) return batch.records.length;
    }
  } catch (err) {
    if (signal.aborted) throw new Error(`no records within ${millis} ms`, { cause: err });
    throw err;
  }
}

describe('fan-out source close', { skip: env ? false : SKIP_REASON }, () => {
  test('a closed source lets the next subscription to the shard in within seconds', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'efo-close', 1);
    await produceRecords(e.kinesis, { stream, count: 10, partitionKeys: 2 });
    const consumerArn = await ensureStreamConsumer(e.kinesis, {
      streamName: stream,
      consumerName: uniqueName('app'),
      clock: systemClock,
      logger: silentLogger,
      signal: new AbortController().signal,
    });
    const subscriber = createKinesisSubscriptionClient({ kinesisEndpoint: e.kinesisEndpoint });
    const source = () =>
      new FanOutRecordsSource(subscriber, e.kinesis, { streamName: stream, shardId: SHARD, consumerArn, start: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } }, systemClock, silentLogger);
    try {
      const first = source();
      try {
        assert.equal(await firstRecords(first, 15_000), 10);
      } finally {
        await first.close();
      }
      const second = source();
      try {
        // Its subscriptions meet ResourceInUseException until the emulator has freed the shard, and retry.
        assert.equal(await firstRecords(second, 20_000), 10);
      } finally {
        await second.close();
      }
    } finally {
      subscriber.destroy();
    }
  });
});
