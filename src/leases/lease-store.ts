/**
 * The LeaseTable seam: every read and write of lease items the lease logic makes. The DynamoDB LeaseTable
 * implements it; unit tests use an in-memory table that applies the same conditions (see
 * docs/lease-protocol.md, 'Fencing'), so the coordinator runs under a virtual clock against an honest stand-in.
 *
 * Every write on an existing lease is conditional. A fenced write (renew, take, checkpoint, release, complete
 * a hand-off) requires the counter the caller last saw and raises it by one; it returns the lease as written,
 * or undefined / false when the condition failed. The hand-off request and its withdrawal leave the counter
 * alone (the holder's renewals must go on). Other failures throw the library's error family.
 */
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { Lease } from './lease.js';

export interface HandoffWriteOptions {
  /** The holder knows a hand-off is pending: write on the counter alone, despite checkpointOwner being set. */
  readonly handoffPending?: boolean;
}

export interface LeaseStore {
  /** Every lease in the table. */
  listLeases(): Promise<Lease[]>;
  /** One lease, read consistently; undefined when there is none. */
  getLease(leaseKey: string): Promise<Lease | undefined>;
  /** Creates a lease unless one with the same key exists; false when it existed. */
  createLeaseIfNotExists(lease: Lease): Promise<boolean>;
  deleteLease(leaseKey: string): Promise<void>;

  /** Heartbeat: raises the counter if it is still the one we hold and (unless handoffPending) nobody asked for it. */
  renewLease(lease: Lease, options?: HandoffWriteOptions): Promise<Lease | undefined>;
  /** Takes a lease for `owner` on the counter this worker observed; clears checkpointOwner. */
  takeLease(lease: Lease, owner: string): Promise<Lease | undefined>;
  /** Writes a checkpoint on the counter we hold (refused, like a renewal, while a hand-off is unnoticed). */
  updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber, childShardIds?: readonly string[], options?: HandoffWriteOptions): Promise<Lease | undefined>;
  /** Removes the owner (fenced on counter and owner) so any worker can take the lease at once. */
  releaseLease(lease: Lease, owner: string): Promise<boolean>;

  /** Requester: leaseOwner becomes `requester`, checkpointOwner the holder; the counter is left alone. */
  requestHandoff(lease: Lease, requester: string): Promise<boolean>;
  /** Holder, after its final checkpoint: clears checkpointOwner and raises the counter so the requester may start. */
  completeHandoff(lease: Lease, holder: string, requester: string): Promise<Lease | undefined>;
  /** Requester, shutting down: clears both owners so any worker takes the lease at its next scan. */
  withdrawHandoff(leaseKey: string, requester: string, holder: string): Promise<boolean>;
}
