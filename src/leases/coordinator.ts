/**
 * LeaseCoordinator keeps the set of leases this worker holds and applies the lease decisions on timers:
 * renew everything held every failover/3 (unless a checkpoint just did), scan and take (and steal, by graceful
 * hand-off) at this worker's turn in the fleet's scan schedule, hand leases over when asked, release on request.
 * All writes for one lease go through a per-lease queue, so a renewal and a checkpoint never race on the
 * same counter value and mistake each other for a lost lease.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { sleepUnlessAborted } from '../common/clock.js';
import { KclError, ShutdownException } from '../common/errors.js';
import type { KclEvents } from '../common/events.js';
import { toError } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { decideLeasesToTake, expiresAt, isAvailable, nextPeerScanDelay, nextScanDelay, observe, shuffleWith, type LeaseObservation, type ScanScheduleInput } from './decisions.js';
import type { Lease } from './lease.js';
import type { LeaseTable } from './lease-table.js';

export interface LeaseCoordinatorOptions {
  workerId: string;
  failoverTimeMillis: number;
  epsilonMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  /** Default: the Java taker period, (failover + epsilon) × 2. */
  takerIntervalMillis?: number;
  /**
   * Move stolen leases with the 3.x graceful hand-off (checkpointOwner): the holder gets shutdownRequested and
   * checkpoints before this worker starts, so a balancing move causes no duplicates. Default true.
   */
  gracefulLeaseHandoff?: boolean;
  /** How long the old owner may take before the hand-off is forced. Default 30 s (Java's default). */
  gracefulLeaseHandoffTimeoutMillis?: number;
  /** How often a worker waiting for a hand-off reads that lease. Default 500 ms. */
  handoffPollMillis?: number;
  /**
   * How often the fleet as a whole scans the lease table (workers take turns; see nextScanDelay). This bounds
   * how long a crashed worker's or a released lease waits beyond the failover time. Default failover / 6.
   */
  fleetScanGapMillis?: number;
  /** Wall clock for spreading the workers' scans; default Date.now. Never used to judge expiry. */
  wallClock?: () => number;
  random?: () => number;
}

/** A lease this worker holds, as it knows it. */
export interface HeldLease {
  readonly lease: Lease;
  /** Fresh for every acquisition; a checkpointer carrying an older token is refused. */
  readonly concurrencyToken: string;
  /** Local time of the last write that proved we hold it (sent time, to err on the safe side). */
  readonly lastRenewedAt: number;
}

interface HeldEntry {
  lease: Lease;
  concurrencyToken: string;
  lastRenewedAt: number;
  queue: Promise<unknown>;
  /** Set once another worker asked for this lease (it is leaseOwner, we are checkpointOwner). */
  handoffTo?: string;
}

/** A lease this worker asked another to hand over, not yet transferred. */
interface PendingHandoff {
  from: string;
  initiatedAt: number;
  counter: number;
  lastChangeAt: number;
}

export type ReleaseOutcome = 'released' | 'transferred' | 'not-held';

/** After a successful take or steal, the next scan comes this soon (or after one renewal period, if shorter). */
const FOLLOW_UP_SCAN_MILLIS = 1000;

export class LeaseCoordinator {
  private readonly held = new Map<string, HeldEntry>();
  private observations = new Map<string, LeaseObservation>();
  private readonly shuffle: <T>(items: readonly T[]) => T[];
  private readonly pendingHandoffs = new Map<string, PendingHandoff>();
  private lastScan: { leases: readonly Lease[]; at: number } | undefined;
  private aliveWorkers: string[] = [];
  private takeWake: (() => void) | undefined;
  private scanRequested = false;
  private takingStopped = false;
  private readonly handoff: boolean;
  private readonly handoffTimeoutMillis: number;
  private readonly handoffPollMillis: number;
  readonly renewIntervalMillis: number;
  readonly takerIntervalMillis: number;

