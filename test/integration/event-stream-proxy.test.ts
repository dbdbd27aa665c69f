/**
 * The SubscribeToShard test helpers themselves (test/helpers/event-stream-proxy.ts), driven by the SDK's own
 * KinesisClient and event-stream parser, not by the worker:
 *   - the stub, over h2c with NodeHttp2Handler and over HTTP/1.1 with NodeHttpHandler: synthetic events with
 *     binary records, initial-response first, a shard-end event last; backpressure; how the SDK takes a response
 *     that completes, is truncated, or is reset;
 *   - the proxy in front of kinesis-local: records relayed, StartingPositions recorded, and the three faults it
 *     injects (clean end, shard end, exception mid-stream).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type ChildShard,
  type StartingPosition,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import {
  decodeMessage,
  encodeSubscribeToShardEvent,
  EventStreamFramer,
  shardEndEvent,
  startEventStreamProxy,
  startEventStreamStub,
  type EventStreamProxy,
  type EventStreamStub,
  type EventStreamStubOptions,
  type StubStep,
  type SubscriptionRecord,
} from '../helpers/event-stream-proxy.js';
import { deferred } from '../helpers/deferred.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor } from '../helpers/env.js';

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

function client(endpoint: string, protocol: 'http1' | 'h2c'): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: CREDENTIALS,
    requestHandler: protocol === 'h2c' ? new NodeHttp2Handler({}) : new NodeHttpHandler({ connectionTimeout: 5_000 }),
    maxAttempts: 1,
  });
}

const CHILDREN: ChildShard[] = [
  { ShardId: 'shardId-000000000007', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: (2n ** 127n - 1n).toString() } },
  { ShardId: 'shardId-000000000008', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: (2n ** 127n).toString(), EndingHashKey: (2n ** 128n - 1n).toString() } },
];

/** Bytes that are not UTF-8 and cover every byte value, different per record. */
function binaryData(n: number, size = 300): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + n * 13) & 0xff;
  return out;
}

function syntheticEvent(index: number, records: number, size = 300): SubscribeToShardEvent {
  const Records = Array.from({ length: records }, (_, r) => ({
    SequenceNumber: String(1_000_000 + index * 1000 + r),
    ApproximateArrivalTimestamp: new Date(1_700_000_000_000 + index * 1000),
    Data: binaryData(index * 1000 + r, size),
    PartitionKey: `pk-${r}`,
  }));
  return { Records, ContinuationSequenceNumber: String(1_000_000 + index * 1000 + records - 1), MillisBehindLatest: 1000 * index };
}

interface Collected {
  events: SubscribeToShardEvent[];
  error: unknown;
}

