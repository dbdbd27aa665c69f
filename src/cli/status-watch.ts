/**
 * What `kcl status --watch` knows without being a worker: successive scans of the lease table. From them alone it
 * tells each shard's owner, state and checkpoint, how many leases each worker holds, which owners look gone (none
 * of their leases' counters moved for the failover time, the same rule a worker's taker applies: see
 * leases/decisions.ts), and which leases changed hands between two scans. Pure: the caller scans and passes the
 * times, so the rules are unit-tested without DynamoDB. It lives in cli/ because it reads leases, which status/
 * never does; status/terminal.ts renders the TableView it produces.
 */
import { isShardEnd } from '../checkpoint/sequence.js';
import { isAvailable, observe, type Observations } from '../leases/decisions.js';
import type { Lease } from '../leases/lease.js';
import type { LeaseMove, ShardStatusState } from '../status/types.js';
import type { TableShard, TableView } from '../status/terminal.js';

export interface ScanTimes {
  /** Monotonic ms when the scan was sent (expiry is judged then, as the taker does). */
  readonly sentAt: number;
  /** Monotonic ms when its answer arrived (a counter change is dated then). */
  readonly answeredAt: number;
  /** Wall ms when its answer arrived, for people. */
  readonly wallAt: number;
}

/** Shard ids in numeric order; one collator for the whole sort (a collator per comparison costs ~10 µs each). */
const numericOrder = new Intl.Collator('en', { numeric: true }).compare;

export function checkpointText(lease: Lease): string {
  const { sequenceNumber, subSequenceNumber } = lease.checkpoint;
  return subSequenceNumber ? `${sequenceNumber}/${subSequenceNumber}` : sequenceNumber;
}

export class LeaseTableWatch {
  private observations: Observations = new Map();
  private previous = new Map<string, Lease>();
  private checkpointMoved = new Map<string, { checkpoint: string; at?: number }>();
  /** Monotonic time at which this watch last saw each lease's counter change. */
  private counterMoved = new Map<string, number>();
  private moves: LeaseMove[] = [];
  private startedAt: number | undefined;
  private last: TableView;

  constructor(private readonly opts: { table: string; failoverMillis: number; maxMoves?: number }) {
    this.last = { table: opts.table, failoverMillis: opts.failoverMillis, watchingMillis: 0, workers: [], shards: [], recentMoves: [] };
  }

