/**
 * The graceful hand-off (see docs/lease-protocol.md, 'Graceful hand-off'): both sides, with their timers.
 *
 * Vocabulary, used in code, table methods, events and logs alike:
 * - the **requester** is the worker that wants a lease (the taker chose to steal it); the **holder** is the
 *   worker that holds it and has to finish first;
 * - **request**: the requester writes leaseOwner = requester, checkpointOwner = holder (`requestHandoff`,
 *   event `lease.handoffInitiated` on the requester);
 * - the holder **notices** the request when a renewal or checkpoint fails on the checkpointOwner clause (event
 *   `lease.handoffRequested`): its processor gets shutdownRequested and may checkpoint;
 * - **complete**: the holder's release clears checkpointOwner and raises the counter (`completeHandoff`, event
 *   `lease.released {to}`); the requester's next poll sees that and **takes** the lease;
 * - **force**: a holder whose processor has not finished within the hand-off timeout completes at once (the
 *   processor gets leaseLost);
 * - **take over**: a requester takes the lease anyway when the holder stopped renewing for the failover time
 *   or the hand-off is overdue (timeout + failover);
 * - **withdraw**: a requester shutting down clears its pending requests (`withdrawHandoff`).
 * "Steal" is the taker's word for choosing a lease to move; with graceful hand-off on, a steal is a request.
 *
 * Requester, per lease:  requested → (taken | taken over | forgotten: it moved elsewhere | withdrawn)
 * Holder, per lease:     noticed → (completed by the release | forced at the timeout | lost)
 */
