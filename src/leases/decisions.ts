/**
 * Lease decisions as pure functions: which leases count as expired, which to take, which to steal. Inputs
 * are leases, what this worker has observed of their counters, and the time on its own monotonic clock;
 * nothing here does I/O, so every rule is tested against scenario tables with a virtual clock.
 *
 * Expiry never compares clocks across machines (kcl-semantics §3.2): a worker remembers when *it* last saw
 * each lease's counter change and calls the lease expired when that is longer ago than the failover time.
 */
import type { Lease } from './lease.js';

export interface LeaseObservation {
  readonly counter: number;
  /** Local time at which this worker last saw the counter change; undefined = treat as expired. */
  readonly lastChangeAt: number | undefined;
}

export type Observations = ReadonlyMap<string, LeaseObservation>;

/** Folds one table scan into the observations. Leases missing from the scan are forgotten. */
export function observe(previous: Observations, scan: readonly Lease[], now: number): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of scan) {
    const prev = previous.get(lease.leaseKey);
    if (prev === undefined) {
      // A lease seen for the first time: an owned one is assumed freshly renewed, an unowned one is free now.
      next.set(lease.leaseKey, { counter: lease.leaseCounter, lastChangeAt: lease.leaseOwner ? now : undefined });
    } else if (prev.counter !== lease.leaseCounter) {
      next.set(lease.leaseKey, { counter: lease.leaseCounter, lastChangeAt: now });
    } else {
      next.set(lease.leaseKey, prev);
    }
  }
  return next;
}

const ONE_YEAR = 365 * 24 * 3600 * 1000;

/** Available = no owner, never seen change, or unchanged for longer than the failover time. */
export function isAvailable(lease: Lease, observation: LeaseObservation | undefined, now: number, failoverMillis: number): boolean {
  if (!lease.leaseOwner) return true;
  if (observation?.lastChangeAt === undefined) return true;
  const age = now - observation.lastChangeAt;
  // An age beyond a year either way means the clock jumped: do not trust it.
  return age > failoverMillis || age < -ONE_YEAR;
}

/** When a lease owned by someone else will become available if its counter stays still; undefined if never. */
export function expiresAt(lease: Lease, observation: LeaseObservation | undefined, failoverMillis: number): number | undefined {
  if (!lease.leaseOwner || observation?.lastChangeAt === undefined) return undefined;
  return observation.lastChangeAt + failoverMillis;
}

export interface TakeInput {
  readonly leases: readonly Lease[];
  readonly observations: Observations;
  readonly workerId: string;
  readonly now: number;
  readonly failoverMillis: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  /** Leases this worker holds in memory right now (never taken again). */
  readonly held: ReadonlySet<string>;
  /** Random choice is an input so decisions are reproducible in tests. */
  readonly shuffle: <T>(items: readonly T[]) => T[];
}

export interface TakeDecision {
  readonly take: readonly Lease[];
  readonly steal: readonly Lease[];
  readonly target: number;
  readonly numWorkers: number;
  readonly mine: number;
}

/**
 * The 2.x taker (kcl-semantics §3.4): aim for a fair share, ceil(leases / workers), take available leases
 * first, and only when none are available steal from the single most loaded worker. Leases already at
 * SHARD_END have nothing left to process, so they are neither taken nor counted (the Java KCL counts them,
 * which is the "lease spillover" its users complain about).
 */
export function decideLeasesToTake(input: TakeInput): TakeDecision {
  const { workerId, now, failoverMillis } = input;
  const active = input.leases.filter((l) => l.checkpoint.sequenceNumber !== 'SHARD_END');
  const available: Lease[] = [];
  const counts = new Map<string, Lease[]>();
  for (const lease of active) {
    const held = input.held.has(lease.leaseKey);
    // A lease the table says is ours but that we do not hold is left from an earlier run with the same worker
    // id: nobody else renews it, so take it back at once instead of waiting for it to expire (as Java does).
    const orphanedOwn = lease.leaseOwner === workerId && !held;
    if (!held && (orphanedOwn || isAvailable(lease, input.observations.get(lease.leaseKey), now, failoverMillis))) {
      available.push(lease);
    } else if (held || lease.leaseOwner) {
      const owner = held ? workerId : (lease.leaseOwner as string);
      const list = counts.get(owner) ?? [];
      list.push(lease);
      counts.set(owner, list);
    }
  }
  if (!counts.has(workerId)) counts.set(workerId, []);
  const numWorkers = counts.size;
  let target = numWorkers >= active.length ? 1 : Math.ceil(active.length / numWorkers);
  target = Math.min(target, input.maxLeasesForWorker);
  const mine = counts.get(workerId)?.length ?? 0;
  const needed = target - mine;
  const none = { take: [], steal: [], target, numWorkers, mine };
  if (needed <= 0 || active.length === 0) return none;

  if (available.length > 0) {
    return { ...none, take: input.shuffle(available).slice(0, needed) };
  }

  let victim: string | undefined;
  let victimCount = 0;
  for (const [owner, leases] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (owner !== workerId && leases.length > victimCount) {
      victim = owner;
      victimCount = leases.length;
    }
  }
  if (victim === undefined) return none;
  let n = Math.min(needed, victimCount - target);
  if (n <= 0 && needed > 1 && victimCount === target) n = 1;
  n = Math.min(n, input.maxLeasesToStealAtOneTime);
  if (n <= 0) return none;
  return { ...none, steal: input.shuffle(counts.get(victim) ?? []).slice(0, n) };
}

/** Fisher–Yates with an injected random source. */
export function shuffleWith(random: () => number): <T>(items: readonly T[]) => T[] {
  return <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
}
