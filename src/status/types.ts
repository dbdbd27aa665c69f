/**
 * What `GET /status` answers and what the live page and `kcl status --watch` render: one worker's view of its
 * application, built only from the worker's event stream (lease-table scans for every worker's leases, its own
 * deliveries for rates and lag). JSON-safe: times are ISO strings, no Maps, no bigints.
 */

/** How a shard stands, as this worker knows it. */
export type ShardStatusState =
  /** Held by this worker and being read. */
  | 'processing'
  /** Held by this worker, waiting for its parent shards to finish. */
  | 'waiting-on-parents'
  /** Finished: its lease is checkpointed at SHARD_END. */
  | 'shard-end'
  /** A graceful hand-off to another worker is pending. */
  | 'handoff-pending'
  /** Held by another worker (its rate and lag are that worker's to report). */
  | 'owned-elsewhere'
  /** Nobody holds it (new, released, or its owner is gone): the next taker scan picks it up. */
  | 'unowned';

export interface ShardStatus {
  readonly shardId: string;
  readonly owner?: string;
  readonly state: ShardStatusState;
  /** The lease's checkpoint: a sequence number (with `/subSequence` when not 0) or a sentinel. */
  readonly checkpoint: string;
  readonly parentShardIds: readonly string[];
  /** This worker's latest batch of the shard (absent when another worker holds it). */
  readonly millisBehindLatest?: number;
  /** Records this worker delivered from the shard since it started. */
  readonly records: number;
  /** Records per second, one value per sample interval, oldest first (the chart); empty when not ours. */
  readonly recordsPerSecond: readonly number[];
  /** When this worker last delivered a record of the shard. */
  readonly lastRecordAt?: string;
}

export interface WorkerStatus {
  readonly workerId: string;
  readonly leases: number;
  /** False once its leases were seen unrenewed past the failover time (it is gone or cut off). */
  readonly alive: boolean;
  /** This worker. */
  readonly self: boolean;
}

export interface LeaseMove {
  readonly at: string;
  readonly leaseKey: string;
  readonly kind: 'taken' | 'stolen' | 'lost' | 'released' | 'handed_off';
  readonly from?: string;
  readonly to?: string;
}

export interface StatusError {
  readonly at: string;
  readonly where: string;
  readonly shardId?: string;
  readonly message: string;
}

export interface StatusSnapshot {
  readonly application: string;
  readonly stream: string;
  readonly workerId: string;
  readonly retrievalMode: 'FANOUT' | 'POLLING';
  readonly generatedAt: string;
  /** Seconds per value of `recordsPerSecond`. */
  readonly sampleSeconds: number;
  /** When the lease table was last scanned (every worker's leases are as of then). */
  readonly scannedAt?: string;
  readonly workers: readonly WorkerStatus[];
  readonly shards: readonly ShardStatus[];
  /** Newest first, a bounded number. */
  readonly recentMoves: readonly LeaseMove[];
  /** Newest first, a bounded number. */
  readonly recentErrors: readonly StatusError[];
  readonly totals: { readonly records: number; readonly recordsPerSecond: number };
}