import { setMaxListeners } from 'node:events';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { type KclEvents } from '../common/events.js';
import { toError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { requesterStep, type RequestedHandoff } from './decisions.js';
import type { HeldLeases } from './held-leases.js';
import type { Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';

export interface HandoffOptions {
  readonly workerId: string;
  readonly failoverTimeMillis: number;
  /** How long a holder's processor may take to finish before the hand-off is forced. */
  readonly handoffTimeoutMillis: number;
  /** How often a requester reads the leases it waits for. */
  readonly pollMillis: number;
}

export interface HandoffDeps {
  readonly table: LeaseStore;
  readonly held: HeldLeases;
  /** The taker's take: fenced on the lease's counter, registers the lease, emits lease.acquired. */
  readonly take: (lease: Lease, handedOverBy: string) => Promise<boolean>;
  readonly clock: Clock;
  readonly events: KclEvents;
  readonly logger: Logger;
}

export class Handoff {
  /** Requester side: the leases this worker asked for and is still waiting for. */
  private readonly requested = new Map<string, RequestedHandoff>();
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Holder-side timeouts; aborted when the coordinator stops. */
  private readonly timers = new AbortController();

  constructor(
    private readonly options: HandoffOptions,
    private readonly deps: HandoffDeps,
  ) {
    // One listener per pending timeout: many at once are expected, not a leak.
    setMaxListeners(0, this.timers.signal);
  }

  /** Leases this worker requested and is still waiting for. */
  requestedKeys(): string[] {
    return [...this.requested.keys()];
  }

  /** Forgets a request (the lease is being taken by other means); returns the holder it was asked of, if any. */
  forget(leaseKey: string): string | undefined {
    const from = this.requested.get(leaseKey)?.from;
    this.requested.delete(leaseKey);
    return from;
  }

  // ---- requester side ----

  /** Requests a lease from its holder; true when the request was written. */
  async request(lease: Lease): Promise<boolean> {
    const { table, clock, logger, events } = this.deps;
    const holder = lease.leaseOwner;
    if (!holder) return false;
    const sentAt = clock.now();
    try {
      if (!(await table.requestHandoff(lease, this.options.workerId))) return false;
    } catch (err) {
      logger.warn({ leaseKey: lease.leaseKey, err: toError(err).message }, 'asking for a lease failed');
      return false;
    }
    this.requested.set(lease.leaseKey, { from: holder, requestedAt: sentAt, counter: lease.leaseCounter, lastChangeAt: sentAt });
    // Shutdown began while the request was in flight: withdraw it at once.
    if (this.stopped) await this.withdrawAll();
    logger.info({ leaseKey: lease.leaseKey, from: holder }, 'asked the owner to hand the lease over');
    events.emit('lease.handoffInitiated', { leaseKey: lease.leaseKey, workerId: this.options.workerId, from: holder });
    this.wake?.();
    return true;
  }

  /**
   * While requests are pending, reads each of them every pollMillis, so a completed hand-off starts within
   * that; runs until the signal aborts or stop() is called.
   */
  async run(signal: AbortSignal, onError: (err: unknown) => void): Promise<void> {
    const stopTimers = () => this.timers.abort();
    signal.addEventListener('abort', stopTimers, { once: true });
    try {
      while (!signal.aborted && !this.stopped) {
        if (this.requested.size > 0) {
          try {
            await this.poll();
          } catch (err) {
            onError(err);
          }
        }
        if (this.stopped || signal.aborted) return;
        const wake = new AbortController();
        const onAbort = () => wake.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = onAbort;
        if (this.requested.size > 0) await sleepUnlessAborted(this.deps.clock, this.options.pollMillis, wake.signal);
        else await new Promise<void>((resolve) => wake.signal.addEventListener('abort', () => resolve(), { once: true }));
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', stopTimers);
    }
  }

  /** One read of every requested lease, each judged by requesterStep. */
  async poll(): Promise<void> {
    const { table, held, clock, logger } = this.deps;
    for (const [leaseKey, handoff] of [...this.requested]) {
      if (this.stopped) return;
      const readAt = clock.now();
      const lease = await table.getLease(leaseKey);
      // Taken meanwhile by the taker (or forgotten): nothing left to wait for.
      if (this.requested.get(leaseKey) !== handoff || held.has(leaseKey)) continue;
      const step = requesterStep(handoff, lease, this.options.workerId, readAt, this.options.failoverTimeMillis, this.options.handoffTimeoutMillis);
      switch (step.kind) {
        case 'forget':
          this.requested.delete(leaseKey);
          logger.info({ leaseKey, owner: lease?.leaseOwner }, 'no longer waiting for a hand-off: the lease moved elsewhere');
          break;
        case 'take':
          await this.deps.take(lease!, handoff.from);
          break;
        case 'take-over':
          logger.warn({ leaseKey, from: handoff.from, reason: step.reason }, 'taking over a lease whose hand-off did not complete');
          await this.deps.take(lease!, handoff.from);
          break;
        case 'wait':
          this.requested.set(leaseKey, step.handoff);
          break;
      }
    }
  }

  /** No new requests are polled or kept: called when the worker stops taking leases. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * Withdraws the requests this worker is still waiting for (after stop(), when shutting down): otherwise they
   * would complete to a worker that is gone and wait out the failover time.
   */
  async withdrawAll(): Promise<void> {
    const { table, logger } = this.deps;
    const pending = [...this.requested];
    this.requested.clear();
    await Promise.all(
      pending.map(async ([leaseKey, handoff]) => {
        try {
          if (await table.withdrawHandoff(leaseKey, this.options.workerId, handoff.from)) return;
          // Already completed to us: hand it straight back to the table.
          const lease = await table.getLease(leaseKey);
          if (lease && lease.leaseOwner === this.options.workerId && !lease.checkpointOwner) await table.releaseLease(lease, this.options.workerId);
        } catch (err) {
          logger.warn({ leaseKey, err: toError(err).message }, 'withdrawing a hand-off failed; the lease will expire instead');
        }
      }),
    );
  }

  // ---- holder side ----

  /**
   * The holder noticed a request (HeldLeases calls this from the lease's write queue). The worker's consumer
   * supervisor reacts to `lease.handoffRequested` (shutdownRequested, then release); if the processor takes
   * longer than the timeout, the hand-off is forced here.
   */
  noticed(leaseKey: string, requester: string, concurrencyToken: string): void {
    const { logger, events } = this.deps;
    logger.info({ leaseKey, to: requester }, 'another worker asked for this lease: finishing the shard and handing it over');
    events.emit('lease.handoffRequested', { leaseKey, workerId: this.options.workerId, to: requester });
    void this.forceAfterTimeout(leaseKey, concurrencyToken).catch((err: unknown) => this.report(err, leaseKey));
  }

  private async forceAfterTimeout(leaseKey: string, concurrencyToken: string): Promise<void> {
    const { held, clock, logger } = this.deps;
    const timeout = this.options.handoffTimeoutMillis;
    if (!(await sleepUnlessAborted(clock, timeout, this.timers.signal))) return;
    // Completed, lost or re-acquired meanwhile: nothing to force.
    if (held.get(leaseKey)?.concurrencyToken !== concurrencyToken || !held.handoffRequested(leaseKey)) return;
    logger.warn({ shardId: leaseKey, timeoutMillis: timeout }, 'the record processor did not finish within the hand-off timeout; handing the lease over now');
    await held.release(leaseKey);
  }

  /** Stops the holder-side timeouts (the coordinator stopped). */
  close(): void {
    this.timers.abort();
  }

  private report(err: unknown, shardId: string): void {
    const error = toError(err);
    this.deps.logger.error({ err: error, shardId, where: 'lease hand-off' }, 'lease hand-off failed');
    this.deps.events.emit('worker.error', { error, shardId, where: 'lease hand-off' });
  }
}
