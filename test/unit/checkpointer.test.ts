/**
 * RecordProcessorCheckpointer (docs/checkpoints.md, 'Checkpoint rules'): range checks against the last checkpoint and the largest
 * delivered position, SHARD_END mapping after the shard ended, no-op writes, ShutdownException after close,
 * failure handling and serialisation of concurrent calls.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RecordProcessorCheckpointer } from '../../src/checkpoint/checkpointer.js';
import { SHARD_END, TRIM_HORIZON, LATEST, type ExtendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { IllegalArgumentException, ShutdownException, ThrottlingException } from '../../src/common/errors.js';
import { flushMicrotasks } from '../../src/common/clock.js';
import { deferred, type Deferred } from '../helpers/deferred.js';

const esn = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({ sequenceNumber, subSequenceNumber });


/** A recording write function: by default resolves at once; `failNext` / `hold` change the next call. */
class FakeWrite {
  readonly calls: ExtendedSequenceNumber[] = [];
  /** Writes that were started but whose promise is still pending (only when `holdWrites`). */
  readonly pending: Deferred<void>[] = [];
  holdWrites = false;
  failWith: unknown;
  inFlight = 0;
  maxInFlight = 0;
  readonly fn = (value: ExtendedSequenceNumber): Promise<void> => {
    this.calls.push(value);
    if (this.failWith !== undefined) {
      const err = this.failWith;
      this.failWith = undefined;
      return Promise.reject(err);
    }
    if (!this.holdWrites) return Promise.resolve();
    const d = deferred<void>();
    this.pending.push(d);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return d.promise.finally(() => {
      this.inFlight--;
    });
  };
}

function make(start: ExtendedSequenceNumber, largest?: ExtendedSequenceNumber): { cp: RecordProcessorCheckpointer; write: FakeWrite } {
  const write = new FakeWrite();
  const cp = new RecordProcessorCheckpointer('shardId-000000000001', start, write.fn);
  if (largest) cp.advanceLargestPermitted(largest);
  return { cp, write };
}

const isIllegal = (err: unknown): boolean => err instanceof IllegalArgumentException && err.name === 'IllegalArgumentException';
const isShutdown = (err: unknown): boolean => err instanceof ShutdownException && err.name === 'ShutdownException';

