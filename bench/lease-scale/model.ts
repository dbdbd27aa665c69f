/**
 * Lease-table calls per shard-minute in steady state, as formulas (docs/lease-protocol.md, 'Scale and cost'):
 * the Java KCL 2.x taker model and ours, for W workers sharing L leases, failover F, epsilon e, and a full scan
 * of p pages. Idle shards (no checkpoints, which would replace renewals); lease creation and cleanup, which
 * happen at resharding only, are left out.
 */

export interface ModelInput {
  readonly failoverMillis: number;
  readonly workers: number;
  readonly leases: number;
  /** Pages of one full scan (1 MB each on AWS). */
  readonly scanPages: number;
  readonly epsilonMillis?: number;
}

export interface ModelCalls {
  readonly renew: number;
  /** Scan pages of the taker (ours: of the fleet's turns). */
  readonly scan: number;
  /** Scan pages of everything else that reads the whole table (Java: the leader's shard-sync auditor and 2.x leader election; ours: shard sync when no recent taker scan is at hand). */
  readonly otherScan: number;
  readonly total: number;
}

const MINUTE = 60_000;

/**
 * Java KCL 2.x (and 3.x in 2.x-compatible mode): every held lease renewed every F/3 − e; every worker's taker
 * scans every 2(F + e); the leader's periodic shard-sync auditor scans every 120 s; every worker re-elects the
 * 2.x leader from a scan every 5 min.
 */
export function javaModel(m: ModelInput): ModelCalls {
  const e = m.epsilonMillis ?? 25;
  const renew = MINUTE / (m.failoverMillis / 3 - e);
  const scan = (m.workers * (MINUTE / (2 * (m.failoverMillis + e))) * m.scanPages) / m.leases;
  const otherScan = ((MINUTE / 120_000 + m.workers * (MINUTE / 300_000)) * m.scanPages) / m.leases;
  return { renew, scan, otherScan, total: renew + scan + otherScan };
}

/**
 * Ours: the same renewal period; the fleet takes scan turns, each worker every min(W × F/6, F + e) (a lone
 * worker every 2(F + e)); shard sync every 60 s on every worker, scanning only when the taker's latest scan is
 * older than 10 s.
 */
export function ourModel(m: ModelInput): ModelCalls {
  const e = m.epsilonMillis ?? 25;
  const renew = MINUTE / (Math.floor(m.failoverMillis / 3) - e);
  const period = m.workers <= 1 ? 2 * (m.failoverMillis + e) : Math.min((m.workers * m.failoverMillis) / 6, m.failoverMillis + e);
  const scan = (m.workers * (MINUTE / period) * m.scanPages) / m.leases;
  const staleShare = Math.max(0, 1 - 10_000 / period);
  const otherScan = (m.workers * (MINUTE / 60_000) * staleShare * m.scanPages) / m.leases;
  return { renew, scan, otherScan, total: renew + scan + otherScan };
}
