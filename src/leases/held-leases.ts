/**
 * The leases this worker holds, and the one queue of writes per held lease: renewals, checkpoints and the
 * release (or hand-off completion) for one lease run one after another, so a renewal and a checkpoint never
 * race on the same counter value and mistake each other for a lost lease. The registry never decides when to
 * renew or whom to hand a lease to; it records what the renewer and the hand-off learn, and writes.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { ShutdownException, toError } from '../common/errors.js';
import { type KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { isHandoffRequest, retriedWriteLanded } from './decisions.js';
import type { Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';

/** A lease this worker holds, as it knows it. */
export interface HeldLease {
  readonly lease: Lease;
  /** Fresh for every acquisition; a checkpointer carrying an older token is refused. */
  readonly concurrencyToken: string;
  /** Local time of the last write that proved we hold it (sent time, to err on the safe side). */
  readonly lastRenewedAt: number;
}

/** The registry's own record of a held lease; only code running in its write queue changes it. */
export interface HeldEntry {
  lease: Lease;
  readonly concurrencyToken: string;
  lastRenewedAt: number;
  queue: Promise<unknown>;
  /** Set once another worker requested this lease (it is leaseOwner, we are checkpointOwner). */
  handoffTo?: string;
}

/** How a release ended: released to anyone, handed off to the requester, or not held any more. */
export type ReleaseOutcome = 'released' | 'handed-off' | 'not-held';

export interface HeldLeasesOptions {
  readonly workerId: string;
  readonly failoverTimeMillis: number;
  /** Called (in the lease's write queue) when this worker learns that another one requested a held lease. */
  readonly onHandoffRequested: (leaseKey: string, requester: string, concurrencyToken: string) => void;
}

export class HeldLeases {
  private readonly entries = new Map<string, HeldEntry>();

  constructor(
    private readonly table: LeaseStore,
    private readonly options: HeldLeasesOptions,
    private readonly clock: Clock,
    private readonly events: KclEvents,
    private readonly logger: Logger,
  ) {}

  /** Registers a lease just taken (at `sentAt`, local time) under a fresh concurrency token. */
  add(lease: Lease, sentAt: number): HeldLease {
    const entry: HeldEntry = { lease, concurrencyToken: randomUUID(), lastRenewedAt: sentAt, queue: Promise.resolve() };
    this.entries.set(lease.leaseKey, entry);
    return snapshot(entry);
  }

