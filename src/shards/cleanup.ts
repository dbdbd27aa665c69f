/**
 * Which finished leases may be deleted (`cleanupLeasesUponShardCompletion`; see docs/shards.md, 'Lease
 * cleanup'), as a pure function of one table scan. A parent at SHARD_END goes only when every child lease exists and has moved past
 * its starting sentinel (the child really started and checkpointed) and its own parents are already gone, so
 * the chain is removed oldest first and shard sync never sees a hole that would make it recreate anything.
 */
import { isShardEnd } from '../checkpoint/sequence.js';
import type { Lease } from '../leases/lease.js';

const NOT_STARTED = new Set(['TRIM_HORIZON', 'AT_TIMESTAMP', 'LATEST']);

export function leasesToCleanUp(leases: readonly Lease[]): string[] {
  const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
  const done: string[] = [];
  for (const lease of leases) {
    if (!isShardEnd(lease.checkpoint)) continue;
    // Without the child list we cannot tell whether the children started; keep the lease.
    if (lease.childShardIds.length === 0) continue;
    const childrenStarted = lease.childShardIds.every((id) => {
      const child = byKey.get(id);
      return child !== undefined && !NOT_STARTED.has(child.checkpoint.sequenceNumber);
    });
    const parentsGone = lease.parentShardIds.every((id) => !byKey.has(id));
    if (childrenStarted && parentsGone) done.push(lease.leaseKey);
  }
  return done;
}
