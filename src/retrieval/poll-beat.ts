/**
 * The beat idle shards poll on (docs/performance.md, 'Idle shards'). Waking the process for a single GetRecords
 * costs about twice the CPU of the same call made together with others. So the polling sources of one worker
 * share a beat: a shard whose last read was empty
 * makes its next call on the latest beat at or before the moment it is due, and every shard due around the same
 * time calls in the same wake-up.
 *
 * A poll is never made later than it is due, so no record waits longer for it; it may come up to one beat
 * period early, once, when a shard joins the beat (after that the shard stays on it, since the idle time is a
 * whole number of beats). The beat owns one timer per beat that has waiters, stopped when the last one leaves.
 */
import type { Clock } from '../common/clock.js';

/** Beats per idle interval: an idle shard's poll may come up to idle / BEATS_PER_IDLE early when it joins. */
export const BEATS_PER_IDLE = 4;

interface Beat {
  readonly at: number;
  readonly stop: AbortController;
  readonly reached: Promise<void>;
  waiters: number;
}

export class PollBeat {
  private readonly beats = new Map<number, Beat>();

  /** `periodMillis`: time between beats; the idle time between reads should be a whole number of them. */
  constructor(
    private readonly clock: Clock,
    readonly periodMillis: number,
  ) {
    if (!(periodMillis > 0)) throw new RangeError(`beat period must be positive, got ${periodMillis}`);
  }

  /** The beat for an idle interval: BEATS_PER_IDLE beats per interval. */
  static forIdleMillis(clock: Clock, idleMillis: number): PollBeat | undefined {
    return idleMillis > 0 ? new PollBeat(clock, idleMillis / BEATS_PER_IDLE) : undefined;
  }

  /** The latest beat at or before `dueAt` (clock time). */
  beatFor(dueAt: number): number {
    return Math.floor(dueAt / this.periodMillis) * this.periodMillis;
  }

  /**
   * Waits for the latest beat at or before `dueAt`; at once if that beat has passed. Resolves with the beat's
   * time, which is when the caller's poll counts as made: a timer may fire a fraction of a millisecond before
   * its time, and a poll dated by the clock would then find its next due time just short of the next beat,
   * and fall back a whole beat every time. Resolves undefined when the signal aborts first.
   */
  async wait(dueAt: number, signal: AbortSignal): Promise<number | undefined> {
    if (signal.aborted) return undefined;
    const at = this.beatFor(dueAt);
    if (at <= this.clock.now()) return at;
    const beat = this.join(at);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([beat.reached.then(() => at), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      this.leave(beat);
    }
  }

  /** Beats with waiters (tests: nothing is left behind). */
  get pendingBeats(): number {
    return this.beats.size;
  }

  private join(at: number): Beat {
    let beat = this.beats.get(at);
    if (!beat) {
      const stop = new AbortController();
      const reached = this.clock.sleep(at - this.clock.now(), stop.signal).catch(() => undefined);
      beat = { at, stop, reached, waiters: 0 };
      this.beats.set(at, beat);
      void reached.then(() => {
        if (this.beats.get(at) === beat) this.beats.delete(at);
      });
    }
    beat.waiters++;
    return beat;
  }

  private leave(beat: Beat): void {
    beat.waiters--;
    if (beat.waiters > 0 || this.beats.get(beat.at) !== beat) return;
    this.beats.delete(beat.at);
    beat.stop.abort();
  }
}
