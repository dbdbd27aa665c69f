/**
 * What an operator needs to hear about a worker cut off from its lease table, said once each: renewals started
 * failing (which leases, for how long, the error); processing of some shards stopped because, by this worker's
 * own clock, their leases may have expired; the table answers again. Each is a warning in the log and an event
 * (`lease.renewalsFailing`, `lease.lost` per lease, `lease.renewalsRecovered`), so metrics see them too.
 *
 * Recovery is judged by any lease-table call that lands (the worker feeds it every `aws.call` for DynamoDB),
 * since a worker that lost all its leases renews nothing and learns of the heal from its next scan.
 */
import type { Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';

/** Lease keys named in a message; the structured `leaseKeys` field keeps them all. */
const NAMED_KEYS = 10;

/** The first few keys, and how many more: a worker holding thousands of leases writes one readable line, not a page. */
export function someKeys(keys: readonly string[], max = NAMED_KEYS): string {
  return keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')} and ${keys.length - max} more`;
}

export class RenewalHealth {
  /** Set while renewals are failing: since when (the last renewal that landed, this clock). */
  private failingSince: number | undefined;

  constructor(
    private readonly workerId: string,
    private readonly clock: Clock,
    private readonly events: KclEvents,
    private readonly logger: Logger,
  ) {}

  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  /** A renewal round ended with these leases not renewed; `lastSuccessAt`: the oldest of their last renewals. */
  renewalsFailed(leaseKeys: string[], error: Error, lastSuccessAt: number): void {
    if (this.failingSince !== undefined) return;
    this.failingSince = lastSuccessAt;
    const failingForMillis = this.clock.now() - lastSuccessAt;
    this.logger.warn(
      { leaseKeys, err: error.message, failingForMillis },
      `lease renewals are failing (${leaseKeys.length} lease${leaseKeys.length === 1 ? '' : 's'}: ${someKeys(leaseKeys)}): ${error.message}; ` +
        'processing goes on until the leases may have expired by this worker\'s clock',
    );
    this.events.emit('lease.renewalsFailing', { workerId: this.workerId, leaseKeys, error, failingForMillis });
  }

  /** Leases dropped in one renewal round because, by this worker's clock, they may have expired. */
  leasesExpired(leaseKeys: string[]): void {
    if (leaseKeys.length === 0) return;
    const since = this.failingSince === undefined ? undefined : this.clock.now() - this.failingSince;
    this.logger.warn(
      { leaseKeys, failingForMillis: since },
      `stopped processing ${someKeys(leaseKeys)}: not renewed for longer than the failover time, so another worker may hold ` +
        (leaseKeys.length === 1 ? 'that lease' : 'those leases') + ' now',
    );
  }

  /** A lease-table call landed. */
  callSucceeded(): void {
    if (this.failingSince === undefined) return;
    const failedForMillis = this.clock.now() - this.failingSince;
    this.failingSince = undefined;
    this.logger.warn({ failedForMillis }, `the lease table answers again after ${(failedForMillis / 1000).toFixed(1)} s; taking and renewing leases as usual`);
    this.events.emit('lease.renewalsRecovered', { workerId: this.workerId, failedForMillis });
  }
}