  constructor(
    private readonly table: LeaseTable,
    private readonly options: LeaseCoordinatorOptions,
    private readonly clock: Clock,
    private readonly events: KclEvents,
    private readonly logger: Logger,
  ) {
    this.shuffle = shuffleWith(options.random ?? Math.random);
    this.renewIntervalMillis = Math.max(1, Math.floor(options.failoverTimeMillis / 3) - options.epsilonMillis);
    this.takerIntervalMillis = options.takerIntervalMillis ?? (options.failoverTimeMillis + options.epsilonMillis) * 2;
    this.handoff = options.gracefulLeaseHandoff ?? true;
    this.handoffTimeoutMillis = options.gracefulLeaseHandoffTimeoutMillis ?? 30_000;
    this.handoffPollMillis = options.handoffPollMillis ?? 500;
  }

  private schedule(): ScanScheduleInput {
    return {
      workers: this.aliveWorkers,
      workerId: this.workerId,
      wallNow: (this.options.wallClock ?? Date.now)(),
      fleetGapMillis: this.options.fleetScanGapMillis ?? Math.max(1, Math.round(this.options.failoverTimeMillis / 6)),
      // Never longer than the failover time: a lease seen changing at a scan is due to "expire" (and wake the
      // taker) one failover time later anyway, so a longer turn would only add off-turn scans.
      maxIntervalMillis: Math.min(this.takerIntervalMillis, this.options.failoverTimeMillis + this.options.epsilonMillis),
      aloneIntervalMillis: this.takerIntervalMillis,
    };
  }

  /** Milliseconds until another live worker's next scan, by the schedule of the last scan; undefined if none. */
  nextPeerScanIn(): number | undefined {
    return nextPeerScanDelay(this.schedule());
  }

  /** The taker's latest full scan and when (this clock) it was made, so shard sync need not scan again. */
  latestScan(): { leases: readonly Lease[]; at: number } | undefined {
    return this.lastScan;
  }

  /** True while another worker waits for this lease: finish (checkpoint) and release it. */
  handoffRequested(leaseKey: string): boolean {
    return this.held.get(leaseKey)?.handoffTo !== undefined;
  }

  /** Leases this worker asked others to hand over and is still waiting for. */
  pendingHandoffKeys(): string[] {
    return [...this.pendingHandoffs.keys()];
  }

  get workerId(): string {
    return this.options.workerId;
  }

  /** Held and, by this worker's own clock, not expired. */
  isHeld(leaseKey: string, concurrencyToken?: string): boolean {
    const entry = this.held.get(leaseKey);
    if (!entry) return false;
    if (concurrencyToken !== undefined && entry.concurrencyToken !== concurrencyToken) return false;
    return this.clock.now() - entry.lastRenewedAt <= this.options.failoverTimeMillis;
  }

  heldLeases(): HeldLease[] {
    return [...this.held.values()].map((e) => ({ lease: e.lease, concurrencyToken: e.concurrencyToken, lastRenewedAt: e.lastRenewedAt }));
  }

  getHeld(leaseKey: string): HeldLease | undefined {
    const e = this.held.get(leaseKey);
    return e && { lease: e.lease, concurrencyToken: e.concurrencyToken, lastRenewedAt: e.lastRenewedAt };
  }

  /** Runs the renewer and the taker until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.renewLoop(signal), this.takeLoop(signal)]);
  }

  /** The taker stops (no new leases); renewals go on so held leases can still be checkpointed. */
  stopTaking(): void {
    this.takingStopped = true;
    this.takeWake?.();
  }