/** Iterates the SDK's event stream to its end (or error); `onEvent` returning a promise holds the reading back. */
async function collect(stream: AsyncIterable<SubscribeToShardEventStream> | undefined, onEvent?: (e: SubscribeToShardEvent, n: number) => unknown): Promise<Collected> {
  const events: SubscribeToShardEvent[] = [];
  assert.ok(stream, 'the output has an EventStream');
  try {
    for await (const item of stream) {
      assert.ok(item.SubscribeToShardEvent, `only SubscribeToShardEvent items, got ${Object.keys(item).join()}`);
      events.push(item.SubscribeToShardEvent);
      await onEvent?.(item.SubscribeToShardEvent, events.length);
    }
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

/**
 * Waits until `subscription()` is held back for good, not for a moment: backpressured, and not a byte written
 * over three polls 100 ms apart. That stillness is the claim the callers make, so it is what they wait for.
 */
async function waitStalled<T extends SubscriptionRecord>(what: string, subscription: () => T | undefined): Promise<T> {
  let previousBytes = -1;
  let stillPolls = 0;
  return waitFor(
    what,
    () => {
      const s = subscription();
      if (!s) return undefined;
      stillPolls = s.flow.backpressured && s.flow.bytesWritten === previousBytes ? stillPolls + 1 : 0;
      previousBytes = s.flow.bytesWritten;
      return stillPolls >= 3 ? s : undefined;
    },
    10_000,
    100,
  );
}

/** Records a step count; events of 4 records of 16 KB, enough to fill socket buffers quickly. */
function bigEvents(count: number): { asked: () => number; events: EventStreamStubOptions['events'] } {
  let asked = 0;
  return {
    asked: () => asked,
    events: (_s, i): StubStep => {
      asked = i + 1;
      return i < count ? syntheticEvent(i, 4, 16 * 1024) : 'end';
    },
  };
}

/** A reader that takes `first` events, then stops until resume() is called. */
function pausingReader(first: number): { onEvent: (e: SubscribeToShardEvent, n: number) => unknown; resume: () => void } {
  const reading = deferred();
  return { onEvent: (_e, n) => (n === first ? reading.promise : undefined), resume: () => reading.resolve() };
}

const env = testEnv();
after(() => env?.close());

// The suites wait on different things (CPU, kinesis-local's 1 s event cadence): run them side by side.
describe('SubscribeToShard at the network edge', { concurrency: true }, () => {
  // One at a time: the backpressure tests measure buffers, and CPU-bound neighbours would only slow them.
  describe('event-stream stub (the SDK against synthetic SubscribeToShard streams)', { concurrency: 1 }, () => {
    const opened: { stub: EventStreamStub; kinesis: KinesisClient }[] = [];
    async function open(options: EventStreamStubOptions): Promise<{ stub: EventStreamStub; kinesis: KinesisClient }> {
      const stub = await startEventStreamStub(options);
      const kinesis = client(stub.endpoint, stub.protocol);
      opened.push({ stub, kinesis });
      return { stub, kinesis };
    }
    after(async () => {
      for (const { stub, kinesis } of opened) {
        kinesis.destroy();
        await stub.close();
      }
    });

    const subscribe = (kinesis: KinesisClient, startingPosition: StartingPosition = { Type: 'TRIM_HORIZON' }) =>
      kinesis.send(new SubscribeToShardCommand({ ConsumerARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1', ShardId: 'shardId-000000000000', StartingPosition: startingPosition }));

    for (const protocol of ['h2c', 'http1'] as const) {
      test(`${protocol}: initial-response, 40 events of binary records, then the shard-end event`, { timeout: 10_000 }, async () => {
        const N = 40;
        const { stub, kinesis } = await open({
          protocol,
          events: (_s, i): StubStep => (i < N ? syntheticEvent(i, 3) : i === N ? shardEndEvent(CHILDREN) : 'end'),
        });
        const out = await subscribe(kinesis, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: '1000000' });
        const { events, error } = await collect(out.EventStream);
        assert.equal(error, undefined);
        assert.equal(events.length, N + 1);
        for (let i = 0; i < N; i++) {
          const expected = syntheticEvent(i, 3);
          assert.equal(events[i]!.ContinuationSequenceNumber, expected.ContinuationSequenceNumber);
          assert.equal(events[i]!.MillisBehindLatest, expected.MillisBehindLatest);
          assert.deepEqual(
            events[i]!.Records!.map((r) => [r.SequenceNumber, r.PartitionKey, Buffer.from(r.Data!).toString('hex'), r.ApproximateArrivalTimestamp?.getTime()]),
            expected.Records!.map((r) => [r.SequenceNumber, r.PartitionKey, Buffer.from(r.Data!).toString('hex'), r.ApproximateArrivalTimestamp?.getTime()]),
          );
        }
        const last = events[N]!;
        assert.deepEqual(last.ChildShards, CHILDREN);
        assert.equal(last.ContinuationSequenceNumber, undefined);
        assert.equal(last.MillisBehindLatest, 0);
        assert.deepEqual(last.Records, []);

        const [s] = stub.subscriptions;
        assert.equal(stub.subscriptions.length, 1);
        assert.deepEqual(s!.startingPosition, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: '1000000' });
        assert.equal(s!.shardId, 'shardId-000000000000');
        assert.deepEqual(s!.ended, { how: 'completed' });
        assert.equal(s!.flow.events, N + 1);
        assert.equal(s!.flow.records, N * 3);
        assert.equal(s!.flow.messagesWritten, N + 2, 'initial-response + events');
      });
    }

    for (const protocol of ['h2c', 'http1'] as const) {
      test(`${protocol}: a client that stops reading stops the stub; reading again drains it all`, { timeout: 15_000 }, async (t) => {
        // Enough to outlast what sits in between: HTTP/2's 64 KB stream window holds back within a few events,
        // HTTP/1.1 only once the loopback socket buffers (MBs) are full.
        const N = protocol === 'h2c' ? 30 : 300;
        const generator = bigEvents(N);
        const { stub, kinesis } = await open({ protocol, events: generator.events });
        const reader = pausingReader(2);
        const collecting = collect((await subscribe(kinesis)).EventStream, reader.onEvent);
        const s = await waitStalled('the stub held back', () => stub.subscriptions[0]);
        const held = { asked: generator.asked(), bytes: s.flow.bytesWritten };
        t.diagnostic(`${protocol}: held back after ${held.asked} events, ${held.bytes} bytes written`);
        assert.ok(held.asked < N, 'the stub stopped generating before the end');
        reader.resume();
        const { events, error } = await collecting;
        assert.equal(error, undefined);
        assert.equal(events.length, N);
        assert.deepEqual(s.ended, { how: 'completed' });
        assert.ok(s.flow.backpressureEpisodes >= 1);
      });
    }

    for (const protocol of ['h2c', 'http1'] as const) {
      test(`${protocol}: how the SDK ends: complete → done, exception → that error, truncated or reset → an error`, { timeout: 10_000 }, async (t) => {
        const outcomes: Record<string, Collected> = {};
        for (const last of ['end', { exception: 'KMSThrottlingException', message: 'slow down' }, 'truncate', 'reset'] as const) {
          const { kinesis } = await open({ protocol, events: (_s, i): StubStep => (i < 2 ? syntheticEvent(i, 1) : last) });
          outcomes[typeof last === 'string' ? last : last.exception] = await collect((await subscribe(kinesis)).EventStream);
        }
        assert.equal(outcomes.end!.error, undefined);
        const kms = outcomes.KMSThrottlingException!.error as Error;
        assert.equal(kms.name, 'KMSThrottlingException');
        assert.equal(kms.message, 'slow down');
        assert.match(String(outcomes.truncate!.error), /Truncated event message/);
        assert.ok(outcomes.reset!.error instanceof Error, `reset: ${String(outcomes.reset!.error)}`);
        for (const [how, o] of Object.entries(outcomes)) t.diagnostic(`${protocol} ${how}: ${o.error instanceof Error ? `${o.error.name}: ${o.error.message}` : 'done'}`);
        for (const [how, o] of Object.entries(outcomes)) assert.equal(o.events.length, 2, `${how}: the events before it arrive (${String(o.error)})`);
      });
    }

    test('without initial-response the SDK reads the same; an HTTP error answer rejects send()', { timeout: 10_000 }, async () => {
      const { kinesis } = await open({ initialResponse: false, events: (_s, i): StubStep => (i < 3 ? syntheticEvent(i, 1) : 'end') });
      const { events, error } = await collect((await subscribe(kinesis)).EventStream);
      assert.equal(error, undefined);
      assert.equal(events.length, 3);

      const rejecting = await open({ rejectSubscription: () => 'ResourceInUseException', events: () => 'end' });
      await assert.rejects(subscribe(rejecting.kinesis), { name: 'ResourceInUseException' });
      assert.deepEqual(rejecting.stub.subscriptions[0]!.ended, { how: 'rejected', status: 400, errorType: 'ResourceInUseException' });
    });

    test('a stream that completes before any event: send() resolves, the iterator yields nothing, no error', { timeout: 10_000 }, async () => {
      const { kinesis } = await open({ events: () => 'end' });
      const { events, error } = await collect((await subscribe(kinesis)).EventStream);
      assert.equal(error, undefined);
      assert.equal(events.length, 0);
    });

    test('the shard-end encoding: one whole message, no ContinuationSequenceNumber in its JSON', () => {
      const frame = encodeSubscribeToShardEvent(shardEndEvent(CHILDREN));
      const framer = new EventStreamFramer();
      assert.equal(framer.push(frame.subarray(0, 10)).length, 0);
      const [whole] = framer.push(frame.subarray(10));
      const message = decodeMessage(whole!);
      assert.deepEqual(message.headers[':event-type'], { type: 'string', value: 'SubscribeToShardEvent' });
      assert.deepEqual(JSON.parse(Buffer.from(message.body).toString()), { Records: [], MillisBehindLatest: 0, ChildShards: CHILDREN });
      assert.equal(framer.buffered, 0);
    });
  });

  test('the proxy relays with backpressure: a client that stops reading stops the proxy reading upstream, and the upstream writing', { timeout: 15_000 }, async (t) => {
    const N = 300;
    const generator = bigEvents(N);
    const stub = await startEventStreamStub({ events: generator.events });
    const proxy = await startEventStreamProxy(stub.endpoint);
    const kinesis = client(proxy.endpoint, 'http1');
    try {
      const reader = pausingReader(2);
      const out = await kinesis.send(new SubscribeToShardCommand({ ConsumerARN: 'arn:c', ShardId: 'shardId-000000000003', StartingPosition: { Type: 'LATEST' } }));
      const collecting = collect(out.EventStream, reader.onEvent);
      const relayed = await waitStalled('the proxy held back by its client', () => proxy.subscriptions[0]);
      const upstream = await waitStalled('the stub held back by the proxy', () => stub.subscriptions[0]);
      assert.ok(relayed.upstream.paused, 'the proxy stopped reading upstream');
      const held = { asked: generator.asked(), up: relayed.upstream.bytes, written: relayed.flow.bytesWritten };
      t.diagnostic(`held back: client-side ${held.written} bytes, proxy read ${held.up}, stub wrote ${upstream.flow.bytesWritten} (${held.asked} of ${N} events)`);
      assert.ok(held.asked < N, 'the stub stopped generating before the end');
      const oneEvent = encodeSubscribeToShardEvent(syntheticEvent(0, 4, 16 * 1024)).byteLength;
      assert.ok(held.up - held.written < oneEvent, 'the proxy holds back at most the part of a message it has not read whole');
      reader.resume();
      const { events, error } = await collecting;
      assert.equal(error, undefined);
      assert.equal(events.length, N);
      assert.deepEqual(relayed.ended, { how: 'completed' });
      assert.equal(relayed.upstream.bytes, upstream.flow.bytesWritten);
      assert.equal(relayed.flow.bytesWritten, upstream.flow.bytesWritten, 'every message relayed unchanged');
      assert.equal(relayed.upstream.eventTypes[0], 'initial-response');
      assert.equal(relayed.flow.events, N);
    } finally {
      kinesis.destroy();
      await proxy.close();
      await stub.close();
    }
  });

  describe('event-stream proxy in front of kinesis-local', { skip: env ? false : SKIP_REASON, concurrency: true }, () => {
    let proxy: EventStreamProxy;
    let kinesis: KinesisClient;
    let stream: string;
    let consumerARN: string;
    /** Shard id → a hash key inside it, so each test writes to, and subscribes to, a shard of its own. */
    const shards: { id: string; hashKey: string }[] = [];

    before(async () => {
      const e = env!;
      proxy = await startEventStreamProxy(e.kinesisEndpoint);
      kinesis = client(proxy.endpoint, 'http1');
      stream = await createTestStream(e, 'esproxy', 4);
      const summary = await waitFor('stream ACTIVE', async () => {
        const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary;
        return s?.StreamStatus === 'ACTIVE' ? s : undefined;
      });
      const registered = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: summary.StreamARN, ConsumerName: uniqueName('efo') }));
      consumerARN = registered.Consumer!.ConsumerARN!;
      await waitFor('consumer ACTIVE', async () => (await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerARN }))).ConsumerDescription?.ConsumerStatus === 'ACTIVE');
      const listed = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
      for (const s of listed.Shards ?? []) shards.push({ id: s.ShardId!, hashKey: s.HashKeyRange!.StartingHashKey! });
      assert.equal(shards.length, 4);
    });
    after(async () => {
      kinesis?.destroy();
      await proxy?.close();
    });

    /** Puts `count` records into shard `n` through the proxy; returns their sequence numbers. */
    async function put(n: number, count: number, tag: string): Promise<string[]> {
      const out = await kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`${tag}-${i}`), PartitionKey: `k${i}`, ExplicitHashKey: shards[n]!.hashKey })),
        }),
      );
      assert.equal(out.FailedRecordCount ?? 0, 0);
      return out.Records!.map((r) => r.SequenceNumber!);
    }

    const subscribe = (n: number, startingPosition: StartingPosition) => kinesis.send(new SubscribeToShardCommand({ ConsumerARN: consumerARN, ShardId: shards[n]!.id, StartingPosition: startingPosition }));
    const texts = (events: SubscribeToShardEvent[]) => events.flatMap((e) => (e.Records ?? []).map((r) => Buffer.from(r.Data!).toString()));
    const subscriptionOf = (n: number) => proxy.subscriptions.filter((s) => s.shardId === shards[n]!.id);

    test('relays the put records; endSubscriptions ends the iterator without an error; a busy shard is refused', { timeout: 15_000 }, async () => {
      await put(0, 3, 'a');
      const out = await subscribe(0, { Type: 'TRIM_HORIZON' });
      const refused = subscribe(0, { Type: 'LATEST' }).then(
        () => assert.fail('a second subscription to a busy shard was accepted'),
        (err: unknown) => err,
      );
      const { events, error } = await collect(out.EventStream, (event) => {
        if (texts([event]).length > 0) proxy.endSubscriptions({ shardId: shards[0]!.id });
      });
      assert.equal(error, undefined);
      assert.deepEqual(texts(events), ['a-0', 'a-1', 'a-2']);
      // kinesis-local answers the second subscription with HTTP 200 and a ResourceInUseException message; send() throws it.
      assert.equal((await refused as Error).name, 'ResourceInUseException');

      const [first, second] = subscriptionOf(0);
      assert.deepEqual(first!.startingPosition, { Type: 'TRIM_HORIZON' });
      assert.equal(first!.consumerARN, consumerARN);
      assert.deepEqual(first!.ended, { how: 'ended-by-test' });
      assert.equal(first!.flow.records, 3);
      assert.equal(first!.flow.bytesWritten, first!.upstream.bytes, 'every byte read upstream was relayed');
      assert.ok(!first!.upstream.eventTypes.includes('initial-response'), 'kinesis-local sends no initial-response');
      assert.deepEqual(second!.startingPosition, { Type: 'LATEST' });
      assert.deepEqual(second!.ended, { how: 'failed', errorType: 'ResourceInUseException', from: 'upstream' });
    });

    test('endShard: the next event without records becomes the ChildShards event, then the iterator ends', { timeout: 15_000 }, async () => {
      const [seq0] = await put(1, 3, 'b');
      const out = await subscribe(1, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq0 });
      const carried = proxy.endShard(shards[1]!.id, CHILDREN);
      const { events, error } = await collect(out.EventStream);
      assert.equal(error, undefined);
      assert.deepEqual(texts(events), ['b-1', 'b-2']);
      const last = events.at(-1)!;
      assert.deepEqual(last.ChildShards, CHILDREN);
      assert.equal(last.ContinuationSequenceNumber, undefined);
      assert.equal(last.MillisBehindLatest, 0);
      assert.ok(events.slice(0, -1).every((e) => e.ContinuationSequenceNumber !== undefined && e.ChildShards === undefined));

      const s = await carried;
      assert.deepEqual(s.startingPosition, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq0 });
      assert.deepEqual(s.ended, { how: 'shard-end' });
      assert.equal(s.flow.events, events.length);
    });

    for (const [n, errorType] of [
      [2, 'InternalFailureException'],
      [3, 'ResourceInUseException'],
    ] as const) {
      test(`failSubscription(${errorType}): the SDK's iterator throws it mid-stream`, { timeout: 15_000 }, async () => {
        const [seq0] = await put(n, 2, 'c');
        const out = await subscribe(n, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq0 });
        const { events, error } = await collect(out.EventStream, () => {
          proxy.failSubscription(shards[n]!.id, errorType, 'injected by the test');
        });
        assert.ok(error instanceof Error, String(error));
        assert.equal(error.name, errorType);
        assert.equal(error.message, 'injected by the test');
        assert.deepEqual(texts(events), ['c-0', 'c-1']);
        const [s] = subscriptionOf(n);
        assert.deepEqual(s!.startingPosition, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq0 });
        assert.deepEqual(s!.ended, { how: 'failed', errorType, from: 'test' });
      });
    }
  });
});
