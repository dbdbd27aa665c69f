/**
 * The enhanced fan-out RecordsSource against SubscribeToShard servers of our own (test/helpers/event-stream-proxy.ts),
 * through the SDK's real HTTP handlers and event-stream parser: what kinesis-local cannot show. HTTP/2 (the
 * transport used against AWS) as well as HTTP/1.1; the service ending a subscription; a subscription that goes
 * silent; busy shards; a consumer that is gone; flow control with a processor that stops taking records; the
 * checkpoint's own record filtered out; the shard-end event. Behaviour as docs/retrieval.md, 'Enhanced fan-out'.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient, SubscribeToShardEvent, _Record } from '@aws-sdk/client-kinesis';
import { createKinesisClient, createKinesisSubscriptionClient } from '../../src/aws/clients.js';
import { systemClock } from '../../src/common/clock.js';
import { KclEvents } from '../../src/common/events.js';
import { silentLogger } from '../../src/common/logger.js';
import { extendedSequenceNumber, TRIM_HORIZON, type ExtendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { FanOutRecordsSource, type FanOutOptions } from '../../src/retrieval/fanout.js';
import type { RecordsBatch } from '../../src/retrieval/source.js';
import { shardEndEvent, startEventStreamStub, type EventStreamStub, type RecordedStartingPosition, type StubStep } from '../helpers/event-stream-proxy.js';
import { waitFor } from '../helpers/env.js';

const SHARD = 'shardId-000000000000';
const CONSUMER = 'arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/app:1700000000';
const BASE = 10n ** 20n;

const seq = (n: number): string => (BASE + BigInt(n)).toString();
const numberOf = (sequenceNumber: string): number => Number(BigInt(sequenceNumber) - BASE);

/** The first record number a subscription from this position gets (record 1 is the shard's first). */
function firstFrom(position: RecordedStartingPosition | undefined): number {
  if (position?.Type === 'AFTER_SEQUENCE_NUMBER') return numberOf(position.SequenceNumber ?? '') + 1;
  if (position?.Type === 'AT_SEQUENCE_NUMBER') return numberOf(position.SequenceNumber ?? '');
  return 1;
}

function records(from: number, count: number, bytes = 16): _Record[] {
  return Array.from({ length: count }, (_, i) => ({
    SequenceNumber: seq(from + i),
    PartitionKey: `k${from + i}`,
    Data: new Uint8Array(bytes).fill((from + i) % 256),
    ApproximateArrivalTimestamp: new Date(),
  }));
}

/** A shard of `total` records served `perEvent` at a time from wherever a subscription starts, then `after`. */
function shardOf(total: number, perEvent: number, afterLast: 'end' | 'idle' | 'shard-end' = 'idle') {
  return (subscription: { startingPosition: RecordedStartingPosition | undefined }, index: number): StubStep => {
    const from = firstFrom(subscription.startingPosition) + index * perEvent;
    if (from > total) {
      if (afterLast === 'end') return 'end';
      if (afterLast === 'shard-end') return shardEndEvent([{ ShardId: 'shardId-000000000001', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }]);
      return { Records: [], ContinuationSequenceNumber: seq(total), MillisBehindLatest: 0 };
    }
    const count = Math.min(perEvent, total - from + 1);
    const event: SubscribeToShardEvent = { Records: records(from, count), ContinuationSequenceNumber: seq(from + count - 1), MillisBehindLatest: (total - from) * 10 };
    return event;
  };
}