describe('RecordProcessorCheckpointer', () => {
  test('starts with last = largest = the stored checkpoint', () => {
    const { cp } = make(esn('500', 2));
    assert.deepEqual(cp.lastCheckpoint, esn('500', 2));
    assert.deepEqual(cp.largestPermittedCheckpoint, esn('500', 2));
  });

  test('advanceLargestPermitted only moves forward', () => {
    const { cp } = make(TRIM_HORIZON, esn('200', 1));
    cp.advanceLargestPermitted(esn('150'));
    assert.deepEqual(cp.largestPermittedCheckpoint, esn('200', 1));
    cp.advanceLargestPermitted(esn('200', 2));
    assert.deepEqual(cp.largestPermittedCheckpoint, esn('200', 2));
  });

  test('checkpoint() writes the largest permitted value and moves lastCheckpoint', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('100', 3));
    await cp.checkpoint();
    assert.deepEqual(write.calls, [esn('100', 3)]);
    assert.deepEqual(cp.lastCheckpoint, esn('100', 3));
  });

  test('checkpoint() of the value already stored is a no-op (no write)', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('100'));
    await cp.checkpoint();
    await cp.checkpoint();
    await cp.checkpoint('100');
    await cp.checkpoint('100', 0);
    assert.deepEqual(write.calls, [esn('100')]);
  });

  test('checkpoint() with nothing delivered since the start is a no-op', async () => {
    const a = make(TRIM_HORIZON);
    await a.cp.checkpoint();
    assert.deepEqual(a.write.calls, []);
    const b = make(esn('777', 1));
    await b.cp.checkpoint();
    await b.cp.checkpoint('777', 1);
    assert.deepEqual(b.write.calls, []);
  });

  test('explicit (seq, sub) within range is written exactly', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('200', 5));
    await cp.checkpoint('150');
    await cp.checkpoint('200', 3);
    await cp.checkpoint('200', 5);
    assert.deepEqual(write.calls, [esn('150'), esn('200', 3), esn('200', 5)]);
    assert.deepEqual(cp.lastCheckpoint, esn('200', 5));
  });

  test('numbers longer than 2^64 are range-checked as big integers', async () => {
    const base = '49590338271490256608559692538361571095921575989136588898';
    const next = (BigInt(base) + 1n).toString();
    const { cp, write } = make(esn(base), esn(base, 4));
    await assert.rejects(cp.checkpoint(next), isIllegal);
    await cp.checkpoint(base, 4);
    assert.deepEqual(write.calls, [esn(base, 4)]);
  });

  test('beyond the largest permitted → IllegalArgumentException, nothing written', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('200', 5));
    await assert.rejects(cp.checkpoint('201'), isIllegal);
    await assert.rejects(cp.checkpoint('200', 6), isIllegal);
    await assert.rejects(cp.checkpoint('SHARD_END'), isIllegal);
    assert.deepEqual(write.calls, []);
    assert.deepEqual(cp.lastCheckpoint, TRIM_HORIZON);
  });

  test('behind the last checkpoint → IllegalArgumentException, nothing written', async () => {
    const { cp, write } = make(esn('100', 2), esn('300'));
    await assert.rejects(cp.checkpoint('99'), isIllegal);
    await assert.rejects(cp.checkpoint('100', 1), isIllegal);
    await assert.rejects(cp.checkpoint('TRIM_HORIZON'), isIllegal);
    await assert.rejects(cp.checkpoint('LATEST'), isIllegal);
    assert.deepEqual(write.calls, []);
    assert.deepEqual(cp.lastCheckpoint, esn('100', 2));
  });

  test('moving backwards after a successful checkpoint is rejected', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    await cp.checkpoint('250');
    await assert.rejects(cp.checkpoint('200'), isIllegal);
    assert.deepEqual(write.calls, [esn('250')]);
  });

  test('bad strings and sub-sequences → IllegalArgumentException (rejected promise, not a synchronous throw)', async () => {
    const { cp, write } = make(LATEST, esn('300'));
    for (const [seq, sub] of [['abc', undefined], ['', undefined], ['12a', undefined], ['-5', undefined], ['1'.repeat(130), undefined], ['200', -1], ['200', 1.5]] as const) {
      let promise: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        promise = cp.checkpoint(seq, sub);
      }, `${seq}/${String(sub)} threw synchronously`);
      await assert.rejects(promise!, isIllegal, `${seq}/${String(sub)}`);
    }
    await assert.rejects(cp.checkpoint(42 as unknown as string), isIllegal);
    await assert.rejects(cp.checkpoint({} as unknown as string), isIllegal);
    assert.deepEqual(write.calls, []);
  });

  test('record object form uses the record sequence and sub-sequence numbers', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300', 9));
    await cp.checkpoint({ sequenceNumber: '300', subSequenceNumber: 4 });
    assert.deepEqual(write.calls, [esn('300', 4)]);
    await assert.rejects(cp.checkpoint({ sequenceNumber: '300', subSequenceNumber: 10 }), isIllegal);
    await assert.rejects(cp.checkpoint({ sequenceNumber: '300', subSequenceNumber: 3 }), isIllegal);
    await assert.rejects(cp.checkpoint({ sequenceNumber: 'x1', subSequenceNumber: 5 }), isIllegal);
    await assert.rejects(cp.checkpoint({ sequenceNumber: '300', subSequenceNumber: -1 }), isIllegal);
    assert.deepEqual(write.calls, [esn('300', 4)]);
  });

  test('a record without a sub-sequence number counts as sub-sequence 0', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300', 9));
    await cp.checkpoint({ sequenceNumber: '250' } as unknown as { sequenceNumber: string; subSequenceNumber: number });
    assert.deepEqual(write.calls, [esn('250', 0)]);
  });

  describe('after markShardEnd', () => {
    test('largest permitted becomes SHARD_END and checkpoint() writes SHARD_END', async () => {
      const { cp, write } = make(esn('100'), esn('300', 2));
      cp.markShardEnd();
      assert.deepEqual(cp.largestPermittedCheckpoint, SHARD_END);
      await cp.checkpoint();
      assert.deepEqual(write.calls, [SHARD_END]);
      assert.deepEqual(cp.lastCheckpoint, SHARD_END);
    });

    test('checkpoint(last delivered seq, sub) writes SHARD_END', async () => {
      const { cp, write } = make(esn('100'), esn('300', 2));
      cp.markShardEnd();
      await cp.checkpoint('300', 2);
      assert.deepEqual(write.calls, [SHARD_END]);
      assert.deepEqual(cp.lastCheckpoint, SHARD_END);
    });

    test('checkpoint(last delivered record) writes SHARD_END', async () => {
      const { cp, write } = make(esn('100'), esn('300'));
      cp.markShardEnd();
      await cp.checkpoint({ sequenceNumber: '300', subSequenceNumber: 0 });
      assert.deepEqual(write.calls, [SHARD_END]);
    });

    test('a position before the last delivered one is written as itself', async () => {
      const { cp, write } = make(esn('100'), esn('300'));
      cp.markShardEnd();
      await cp.checkpoint('250');
      assert.deepEqual(write.calls, [esn('250')]);
      assert.deepEqual(cp.lastCheckpoint, esn('250'));
    });

    test('shard ended with nothing delivered: checkpoint() still writes SHARD_END', async () => {
      const { cp, write } = make(TRIM_HORIZON);
      cp.markShardEnd();
      await cp.checkpoint();
      assert.deepEqual(write.calls, [SHARD_END]);
    });

    test('once SHARD_END is stored, checkpointing it again is a no-op', async () => {
      const { cp, write } = make(esn('100'), esn('300'));
      cp.markShardEnd();
      await cp.checkpoint();
      await cp.checkpoint();
      await cp.checkpoint('SHARD_END');
      assert.deepEqual(write.calls, [SHARD_END]);
    });
  });

  test('after close(), every checkpoint call fails with ShutdownException and writes nothing', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    cp.close('the lease was lost');
    await assert.rejects(cp.checkpoint(), (err: unknown) => isShutdown(err) && /the lease was lost/.test((err as Error).message));
    await assert.rejects(cp.checkpoint('200'), isShutdown);
    // Even a checkpoint of the value already stored reports the shutdown.
    await assert.rejects(cp.checkpoint('TRIM_HORIZON'), isShutdown);
    assert.deepEqual(write.calls, []);
    assert.deepEqual(cp.lastCheckpoint, TRIM_HORIZON);
  });

  test('a write failure propagates unchanged and lastCheckpoint does not move; the next call still works', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    const boom = new ThrottlingException('throttled');
    write.failWith = boom;
    await assert.rejects(cp.checkpoint('200'), (err: unknown) => err === boom);
    assert.deepEqual(cp.lastCheckpoint, TRIM_HORIZON);
    await cp.checkpoint('200');
    assert.deepEqual(write.calls, [esn('200'), esn('200')]);
    assert.deepEqual(cp.lastCheckpoint, esn('200'));
  });

  test('concurrent calls are serialised: the second write starts only after the first resolves', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    write.holdWrites = true;
    let firstDone = false;
    let secondDone = false;
    const first = cp.checkpoint('100').then(() => {
      firstDone = true;
    });
    const second = cp.checkpoint('300').then(() => {
      secondDone = true;
    });
    await flushMicrotasks();
    assert.deepEqual(write.calls, [esn('100')]);
    assert.equal(write.pending.length, 1);
    assert.equal(firstDone, false);

    write.pending[0]!.resolve();
    await flushMicrotasks();
    assert.equal(firstDone, true);
    assert.equal(secondDone, false);
    assert.deepEqual(cp.lastCheckpoint, esn('100'));
    assert.deepEqual(write.calls, [esn('100'), esn('300')]);

    write.pending[1]!.resolve();
    await Promise.all([first, second]);
    assert.equal(secondDone, true);
    assert.equal(write.maxInFlight, 1);
    assert.deepEqual(cp.lastCheckpoint, esn('300'));
  });

  test('a failed first write does not block or fail the queued second one', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    write.holdWrites = true;
    const first = cp.checkpoint('100');
    const second = cp.checkpoint('300');
    await flushMicrotasks();
    write.pending[0]!.reject(new Error('network'));
    await assert.rejects(first, /network/);
    await flushMicrotasks();
    assert.equal(write.pending.length, 2);
    write.pending[1]!.resolve();
    await second;
    assert.deepEqual(write.calls, [esn('100'), esn('300')]);
    assert.deepEqual(cp.lastCheckpoint, esn('300'));
  });

  test('concurrent duplicates: the queued call for the same value becomes a no-op', async () => {
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    write.holdWrites = true;
    const first = cp.checkpoint();
    const second = cp.checkpoint();
    await flushMicrotasks();
    write.pending[0]!.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(write.calls, [esn('300')]);
  });

  test('a queued call behind a higher in-flight checkpoint must not move the checkpoint backwards', async () => {
    // Java's checkpointer methods are synchronized: the second call is validated only after the first write
    // completed, against lastCheckpoint = 300, so it is out of range (IllegalArgumentException: a checkpoint never moves
    // backwards, see docs/checkpoints.md, 'Checkpoint rules'). Here the range check has to see the position as of when the write actually runs.
    const { cp, write } = make(TRIM_HORIZON, esn('300'));
    write.holdWrites = true;
    const high = cp.checkpoint('300');
    const low = cp.checkpoint('100');
    const lowOutcome = low.then(
      () => 'resolved',
      (err: unknown) => (isIllegal(err) ? 'IllegalArgumentException' : `other: ${String(err)}`),
    );
    await flushMicrotasks();
    write.pending[0]?.resolve();
    await high;
    await flushMicrotasks();
    write.pending[1]?.resolve();
    assert.equal(await lowOutcome, 'IllegalArgumentException');
    assert.deepEqual(write.calls, [esn('300')]);
    assert.deepEqual(cp.lastCheckpoint, esn('300'));
  });
});
