/** The lease model (see docs/lease-protocol.md, 'Lease item format'). */
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
  /** KCL 3.x graceful hand-off: the holder that still has to finish while the requester is already leaseOwner. */
  readonly checkpointOwner?: string;
  readonly throughputKBps?: number;
}