const open: { close(): unknown }[] = [];
after(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function stub(options: Parameters<typeof startEventStreamStub>[0]): Promise<EventStreamStub> {
  const server = await startEventStreamStub(options);
  open.push(server);
  return server;
}

function clients(endpoint: string, transport: 'http2' | 'http1.1'): { subscriber: KinesisClient; kinesis: KinesisClient } {
  const subscriber = createKinesisSubscriptionClient({ kinesisEndpoint: endpoint, transport, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const kinesis = createKinesisClient({ kinesisEndpoint: endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  open.push({ close: () => subscriber.destroy() }, { close: () => kinesis.destroy() });
  return { subscriber, kinesis };
}

function source(server: EventStreamStub, options: Partial<FanOutOptions> = {}, events?: KclEvents, transport: 'http2' | 'http1.1' = server.protocol === 'h2c' ? 'http2' : 'http1.1'): FanOutRecordsSource {
  const { subscriber, kinesis } = clients(server.endpoint, transport);
  const src = new FanOutRecordsSource(subscriber, kinesis, { streamName: 's', shardId: SHARD, consumerArn: CONSUMER, start: TRIM_HORIZON, ...options }, systemClock, silentLogger, events);
  open.push(src);
  return src;
}

/** Takes batches until `done` says so; returns every record number seen, in order. */
async function readUntil(src: FanOutRecordsSource, done: (seen: number[], batch: RecordsBatch) => boolean, timeoutMillis = 15_000): Promise<{ seen: number[]; last: RecordsBatch }> {
  const signal = AbortSignal.timeout(timeoutMillis);
  const seen: number[] = [];
  for (;;) {
    const batch = await src.next(signal);
    for (const r of batch.records) seen.push(numberOf(r.sequenceNumber));
    if (done(seen, batch)) return { seen, last: batch };
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('fan-out source against a SubscribeToShard stub', () => {
  for (const protocol of ['h2c', 'http1'] as const) {
    test(`${protocol === 'h2c' ? 'HTTP/2 (the AWS transport)' : 'HTTP/1.1 (the emulator transport)'}: records in order, millisBehindLatest passed on, then the shard-end event with its children`, async () => {
      const server = await stub({ protocol, events: shardOf(30, 7, 'shard-end') });
      const src = source(server);
      const { seen, last } = await readUntil(src, (_seen, batch) => batch.isShardEnd);
      assert.deepEqual(seen, range(1, 30));
      assert.deepEqual(last.childShards?.map((c) => c.shardId), ['shardId-000000000001']);
      assert.equal(server.subscriptions.length, 1);
      await assert.rejects(src.next(AbortSignal.timeout(1000)), /closed/);
    });
  }

  test('dozens of shards on one HTTP/2 client: every subscription gets its own stream slot and all deliver at once', async () => {
    const SHARDS = 32;
    const server = await stub({ protocol: 'h2c', events: shardOf(10, 5) });
    const { subscriber, kinesis } = clients(server.endpoint, 'http2');
    const sources = Array.from({ length: SHARDS }, (_, i) => {
      const shardId = `shardId-${String(i).padStart(12, '0')}`;
      const src = new FanOutRecordsSource(subscriber, kinesis, { streamName: 's', shardId, consumerArn: CONSUMER, start: TRIM_HORIZON }, systemClock, silentLogger);
      open.push(src);
      return src;
    });
    const results = await Promise.all(sources.map((src) => readUntil(src, (seen) => seen.length >= 10)));
    for (const { seen } of results) assert.deepEqual(seen, range(1, 10));
    assert.equal(new Set(server.subscriptions.map((s) => s.shardId)).size, SHARDS);
    // All open at the same time, none waiting for another to end.
    assert.ok(server.subscriptions.every((s) => s.ended === undefined), 'every subscription is still open');
  });

  test('millisBehindLatest of each event reaches the batch', async () => {
    const server = await stub({ events: shardOf(20, 10) });
    const src = source(server);
    const first = await src.next(AbortSignal.timeout(10_000));
    assert.equal(first.records.length, 10);
    assert.equal(first.millisBehindLatest, 190);
  });

  test('the service ends subscriptions (as AWS does every 5 minutes): each next one starts after the last continuation, no gap, no duplicate', async () => {
    // Every subscription delivers 3 events of 4 records, then the service completes it.
    const server = await stub({ events: (sub, index) => (index >= 3 ? 'end' : shardOf(40, 4)(sub, index)) });
    const events = new KclEvents();
    const ended: string[] = [];
    events.on('subscription.ended', (e) => ended.push(e.outcome));
    const src = source(server, {}, events);
    const { seen } = await readUntil(src, (s) => s.length >= 40);
    assert.deepEqual(seen, range(1, 40));
    const positions = server.subscriptions.map((s) => s.startingPosition);
    assert.deepEqual(positions.slice(0, 4), [{ Type: 'TRIM_HORIZON' }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(12) }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(24) }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(36) }]);
    assert.ok(ended.slice(0, 3).every((outcome) => outcome === 'completed'), ended.join());
  });

  test('a subscription reset mid-stream, or failing with an exception event, resumes from where it was', async () => {
    const failures: StubStep[] = ['reset', { exception: 'InternalFailureException' }, 'truncate'];
    const server = await stub({ events: (sub, index) => (index === 2 && sub.index < failures.length ? (failures[sub.index] as StubStep) : shardOf(60, 5)(sub, index)) });
    const src = source(server);
    const { seen } = await readUntil(src, (s) => s.length >= 60, 30_000);
    assert.deepEqual(seen, range(1, 60));
    assert.deepEqual(server.subscriptions.slice(1, 4).map((s) => s.startingPosition?.SequenceNumber), [seq(10), seq(20), seq(30)]);
  });

  test('a subscription that goes silent (a dead connection) is dropped after eventTimeoutMillis and made again from where it was', async () => {
    // The first subscription delivers one event, then nothing at all.
    const server = await stub({ events: async (sub, index) => (sub.index === 0 && index === 1 ? new Promise<StubStep>(() => undefined) : shardOf(10, 5)(sub, index)) });
    const events = new KclEvents();
    const failing: Error[] = [];
    events.on('retrieval.failing', (e) => failing.push(e.error));
    const src = source(server, { eventTimeoutMillis: 500 }, events);
    const { seen } = await readUntil(src, (s) => s.length >= 10);
    assert.deepEqual(seen, range(1, 10));
    assert.deepEqual(server.subscriptions[1]?.startingPosition, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(5) });
    assert.match(failing[0]?.message ?? '', /no event for 500 ms/);
  });

  test('a busy shard (ResourceInUseException: the previous subscription not yet released) is retried without being reported as an outage', async () => {
    const server = await stub({ events: shardOf(5, 5), rejectSubscription: (sub) => (sub.index < 2 ? 'ResourceInUseException' : undefined) });
    const events = new KclEvents();
    let failing = 0;
    events.on('retrieval.failing', () => failing++);
    const src = source(server, {}, events);
    const { seen } = await readUntil(src, (s) => s.length >= 5);
    assert.deepEqual(seen, range(1, 5));
    assert.equal(server.subscriptions.length, 3);
    assert.equal(failing, 0);
    // Kinesis allows one SubscribeToShard per second per shard: the attempts are at least that far apart.
    const starts = server.subscriptions.map((s) => s.startedAt);
    for (let i = 1; i < starts.length; i++) assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 950, `attempts ${starts.join(', ')}`);
  });

  test('ResourceNotFound for a shard that still exists (the consumer was deleted) is not mistaken for the shard end', async () => {
    // The stub says the subscription's resource is gone, but GetShardIterator still answers for the shard.
    let shardAsked = 0;
    const server = await stub({
      events: shardOf(5, 5),
      rejectSubscription: (sub) => (sub.index < 3 ? 'ResourceNotFoundException' : undefined),
      otherOperation: (operation) => {
        if (operation !== 'GetShardIterator') return { status: 400, body: { __type: 'UnknownOperationException' } };
        shardAsked++;
        return { status: 200, body: { ShardIterator: 'it-1' } };
      },
    });
    const src = source(server);
    const { seen, last } = await readUntil(src, (s) => s.length >= 5, 30_000);
    assert.deepEqual(seen, range(1, 5));
    assert.equal(last.isShardEnd, false);
    assert.ok(shardAsked >= 1, 'the shard itself was asked about');
  });

  test('a checkpoint is not delivered again: a subscription AT the checkpoint drops it (and the sub-records up to it)', async () => {
    const server = await stub({ events: shardOf(10, 10) });
    const start: ExtendedSequenceNumber = extendedSequenceNumber(seq(4));
    const src = source(server, { start });
    const { seen } = await readUntil(src, (s) => s.length >= 6);
    assert.deepEqual(seen, range(5, 10));
    assert.deepEqual(server.subscriptions[0]?.startingPosition, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq(4) });
  });

  for (const protocol of ['h2c', 'http1'] as const) {
    test(`flow control (${protocol}): a processor that stops taking records stops the reading, so memory stays bounded; taking again drains everything in order`, async () => {
      const EVENT_RECORDS = 64;
      const RECORD_BYTES = 16 * 1024; // 1 MiB per event
      const server = await stub({
        protocol,
        events: (sub, index) => {
          const from = firstFrom(sub.startingPosition) + index * EVENT_RECORDS;
          return { Records: records(from, EVENT_RECORDS, RECORD_BYTES), ContinuationSequenceNumber: seq(from + EVENT_RECORDS - 1), MillisBehindLatest: 1000 };
        },
      });
      const src = source(server, { maxPendingEvents: 10 });
      await src.next(AbortSignal.timeout(10_000));
      // Nothing more is taken: the stub must stop writing (the client no longer reads) well short of unbounded.
      let previous = -1;
      let stableFor = 0;
      await waitFor('the stub to stop writing', () => {
        const written = server.subscriptions[0]?.flow.events ?? 0;
        stableFor = written === previous ? stableFor + 1 : 0;
        previous = written;
        return stableFor >= 5;
      }, 20_000, 200);
      const written = server.subscriptions[0]?.flow.events ?? 0;
      // 10 events queued for the processor, plus what the sockets and parser hold (a few MiB on loopback).
      assert.ok(written <= 30, `the stub wrote ${written} events of 1 MiB to a processor that took one`);
      assert.equal(server.subscriptions[0]?.flow.backpressured, true);
      // Taking again: everything written is delivered, in order, and reading resumes.
      const { seen } = await readUntil(src, (s) => s.length >= (written + 5) * EVENT_RECORDS, 20_000);
      assert.deepEqual(seen.slice(0, 5 * EVENT_RECORDS), range(EVENT_RECORDS + 1, 6 * EVENT_RECORDS));
    });
  }
});