  /**
   * Withdraws the hand-offs this worker is still waiting for (call after stopTaking, when shutting down):
   * otherwise they would complete to a worker that is gone and wait out the failover time.
   */
  async abandonPendingHandoffs(): Promise<void> {
    const pending = [...this.pendingHandoffs];
    this.pendingHandoffs.clear();
    await Promise.all(
      pending.map(async ([leaseKey, p]) => {
        try {
          if (await this.table.abandonHandoff(leaseKey, this.workerId, p.from)) return;
          // Already transferred to us: hand it straight back to the table.
          const lease = await this.table.getLease(leaseKey);
          if (lease && lease.leaseOwner === this.workerId && !lease.checkpointOwner) await this.table.releaseLease(lease, this.workerId);
        } catch (err) {
          this.logger.warn({ leaseKey, err: toError(err).message }, 'withdrawing a hand-off failed; the lease will expire instead');
        }
      }),
    );
  }

  /** Wakes the taker for a scan now, e.g. after shard sync created leases or another worker released some. */
  requestTake(): void {
    this.scanRequested = true;
    this.takeWake?.();
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.clock.now();
      await this.renewAll();
      const elapsed = this.clock.now() - started;
      if (!(await sleepUnlessAborted(this.clock, Math.max(0, this.renewIntervalMillis - elapsed), signal))) return;
    }
  }

  async renewAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((key) => this.renewOne(key)));
  }

  /** The item shows another worker as leaseOwner and us as checkpointOwner, on the counter we hold. */
  private isHandoffRequest(current: Lease | undefined, entry: HeldEntry): boolean {
    return (
      current !== undefined &&
      current.checkpointOwner === this.workerId &&
      current.leaseOwner !== undefined &&
      current.leaseOwner !== this.workerId &&
      current.leaseCounter === entry.lease.leaseCounter
    );
  }

  private startHandoff(leaseKey: string, entry: HeldEntry, current: Lease): void {
    entry.lease = current;
    entry.handoffTo = current.leaseOwner;
    this.logger.info({ leaseKey, to: current.leaseOwner }, 'another worker asked for this lease: finishing the shard and handing it over');
    this.events.emit('lease.handoffRequested', { leaseKey, workerId: this.workerId, to: current.leaseOwner! });
  }

  /** After a failed fenced write: reads the item and starts a hand-off if that is why. */
  private async noticeHandoff(leaseKey: string, entry: HeldEntry): Promise<boolean> {
    const current = await this.table.getLease(leaseKey);
    if (!this.isHandoffRequest(current, entry)) return false;
    this.startHandoff(leaseKey, entry, current!);
    return true;
  }

  private async renewOne(leaseKey: string): Promise<void> {
    await this.withLease(leaseKey, async (entry) => {
      const sentAt = this.clock.now();
      // A checkpoint within the last half period already raised the counter, which is all a renewal does, so
      // busy shards cost no renewals. Skipping leaves at most 1.5 periods since the last write, so at least two
      // renewal attempts (Java's fixed schedule: three) still come before the lease could expire — plus the
      // processor's own checkpoints, each of which renews when it succeeds.
      if (sentAt - entry.lastRenewedAt < this.renewIntervalMillis / 2) return;
      if (sentAt - entry.lastRenewedAt > this.options.failoverTimeMillis) {
        // Another worker may already hold it: never renew what our own clock calls expired.
        this.drop(leaseKey, 'expired');
        return;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const renewed = await this.table.renewLease(entry.lease, { handoffPending: entry.handoffTo !== undefined });
          if (renewed) {
            entry.lease = renewed;
            entry.lastRenewedAt = sentAt;
            return;
          }
          // The condition failed; if a retried write of ours already raised the counter (owners as we left
          // them, also during a hand-off), we still hold it.
          const current = await this.table.getLease(leaseKey);
          if (
            current &&
            current.leaseCounter === entry.lease.leaseCounter + 1 &&
            current.leaseOwner === entry.lease.leaseOwner &&
            current.checkpointOwner === entry.lease.checkpointOwner
          ) {
            entry.lease = current;
            entry.lastRenewedAt = sentAt;
            return;
          }
          // Another worker asked for the lease (kcl-semantics §3.7): keep it alive while the processor finishes.
          if (entry.handoffTo === undefined && this.isHandoffRequest(current, entry)) {
            this.startHandoff(leaseKey, entry, current!);
            continue;
          }
          this.drop(leaseKey, 'taken');
          return;
        } catch (err) {
          const retriable = err instanceof KclError && err.retriable;
          if (retriable && attempt < 2) continue;
          // Keep the lease for now: it turns into "expired" locally if renewals keep failing.
          this.logger.warn({ leaseKey, err: toError(err).message }, 'lease renewal failed');
          return;
        }
      }
    });
  }

  /**
   * Scans on the taker schedule (see takeOnce for when the next scan is due) and, while this worker waits for
   * hand-offs, reads just those leases every handoffPollMillis, so a transferred lease starts within that.
   */
  private async takeLoop(signal: AbortSignal): Promise<void> {
    let nextScanAt = this.clock.now();
    while (!signal.aborted && !this.takingStopped) {
      if (this.scanRequested || this.clock.now() >= nextScanAt) {
        this.scanRequested = false;
        let nextIn = this.takerIntervalMillis;
        try {
          nextIn = await this.takeOnce();
        } catch (err) {
          this.reportTakerError(err);
        }
        nextScanAt = this.clock.now() + nextIn;
      }
      if (this.pendingHandoffs.size > 0 && !this.takingStopped) {
        try {
          await this.pollHandoffs();
        } catch (err) {
          this.reportTakerError(err);
        }
      }
      if (this.takingStopped || this.scanRequested) continue;
      const wait = Math.max(0, Math.min(nextScanAt - this.clock.now(), this.pendingHandoffs.size > 0 ? this.handoffPollMillis : Infinity));
      const wake = new AbortController();
      const onAbort = () => wake.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.takeWake = () => wake.abort();
      await sleepUnlessAborted(this.clock, wait, wake.signal);
      signal.removeEventListener('abort', onAbort);
      this.takeWake = undefined;
    }
  }

  private reportTakerError(err: unknown): void {
    const error = toError(err);
    this.logger.error({ err: error }, 'lease taker failed; trying again next cycle');
    this.events.emit('worker.error', { error, where: 'lease taker' });
  }

  /**
   * Reads each lease this worker is waiting for: transferred → take it; the old owner stopped renewing for
   * longer than the failover time, or the hand-off is overdue (timeout + failover) → take it anyway (a take
   * clears checkpointOwner); given to someone else → forget it.
   */
  async pollHandoffs(): Promise<void> {
    for (const [leaseKey, pending] of [...this.pendingHandoffs]) {
      if (this.takingStopped) return;
      const readAt = this.clock.now();
      const lease = await this.table.getLease(leaseKey);
      if (!lease || lease.leaseOwner !== this.workerId) {
        this.pendingHandoffs.delete(leaseKey);
        this.logger.info({ leaseKey, owner: lease?.leaseOwner }, 'hand-off abandoned: the lease moved elsewhere');
        continue;
      }
      if (!lease.checkpointOwner) {
        await this.take(lease, pending.from);
        continue;
      }
      if (lease.leaseCounter !== pending.counter) {
        pending.counter = lease.leaseCounter;
        pending.lastChangeAt = readAt;
      }
      const ownerSilent = readAt - pending.lastChangeAt > this.options.failoverTimeMillis;
      const overdue = readAt - pending.initiatedAt > this.handoffTimeoutMillis + this.options.failoverTimeMillis;
      if (ownerSilent || overdue) {
        this.logger.warn({ leaseKey, from: pending.from, reason: ownerSilent ? 'owner stopped renewing' : 'timed out' }, 'taking a lease whose hand-off did not complete');
        await this.take(lease, pending.from);
      }
    }
  }

  /**
   * One taker cycle: scan, update observations, decide, take and steal. Returns how long to wait before the
   * next: this worker's next turn, sooner after a move or when a foreign lease is due to expire (so failover
   * does not wait for a whole extra turn).
   */
  async takeOnce(): Promise<number> {
    if (this.takingStopped) return this.takerIntervalMillis;
    const scanAt = this.clock.now();
    const leases = await this.table.listLeases();
    this.lastScan = { leases, at: scanAt };
    this.observations = observe(this.observations, leases, scanAt);
    const decision = decideLeasesToTake({
      leases,
      observations: this.observations,
      workerId: this.workerId,
      now: scanAt,
      failoverMillis: this.options.failoverTimeMillis,
      maxLeasesForWorker: this.options.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.options.maxLeasesToStealAtOneTime,
      held: new Set(this.held.keys()),
      shuffle: this.shuffle,
    });
    let moved = 0;
    for (const lease of decision.take) {
      if (this.takingStopped) break;
      if (await this.take(lease)) moved++;
    }
    for (const lease of decision.steal) {
      if (this.takingStopped) break;
      if (await this.steal(lease)) moved++;
    }
    // The workers whose turns make up the scan schedule: owners of leases that have not expired.
    const alive = new Set<string>([this.workerId]);
    for (const lease of leases) {
      if (lease.leaseOwner && !isAvailable(lease, this.observations.get(lease.leaseKey), scanAt, this.options.failoverTimeMillis)) alive.add(lease.leaseOwner);
    }
    this.aliveWorkers = [...alive];
    let next = nextScanDelay(this.schedule());
    // While this worker is still moving toward its share, look again soon instead of at its next turn:
    // stealing one lease per 20 s cycle is the slow rebalancing Java users complain about.
    if (moved > 0) next = Math.min(next, this.renewIntervalMillis, FOLLOW_UP_SCAN_MILLIS);
    for (const lease of leases) {
      if (lease.leaseOwner === this.workerId || lease.checkpoint.sequenceNumber === 'SHARD_END') continue;
      const at = expiresAt(lease, this.observations.get(lease.leaseKey), this.options.failoverTimeMillis);
      // Only a lease still to expire: one already expired and left (we are at our share) needs no wake-up.
      if (at !== undefined && at > scanAt) next = Math.min(next, Math.max(at - this.clock.now(), 0) + this.options.epsilonMillis + 1);
    }
    return next;
  }

  /** Steals a lease for balancing: a graceful hand-off when enabled, otherwise a plain take. */
  private async steal(lease: Lease): Promise<boolean> {
    if (!this.handoff || !lease.leaseOwner) return this.take(lease);
    const sentAt = this.clock.now();
    try {
      if (!(await this.table.initiateHandoff(lease, this.workerId))) return false;
    } catch (err) {
      this.logger.warn({ leaseKey: lease.leaseKey, err: toError(err).message }, 'asking for a lease failed');
      return false;
    }
    this.pendingHandoffs.set(lease.leaseKey, { from: lease.leaseOwner, initiatedAt: sentAt, counter: lease.leaseCounter, lastChangeAt: sentAt });
    // Shutdown began while the request was in flight: withdraw it at once.
    if (this.takingStopped) await this.abandonPendingHandoffs();
    this.logger.info({ leaseKey: lease.leaseKey, from: lease.leaseOwner }, 'asked the owner to hand the lease over');
    this.events.emit('lease.handoffInitiated', { leaseKey: lease.leaseKey, workerId: this.workerId, from: lease.leaseOwner });
    return true;
  }

  /** Takes one lease; true when it is now held. */
  private async take(lease: Lease, handedOverBy?: string): Promise<boolean> {
    const sentAt = this.clock.now();
    this.pendingHandoffs.delete(lease.leaseKey);
    try {
      const taken = await this.table.takeLease(lease, this.workerId);
      if (!taken) return false; // someone else moved it first
      const token = randomUUID();
      this.held.set(lease.leaseKey, { lease: taken, concurrencyToken: token, lastRenewedAt: sentAt, queue: Promise.resolve() });
      this.observations.set(lease.leaseKey, { counter: taken.leaseCounter, lastChangeAt: sentAt });
      this.events.emit('lease.acquired', {
        leaseKey: lease.leaseKey,
        workerId: this.workerId,
        stolenFrom: handedOverBy ?? (lease.leaseOwner && lease.leaseOwner !== this.workerId ? lease.leaseOwner : undefined),
      });
      return true;
    } catch (err) {
      this.logger.warn({ leaseKey: lease.leaseKey, err: toError(err).message }, 'taking lease failed');
      return false;
    }
  }

  /**
   * Writes a checkpoint under the fence. Throws ShutdownException when the lease is not held (or was
   * re-acquired since the token was issued); the other checkpoint errors come from the table.
   */
  async checkpoint(leaseKey: string, concurrencyToken: string, checkpoint: ExtendedSequenceNumber, childShardIds?: readonly string[]): Promise<Lease> {
    const result = await this.withLease(leaseKey, async (entry) => {
      if (entry.concurrencyToken !== concurrencyToken || !this.isHeld(leaseKey)) {
        throw new ShutdownException(`cannot checkpoint ${leaseKey}: this worker no longer holds the lease`);
      }
      const sentAt = this.clock.now();
      let updated = await this.table.updateCheckpoint(entry.lease, checkpoint, childShardIds, { handoffPending: entry.handoffTo !== undefined });
      if (!updated && entry.handoffTo === undefined && (await this.noticeHandoff(leaseKey, entry))) {
        updated = await this.table.updateCheckpoint(entry.lease, checkpoint, childShardIds, { handoffPending: true });
      }
      if (!updated) {
        this.drop(leaseKey, 'taken');
        throw new ShutdownException(`cannot checkpoint ${leaseKey}: another worker may already be processing this shard`);
      }
      entry.lease = updated;
      entry.lastRenewedAt = sentAt;
      return updated;
    });
    if (!result) throw new ShutdownException(`cannot checkpoint ${leaseKey}: this worker does not hold the lease`);
    return result;
  }

  /**
   * Gives a lease up and forgets it: to the worker that asked for it when a hand-off is pending (it starts
   * from the checkpoint just written), otherwise by removing the owner so any worker can take it at once.
   */
  async release(leaseKey: string): Promise<ReleaseOutcome> {
    const outcome = await this.withLease(leaseKey, async (entry): Promise<ReleaseOutcome> => {
      let result: ReleaseOutcome = 'released';
      try {
        if (!this.isHeld(leaseKey)) result = 'not-held';
        else if (entry.handoffTo !== undefined) result = (await this.table.transferLease(entry.lease, this.workerId, entry.handoffTo)) ? 'transferred' : 'not-held';
        else await this.table.releaseLease(entry.lease, this.workerId);
      } catch (err) {
        this.logger.warn({ leaseKey, err: toError(err).message }, 'releasing lease failed; it will expire instead');
      }
      this.held.delete(leaseKey);
      this.events.emit('lease.released', { leaseKey, workerId: this.workerId, to: result === 'transferred' ? entry.handoffTo : undefined });
      return result;
    });
    return outcome ?? 'not-held';
  }

  /** Forgets a lease without writing (it will expire for others). */
  drop(leaseKey: string, reason: 'taken' | 'expired'): void {
    if (!this.held.delete(leaseKey)) return;
    this.logger.info({ leaseKey, reason }, 'lease lost');
    this.events.emit('lease.lost', { leaseKey, workerId: this.workerId, reason });
  }

  /** Runs `fn` after every earlier write for this lease; resolves undefined if the lease is not held. */
  private withLease<T>(leaseKey: string, fn: (entry: HeldEntry) => Promise<T>): Promise<T | undefined> {
    const entry = this.held.get(leaseKey);
    if (!entry) return Promise.resolve(undefined);
    const run = entry.queue.then(() => (this.held.get(leaseKey) === entry ? fn(entry) : undefined));
    entry.queue = run.catch(() => undefined);
    return run;
  }
}
