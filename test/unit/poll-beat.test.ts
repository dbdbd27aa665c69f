/**
 * The shared poll beat (src/retrieval/poll-beat.ts) and the polling source on it, under the virtual clock:
 * idle shards started at different moments end up polling in the same wake-up; no poll is ever later than
 * idleTimeBetweenReads after the previous one; a shard that got records keeps its own exact pace; aborted
 * waits leave no timer behind.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { VirtualClock, flushMicrotasks } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { PollBeat } from '../../src/retrieval/poll-beat.js';
import { PollingRecordsSource, idlePace } from '../../src/retrieval/polling.js';

describe('PollBeat', () => {
  test('waits for the latest beat at or before the due time; at once when it has passed', async () => {
    const clock = new VirtualClock();
    const beat = new PollBeat(clock, 100);
    await clock.advance(1_030);
    const woke: number[] = [];
    const signal = new AbortController().signal;
    const on: (number | undefined)[] = [];
    for (const due of [1_299, 1_250, 1_200]) {
      void beat.wait(due, signal).then((at) => {
        on.push(at);
        woke.push(clock.now());
      });
    }
    assert.equal(beat.pendingBeats, 1, 'three waiters, one beat (1200)');
    assert.equal(await beat.wait(1_099, signal), 1_000, 'beat 1000 has passed: at once');
    await clock.advance(169);
    assert.deepEqual(woke, []);
    await clock.advance(1);
    assert.deepEqual(woke, [1_200, 1_200, 1_200]);
    assert.deepEqual(on, [1_200, 1_200, 1_200]);
    assert.equal(beat.pendingBeats, 0);
  });

  test('an abort resolves false; the beat timer stops with its last waiter', async () => {
    const clock = new VirtualClock();
    const beat = new PollBeat(clock, 100);
    const a = new AbortController();
    const b = new AbortController();
    const first = beat.wait(500, a.signal);
    const second = beat.wait(500, b.signal);
    assert.equal(clock.pendingSleeps, 1);
    a.abort();
    assert.equal(await first, undefined);
    assert.equal(clock.pendingSleeps, 1, 'still one waiter');
    b.abort();
    assert.equal(await second, undefined);
    await flushMicrotasks();
    assert.equal(clock.pendingSleeps, 0);
    assert.equal(beat.pendingBeats, 0);
  });
});

/** A Kinesis client that answers GetShardIterator and GetRecords at once, logging when each GetRecords was made. */
function fakeKinesis(clock: VirtualClock, records: (call: number) => number) {
  const calls: number[] = [];
  const client = {
    send: async (command: object) => {
      if (!(command instanceof GetRecordsCommand)) return { ShardIterator: 'it' };
      calls.push(clock.now());
      const n = records(calls.length);
      const base = calls.length * 10;
      return {
        Records: Array.from({ length: n }, (_, i) => ({ SequenceNumber: String(base + i), PartitionKey: 'k', Data: new Uint8Array([1]) })),
        NextShardIterator: 'it',
        MillisBehindLatest: 0,
      };
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

function source(clock: VirtualClock, kinesis: KinesisClient, beat: PollBeat | undefined, idle = 1_000, maxIdle?: number) {
  return new PollingRecordsSource(
    kinesis,
    {
      streamName: 's',
      shardId: 'shardId-0',
      start: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      maxRecords: 100,
      idleTimeBetweenReadsMillis: idle,
      maxPendingBatches: 1_000,
      beat,
      maxIdleTimeBetweenReadsMillis: maxIdle,
    },
    clock,
    silentLogger,
  );
}

/** Takes batches as they come, so the source's queue never holds it up. */
function drain(s: PollingRecordsSource, signal: AbortSignal): void {
  void (async () => {
    while (!signal.aborted) await s.next(signal).catch(() => undefined);
  })();
}

describe('PollingRecordsSource on the beat', () => {
  test('idle shards started apart poll in the same wake-up, never later than the idle time', async () => {
    const clock = new VirtualClock();
    const beat = PollBeat.forIdleMillis(clock, 1_000)!;
    const stop = new AbortController();
    const shards = [0, 130, 200, 777].map((offset) => ({ offset, ...fakeKinesis(clock, () => 0) }));
    const sources: PollingRecordsSource[] = [];
    for (const shard of shards) {
      await clock.advance(shard.offset - clock.now());
      const s = source(clock, shard.client, beat);
      sources.push(s);
      drain(s, stop.signal);
      await flushMicrotasks();
    }
    await clock.advance(10_000);
    for (const { calls, offset } of shards) {
      assert.equal(calls[0], offset, 'the first read at once');
      for (let i = 1; i < calls.length; i++) assert.ok(calls[i]! - calls[i - 1]! <= 1_000, `interval ${calls[i]! - calls[i - 1]!} ≤ idle`);
      assert.ok(calls[1]! - calls[0]! > 750, 'joining the beat shortens one interval by less than a beat');
      // From the second read on, every read is on a beat, and from the third on, exactly one idle time apart.
      for (const at of calls.slice(1)) assert.equal(at % 250, 0);
      for (let i = 2; i < calls.length; i++) assert.equal(calls[i]! - calls[i - 1]!, 1_000);
    }
    // After joining, the four shards read at only two moments per second instead of four.
    const moments = new Set(shards.flatMap(({ calls }) => calls.slice(2).map((t) => t % 1_000)));
    assert.ok(moments.size <= 2, `poll moments per idle interval: ${[...moments].join(', ')}`);
    stop.abort();
    await Promise.all(sources.map((s) => s.close()));
    await flushMicrotasks();
    assert.equal(beat.pendingBeats, 0);
    assert.equal(clock.pendingSleeps, 0);
  });

  test('a shard that got records keeps its exact pace; it joins the beat once a read comes back empty', async () => {
    const clock = new VirtualClock();
    const beat = PollBeat.forIdleMillis(clock, 1_000)!;
    const stop = new AbortController();
    await clock.advance(130);
    const shard = fakeKinesis(clock, (call) => (call <= 3 ? 2 : 0));
    const s = source(clock, shard.client, beat);
    drain(s, stop.signal);
    await clock.advance(6_000);
    assert.deepEqual(shard.calls.slice(0, 4), [130, 1_130, 2_130, 3_130], 'reads with records: exactly idle apart');
    assert.equal(shard.calls[4], 4_000, 'after the first empty read: the latest beat before due (4130)');
    assert.equal(shard.calls[5], 5_000);
    stop.abort();
    await s.close();
  });

  test('a beat timer that fires a little early does not pull the polls a beat earlier each time', async () => {
    const virtual = new VirtualClock();
    // Real timers may fire a fraction of a millisecond before their time (the event loop's cached time).
    const clock = Object.assign(Object.create(virtual) as VirtualClock, { sleep: (ms: number, signal?: AbortSignal) => virtual.sleep(Math.max(0, ms - 0.5), signal) });
    const beat = PollBeat.forIdleMillis(clock, 1_000)!;
    const stop = new AbortController();
    await virtual.advance(130);
    const shard = fakeKinesis(virtual, () => 0);
    const s = source(clock, shard.client, beat);
    drain(s, stop.signal);
    await virtual.advance(10_000);
    const intervals = shard.calls.slice(2).map((t, i) => t - shard.calls[i + 1]!);
    assert.ok(intervals.every((d) => d >= 999), `intervals ${intervals.join(', ')}`);
    assert.equal(shard.calls.length, 11);
    stop.abort();
    await s.close();
  });

  test('without a beat, idle reads stay exactly idle apart', async () => {
    const clock = new VirtualClock();
    const stop = new AbortController();
    await clock.advance(130);
    const shard = fakeKinesis(clock, () => 0);
    const s = source(clock, shard.client, undefined);
    drain(s, stop.signal);
    await clock.advance(3_000);
    assert.deepEqual(shard.calls, [130, 1_130, 2_130, 3_130]);
    stop.abort();
    await s.close();
  });
});

describe('maxIdleTimeBetweenReadsInMillis (opt-in)', () => {
  test('idlePace: the idle time, doubling from the second empty read up to the maximum; off when not above the idle time', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => idlePace(1_000, 5_000, n)), [1_000, 1_000, 2_000, 4_000, 5_000, 5_000]);
    assert.deepEqual([1, 2, 3].map((n) => idlePace(1_000, undefined, n)), [1_000, 1_000, 1_000]);
    assert.deepEqual([1, 2, 3].map((n) => idlePace(1_000, 1_000, n)), [1_000, 1_000, 1_000]);
    assert.deepEqual([1, 2, 3, 9].map((n) => idlePace(0, 1_000, n)), [0, 400, 800, 1_000]);
  });

  test('empty reads space out up to the maximum, on the beat; a read with records brings the idle time back at once', async () => {
    const clock = new VirtualClock();
    const beat = PollBeat.forIdleMillis(clock, 1_000)!;
    const stop = new AbortController();
    const shard = fakeKinesis(clock, (call) => (call === 6 ? 1 : 0));
    const s = source(clock, shard.client, beat, 1_000, 4_000);
    drain(s, stop.signal);
    await clock.advance(20_000);
    assert.deepEqual(shard.calls.slice(0, 9), [0, 1_000, 3_000, 7_000, 11_000, 15_000, 16_000, 17_000, 19_000]);
    stop.abort();
    await s.close();
  });
});
