/**
 * leases/ owns the lease: its model, the Java-compatible DynamoDB item format, the LeaseTable (the only code
 * that writes lease items, every write fenced on `leaseCounter`), the pure lease decisions and the
 * LeaseCoordinator that applies them on timers. It never reads records.
 */
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { HashKeyRange } from '../common/hash-key-range.js';

export type { HashKeyRange };

/** One row of the lease table, as the Java KCL 2.x/3.x writes it. */
export interface Lease {
  /** The shard id (single-stream mode). */
  readonly leaseKey: string;
  /** Worker id of the holder; undefined when unassigned. */
  readonly leaseOwner?: string;
  /** Fencing token: raised by every renew, take, checkpoint and release. */
  readonly leaseCounter: number;
  readonly checkpoint: ExtendedSequenceNumber;
  readonly pendingCheckpoint?: ExtendedSequenceNumber;
  readonly ownerSwitchesSinceCheckpoint: number;
  readonly parentShardIds: readonly string[];
  readonly childShardIds: readonly string[];
  readonly hashKeyRange?: HashKeyRange;
  /** KCL 3.x graceful handoff: the previous owner that still has to checkpoint. */
  readonly checkpointOwner?: string;
  readonly throughputKBps?: number;
}