  has(leaseKey: string): boolean {
    return this.entries.has(leaseKey);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Held and, by this worker's own clock, not expired. */
  isHeld(leaseKey: string, concurrencyToken?: string): boolean {
    const entry = this.entries.get(leaseKey);
    if (!entry) return false;
    if (concurrencyToken !== undefined && entry.concurrencyToken !== concurrencyToken) return false;
    return this.clock.now() - entry.lastRenewedAt <= this.options.failoverTimeMillis;
  }

  get(leaseKey: string): HeldLease | undefined {
    const entry = this.entries.get(leaseKey);
    return entry && snapshot(entry);
  }

  all(): HeldLease[] {
    return [...this.entries.values()].map(snapshot);
  }

  /** True while another worker waits for this lease: finish (checkpoint) and release it. */
  handoffRequested(leaseKey: string): boolean {
    return this.entries.get(leaseKey)?.handoffTo !== undefined;
  }

  /** A write proved we hold the lease: remember the lease as written and when the write was sent. */
  confirm(entry: HeldEntry, lease: Lease, sentAt: number): void {
    entry.lease = lease;
    entry.lastRenewedAt = sentAt;
  }

  /** Records a hand-off request read from the table (see isHandoffRequest) and tells the hand-off. */
  noteHandoffRequest(entry: HeldEntry, current: Lease): void {
    entry.lease = current;
    entry.handoffTo = current.leaseOwner;
    this.options.onHandoffRequested(current.leaseKey, current.leaseOwner!, entry.concurrencyToken);
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
      const write = () => this.table.updateCheckpoint(entry.lease, checkpoint, childShardIds, { handoffPending: entry.handoffTo !== undefined });
      let updated = await write();
      if (!updated) {
        // The condition failed: find out why before calling the lease lost.
        const current = await this.table.getLease(leaseKey);
        if (retriedWriteLanded(entry.lease, current)) {
          // An earlier write of ours landed though its answer was lost (a checkpoint that timed out): the lease is
          // still ours, one counter further. Nothing is proven about when, so lastRenewedAt stays as it was.
          entry.lease = current!;
          updated = await write();
        } else if (entry.handoffTo === undefined && isHandoffRequest(current, entry.lease, this.options.workerId)) {
          // A busy shard learns of a hand-off request at its next checkpoint: write it anyway, then finish.
          this.noteHandoffRequest(entry, current!);
          updated = await write();
        }
      }
      if (!updated) {
        this.drop(leaseKey, 'taken');
        throw new ShutdownException(`cannot checkpoint ${leaseKey}: another worker may already be processing this shard`);
      }
      this.confirm(entry, updated, sentAt);
      return updated;
    });
    if (!result) throw new ShutdownException(`cannot checkpoint ${leaseKey}: this worker does not hold the lease`);
    return result;
  }

  /**
   * Gives a lease up and forgets it: to the requester when a hand-off is pending (it starts from the checkpoint
   * just written: the hand-off is complete), otherwise by removing the owner so any worker can take it at once.
   */
  async release(leaseKey: string): Promise<ReleaseOutcome> {
    const outcome = await this.withLease(leaseKey, async (entry): Promise<ReleaseOutcome> => {
      const { workerId } = this.options;
      let result: ReleaseOutcome = 'not-held';
      let why = 'by this worker\'s clock it may have expired already';
      let reason: 'expired' | 'taken' = 'expired';
      try {
        if (!this.isHeld(leaseKey)) result = 'not-held';
        else if (entry.handoffTo !== undefined) result = (await this.table.completeHandoff(entry.lease, workerId, entry.handoffTo)) ? 'handed-off' : 'not-held';
        else result = (await this.table.releaseLease(entry.lease, workerId)) ? 'released' : 'not-held';
        if (result === 'not-held' && this.isHeld(leaseKey)) {
          why = 'another worker moved it meanwhile';
          reason = 'taken';
        }
      } catch (err) {
        why = toError(err).message;
      }
      this.entries.delete(leaseKey);
      if (result === 'not-held') {
        this.logger.warn({ leaseKey, err: why }, reason === 'taken' ? `${leaseKey} was not released: ${why}` : `could not release ${leaseKey} (${why}); other workers take it once it expires`);
        this.events.emit('lease.lost', { leaseKey, workerId, reason });
      } else {
        this.events.emit('lease.released', { leaseKey, workerId, to: result === 'handed-off' ? entry.handoffTo : undefined });
      }
      return result;
    });
    return outcome ?? 'not-held';
  }

  /** Forgets a lease without writing (it will expire for others). */
  drop(leaseKey: string, reason: 'taken' | 'expired'): void {
    if (!this.entries.delete(leaseKey)) return;
    this.logger.info({ leaseKey, reason }, 'lease lost');
    this.events.emit('lease.lost', { leaseKey, workerId: this.options.workerId, reason });
  }

  /** Runs `fn` after every earlier write for this lease; resolves undefined if the lease is not held. */
  withLease<T>(leaseKey: string, fn: (entry: HeldEntry) => Promise<T>): Promise<T | undefined> {
    const entry = this.entries.get(leaseKey);
    if (!entry) return Promise.resolve(undefined);
    const run = entry.queue.then(() => (this.entries.get(leaseKey) === entry ? fn(entry) : undefined));
    entry.queue = run.catch(() => undefined);
    return run;
  }
}

function snapshot(entry: HeldEntry): HeldLease {
  return { lease: entry.lease, concurrencyToken: entry.concurrencyToken, lastRenewedAt: entry.lastRenewedAt };
}
