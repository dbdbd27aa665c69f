/**
 * An in-memory LeaseStore for unit tests. It applies the same conditions as the DynamoDB LeaseTable (see
 * docs/lease-protocol.md, 'Fencing'): every fenced write requires the caller's counter and raises it by one,
 * release also the owner, a hand-off request leaves the counter alone, and a write whose condition fails
 * changes nothing and returns false / undefined. So a coordinator under test can lose a lease, miss a race or
 * notice a hand-off exactly as it would against DynamoDB.
 */
import type { ExtendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import type { Lease } from '../../src/leases/lease.js';
import type { HandoffWriteOptions, LeaseStore } from '../../src/leases/lease-store.js';

type Method = keyof LeaseStore;

export class MemoryLeaseTable implements LeaseStore {
  private readonly items = new Map<string, Lease>();
  /** Every call, by method name: what a test counts (for example renewals skipped after a checkpoint). */
  readonly calls: Method[] = [];
  private readonly failures = new Map<Method, () => Error>();

  constructor(leases: readonly Lease[] = []) {
    for (const lease of leases) this.items.set(lease.leaseKey, lease);
  }

  /** From now on `method` throws `error()` (until healed). */
  fail(method: Method, error: () => Error): void {
    this.failures.set(method, error);
  }

  heal(method: Method): void {
    this.failures.delete(method);
  }

  count(method: Method): number {
    return this.calls.filter((c) => c === method).length;
  }

  /** The item as stored, for assertions; also lets a test play another worker writing directly. */
  peek(leaseKey: string): Lease | undefined {
    return this.items.get(leaseKey);
  }

  put(lease: Lease): void {
    this.items.set(lease.leaseKey, lease);
  }

  private enter(method: Method): void {
    this.calls.push(method);
    const failure = this.failures.get(method);
    if (failure) throw failure();
  }

  /** A fenced write: the stored counter must be the caller's; the stored item is changed and the counter raised. */
  private fenced(lease: Lease, condition: (stored: Lease) => boolean, apply: (l: Lease) => Lease): Lease | undefined {
    const stored = this.items.get(lease.leaseKey);
    if (!stored || stored.leaseCounter !== lease.leaseCounter || !condition(stored)) return undefined;
    this.items.set(lease.leaseKey, { ...apply(stored), leaseCounter: stored.leaseCounter + 1 });
    // As the DynamoDB table does: the caller's lease with the change applied, not a fresh read.
    return { ...apply(lease), leaseCounter: lease.leaseCounter + 1 };
  }

  async listLeases(): Promise<Lease[]> {
    this.enter('listLeases');
    return [...this.items.values()];
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    this.enter('getLease');
    return this.items.get(leaseKey);
  }

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    this.enter('createLeaseIfNotExists');
    if (this.items.has(lease.leaseKey)) return false;
    this.items.set(lease.leaseKey, lease);
    return true;
  }

  async deleteLease(leaseKey: string): Promise<void> {
    this.enter('deleteLease');
    this.items.delete(leaseKey);
  }

  async renewLease(lease: Lease, options: HandoffWriteOptions = {}): Promise<Lease | undefined> {
    this.enter('renewLease');
    return this.fenced(lease, (s) => options.handoffPending === true || !s.checkpointOwner, (l) => l);
  }

  async takeLease(lease: Lease, owner: string): Promise<Lease | undefined> {
    this.enter('takeLease');
    const switching = lease.leaseOwner !== owner;
    return this.fenced(
      lease,
      () => true,
      (l) => ({ ...l, leaseOwner: owner, checkpointOwner: undefined, ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint + (switching ? 1 : 0) }),
    );
  }

  async updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber, childShardIds?: readonly string[], options: HandoffWriteOptions = {}): Promise<Lease | undefined> {
    this.enter('updateCheckpoint');
    return this.fenced(
      lease,
      (s) => options.handoffPending === true || !s.checkpointOwner,
      (l) => ({ ...l, checkpoint, pendingCheckpoint: undefined, ownerSwitchesSinceCheckpoint: 0, childShardIds: childShardIds && childShardIds.length > 0 ? childShardIds : l.childShardIds }),
    );
  }

  async releaseLease(lease: Lease, owner: string): Promise<boolean> {
    this.enter('releaseLease');
    return this.fenced(lease, (s) => s.leaseOwner === owner, (l) => ({ ...l, leaseOwner: undefined })) !== undefined;
  }

  async requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    this.enter('requestHandoff');
    const stored = this.items.get(lease.leaseKey);
    if (!lease.leaseOwner || !stored || stored.leaseCounter !== lease.leaseCounter || stored.leaseOwner !== lease.leaseOwner || stored.checkpointOwner) return false;
    this.items.set(lease.leaseKey, { ...stored, leaseOwner: requester, checkpointOwner: lease.leaseOwner });
    return true;
  }

  async completeHandoff(lease: Lease, holder: string, requester: string): Promise<Lease | undefined> {
    this.enter('completeHandoff');
    return this.fenced(
      lease,
      (s) => s.leaseOwner === requester && s.checkpointOwner === holder,
      (l) => ({ ...l, leaseOwner: requester, checkpointOwner: undefined, ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint + 1 }),
    );
  }

  async withdrawHandoff(leaseKey: string, requester: string, holder: string): Promise<boolean> {
    this.enter('withdrawHandoff');
    const stored = this.items.get(leaseKey);
    if (!stored || stored.leaseOwner !== requester || stored.checkpointOwner !== holder) return false;
    this.items.set(leaseKey, { ...stored, leaseOwner: undefined, checkpointOwner: undefined });
    return true;
  }
}
