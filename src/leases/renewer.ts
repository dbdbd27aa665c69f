/**
 * The renewer: every renewal period it renews each held lease through the lease's write queue (see
 * docs/lease-protocol.md, 'Renewal'). What to do with one lease (skip, drop, renew), whether a retried write
 * landed and whether a failed renewal means a hand-off request are decisions.ts rules; this module only
 * applies them. It never takes a lease and never releases one.
 */
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { KclError, toError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { isHandoffRequest, renewalAction, retriedWriteLanded } from './decisions.js';
import type { HeldLeases } from './held-leases.js';
import type { LeaseStore } from './lease-store.js';

export interface LeaseRenewerOptions {
  readonly workerId: string;
  readonly failoverTimeMillis: number;
  readonly renewIntervalMillis: number;
}

export class LeaseRenewer {
  constructor(
    private readonly table: LeaseStore,
    private readonly held: HeldLeases,
    private readonly options: LeaseRenewerOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Renews on the renewal period until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.clock.now();
      await this.renewAll();
      const elapsed = this.clock.now() - started;
      if (!(await sleepUnlessAborted(this.clock, Math.max(0, this.options.renewIntervalMillis - elapsed), signal))) return;
    }
  }

  async renewAll(): Promise<void> {
    await Promise.all(this.held.keys().map((key) => this.renewOne(key)));
  }

  private async renewOne(leaseKey: string): Promise<void> {
    await this.held.withLease(leaseKey, async (entry) => {
      const sentAt = this.clock.now();
      const action = renewalAction(sentAt - entry.lastRenewedAt, this.options.renewIntervalMillis, this.options.failoverTimeMillis);
      if (action === 'skip') return;
      if (action === 'drop') {
        this.held.drop(leaseKey, 'expired');
        return;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const renewed = await this.table.renewLease(entry.lease, { handoffPending: entry.handoffTo !== undefined });
          if (renewed) {
            this.held.confirm(entry, renewed, sentAt);
            return;
          }
          const current = await this.table.getLease(leaseKey);
          if (retriedWriteLanded(entry.lease, current)) {
            this.held.confirm(entry, current!, sentAt);
            return;
          }
          // Requested by another worker: keep the lease alive (renewing on the counter alone) while the
          // processor finishes.
          if (entry.handoffTo === undefined && isHandoffRequest(current, entry.lease, this.options.workerId)) {
            this.held.noteHandoffRequest(entry, current!);
            continue;
          }
          this.held.drop(leaseKey, 'taken');
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
}
