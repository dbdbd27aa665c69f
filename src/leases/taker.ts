/**
 * The taker: at this worker's turn in the fleet's scan schedule (see docs/lease-protocol.md, 'Scan turns') it
 * scans the table, updates what it has observed of every lease's counter, and takes and steals as
 * decideLeasesToTake says ('Taking and stealing'). A steal is a hand-off request when graceful hand-off is on.
 * When to wake next is nextTakerDelay's call. It never renews and never releases a lease.
 */
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { InvalidStateException, toError } from '../common/errors.js';
import { type KclEvents, type LeaseView } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import { inLanes } from '../common/lanes.js';
import { isRetriable, retryDelayMillis } from '../common/retry.js';
import { aliveWorkers, decideLeasesToTake, nextPeerScanDelay, nextScanDelay, nextTakerDelay, observe, PARALLEL_TAKES, shuffleWith, takesWhileFresh, type LeaseObservation, type ScanScheduleInput } from './decisions.js';
import type { Handoff } from './handoff.js';
import type { HeldLeases } from './held-leases.js';
import type { Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';

export interface LeaseTakerOptions {
  readonly workerId: string;
  readonly failoverTimeMillis: number;
  readonly epsilonMillis: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  readonly renewIntervalMillis: number;
  readonly takerIntervalMillis: number;
  /** Steal by graceful hand-off (true) or by a plain take. */
  readonly gracefulHandoff: boolean;
  /** How often the fleet as a whole scans the table. */
  readonly fleetScanGapMillis: number;
  readonly random: () => number;
}

export interface LeaseTakerDeps {
  readonly table: LeaseStore;
  readonly held: HeldLeases;
  readonly handoff: Handoff;
  readonly clock: Clock;
  readonly events: KclEvents;
  readonly logger: Logger;
}

/**
 * The lease table is gone (deleted under a running worker): no scan will ever succeed again, so the worker
 * stops instead of reporting the same error every turn.
 */
export function isFatalTakerError(err: unknown): boolean {
  return err instanceof InvalidStateException;
}

export class LeaseTaker {
  private observations = new Map<string, LeaseObservation>();
  private readonly shuffle: <T>(items: readonly T[]) => T[];
  private lastScan: { leases: readonly Lease[]; at: number } | undefined;
  /** Leases with a take in flight. */
  private readonly taking = new Set<string>();
  private aliveWorkers: string[] = [];
  /** Consecutive failed scans: the next one comes after a backoff from the fleet gap. */
  private failedScans = 0;
  private wake: (() => void) | undefined;
  private scanRequested = false;
  private stopped = false;

  constructor(
    private readonly options: LeaseTakerOptions,
    private readonly deps: LeaseTakerDeps,
  ) {
    this.shuffle = shuffleWith(options.random);
  }

  private get workerId(): string {
    return this.options.workerId;
  }

  private schedule(): ScanScheduleInput {
    const { failoverTimeMillis, epsilonMillis, takerIntervalMillis } = this.options;
    return {
      workers: this.aliveWorkers,
      workerId: this.workerId,
      wallNow: this.deps.clock.wallNow().getTime(),
      fleetGapMillis: this.options.fleetScanGapMillis,
      // Never longer than the failover time: a lease seen changing at a scan is due to "expire" (and wake the
      // taker) one failover time later anyway, so a longer turn would only add off-turn scans.
      maxIntervalMillis: Math.min(takerIntervalMillis, failoverTimeMillis + epsilonMillis),
      aloneIntervalMillis: takerIntervalMillis,
    };
  }

  /** Milliseconds until another live worker's next scan, by the schedule of the last scan; undefined if none. */
  nextPeerScanIn(): number | undefined {
    return nextPeerScanDelay(this.schedule());
  }

  /** The latest full scan and when (this clock) it was made, so shard sync need not scan again. */
  latestScan(): { leases: readonly Lease[]; at: number } | undefined {
    return this.lastScan;
  }

  /** Wakes the taker for a scan now, e.g. after shard sync created leases or another worker released some. */
  requestScan(): void {
    this.scanRequested = true;
    this.wake?.();
  }

  /** No new leases from now on. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * Scans on the schedule takeOnce returns until the signal aborts or stop() is called. Rejects with a fatal
   * error (isFatalTakerError); any other failure is reported and the next turn tries again.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    let nextScanAt = clock.now();
    while (!signal.aborted && !this.stopped) {
      if (this.scanRequested || clock.now() >= nextScanAt) {
        this.scanRequested = false;
        let nextIn: number;
        try {
          nextIn = await this.takeOnce();
          this.failedScans = 0;
        } catch (err) {
          if (isFatalTakerError(err)) throw err;
          this.failedScans++;
          // A failed scan is tried again soon (backing off to the taker period), not a whole period later: after a
          // partition heals, the worker takes leases within a fleet gap or two.
          nextIn = retryDelayMillis({ firstDelayMillis: this.options.fleetScanGapMillis, maxDelayMillis: this.options.takerIntervalMillis, maxAttempts: Infinity }, this.failedScans);
          this.reportError(err, this.failedScans === 1);
        }
        nextScanAt = clock.now() + nextIn;
      }
      if (this.stopped || this.scanRequested) continue;
      const wake = new AbortController();
      const onAbort = () => wake.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = onAbort;
      await sleepUnlessAborted(clock, Math.max(0, nextScanAt - clock.now()), wake.signal);
      signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
  }

  /**
   * Reports a taker failure that the next turn may not repeat: an event each time; in the log, a service failure
   * (retriable) once per streak as a warning, anything unexpected as an error with its stack.
   */
  reportError(err: unknown, firstOfStreak = true): void {
    const error = toError(err);
    if (!isRetriable(error)) this.deps.logger.error({ err: error }, 'lease taker failed; trying again');
    else if (firstOfStreak) this.deps.logger.warn({ err: error.message }, 'scanning the lease table failed; trying again with backoff');
    this.deps.events.emit('worker.error', { error, where: 'lease taker' });
  }

  /** One taker cycle: scan, update observations, decide, take and steal. Returns how long to wait before the next. */
  async takeOnce(): Promise<number> {
    if (this.stopped) return this.options.takerIntervalMillis;
    const { clock, table, held } = this.deps;
    const { failoverTimeMillis } = this.options;
    const scanAt = clock.now();
    const leases = await table.listLeases();
    // The items were read at some moment between sending and answering (a request held up in a dead network
    // is read only when it finally arrives). A counter seen changed is dated at the answer, the latest moment
    // it can have been written, while expiry is judged at the sending, the earliest moment of the read: both
    // err towards "still alive" (see docs/lease-protocol.md, 'Expiry').
    const answeredAt = clock.now();
    this.lastScan = { leases, at: scanAt };
    this.observations = observe(this.observations, leases, answeredAt);
    const decision = decideLeasesToTake({
      leases,
      observations: this.observations,
      workerId: this.workerId,
      now: scanAt,
      failoverMillis: failoverTimeMillis,
      maxLeasesForWorker: this.options.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.options.maxLeasesToStealAtOneTime,
      held: new Set(held.keys()),
      shuffle: this.shuffle,
    });
    const taken = await this.takeWhileFresh(decision.take, takesWhileFresh(answeredAt, this.options.renewIntervalMillis));
    let moved = taken.moved;
    for (const lease of decision.steal) {
      if (this.stopped) break;
      if (await this.steal(lease)) moved++;
    }
    this.aliveWorkers = aliveWorkers(leases, this.observations, this.workerId, scanAt, failoverTimeMillis);
    this.deps.events.emit('leases.scanned', {
      workerId: this.workerId,
      leases: leases.map(leaseView),
      workers: this.aliveWorkers,
      wanted: decision.take.length + decision.steal.length,
      moved,
      scanMillis: answeredAt - scanAt,
    });
    return nextTakerDelay({
      turnDelayMillis: nextScanDelay(this.schedule()),
      moved,
      unfinished: taken.left > 0 && !this.stopped,
      renewIntervalMillis: this.options.renewIntervalMillis,
      leases,
      observations: this.observations,
      workerId: this.workerId,
      scanAt,
      now: clock.now(),
      failoverMillis: failoverTimeMillis,
      epsilonMillis: this.options.epsilonMillis,
    });
  }

  /**
   * Takes the leases, PARALLEL_TAKES at a time, starting new ones only until `until` (the first PARALLEL_TAKES
   * always start); returns how many are held now and how many were never tried.
   */
  private async takeWhileFresh(leases: readonly Lease[], until: number): Promise<{ moved: number; left: number }> {
    const canStart = (i: number) => !this.stopped && (i < PARALLEL_TAKES || this.deps.clock.now() < until);
    const taken = await inLanes(leases, PARALLEL_TAKES, (lease) => this.take(lease), canStart);
    return { moved: taken.filter(Boolean).length, left: leases.length - taken.length };
  }

  /** Steals a lease for balancing: a hand-off request when graceful hand-off is on, otherwise a plain take. */
  private async steal(lease: Lease): Promise<boolean> {
    if (!this.options.gracefulHandoff || !lease.leaseOwner) return this.take(lease);
    return this.deps.handoff.request(lease);
  }

  /**
   * Takes one lease (fenced on the counter it was seen with); true when it is now held. The taker's scan and a
   * completed hand-off can both reach for the same lease at the same moment: only one take of a lease runs at a
   * time, and a lease already held is not taken again (a second take would raise the counter under the first
   * and cost the new consumer its lease).
   */
  async take(lease: Lease, handedOverBy?: string): Promise<boolean> {
    const { clock, table, held, handoff, events, logger } = this.deps;
    if (held.has(lease.leaseKey) || this.taking.has(lease.leaseKey)) return false;
    this.taking.add(lease.leaseKey);
    const sentAt = clock.now();
    // A lease we asked for and whose holder completed the hand-off names us as owner by now: the request
    // remembers where it came from, whichever of our scan and our hand-off poll takes it first.
    const requestedFrom = handoff.forget(lease.leaseKey);
    try {
      const taken = await table.takeLease(lease, this.workerId);
      if (!taken) return false; // someone else moved it first
      held.add(taken, sentAt);
      this.observations.set(lease.leaseKey, { counter: taken.leaseCounter, lastChangeAt: sentAt });
      events.emit('lease.acquired', {
        leaseKey: lease.leaseKey,
        workerId: this.workerId,
        stolenFrom: handedOverBy ?? requestedFrom ?? (lease.leaseOwner && lease.leaseOwner !== this.workerId ? lease.leaseOwner : undefined),
      });
      return true;
    } catch (err) {
      logger.warn({ leaseKey: lease.leaseKey, err: toError(err).message }, 'taking lease failed');
      return false;
    } finally {
      this.taking.delete(lease.leaseKey);
    }
  }
}

/** What the event stream shows of a lease: the fields an operator reads, nothing of the fencing. */
function leaseView(lease: Lease): LeaseView {
  return {
    leaseKey: lease.leaseKey,
    leaseOwner: lease.leaseOwner,
    leaseCounter: lease.leaseCounter,
    checkpoint: lease.checkpoint,
    parentShardIds: lease.parentShardIds,
    checkpointOwner: lease.checkpointOwner,
  };
}
