/**
 * The one retry policy: waits grow exponentially to a cap with half of each wait random, attempts are bounded,
 * only retriable errors are retried, and a stop signal ends the waiting.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/common/clock.js';
import { IllegalArgumentException, KinesisClientLibDependencyException, ThrottlingException } from '../../src/common/errors.js';
import { retry, retryDelayMillis, taskBackoffPolicy, type RetryPolicy } from '../../src/common/retry.js';

const policy: RetryPolicy = { firstDelayMillis: 100, maxDelayMillis: 1_000, maxAttempts: 4 };

describe('retryDelayMillis', () => {
  test('doubles from the first delay up to the cap; half of each wait is random', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelayMillis(policy, n, () => 1)), [100, 200, 400, 800, 1_000, 1_000]);
    assert.deepEqual([1, 2, 3].map((n) => retryDelayMillis(policy, n, () => 0)), [50, 100, 200]);
  });

  test('a task backoff has no jitter and starts at taskBackoffTimeMillis', () => {
    const task = taskBackoffPolicy(500);
    assert.deepEqual([1, 2, 3, 7].map((n) => retryDelayMillis(task, n, () => 0)), [500, 1_000, 2_000, 30_000]);
  });
});

describe('retry', () => {
  async function runWith(errors: Error[], options: { signal?: AbortSignal } = {}) {
    const clock = new VirtualClock();
    const waits: number[] = [];
    let calls = 0;
    const result = retry(
      async () => {
        const error = errors[calls++];
        if (error) throw error;
        return 'ok';
      },
      { policy, clock, random: () => 1, signal: options.signal, onRetry: ({ delayMillis }) => waits.push(delayMillis) },
    );
    const settled = result.then(
      (value) => ({ value }),
      (error: Error) => ({ error }),
    );
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    return { outcome: await settled, calls: () => calls, waits };
  }

  test('retries retriable errors with the policy waits until it succeeds', async () => {
    const { outcome, calls, waits } = await runWith([new ThrottlingException('slow down'), new KinesisClientLibDependencyException('reset')]);
    assert.deepEqual(outcome, { value: 'ok' });
    assert.equal(calls(), 3);
    assert.deepEqual(waits, [100, 200]);
  });

  test('gives up after maxAttempts with the last error', async () => {
    const errors = [1, 2, 3, 4, 5].map((n) => new KinesisClientLibDependencyException(`failure ${n}`));
    const { outcome, calls } = await runWith(errors);
    assert.equal(calls(), 4);
    assert.equal('error' in outcome && outcome.error.message, 'failure 4');
  });

  test('does not retry an error that is not retriable', async () => {
    const { outcome, calls } = await runWith([new IllegalArgumentException('bad input')]);
    assert.equal(calls(), 1);
    assert.ok('error' in outcome && outcome.error instanceof IllegalArgumentException);
  });

  test('a stop signal ends the waiting and throws the last error', async () => {
    const stop = new AbortController();
    const clock = new VirtualClock();
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        throw new KinesisClientLibDependencyException('down');
      },
      { policy, clock, signal: stop.signal },
    );
    await clock.advance(0);
    stop.abort();
    await assert.rejects(result, /down/);
    assert.equal(calls, 1);
  });
});
