/**
 * The shard-sync loop (see docs/shards.md, 'Shard sync' and 'Lease cleanup'): every shardSyncIntervalMillis it
 * lists the stream's shards, creates the missing leases (waking the taker when it did), and deletes the leases
 * of finished shards whose children have started. It reuses the taker's latest scan when that is recent. It
 * never takes, renews or releases a lease.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { AwsCallOutcome } from '../aws/call.js';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { KclConfig } from '../config/config.js';
import type { LeaseCoordinator } from '../leases/coordinator.js';
import type { Lease } from '../leases/lease.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { leasesToCleanUp } from '../shards/cleanup.js';
import { syncShards } from '../shards/shard-sync.js';

/** A scan by the taker younger than this is reused instead of scanning again. */
const RECENT_SCAN_MILLIS = 10_000;

/** waiting: between syncs; syncing / cleaning: at work; stopped: shutdown began, no further sync starts. */
export type ShardSyncState = 'waiting' | 'syncing' | 'cleaning' | 'stopped';

export type ShardSyncConfig = Pick<KclConfig, 'streamName' | 'initialPositionInStream' | 'shardSyncIntervalMillis' | 'cleanupLeasesUponShardCompletion'>;

export interface ShardSyncDeps {
  readonly kinesis: KinesisClient;
  readonly table: Pick<LeaseStore, 'listLeases' | 'createLeaseIfNotExists' | 'deleteLease'>;
  readonly leases: Pick<LeaseCoordinator, 'latestScan' | 'requestTake'>;
  readonly clock: Clock;
  readonly events: KclEvents;
  readonly logger: Logger;
  readonly report: (err: unknown, where: string) => void;
  /** Every ListShards call's outcome (the worker's `aws.call` event). */
  readonly onCall?: (outcome: AwsCallOutcome) => void;
}

export class ShardSyncLoop {
  private stateValue: ShardSyncState = 'waiting';
  private closed: ReadonlySet<string> = new Set();

  constructor(
    private readonly config: ShardSyncConfig,
    private readonly deps: ShardSyncDeps,
  ) {}

  get state(): ShardSyncState {
    return this.stateValue;
  }

  /** One shard sync; returns the lease table as it was before the new leases were created. */
  async syncOnce(signal: AbortSignal): Promise<Lease[]> {
    const { clock, leases, events } = this.deps;
    const recent = leases.latestScan();
    const fresh = recent && clock.now() - recent.at < RECENT_SCAN_MILLIS ? recent.leases : undefined;
    const { shardCount, leasesCreated, leasesBefore, closedShardIds } = await syncShards(
      this.deps.kinesis,
      this.deps.table,
      this.config.streamName,
      this.config.initialPositionInStream,
      clock,
      signal,
      fresh,
      this.deps.onCall,
    );
    this.closed = new Set(closedShardIds);
    events.emit('shards.synced', { shardCount, leasesCreated });
    if (leasesCreated > 0) leases.requestTake();
    return leasesBefore;
  }

  /** Syncs (and cleans up) every interval until the signal aborts or stop() is called; failures are reported. */
  async run(signal: AbortSignal): Promise<void> {
    while (await sleepUnlessAborted(this.deps.clock, this.config.shardSyncIntervalMillis, signal)) {
      if (this.isStopped()) return;
      try {
        this.stateValue = 'syncing';
        const leases = await this.syncOnce(signal);
        if (this.config.cleanupLeasesUponShardCompletion) {
          this.stateValue = 'cleaning';
          await this.cleanUp(leases);
        }
      } catch (err) {
        if (!signal.aborted) this.deps.report(err, 'shard sync');
      } finally {
        if (!this.isStopped()) this.stateValue = 'waiting';
      }
    }
  }

  /** Whether the latest listing showed the shard closed (a fan-out subscription uses it to confirm a quiet end). */
  isShardClosed(shardId: string): boolean {
    return this.closed.has(shardId);
  }

  /** A method, not a property read, so a check after an await sees a stop() that happened meanwhile. */
  private isStopped(): boolean {
    return this.stateValue === 'stopped';
  }

  /** No further sync starts (one in progress finishes). */
  stop(): void {
    this.stateValue = 'stopped';
  }

  /** Deletes leases of finished shards whose children have started (see shards/cleanup.ts). */
  private async cleanUp(leases: readonly Lease[]): Promise<void> {
    for (const leaseKey of leasesToCleanUp(leases)) {
      await this.deps.table.deleteLease(leaseKey);
      this.deps.events.emit('lease.deleted', { leaseKey });
      this.deps.logger.info({ leaseKey }, 'deleted the lease of a finished shard whose children have started');
    }
  }
}
