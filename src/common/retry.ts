/**
 * The one retry policy. Every loop that retries a call to AWS (and every lifecycle task that backs off) takes
 * its waits from here: exponential from `firstDelayMillis`, capped at `maxDelayMillis`, with jitter (half the
 * wait fixed, half random) so a fleet that failed together does not retry together, and a bounded number of
 * attempts. The SDK's own retries are off (see aws/clients.ts), so attempts never multiply.
 *
 * Which errors are worth another attempt is the error's own `retriable` flag (KclError; AWS errors are
 * classified once in aws/errors.ts); a stop signal ends the waiting at once.
 */
import type { Clock } from './clock.js';
import { KclError, toError } from './errors.js';

export interface RetryPolicy {
  /** The wait before the first retry. */
  readonly firstDelayMillis: number;
  /** No wait is longer than this. */
  readonly maxDelayMillis: number;
  /** Attempts in all, the first included; Infinity = until stopped. */
  readonly maxAttempts: number;
  /** False: the exact exponential wait (for a worker's own tasks, which no fleet repeats in step). Default true. */
  readonly jitter?: boolean;
}

/**
 * The policies, by what the calls are for. Lease writes are few and short: a renewal that cannot land within
 * its renewal period is worth nothing, so they retry once, quickly. Reads of records retry for as long as the
 * lease is held. Start-up retries for about half a minute (the Java scheduler's 20 attempts) before it
 * fails the start.
 */
export const RETRY = {
  leaseWrite: { firstDelayMillis: 100, maxDelayMillis: 400, maxAttempts: 2 },
  leaseRead: { firstDelayMillis: 100, maxDelayMillis: 1_000, maxAttempts: 3 },
  records: { firstDelayMillis: 200, maxDelayMillis: 10_000, maxAttempts: Number.POSITIVE_INFINITY },
  shardList: { firstDelayMillis: 100, maxDelayMillis: 2_000, maxAttempts: 10 },
  startup: { firstDelayMillis: 500, maxDelayMillis: 2_000, maxAttempts: 20 },
  produce: { firstDelayMillis: 100, maxDelayMillis: 5_000, maxAttempts: Number.POSITIVE_INFINITY },
  /** PutMetricData: a few quick tries, then the batch is dropped (and counted); the next interval tries again. */
  metrics: { firstDelayMillis: 200, maxDelayMillis: 1_000, maxAttempts: 3 },
} as const satisfies Record<string, RetryPolicy>;

/** A lifecycle task (initialize, shardEnded, a processor restart) backs off from the `taskBackoffTimeMillis` key. */
export function taskBackoffPolicy(taskBackoffTimeMillis: number): RetryPolicy {
  return { firstDelayMillis: taskBackoffTimeMillis, maxDelayMillis: 30_000, maxAttempts: Number.POSITIVE_INFINITY, jitter: false };
}

/**
 * The wait before retry number `retry` (1 = after the first failure): base × 2^(retry−1), capped, of which half
 * is fixed and half random (unless the policy says no jitter). `random` is an input so tests are exact.
 */
export function retryDelayMillis(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMillis, policy.firstDelayMillis * 2 ** Math.min(Math.max(retry - 1, 0), 30));
  if (policy.jitter === false) return exponential;
  return exponential / 2 + random() * (exponential / 2);
}

/** Retriable unless it says otherwise: a KclError carries the verdict; anything else is a bug, not retried. */
export function isRetriable(err: unknown): boolean {
  return err instanceof KclError && err.retriable;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  /** Stops retrying: the last error is thrown (or the abort reason, if the signal ended a wait). */
  readonly signal?: AbortSignal;
  readonly random?: () => number;
  /** Default: isRetriable. */
  readonly retriable?: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log or to emit a failing-state event. */
  readonly onRetry?: (info: { error: Error; attempt: number; delayMillis: number }) => void;
}

/** Runs `fn` until it succeeds, the error is not retriable, the attempts run out or the signal aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const error = toError(err);
      if (attempt >= options.policy.maxAttempts || !retriable(error) || options.signal?.aborted) throw error;
      const delayMillis = retryDelayMillis(options.policy, attempt, options.random);
      options.onRetry?.({ error, attempt, delayMillis });
      try {
        await options.clock.sleep(delayMillis, options.signal);
      } catch {
        throw error;
      }
    }
  }
}
