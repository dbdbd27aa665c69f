/**
 * LeaseCoordinator keeps the set of leases this worker holds and applies the lease decisions on timers:
 * renew everything held every failover/3, take (and steal) on the taker schedule, release on request.
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
import { decideLeasesToTake, expiresAt, observe, shuffleWith, type LeaseObservation } from './decisions.js';
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
}

export class LeaseCoordinator {
  private readonly held = new Map<string, HeldEntry>();
  private observations = new Map<string, LeaseObservation>();
  private readonly shuffle: <T>(items: readonly T[]) => T[];
  private takeWake: (() => void) | undefined;
  private takingStopped = false;
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

  /** Wakes the taker now, e.g. after shard sync created leases or another worker released some. */
  requestTake(): void {
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

  private async renewOne(leaseKey: string): Promise<void> {
    await this.withLease(leaseKey, async (entry) => {
      const sentAt = this.clock.now();
      if (sentAt - entry.lastRenewedAt > this.options.failoverTimeMillis) {
        // Another worker may already hold it: never renew what our own clock calls expired.
        this.drop(leaseKey, 'expired');
        return;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const renewed = await this.table.renewLease(entry.lease);
          if (renewed) {
            entry.lease = renewed;
            entry.lastRenewedAt = sentAt;
            return;
          }
          // The condition failed; if a retried write of ours already raised the counter, we still hold it.
          const current = await this.table.getLease(leaseKey);
          if (current && current.leaseOwner === this.workerId && current.leaseCounter === entry.lease.leaseCounter + 1 && !current.checkpointOwner) {
            entry.lease = current;
            entry.lastRenewedAt = sentAt;
            return;
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

  private async takeLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.takingStopped) {
      let nextIn = this.takerIntervalMillis;
      try {
        nextIn = await this.takeOnce();
      } catch (err) {
        const error = toError(err);
        this.logger.error({ err: error }, 'lease taker failed; trying again next cycle');
        this.events.emit('worker.error', { error, where: 'lease taker' });
      }
      if (this.takingStopped) return;
      const wake = new AbortController();
      const onAbort = () => wake.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.takeWake = () => wake.abort();
      await sleepUnlessAborted(this.clock, nextIn, wake.signal);
      signal.removeEventListener('abort', onAbort);
      this.takeWake = undefined;
    }
  }

  /**
   * One taker cycle: scan, update observations, decide, take. Returns how long to wait before the next cycle:
   * the regular period, or less when a foreign lease is due to expire sooner (so failover does not wait for
   * a whole extra period).
   */
  async takeOnce(): Promise<number> {
    if (this.takingStopped) return this.takerIntervalMillis;
    const scanAt = this.clock.now();
    const leases = await this.table.listLeases();
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
    for (const lease of [...decision.take, ...decision.steal]) {
      if (this.takingStopped) break;
      if (await this.take(lease)) moved++;
    }
    // While this worker is still moving toward its share, look again after one renewal period instead of a
    // whole taker period: stealing one lease per 20 s cycle is the slow rebalancing Java users complain about.
    let next = moved > 0 ? Math.min(this.takerIntervalMillis, this.renewIntervalMillis) : this.takerIntervalMillis;
    for (const lease of leases) {
      if (lease.leaseOwner === this.workerId || lease.checkpoint.sequenceNumber === 'SHARD_END') continue;
      const at = expiresAt(lease, this.observations.get(lease.leaseKey), this.options.failoverTimeMillis);
      if (at !== undefined) next = Math.min(next, Math.max(at - this.clock.now(), 0) + this.options.epsilonMillis + 1);
    }
    return next;
  }

  /** Takes one lease; true when it is now held. */
  private async take(lease: Lease): Promise<boolean> {
    const sentAt = this.clock.now();
    try {
      const taken = await this.table.takeLease(lease, this.workerId);
      if (!taken) return false; // someone else moved it first
      const token = randomUUID();
      this.held.set(lease.leaseKey, { lease: taken, concurrencyToken: token, lastRenewedAt: sentAt, queue: Promise.resolve() });
      this.observations.set(lease.leaseKey, { counter: taken.leaseCounter, lastChangeAt: sentAt });
      this.events.emit('lease.acquired', {
        leaseKey: lease.leaseKey,
        workerId: this.workerId,
        stolenFrom: lease.leaseOwner && lease.leaseOwner !== this.workerId ? lease.leaseOwner : undefined,
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
      const updated = await this.table.updateCheckpoint(entry.lease, checkpoint, childShardIds);
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

  /** Releases the lease in DynamoDB so another worker can take it at once, and forgets it. */
  async release(leaseKey: string): Promise<void> {
    await this.withLease(leaseKey, async (entry) => {
      try {
        if (this.isHeld(leaseKey)) await this.table.releaseLease(entry.lease, this.workerId);
      } catch (err) {
        this.logger.warn({ leaseKey, err: toError(err).message }, 'releasing lease failed; it will expire instead');
      }
      this.held.delete(leaseKey);
      this.events.emit('lease.released', { leaseKey, workerId: this.workerId });
    });
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
