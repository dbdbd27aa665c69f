/**
 * VirtualClock (src/common/clock.ts): time moves only on advance(), sleepers fire in deadline order with the
 * clock reading their deadline, aborts reject with the signal's reason, and sleepUnlessAborted maps an abort
 * to `false`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, flushMicrotasks, sleepUnlessAborted } from '../../src/common/clock.js';

describe('VirtualClock', () => {
  test('starts at 0 and only moves on advance()', async () => {
    const clock = new VirtualClock();
    assert.equal(clock.now(), 0);
    await flushMicrotasks();
    assert.equal(clock.now(), 0);
    await clock.advance(250);
    assert.equal(clock.now(), 250);
    await clock.advance(0);
    assert.equal(clock.now(), 250);
    await clock.advance(1_000);
    assert.equal(clock.now(), 1_250);
  });

  test('wallNow is the start date plus virtual time', async () => {
    const clock = new VirtualClock(new Date('2030-05-06T07:08:09.000Z'));
    assert.equal(clock.wallNow().toISOString(), '2030-05-06T07:08:09.000Z');
    await clock.advance(61_001);
    assert.equal(clock.wallNow().toISOString(), '2030-05-06T07:09:10.001Z');
  });

  test('sleeps resolve in deadline order, each seeing now() = its deadline; ties in call order', async () => {
    const clock = new VirtualClock();
    const fired: [string, number][] = [];
    const sleepers = [
      clock.sleep(300).then(() => fired.push(['c300', clock.now()])),
      clock.sleep(100).then(() => fired.push(['a100', clock.now()])),
      clock.sleep(200).then(() => fired.push(['b200-first', clock.now()])),
      clock.sleep(200).then(() => fired.push(['b200-second', clock.now()])),
      clock.sleep(5_000).then(() => fired.push(['late', clock.now()])),
    ];
    assert.equal(clock.pendingSleeps, 5);
    await clock.advance(1_000);
    assert.deepEqual(fired, [
      ['a100', 100],
      ['b200-first', 200],
      ['b200-second', 200],
      ['c300', 300],
    ]);
    assert.equal(clock.now(), 1_000);
    assert.equal(clock.pendingSleeps, 1);
    await clock.advance(4_000);
    assert.deepEqual(fired.at(-1), ['late', 5_000]);
    await Promise.all(sleepers);
  });

  test('a sleep does not resolve one millisecond early', async () => {
    const clock = new VirtualClock();
    let done = false;
    void clock.sleep(500).then(() => {
      done = true;
    });
    await clock.advance(499);
    assert.equal(done, false);
    await clock.advance(1);
    assert.equal(done, true);
  });

  test('sleeps started during an advance fire within the same advance if due', async () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(100);
        ticks.push(clock.now());
      }
    })();
    await clock.advance(350);
    assert.deepEqual(ticks, [100, 200, 300]);
    assert.equal(clock.now(), 350);
    await clock.advance(150);
    assert.deepEqual(ticks, [100, 200, 300, 400, 500]);
    await loop;
  });

  test('sleep(0) and negative sleeps resolve on the next advance(0)', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    void clock.sleep(0).then(() => fired.push('zero'));
    void clock.sleep(-50).then(() => fired.push('negative'));
    await flushMicrotasks();
    assert.deepEqual(fired, []);
    await clock.advance(0);
    assert.deepEqual(fired, ['zero', 'negative']);
    assert.equal(clock.now(), 0);
  });

  test('abort rejects with the signal reason and removes the sleeper', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const reason = new Error('stop now');
    const sleeping = clock.sleep(1_000, controller.signal);
    assert.equal(clock.pendingSleeps, 1);
    controller.abort(reason);
    await assert.rejects(sleeping, (err: unknown) => err === reason);
    assert.equal(clock.pendingSleeps, 0);
    // Advancing past the old deadline does nothing and does not throw.
    await clock.advance(2_000);
  });

  test('a signal that is already aborted rejects at once without registering a sleeper', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    controller.abort('already');
    await assert.rejects(clock.sleep(10, controller.signal), (err: unknown) => err === 'already');
    assert.equal(clock.pendingSleeps, 0);
  });

  test('aborting one sleeper leaves the others alone', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const fired: string[] = [];
    const a = clock.sleep(100, controller.signal).then(
      () => fired.push('a resolved'),
      () => fired.push('a aborted'),
    );
    const b = clock.sleep(100).then(() => fired.push('b resolved'));
    controller.abort();
    await clock.advance(100);
    await Promise.all([a, b]);
    assert.deepEqual(fired, ['a aborted', 'b resolved']);
  });

  test('aborting after the sleep resolved has no effect', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(10, controller.signal);
    await clock.advance(10);
    await sleeping;
    controller.abort();
    assert.equal(clock.pendingSleeps, 0);
  });
});

describe('sleepUnlessAborted', () => {
  test('true when the sleep completes, false when aborted', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const completed = sleepUnlessAborted(clock, 100, controller.signal);
    await clock.advance(100);
    assert.equal(await completed, true);
    const interrupted = sleepUnlessAborted(clock, 100, controller.signal);
    controller.abort(new Error('x'));
    assert.equal(await interrupted, false);
    assert.equal(clock.now(), 100);
  });
});
