/**
 * The renewer: every renewal period it renews each held lease through the lease's write queue (see
 * docs/lease-protocol.md, 'Renewal'). What to do with one lease (skip, drop, renew), whether a retried write
 * landed and whether a failed renewal means a hand-off request are decisions.ts rules; this module only
 * applies them. It never takes a lease and never releases one.
 */
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { awsErrorKind } from '../aws/errors.js';
import { toError } from '../common/errors.js';
import { inLanes } from '../common/lanes.js';
import type { Logger } from '../common/logger.js';
import { retry, RETRY } from '../common/retry.js';
import { isHandoffRequest, renewalAction, retriedWriteLanded } from './decisions.js';
import type { HeldLeases } from './held-leases.js';
import type { LeaseStore } from './lease-store.js';
import type { RenewalHealth } from './renewal-health.js';

/** How one lease's renewal ended: done (renewed, skipped, or found taken), dropped as expired, or failed. */
type RenewalOutcome = { kind: 'done' } | { kind: 'expired' } | { kind: 'failed'; error: Error; lastRenewedAt: number };

export interface LeaseRenewerOptions {
  readonly workerId: string;
  readonly failoverTimeMillis: number;
  readonly renewIntervalMillis: number;
  /**
   * Most renewals in flight at once (`maxLeaseRenewalThreads`). A renewal's deadline runs from when it is sent,
   * so with thousands of held leases the late ones wait for a lane instead of timing out in a queue.
   */
  readonly maxConcurrentRenewals: number;
}

export class LeaseRenewer {
  constructor(
    private readonly table: LeaseStore,
    private readonly held: HeldLeases,
    private readonly options: LeaseRenewerOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly health: RenewalHealth,
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

  /** One round: renews every held lease; says once when renewals fail and when leases had to be dropped. */
  async renewAll(): Promise<void> {
    const outcomes = await inLanes(this.held.keys(), this.options.maxConcurrentRenewals, async (leaseKey) => ({ leaseKey, ...(await this.renewOne(leaseKey)) }));
    const failed = outcomes.flatMap((o) => (o.kind === 'failed' ? [o] : []));
    if (failed.length > 0) this.failed(failed[0]!.error, Math.min(...failed.map((f) => f.lastRenewedAt)));
    this.health.leasesExpired(outcomes.filter((o) => o.kind === 'expired').map((o) => o.leaseKey));
  }

  /**
   * A renewal failed. Every held lease is named, also those a recent checkpoint spared a renewal: the warning is
   * said once per outage, and they all depend on the same table. The worker's own stop is no failure.
   */
  private failed(error: Error, lastSuccessAt: number): void {
    if (awsErrorKind(error) === 'aborted') return;
    this.health.renewalsFailed(this.held.keys(), error, lastSuccessAt);
  }

  private async renewOne(leaseKey: string): Promise<RenewalOutcome> {
    const outcome = await this.held.withLease(leaseKey, async (entry): Promise<RenewalOutcome> => {
      const sentAt = this.clock.now();
      const action = renewalAction(sentAt - entry.lastRenewedAt, this.options.renewIntervalMillis, this.options.failoverTimeMillis);
      if (action === 'skip') return { kind: 'done' };
      if (action === 'drop') {
        this.held.drop(leaseKey, 'expired');
        return { kind: 'expired' };
      }
      for (;;) {
        try {
          const handoffPending = entry.handoffTo !== undefined;
          const renewed = await retry(() => this.table.renewLease(entry.lease, { handoffPending }), {
            policy: RETRY.leaseWrite,
            clock: this.clock,
            // Said at the first failed attempt, while the leases are still valid: the operator hears it before
            // processing stops, not with it.
            onRetry: ({ error }) => this.failed(error, entry.lastRenewedAt),
          });
          if (renewed) {
            this.held.confirm(entry, renewed, sentAt);
            return { kind: 'done' };
          }
          const current = await retry(() => this.table.getLease(leaseKey), { policy: RETRY.leaseRead, clock: this.clock });
          if (retriedWriteLanded(entry.lease, current)) {
            this.held.confirm(entry, current!, sentAt);
            return { kind: 'done' };
          }
          // Requested by another worker: keep the lease alive (renewing on the counter alone) while the
          // processor finishes.
          if (entry.handoffTo === undefined && isHandoffRequest(current, entry.lease, this.options.workerId)) {
            this.held.noteHandoffRequest(entry, current!);
            continue;
          }
          this.held.drop(leaseKey, 'taken');
          return { kind: 'done' };
        } catch (err) {
          // Keep the lease for now: it turns into "expired" locally if renewals keep failing.
          const error = toError(err);
          this.logger.debug({ leaseKey, err: error.message }, 'lease renewal failed');
          return { kind: 'failed', error, lastRenewedAt: entry.lastRenewedAt };
        }
      }
    });
    return outcome ?? { kind: 'done' };
  }
}