  observe(scan: readonly Lease[], times: ScanTimes): TableView {
    this.startedAt ??= times.sentAt;
    const { failoverMillis } = this.opts;
    const before = this.observations;
    const expiredBefore = (lease: Lease) => isAvailable(lease, before.get(lease.leaseKey), times.sentAt, failoverMillis);
    this.observations = observe(before, scan, times.answeredAt);
    const byKey = new Map(scan.map((l) => [l.leaseKey, l]));

    for (const lease of scan) {
      const prev = this.previous.get(lease.leaseKey);
      if (prev) this.noteMove(prev, lease, expiredBefore(prev), times.wallAt);
      if (prev && prev.leaseCounter !== lease.leaseCounter) this.counterMoved.set(lease.leaseKey, times.answeredAt);
      const cp = checkpointText(lease);
      const seen = this.checkpointMoved.get(lease.leaseKey);
      if (!seen) this.checkpointMoved.set(lease.leaseKey, { checkpoint: cp });
      else if (seen.checkpoint !== cp) this.checkpointMoved.set(lease.leaseKey, { checkpoint: cp, at: times.wallAt });
    }
    for (const key of this.checkpointMoved.keys()) if (!byKey.has(key)) this.checkpointMoved.delete(key);
    for (const key of this.counterMoved.keys()) if (!byKey.has(key)) this.counterMoved.delete(key);
    this.previous = byKey;

    const gone = (lease: Lease) => isAvailable(lease, this.observations.get(lease.leaseKey), times.sentAt, failoverMillis);
    const workers = new Map<string, { leases: number; alive: boolean; lastChange?: number }>();
    for (const lease of scan) {
      if (!lease.leaseOwner || isShardEnd(lease.checkpoint)) continue;
      const w = workers.get(lease.leaseOwner) ?? { leases: 0, alive: false };
      w.leases++;
      if (!gone(lease)) w.alive = true;
      // Only a counter change this watch saw dates a renewal (a lease seen for the first time proves nothing).
      const changed = this.counterMoved.get(lease.leaseKey);
      if (changed !== undefined && changed > (w.lastChange ?? -Infinity)) w.lastChange = changed;
      workers.set(lease.leaseOwner, w);
    }

    const shards = [...scan]
      .sort((a, b) => numericOrder(a.leaseKey, b.leaseKey))
      .map((lease): TableShard => {
        const ownerGone = lease.leaseOwner !== undefined && !isShardEnd(lease.checkpoint) && workers.get(lease.leaseOwner)?.alive === false;
        const moved = this.checkpointMoved.get(lease.leaseKey)?.at;
        return {
          shardId: lease.leaseKey,
          ...(lease.leaseOwner ? { owner: lease.leaseOwner } : {}),
          ...(lease.checkpointOwner ? { handoffFrom: lease.checkpointOwner } : {}),
          state: stateOf(lease, byKey, ownerGone),
          ownerGone,
          checkpoint: checkpointText(lease),
          leaseCounter: lease.leaseCounter,
          parentShardIds: lease.parentShardIds,
          ...(moved !== undefined ? { checkpointMovedAt: moved } : {}),
        };
      });

    this.last = {
      table: this.opts.table,
      scannedAt: times.wallAt,
      scanMillis: Math.max(0, Math.round(times.answeredAt - times.sentAt)),
      failoverMillis,
      watchingMillis: Math.max(0, times.sentAt - this.startedAt),
      workers: [...workers.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([workerId, w]) => ({
          workerId,
          leases: w.leases,
          alive: w.alive,
          ...(w.lastChange !== undefined ? { renewalSeenAt: times.wallAt - Math.max(0, Math.round(times.answeredAt - w.lastChange)) } : {}),
        })),
      shards,
      recentMoves: [...this.moves],
    };
    return this.last;
  }

  /** A failed scan: the last good view, with the error (the watch goes on). */
  failed(message: string, wallAt: number): TableView {
    this.last = { ...this.last, error: { at: wallAt, message } };
    return this.last;
  }

  private noteMove(prev: Lease, now: Lease, prevExpired: boolean, at: number): void {
    if (prev.leaseOwner === now.leaseOwner) return;
    const when = new Date(at).toISOString();
    let move: LeaseMove;
    if (!prev.leaseOwner) move = { at: when, leaseKey: now.leaseKey, kind: 'taken', to: now.leaseOwner as string };
    else if (!now.leaseOwner) move = { at: when, leaseKey: now.leaseKey, kind: 'released', from: prev.leaseOwner };
    else if (now.checkpointOwner === prev.leaseOwner) move = { at: when, leaseKey: now.leaseKey, kind: 'handed_off', from: prev.leaseOwner, to: now.leaseOwner };
    // Taking an expired lease is a take (its owner stopped); taking a live one is a steal.
    else move = { at: when, leaseKey: now.leaseKey, kind: prevExpired ? 'taken' : 'stolen', from: prev.leaseOwner, to: now.leaseOwner };
    this.moves.unshift(move);
    this.moves.length = Math.min(this.moves.length, this.opts.maxMoves ?? 20);
  }
}

function stateOf(lease: Lease, byKey: ReadonlyMap<string, Lease>, ownerGone: boolean): ShardStatusState {
  if (isShardEnd(lease.checkpoint)) return 'shard-end';
  if (!lease.leaseOwner || ownerGone) return 'unowned';
  if (lease.checkpointOwner) return 'handoff-pending';
  // A parent whose lease still exists and has not reached SHARD_END blocks the child (docs/shards.md).
  if (lease.parentShardIds.some((p) => { const parent = byKey.get(p); return parent !== undefined && !isShardEnd(parent.checkpoint); })) return 'waiting-on-parents';
  return 'processing';
}
