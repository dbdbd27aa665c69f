/**
 * LeaseCoordinator is the facade the worker uses: it builds the held-lease registry, the renewer, the taker and
 * the hand-off from one set of settings, runs their loops, and forwards the few calls the worker and the
 * checkpointer make. It holds no lease logic of its own.
 */
import type { Clock } from '../common/clock.js';
import { type KclEvents } from '../common/events.js';
import { toError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { KclConfig } from '../config/config.js';
import { Handoff } from './handoff.js';
import { HeldLeases, type HeldLease, type ReleaseOutcome } from './held-leases.js';
import type { Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';
import { LeaseRenewer } from './renewer.js';
import { RenewalHealth } from './renewal-health.js';
import { LeaseTaker } from './taker.js';

export type { HeldLease, ReleaseOutcome } from './held-leases.js';

/** The configuration keys the lease layer acts on. */
export type LeaseCoordinatorConfig = Pick<
  KclConfig,
  | 'workerId'
  | 'failoverTimeMillis'
  | 'epsilonMillis'
  | 'maxLeasesForWorker'
  | 'maxLeasesToStealAtOneTime'
  | 'maxLeaseRenewalThreads'
  | 'isGracefulLeaseHandoffEnabled'
  | 'gracefulLeaseHandoffTimeoutMillis'
>;

/** Settings that are not configuration keys: tests and benchmarks tune them. */
export interface LeaseCoordinatorTuning {
  /** Default: the Java taker period, (failover + epsilon) × 2. */
  takerIntervalMillis?: number;
  /** How often a worker waiting for a hand-off reads that lease. Default 500 ms. */
  handoffPollMillis?: number;
  /**
   * How often the fleet as a whole scans the lease table (workers take turns; see nextScanDelay). This bounds
   * how long a crashed worker's or a released lease waits beyond the failover time. Default failover / 6.
   */
  fleetScanGapMillis?: number;
  random?: () => number;
}

/** The renewal period: failover / 3 − epsilon, as in the Java KCL; also the deadline of one lease write. */
export function renewIntervalMillis(config: Pick<KclConfig, 'failoverTimeMillis' | 'epsilonMillis'>): number {
  return Math.max(1, Math.floor(config.failoverTimeMillis / 3) - config.epsilonMillis);
}

export class LeaseCoordinator {
  readonly renewIntervalMillis: number;
  readonly takerIntervalMillis: number;
  private readonly held: HeldLeases;
  private readonly renewer: LeaseRenewer;
  private readonly taker: LeaseTaker;
  private readonly handoff: Handoff;
  /** Says when renewals fail, when leases expire locally, and when the table answers again. */
  readonly health: RenewalHealth;

  constructor(
    table: LeaseStore,
    private readonly config: LeaseCoordinatorConfig,
    clock: Clock,
    events: KclEvents,
    logger: Logger,
    tuning: LeaseCoordinatorTuning = {},
  ) {
    const { workerId, failoverTimeMillis, epsilonMillis } = config;
    this.renewIntervalMillis = renewIntervalMillis(config);
    this.takerIntervalMillis = tuning.takerIntervalMillis ?? (failoverTimeMillis + epsilonMillis) * 2;
    this.held = new HeldLeases(
      table,
      { workerId, failoverTimeMillis, onHandoffRequested: (leaseKey, requester, token) => this.handoff.noticed(leaseKey, requester, token) },
      clock,
      events,
      logger,
    );
    this.handoff = new Handoff(
      { workerId, failoverTimeMillis, handoffTimeoutMillis: config.gracefulLeaseHandoffTimeoutMillis, pollMillis: tuning.handoffPollMillis ?? 500 },
      { table, held: this.held, take: (lease, from) => this.taker.take(lease, from), clock, events, logger },
    );
    this.health = new RenewalHealth(workerId, clock, events, logger);
    this.renewer = new LeaseRenewer(table, this.held, { workerId, failoverTimeMillis, renewIntervalMillis: this.renewIntervalMillis, maxConcurrentRenewals: config.maxLeaseRenewalThreads }, clock, logger, this.health);
    this.taker = new LeaseTaker(
      {
        workerId,
        failoverTimeMillis,
        epsilonMillis,
        maxLeasesForWorker: config.maxLeasesForWorker,
        maxLeasesToStealAtOneTime: config.maxLeasesToStealAtOneTime,
        renewIntervalMillis: this.renewIntervalMillis,
        takerIntervalMillis: this.takerIntervalMillis,
        gracefulHandoff: config.isGracefulLeaseHandoffEnabled,
        fleetScanGapMillis: tuning.fleetScanGapMillis ?? Math.max(1, Math.round(failoverTimeMillis / 6)),
        random: tuning.random ?? Math.random,
      },
      { table, held: this.held, handoff: this.handoff, clock, events, logger },
    );
  }

  get workerId(): string {
    return this.config.workerId;
  }

  /**
   * Runs the renewer, the taker and the hand-off polls until the signal aborts. A fatal taker error (the lease
   * table is gone) ends the taker and goes to `onFatal`; the renewals go on until the signal aborts.
   */
  async run(signal: AbortSignal, onFatal: (error: Error) => void): Promise<void> {
    await Promise.all([
      this.renewer.run(signal),
      this.handoff.run(signal, (err) => this.taker.reportError(err)),
      this.taker.run(signal).catch((err: unknown) => onFatal(toError(err))),
    ]);
  }

  /** The taker and the hand-off polls stop (no new leases); renewals go on so held leases can be checkpointed. */
  stopTaking(): void {
    this.taker.stop();
    this.handoff.stop();
  }

  /** Withdraws the hand-offs this worker requested and still waits for (after stopTaking, when shutting down). */
  withdrawPendingHandoffs(): Promise<void> {
    return this.handoff.withdrawAll();
  }

  /** Wakes the taker for a scan now, e.g. after shard sync created leases or another worker released some. */
  requestTake(): void {
    this.taker.requestScan();
  }

  /** Milliseconds until another live worker's next scan, by the schedule of the last scan; undefined if none. */
  nextPeerScanIn(): number | undefined {
    return this.taker.nextPeerScanIn();
  }

  /** The taker's latest full scan and when (this clock) it was made, so shard sync need not scan again. */
  latestScan(): { leases: readonly Lease[]; at: number } | undefined {
    return this.taker.latestScan();
  }

  /** One taker cycle now; returns the delay to the next (tests drive the taker with it). */
  takeOnce(): Promise<number> {
    return this.taker.takeOnce();
  }

  /** One renewal of every held lease now. */
  renewAll(): Promise<void> {
    return this.renewer.renewAll();
  }

  /** One read of every lease this worker requested. */
  pollHandoffs(): Promise<void> {
    return this.handoff.poll();
  }

  /** True while another worker waits for this lease: finish (checkpoint) and release it. */
  handoffRequested(leaseKey: string): boolean {
    return this.held.handoffRequested(leaseKey);
  }

  /** Leases this worker requested from others and is still waiting for. */
  pendingHandoffKeys(): string[] {
    return this.handoff.requestedKeys();
  }

  /** Held and, by this worker's own clock, not expired. */
  isHeld(leaseKey: string, concurrencyToken?: string): boolean {
    return this.held.isHeld(leaseKey, concurrencyToken);
  }

  heldLeases(): HeldLease[] {
    return this.held.all();
  }

  getHeld(leaseKey: string): HeldLease | undefined {
    return this.held.get(leaseKey);
  }

  checkpoint(leaseKey: string, concurrencyToken: string, checkpoint: ExtendedSequenceNumber, childShardIds?: readonly string[]): Promise<Lease> {
    return this.held.checkpoint(leaseKey, concurrencyToken, checkpoint, childShardIds);
  }

  /** Gives a lease up: completes a requested hand-off, or releases it to anyone. */
  release(leaseKey: string): Promise<ReleaseOutcome> {
    return this.held.release(leaseKey);
  }

  /** Forgets a lease without writing (it will expire for others). */
  drop(leaseKey: string, reason: 'taken' | 'expired'): void {
    this.held.drop(leaseKey, reason);
  }
}
