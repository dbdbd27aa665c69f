/**
 * The clock seam. Lease expiry, renewal periods and backoffs read time and wait only through a Clock, so the
 * lease logic and the consumer state machine run under a virtual clock in unit tests.
 */

export interface Clock {
  /** Monotonic milliseconds: only differences are meaningful. */
  now(): number;
  /** Wall-clock time, for timestamps shown to people and for AT_TIMESTAMP. */
  wallNow(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Like `clock.sleep`, but resolves `false` (instead of rejecting) when the signal aborts. */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await clock.sleep(ms, signal);
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    throw err;
  }
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every sleeper whose deadline has come, in deadline
 * order, letting each one's continuation run before the next fires.
 */
export class VirtualClock implements Clock {
  private current = 0;
  private sleepers: { at: number; resolve: () => void; seq: number }[] = [];
  private seq = 0;
  constructor(private wallStart = new Date('2026-01-01T00:00:00Z')) {}

  now(): number {
    return this.current;
  }
  wallNow(): Date {
    return new Date(this.wallStart.getTime() + this.current);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(signal?.reason);
      };
      // As the system clock does: a sleep that ended leaves no listener on a long-lived signal.
      const entry = { at: this.current + Math.max(0, ms), resolve: () => (signal?.removeEventListener('abort', onAbort), resolve()), seq: this.seq++ };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  /** Number of pending sleeps; lets a test wait until the code under test is parked. */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.current = Math.max(this.current, due.at);
      due.resolve();
    }
    this.current = target;
    await flushMicrotasks();
  }
}

/** Lets pending promise continuations (including ones a few hops deep) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
